"""What HF ``tokenizers``' ``ByteLevel`` pre-tokenizer does, as data the BPE cores use: its split regex spelled for
Python's ``re`` and GPT-2's byte -> character map.

The split regex of ``tokenizers`` is Oniguruma's ``'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+|
?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+``. Python's ``re`` backtracks the same way (leftmost alternative first, greedy
runs, the lookahead), so the same pattern with ``\\p{L}``, ``\\p{N}`` and ``\\s`` replaced by explicit character
classes matches the same pieces. The classes come from :mod:`fastembed_static._bytelevel_tables`, probed from
``tokenizers`` itself (Oniguruma's Unicode tables are newer than Python 3.11's ``unicodedata``, and its ``\\s`` is
not Python's: U+001C..U+001F are not spaces there).
"""

from __future__ import annotations

from functools import lru_cache

from . import _bytelevel_tables


@lru_cache(maxsize=1)
def byte_chars() -> str:
    """GPT-2's ``bytes_to_unicode``: character i of the result stands for byte i. The printable bytes
    ``!``..``~``, U+00A1..U+00AC and U+00AE..U+00FF stand for themselves; the 68 others, in order, for U+0100
    onwards."""
    keep = {*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)}
    chars: list[str] = []
    extra = 0
    for b in range(256):
        if b in keep:
            chars.append(chr(b))
        else:
            chars.append(chr(0x100 + extra))
            extra += 1
    return "".join(chars)


def _class(ranges: tuple[tuple[int, int], ...]) -> str:
    """The inside of a regex character class holding exactly ``ranges``."""
    parts: list[str] = []
    for start, end in ranges:
        first = f"\\U{start:08x}"
        parts.append(first if start == end else f"{first}-\\U{end:08x}")
    return "".join(parts)


@lru_cache(maxsize=2)
def split_pattern(ascii_only: bool = False) -> str:
    """The ByteLevel split regex for Python's ``re`` (use it with ``findall``: its matches cover any text).
    ``ascii_only``: the same regex with its classes cut to ASCII, for ASCII text only (about 3x faster there)."""

    def cut(ranges: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
        return tuple((a, min(b, 0x7F)) for a, b in ranges if a <= 0x7F) if ascii_only else ranges

    letters = _class(cut(_bytelevel_tables.LETTERS))
    numbers = _class(cut(_bytelevel_tables.NUMBERS))
    spaces = _class(cut(_bytelevel_tables.SPACES))
    return (
        f"'s|'t|'re|'ve|'m|'ll|'d| ?[{letters}]+| ?[{numbers}]+| ?[^{spaces}{letters}{numbers}]+"
        f"|[{spaces}]+(?![^{spaces}])|[{spaces}]+"
    )
