"""The Chinese edition stays in step with the English: translations current, code identical, numbers kept."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from grokkit.course import links
from grokkit.course.i18n import ENV_VAR
from grokkit.course.student import NotebookError, dump_notebook, exercise_problems, load_notebook
from grokkit.course.zh import (
    LANGUAGE_CELL_ID,
    NOTE_CELL_ID,
    PATHS,
    build,
    catalog_issues,
    catalog_path,
    cell_hash,
    english_notebooks,
    learner_notebook,
    load_catalog,
    prose,
    status,
    token_problems,
    translated_notebook,
)
from grokkit.course.zh_cli import export_worksheet, import_worksheet

REPO = Path(__file__).resolve().parent.parent
ENGLISH = english_notebooks(REPO)
IDS = [p.name for p in ENGLISH]
ADDED_CELLS = {NOTE_CELL_ID, LANGUAGE_CELL_ID}


def _src(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


# --------------------------------------------------------------------------- the committed edition


@pytest.mark.parametrize("path", ENGLISH, ids=IDS)
def test_every_markdown_cell_has_a_current_translation_keeping_numbers_and_code(path):
    """No stale hash, no missing cell, no orphan, no number/code span/formula lost or added."""
    catalog = load_catalog(catalog_path(REPO, path), path.name)
    issues = catalog_issues(load_notebook(path), catalog, path.name)
    assert not issues, "run `python -m grokkit.course zh status`:\n" + "\n".join(map(str, issues))


@pytest.mark.parametrize("path", ENGLISH, ids=IDS)
def test_chinese_code_cells_are_the_english_ones_byte_for_byte(path):
    english = load_notebook(path)
    chinese = load_notebook(REPO / PATHS["zh"] / path.name)
    code = lambda nb: [(c.get("id"), _src(c), c.get("metadata", {})) for c in nb["cells"]
                       if c["cell_type"] == "code" and c.get("id") not in ADDED_CELLS]
    assert code(chinese) == code(english)
    kinds = lambda nb: [(c.get("id"), c["cell_type"]) for c in nb["cells"] if c.get("id") not in ADDED_CELLS]
    assert kinds(chinese) == kinds(english), "cells added, dropped or reordered"


@pytest.mark.parametrize("path", ENGLISH, ids=IDS)
def test_committed_chinese_notebooks_equal_a_fresh_build(path):
    """notebooks/zh and its learner's edition are generated: rebuild with `zh build` after any change."""
    catalog = load_catalog(catalog_path(REPO, path), path.name)
    fresh = translated_notebook(load_notebook(path), catalog, path.name, chapters=IDS)
    zh_path = REPO / PATHS["zh"] / path.name
    assert zh_path.read_text(encoding="utf-8") == dump_notebook(fresh), f"{zh_path} is out of date"
    learner_path = REPO / PATHS["zh_learner"] / path.name
    assert learner_path.read_text(encoding="utf-8") == dump_notebook(learner_notebook(fresh, path.name, REPO))


@pytest.mark.parametrize("path", ENGLISH, ids=IDS)
def test_chinese_badges_open_the_chinese_learner_edition_in_chinese_words(path):
    """Both Chinese folders' badges open learner/zh/ (the notebook and its neighbours); the English keep learner/."""
    i = IDS.index(path.name)
    want = [links.colab_url(f"learner/zh/{path.name}"), links.binder_url(f"learner/zh/{path.name}")]
    want += [links.colab_url(f"learner/zh/{IDS[j]}") for j in (i - 1, i + 1) if 0 <= j < len(IDS)]
    for folder in (PATHS["zh"], PATHS["zh_learner"]):
        title = _src(next(c for c in load_notebook(REPO / folder / path.name)["cells"] if c["cell_type"] == "markdown"))
        badges = [line for line in title.splitlines() if line.startswith("[![Open In Colab]")]
        assert len(badges) == 1, f"{folder}/{path.name}: one badge line under the title"
        urls = re.findall(r"\]\((https://[^)]+)\)", badges[0])
        assert all(u in urls for u in want) and len(urls) == len(want) + 2, urls  # and the two badge images
        assert all("/learner/zh/" in u for u in urls if "badge" not in u), urls
        assert "on Colab" not in badges[0] and ("在 Colab 中打开：" in badges[0]) == (len(IDS) > 1)
    english = _src(load_notebook(path)["cells"][0])
    assert links.colab_url(f"learner/{path.name}") in english and "learner/zh/" not in english


def test_the_chinese_edition_has_exactly_the_english_notebooks():
    for folder in (PATHS["zh"], PATHS["zh_learner"]):
        assert sorted(p.name for p in (REPO / folder).glob("*.ipynb")) == IDS, folder
    assert sorted(p.stem for p in (REPO / PATHS["catalogs"]).glob("*.json")) == [p.stem for p in ENGLISH]


@pytest.mark.parametrize("path", ENGLISH, ids=IDS)
def test_chinese_notebooks_ask_for_chinese_messages_before_any_code_runs(path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, "en")  # restored after the test; the cell below changes it
    cells = load_notebook(REPO / PATHS["zh"] / path.name)["cells"]
    first_code = next(c for c in cells if c["cell_type"] == "code")
    assert first_code["id"] == LANGUAGE_CELL_ID
    namespace: dict = {}
    exec(_src(first_code), namespace)  # noqa: S102 - the builder's own two-line cell
    assert namespace["os"].environ[ENV_VAR] == "zh"
    note = next(c for c in cells if c.get("id") == NOTE_CELL_ID)
    assert "英文" in _src(note) and "CJK" in _src(note), "the note says figures keep English labels"


def test_the_learner_edition_in_chinese_has_no_solution():
    for path in ENGLISH:
        text = (REPO / PATHS["zh_learner"] / path.name).read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
        if "BEGIN SOLUTION" in path.read_text(encoding="utf-8"):
            assert "raise NotImplementedError()" in text


@pytest.mark.parametrize("folder", [PATHS["zh"], PATHS["zh_learner"]], ids=str)
def test_the_chinese_editions_pass_the_exercise_format_lint(folder):
    """`python -m grokkit.course lint notebooks/zh learner/zh` finds the 练习 headings and has nothing to say."""
    problems = [problem for path in sorted((REPO / folder).glob("*.ipynb"))
                for problem in exercise_problems(load_notebook(path), path)]
    assert not problems, "\n".join(problems)


def test_lint_reads_a_chinese_exercise_heading_and_its_meta_line():
    v4 = nbformat.v4
    solution = v4.new_code_cell("### BEGIN SOLUTION\ny = 2\n### END SOLUTION",
                                metadata={"nbgrader": {"solution": True, "grade": False, "grade_id": "ex-0-1"}})
    check = v4.new_code_cell("check_y(y)", metadata={"nbgrader": {"grade": True, "grade_id": "check-0-1", "points": 1}})
    heading = "### 练习 0.1 — 加一\n**难度** 🔴⚪⚪⚪⚪ · **重要性** 🔵🔵⚪⚪⚪ · **时间** ~5 分钟\n\n做吧。"
    nb = {"cells": [v4.new_markdown_cell(heading), solution, check]}
    assert exercise_problems(nb, "00_toy.ipynb") == []
    nb["cells"][0] = v4.new_markdown_cell("### 练习 0.1 — 加一\n做吧。")
    assert [p.split(": ", 1)[1] for p in exercise_problems(nb, "00_toy.ipynb")] == [
        "exercise header lacks the line '**Difficulty** 🔴🔴⚪⚪⚪ · **Importance** 🔵🔵🔵⚪⚪ · **Time** ~10 min'"]


# --------------------------------------------------------------------------- glossary


def test_glossary_terms_are_used_in_every_translation_and_the_avoided_ones_never(glossary_rules):
    rules = glossary_rules
    assert len(rules) >= 10 and any(zh == "顿悟" for _, zh, _ in rules)
    problems = []
    texts = [(REPO / name).read_text(encoding="utf-8")
             for name in ("README.zh-CN.md", "grokkit/course/locale/zh.po", "docs/site/zh/index.md")]
    for path in ENGLISH:
        for cell_id, entry in load_catalog(catalog_path(REPO, path), path.name)["cells"].items():
            texts.append(entry["zh"])
            for pattern, zh, _ in rules:
                if re.search(pattern, prose(entry["en"]), re.I) and zh not in entry["zh"]:
                    problems.append(f"{path.name} {cell_id}: English matches {pattern!r}, Chinese lacks {zh!r}")
    for text in texts:
        for _, _, avoid in rules:
            problems += [f"avoided term {word!r} used: ...{text[max(0, text.find(word) - 30):text.find(word) + 30]}..."
                         for word in avoid if word in text]
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- the machinery, on a toy course


@pytest.fixture
def toy(tmp_path):
    """A two-notebook course with one translated catalog."""
    v4 = nbformat.v4
    (tmp_path / "notebooks").mkdir()
    nb = v4.new_notebook()
    nb.cells = [
        v4.new_markdown_cell("# Title\n\nTrain for 10,000 steps with `lr=3e-3`.", id="md-0"),
        v4.new_code_cell("x = 1\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION", id="code-1"),
        v4.new_markdown_cell("See [the guide](../docs/guide.md): $p = 67$.", id="md-2"),
    ]
    (tmp_path / "notebooks" / "00_toy.ipynb").write_text(nbformat.writes(nb), encoding="utf-8")
    catalog = {"notebook": "00_toy.ipynb", "cells": {
        "md-0": _entry("# Title\n\nTrain for 10,000 steps with `lr=3e-3`.", "# 标题\n\n用 `lr=3e-3` 训练 10,000 步。"),
        "md-2": _entry("See [the guide](../docs/guide.md): $p = 67$.", "见[指南](../docs/guide.md)：$p = 67$。"),
    }}
    (tmp_path / "i18n" / "zh").mkdir(parents=True)
    catalog_path(tmp_path, "00_toy.ipynb").write_text(json.dumps(catalog, ensure_ascii=False), encoding="utf-8")
    return tmp_path


def _entry(en: str, zh: str) -> dict:
    return {"sha256": cell_hash(en), "en": en, "zh": zh}


def _edit_english(root: Path, cell_id: str, text: str) -> None:
    path = root / "notebooks" / "00_toy.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    next(c for c in nb["cells"] if c["id"] == cell_id)["source"] = text
    path.write_text(json.dumps(nb), encoding="utf-8")


def test_a_current_toy_course_has_no_issues_and_builds(toy):
    assert status(toy) == []
    written = build(toy)
    assert [p.relative_to(toy).as_posix() for p in written] == [
        "notebooks/zh/00_toy.ipynb", "learner/zh/00_toy.ipynb"]
    zh = load_notebook(toy / "notebooks/zh/00_toy.ipynb")
    assert [c["id"] for c in zh["cells"]] == ["md-0", NOTE_CELL_ID, LANGUAGE_CELL_ID, "code-1", "md-2"]
    assert _src(zh["cells"][3]) == "x = 1\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION"
    assert "](../../docs/guide.md)" in _src(zh["cells"][4]), "links out of notebooks/ gain one ../"
    learner = _src(load_notebook(toy / "learner/zh/00_toy.ipynb")["cells"][3])
    assert "y = 2" not in learner and "raise NotImplementedError()" in learner


def test_a_chapter_with_a_letter_gets_a_catalog_and_a_chinese_edition(toy):
    """Chapters such as 01b_build_the_model sort between 01 and 02 and are built like the others."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 01b · Build it", id="b-0")]
    (toy / "notebooks" / "01b_build.ipynb").write_text(nbformat.writes(nb), encoding="utf-8")
    (toy / "notebooks" / "notes.ipynb").write_text(nbformat.writes(nb), encoding="utf-8")  # not a chapter
    assert [p.name for p in english_notebooks(toy)] == ["00_toy.ipynb", "01b_build.ipynb"]
    assert [(i.notebook, i.cell_id, i.kind) for i in status(toy)] == [("01b_build.ipynb", "b-0", "missing")]
    sheet = toy / "todo.txt"
    assert export_worksheet(toy, sheet) == 1
    sheet.write_text(sheet.read_text(encoding="utf-8").replace("%%% zh\n", "%%% zh\n# 01b · 亲手搭建"), encoding="utf-8")
    assert import_worksheet(toy, sheet) == (1, 0)
    assert catalog_path(toy, "01b_build.ipynb").name == "01b_build.json" and status(toy) == []
    written = {p.relative_to(toy).as_posix() for p in build(toy)}
    assert {"notebooks/zh/01b_build.ipynb", "learner/zh/01b_build.ipynb"} <= written
    assert "亲手搭建" in (toy / "learner/zh/01b_build.ipynb").read_text(encoding="utf-8")


def test_the_chinese_learner_edition_links_each_exercise_to_its_worked_solution(toy):
    path = toy / "notebooks" / "00_toy.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["cells"].insert(1, nbformat.v4.new_markdown_cell("### Exercise 0.1 — Add one\nDo it.", id="ex-1"))
    path.write_text(json.dumps(nb), encoding="utf-8")
    catalog = json.loads(catalog_path(toy, "00_toy.ipynb").read_text(encoding="utf-8"))
    catalog["cells"]["ex-1"] = _entry("### Exercise 0.1 — Add one\nDo it.", "### 练习 0.1 — 加一\n做吧。")
    catalog_path(toy, "00_toy.ipynb").write_text(json.dumps(catalog, ensure_ascii=False), encoding="utf-8")
    build(toy)
    heading = _src(load_notebook(toy / "learner/zh/00_toy.ipynb")["cells"][3])
    assert heading.startswith("### 练习 0.1 — 加一")
    assert "[这个笔记本的教师版](../../notebooks/zh/00_toy.ipynb)里的练习 0.1" in heading
    assert "练习 0.1" in heading and "教师版" not in _src(load_notebook(toy / "notebooks/zh/00_toy.ipynb")["cells"][3])


def test_an_english_edit_makes_its_translation_stale(toy):
    _edit_english(toy, "md-0", "# Title\n\nTrain for 20,000 steps with `lr=3e-3`.")
    assert [(i.cell_id, i.kind) for i in status(toy)] == [("md-0", "stale")]


def test_a_new_english_cell_is_missing_and_blocks_the_build(toy):
    path = toy / "notebooks" / "00_toy.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["cells"].append(nbformat.v4.new_markdown_cell("New text.", id="md-3"))
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert [(i.cell_id, i.kind) for i in status(toy)] == [("md-3", "missing")]
    with pytest.raises(NotebookError, match="'md-3' has no translation"):
        build(toy)
    assert not (toy / "notebooks" / "zh").exists(), "nothing written"
    build(toy, english_fallback=True)
    assert "New text." in (toy / "notebooks/zh/00_toy.ipynb").read_text(encoding="utf-8")


def test_a_removed_english_cell_leaves_an_orphan(toy):
    path = toy / "notebooks" / "00_toy.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["cells"] = nb["cells"][:2]
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert [(i.cell_id, i.kind) for i in status(toy)] == [("md-2", "orphan")]


@pytest.mark.parametrize(
    "zh, lost",
    [
        ("用 `lr=3e-3` 训练一万步。", "missing from the Chinese: ['10,000']"),
        ("用 `lr=0.003` 训练 10,000 步。", "missing from the Chinese: ['`lr=3e-3`']"),
        ("用 `lr=3e-3` 训练 10,000 步，共 2 次。", "only in the Chinese: ['2']"),
    ],
)
def test_a_translation_that_changes_a_number_or_code_span_is_reported(zh, lost):
    assert lost in token_problems("Train for 10,000 steps with `lr=3e-3`.", zh)


def test_formulas_and_code_blocks_are_compared_whole():
    en = "Here $x^2 + 1$ and\n```python\nrun = train(cfg)\n```\n"
    assert token_problems(en, "这里 $x^2 + 1$，以及\n```python\nrun = train(cfg)\n```\n") == ""
    assert "$x^2+1$" in token_problems(en, "这里 $x^2+1$，以及\n```python\nrun = train(cfg)\n```\n")
    assert "```" in token_problems(en, "这里 $x^2 + 1$，以及\n```python\nrun = train(config)\n```\n")


def test_a_documented_exception_must_match_the_difference_exactly():
    en, zh = "Train for 10,000 steps.", "训练一万步。"
    assert token_problems(en, zh, {"missing": ["10,000"], "reason": "written out"}) == ""
    assert "allowed as missing but present" in token_problems(en, "训练 10,000 步。", {"missing": ["10,000"], "reason": "x"})


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"sha256": "0" * 64, "en": "a", "zh": "b"}, "not the hash of field 'en'"),
        ({"en": "a", "zh": "b"}, "field 'sha256' must be a string"),
        ({"sha256": cell_hash("a"), "en": "a", "zh": "b", "allow": {"missing": ["1"]}}, "non-empty reason"),
    ],
)
def test_a_malformed_catalog_entry_is_named(tmp_path, entry, message):
    path = tmp_path / "00_toy.json"
    path.write_text(json.dumps({"notebook": "00_toy.ipynb", "cells": {"c": entry}}), encoding="utf-8")
    with pytest.raises(NotebookError, match=re.escape(message)):
        load_catalog(path, "00_toy.ipynb")


def test_a_worksheet_round_trip_retranslates_only_the_stale_cell(toy):
    _edit_english(toy, "md-0", "# Title\n\nTrain for 20,000 steps with `lr=3e-3`.")
    sheet = toy / "todo.txt"
    assert export_worksheet(toy, sheet) == 1
    text = sheet.read_text(encoding="utf-8")
    assert "%%% cell 00_toy.ipynb md-0 sha256=" in text and "md-2" not in text
    assert "%%%% Train for 10,000 steps" in text, "the old English is shown for comparison"
    sheet.write_text(text.replace("训练 10,000 步", "训练 20,000 步"), encoding="utf-8")
    assert import_worksheet(toy, sheet) == (1, 0)
    assert status(toy) == []


def test_a_worksheet_made_before_an_english_edit_is_refused(toy):
    _edit_english(toy, "md-0", "# Title\n\nTrain for 20,000 steps with `lr=3e-3`.")
    sheet = toy / "todo.txt"
    export_worksheet(toy, sheet)
    _edit_english(toy, "md-0", "# Title\n\nTrain for 30,000 steps with `lr=3e-3`.")
    with pytest.raises(NotebookError, match="changed since this worksheet was exported"):
        import_worksheet(toy, sheet)


def test_export_never_overwrites_a_notebook_or_another_file(toy):
    _edit_english(toy, "md-0", "# Title\n\nTrain for 20,000 steps with `lr=3e-3`.")
    notebook = toy / "notebooks" / "00_toy.ipynb"
    notes = toy / "notes.txt"
    notes.write_text("my notes\n", encoding="utf-8")
    before = notebook.read_bytes()
    for target, why in ((notebook, "a notebook's name"), (toy / "new.ipynb", "a notebook's name"),
                        (notes, "exists and is not a worksheet")):
        with pytest.raises(NotebookError, match=re.escape(f"{target}: {why}")):
            export_worksheet(toy, target)
    assert notebook.read_bytes() == before and notes.read_text(encoding="utf-8") == "my notes\n"
    assert not (toy / "new.ipynb").exists()
    sheet = toy / "todo.txt"
    assert export_worksheet(toy, sheet) == 1
    assert export_worksheet(toy, sheet) == 1, "an earlier worksheet may be written again"


# --------------------------------------------------------------------------- the command


def test_the_zh_command_reports_status_with_its_exit_code(toy, capsys):
    from grokkit.course.__main__ import main

    assert main(["zh", "--root", str(toy), "status"]) == 0
    assert "every cell translated and current" in capsys.readouterr().out
    _edit_english(toy, "md-2", "See the guide.")
    assert main(["zh", "--root", str(toy), "status"]) == 1
    assert "00_toy.ipynb md-2: stale" in capsys.readouterr().out
    assert main(["zh", "--root", str(toy / "nowhere"), "build"]) == 2
    assert "no notebooks named NN_name.ipynb" in capsys.readouterr().err
