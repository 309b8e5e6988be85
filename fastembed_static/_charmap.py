"""Per-character normalization and pre-tokenization, composed from the generated tables in ``_char_tables``.

HF ``BertNormalizer`` works character by character in the order clean_text -> handle_chinese_chars ->
strip_accents -> lowercase, and ``BertPreTokenizer`` then splits on whitespace and isolates punctuation. So one
character of raw text maps to a fixed string of normalized text in which every split point is a single space:
:func:`compose` gives that string and :class:`TranslationTable` feeds it lazily to ``str.translate``.

Not compiled with mypyc: :class:`TranslationTable` subclasses ``dict``.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import NamedTuple

from . import _char_tables as tables

Ranges = tuple[tuple[int, int], ...]


def in_ranges(cp: int, ranges: Ranges) -> bool:
    i = bisect_right(ranges, (cp, 0x10FFFF + 1)) - 1
    return i >= 0 and ranges[i][0] <= cp <= ranges[i][1]


class NormalizerConfig(NamedTuple):  # NamedTuple, not dataclass: dataclasses imports inspect (~9 ms cold start)
    clean_text: bool
    handle_chinese_chars: bool
    strip_accents: bool
    lowercase: bool


def normalize_char(ch: str, config: NormalizerConfig) -> str:
    """What BertNormalizer makes of one character."""
    cp = ord(ch)
    out = ch
    if config.clean_text:
        if in_ranges(cp, tables.CLEAN_REMOVE):
            return ""
        if in_ranges(cp, tables.CLEAN_TO_SPACE):
            out = " "
    if config.handle_chinese_chars and in_ranges(cp, tables.CHINESE):
        out = f" {out} "
    if config.strip_accents:
        out = "".join(_strip(c) for c in out)
    if config.lowercase:
        out = "".join(tables.LOWER_MAP.get(ord(c), c) for c in out)
    return out


def _strip(ch: str) -> str:
    cp = ord(ch)
    if in_ranges(cp, tables.STRIP_DELETE):
        return ""
    return tables.STRIP_MAP.get(cp, ch)


def pretokenize_char(ch: str) -> str:
    """How BertPreTokenizer treats one normalized character: split (" "), isolate (" c ") or keep."""
    cp = ord(ch)
    if in_ranges(cp, tables.PRETOK_WHITESPACE):
        return " "
    if in_ranges(cp, tables.PRETOK_PUNCT):
        return f" {ch} "
    return ch


def compose(ch: str, config: NormalizerConfig) -> str:
    """Normalized text for one raw character, with every word boundary made a single space."""
    return "".join(pretokenize_char(c) for c in normalize_char(ch, config))


def is_reorder_mark(ch: str) -> bool:
    return in_ranges(ord(ch), tables.REORDER_MARKS)


class TranslationTable(dict[int, str]):
    """A ``str.translate`` table filled on first use of each code point (the full table would have a million
    entries, mostly unassigned code points that clean_text deletes)."""

    def __init__(self, config: NormalizerConfig) -> None:
        super().__init__()
        self.config = config

    def __missing__(self, cp: int) -> str:
        # Most of the 1.1M code points (unassigned, private use, controls) are deleted by clean_text: answer those
        # with one bisect instead of composing (a text of every code point took 13 s on its first call, 2 s after)
        config = self.config
        if config.clean_text and in_ranges(cp, tables.CLEAN_REMOVE):
            value = ""
        elif (
            not (config.clean_text and in_ranges(cp, tables.CLEAN_TO_SPACE))
            and not (config.handle_chinese_chars and in_ranges(cp, tables.CHINESE))
            and not (config.strip_accents and (cp in tables.STRIP_MAP or in_ranges(cp, tables.STRIP_DELETE)))
            and not (config.lowercase and cp in tables.LOWER_MAP)
            and not in_ranges(cp, tables.PRETOK_WHITESPACE)
            and not in_ranges(cp, tables.PRETOK_PUNCT)
        ):
            value = chr(cp)  # what compose gives when no step changes the character
        else:
            value = compose(chr(cp), config)
        self[cp] = value
        return value


class AsciiPlan(NamedTuple):
    """How ASCII text is tokenized without a per-character table: optional ``str.lower``, deletion of a few
    control characters, then a regex that finds words and isolated punctuation."""

    lowercase: bool
    delete: str  # characters clean_text removes
    word_chars: str
    punct_chars: str


def ascii_plan(config: NormalizerConfig) -> AsciiPlan | None:
    """The ASCII fast path for ``config``, or None if ASCII characters do anything it cannot express."""
    delete, word, punct = [], [], []
    for cp in range(128):
        ch = chr(cp)
        out = compose(ch, config)
        expected_word = ch.lower() if config.lowercase else ch
        if out == "":
            delete.append(ch)
        elif out == " ":
            pass
        elif out == f" {ch} ":
            punct.append(ch)
        elif out == expected_word:
            word.append(ch)
        else:
            return None
    if config.lowercase and any(c.isupper() for c in punct):
        return None
    return AsciiPlan(config.lowercase, "".join(delete), "".join(word), "".join(punct))


def reorder_marks_string() -> str:
    """Every character of REORDER_MARKS, for a regex character class."""
    return "".join(chr(cp) for start, end in tables.REORDER_MARKS for cp in range(start, end + 1))


def normalize_reordered(text: str, table: TranslationTable) -> str:
    """``text`` normalized and pre-tokenized like ``text.translate(table)``, plus the canonical reordering that
    HF's whole-string NFD does when strip_accents is on (see _char_tables): each run of consecutive REORDER_MARKS
    characters is stable-sorted by REORDER_CCC; a deleted starter that clean_text did not remove ends a run.
    Only needed for text holding a REORDER_MARKS character, which real text almost never does."""
    config = table.config
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        out.extend(sorted(run, key=lambda c: tables.REORDER_CCC[ord(c)]))
        run.clear()

    for ch in text:
        cp = ord(ch)
        piece = table[cp]
        if not piece:
            removed_by_clean = config.clean_text and in_ranges(cp, tables.CLEAN_REMOVE)
            if config.strip_accents and not removed_by_clean and in_ranges(cp, tables.STRIP_DELETE_STARTERS):
                flush()
            continue
        for c in piece:
            if ord(c) in tables.REORDER_CCC:
                run.append(c)
            else:
                flush()
                out.append(c)
    flush()
    return "".join(out)
