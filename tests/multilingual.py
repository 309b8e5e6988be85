"""The multilingual test text: real translations from Debian's gettext catalogs, 34 languages (issue 22).

``tests/data/multilingual.jsonl.xz`` is made by ``gen/make_multilingual.py``; what it holds and where it comes from is
in ``tests/data/PROVENANCE.md`` and, catalog by catalog, ``tests/data/multilingual.sources.json``.
"""

from __future__ import annotations

import functools
import json
import lzma
from pathlib import Path

MULTILINGUAL = Path(__file__).resolve().parent / "data" / "multilingual.jsonl.xz"


@functools.lru_cache(maxsize=1)
def _rows() -> tuple[tuple[str, str, str], ...]:
    with lzma.open(MULTILINGUAL, "rt", encoding="utf-8") as f:
        return tuple((row["lang"], row["domain"], row["text"]) for row in map(json.loads, f))


def load_multilingual() -> dict[str, list[str]]:
    """Language code (the locale folder's name: ``fr``, ``zh_TW``, ``bn_IN``...) -> its texts, in the file's order.

    A fresh dict of fresh lists on every call (callers may change them).
    """
    texts: dict[str, list[str]] = {}
    for lang, _domain, text in _rows():
        texts.setdefault(lang, []).append(text)
    return texts


def multilingual_texts() -> list[str]:
    """Every text of every language, in the file's order (languages one after the other)."""
    return [text for _lang, _domain, text in _rows()]
