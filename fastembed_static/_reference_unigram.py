"""A short, slow, readable reference of the Unigram (SentencePiece) tokenization that
:mod:`fastembed_static._unigram` does fast, built straight from a ``tokenizer.json`` (not from generated files).

It follows HF ``tokenizers`` 0.23 step by step: split out added tokens in the raw text (leftmost-longest, with
lstrip/rstrip), normalize each remaining piece (``Precompiled``: the darts-clone trie of the charsmap searched byte
by byte, per extended grapheme cluster; ``Replace``, ``Strip``, ``Prepend``; the Unicode normalizers character by
character from the probed tables, :func:`named_normalizer`), pre-tokenize (``WhitespaceSplit``,
``Metaspace``), then Viterbi over the UTF-8 bytes of each pre-token with the vocabulary's scores, unknown
characters fused into one unknown token, and ``<0xNN>`` byte fallback. No caches, no fast paths.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from bisect import bisect_right
from typing import Any, Literal, cast

from . import _graphemes, _normalization_tables, _precompiled
from ._char_tables import LOWER_MAP

WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
)
UNK_PENALTY = 10.0


class ReferenceUnigram:
    def __init__(self, tokenizer_json: dict[str, Any]) -> None:
        model = tokenizer_json["model"]
        self.vocab: list[tuple[str, float]] = [(t, float(s)) for t, s in model["vocab"]]
        self.token_to_id = {t: i for i, (t, _) in enumerate(self.vocab)}
        self.unk_id: int = model["unk_id"]
        self.byte_fallback: bool = model.get("byte_fallback", False)
        self.min_score = min(s for _, s in self.vocab)
        self.max_bytes = max(len(t.encode("utf-8")) for t, _ in self.vocab)  # no longer token can match
        normalizer = tokenizer_json.get("normalizer")
        self.normalizers: list[dict[str, Any]] = (
            []
            if normalizer is None
            else normalizer["normalizers"]
            if normalizer["type"] == "Sequence"
            else [normalizer]
        )
        pre = tokenizer_json["pre_tokenizer"]
        steps = pre["pretokenizers"] if pre["type"] == "Sequence" else [pre]
        self.whitespace_split = steps[0]["type"] == "WhitespaceSplit"
        metaspace = steps[-1]
        self.replacement: str = metaspace["replacement"]
        scheme = metaspace.get("prepend_scheme")
        if scheme is None:
            scheme = "always" if metaspace.get("add_prefix_space", True) else "never"
        self.prepend = scheme == "always"
        self.prepend_first = scheme == "first"
        self.split: bool = metaspace.get("split", True)
        self.added = {t["content"]: t for t in tokenizer_json.get("added_tokens", [])}
        self.truncation: dict[str, Any] | None = tokenizer_json.get("truncation")

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for piece, added_id, start in self.split_added_tokens(text):
            if added_id is not None:
                ids.append(added_id)
                continue
            normalized, origins = self.normalize_with_offsets(piece)
            for pretoken in self.pre_tokenize(normalized, [start + o for o in origins]):
                ids.extend(self.tokenize(pretoken))
        if self.truncation is not None and len(ids) > self.truncation["max_length"]:
            keep = self.truncation["max_length"]
            ids = ids[len(ids) - keep :] if self.truncation["direction"].lower() == "left" else ids[:keep]
        return ids

    def split_added_tokens(self, text: str) -> list[tuple[str, int | None, int]]:
        """(piece, added token id or None, where the piece starts in ``text``)."""
        out: list[tuple[str, int | None, int]] = []
        done = start = 0
        while start < len(text):
            matches = [t for t in self.added if text.startswith(t, start)]
            if not matches:
                start += 1
                continue
            token = max(matches, key=len)
            entry = self.added[token]
            first, stop = start, start + len(token)
            if entry.get("lstrip"):
                while first > done and text[first - 1] in WHITE_SPACE:
                    first -= 1
            if entry.get("rstrip"):
                while stop < len(text) and text[stop] in WHITE_SPACE:
                    stop += 1
            if done < first:
                out.append((text[done:first], None, done))
            out.append((token, entry["id"], first))
            done = start = stop
        if done < len(text):
            out.append((text[done:], None, done))
        return out

    def normalize(self, text: str) -> str:
        return self.normalize_with_offsets(text)[0]

    def normalize_with_offsets(self, text: str) -> tuple[str, list[int]]:
        """The normalized text and, for each of its characters, the offset in ``text`` of the character it came
        from, tracked as tokenizers' alignments are (Metaspace's prepend_scheme first reads them): a replacement
        takes the offset of what it replaces; the charsmap's deletions before the first character it keeps are not
        recorded by tokenizers (its ``Precompiled`` attaches a deletion to the previous character), so that
        character takes the offset of the first deleted one."""
        chars = [(c, i) for i, c in enumerate(text)]
        for step in self.normalizers:
            kind = step["type"]
            if kind == "Precompiled":
                chars = self.precompiled_offsets(chars, base64.b64decode(step["precompiled_charsmap"]))
            elif kind == "Replace":
                pattern = step["pattern"]
                joined = "".join(c for c, _ in chars)
                regex = pattern["Regex"] if "Regex" in pattern else re.escape(pattern["String"])
                out: list[tuple[str, int]] = []
                done = 0
                for match in re.finditer(regex, joined):
                    out += chars[done : match.start()]
                    if match.start() < match.end():
                        out += [(c, chars[match.start()][1]) for c in step["content"]]
                    done = match.end()
                chars = out + chars[done:]
            elif kind == "Strip":
                if step.get("strip_left", step.get("left")):
                    while chars and chars[0][0] in WHITE_SPACE:
                        chars = chars[1:]
                if step.get("strip_right", step.get("right")):
                    while chars and chars[-1][0] in WHITE_SPACE:
                        chars = chars[:-1]
            elif kind == "Prepend":
                chars = [(c, chars[0][1]) for c in step["prepend"]] + chars if chars else chars
            elif kind in ("NFC", "NFD", "NFKC", "NFKD", "StripAccents", "Lowercase", "Nmt"):
                # Their offsets are not tracked (the generator refuses prepend_scheme first after them): every
                # character takes the offset of the text's first one
                new = named_normalizer(kind, "".join(c for c, _ in chars))
                chars = [(c, chars[0][1]) for c in new] if chars else []
            else:
                raise ValueError(f"reference: normalizer {kind} not reproduced")
        return "".join(c for c, _ in chars), [o for _, o in chars]

    @staticmethod
    def precompiled_offsets(chars: list[tuple[str, int]], blob: bytes) -> list[tuple[str, int]]:
        units, strings = _precompiled.parse(blob)

        def transform(part: str) -> str | None:
            found = _precompiled.common_prefix_search(units, part.encode("utf-8"))
            return _precompiled.replacement(strings, found[0]) if found else None

        # tokenizers' Precompiled::normalize records, per replaced part, its new characters with a change each
        # (0: replaces one character; +1: inserted; a shorter replacement adds its deficit to the last character
        # recorded so far, even one of an earlier part, or to nothing at the very start), then applies them
        text = "".join(c for c, _ in chars)
        recorded: list[list[Any]] = []
        for cluster in _graphemes.clusters(text):
            whole = transform(cluster) if len(cluster.encode("utf-8")) < 6 else None
            parts = [(cluster, whole)] if whole is not None else [(ch, transform(ch)) for ch in cluster]
            for part, new in parts:
                if new is None:
                    recorded.append([part, 0])
                    continue
                recorded += [[c, 0] for c in new]
                grown = len(new) - len(part)
                for entry in recorded[len(recorded) - grown :] if grown > 0 else []:
                    entry[1] = 1
                if grown < 0 and recorded:
                    recorded[-1][1] += grown
        out: list[tuple[str, int]] = []
        at = 0  # the next original character a non-inserted one consumes
        for c, change in recorded:
            if change > 0:
                out.append((c, chars[at - 1][1] if at else 0))
            else:
                out.append((c, chars[min(at, len(chars) - 1)][1]))
                at += 1 - change
        return out

    def pre_tokenize(self, text: str, origins: list[int]) -> list[str]:
        """``origins``: each character's offset in the original text (prepend_scheme first: only a pre-token
        whose first character is at offset 0 gets the replacement)."""
        if self.whitespace_split:
            spans = [(m.start(), m.group()) for m in re.finditer(f"[^{WHITE_SPACE}]+", text)]
        else:
            spans = [(0, text)] if text else []
        out = []
        for at, word in spans:
            word = word.replace(" ", self.replacement)
            prepend = self.prepend or (self.prepend_first and origins[at] == 0)
            if prepend and word and not word.startswith(self.replacement):
                word = self.replacement + word
            if not self.split:
                out.append(word)
                continue
            piece = ""
            for ch in word:  # split before each replacement character (MergedWithNext)
                if ch == self.replacement and piece:
                    out.append(piece)
                    piece = ""
                piece += ch
            if piece:
                out.append(piece)
        return [w for w in out if w]

    def tokenize(self, pretoken: str) -> list[int]:
        """Viterbi over the UTF-8 bytes, as tokenizers' Unigram::encode_optimized, then ids as Unigram::tokenize."""
        data = pretoken.encode("utf-8")
        size = len(data)
        best: list[tuple[float, int | None, int]] = [(0.0, None, 0)] * (size + 1)  # (score, starts_at, id)
        unk_score = self.min_score - UNK_PENALTY
        start = 0
        while start < size:
            here = best[start][0]
            mblen = len(data[start:].decode("utf-8", "ignore")[:1].encode("utf-8"))
            single = False
            for end in range(start + 1, min(size, start + self.max_bytes) + 1):  # every token that is a prefix
                token = data[start:end].decode("utf-8", "replace")
                if token.encode("utf-8") != data[start:end] or token not in self.token_to_id:
                    continue
                token_id = self.token_to_id[token]
                score = self.vocab[token_id][1] + here
                if best[end][1] is None or score > best[end][0]:
                    best[end] = (score, start, token_id)
                if end - start == mblen:
                    single = True
            if not single:
                score = unk_score + here
                if best[start + mblen][1] is None or score > best[start + mblen][0]:
                    best[start + mblen] = (score, start, self.unk_id)
            start += mblen
        pieces: list[bytes] = []
        fused: list[bytes] = []
        end = size
        while end > 0:
            _, begin, token_id = best[end]
            assert begin is not None
            if token_id == self.unk_id:
                fused.insert(0, data[begin:end])
            else:
                if fused:
                    pieces.insert(0, b"".join(fused))
                    fused = []
                pieces.insert(0, data[begin:end])
            end = begin
        if fused:
            pieces.insert(0, b"".join(fused))
        ids: list[int] = []
        for piece in pieces:
            token = piece.decode("utf-8")
            if token in self.token_to_id:
                ids.append(self.token_to_id[token])
            elif self.byte_fallback and all(f"<0x{b:02X}>" in self.token_to_id for b in piece):
                ids.extend(self.token_to_id[f"<0x{b:02X}>"] for b in piece)
            else:
                ids.append(self.unk_id)
        return ids


def _member(cp: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    i = bisect_right(ranges, (cp, 0x110000)) - 1
    return i >= 0 and ranges[i][0] <= cp <= ranges[i][1]


def named_normalizer(kind: str, text: str) -> str:
    """tokenizers' NFC / NFD / NFKC / NFKD, StripAccents, Lowercase or Nmt of ``text``, read off the probed tables
    (:mod:`fastembed_static._normalization_tables`) character by character. A form is ``unicodedata``'s, except that
    each code point of its SPLIT table (one that tokenizers' older Unicode tables do not know) stays as it is and
    cuts the text: the pieces between are normalized on their own. StripAccents drops COMBINING_MARKS, Lowercase maps
    by LOWER_MAP, Nmt drops NMT_REMOVE and makes NMT_SPACE a space."""
    t = _normalization_tables
    if kind == "StripAccents":
        return "".join(c for c in text if not _member(ord(c), t.COMBINING_MARKS))
    if kind == "Lowercase":
        return "".join(LOWER_MAP.get(ord(c), c) for c in text)
    if kind == "Nmt":
        return "".join(
            "" if _member(ord(c), t.NMT_REMOVE) else " " if _member(ord(c), t.NMT_SPACE) else c for c in text
        )
    form = cast(Literal["NFC", "NFD", "NFKC", "NFKD"], kind)
    split = getattr(t, f"SPLIT_{kind}")
    out: list[str] = []
    piece = ""
    for c in text:
        if _member(ord(c), split):
            out += [unicodedata.normalize(form, piece), c]
            piece = ""
        else:
            piece += c
    return "".join(out) + unicodedata.normalize(form, piece)
