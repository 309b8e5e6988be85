"""HF ``tokenizers``' per-text Unicode normalizers, exact: ``NFC``, ``NFD``, ``NFKC``, ``NFKD``, ``StripAccents``,
``Lowercase`` and ``Nmt``, as the Unigram and BPE pipelines run them (one after another, each on the whole text).

``tokenizers`` normalizes with older Unicode tables than ``unicodedata``; the code points where the two disagree
(:mod:`._normalization_tables`, probed from tokenizers) are, to tokenizers, inert starters: it normalizes the text
around them as if it were cut there. So a form is ``unicodedata.normalize`` of the whole text when the text holds
none of them (nearly always), else of the pieces between them, which stay as they are. ASCII text is unchanged by
every form and by StripAccents. ``StripAccents`` deletes the crate's combining marks, ``Lowercase`` maps each
character by ``_char_tables.LOWER_MAP`` (Rust's ``char::to_lowercase``, no final-sigma rule), ``Nmt`` deletes
some control characters and makes others a space. Plain Python, not compiled: its work is done by C calls
(``unicodedata``, ``re``, ``str.lower`` / ``str.translate``), a few per text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Final, Literal

from . import _normalization_tables as tables
from ._char_tables import LOWER_MAP

Form = Literal["NFC", "NFD", "NFKC", "NFKD"]
FORMS: Final[tuple[Form, ...]] = ("NFC", "NFD", "NFKC", "NFKD")
NAMED_STEPS: Final = (*FORMS, "StripAccents", "Lowercase", "Nmt")  # model.json writes these by name
_ASTRAL: Final = re.compile("[\U00010000-\U0010ffff]")
# Steps that delete characters (so the text's first character may no longer be the original's first).
DELETING_STEPS: Final = ("StripAccents", "Nmt")


def _char_class(ranges: tuple[tuple[int, int], ...]) -> str:
    out: list[str] = []
    for start, end in ranges:
        first = re.escape(chr(start))
        out.append(first if start == end else first + "-" + re.escape(chr(end)))
    return "".join(out)


def _pattern(ranges: tuple[tuple[int, int], ...], suffix: str = "") -> re.Pattern[str]:
    return re.compile("[" + _char_class(ranges) + "]" + suffix) if ranges else re.compile("(?!)")


def _bmp(ranges: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    """The part of ``ranges`` in the Basic Multilingual Plane."""
    return tuple((a, min(b, 0xFFFF)) for a, b in ranges if a < 0x10000)


def _quick_pattern(ranges: tuple[tuple[int, int], ...]) -> re.Pattern[str]:
    """A superset of ``ranges`` for a first test: their BMP part, and every character above the BMP if they have one
    there. Python's re tests a class of BMP characters with a bitmap, several times faster (measured: 7 to 17
    times on the multilingual test text) than a class that also lists ranges above the BMP."""
    bmp = _bmp(ranges)
    astral = "\U00010000-\U0010ffff" if any(b >= 0x10000 for _, b in ranges) else ""
    return re.compile("[" + _char_class(bmp) + astral + "]") if ranges else re.compile("(?!)")


_NEWER: list[int] = []  # filled once: the code points this Python assigns and the tables' Unicode version does not


def _newer_code_points(form: Form) -> tuple[tuple[int, int], ...]:
    """On a Python whose Unicode data is newer than the tables' (which were probed against UNICODE_VERSION): the
    code points assigned since, which tokenizers does not know either, where this Python would not leave the text
    around them alone under ``form`` (a class, a decomposition, or a canonical composition with another new one)."""
    if not _NEWER:
        end = -1
        for start, stop in tables.ASSIGNED + ((0x110000, 0x110000),):
            for cp in range(end + 1, start):
                if not 0xD800 <= cp <= 0xDFFF and unicodedata.category(chr(cp)) != "Cn":
                    _NEWER.append(cp)
            end = stop
        _NEWER.append(-1)  # marks the list as filled, even when nothing is new
    new = set(_NEWER)
    found: set[int] = set()
    for cp in _NEWER:
        if cp < 0:
            continue
        ch = chr(cp)
        if unicodedata.combining(ch) or unicodedata.decomposition(ch) or unicodedata.normalize(form, ch) != ch:
            found.add(cp)
            parts = unicodedata.decomposition(ch).split()
            if form in ("NFC", "NFKC") and parts and not parts[0].startswith("<"):
                found.update(int(p, 16) for p in parts if int(p, 16) in new)  # new parts that compose into it
    return tuple((cp, cp) for cp in sorted(found))


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


class UnicodeForm:
    """One form (NFC, NFD, NFKC or NFKD) as tokenizers applies it."""

    def __init__(self, form: Form) -> None:
        ranges: tuple[tuple[int, int], ...] = getattr(tables, "SPLIT_" + form)
        if _version(unicodedata.unidata_version) > _version(tables.UNICODE_VERSION):
            ranges = ranges + _newer_code_points(form)
        self.form = form
        self.quick_re = _quick_pattern(ranges)
        self.split_re = re.compile("(" + _pattern(ranges).pattern + "+)")

    def __call__(self, text: str) -> str:
        if text.isascii():
            return text
        split_re = self.split_re
        if self.quick_re.search(text) is None or split_re.search(text) is None:
            return unicodedata.normalize(self.form, text)
        parts = split_re.split(text)
        for i in range(0, len(parts), 2):
            parts[i] = unicodedata.normalize(self.form, parts[i])
        return "".join(parts)


class StripAccents:
    """Deletes the characters that tokenizers' ``StripAccents`` deletes (its combining marks)."""

    def __init__(self) -> None:
        self.marks_re = _pattern(tables.COMBINING_MARKS, "+")
        self.bmp_marks_re = _pattern(_bmp(tables.COMBINING_MARKS), "+")

    def __call__(self, text: str) -> str:
        if text.isascii():
            return text
        if _ASTRAL.search(text) is None:  # the BMP marks alone: a bitmap class, about 4 times faster
            return self.bmp_marks_re.sub("", text)
        return self.marks_re.sub("", text)


class Lowercase:
    """tokenizers' ``Lowercase``: each character by Rust's ``char::to_lowercase``; ``str.lower`` (much faster than
    ``str.translate``) for text without LOWER_DIFFERS characters, where the two agree (on the tables' Unicode
    version of ``unicodedata``, which ``str.lower`` uses)."""

    def __init__(self) -> None:
        self.table: dict[int, str] = dict(LOWER_MAP)
        same_data = unicodedata.unidata_version == tables.UNICODE_VERSION
        self.differs_re = _quick_pattern(tables.LOWER_DIFFERS) if same_data else re.compile("")

    def __call__(self, text: str) -> str:
        if text.isascii():
            return text.lower()
        if self.differs_re.search(text) is None:
            return text.lower()
        return text.translate(self.table)


class Nmt:
    """tokenizers' ``Nmt``: deletes some control characters, makes some others (and U+2581 ...) a space."""

    def __init__(self) -> None:
        table: dict[int, str | None] = {}
        for start, end in tables.NMT_REMOVE:
            for cp in range(start, end + 1):
                table[cp] = None
        for start, end in tables.NMT_SPACE:
            for cp in range(start, end + 1):
                table[cp] = " "
        self.table = table
        self.any_re = _pattern(tables.NMT_REMOVE + tables.NMT_SPACE)

    def __call__(self, text: str) -> str:
        if self.any_re.search(text) is None:
            return text
        return text.translate(self.table)


_STEPS: dict[str, Callable[[str], str]] = {}


def named_step(name: str) -> Callable[[str], str]:
    """The function of one named normalizer step (one of NAMED_STEPS), built once per process."""
    step = _STEPS.get(name)
    if step is None:
        if name in FORMS:
            step = UnicodeForm(name)
        elif name == "StripAccents":
            step = StripAccents()
        elif name == "Lowercase":
            step = Lowercase()
        elif name == "Nmt":
            step = Nmt()
        else:
            raise ValueError(f"not a named normalizer step: {name!r}")
        _STEPS[name] = step
    return step


def normalize(name: str, text: str) -> str:
    """``text`` through one named normalizer step."""
    return named_step(name)(text)
