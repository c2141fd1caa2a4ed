"""Command line for the course tooling: ``python -m grokkit.course {learner,student,tag,lint,links,zh} ...``.

``zh`` (build, status, export, import) is documented in :mod:`grokkit.course.zh_cli`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grokkit.course.learner import LEARNER_DIR, SOURCE_DIR, build_learner
from grokkit.course.student import (
    NotebookError,
    build_student,
    exercise_problems,
    load_notebook,
    notebook_paths,
)
from grokkit.course.tagging import tag_notebooks


def _parser() -> argparse.ArgumentParser:
    """Build the argument parser with one sub-command per tool."""
    parser = argparse.ArgumentParser(
        prog="python -m grokkit.course",
        description="Exercise tooling for the grokkit course.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    learner = sub.add_parser(
        "learner",
        help="rebuild the learner's edition (solutions stubbed, each linked) from the instructor's notebooks",
    )
    learner.add_argument("src", type=Path, nargs="?", default=Path(SOURCE_DIR),
                         help=f"the instructor's notebooks (default: {SOURCE_DIR}/)")
    learner.add_argument("out", type=Path, nargs="?", default=Path(LEARNER_DIR),
                         help=f"folder of the learner's edition (default: {LEARNER_DIR}/)")
    student = sub.add_parser(
        "student",
        help="write student versions of notebooks (solutions stubbed, hidden tests removed)",
    )
    student.add_argument("src", type=Path, help="a folder of notebooks, or one .ipynb file")
    student.add_argument("out", type=Path, help="folder to write the student notebooks into")
    tag = sub.add_parser("tag", help="add nbgrader metadata to solution and check cells, in place")
    tag.add_argument("paths", type=Path, nargs="+", help="notebooks or folders of notebooks")
    lint = sub.add_parser("lint", help="list departures from the exercise format")
    sub.add_parser("zh", help="the Chinese edition: zh {build,status,export,import} (see zh --help)")
    lint.add_argument("paths", type=Path, nargs="+", help="notebooks or folders of notebooks")
    links = sub.add_parser(
        "links",
        help="(re)write the Binder/Colab badges, the install cell and Homepage from grokkit/course/links.py",
    )
    links.add_argument("root", type=Path, nargs="?", default=Path("."), help="the repository root (default: .)")
    links.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file is out of step")
    return parser


def _links(root: Path, check: bool) -> int:
    """Run the links command: write (or with check, list) the files out of step with links.py."""
    from grokkit.course import links

    if check:
        stale = links.out_of_step(root)
        for path in stale:
            print(f"out of step with grokkit/course/links.py: {path}")
        return 1 if stale else 0
    for path in links.write_links(root):
        print(f"wrote {path}")
    return 0


def _expand(paths: list[Path]) -> list[Path]:
    """Expand folders into their notebooks, keeping the given order."""
    result: list[Path] = []
    for path in paths:
        result.extend(notebook_paths(path))
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 lint problems, 2 bad input)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["zh"]:  # the Chinese edition has its own sub-commands
        from grokkit.course.zh_cli import main as zh_main

        return zh_main(argv[1:])
    args = _parser().parse_args(argv)
    try:
        if args.command == "learner":
            for path in build_learner(args.src, args.out):
                print(f"wrote {path}")
            return 0
        if args.command == "student":
            written = build_student(args.src, args.out)
            for path in written:
                print(f"wrote {path}")
            return 0
        if args.command == "links":
            return _links(args.root, args.check)
        if args.command == "tag":
            changed = tag_notebooks(_expand(args.paths))
            print(f"tagged {changed} cell{'s' if changed != 1 else ''}")
            return 0
        problems = [
            problem
            for path in _expand(args.paths)
            for problem in exercise_problems(load_notebook(path), path)
        ]
        for problem in problems:
            print(problem)
        if not problems:
            print("exercise format: ok")
        return 1 if problems else 0
    except (NotebookError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
