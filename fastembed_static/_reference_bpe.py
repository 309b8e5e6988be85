"""A short, slow, readable reference of the BPE tokenization that :mod:`fastembed_static._bpe` does fast: byte-level
BPE (GPT-2) and SentencePiece-style BPE (Llama, Mistral: ``▁`` for spaces, ``<0xNN>`` byte fallback).

It follows Hugging Face ``tokenizers`` step by step: cut the added tokens matched in the raw text
(``normalized`` false) out of it (leftmost-longest); normalize each remaining piece (NFC, NFKD, StripAccents,
Lowercase, Nmt ... from the probed tables, Prepend, Replace); cut the added tokens matched in the normalized text
(``normalized`` true, as their normalized content) out of that; pre-tokenize each remaining piece: ByteLevel (prepend a space if ``add_prefix_space``, split with the
ByteLevel regex, write each pre-token's UTF-8 bytes as GPT-2's byte characters), Metaspace (spaces become the
replacement, which is prepended to every piece if the scheme is ``always``, to the piece at the very start of the
text if ``first``; split before each replacement if ``split``) or none (the piece is one word); then merge: again
and again, the adjacent pair with the lowest merge rank (the leftmost one among equal ranks) becomes one token.
Strings throughout, no ids until the end, no heap, no cache, no cutting of long words: the tests check that the
fast core and this reference agree with each other and with ``tokenizers``.
"""

from __future__ import annotations

import re
from typing import Any

from ._bytelevel import byte_chars, split_pattern
from ._reference_unigram import named_normalizer


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
        self.normalizers: list[Any] = config["normalizers"]
        self.pre: dict[str, Any] | None = config["pre_tokenizer"]
        kind = self.pre["type"] if self.pre else None
        self.byte_level = kind == "ByteLevel"
        self.add_prefix_space = bool(self.byte_level and self.pre and self.pre["add_prefix_space"])
        self.split = re.compile(split_pattern()) if self.byte_level and self.pre and self.pre["use_regex"] else None
        self.metaspace: dict[str, Any] | None = self.pre if kind == "Metaspace" else None
        self.raw_added = {t["content"]: t["id"] for t in config["added_tokens"] if not t.get("normalized")}
        self.normalized_added = {
            self.normalize(t["content"]): t["id"] for t in config["added_tokens"] if t.get("normalized")
        }
        # the (matched) contents that take the whitespace before / after them
        self.lstrip = {t["content"] for t in config["added_tokens"] if t.get("lstrip") and not t.get("normalized")}
        self.lstrip |= {
            self.normalize(t["content"]) for t in config["added_tokens"] if t.get("lstrip") and t.get("normalized")
        }
        self.rstrip = {t["content"] for t in config["added_tokens"] if t.get("rstrip") and not t.get("normalized")}
        self.rstrip |= {
            self.normalize(t["content"]) for t in config["added_tokens"] if t.get("rstrip") and t.get("normalized")
        }
        self.truncation: dict[str, Any] | None = config.get("truncation")

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for raw, raw_id, raw_start in self.split_added_tokens(text, self.raw_added):
            if raw_id is not None:
                ids.append(raw_id)
                continue
            normalized = self.normalize(raw)
            for piece, added_id, start in self.split_added_tokens(normalized, self.normalized_added):
                if added_id is not None:
                    ids.append(added_id)
                    continue
                at_text_start = raw_start == 0 and start == 0  # tokenizers: the piece's original offset is 0
                for pretoken in self.pre_tokenize(piece, at_text_start):
                    ids.extend(self.vocab[token] for token in self.bpe(pretoken))
        if self.truncation and len(ids) > self.truncation["max_length"]:
            keep = self.truncation["max_length"]
            ids = ids[len(ids) - keep :] if self.truncation["direction"] == "left" else ids[:keep]
        return ids

    def normalize(self, text: str) -> str:
        for step in self.normalizers:
            if isinstance(step, str):  # NFC, NFKD, StripAccents, Lowercase, Nmt ...
                text = named_normalizer(step, text)
            elif step["type"] == "Prepend":
                text = step["prepend"] + text if text else text
            elif step["regex"]:  # Replace with the one regex accepted, " {2,}"
                text = re.sub(step["pattern"], step["content"].replace("\\", "\\\\"), text)
            else:
                text = text.replace(step["pattern"], step["content"])
        return text

    def pre_tokenize(self, piece: str, at_text_start: bool) -> list[str]:
        if self.metaspace is not None:
            replacement = self.metaspace["replacement"]
            piece = piece.replace(" ", replacement)
            scheme = self.metaspace["prepend_scheme"]
            if (scheme == "always" or (scheme == "first" and at_text_start)) and not piece.startswith(replacement):
                piece = replacement + piece
            if not self.metaspace["split"]:
                return [piece]
            starts = [0] + [i for i, c in enumerate(piece) if c == replacement and i > 0]
            return [piece[a:b] for a, b in zip(starts, starts[1:] + [len(piece)])]
        if not self.byte_level:
            return [piece]
        if self.add_prefix_space and not piece.startswith(" "):
            piece = " " + piece
        pretokens = self.split.findall(piece) if self.split else [piece]
        return ["".join(byte_chars()[b] for b in p.encode("utf-8")) for p in pretokens]

    def split_added_tokens(self, text: str, added: dict[str, int]) -> list[tuple[str, int | None, int]]:
        """Leftmost-longest matches of added tokens and the non-empty text between them: (piece, id or None,
        where it starts in ``text``). An lstrip / rstrip token also takes the Unicode whitespace before / after it
        (back to the previous match at most)."""
        result: list[tuple[str, int | None, int]] = []
        start = plain = 0
        while start < len(text):
            match = max((t for t in added if text.startswith(t, start)), key=len, default=None)
            if match is None:
                start += 1
                continue
            first, stop = start, start + len(match)
            if match in self.lstrip:
                while first > plain and text[first - 1].isspace() and text[first - 1] not in "\x1c\x1d\x1e\x1f":
                    first -= 1
            if match in self.rstrip:
                while stop < len(text) and text[stop].isspace() and text[stop] not in "\x1c\x1d\x1e\x1f":
                    stop += 1
            if plain < first:
                result.append((text[plain:first], None, plain))
            result.append((match, added[match], first))
            start = plain = stop
        if plain < len(text):
            result.append((text[plain:], None, plain))
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
