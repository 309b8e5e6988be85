"""The Unigram core's own structures against HF ``tokenizers`` 0.23.3: the code-point trie (``_unigram.Trie``, an
open-addressing table packed in a str) finds every vocabulary entry with the id tokenizers gives it and nothing
else; the pull-form Viterbi keeps tokenizers' choice among equal scores, fuses unknown characters and falls back
to bytes as tokenizers does (small vocabularies with integer scores, so ties are exact and frequent); and the
charsmap's cheap test for when a grapheme cluster must be looked up whole agrees with tokenizers' ``Precompiled``
on every multi-character key. Each check runs on the compiled core and its pure-Python twin.
"""

from __future__ import annotations

import base64
import json
import lzma
import random
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from fastembed_static import _precompiled

from .helpers import pure_core

DATA = Path(__file__).resolve().parent / "data" / "unigram"
CONVERTED = "mbart-trimmed-xlmr-converted-tokenizer.json.xz"


def _pure_unigram_module() -> ModuleType:
    """The Unigram core as plain Python, even when the .so is in use."""
    return pure_core("_unigram")


@pytest.fixture(scope="module", params=["compiled", "pure"])
def core(request: pytest.FixtureRequest) -> Any:
    if request.param == "compiled":
        from fastembed_static import _unigram

        return _unigram
    return _pure_unigram_module()


def _converted() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(lzma.open(DATA / CONVERTED).read())
    return data


def test_compiled_core_is_compiled() -> None:
    from fastembed_static import _unigram

    assert _unigram.__file__ is not None and not _unigram.__file__.endswith(".py")


def test_trie_finds_every_vocabulary_entry(core: Any) -> None:
    """Every token of a real 31,998-token vocabulary is found with tokenizers' id; its proper prefixes and
    one-character extensions that are not tokens are not found."""
    from tokenizers import Tokenizer

    data = _converted()
    hf = Tokenizer.from_str(json.dumps(data))
    tokens = [entry[0] for entry in data["model"]["vocab"]]
    trie = core.Trie(tokens)
    wrong = [t for t in tokens if trie.find(t) != hf.token_to_id(t)]
    assert not wrong, f"{len(wrong)} tokens found with another id, first {wrong[0]!r}"
    probes = {t[:end] for t in tokens[::7] for end in range(1, len(t))} | {t + "\u0378" for t in tokens[::11]}
    for probe in probes:
        expected = hf.token_to_id(probe)
        assert trie.find(probe) == (-1 if expected is None else expected), probe
    assert trie.find("") == -1


def test_trie_grows_and_keeps_wide_node_ids(core: Any) -> None:
    """Tokens that share few prefixes overflow the first table (it is laid out again, twice as large), and a table
    of more than 2**20 slots stores node ids above 20 bits in a fourth code point: ids from a dict."""
    rng = random.Random(22)
    alphabet = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    compiled = core.__name__ == "fastembed_static._unigram"
    tokens = ["".join(rng.choices(alphabet, k=rng.randint(1, 6))) for _ in range(300_000 if compiled else 12_000)]
    trie = core.Trie(tokens)
    last = {t: i for i, t in enumerate(tokens)}  # a token listed twice keeps its later id, as tokenizers' map
    first_size = 1 << 10
    while first_size < sum(map(len, tokens)) // 2:
        first_size <<= 1
    assert trie.mask + 1 > first_size  # the first table could not hold them
    if compiled:
        assert trie.mask + 1 > 1 << 20  # node ids need more than 20 bits
    wrong = [t for t in tokens if trie.find(t) != last[t]]
    assert not wrong, f"{len(wrong)} differ, first {wrong[0]!r}"
    assert all(trie.find(t + "a") == -1 for t in tokens[:2000])


def test_trie_refuses_a_vocabulary_too_large_for_its_ids(core: Any) -> None:
    from fastembed_static._model_files import UNIGRAM_MAX_ROWS

    with pytest.raises(ValueError, match="too large"):
        core.Trie(["a"] * 0x10FFFF)
    # A model folder never gets this far: model.json's check refuses such a vocabulary, naming the file.
    assert UNIGRAM_MAX_ROWS == core.TRIE_EMPTY == 0x10FFFF


def _hf_unigram(vocab: list[tuple[str, float]], byte_fallback: bool) -> Any:
    from tokenizers import Tokenizer, models, pre_tokenizers

    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=0, byte_fallback=byte_fallback))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    return tokenizer


@pytest.mark.parametrize("byte_fallback", [False, True])
def test_viterbi_ties_unknowns_and_bytes_equal_tokenizers(core: Any, byte_fallback: bool) -> None:
    """Random small vocabularies over a, b, c, é with integer scores (equal sums are exact ties, and common): ids
    of random strings (with d, ß and 😀 outside the vocabulary, alone and in runs) equal tokenizers' ids."""
    rng = random.Random(7 + byte_fallback)
    letters = "abcé"
    for round_ in range(30):
        pieces = {"".join(rng.choices(letters, k=rng.randint(1, 4))) for _ in range(rng.randint(5, 40))}
        pieces |= {"\u2581" + p for p in rng.sample(sorted(pieces), k=len(pieces) // 3)}
        pieces |= {"\u2581", "a"} if round_ % 2 else set()
        vocab = [("<unk>", 0.0)] + [(p, float(-rng.randint(1, 4))) for p in sorted(pieces)]
        if byte_fallback:  # the bytes of d and of ß (c3 9f), not those of the emoji
            vocab += [(f"<0x{b:02X}>", -5.0) for b in (0x64, 0xC3, 0x9F)]
        if round_ % 3 == 0:
            vocab.append((vocab[3][0], -1.0))  # a token listed twice
        hf = _hf_unigram(vocab, byte_fallback)
        ours = core.UnigramTokenizer(
            tokens=[t for t, _ in vocab],
            scores=[s for _, s in vocab],
            unk_id=0,
            byte_fallback=byte_fallback,
            added_tokens=[],
            normalize=lambda text: text,
            whitespace_split=False,
            replacement="\u2581",
            prepend=True,
            split=True,
            truncate_to=-1,
            truncate_left=False,
        )
        texts = ["".join(rng.choices(letters + "dß😀 ", k=rng.randint(1, 25))) for _ in range(300)]
        texts += ["dd", "d", "ßd😀", "a d b", "\u2581", "<unk>", "<0x64>"]
        for text in texts:
            expected = hf.encode(text, add_special_tokens=False).ids
            assert ours.encode(text) == expected, (text, vocab)


def test_cluster_test_agrees_on_every_longer_key() -> None:
    """The charsmap's cheap test (a one-character key before a cluster extender, or two characters that begin a
    longer key) sends text to the whole-cluster path whenever it matters: every multi-character key of the
    XLM-R charsmap, alone, between letters and before a combining mark, normalizes as tokenizers' Precompiled."""
    from tokenizers.normalizers import Precompiled

    blob = base64.b64decode(_converted()["normalizer"]["precompiled_charsmap"])
    hf = Precompiled(blob)
    keys = _precompiled.mapping(blob)
    charsmap = _precompiled.Charsmap(keys)
    longer = [k for k in keys if len(k) > 1]
    assert len(longer) > 200_000
    texts = [t for k in longer[::3] for t in (k, "x" + k + "y", k + "\u0301", "\u0915" + k)]
    wrong = [t for t in texts if charsmap.normalize(t) != hf.normalize_str(t)]
    assert not wrong, f"{len(wrong)} differ, first {wrong[0]!r}"
