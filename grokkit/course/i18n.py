"""Messages of ``grokkit.course`` in the learner's language, through Python's ``gettext``.

The one setting
---------------
The environment variable ``GROKKIT_LANG`` chooses the language of check messages:
``en`` (the default, also when it is unset or empty) or ``zh`` (Simplified Chinese;
``zh_CN`` and ``zh-CN`` mean the same). It is read each time a message is made, so a
notebook may set it in its first cell, before or after importing grokkit::

    import os
    os.environ["GROKKIT_LANG"] = "zh"

:func:`set_language` writes the same variable (``grokkit.course.set_language("zh")``).

The catalogs
------------
Translations live in gettext's text format, ``grokkit/course/locale/<lang>.po``: a
human-edited, diffable file that any PO editor opens. Python's :mod:`gettext` reads only
compiled ``.mo`` files, and a committed binary would drift from its source, so this
module compiles the ``.po`` into ``.mo`` bytes in memory the first time a language is
used (:func:`compile_po`, the format of GNU ``msgfmt``) and hands them to
:class:`gettext.GNUTranslations`. Lookups, plural forms and fallbacks are gettext's own.

Messages are marked ``_("wrong shape: expected {expected}, got {got}")`` and filled with
``str.format`` after translation, so a translation may reorder the fields. A message
defined once and shown later (a table of mistakes, say) is marked where it is written with
:func:`N_`, which returns it unchanged, and translated with ``_()`` where it is shown, so
that the language in force then is the one used. Every message a learner reads in
``core.py`` and the ``nbNN.py`` check modules is marked and has a Chinese translation with
the same fields, numbers and code names: ``tests/test_i18n.py`` fails otherwise.
"""

from __future__ import annotations

import ast
import gettext
import io
import os
import struct
from functools import lru_cache
from pathlib import Path

__all__ = ["LANGUAGES", "ENV_VAR", "language", "set_language", "_", "N_", "ngettext", "compile_po", "parse_po"]

ENV_VAR = "GROKKIT_LANG"
LANGUAGES = ("en", "zh")
_ALIASES = {"": "en", "en": "en", "en_us": "en", "en_gb": "en", "zh": "zh", "zh_cn": "zh", "zh_hans": "zh"}
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


def _normalize(value: str) -> str:
    """Map a setting such as ``zh-CN`` to a supported language code, or raise ValueError."""
    key = value.strip().lower().replace("-", "_")
    if key not in _ALIASES:
        raise ValueError(
            f"{ENV_VAR}={value!r} is not a supported language; use one of {', '.join(LANGUAGES)}"
        )
    return _ALIASES[key]


def language() -> str:
    """The language check messages are written in now: ``GROKKIT_LANG``, else ``en``."""
    return _normalize(os.environ.get(ENV_VAR, ""))


def set_language(lang: str) -> None:
    """Choose the language of check messages (``"en"`` or ``"zh"``) by setting ``GROKKIT_LANG``."""
    os.environ[ENV_VAR] = _normalize(lang)


def parse_po(text: str, where: str = "<po>") -> dict[str | tuple[str, int], str]:
    """Read a ``.po`` file's entries: ``{msgid: msgstr}``, plural forms as ``{(msgid, n): msgstr}``.

    The header is the entry with the empty msgid. Fuzzy entries and entries with an
    empty translation are left out, as ``msgfmt`` does.
    """
    entries: dict[str | tuple[str, int], str] = {}
    fields: dict[str, str] = {}
    current: str | None = None
    fuzzy = False

    def flush() -> None:
        nonlocal fuzzy
        if "msgid" in fields and not fuzzy:
            msgid = fields["msgid"]
            if "msgid_plural" in fields:
                key_base = msgid + "\0" + fields["msgid_plural"]
                forms = sorted(k for k in fields if k.startswith("msgstr["))
                if all(fields[k] for k in forms):
                    for k in forms:
                        entries[(key_base, int(k[7:-1]))] = fields[k]
            elif fields.get("msgstr") or msgid == "":
                entries[msgid] = fields.get("msgstr", "")
        fields.clear()
        fuzzy = False

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                if "msgid" in fields:
                    flush()
                fuzzy = True
            continue
        if line.startswith('"'):
            if current is None:
                raise ValueError(f"{where}, line {number}: a string outside any msgid/msgstr")
            fields[current] += _po_string(line, where, number)
            continue
        keyword, _, rest = line.partition(" ")
        if keyword not in ("msgid", "msgid_plural", "msgstr") and not keyword.startswith("msgstr["):
            raise ValueError(f"{where}, line {number}: unknown keyword {keyword!r}")
        if keyword == "msgid" and "msgid" in fields:
            flush()
        current = keyword
        fields[keyword] = _po_string(rest.strip(), where, number)
    flush()
    return entries


def _po_string(token: str, where: str, number: int) -> str:
    """Decode one C-style quoted string of a ``.po`` file."""
    if not (len(token) >= 2 and token[0] == token[-1] == '"'):
        raise ValueError(f"{where}, line {number}: expected a quoted string, got {token!r}")
    return ast.literal_eval(token)


def compile_po(entries: dict[str | tuple[str, int], str]) -> bytes:
    """Compile parsed ``.po`` entries into the bytes of a GNU ``.mo`` file (little-endian)."""
    merged: dict[str, str] = {}
    plural_forms: dict[str, dict[int, str]] = {}
    for key, value in entries.items():
        if isinstance(key, tuple):
            plural_forms.setdefault(key[0], {})[key[1]] = value
        else:
            merged[key] = value
    for msgid, forms in plural_forms.items():
        merged[msgid] = "\0".join(forms[i] for i in sorted(forms))
    keys = sorted(merged, key=lambda k: k.encode("utf-8"))
    ids = [k.encode("utf-8") for k in keys]
    strs = [merged[k].encode("utf-8") for k in keys]
    header_size = 7 * 4
    table_size = len(keys) * 8
    ids_start = header_size + 2 * table_size
    offsets_ids, offsets_strs, blob = [], [], b""
    for data in ids:
        offsets_ids.append((len(data), ids_start + len(blob)))
        blob += data + b"\0"
    for data in strs:
        offsets_strs.append((len(data), ids_start + len(blob)))
        blob += data + b"\0"
    out = struct.pack("<7I", 0x950412DE, 0, len(keys), header_size, header_size + table_size, 0, 0)
    out += b"".join(struct.pack("<2I", *pair) for pair in offsets_ids)
    out += b"".join(struct.pack("<2I", *pair) for pair in offsets_strs)
    return out + blob


@lru_cache(maxsize=None)
def _translations(lang: str) -> gettext.NullTranslations:
    """gettext's translations object for a language (English: the messages as written)."""
    if lang == "en":
        return gettext.NullTranslations()
    path = LOCALE_DIR / f"{lang}.po"
    entries = parse_po(path.read_text(encoding="utf-8"), str(path))
    return gettext.GNUTranslations(io.BytesIO(compile_po(entries)))


def _(message: str) -> str:
    """Translate a message into the current language (the English text if there is none)."""
    if not message:  # gettext("") is the catalog's header, never a message
        return message
    return _translations(language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate a message that depends on a count ``n`` into the current language."""
    return _translations(language()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a message for the catalog where it is defined; it is translated by ``_()`` where it is shown."""
    return message
