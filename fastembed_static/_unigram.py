"""The fast Unigram (SentencePiece) tokenizer core, compiled with mypyc like :mod:`fastembed_static._tokenizer`
(plain Python where no C compiler was available). Token ids are identical to HF ``tokenizers`` with
``add_special_tokens=False``; :mod:`fastembed_static._reference_unigram` is the short, slow reference.

The normalizer is a callable built by the runtime (``_precompiled.Charsmap`` and the other steps); this core splits
out added tokens, pre-tokenizes (WhitespaceSplit, Metaspace) and runs Viterbi over each distinct pre-token once,
then serves it from a per-tokenizer cache.
"""

from __future__ import annotations

import array
import re
import sys
from collections.abc import Callable
from typing import Final, cast

try:  # mypyc compiles i64 variables to C integers; plain Python (and a runtime without mypy) uses int
    from mypy_extensions import i64
except ImportError:  # pragma: no cover - mypy_extensions comes with mypy, which builds the compiled core
    i64 = int  # type: ignore[misc]

# absolute: tests load this file alone as the pure twin
from fastembed_static._tokenizer import WHITE_SPACE as WHITE_SPACE  # re-exported: the builder's Strip uses it
from fastembed_static._tokenizer import AddedTokens, BadTextError

_SURROGATE: Final = re.compile("[" + chr(0xD800) + "-" + chr(0xDFFF) + "]")
CACHE_LIMIT: Final = 1 << 18
UNK_PENALTY: Final = 10.0
TRIE_MUL_NODE: Final = 0x2545F491  # hash multipliers under 2**30: mypyc multiplies such tagged ints inline
TRIE_MUL_CP: Final = 0x1B873593
TRIE_LOW_BITS: Final = 20  # a node id is stored as its low 20 bits, and the rest in a second string if needed
TRIE_LOW_MASK: Final = (1 << TRIE_LOW_BITS) - 1
TRIE_EMPTY: Final = 0x10FFFF  # above every low part: marks an empty slot
TRIE_MAX_LOAD: Final = 0.7


class Trie:
    """The vocabulary as a character trie in one open-addressing hash table, stored in a str used as an array of
    21-bit integers: ``ord(s[i])`` compiles to one memory read (no object, no reference count), where a
    ``list[int]`` read costs a call and an unboxing, and a dict lookup of a substring (the former design) a slice
    and a hash.

    The edge (parent node, code point) sits at the first free slot from its hash; the node it leads to is numbered
    by that slot + 1, the root is 0. Slot ``s`` is the four code points ``cells[4 s : 4 s + 4]``: the parent's id
    (low 20 bits, or TRIE_EMPTY for a free slot), the code point, 1 + the id of the token that ends at the node
    (0: none) and the parent id's higher bits; one cache line holds all a step of the walk reads. When a token
    appears twice the later id wins, as in tokenizers' token-to-id map."""

    def __init__(self, tokens: list[str]) -> None:
        total = 0
        for token in tokens:
            total += len(token)
        if len(tokens) >= TRIE_EMPTY:
            raise ValueError(f"a Unigram vocabulary of {len(tokens)} tokens is too large (at most {TRIE_EMPTY - 1})")
        size = 1 << 10
        while size < total // 2:
            size <<= 1
        while not self._fill(tokens, size):
            size <<= 1

    def _fill(self, tokens: list[str], size: int) -> bool:
        """Lay the trie out in ``size`` slots; False when it would fill more than TRIE_MAX_LOAD of them."""
        mask = size - 1
        limit = int(size * TRIE_MAX_LOAD)
        cells: list[int] = [TRIE_EMPTY, 0, 0, 0] * size
        used = 0
        for token_id, token in enumerate(tokens):
            if not token:
                continue
            node = 0
            at = 0
            for ch in token:
                cp = ord(ch)
                node_low = node & TRIE_LOW_MASK
                node_high = node >> TRIE_LOW_BITS
                slot = ((node * TRIE_MUL_NODE) ^ (cp * TRIE_MUL_CP)) >> 7 & mask
                while True:
                    at = slot * 4
                    found = cells[at]
                    if found == TRIE_EMPTY:
                        used += 1
                        if used > limit:
                            return False
                        cells[at] = node_low
                        cells[at + 1] = cp
                        cells[at + 3] = node_high
                        break
                    if found == node_low and cells[at + 1] == cp and cells[at + 3] == node_high:
                        break
                    slot = (slot + 1) & mask
                node = slot + 1
            cells[at + 2] = token_id + 1
        self.mask = mask
        self.cells = _as_str(cells)
        self.edges = used
        return True

    def find(self, text: str) -> int:
        """The id of the token ``text``, or -1 (a walk of the trie; for tests and checks)."""
        node = 0
        for ch in text:
            node = self.child(node, ord(ch))
            if node < 0:
                return -1
        return ord(self.cells[4 * (node - 1) + 2]) - 1 if text else -1

    def child(self, node: int, cp: int) -> int:
        """The node below ``node`` along code point ``cp``, or -1."""
        cells = self.cells
        mask = self.mask
        node_low = node & TRIE_LOW_MASK
        slot = ((node * TRIE_MUL_NODE) ^ (cp * TRIE_MUL_CP)) >> 7 & mask
        while True:
            at = slot * 4
            found = ord(cells[at])
            if found == node_low and ord(cells[at + 1]) == cp and ord(cells[at + 3]) == node >> TRIE_LOW_BITS:
                return slot + 1
            if found == TRIE_EMPTY:
                return -1
            slot = (slot + 1) & mask


def _as_str(values: list[int]) -> str:
    """``values`` (each below 0x110000) as the code points of a str (through a 4-byte array: no big tuple)."""
    code = "I" if array.array("I").itemsize == 4 else "L"
    if array.array(code).itemsize != 4:
        return "".join([chr(v) for v in values])
    data = array.array(code, values).tobytes()
    return data.decode("utf-32-le" if sys.byteorder == "little" else "utf-32-be", "surrogatepass")


class Lattice:
    """Viterbi's per-position arrays, reused from piece to piece within one call (never shared between calls, so
    threads that encode at the same time each have their own)."""

    def __init__(self) -> None:
        self.best: list[float] = []
        self.starts: list[int] = []
        self.node_ids: list[object] = []  # the tokenizer's boxed ids (id_objects): stored and read back unboxed
        self.grow(64)

    def grow(self, size: int) -> None:
        more = size - len(self.starts)
        if more > 0:
            self.best.extend([0.0] * more)
            self.starts.extend([-1] * more)
            self.node_ids.extend([0] * more)


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
        at_origin: Callable[[str], int] | None = None,
    ) -> None:
        """``prepend``: Metaspace's prepend_scheme always; ``at_origin`` (not None): prepend_scheme first, only the
        pre-token that starts at offset 0 of the original text gets the replacement, as tokenizers' ``metaspace.rs``
        (``at_origin(text)``: how many of the first pre-tokens of ``text`` do; :mod:`fastembed_static._origin`)."""
        self.vocab: dict[str, int] = {token: i for i, token in enumerate(tokens)}
        self.scores = scores
        self.trie = Trie([token[::-1] for token in tokens])  # reversed: Viterbi walks back from each end
        # Each id boxed once: the lattice and the cached id lists share these objects instead of boxing a new int
        # for every store (mypyc unboxes what it reads from a list[int]; a list[object] it copies as is).
        self.id_objects: list[object] = list(range(len(tokens)))
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
        # Metaspace's split: each replacement character starts a piece; text before the first one is a piece too
        escaped = re.escape(replacement)
        self.piece_re = re.compile(f"[^{escaped}]+|{escaped}[^{escaped}]*")
        self.at_origin = at_origin
        self.added = AddedTokens(
            [(t[0], t[1]) for t in added_tokens],
            tuple([t[0] for t in added_tokens if t[2]]),
            tuple([t[0] for t in added_tokens if t[3]]),
        )
        self.truncate_to = truncate_to
        self.truncate_left = truncate_left
        self.cache: dict[str, list[int]] = {}

    def encode(self, text: str) -> list[int]:
        """Token ids of one text."""
        return self._encode(text, Lattice())

    def _encode(self, text: str, lattice: Lattice) -> list[int]:
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
                    self._encode_plain(parts[i], ids, lattice, i == 0)
        else:
            self._encode_plain(text, ids, lattice, True)
        if self.truncate_to >= 0 and len(ids) > self.truncate_to:
            ids = ids[len(ids) - self.truncate_to :] if self.truncate_left else ids[: self.truncate_to]
        return ids

    def encode_batch(self, texts: list[str], ids: list[int], lengths: list[int]) -> None:
        """Append the ids of every text to ``ids`` and each text's token count to ``lengths``."""
        lattice = Lattice()
        for text in texts:
            before = len(ids)
            ids.extend(self._encode(text, lattice))
            lengths.append(len(ids) - before)

    def _encode_plain(self, text: str, ids: list[int], lattice: Lattice, at_start: bool) -> None:
        """``text``: a piece of the raw text between added tokens (``at_start``: at offset 0 of the text)."""
        normalized = self.normalize(text)
        if not normalized:
            return
        whitespace_re = self.whitespace_re
        words: list[str] = [normalized] if whitespace_re is None else whitespace_re.split(normalized)
        replacement = self.replacement
        cache = self.cache
        # prepend_scheme first: only the words that start at offset 0 of the original text (the first, if any)
        at_origin = self.at_origin
        first_words = at_origin(text) if at_start and at_origin is not None else 0
        for word in words:
            if not word:
                continue
            if " " in word:
                word = word.replace(" ", replacement)
            if (self.prepend or first_words > 0) and word[0] != replacement:
                word = replacement + word
            first_words -= 1
            if self.split:
                for piece in self.piece_re.findall(word):
                    self._piece(piece, ids, cache, lattice)
            else:
                self._piece(word, ids, cache, lattice)

    def _piece(self, piece: str, ids: list[int], cache: dict[str, list[int]], lattice: Lattice) -> None:
        cached = cache.get(piece)
        if cached is None:
            cached = self._viterbi(piece, lattice)
            if len(cache) >= CACHE_LIMIT:
                cache.clear()
            cache[piece] = cached
        ids.extend(cached)

    def viterbi(self, piece: str) -> list[int]:
        """Best segmentation of one pre-token, as tokenizers' Unigram (ties keep the earlier, shorter candidate);
        consecutive unknown characters become one unknown token (or its ``<0xNN>`` bytes)."""
        return self._viterbi(piece, Lattice())

    def _viterbi(self, piece: str, lattice: Lattice) -> list[int]:
        n = len(piece)
        if n >= len(lattice.starts):
            lattice.grow(n + 1)
        best = lattice.best
        starts = lattice.starts
        node_ids = lattice.node_ids
        trie = self.trie
        cells = trie.cells
        mask = trie.mask
        scores = self.scores
        unk_score = self.unk_score
        id_objects = self.id_objects
        unk_object = id_objects[self.unk_id]
        best[0] = 0.0
        # Pull form: for each end j, the tokens ending there are found by walking the trie of reversed tokens
        # from piece[j - 1] backwards, so each position's best is written once. Candidates come in decreasing
        # start order; ``>=`` keeps the one with the smallest start among equal scores, the one tokenizers keeps
        # (its lattice tries start positions in increasing order and replaces only on a strictly better score).
        mask64: i64 = mask
        for j in range(1, n + 1):
            top = 0.0
            top_start = -1
            top_id: object = unk_object
            node: i64 = 0
            k: i64 = j - 1
            while k >= 0:
                cp: i64 = ord(piece[k])
                node_low: i64 = node & TRIE_LOW_MASK
                node_high: i64 = node >> TRIE_LOW_BITS
                slot: i64 = ((node * TRIE_MUL_NODE) ^ (cp * TRIE_MUL_CP)) >> 7 & mask64
                at: i64 = slot * 4
                found: i64 = ord(cells[at])
                while found != TRIE_EMPTY and not (
                    found == node_low and ord(cells[at + 1]) == cp and ord(cells[at + 3]) == node_high
                ):  # Trie.child, inline
                    slot = (slot + 1) & mask64
                    at = slot * 4
                    found = ord(cells[at])
                if found == TRIE_EMPTY:
                    break
                token_id: i64 = ord(cells[at + 2]) - 1
                if token_id >= 0:
                    score = scores[token_id] + best[k]
                    if top_start < 0 or score >= top:
                        top = score
                        top_start = int(k)
                        top_id = id_objects[token_id]
                elif k == j - 1:  # piece[j - 1] alone is not a token: the unknown token covers it
                    top = unk_score + best[k]
                    top_start = int(k)
                node = slot + 1
                k -= 1
            if top_start < 0:  # not even the first character of the walk is in the trie
                top = unk_score + best[j - 1]
                top_start = j - 1
            best[j] = top
            starts[j] = top_start
            node_ids[j] = top_id
        out: list[object] = []
        end = n
        fused_end = -1
        while end > 0:
            begin = starts[end]
            if node_ids[end] is unk_object:  # the unknown token, or the unk token itself (as tokenizers)
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
        return cast(list[int], out)

    def _unknown(self, text: str, out: list[object]) -> None:
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
