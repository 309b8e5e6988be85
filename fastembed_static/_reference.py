"""A short, slow, readable reference of the tokenization that :mod:`fastembed_static._tokenizer` does fast.

It follows Hugging Face ``tokenizers`` step by step: split out added tokens in the raw text (leftmost-longest),
normalize each remaining piece character by character (BertNormalizer), split on whitespace and isolate
punctuation (BertPreTokenizer), then greedy longest-match-first WordPiece. No caches, no regexes, no fast paths:
the tests check that the fast core and this reference agree with each other and with ``tokenizers``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ._charmap import NormalizerConfig, TranslationTable, normalize_reordered


class ReferenceTokenizer:
    def __init__(self, config: dict[str, Any], tokens: list[str]) -> None:
        self.normalizer = NormalizerConfig(
            clean_text=config["clean_text"],
            handle_chinese_chars=config["handle_chinese_chars"],
            strip_accents=config["strip_accents"],
            lowercase=config["lowercase"],
        )
        self.table = TranslationTable(self.normalizer)
        self.vocab = {token: i for i, token in enumerate(tokens)}
        self.unk_id: int = config["unk_id"]
        self.prefix: str = config["continuing_subword_prefix"]
        self.max_chars: int = config["max_input_chars_per_word"]
        self.added = {t["content"]: t["id"] for t in config["added_tokens"]}
        self.truncation: dict[str, Any] | None = config.get("truncation")

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for piece, added_id in self.split_added_tokens(text):
            if added_id is not None:
                ids.append(added_id)
                continue
            # Per character (TranslationTable is compose() per code point), then NFD's canonical reordering.
            normalized = normalize_reordered(piece, self.table)
            for word in normalized.split(" "):
                if word:
                    ids.extend(self.wordpiece(word))
        if self.truncation is not None and len(ids) > self.truncation["max_length"]:
            keep = self.truncation["max_length"]
            ids = ids[len(ids) - keep :] if self.truncation["direction"] == "left" else ids[:keep]
        return ids

    def split_added_tokens(self, text: str) -> Iterator[tuple[str, int | None]]:
        """Yield (piece, None) for plain text and (token, id) for each added token, leftmost-longest."""
        start = plain_start = 0
        while start < len(text):
            matches = [token for token in self.added if text.startswith(token, start)]
            if matches:
                token = max(matches, key=len)
                if plain_start < start:
                    yield text[plain_start:start], None
                yield token, self.added[token]
                start = plain_start = start + len(token)
            else:
                start += 1
        if plain_start < len(text):
            yield text[plain_start:], None

    def wordpiece(self, word: str) -> list[int]:
        if len(word) > self.max_chars:
            return [self.unk_id]
        ids: list[int] = []
        start = 0
        while start < len(word):
            for end in range(len(word), start, -1):
                piece = word[start:end] if start == 0 else self.prefix + word[start:end]
                if piece in self.vocab:
                    ids.append(self.vocab[piece])
                    start = end
                    break
            else:
                return [self.unk_id]
        return ids
