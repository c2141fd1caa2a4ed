"""``python -m grokkit.course zh {build,status,export,import}``: keep the Chinese edition in step.

The re-sync loop after the English notebooks change::

    python -m grokkit.course zh status                 # what is stale, missing, orphaned
    python -m grokkit.course zh export todo.zh.txt     # a worksheet of exactly those cells
    (translate: write the Chinese under each "%%% zh" line)
    python -m grokkit.course zh import todo.zh.txt     # into i18n/zh/*.json, hashes updated
    python -m grokkit.course zh build                  # notebooks/zh and its learner's edition, learner/zh

Worksheet format: blocks that start with a line ``%%% cell NOTEBOOK CELL_ID sha256=HASH``,
then ``%%% en`` and the English (for reference, ignored on import), then ``%%% zh`` and
the translation (for a stale cell, the old one to revise), and optionally a line
``%%% allow {"missing": [...], "extra": [...], "reason": "..."}``. Lines starting with
``%%%%`` are comments. On import, a block whose English changed since the export is
refused (export again); a block with an empty translation is skipped.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from grokkit.course.student import NotebookError, load_notebook
from grokkit.course.zh import (
    PATHS,
    build,
    catalog_path,
    cell_hash,
    english_notebooks,
    load_catalog,
    save_catalog,
    status,
    token_problems,
)
from grokkit.run import atomic_write

__all__ = ["export_worksheet", "import_worksheet", "main"]

_HEAD = "%%% "
_FIRST_LINE = "%%%% grokkit zh worksheet"


def _source(cell: dict[str, Any]) -> str:
    """A cell's source as one string."""
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _markdown(nb: dict[str, Any]) -> dict[str, str]:
    """A notebook's markdown cells: ``{id: source}`` in order."""
    return {c["id"]: _source(c) for c in nb["cells"] if c["cell_type"] == "markdown"}


def export_worksheet(root: Path | str, out: Path | str, *, everything: bool = False) -> int:
    """Write a worksheet of the stale and missing cells (every cell if ``everything``); return how many."""
    root, out = Path(root), Path(out)
    if out.suffix == ".ipynb":
        raise NotebookError(f"{out}: a notebook's name; export writes a worksheet, a text file such as todo.zh.txt")
    if out.exists() and not _is_worksheet(out):
        raise NotebookError(f"{out}: exists and is not a worksheet; export writes a new worksheet "
                            f"(a text file such as todo.zh.txt) and never overwrites another file")
    todo = {(i.notebook, i.cell_id) for i in status(root) if i.kind in ("stale", "missing", "tokens")}
    blocks = [_FIRST_LINE + ": write the Chinese under each '%%% zh' line, then run\n"
              "%%%% python -m grokkit.course zh import THIS_FILE\n"]
    for path in english_notebooks(root):
        catalog = load_catalog(catalog_path(root, path), path.name)
        for cell_id, text in _markdown(load_notebook(path)).items():
            if not everything and (path.name, cell_id) not in todo:
                continue
            entry = catalog["cells"].get(cell_id, {})
            block = [f"{_HEAD}cell {path.name} {cell_id} sha256={cell_hash(text)}", f"{_HEAD}en", text.rstrip("\n")]
            if entry.get("en") and entry["en"] != text:
                block += ["%%%% the English this cell's old translation was made from:", *("%%%% " + line for line in entry["en"].splitlines())]
            block += [f"{_HEAD}zh", entry.get("zh", "").rstrip("\n")]
            if entry.get("allow"):
                block.append(f"{_HEAD}allow {json.dumps(entry['allow'], ensure_ascii=False)}")
            blocks.append("\n".join(block) + "\n")
    text = "\n".join(blocks)
    atomic_write(out, lambda f: f.write(text.encode("utf-8")))
    return len(blocks) - 1


def _is_worksheet(path: Path) -> bool:
    """Whether ``path`` is a file an earlier export wrote (its first line says so)."""
    if not path.is_file():
        return False
    with path.open(encoding="utf-8", errors="replace") as f:
        return f.readline().startswith(_FIRST_LINE)


def _parse_worksheet(text: str, where: str) -> list[dict[str, Any]]:
    """Split a worksheet into blocks: notebook, cell id, sha256, zh text, allow."""
    blocks: list[dict[str, Any]] = []
    section = None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("%%%%"):
            continue
        if line.startswith(_HEAD):
            words = line[len(_HEAD):].split(" ", 1)
            if words[0] == "cell":
                parts = words[1].split() if len(words) > 1 else []
                if len(parts) != 3 or not parts[2].startswith("sha256="):
                    raise NotebookError(f"{where}, line {number}: expected '%%% cell NOTEBOOK CELL_ID sha256=HASH'")
                blocks.append({"notebook": parts[0], "id": parts[1], "sha256": parts[2][7:], "zh": [], "allow": None})
                section = None
            elif not blocks:
                raise NotebookError(f"{where}, line {number}: {line!r} before the first '%%% cell' line")
            elif words[0] in ("en", "zh"):
                section = words[0]
            elif words[0] == "allow":
                try:
                    blocks[-1]["allow"] = json.loads(words[1])
                except (IndexError, json.JSONDecodeError):
                    raise NotebookError(f"{where}, line {number}: '%%% allow' needs a JSON object") from None
                section = None
            else:
                raise NotebookError(f"{where}, line {number}: unknown worksheet line {line!r}")
        elif section == "zh":
            blocks[-1]["zh"].append(line)
    for block in blocks:
        block["zh"] = "\n".join(block["zh"]).strip("\n")
    return blocks


def import_worksheet(root: Path | str, sheet: Path | str) -> tuple[int, int]:
    """Read a filled-in worksheet into the catalogs; return (cells imported, cells left empty).

    Everything is checked before any catalog is written.
    """
    root, sheet = Path(root), Path(sheet)
    blocks = _parse_worksheet(sheet.read_text(encoding="utf-8"), str(sheet))
    english = {p.name: p for p in english_notebooks(root)}
    catalogs: dict[str, dict[str, Any]] = {}
    english_cells: dict[str, dict[str, str]] = {}
    imported = skipped = 0
    for block in blocks:
        name, cell_id = block["notebook"], block["id"]
        where = f"{sheet}: cell {name} {cell_id}"
        if name not in english:
            raise NotebookError(f"{where}: no English notebook {name} in {root / PATHS['english']}")
        if name not in catalogs:
            english_cells[name] = _markdown(load_notebook(english[name]))
            catalogs[name] = load_catalog(catalog_path(root, name), name)
        catalog, cells = catalogs[name], english_cells[name]
        if cell_id not in cells:
            raise NotebookError(f"{where}: no markdown cell with this id in the English notebook")
        if cell_hash(cells[cell_id]) != block["sha256"]:
            raise NotebookError(f"{where}: the English cell changed since this worksheet was exported; export again")
        if not block["zh"].strip():
            skipped += 1
            continue
        entry = {"sha256": block["sha256"], "en": cells[cell_id], "zh": block["zh"] + ("\n" if cells[cell_id].endswith("\n") else "")}
        if block["allow"]:
            entry["allow"] = block["allow"]
        problem = token_problems(entry["en"], entry["zh"], entry.get("allow"))
        if problem:
            print(f"warning: {where}: {problem}", file=sys.stderr)
        catalog["cells"][cell_id] = entry
        imported += 1
    for name, catalog in catalogs.items():
        save_catalog(catalog_path(root, name), catalog, list(english_cells[name]))
    return imported, skipped


def _parser() -> argparse.ArgumentParser:
    """The ``zh`` command's argument parser."""
    parser = argparse.ArgumentParser(prog="python -m grokkit.course zh", description="The Chinese edition of the course.")
    parser.add_argument("--root", type=Path, default=Path("."), help="repository root (default: .)")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help=f"write {PATHS['zh']}/ and {PATHS['zh_learner']}/ from the English and i18n/zh")
    b.add_argument("--english-fallback", action="store_true", help="keep the English of cells with no translation")
    sub.add_parser("status", help="list stale, missing, orphaned and token-mismatched translations")
    e = sub.add_parser("export", help="write a worksheet of the cells to (re)translate")
    e.add_argument("out", type=Path)
    e.add_argument("--all", action="store_true", help="every markdown cell, not only the stale and missing")
    i = sub.add_parser("import", help="read a filled-in worksheet into i18n/zh")
    i.add_argument("sheet", type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a ``zh`` command; exit status 0 ok, 1 translations out of step (status), 2 bad input."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "build":
            for path in build(args.root, english_fallback=args.english_fallback):
                print(f"wrote {path}")
            issues = status(args.root)
            if issues:
                print(f"note: {len(issues)} translation(s) out of step; see `zh status`", file=sys.stderr)
            return 0
        if args.command == "status":
            issues = status(args.root)
            for issue in issues:
                print(issue)
            print(f"{len(issues)} cell(s) to translate or fix" if issues else "Chinese edition: every cell translated and current")
            return 1 if issues else 0
        if args.command == "export":
            count = export_worksheet(args.root, args.out, everything=args.all)
            print(f"wrote {args.out}: {count} cell(s)")
            return 0
        done, empty = import_worksheet(args.root, args.sheet)
        print(f"imported {done} cell(s); {empty} left empty")
        return 0
    except NotebookError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
