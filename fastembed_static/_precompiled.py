"""SentencePiece's ``Precompiled`` normalizer (the ``precompiled_charsmap`` of XLM-R, mBART, T5, ALBERT ... in a
``tokenizer.json``), as HF ``tokenizers`` 0.23 applies it (its ``spm_precompiled`` crate).

The charsmap is a blob: a little-endian u32 byte size of a darts-clone double-array trie, the trie's u32 units,
then NUL-terminated UTF-8 replacement strings that the trie's leaves point into. ``tokenizers`` cuts the text into
extended grapheme clusters; a cluster shorter than 6 UTF-8 bytes is looked up whole, and if any of its prefixes is a
key, the whole cluster becomes the replacement of the SHORTEST such prefix (the rest of the cluster is dropped);
otherwise each character is looked up alone and replaced, or kept.

:func:`parse` and :func:`common_prefix_search` follow the blob literally (the reference uses them);
:func:`mapping` walks the trie once into a ``{key: replacement}`` dict, which the generator stores and the fast
runtime uses: single-character keys as a ``str.translate`` table, and the exact cluster path only for text in
which a character that starts some key is followed by a character that can extend its cluster.
"""

from __future__ import annotations

import operator
import re
import struct

from . import _grapheme_tables
from . import _graphemes as g

CACHE_LIMIT = 1 << 16
MAX_WHOLE_CLUSTER_BYTES = 6  # clusters shorter than this (in UTF-8 bytes) are looked up whole


class CharsmapError(ValueError):
    """A precompiled_charsmap blob that is not a valid trie + strings."""


def parse(blob: bytes) -> tuple[list[int], bytes]:
    """(trie units, replacement strings blob) of a precompiled charsmap."""
    if len(blob) < 4:
        raise CharsmapError("shorter than its 4-byte header")
    (size,) = struct.unpack_from("<I", blob)
    if size % 4 or size == 0 or 4 + size > len(blob):
        raise CharsmapError(f"trie size {size} does not fit the {len(blob)}-byte blob")
    units = list(struct.unpack_from(f"<{size // 4}I", blob, 4))
    return units, blob[4 + size :]


def _offset(unit: int) -> int:
    return (unit >> 10) << ((unit & (1 << 9)) >> 6)


def _label(unit: int) -> int:
    return unit & ((1 << 31) | 0xFF)


def _has_leaf(unit: int) -> bool:
    return bool((unit >> 8) & 1)


def _value(unit: int) -> int:
    return unit & ((1 << 31) - 1)


def common_prefix_search(units: list[int], key: bytes) -> list[int]:
    """Values of every trie key that is a prefix of ``key``, shortest first (darts-clone; stops at a NUL byte)."""
    results: list[int] = []
    node = _offset(units[0])
    for byte in key:
        if byte == 0:
            break
        node ^= byte
        if node >= len(units) or _label(units[node]) != byte:
            return results
        unit = units[node]
        node ^= _offset(unit)
        if node >= len(units):
            return results
        if _has_leaf(unit):
            results.append(_value(units[node]))
    return results


def replacement(strings: bytes, value: int) -> str:
    end = strings.find(b"\0", value)
    return strings[value : len(strings) if end < 0 else end].decode("utf-8")


def mapping(blob: bytes) -> dict[str, str]:
    """Every key of the charsmap with its replacement (keys and replacements must be valid UTF-8).

    The search goes from a node to index base XOR b and accepts it if that unit's label is b; so a unit with
    label b in 1..255 at index c is a child of every node whose base (index XOR offset) is c XOR b (found for all
    units at once with numpy instead of trying 255 bytes at every node)."""
    import numpy as np

    units, strings = parse(blob)
    array = np.array(units, dtype=np.uint64)
    labels = array & 0x800000FF
    index = np.arange(len(units), dtype=np.uint64)
    offsets = (array >> 10) << ((array & (1 << 9)) >> 6)
    is_child = (labels >= 1) & (labels <= 255)
    children = np.flatnonzero(is_child)
    nodes = np.concatenate(([0], children))
    bases = (index[nodes] ^ offsets[nodes]).tolist()
    base_to_nodes: dict[int, list[int]] = {}
    for node_index, base in zip(nodes.tolist(), bases, strict=True):
        base_to_nodes.setdefault(base, []).append(node_index)
    kids: dict[int, list[int]] = {}
    for child, parent_base in zip(children.tolist(), (index[children] ^ labels[children]).tolist(), strict=True):
        for parent in base_to_nodes.get(parent_base, ()):
            kids.setdefault(parent, []).append(child)
    out: dict[str, str] = {}
    stack: list[tuple[int, bytes]] = [(0, b"")]
    n = len(units)
    while stack:
        node, prefix = stack.pop()
        for child in kids.get(node, ()):
            key = prefix + bytes((units[child] & 0xFF,))
            if len(key) > 64:
                raise CharsmapError("a trie key is longer than 64 bytes (a cycle?)")
            below = child ^ _offset(units[child])
            if below >= n:
                raise CharsmapError(f"trie unit {child} points outside the trie")
            if _has_leaf(units[child]):
                try:
                    out[key.decode("utf-8")] = replacement(strings, _value(units[below]))
                except UnicodeDecodeError as e:
                    raise CharsmapError(f"key or replacement of {key!r} is not UTF-8: {e}") from None
            stack.append((child, key))
    return out


class Charsmap:
    """The fast form of one charsmap: ``normalize(text)`` equals tokenizers' Precompiled normalizer."""

    def __init__(self, keys: dict[str, str]) -> None:
        self.keys = keys
        self.table: dict[int, str] = {ord(k): v for k, v in keys.items() if len(k) == 1}
        singles = "".join([chr(c) for c in self.table])
        singles_class = _one_of(singles)
        self.single_re = re.compile(singles_class)  # text translate changes
        starts = sorted({k[0] for k in keys})
        # A cluster of several characters, shorter than 6 bytes, that starts with a key's first character: only
        # then can whole-cluster lookup differ from character-by-character lookup.
        followers = "".join(
            chr(cp)
            for start, end, code in zip(
                _grapheme_tables.STARTS, _grapheme_tables.ENDS, _grapheme_tables.CODES, strict=True
            )
            if code & 15 in (g.EXTEND, g.ZWJ, g.SPACING_MARK, g.L, g.V, g.T, g.LV, g.LVT, g.RI, g.LF)
            for cp in range(start, end + 1)
        )
        anything = "".join(c for c in starts if g.code(ord(c)) & 15 in (g.PREPEND, g.CR))
        starts_text = "".join(starts)
        # Cheap first test: most text has no character that can extend a cluster at all.
        self.follower_re = re.compile(_one_of(followers + anything))
        followers_class = _one_of(followers)
        parts = [_one_of(starts_text) + followers_class]
        if anything:
            parts.append(_one_of(anything) + ".")
        self.cluster_re = re.compile("|".join(parts), re.DOTALL) if starts else None
        # A space is a cluster of its own unless a Prepend character comes before it or a joiner after it: text cut
        # there normalizes piece by piece, and each distinct piece that needs the cluster path is done once.
        prepend = "".join(
            chr(cp)
            for start, end, code in zip(
                _grapheme_tables.STARTS, _grapheme_tables.ENDS, _grapheme_tables.CODES, strict=True
            )
            if code & 15 == g.PREPEND
            for cp in range(start, end + 1)
        )
        self.space_re = re.compile(f"(?<!{_one_of(prepend)})( )(?!{followers_class})")
        # Sharper, still conservative: a cluster's whole lookup differs from character-by-character only when its
        # first character is a one-character key (then the rest of the cluster is dropped) or its first two
        # characters begin a longer key. Text where no one-character key is followed by a character that can
        # extend its cluster, and no two adjacent characters begin a longer key, is translated directly.
        parts = [singles_class + f"(?={followers_class})"]
        singles_anything = "".join(c for c in singles if g.code(ord(c)) & 15 in (g.PREPEND, g.CR))
        if singles_anything:
            parts.append(_one_of(singles_anything) + "(?=.)")
        self.single_cluster_re = re.compile("|".join(parts), re.DOTALL)
        # The first two characters of every key (one-character keys too: harmless, only more conservative), sliced
        # in C: a Python loop over the 224,711 keys of an XLM-R charsmap costs tens of milliseconds of load.
        self.pairs: set[str] = set(map(operator.itemgetter(slice(0, 2)), keys))
        firsts = "".join({k[0] for k in self.pairs if len(k) == 2})
        seconds = "".join({k[1] for k in self.pairs if len(k) == 2})
        self.pair_re = re.compile(f"{_one_of(firsts)}(?={_one_of(seconds)})") if firsts else None
        self.cache: dict[str, str] = {}

    def _needs_clusters(self, text: str) -> bool:
        """Whether some cluster of ``text`` may normalize otherwise than its characters one by one."""
        if self.single_cluster_re.search(text) is not None:
            return True
        pair_re = self.pair_re
        if pair_re is not None:
            pairs = self.pairs
            for match in pair_re.finditer(text):
                at = match.start()
                if text[at : at + 2] in pairs:
                    return True
        return False

    def normalize(self, text: str) -> str:
        cluster_re = self.cluster_re
        if (
            cluster_re is None
            or self.follower_re.search(text) is None
            or cluster_re.search(text) is None
            or not self._needs_clusters(text)
        ):
            return text if self.single_re.search(text) is None else text.translate(self.table)
        out: list[str] = []
        cache = self.cache
        for piece in self.space_re.split(text):
            done = cache.get(piece)
            if done is None:
                if cluster_re.search(piece) is None or not self._needs_clusters(piece):
                    done = piece.translate(self.table)
                else:
                    done = normalize_clusters(piece, self.keys)
                if len(cache) >= CACHE_LIMIT:
                    cache.clear()
                cache[piece] = done
            out.append(done)
        return "".join(out)


def normalize_clusters(text: str, keys: dict[str, str]) -> str:
    """The exact cluster-by-cluster normalization (see the module docstring)."""
    out: list[str] = []
    for cluster in g.clusters(text):
        if len(cluster) == 1:
            out.append(keys.get(cluster, cluster))
            continue
        if len(cluster.encode("utf-8")) < MAX_WHOLE_CLUSTER_BYTES:
            found = None
            for end in range(1, len(cluster) + 1):
                found = keys.get(cluster[:end])
                if found is not None:
                    break
            if found is not None:
                out.append(found)
                continue
        for ch in cluster:
            out.append(keys.get(ch, ch))
    return "".join(out)


def _one_of(chars: str) -> str:
    """A regex for one character of ``chars``, or of any character outside the BMP when ``chars`` has one there
    (a superset: every use here is a conservative test). Python's re matches a class of BMP characters through a
    bitmap, ~50 times faster than a class that also lists supplementary ranges."""
    bmp = "".join(c for c in chars if ord(c) < 0x10000)
    astral = "[\U00010000-\U0010ffff]" if len(bmp) < len(chars) else ""
    if bmp and astral:
        return f"(?:[{_char_class(bmp)}]|{astral})"
    return f"[{_char_class(bmp)}]" if bmp else astral or "(?!)"


def _char_class(chars: str) -> str:
    """A regex character class body for ``chars``, as ranges (re matches a short range list much faster than
    thousands of single characters)."""
    cps = sorted({ord(c) for c in chars})
    out: list[str] = []
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        out.append(re.escape(chr(cps[i])) if i == j else f"{re.escape(chr(cps[i]))}-{re.escape(chr(cps[j]))}")
        i = j + 1
    return "".join(out)
