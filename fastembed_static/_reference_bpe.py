"""A short, slow, readable reference of the byte-level BPE tokenization that :mod:`fastembed_static._bpe` does fast.

It follows Hugging Face ``tokenizers`` step by step: cut added tokens out of the raw text (leftmost-longest),
normalize each remaining piece (NFC / Lowercase), prepend a space if ``add_prefix_space``, split with the ByteLevel
regex, write each pre-token's UTF-8 bytes as GPT-2's byte characters, then merge: again and again, the adjacent
pair with the lowest merge rank (the leftmost one among equal ranks) becomes one token. Strings throughout, no
ids until the end, no heap, no cache: the tests check that the fast core and this reference agree with each other
and with ``tokenizers``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from ._bytelevel import byte_chars, split_pattern
from ._char_tables import LOWER_MAP


class ReferenceBpe:
    def __init__(self, config: dict[str, Any], tokens: list[str], merges: list[tuple[str, str]]) -> None:
        self.vocab = {token: i for i, token in enumerate(tokens)}
        self.prefix: str = config["continuing_subword_prefix"]
        self.suffix: str = config["end_of_word_suffix"]
        self.ranks = {pair: rank for rank, pair in enumerate(merges)}  # a repeated pair keeps its last rank
        self.unk_token: str | None = config["unk_token"]
        self.fuse_unk: bool = config["fuse_unk"]
        self.byte_fallback: bool = config["byte_fallback"]
        self.ignore_merges: bool = config["ignore_merges"]
        self.normalizers: list[str] = config["normalizers"]
        pre = config["pre_tokenizer"]
        self.byte_level = pre is not None
        self.add_prefix_space = bool(pre and pre["add_prefix_space"])
        self.split = re.compile(split_pattern()) if pre and pre["use_regex"] else None
        self.added = {t["content"]: t["id"] for t in config["added_tokens"]}
        self.truncation: dict[str, Any] | None = config.get("truncation")

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for piece, added_id in self.split_added_tokens(text):
            if added_id is not None:
                ids.append(added_id)
                continue
            for step in self.normalizers:
                piece = (
                    "".join(LOWER_MAP.get(ord(c), c) for c in piece)
                    if step == "Lowercase"
                    else (unicodedata.normalize("NFC", piece))
                )
            if not piece:
                continue
            if self.add_prefix_space and not piece.startswith(" "):
                piece = " " + piece
            for pretoken in self.split.findall(piece) if self.split else [piece]:
                if self.byte_level:
                    pretoken = "".join(byte_chars()[b] for b in pretoken.encode("utf-8"))
                ids.extend(self.vocab[token] for token in self.bpe(pretoken))
        if self.truncation and len(ids) > self.truncation["max_length"]:
            keep = self.truncation["max_length"]
            ids = ids[len(ids) - keep :] if self.truncation["direction"] == "left" else ids[:keep]
        return ids

    def split_added_tokens(self, text: str) -> list[tuple[str, int | None]]:
        """Leftmost-longest matches of added tokens; the text between them as (piece, None)."""
        result: list[tuple[str, int | None]] = []
        start = plain = 0
        while start < len(text):
            match = max((t for t in self.added if text.startswith(t, start)), key=len, default=None)
            if match is None:
                start += 1
                continue
            if plain < start:
                result.append((text[plain:start], None))
            result.append((match, self.added[match]))
            start = plain = start + len(match)
        if plain < len(text):
            result.append((text[plain:], None))
        return result

    def bpe(self, word: str) -> list[str]:
        if self.ignore_merges and word in self.vocab:
            return [word]
        symbols = self.characters(word)
        while len(symbols) > 1:
            ranked = [(self.ranks[pair], i) for i, pair in enumerate(zip(symbols, symbols[1:])) if pair in self.ranks]
            if not ranked:
                break
            _, i = min(ranked)
            symbols[i : i + 2] = [symbols[i] + symbols[i + 1][len(self.prefix) :]]
        return symbols

    def characters(self, word: str) -> list[str]:
        """One token per character (with the prefix after the first, the suffix on the last); a character not in
        the vocabulary becomes its bytes' ``<0xXX>`` tokens (byte fallback) or the unknown token (runs of
        unknowns fused into one if ``fuse_unk``)."""
        symbols: list[str] = []
        unknown = False  # an unknown token waits to be written (tokenizers writes it when the next one comes)
        for i, char in enumerate(word):
            s = (self.prefix if i > 0 else "") + char + (self.suffix if i == len(word) - 1 else "")
            if s in self.vocab:
                symbols += [self.unk_token] if unknown and self.unk_token is not None else []
                symbols.append(s)
                unknown = False
            elif self.byte_fallback and all(f"<0x{b:02X}>" in self.vocab for b in s.encode("utf-8")):
                symbols += [f"<0x{b:02X}>" for b in s.encode("utf-8")]
            elif self.unk_token is not None:
                symbols += [self.unk_token] if unknown and not self.fuse_unk else []
                unknown = True
        return symbols + ([self.unk_token] if unknown and self.unk_token is not None else [])
