"""The fast WordPiece tokenizer core, compiled to native code with mypyc when the package is built (it runs as
plain Python where no C compiler was available). Token ids are identical to Hugging Face ``tokenizers`` with
``add_special_tokens=False``; :mod:`fastembed_static._reference` is the short, slow, readable version of the same
algorithm that the tests compare against.

Speed comes from three things: ASCII text (most text) is split by one regex instead of a per-character table;
non-ASCII text goes through ``str.translate`` with a lazily filled table; and each distinct word is looked up in
the vocabulary once, then served from a per-tokenizer cache.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

_SURROGATE: Final = re.compile("[" + chr(0xD800) + "-" + chr(0xDFFF) + "]")  # mypyc rejects surrogate literals
CACHE_LIMIT: Final = 1 << 18
# Unicode White_Space (Rust's char::is_whitespace): what an added token's lstrip / rstrip takes, and Unigram's
# WhitespaceSplit and Strip
WHITE_SPACE: Final = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join([chr(c) for c in range(0x2000, 0x200B)])
    + "\u2028\u2029\u202f\u205f\u3000"
)


class BadTextError(ValueError):
    """A text that cannot be tokenized (a lone surrogate: not valid Unicode text)."""


class AddedTokens:
    """Added tokens, matched verbatim in the raw text before anything else runs (shared by every tokenizer core:
    WordPiece here, BPE in :mod:`fastembed_static._bpe`, Unigram in :mod:`fastembed_static._unigram`). A token in
    ``lstrip`` / ``rstrip`` also takes the whitespace before / after it, as tokenizers' ``added_vocabulary.rs``."""

    def __init__(
        self, added_tokens: list[tuple[str, int]], lstrip: tuple[str, ...] = (), rstrip: tuple[str, ...] = ()
    ) -> None:
        self.ids: dict[str, int] = dict(added_tokens)
        self.first_chars: str = "".join(sorted({t[0] for t, _ in added_tokens}))
        # Longest first: at one position a regex alternation takes the first alternative that matches, so this
        # is leftmost-longest matching, as HF's Aho-Corasick over added tokens does.
        ordered = sorted(self.ids, key=len, reverse=True)
        self.pattern: re.Pattern[str] | None = (
            re.compile("(" + "|".join(re.escape(t) for t in ordered) + ")") if ordered else None
        )
        self.lstrip: set[str] = {t for t in lstrip if t in self.ids}
        self.rstrip: set[str] = {t for t in rstrip if t in self.ids}
        self.strips = bool(self.lstrip or self.rstrip)

    def may_hold(self, text: str) -> bool:
        """Whether ``text`` may hold an added token (False: it holds none)."""
        if self.pattern is None:
            return False
        for ch in self.first_chars:  # noqa: SIM110  (a plain loop compiles to tighter C than any(genexpr))
            if ch in text:
                return True
        return False

    def split(self, text: str) -> list[str]:
        """``text`` cut around its added tokens: items at odd indices are added tokens (keys of ``ids``), the
        others the (possibly empty) text between them, less the whitespace that lstrip / rstrip tokens took. The
        item at index 0 starts at the start of ``text``."""
        pattern = self.pattern
        if pattern is None:
            return [text]
        if not self.strips:
            return pattern.split(text)
        # tokenizers' find_matches: matches are found in the text as it is (a token's rstrip does not hide a
        # match that starts inside the whitespace it took); lstrip stops at the end of the previous match
        parts: list[str] = []
        done = 0
        size = len(text)
        for match in pattern.finditer(text):
            first = match.start()
            stop = match.end()
            token = match.group()
            if token in self.lstrip:
                while first > 0 and text[first - 1] in WHITE_SPACE:
                    first -= 1
                if first < done:
                    first = done
            if token in self.rstrip:
                while stop < size and text[stop] in WHITE_SPACE:
                    stop += 1
            parts.append(text[done:first] if done < first else "")
            parts.append(token)
            done = stop
        parts.append(text[done:] if done < size else "")
        return parts


def truncate(ids: list[int], truncate_to: int, truncate_left: bool) -> list[int]:
    """``ids`` cut to ``truncate_to`` tokens (none cut when it is negative), keeping the last ones if
    ``truncate_left``, as tokenizers' truncation with ``direction`` left / right."""
    if truncate_to >= 0 and len(ids) > truncate_to:
        return ids[len(ids) - truncate_to :] if truncate_left else ids[:truncate_to]
    return ids


class Tokenizer:
    """Text -> token ids for one BertNormalizer + BertPreTokenizer + WordPiece configuration."""

    def __init__(
        self,
        tokens: list[str],
        unk_id: int,
        prefix: str,
        max_chars: int,
        added_tokens: list[tuple[str, int]],
        translation: dict[int, str],
        ascii_lowercase: bool,
        ascii_delete: str,
        ascii_word_chars: str,
        ascii_punct_chars: str,
        use_ascii_path: bool,
        reorder_marks: str,
        reorder: Callable[[str], str],
        truncate_to: int,
        truncate_left: bool,
    ) -> None:
        self.vocab: dict[str, int] = {token: i for i, token in enumerate(tokens)}
        self.unk: list[int] = [unk_id]
        self.prefix = prefix
        self.max_chars = max_chars
        self.max_token_chars = max([len(t) for t in tokens] + [1])
        self.translation = translation
        self.use_ascii_path = use_ascii_path
        self.ascii_lowercase = ascii_lowercase
        self.ascii_delete_re: re.Pattern[str] | None = (
            re.compile("[" + re.escape(ascii_delete) + "]") if ascii_delete else None
        )
        words = "[" + re.escape(ascii_word_chars) + "]+" if ascii_word_chars else ""
        punct = "[" + re.escape(ascii_punct_chars) + "]" if ascii_punct_chars else ""
        self.ascii_split_re: re.Pattern[str] = re.compile("|".join(p for p in (words, punct) if p) or "(?!)")
        self.reorder_re: re.Pattern[str] | None = (
            re.compile("[" + re.escape(reorder_marks) + "]") if reorder_marks else None
        )
        self.reorder = reorder
        self.added = AddedTokens(added_tokens)
        self.truncate_to = truncate_to
        self.truncate_left = truncate_left
        self.cache: dict[str, list[int]] = {}

    def encode(self, text: str) -> list[int]:
        """Token ids of one text."""
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
        if text.isascii() and self.use_ascii_path:
            if self.ascii_lowercase:
                text = text.lower()
            delete_re = self.ascii_delete_re
            if delete_re is not None and delete_re.search(text) is not None:
                text = delete_re.sub("", text)
            words: list[str] = self.ascii_split_re.findall(text)
        else:
            if not text.isascii():
                bad = _SURROGATE.search(text)
                if bad is not None:
                    raise BadTextError(f"lone surrogate U+{ord(bad.group()):04X} at character {bad.start()}")
            normalized = text.translate(self.translation)
            reorder_re = self.reorder_re
            if reorder_re is not None and reorder_re.search(normalized) is not None:
                normalized = self.reorder(text)  # rare: marks that HF's NFD reorders survived stripping
            words = normalized.split(" ")
        cache = self.cache
        for word in words:
            if not word:
                continue
            cached = cache.get(word)
            if cached is None:
                cached = self.wordpiece(word)
                if len(cache) >= CACHE_LIMIT:
                    cache.clear()
                cache[word] = cached
            ids.extend(cached)

    def wordpiece(self, word: str) -> list[int]:
        """Greedy longest-match-first WordPiece of one word; any unmatched position makes the word one [UNK]."""
        n = len(word)
        if n > self.max_chars:
            return self.unk
        vocab = self.vocab
        whole = vocab.get(word, -1)
        if whole >= 0:
            return [whole]
        pieces: list[int] = []
        prefix = self.prefix
        longest = self.max_token_chars
        start = 0
        while start < n:
            end = min(n, start + longest)
            found = -1
            while start < end:
                piece = word[start:end] if start == 0 else prefix + word[start:end]
                found = vocab.get(piece, -1)
                if found >= 0:
                    break
                end -= 1
            if found < 0:
                return self.unk
            pieces.append(found)
            start = end
        return pieces
