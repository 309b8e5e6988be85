"""The fast BPE tokenizer core (byte-level BPE: GPT-2, RoBERTa and their distillations), compiled to native code
with mypyc like :mod:`fastembed_static._tokenizer` (plain Python where no C compiler was available). Token ids are
identical to Hugging Face ``tokenizers`` with ``add_special_tokens=False``; :mod:`fastembed_static._reference_bpe`
is the short, slow, readable version that the tests compare against.

Per text: added tokens are cut out of the raw text (shared code: :class:`fastembed_static._tokenizer.AddedTokens`),
each piece between them is normalized (``NFC`` / ``Lowercase``, in the configured order), gets a leading space if
``add_prefix_space``, and is split by the ByteLevel regex into pre-tokens. Each distinct pre-token is mapped to
GPT-2's byte characters and merged once (by rank, lowest first, leftmost among equal ranks, as ``tokenizers``'
heap does), then served from a per-tokenizer cache.

Merges are a dict from the id pair ``(left << 32) | right`` to ``(rank << 32) | new_id``; the merge loop keeps
its heap entries as ``(rank << 32) | position`` ints, so it compares machine integers, not tuples.
"""

from __future__ import annotations

import heapq
import re
import unicodedata
from typing import Final

from ._tokenizer import AddedTokens, BadTextError, truncate

_SURROGATE: Final = re.compile("[" + chr(0xD800) + "-" + chr(0xDFFF) + "]")  # mypyc rejects surrogate literals
CACHE_LIMIT: Final = 1 << 18
_LOW: Final = (1 << 32) - 1


class BpeTokenizer:
    """Text -> token ids for one ``BPE`` model with a ``ByteLevel`` (or no) pre-tokenizer."""

    def __init__(
        self,
        tokens: list[str],
        merges: list[int],
        unk_id: int,
        fuse_unk: bool,
        byte_fallback: bool,
        prefix: str,
        suffix: str,
        ignore_merges: bool,
        normalizers: list[str],
        lowercase: dict[int, str],
        byte_chars: str,
        split_pattern: str,
        ascii_split_pattern: str,
        add_prefix_space: bool,
        added_tokens: list[tuple[str, int]],
        truncate_to: int,
        truncate_left: bool,
    ) -> None:
        """``merges``: flat ``[left_id, right_id, ...]`` by rank; ``unk_id`` -1 for none; ``prefix`` / ``suffix``
        the continuing-subword prefix / end-of-word suffix ("" for none); ``normalizers`` "NFC" / "Lowercase"
        steps in order (``lowercase`` the per-character map); ``byte_chars`` the 256 characters bytes stand for
        ("" when the pre-tokenizer is not ByteLevel); ``split_pattern`` "" for no regex split, ``ascii_split_pattern``
        the same split for ASCII text only."""
        vocab: dict[str, int] = {}
        for i in range(len(tokens)):
            vocab[tokens[i]] = i
        self.vocab = vocab
        self.merges: dict[int, int] = {}
        strip = len(prefix)
        for rank in range(len(merges) // 2):
            left = merges[2 * rank]
            right = merges[2 * rank + 1]
            new_id = vocab[tokens[left] + tokens[right][strip:]]
            self.merges[(left << 32) | right] = (rank << 32) | new_id  # a repeated pair keeps its last rank
        self.unk_id = unk_id
        self.fuse_unk = fuse_unk
        self.byte_fallback = byte_fallback
        self.byte_tokens: list[str] = [f"<0x{b:02X}>" for b in range(256)]
        self.prefix = prefix
        self.suffix = suffix
        self.ignore_merges = ignore_merges
        self.normalizers = normalizers
        self.lowercase = lowercase
        self.byte_level = bool(byte_chars)
        self.byte_table: dict[int, str] = {b: byte_chars[b] for b in range(len(byte_chars))}
        self.split_re: re.Pattern[str] | None = re.compile(split_pattern) if split_pattern else None
        self.ascii_split_re: re.Pattern[str] | None = re.compile(ascii_split_pattern) if split_pattern else None
        self.add_prefix_space = add_prefix_space
        self.added = AddedTokens(added_tokens)
        self.truncate_to = truncate_to
        self.truncate_left = truncate_left
        self.cache: dict[str, list[int]] = {}

    def encode(self, text: str) -> list[int]:
        """Token ids of one text."""
        if not text.isascii():
            bad = _SURROGATE.search(text)
            if bad is not None:
                raise BadTextError(f"lone surrogate U+{ord(bad.group()):04X} at character {bad.start()}")
        ids: list[int] = []
        added = self.added
        if added.may_hold(text):
            parts = added.split(text)
            for i in range(len(parts)):
                if i % 2:
                    ids.append(added.ids[parts[i]])
                elif parts[i]:
                    self._encode_plain(parts[i], ids)
        else:
            self._encode_plain(text, ids)
        return truncate(ids, self.truncate_to, self.truncate_left)

    def encode_batch(self, texts: list[str], ids: list[int], lengths: list[int]) -> None:
        """Append the ids of every text to ``ids`` and each text's token count to ``lengths``."""
        for text in texts:
            before = len(ids)
            ids.extend(self.encode(text))
            lengths.append(len(ids) - before)

    def _encode_plain(self, text: str, ids: list[int]) -> None:
        for step in self.normalizers:
            if step == "Lowercase":
                text = text.translate(self.lowercase)
            elif not text.isascii():  # NFC leaves ASCII text as it is
                text = unicodedata.normalize("NFC", text)
        if not text:
            return
        if self.add_prefix_space and text[0] != " ":
            text = " " + text
        split_re = self.ascii_split_re if text.isascii() else self.split_re
        pieces: list[str] = split_re.findall(text) if split_re is not None else [text]
        cache = self.cache
        for piece in pieces:
            cached = cache.get(piece)
            if cached is None:
                cached = self.pretoken(piece)
                if len(cache) >= CACHE_LIMIT:
                    cache.clear()
                cache[piece] = cached
            ids.extend(cached)

    def pretoken(self, piece: str) -> list[int]:
        """Token ids of one pre-token (before the byte mapping)."""
        word = piece.encode("utf-8").decode("latin-1").translate(self.byte_table) if self.byte_level else piece
        if self.ignore_merges:
            whole = self.vocab.get(word, -1)
            if whole >= 0:
                return [whole]
        return self.merge(self.symbols(word))

    def symbols(self, word: str) -> list[int]:
        """The ids of ``word``'s characters (prefix / suffix added, unknowns by byte fallback or ``unk_id``)."""
        vocab = self.vocab
        prefix = self.prefix
        suffix = self.suffix
        last = len(word) - 1
        result: list[int] = []
        unk_pending = False
        for i in range(len(word)):
            s = word[i]
            if i > 0 and prefix:
                s = prefix + s
            if i == last and suffix:
                s = s + suffix
            found = vocab.get(s, -1)
            if found >= 0:
                if unk_pending:
                    result.append(self.unk_id)
                    unk_pending = False
                result.append(found)
                continue
            if self.byte_fallback:
                fallback: list[int] = []
                for b in s.encode("utf-8"):
                    byte_id = vocab.get(self.byte_tokens[b], -1)
                    if byte_id < 0:
                        break
                    fallback.append(byte_id)
                else:
                    result.extend(fallback)  # as tokenizers does: a pending unknown is not flushed here
                    continue
            if self.unk_id >= 0:
                if unk_pending and not self.fuse_unk:
                    result.append(self.unk_id)
                unk_pending = True
        if unk_pending:
            result.append(self.unk_id)
        return result

    def merge(self, symbols: list[int]) -> list[int]:
        """Apply the merges to ``symbols``: lowest rank first, the leftmost one among equal ranks."""
        count = len(symbols)
        if count < 2:
            return symbols
        merges = self.merges
        following: list[int] = [i + 1 for i in range(count)]
        following[count - 1] = -1
        preceding: list[int] = [i - 1 for i in range(count)]
        heap: list[int] = []
        for i in range(count - 1):
            found = merges.get((symbols[i] << 32) | symbols[i + 1], -1)
            if found >= 0:
                heap.append(((found >> 32) << 32) | i)
        if not heap:
            return symbols
        heapq.heapify(heap)
        while heap:
            top = heapq.heappop(heap)
            pos = top & _LOW
            right = following[pos]
            if symbols[pos] < 0 or right < 0:
                continue
            found = merges.get((symbols[pos] << 32) | symbols[right], -1)
            if found < 0 or found >> 32 != top >> 32:
                continue  # stale: one side was merged since
            symbols[pos] = found & _LOW
            symbols[right] = -1
            after = following[right]
            following[pos] = after
            if after >= 0:
                preceding[after] = pos
                found = merges.get((symbols[pos] << 32) | symbols[after], -1)
                if found >= 0:
                    heapq.heappush(heap, ((found >> 32) << 32) | pos)
            before = preceding[pos]
            if before >= 0:
                found = merges.get((symbols[before] << 32) | symbols[pos], -1)
                if found >= 0:
                    heapq.heappush(heap, ((found >> 32) << 32) | before)
        return [s for s in symbols if s >= 0]
