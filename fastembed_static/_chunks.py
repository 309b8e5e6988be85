"""A vectorized warm path for tokenizing batches: whitespace chunks looked up in a numpy hash table.

BertPreTokenizer splits at whitespace and nothing joins across it, so a text's token ids are the concatenation of
the ids of its *chunks* (maximal runs of characters between ASCII separators such as space and newline). For a
batch, the texts are joined into one UTF-8 byte array; numpy finds every chunk, packs the bytes of each chunk of up
to ``KEY_CHARS`` bytes with its length into an exact 24-byte key (no hashing of the text: a key equal to an entry's
key is the same chunk), looks the keys up in a hash table of chunks already seen and gathers their ids. Chunks not
seen yet (and longer ones) go to the compiled tokenizer, whose result is exact; new chunks are added to the table.
Most numpy calls here work on whole arrays and release the GIL, so another thread can pool while this one
tokenizes.

Used only when the model's ASCII handling can be expressed this way (see :func:`ChunkCache.create`); truncation is
applied afterwards, as the compiled tokenizer does.

Exact by construction: every position a batch gathers from is looked up in the very table snapshot it gathers
from. A table grows by appending (positions found in it stay valid in every later table of the same *generation*);
when it is full the cache starts a new generation, and a batch that crossed one looks every chunk up again; any
chunk a table does not hold is tokenized directly. After ``fork``, the child gets a fresh lock for every cache.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from ._tokenizer import Tokenizer

IntArray = npt.NDArray[np.intp]
U64 = npt.NDArray[np.uint64]
KEY_CHARS = 23  # chunks of up to 23 bytes (UTF-8) are cached: 3 little-endian words, the length in the top byte
CACHE_LIMIT = 1 << 19  # chunks; the cache starts over (a new generation) when it is full
LONG_CACHE_LIMIT = 1 << 16  # longer chunks, in a dict
_M0, _M1, _M2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(0x165667B19E3779F9)
_SHIFT56 = np.uint64(56)
_ALL = 0xFFFFFFFFFFFFFFFF
# _WORD_MASKS[w][n]: the bytes of word w (characters 8w..8w+7) that a chunk of n characters covers
_WORD_MASKS = [
    np.array([_ALL if n >= 8 * w + 8 else (1 << (8 * max(0, n - 8 * w))) - 1 for n in range(257)], dtype=np.uint64)
    for w in range(3)
]
_WORD_MASKS[2] &= np.uint64(0x00FFFFFFFFFFFFFF)


class _Table(NamedTuple):
    """The cache, replaced whole (never mutated) so that readers in other threads see a consistent snapshot: an
    open-addressing hash table ``slots`` (entry index or -1, linear probing) over entries with exact keys."""

    slots: npt.NDArray[np.int32]
    k0: U64
    k1: U64
    k2: U64  # bytes 16..22 and the length in the top byte
    starts: npt.NDArray[np.intp]  # where the entry's ids start in ``ids``
    counts: npt.NDArray[np.intp]  # how many ids the entry has
    ids: IntArray
    generation: int  # tables of one generation extend each other: an entry keeps its index in later ones


def _empty_table(generation: int = 0, slots: int = 1 << 12) -> _Table:
    empty = np.empty(0, np.uint64)
    return _Table(
        np.full(slots, -1, np.int32),
        empty,
        empty,
        empty,
        np.empty(0, np.intp),
        np.empty(0, np.intp),
        np.empty(0, np.intp),
        generation,
    )


def _gather(source: IntArray, index: IntArray) -> IntArray:
    """``source[index]`` with out-of-range positions (-1: not in the table) clipped, to be overwritten by the
    caller; zeros when ``source`` is empty (a fresh table, or one whose chunks all have no tokens)."""
    if len(source) == 0:
        return np.zeros(len(index), dtype=np.intp)
    return source.take(index, mode="clip")


def _hash(k0: U64, k1: U64, k2: U64, mask: int) -> IntArray:
    """Home slot of each key: multiplicative hashing, the top bits of the product (``mask + 1`` slots)."""
    mixed = k1 * _M1
    mixed ^= k0
    mixed ^= k2 * _M2
    mixed ^= mixed >> np.uint64(29)
    mixed *= _M0
    mixed >>= np.uint64(64 - (mask + 1).bit_length() + 1)
    home: IntArray = mixed.astype(np.intp)
    return home


def _place(slots: npt.NDArray[np.int32], home: IntArray, entries: IntArray) -> None:
    """Put ``entries`` into free ``slots`` (in place), each at its ``home`` slot or the next free one."""
    mask = len(slots) - 1
    while len(entries):
        free = slots[home] < 0
        _, first = np.unique(home[free], return_index=True)
        chosen = np.flatnonzero(free)[first]
        slots[home[chosen]] = entries[chosen]
        rest = np.ones(len(entries), dtype=np.bool_)
        rest[chosen] = False
        entries = entries[rest]
        home = (home[rest] + 1) & mask


class ChunkCache:
    """Batch tokenizer: exactly :meth:`Tokenizer.encode` for every text, faster on warm ASCII batches."""

    def __init__(self, tokenizer: Tokenizer, separators: str, truncate_to: int, truncate_left: bool) -> None:
        self.tokenizer = tokenizer
        self.separator_table = bytes(1 if chr(c) in separators else 0 for c in range(256))
        self.truncate_to = truncate_to
        self.truncate_left = truncate_left
        self.table = _empty_table()
        self.long_cache: dict[bytes, list[int]] = {}
        self.lock = threading.Lock()
        self.limit = CACHE_LIMIT  # chunks in the table before it starts over (tests lower it)
        self.resets = 0  # how many times it started over
        _LIVE.add(self)

    @classmethod
    def create(
        cls, tokenizer: Tokenizer, ascii_word_chars: str, ascii_punct_chars: str, ascii_delete: str, added: list[str]
    ) -> ChunkCache | None:
        """The cache for a tokenizer whose ASCII plan is ``word/punct/delete`` characters (everything else
        separates words), or None when chunks would not be independent (an added token spanning a separator)."""
        kept = set(ascii_word_chars) | set(ascii_punct_chars) | set(ascii_delete)
        separators = "".join(chr(c) for c in range(128) if chr(c) not in kept)
        if " " not in separators or any(ch in separators for token in added for ch in token):
            return None
        return cls(tokenizer, separators, tokenizer.truncate_to, tokenizer.truncate_left)

    def encode_batch(self, texts: Sequence[str]) -> tuple[IntArray, IntArray]:
        """(ids of all texts concatenated, token count of each text), exactly as the compiled tokenizer's
        ``encode`` gives for each text (``texts`` must all be ``str``)."""
        n = len(texts)
        if n == 0:
            return np.empty(0, np.intp), np.empty(0, np.intp)
        joined = " ".join(texts)
        try:
            raw = b" " + joined.encode("utf-8") + b"         "  # a separator first; room for the last 8-byte read
        except UnicodeEncodeError:  # a lone surrogate: the compiled core raises the error for its text
            ids: list[int] = []
            lengths: list[int] = []
            self.tokenizer.encode_batch(list(texts), ids, lengths)
            return np.asarray(ids, dtype=np.intp), np.asarray(lengths, dtype=np.intp)
        if len(raw) - 10 == len(joined):  # ASCII: characters are bytes
            sizes = np.fromiter(map(len, texts), dtype=np.intp, count=n)
        else:
            sizes = np.fromiter((len(t) if t.isascii() else len(t.encode("utf-8")) for t in texts), np.intp, n)
        encoded, counts = self._encode_bytes(raw, sizes)
        return self._truncate(encoded, counts) if self.truncate_to >= 0 else (encoded, counts)

    def encode_joined(self, raw: bytes, sizes: IntArray) -> tuple[IntArray, IntArray]:
        """As :meth:`encode_batch` for texts already joined and encoded (the process engine's workers): ``raw`` is
        a space, the UTF-8 texts joined by single spaces, then nine spaces; ``sizes`` their lengths in bytes."""
        if len(sizes) == 0:
            return np.empty(0, np.intp), np.empty(0, np.intp)
        encoded, counts = self._encode_bytes(raw, sizes)
        return self._truncate(encoded, counts) if self.truncate_to >= 0 else (encoded, counts)

    def _encode_bytes(self, raw: bytes, sizes: IntArray) -> tuple[IntArray, IntArray]:
        """Token ids of the UTF-8 texts of ``sizes`` bytes each, joined by single spaces in ``raw`` (which starts
        with a space and ends with nine). A UTF-8 continuation byte is never an ASCII separator, so chunks are
        whole characters, and a chunk's bytes identify it exactly."""
        n = len(sizes)
        size = len(raw) - 9
        sep = np.frombuffer(raw.translate(self.separator_table), dtype=np.bool_)
        # chunks: runs of non-separators; begin/end index ``raw`` (a separator at 0 and after the end)
        edges = np.flatnonzero(sep[1 : size + 1] != sep[:size]) + 1
        begin = edges[0::2]
        length = edges[1::2] - begin
        text_starts = np.empty(n + 1, dtype=np.intp)  # where each text starts in ``raw``
        text_starts[0] = 1
        np.cumsum(sizes + 1, out=text_starts[1:])
        text_starts[1:] += 1
        chunk_bounds = np.searchsorted(begin, text_starts)  # text t owns chunks chunk_bounds[t]:chunk_bounds[t+1]

        # the 8 bytes at each offset of ``raw``, as one little-endian word
        words: npt.NDArray[np.uint64] = np.ndarray(shape=(len(raw) - 7,), dtype="<u8", buffer=raw, strides=(1,))
        capped = np.minimum(length, 256 - 1)
        k0 = words[begin]
        k0 &= _WORD_MASKS[0][capped]
        k1 = words[np.minimum(begin + 8, len(words) - 1)]
        k1 &= _WORD_MASKS[1][capped]
        k2 = words[np.minimum(begin + 16, len(words) - 1)]
        k2 &= _WORD_MASKS[2][capped]
        k2 |= capped.astype(np.uint64) << _SHIFT56

        table = self.table  # ``found`` always indexes ``table``, the snapshot the ids are gathered from
        found = self._lookup(table, k0, k1, k2)
        missing = np.flatnonzero(found < 0)
        if len(missing):
            new = missing[length[missing] <= KEY_CHARS]
            if len(new):
                grown = self._add_missing(raw, begin, length, k0, k1, k2, new)
                if grown.generation == table.generation:  # an extension: positions found so far still hold
                    found[new] = self._lookup(grown, k0[new], k1[new], k2[new])
                else:  # the cache started over since the snapshot (here or in another thread): look all up again
                    found = self._lookup(grown, k0, k1, k2)
                table = grown
                missing = np.flatnonzero(found < 0)
        chunk_counts = _gather(table.counts, found)  # -1 (missing) is filled in below
        extra_ids: list[int] = []
        if len(missing):  # chunks longer than KEY_CHARS (or not in the table): a dict keyed by their bytes
            long_cache = self.long_cache
            extra_counts: list[int] = []
            for b, k in zip(begin[missing].tolist(), length[missing].tolist()):
                piece = raw[b : b + k]
                cached = long_cache.get(piece)
                if cached is None:
                    cached = self.tokenizer.encode(piece.decode())
                    if len(long_cache) >= LONG_CACHE_LIMIT:
                        long_cache.clear()
                    long_cache[piece] = cached
                extra_ids.extend(cached)
                extra_counts.append(len(cached))
            chunk_counts[missing] = extra_counts
        ends = np.cumsum(chunk_counts)
        total = int(ends[-1]) if len(ends) else 0
        # token k of the batch belongs to chunk c: its id is table.ids[starts[c] + k - (ends[c] - counts[c])]
        offsets = np.repeat(_gather(table.starts, found) - (ends - chunk_counts), chunk_counts)
        offsets += np.arange(total, dtype=np.intp)
        ids = _gather(table.ids, offsets)
        if len(missing):
            is_extra = np.zeros(len(found), dtype=np.bool_)
            is_extra[missing] = True
            ids[np.repeat(is_extra, chunk_counts)] = extra_ids
        cumulative = np.zeros(len(ends) + 1, np.intp)
        cumulative[1:] = ends
        bounds = cumulative.take(chunk_bounds)
        return ids, (bounds[1:] - bounds[:-1]).astype(np.intp)

    @staticmethod
    def _lookup(table: _Table, k0: U64, k1: U64, k2: U64) -> IntArray:
        """Entry index of each key, -1 where the table does not have it."""
        result = np.full(len(k0), -1, dtype=np.intp)
        if len(table.k0) == 0:
            return result
        slots = table.slots
        mask = len(slots) - 1
        home = _hash(k0, k1, k2, mask)
        entry = slots.take(home)
        occupied = entry >= 0
        hit = table.k0.take(entry, mode="wrap") == k0  # -1 (empty) wraps to the last entry; masked below
        hit &= table.k1.take(entry, mode="wrap") == k1
        hit &= table.k2.take(entry, mode="wrap") == k2
        hit &= occupied
        np.copyto(result, entry, where=hit)
        pending = np.flatnonzero(occupied & ~hit)  # a different chunk sits in the home slot: probe on
        home = home[pending]
        while len(pending):
            home = (home + 1) & mask
            entry = slots.take(home)
            occupied = entry >= 0
            hit = table.k0.take(entry, mode="wrap") == k0[pending]
            hit &= table.k1.take(entry, mode="wrap") == k1[pending]
            hit &= table.k2.take(entry, mode="wrap") == k2[pending]
            hit &= occupied
            result[pending[hit]] = entry[hit]
            again = occupied & ~hit
            pending = pending[again]
            home = home[again]
        return result

    def _add_missing(
        self, raw: bytes, begin: IntArray, length: IntArray, k0: U64, k1: U64, k2: U64, candidates: IntArray
    ) -> _Table:
        """Tokenize the distinct chunks ``candidates`` (of up to KEY_CHARS bytes) and publish a new table holding
        them too: the current one extended, or, when that would pass ``limit``, a new generation holding only
        them."""
        order = np.lexsort((k0[candidates], k1[candidates], k2[candidates]))
        sorted_c = candidates[order]
        distinct = np.ones(len(sorted_c), dtype=np.bool_)
        distinct[1:] = (
            (k0[sorted_c[1:]] != k0[sorted_c[:-1]])
            | (k1[sorted_c[1:]] != k1[sorted_c[:-1]])
            | (k2[sorted_c[1:]] != k2[sorted_c[:-1]])
        )
        new = sorted_c[distinct]
        pieces = [raw[b : b + k].decode() for b, k in zip(begin[new].tolist(), length[new].tolist())]
        new_ids: list[int] = []
        new_counts: list[int] = []
        self.tokenizer.encode_batch(pieces, new_ids, new_counts)
        with self.lock:
            table = self.table
            if len(table.k0) + len(new) > self.limit:
                table = _empty_table(table.generation + 1)
                self.resets += 1
            if len(table.k0):  # another thread may have added some of them meanwhile
                fresh = self._lookup(table, k0[new], k1[new], k2[new]) < 0
            else:
                fresh = np.ones(len(new), dtype=np.bool_)
            counts = np.asarray(new_counts, dtype=np.intp)
            starts = np.cumsum(counts) - counts + len(table.ids)
            size = len(table.k0) + int(fresh.sum())
            slots_count = len(table.slots)
            while slots_count < 4 * size:
                slots_count *= 2
            merged = _Table(
                table.slots.copy() if slots_count == len(table.slots) else np.full(slots_count, -1, np.int32),
                np.concatenate((table.k0, k0[new][fresh])),
                np.concatenate((table.k1, k1[new][fresh])),
                np.concatenate((table.k2, k2[new][fresh])),
                np.concatenate((table.starts, starts[fresh])),
                np.concatenate((table.counts, counts[fresh])),
                np.concatenate((table.ids, np.asarray(new_ids, dtype=np.intp))),
                table.generation,
            )
            first = len(table.k0) if slots_count == len(table.slots) else 0
            entries = np.arange(first, size)
            _place(
                merged.slots, _hash(merged.k0[first:], merged.k1[first:], merged.k2[first:], slots_count - 1), entries
            )
            self.table = merged
            return merged

    def _truncate(self, ids: IntArray, lengths: IntArray) -> tuple[IntArray, IntArray]:
        limit = self.truncate_to
        if not (lengths > limit).any():
            return ids, lengths
        starts = np.cumsum(lengths) - lengths
        position = np.arange(len(ids)) - np.repeat(starts, lengths)  # each token's index within its text
        keep = position >= np.repeat(lengths - limit, lengths) if self.truncate_left else position < limit
        return ids[keep], np.minimum(lengths, limit)


_LIVE: weakref.WeakSet[ChunkCache] = weakref.WeakSet()  # every cache alive in this process


def _after_fork_in_child() -> None:
    """A forked child has only the forking thread: a lock another thread held at the fork would never be
    released, so every cache gets a new one (its table, replaced whole, is a consistent snapshot)."""
    for cache in list(_LIVE):
        cache.lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # not on Windows (no fork there)
    os.register_at_fork(after_in_child=_after_fork_in_child)
