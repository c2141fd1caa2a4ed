"""Check messages in the learner's language: every message of grokkit.course is marked, translated and answered in Chinese.

The messages are found by reading the check modules' source (tests/i18n_scan.py): a string
a learner may read that is not marked with ``_()`` / ``N_()`` / ``ngettext()`` fails the
test, and so does a marked message with no Chinese in grokkit/course/locale/zh.po, or one
whose translation changes a ``{field}``, a number or a code name.
"""

from __future__ import annotations

import gettext
import io
import re
import string
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from grokkit.course import CheckFailed, check_grokking, set_language
from grokkit.course.i18n import ENV_VAR, compile_po, language, parse_po
from grokkit.course.i18n import _ as translate
from grokkit.course.nb00 import check_first_step_reaching
from grokkit.course.nb03 import check_classify, check_slowest_answer
from grokkit.course.zh import token_problems

from i18n_scan import CODE_NAME, english_words, format_problems, hides_the_marker, scan

REPO = Path(__file__).resolve().parent.parent
PO = REPO / "grokkit" / "course" / "locale" / "zh.po"
# core.py, claims.py and one module per notebook: every message a learner reads while doing the course.
CHECK_MODULES = sorted([REPO / "grokkit/course/core.py", REPO / "grokkit/course/claims.py",
                        *(REPO / "grokkit/course").glob("nb*.py")])
# Strings of the check modules that are data a notebook also uses, not text (dictionary keys it names).
DATA = {"nb06.py": frozenset({"L2 weight decay", "a ≤ b", "all pairs"})}
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _catalog() -> dict[str, str]:
    """zh.po as {msgid: msgstr}, a plural message under its singular msgid."""
    entries = parse_po(PO.read_text(encoding="utf-8"))
    singular = {k: v for k, v in entries.items() if isinstance(k, str) and k}
    singular.update({k[0].split("\0")[0]: v for k, v in entries.items() if isinstance(k, tuple)})
    return singular


def _marked(path: Path) -> list[str]:
    """The messages a module marks, the plural forms of ngettext left out (zh.po holds them under the singular)."""
    messages, _ = scan(path, DATA.get(path.name, frozenset()))
    return [m for m in messages if m not in ("{n} cases",)]


def _fields(text: str) -> Counter[tuple[str, str, str | None]]:
    """The replacement fields of a format string: (name, format spec, conversion), counted."""
    return Counter((name, spec, conv) for _, name, spec, conv in string.Formatter().parse(text) if name is not None)


def _code_names(text: str) -> set[str]:
    """The code names of a message (run.steps, W_in, torch.relu, np.array(...)), its fields left out."""
    return set(CODE_NAME.findall(re.sub(r"\{[^{}]*\}", " ", text))) - {"_"}


# --------------------------------------------------------------------------- every message marked and translated


@pytest.mark.parametrize("path", CHECK_MODULES, ids=lambda p: p.name)
def test_every_string_a_learner_reads_is_marked_for_translation(path):
    _, unmarked = scan(path, DATA.get(path.name, frozenset()))
    assert not unmarked, ("mark these with _() (or N_() where defined and _() where shown), "
                          "then translate them in grokkit/course/locale/zh.po:\n" + "\n".join(map(str, unmarked)))


@pytest.mark.parametrize("path", CHECK_MODULES, ids=lambda p: p.name)
def test_every_marked_message_is_filled_with_exactly_the_fields_it_names(path):
    """A message is filled by keyword, after translation: _("... {x} ...").format(x=...), every field given."""
    assert format_problems(path) == []


@pytest.mark.parametrize("path", CHECK_MODULES, ids=lambda p: p.name)
def test_no_check_module_binds_the_name_of_the_translation_function(path):
    assert hides_the_marker(path) == [], f"{path.name}: rename the throwaway variable `_` (it hides _() there)"


@pytest.mark.parametrize("path", CHECK_MODULES, ids=lambda p: p.name)
def test_every_marked_message_has_chinese_keeping_its_fields_numbers_and_code_names(path):
    catalog = _catalog()
    problems = []
    for message in _marked(path):
        chinese = catalog.get(message)
        if not chinese:
            problems.append(f"no Chinese for {message!r}")
            continue
        if _fields(chinese) != _fields(message):
            problems.append(f"fields differ: {message!r} -> {chinese!r}")
        if english_words(re.sub(r"\{[^{}]*\}", " ", message)) and not CHINESE.search(chinese):
            problems.append(f"not translated: {message!r} -> {chinese!r}")
        numbers = token_problems(re.sub(r"\{[^{}]*\}", " ", message), re.sub(r"\{[^{}]*\}", " ", chinese))
        if numbers:
            problems.append(f"{numbers}: {message!r} -> {chinese!r}")
        if _code_names(message) - _code_names(chinese):
            problems.append(f"code names lost {sorted(_code_names(message) - _code_names(chinese))}: {message!r}")
    assert len(_marked(path)) >= (1 if path.name != "nb00.py" else 0)
    assert not problems, f"{path.name} (grokkit/course/locale/zh.po):\n" + "\n".join(problems)


def test_the_catalog_holds_no_message_the_code_no_longer_uses():
    used = {m for path in CHECK_MODULES for m in _marked(path)}
    unused = sorted(set(_catalog()) - used)
    assert not unused, f"remove from grokkit/course/locale/zh.po: {unused}"


def test_the_catalog_uses_the_glossarys_terms(glossary_rules):
    problems = []
    for message, chinese in _catalog().items():
        prose = CODE_NAME.sub(" ", message)
        problems += [f"{message!r}: English matches {pattern!r}, Chinese lacks {zh!r}"
                     for pattern, zh, _ in glossary_rules if re.search(pattern, prose, re.I) and zh not in chinese]
        problems += [f"{message!r}: avoided term {word!r}" for _, _, avoid in glossary_rules for word in avoid
                     if word in chinese]
    assert not problems, "\n".join(problems)


def test_the_scanner_finds_unmarked_messages_and_passes_marked_ones(tmp_path):
    source = tmp_path / "nb99.py"
    source.write_text(
        '"""Module docstring, not a message."""\n'
        "from grokkit.course.i18n import N_, _\n"
        "TABLE = {'key': N_('defined here, shown later')}\n"
        "def check(x, name):\n"
        '    """Docstring, not a message."""\n'
        "    if x['some key'] == 'some value':\n"
        "        raise CheckFailed(f'{name}: wrong thing, got {x}')\n"
        "    if x is None:\n"
        "        raise CheckFailed(name + ': ' + _('nothing given, expected {n} items').format(n=3))\n"
        "    if x == 0:\n"
        "        raise ValueError('a programmer error stays English')\n"
        "    passed(name, 'all good here')\n"
        "    passed(f'{name}', f'{x} = run.steps[{x}]')\n", encoding="utf-8")
    marked, unmarked = scan(source)
    assert sorted(marked) == ["defined here, shown later", "nothing given, expected {n} items"]
    assert [(u.line, u.text) for u in unmarked] == [(7, "{}: wrong thing, got {}"), (12, "all good here")]


def test_the_format_check_names_a_message_filled_wrongly_or_never(tmp_path):
    source = tmp_path / "nb99.py"
    source.write_text(
        "from grokkit.course.i18n import _\n"
        "ok = _('{a} and {b.c}').format(a=1, b=2)\n"
        "missing = _('{a} and {b}').format(a=1)\n"
        "never = _('got {x}')\n"
        "braces = _('a dict {{k: v}}')\n"
        "plain = _('no fields')\n", encoding="utf-8")
    assert sorted(p.split(": ", 1)[0] for p in format_problems(source)) == ["nb99.py:3", "nb99.py:4", "nb99.py:5"]


# --------------------------------------------------------------------------- Chinese where the Chinese edition runs


def test_english_is_the_default_and_chinese_is_one_setting(monkeypatch, capsys):
    monkeypatch.setenv(ENV_VAR, "")  # restored after the test, which set_language changes
    assert language() == "en"
    steps = np.array([0, 100, 200, 300])
    check_grokking(steps, [0.1, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 1.0])
    assert "✅ test accuracy rises well after train accuracy passed" in capsys.readouterr().out
    set_language("zh")
    assert language() == "zh"
    check_grokking(steps, [0.1, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 1.0])
    assert capsys.readouterr().out.startswith("✅ 测试准确率远远晚于训练准确率上升 通过（训练准确率在第 100 步")


def test_notebook_00s_check_answers_in_chinese(monkeypatch, capsys):
    monkeypatch.setenv(ENV_VAR, "zh")
    check_first_step_reaching(lambda s, v, level: (int(s[np.nonzero(v >= level)[0][0]]) if (v >= level).any() else None))
    assert capsys.readouterr().out.strip() == "✅ first_step_reaching 通过（5 个用例）"
    with pytest.raises(CheckFailed, match="值不对：应为 200，得到的是 2$"):
        check_first_step_reaching(lambda s, v, level: int(np.nonzero(v >= level)[0][0]) if (v >= level).any() else None)

    def stub(steps, values, level):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match=re.escape("还没有实现：把 `raise NotImplementedError()` 换成你的代码")):
        check_first_step_reaching(stub)


def test_a_failing_notebook_03_check_explains_in_chinese_and_in_english_by_default(monkeypatch, capsys):
    medians = {0.1: 500.0, 0.3: 900.0, 1.0: None}
    monkeypatch.setenv(ENV_VAR, "zh")
    with pytest.raises(CheckFailed) as failed:
        check_slowest_answer(medians, 0.1)
    assert str(failed.value) == ("slowest_wd: 权重衰减为 0.1 时泛化所需步数的中位数是 500，但 0.3 需要 900"
                                 "（步数中位数：0.1: 500, 0.3: 900）")
    with pytest.raises(CheckFailed, match=r"^slowest_wd: 权重衰减为 1 时没有训练泛化，所以它不可能是最慢的$"):
        check_slowest_answer(medians, 1.0)
    with pytest.raises(CheckFailed, match=r"^classify\(.*\): 值不对：应为 'fail'，得到的是 'grok'$"):
        check_classify(lambda train_loss, test_loss, min_loss=1e-5, max_ratio=5e4: "grok")
    check_slowest_answer(medians, 0.3)
    assert capsys.readouterr().out.strip() == "✅ 泛化最慢的 通过（测试损失降到 1e-5 所需步数的中位数：0.1: 500, 0.3: 900）"
    monkeypatch.setenv(ENV_VAR, "en")
    with pytest.raises(CheckFailed, match=r"^slowest_wd: generalizing at 0.1 took a median 500 steps, but 0.3 took 900 "):
        check_slowest_answer(medians, 0.1)


def test_an_unknown_language_is_named(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "fr")
    with pytest.raises(ValueError, match="GROKKIT_LANG='fr' is not a supported language; use one of en, zh"):
        language()
    with pytest.raises(ValueError, match="use one of en, zh"):
        set_language("klingon")


# --------------------------------------------------------------------------- the .po machinery


def test_the_po_file_compiles_to_a_catalog_gettext_reads(monkeypatch):
    entries = parse_po('msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n"Plural-Forms: nplurals=1; plural=0;\\n"\n\n'
                       'msgid "a {x}"\nmsgstr "甲 {x}"\n\n#, fuzzy\nmsgid "b"\nmsgstr "乙"\n\n'
                       'msgid "{n} case"\nmsgid_plural "{n} cases"\nmsgstr[0] "{n} 例"\n')
    catalog = gettext.GNUTranslations(io.BytesIO(compile_po(entries)))
    assert catalog.gettext("a {x}") == "甲 {x}"
    assert catalog.gettext("b") == "b", "fuzzy entries are not used, as msgfmt does"
    assert catalog.ngettext("{n} case", "{n} cases", 3) == "{n} 例"
    monkeypatch.setenv(ENV_VAR, "zh")       # and the shipped catalog, through the public _() (imported as translate)
    assert translate("✅ {name} passed") == "✅ {name} 通过"


def test_a_malformed_po_file_is_named():
    with pytest.raises(ValueError, match="line 2: unknown keyword 'msgtxt'"):
        parse_po('msgid "a"\nmsgtxt "b"\n', "zh.po")
