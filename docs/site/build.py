"""Build the course website from the notebooks the test suite executed: ``python docs/site/build.py``.

The notebooks are not executed here. CI runs the suite with ``GROKKIT_EXECUTED_DIR=build/executed``
(see the root conftest.py), so nbval's one execution of each notebook is kept there; this
script lays out a staging folder (index.md, notebooks/NN_name.ipynb, docs/instructors.md)
taking each notebook's executed copy where there is one and the stored, output-free
notebook otherwise, then runs Sphinx (MyST-NB, execution off) with warnings as errors.

    python docs/site/build.py                       # build/executed -> build/site
    python docs/site/build.py --require-executed    # CI: fail when a notebook has no executed copy
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONF_DIR = Path(__file__).resolve().parent
PAGES = ["index.md"]                          # pages of docs/site/ itself
EXTRA = ["docs/instructors.md"]               # repository files shown as pages, at their own paths


def _cells(path: Path) -> list[tuple[str, str, str]]:
    """(id, type, source) of each cell: what an executed copy must share with its notebook."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [(c.get("id", ""), c["cell_type"], "".join(c["source"])) for c in nb["cells"]]


def stage(executed: Path, staging: Path, require_executed: bool = False) -> tuple[list[str], list[str]]:
    """Lay out the Sphinx sources; return (notebooks taken executed, notebooks taken unexecuted)."""
    notebooks = sorted((REPO / "notebooks").glob("[0-9][0-9]*_*.ipynb"))
    if not notebooks:
        raise SystemExit(f"no notebooks found in {REPO / 'notebooks'}")
    done, missing = [], []
    for nb in notebooks:
        copy = executed / nb.relative_to(REPO)
        if copy.is_file():
            if _cells(copy) != _cells(nb):
                raise SystemExit(f"{copy}: executed copy is stale (its cells differ from {nb.relative_to(REPO)}); "
                                 "run the tests again with GROKKIT_EXECUTED_DIR set")
            done.append(nb.name)
        else:
            missing.append(nb.name)
    if require_executed and missing:
        raise SystemExit(f"no executed copy in {executed} of: {', '.join(missing)} "
                         "(run python -m pytest with GROKKIT_EXECUTED_DIR set first)")
    if staging.exists():
        shutil.rmtree(staging)
    (staging / "notebooks").mkdir(parents=True)
    for nb in notebooks:
        source = executed / nb.relative_to(REPO) if nb.name in done else nb
        shutil.copyfile(source, staging / "notebooks" / nb.name)
    for page in PAGES:
        shutil.copyfile(CONF_DIR / page, staging / page)
    for extra in EXTRA:
        (staging / extra).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / extra, staging / extra)
    return done, missing


def build(executed: Path, out: Path, require_executed: bool = False) -> int:
    """Stage the sources and run Sphinx; return Sphinx's exit status."""
    from sphinx.cmd.build import build_main

    staging = out.parent / f"{out.name}-src"
    done, missing = stage(executed, staging, require_executed)
    if out.exists():        # no page of an earlier build may survive (it could hide a broken link)
        if any(out.iterdir()) and not (out / ".buildinfo").is_file():
            raise SystemExit(f"{out} is not empty and holds no earlier site build (.buildinfo): choose another --out")
        shutil.rmtree(out)
    print(f"site: {len(done)} executed notebook(s) from {executed}"
          + (f"; without outputs: {', '.join(missing)}" if missing else ""))
    # -W: any warning fails the build; -n: every reference must resolve; -E: no stale environment
    return build_main(["-b", "html", "-c", str(CONF_DIR), "-W", "--keep-going", "-n", "-E", "-q",
                       "-d", str(out.parent / f"{out.name}-doctrees"), str(staging), str(out)])


def main(argv: list[str] | None = None) -> int:
    """Command line: build the site and report where it is and how long it took."""
    parser = argparse.ArgumentParser(prog="python docs/site/build.py", description=__doc__.splitlines()[0])
    parser.add_argument("--executed", type=Path, default=REPO / "build" / "executed",
                        help="folder of executed notebooks (default: build/executed)")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "site", help="output folder (default: build/site)")
    parser.add_argument("--require-executed", action="store_true",
                        help="fail unless every notebook has an executed copy (CI)")
    args = parser.parse_args(argv)
    start = time.monotonic()
    status = build(args.executed.resolve(), args.out.resolve(), args.require_executed)
    if status == 0:
        print(f"site: built {args.out / 'index.html'} in {time.monotonic() - start:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
