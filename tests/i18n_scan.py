"""Find the messages of grokkit.course's check modules by reading their source (ast): marked and unmarked.

A *marked* message is a string literal passed to ``_()``, ``N_()`` or ``ngettext()``
(grokkit.course.i18n). An *unmarked* one is a string literal or f-string elsewhere whose
text (code names taken out) still holds English words: something a learner would read in
English although the Chinese edition runs. Docstrings, dictionary keys read with ``[...]``,
operands of comparisons, ``__all__`` and the arguments of programmer errors
(``ValueError``, ``TypeError``) are not messages.
"""

from __future__ import annotations

import ast
import re
import string
from dataclasses import dataclass
from pathlib import Path

MARKERS = ("_", "N_", "ngettext")
PROGRAMMER_ERRORS = ("ValueError", "TypeError", "KeyError", "NotImplementedError")
# Code inside a message: dotted or underscored names and calls (run.steps, W_in, np.array(...)).
CODE_NAME = re.compile(r"[A-Za-z_]\w*(?:\.\w+)+|\w*_\w*|[A-Za-z]\w*(?=[(\[])")
WORD = re.compile(r"[A-Za-z]{2,}")


@dataclass(frozen=True)
class Unmarked:
    """A string a learner may read that is not marked for translation."""

    path: str
    line: int
    text: str

    def __str__(self) -> str:
        """file:line and the string."""
        return f"{self.path}:{self.line}: {self.text!r}"


def english_words(text: str) -> list[str]:
    """The English words of a message, its code names left out."""
    return WORD.findall(CODE_NAME.sub(" ", text))


def _text(node: ast.AST) -> str:
    """A string literal's text; an f-string's literal parts, with {} for each field."""
    if isinstance(node, ast.Constant):
        return node.value
    return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)  # type: ignore[attr-defined]


def _call_name(node: ast.AST) -> str:
    """The name a call is made through (``f`` of ``f(...)`` and of ``m.f(...)``), else ''."""
    if isinstance(node, ast.Call):
        func = node.func
        return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return ""


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of every docstring node of a module, class or function."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                found.add(id(first.value))
    return found


def _exempt(node: ast.AST, parents: dict[int, ast.AST], docstrings: set[int]) -> bool:
    """True when a string is not a message by where it stands (see the module's docstring)."""
    if id(node) in docstrings:
        return True
    child, parent = node, parents.get(id(node))
    while parent is not None:
        if isinstance(parent, ast.Subscript) and child is parent.slice:
            return True
        if isinstance(parent, ast.Compare):
            return True
        if isinstance(parent, ast.Call) and child is not parent.func:
            name = _call_name(parent)
            if name in MARKERS or name in PROGRAMMER_ERRORS:
                return True
            if name == "format":   # the fields of a message: checked where they are made
                return False
        if isinstance(parent, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in parent.targets):
            return True
        if isinstance(parent, ast.stmt):
            return False
        if isinstance(parent, ast.JoinedStr):   # a literal inside an f-string's field: judged on its own
            return False
        child, parent = parent, parents.get(id(parent))
    return False


def scan(path: Path, data: frozenset[str] = frozenset()) -> tuple[list[str], list[Unmarked]]:
    """(marked messages, unmarked strings with English words) of one module; ``data`` lists strings that are data, not text."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    docstrings = _docstrings(tree)
    marked: list[str] = []
    unmarked: list[Unmarked] = []
    for node in ast.walk(tree):
        if _call_name(node) in MARKERS and isinstance(node.func, ast.Name):  # type: ignore[attr-defined]
            for arg in node.args:  # type: ignore[attr-defined]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    marked.append(arg.value)
        is_string = isinstance(node, ast.Constant) and isinstance(node.value, str)
        inside_fstring = isinstance(parents.get(id(node)), ast.JoinedStr)
        if not (is_string and not inside_fstring) and not isinstance(node, ast.JoinedStr):
            continue
        text = _text(node)
        words = english_words(text)
        prose = len(words) >= (1 if isinstance(node, ast.JoinedStr) else 2)
        if prose and text not in data and not _exempt(node, parents, docstrings):
            unmarked.append(Unmarked(path.name, node.lineno, text))
    return marked, sorted(unmarked, key=lambda u: u.line)


def hides_the_marker(path: Path) -> list[int]:
    """Lines where a module binds ``_`` itself (``x, _ = ...``, ``for _ in``), hiding the translation function."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return sorted(node.lineno for node in ast.walk(tree)
                  if isinstance(node, ast.Name) and node.id == "_" and isinstance(node.ctx, ast.Store))


def _field_names(message: str) -> set[str]:
    """The names a format string asks ``str.format`` for (``{x.y}`` and ``{x[0]}`` ask for ``x``)."""
    return {re.split(r"[.\[]", name)[0] for _, name, _, _ in string.Formatter().parse(message) if name is not None}


def format_problems(path: Path) -> list[str]:
    """Marked messages filled with other fields than they name, or with fields and never filled."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    problems = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_"
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            continue
        message, where = node.args[0].value, f"{path.name}:{node.lineno}"
        attribute, call = parents.get(id(node)), None
        while isinstance(attribute, ast.IfExp):  # (_("a {x}") if c else _("b {x}")).format(x=...)
            attribute = parents.get(id(attribute))
        if isinstance(attribute, ast.Attribute) and attribute.attr == "format":
            call = parents.get(id(attribute))
        if call is None:
            if _field_names(message) or "{{" in message:
                problems.append(f"{where}: {message!r} has fields but is never filled with .format()")
            continue
        given = {k.arg for k in call.keywords}
        if call.args or None in given or given != _field_names(message):
            problems.append(f"{where}: {message!r} is filled with {sorted(map(str, given))}")
    return problems
