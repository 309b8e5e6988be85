"""The fast Unigram (SentencePiece) tokenizer core, compiled with mypyc like :mod:`fastembed_static._tokenizer`
(plain Python where no C compiler was available). Token ids are identical to HF ``tokenizers`` with
``add_special_tokens=False``; :mod:`fastembed_static._reference_unigram` is the short, slow reference.

The normalizer is a callable built by the runtime (``_precompiled.Charsmap`` and the other steps); this core splits
out added tokens, pre-tokenizes (WhitespaceSplit, Metaspace) and runs Viterbi over each distinct pre-token once,
then serves it from a per-tokenizer cache.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from fastembed_static._tokenizer import BadTextError  # absolute: tests load this file alone as the pure twin

_SURROGATE: Final = re.compile("[" + chr(0xD800) + "-" + chr(0xDFFF) + "]")
WHITE_SPACE: Final = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join([chr(c) for c in range(0x2000, 0x200B)])
    + "\u2028\u2029\u202f\u205f\u3000"
)
CACHE_LIMIT: Final = 1 << 18
UNK_PENALTY: Final = 10.0


class UnigramTokenizer:
    """Text -> token ids for one normalizer + [WhitespaceSplit] + Metaspace + Unigram configuration."""

    def __init__(
        self,
        tokens: list[str],
        scores: list[float],
        unk_id: int,
        byte_fallback: bool,
        added_tokens: list[tuple[str, int, bool, bool]],
        normalize: Callable[[str], str],
        whitespace_split: bool,
        replacement: str,
        prepend: bool,
        split: bool,
        truncate_to: int,
        truncate_left: bool,
    ) -> None:
        self.vocab: dict[str, int] = {token: i for i, token in enumerate(tokens)}
        self.scores = scores
        # Every prefix of every token -> the token's id when the prefix is a token, else -1: one lookup per step
        # of the Viterbi inner loop both finds a token and says whether a longer one can follow.
        prefixes: dict[str, int] = {}
        for token in tokens:
            for end in range(1, len(token)):
                if token[:end] not in prefixes:
                    prefixes[token[:end]] = -1
        prefixes.update(self.vocab)
        self.prefixes = prefixes
        self.max_len = max([len(t) for t in tokens] + [1])
        self.unk_id = unk_id
        self.unk_score = min(scores) - UNK_PENALTY
        self.byte_ids: list[int] = []
        if byte_fallback:
            for b in range(256):
                self.byte_ids.append(self.vocab.get(f"<0x{b:02X}>", -1))
        self.normalize = normalize
        self.whitespace_re: re.Pattern[str] | None = re.compile("[" + WHITE_SPACE + "]+") if whitespace_split else None
        self.replacement = replacement
        self.prepend = prepend
        self.split = split
        self.added: dict[str, int] = {t[0]: t[1] for t in added_tokens}
        self.lstrip: set[str] = {t[0] for t in added_tokens if t[2]}
        self.rstrip: set[str] = {t[0] for t in added_tokens if t[3]}
        ordered = sorted(self.added, key=len, reverse=True)
        self.added_re: re.Pattern[str] | None = (
            re.compile("|".join([re.escape(t) for t in ordered])) if ordered else None
        )
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
        added_re = self.added_re
        if added_re is None:
            self._encode_plain(text, ids)
        else:
            done = 0
            for match in added_re.finditer(text):
                first = match.start()
                stop = match.end()
                if first < done:
                    continue
                token = match.group()
                if token in self.lstrip:
                    while first > done and text[first - 1] in WHITE_SPACE:
                        first -= 1
                if token in self.rstrip:
                    while stop < len(text) and text[stop] in WHITE_SPACE:
                        stop += 1
                if done < first:
                    self._encode_plain(text[done:first], ids)
                ids.append(self.added[token])
                done = stop
            if done < len(text):
                self._encode_plain(text[done:], ids)
        if self.truncate_to >= 0 and len(ids) > self.truncate_to:
            ids = ids[len(ids) - self.truncate_to :] if self.truncate_left else ids[: self.truncate_to]
        return ids

    def encode_batch(self, texts: list[str], ids: list[int], lengths: list[int]) -> None:
        """Append the ids of every text to ``ids`` and each text's token count to ``lengths``."""
        for text in texts:
            before = len(ids)
            ids.extend(self.encode(text))
            lengths.append(len(ids) - before)

    def _encode_plain(self, text: str, ids: list[int]) -> None:
        normalized = self.normalize(text)
        if not normalized:
            return
        whitespace_re = self.whitespace_re
        words: list[str] = [normalized] if whitespace_re is None else whitespace_re.split(normalized)
        replacement = self.replacement
        cache = self.cache
        for word in words:
            if not word:
                continue
            if " " in word:
                word = word.replace(" ", replacement)
            if self.prepend and not word.startswith(replacement):
                word = replacement + word
            if self.split and replacement in word[1:]:
                pieces = word.split(replacement)
                start = 0
                if word[0] != replacement:  # a leading piece without the replacement character
                    self._piece(pieces[0], ids, cache)
                    start = 1
                for i in range(max(start, 1), len(pieces)):
                    self._piece(replacement + pieces[i], ids, cache)
            else:
                self._piece(word, ids, cache)

    def _piece(self, piece: str, ids: list[int], cache: dict[str, list[int]]) -> None:
        cached = cache.get(piece)
        if cached is None:
            cached = self.viterbi(piece)
            if len(cache) >= CACHE_LIMIT:
                cache.clear()
            cache[piece] = cached
        ids.extend(cached)

    def viterbi(self, piece: str) -> list[int]:
        """Best segmentation of one pre-token, as tokenizers' Unigram (ties keep the earlier, shorter candidate);
        consecutive unknown characters become one unknown token (or its ``<0xNN>`` bytes)."""
        n = len(piece)
        prefixes = self.prefixes
        scores = self.scores
        best: list[float] = [0.0] * (n + 1)
        starts: list[int] = [-1] * (n + 1)
        node_ids: list[int] = [0] * (n + 1)
        for i in range(n):
            here = best[i]
            single = False
            last = min(n, i + self.max_len)
            for j in range(i + 1, last + 1):
                token_id = prefixes.get(piece[i:j], -2)
                if token_id == -2:
                    break
                if token_id >= 0:
                    score = scores[token_id] + here
                    if starts[j] < 0 or score > best[j]:
                        best[j] = score
                        starts[j] = i
                        node_ids[j] = token_id
                    if j == i + 1:
                        single = True
            if not single:
                score = self.unk_score + here
                if starts[i + 1] < 0 or score > best[i + 1]:
                    best[i + 1] = score
                    starts[i + 1] = i
                    node_ids[i + 1] = self.unk_id
        out: list[int] = []
        end = n
        fused_end = -1
        while end > 0:
            begin = starts[end]
            if node_ids[end] == self.unk_id:
                if fused_end < 0:
                    fused_end = end
            else:
                if fused_end >= 0:
                    self._unknown(piece[end:fused_end], out)
                    fused_end = -1
                out.append(node_ids[end])
            end = begin
        if fused_end >= 0:
            self._unknown(piece[:fused_end], out)
        out.reverse()
        return out

    def _unknown(self, text: str, out: list[int]) -> None:
        """Ids of a fused unknown span, appended in reverse (the caller reverses the whole list)."""
        found = self.vocab.get(text, -1)
        if found >= 0:
            out.append(found)
            return
        byte_ids = self.byte_ids
        if byte_ids:
            data = text.encode("utf-8")
            ok = True
            for b in data:
                if byte_ids[b] < 0:
                    ok = False
                    break
            if ok:
                for k in range(len(data) - 1, -1, -1):
                    out.append(byte_ids[data[k]])
                return
        out.append(self.unk_id)
