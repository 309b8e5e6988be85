"""The fast BPE tokenizer core, compiled to native code with mypyc like :mod:`fastembed_static._tokenizer` (plain
Python where no C compiler was available): byte-level BPE (GPT-2, RoBERTa and their distillations) and
SentencePiece-style BPE (Llama, Mistral, TinyLlama: ``▁`` for spaces, ``<0xNN>`` byte fallback). Token ids are
identical to Hugging Face ``tokenizers`` with ``add_special_tokens=False``; :mod:`fastembed_static._reference_bpe`
is the short, slow, readable version that the tests compare against.

Per text, as tokenizers: added tokens matched in the raw text (``normalized`` false; shared code:
:class:`fastembed_static._tokenizer.AddedTokens`, with ``lstrip`` / ``rstrip``) are cut out first; each piece between them is normalized (``NFC``
/ ``NFKD`` / ``Lowercase`` ... by name here, through :mod:`fastembed_static._unicode_forms`, or the runtime's
normalizer function for ``Prepend`` / ``Replace``), the added tokens matched
in the normalized text (``normalized`` true, as their normalized content) are cut out of it, and each remaining
piece is pre-tokenized: ByteLevel (a leading space if ``add_prefix_space``, the ByteLevel regex, bytes written as
GPT-2's characters), Metaspace (spaces written as the replacement, which is prepended if the scheme says so:
``first`` only to the piece at the start of the text; split before each replacement if ``split``) or none. Each
distinct pre-token is merged once (by rank, lowest first, leftmost among equal ranks, as ``tokenizers``' heap
does), then served from a per-tokenizer cache.

A piece that tokenizers merges whole (Metaspace without split, or no pre-tokenizer) is cut here into words before
each replacement character that follows another character, when no merge can join across such a cut (checked on
the merges when the tokenizer is built: no merge's right token starts with the character unless its left token
ends with it), which gives the same merges a piece at a time and lets the cache serve words.

Merges are a dict from the id pair ``(left << 32) | right`` to ``(rank << 32) | new_id``; the merge loop keeps
its heap entries as ``(rank << 32) | position`` ints, so it compares machine integers, not tuples.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable
from typing import Final

from ._tokenizer import AddedTokens, BadTextError, truncate
from ._unicode_forms import normalize as normalize_step

_SURROGATE: Final = re.compile("[" + chr(0xD800) + "-" + chr(0xDFFF) + "]")  # mypyc rejects surrogate literals
CACHE_LIMIT: Final = 1 << 18
_LOW: Final = (1 << 32) - 1


class BpeTokenizer:
    """Text -> token ids for one ``BPE`` model with a ``ByteLevel``, ``Metaspace`` or no pre-tokenizer."""

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
        normalize: Callable[[str], str] | None,
        byte_chars: str,
        split_pattern: str,
        ascii_split_pattern: str,
        add_prefix_space: bool,
        metaspace: str,
        prepend_scheme: str,
        metaspace_split: bool,
        word_boundary: str,
        added_tokens: list[tuple[str, int]],
        normalized_added_tokens: list[tuple[str, int]],
        truncate_to: int,
        truncate_left: bool,
        lstrip: tuple[str, ...] = (),
        rstrip: tuple[str, ...] = (),
        normalized_lstrip: tuple[str, ...] = (),
        normalized_rstrip: tuple[str, ...] = (),
    ) -> None:
        """``merges``: flat ``[left_id, right_id, ...]`` by rank; ``unk_id`` -1 for none; ``prefix`` / ``suffix``
        the continuing-subword prefix / end-of-word suffix ("" for none); ``normalizers`` named steps ("NFC",
        "NFKD", "StripAccents", "Lowercase", "Nmt" ...) in order (``lowercase`` the per-character map), or ``normalize`` (not None) the whole normalizer;
        ``byte_chars`` the 256 characters bytes stand for ("" when the pre-tokenizer is not ByteLevel);
        ``split_pattern`` "" for no regex split, ``ascii_split_pattern`` the same split for ASCII text only;
        ``metaspace`` the Metaspace replacement ("" when the pre-tokenizer is not Metaspace) with its
        ``prepend_scheme`` ("first", "always", "never") and ``metaspace_split``; ``word_boundary`` the character
        before which a piece merged whole may be cut into words ("" for none; used only if the merges allow it);
        ``added_tokens`` matched in the raw text, ``normalized_added_tokens`` (normalized content, id) in the
        normalized text; ``lstrip`` / ``rstrip`` (``normalized_lstrip`` / ``normalized_rstrip``: by normalized
        content) the added tokens that take the whitespace before / after them."""
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
        self.byte_ids: list[int] = [vocab.get(f"<0x{b:02X}>", -1) for b in range(256)]
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
        self.normalize = normalize
        self.metaspace = metaspace
        self.prepend_always = bool(metaspace) and prepend_scheme == "always"
        self.prepend_first = bool(metaspace) and prepend_scheme == "first"
        escaped = re.escape(metaspace)
        # tokenizers' split with MergedWithNext: every replacement character starts a new piece
        self.metaspace_re: re.Pattern[str] | None = (
            re.compile(f"[^{escaped}]+|{escaped}[^{escaped}]*") if metaspace and metaspace_split else None
        )
        self.words_re: re.Pattern[str] | None = None
        unk = tokens[unk_id] if unk_id >= 0 else ""
        if word_boundary and self._may_cut_before(word_boundary, tokens, merges, unk, prefix, suffix, ignore_merges):
            mark = re.escape(word_boundary)
            self.words_re = re.compile(f"{mark}*[^{mark}]+|{mark}+")
        self.added = AddedTokens(added_tokens, lstrip, rstrip)
        self.normalized_added = AddedTokens(normalized_added_tokens, normalized_lstrip, normalized_rstrip)
        # Their first characters say little in SentencePiece-style text ("▁<s>" starts like every word): the
        # contents themselves are looked for instead, when there are a few.
        self.normalized_contents: list[str] = [t[0] for t in normalized_added_tokens]
        self.few_normalized = len(normalized_added_tokens) <= 8
        self.truncate_to = truncate_to
        self.truncate_left = truncate_left
        self.cache: dict[str, list[int]] = {}

    @staticmethod
    def _may_cut_before(
        mark: str, tokens: list[str], merges: list[int], unk: str, prefix: str, suffix: str, ignore_merges: bool
    ) -> bool:
        """Whether cutting a word before each ``mark`` that follows another character gives the same merges:
        ``mark`` is a token (never unknown, never bytes), every character is its own symbol (no prefix / suffix,
        no whole-word lookup), and no merge joins a left token not ending with ``mark`` to a right token starting
        with it (the only merges that could join across such a cut: the symbol left of the cut ends with the
        character before it, a byte token or the unknown token, none of which ends with ``mark``)."""
        if prefix or suffix or ignore_merges or mark not in tokens or unk.endswith(mark):
            return False
        for rank in range(len(merges) // 2):
            left = tokens[merges[2 * rank]]
            right = tokens[merges[2 * rank + 1]]
            if right.startswith(mark) and not left.endswith(mark):
                return False
        return True

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
                    self._encode_plain(parts[i], i == 0, ids)
        else:
            self._encode_plain(text, True, ids)
        return truncate(ids, self.truncate_to, self.truncate_left)

    def encode_batch(self, texts: list[str], ids: list[int], lengths: list[int]) -> None:
        """Append the ids of every text to ``ids`` and each text's token count to ``lengths``."""
        for text in texts:
            before = len(ids)
            ids.extend(self.encode(text))
            lengths.append(len(ids) - before)

    def _encode_plain(self, text: str, first: bool, ids: list[int]) -> None:
        """``text``: a piece of the raw text between added tokens (``first``: at its start)."""
        normalize = self.normalize
        if normalize is not None:
            text = normalize(text)
        else:
            for step in self.normalizers:
                if step == "Lowercase":
                    text = text.lower() if text.isascii() else text.translate(self.lowercase)
                elif not text.isascii() or step == "Nmt":  # the other named steps leave ASCII text as it is (Nmt aside)
                    text = normalize_step(step, text)
        if not text:
            return
        added = self.normalized_added
        if self.few_normalized:
            holds = False
            for content in self.normalized_contents:
                if content in text:
                    holds = True
                    break
        else:
            holds = added.may_hold(text)
        if holds:
            parts = added.split(text)
            for i in range(len(parts)):
                if i % 2:
                    ids.append(added.ids[parts[i]])
                elif parts[i]:
                    self._pre_tokenized(parts[i], first and i == 0, ids)
        else:
            self._pre_tokenized(text, first, ids)

    def _pre_tokenized(self, text: str, first: bool, ids: list[int]) -> None:
        """Pre-tokenize one normalized piece (``first``: at the start of the text) and append its ids."""
        pieces: list[str]
        metaspace = self.metaspace
        if metaspace:
            if " " in text:
                text = text.replace(" ", metaspace)
            if (self.prepend_always or (first and self.prepend_first)) and not text.startswith(metaspace):
                text = metaspace + text
            metaspace_re = self.metaspace_re
            words_re = self.words_re
            if metaspace_re is not None:
                pieces = metaspace_re.findall(text)
            elif words_re is not None:
                pieces = words_re.findall(text)
            else:
                pieces = [text]
        elif self.byte_level:
            if self.add_prefix_space and text[0] != " ":
                text = " " + text
            split_re = self.ascii_split_re if text.isascii() else self.split_re
            pieces = split_re.findall(text) if split_re is not None else [text]
        else:
            words_re = self.words_re
            pieces = words_re.findall(text) if words_re is not None else [text]
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
                byte_ids = self.byte_ids
                for b in s.encode("utf-8"):
                    byte_id = byte_ids[b]
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
