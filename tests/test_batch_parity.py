"""Issue 16: the batch engine (the chunk cache and the thread pool) is exact for any cache state, any input and any
thread count. Differential tests on seeded random corpora built from real text: the batch path's token ids equal HF
``tokenizers`` (the real tokenizer in tests/data) text by text, and batch ``encode`` equals per-text ``encode``
row by row, cold (a fresh model) and warm, across cache resets (the table's limit lowered, resets counted)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fastembed_static import StaticModel
from fastembed_static._chunks import KEY_CHARS, ChunkCache

from .helpers import gooaq_queries, pep_paragraphs
from .stress_texts import random_mixed_script

SEED = 1616

# Real code point ranges of scripts written with and without spaces between words.
SCRIPTS = {
    "cjk": [(0x4E00, 0x9FFF)],
    "kana": [(0x3041, 0x3096), (0x30A1, 0x30FA)],
    "hangul": [(0xAC00, 0xD7A3)],
    "thai": [(0x0E01, 0x0E30), (0x0E40, 0x0E46)],
    "arabic": [(0x0621, 0x063A), (0x0641, 0x064A)],
    "hebrew": [(0x05D0, 0x05EA)],
    "cyrillic": [(0x0410, 0x044F)],
    "greek": [(0x0391, 0x03A9), (0x03B1, 0x03C9)],
    "devanagari": [(0x0905, 0x0939), (0x093E, 0x094C)],
    "latin-accented": [(0x00C0, 0x00FF), (0x0100, 0x017F)],
    "emoji": [(0x1F600, 0x1F64F)],
    "cjk-ext-b": [(0x20000, 0x2A6DF)],
}


@pytest.fixture(scope="module")
def words() -> list[str]:
    """The distinct words of the GooAQ queries and the PEPs (real text)."""
    seen = {w for q in gooaq_queries() for w in q.split()}
    seen.update(w for p in pep_paragraphs()[:3000] for w in p.split())
    return sorted(seen)


def fresh(path: Path) -> StaticModel:
    return StaticModel.from_pretrained(path)


def chunk_cache(model: StaticModel) -> ChunkCache:
    cache = model._chunks
    assert cache is not None, "the model's tokenizer should use the chunk cache"
    return cache


def hf_ids(hf: Any, texts: list[str]) -> list[list[int]]:
    return [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]


def split(ids: np.ndarray, counts: np.ndarray) -> Iterator[list[int]]:
    ends = np.cumsum(counts)
    for end, count in zip(ends.tolist(), counts.tolist()):
        yield ids[end - count : end].tolist()


def assert_batch_ids_match_hf(cache: ChunkCache, hf: Any, texts: list[str]) -> int:
    """The chunk cache's ids for the whole batch equal HF's for each text; returns how many texts were compared."""
    ids, counts = cache.encode_batch(texts)
    assert len(counts) == len(texts)
    expected = hf_ids(hf, texts)
    wrong = [i for i, (got, want) in enumerate(zip(split(ids, counts), expected)) if got != want]
    assert not wrong, f"{len(wrong)} of {len(texts)} texts differ from HF tokenizers, first: {texts[wrong[0]]!r:.200}"
    return len(texts)


def assert_encode_matches_per_text(model: StaticModel, texts: list[str], threads: int, sample: int = 1) -> int:
    """Batch ``encode`` equals per-text ``encode`` (every ``sample``-th row), bit for bit."""
    batch = model.encode(texts, threads=threads, normalize=False)
    rows = range(0, len(texts), sample)
    single = np.stack([model.encode(texts[i], normalize=False) for i in rows])
    wrong = np.flatnonzero(~(batch[list(rows)] == single).all(axis=1))
    assert len(wrong) == 0, f"{len(wrong)} of {len(rows)} vectors differ, first text: {texts[rows[wrong[0]]]!r:.200}"
    return len(rows)


def random_word(rng: random.Random) -> str:
    """A word no vocabulary has whole: random letters, sometimes with a few characters of another script."""
    letters = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 12)))
    if rng.random() < 0.2:
        lo, hi = rng.choice(SCRIPTS[rng.choice(sorted(SCRIPTS))])
        letters += "".join(chr(rng.randint(lo, hi)) for _ in range(rng.randint(1, 4)))
    return letters


def reset_corpus(rng: random.Random, words: list[str], texts: int, new: int, common: int) -> list[str]:
    """``texts`` texts of ``new`` random new words and ``common`` real words, shuffled (the issue's corpus)."""
    out = []
    for _ in range(texts):
        parts = [random_word(rng) for _ in range(new)] + rng.sample(words, common)
        rng.shuffle(parts)
        out.append(" ".join(parts))
    return out


# ---------------------------------------------------------------------------------------------- cache resets


@pytest.mark.parametrize("threads", [1, 2])
def test_batches_stay_exact_across_cache_resets(
    mrl_generated: Path, hf_mrl_tokenizer: Any, words: list[str], threads: int
) -> None:
    """Case 1: with the table's limit lowered, batches of texts with many new chunks cross several resets; every
    vector still equals per-text encode and every text's batch ids equal HF's."""
    model = fresh(mrl_generated)
    cache = chunk_cache(model)
    cache.limit = 3000
    rng = random.Random(SEED + threads)
    compared = 0
    for _ in range(6):
        texts = reset_corpus(rng, words, 400, 10, 10)
        compared += assert_encode_matches_per_text(model, texts, threads)
    assert cache.resets >= 6, f"only {cache.resets} resets: the test did not cross the limit"
    for _ in range(3):
        texts = reset_corpus(rng, words, 400, 10, 10)
        compared += assert_batch_ids_match_hf(cache, hf_mrl_tokenizer, texts)
    assert cache.resets >= 9
    assert compared == 3600


def test_reset_keeps_exact_with_default_limit_crossed(mrl_generated: Path, hf_mrl_tokenizer: Any) -> None:
    """A batch that fills the table at its real limit (no hook): the batch crossing the reset is still exact."""
    model = fresh(mrl_generated)
    cache = chunk_cache(model)
    rng = random.Random(SEED)
    filler = [" ".join(f"x{i:07d}" for i in range(start, start + 5000)) for start in range(0, cache.limit - 5000, 5000)]
    filler[0] += " the of and what is"  # found in the old table by the batch that starts the new one
    cache.encode_batch(filler)  # (almost) every chunk new: the table is nearly full
    assert cache.resets == 0 and len(cache.table.k0) > cache.limit - 5000
    texts = [" ".join(random_word(rng) for _ in range(40)) + " the of and what is" for _ in range(300)]
    assert_batch_ids_match_hf(cache, hf_mrl_tokenizer, texts)
    assert cache.resets == 1


# ------------------------------------------------------------------------------------ scripts, chunk lengths


def script_texts(rng: random.Random) -> list[str]:
    """For each script: sentences of words with spaces, and runs with none (as CJK, Thai, Japanese are written)."""
    texts = []
    for ranges in SCRIPTS.values():
        for spaced in (True, False):
            for _ in range(20):
                word_list = []
                for _ in range(rng.randint(1, 30)):
                    lo, hi = rng.choice(ranges)
                    word_list.append("".join(chr(rng.randint(lo, hi)) for _ in range(rng.randint(1, 8))))
                texts.append((" " if spaced else "").join(word_list))
    return texts


def lengths_texts(rng: random.Random) -> list[str]:
    """Chunks of every length 1..60 bytes, around the 23-byte key limit: ASCII letters and punctuation, and
    characters of 2, 3 and 4 bytes mixed to reach each byte length exactly."""
    by_size = {1: "abcxyz.,!", 2: "éßжשع", 3: "中文ไทยअ", 4: "😀𠀋"}
    texts = []
    for n in range(1, 61):
        for _ in range(6):
            chunk, left = "", n
            while left:
                size = rng.choice([s for s in by_size if s <= left])
                chunk += rng.choice(by_size[size])
                left -= size
            assert len(chunk.encode("utf-8")) == n
            texts.append(chunk)
            texts.append(f"{chunk} {chunk[::-1]} ok")
    assert any(len(t.encode()) == KEY_CHARS for t in texts)
    return texts


def special_texts(rng: random.Random) -> list[str]:
    """Texts from the issue and odd shapes: long URLs, one long word, chunks that give no tokens at all."""
    urls = [
        "https://example.com/" + "/".join(random_word(rng) for _ in range(rng.randint(3, 12))) + "?q=1&x=2"
        for _ in range(30)
    ]
    return [
        *urls,
        "a" * 2000,
        "b" * 30,
        "\u0301\u0302 \u0301",  # combining marks only: stripped, no tokens
        "\x00\x01 \x7f",  # controls only: cleaned, no tokens
        "",
        "   ",
        *random_mixed_script(200, seed=SEED),
    ]


CORPORA = {
    "scripts": script_texts,
    "chunk-lengths": lengths_texts,
    "special": special_texts,
}


@pytest.mark.parametrize("name", sorted(CORPORA))
def test_cold_and_warm_batches_match_hf(mrl_generated: Path, hf_mrl_tokenizer: Any, name: str) -> None:
    """Case 2: on a fresh model (an empty table) and then warm, the batch path gives HF's ids for every text and
    per-text encode's vectors, whether or not the batch has any chunk short enough for the table."""
    texts = CORPORA[name](random.Random(SEED))
    assert_batch_ids_match_hf(chunk_cache(fresh(mrl_generated)), hf_mrl_tokenizer, texts)  # cold
    model = fresh(mrl_generated)
    assert_encode_matches_per_text(model, texts, threads=2)  # cold, then warm:
    assert_encode_matches_per_text(model, texts[::-1], threads=1)
    assert_batch_ids_match_hf(chunk_cache(model), hf_mrl_tokenizer, texts)


@pytest.mark.parametrize(
    "texts",
    [
        ["a" * 2000, "b" * 30],
        ["東京は日本の首都であり、世界最大の都市圏の一つです。"] * 20,
        ["https://example.com/" + "segment/" * 40] * 20,
    ],
    ids=["long-words", "japanese", "url"],
)
def test_batch_without_short_chunks_on_a_fresh_model(mrl_generated: Path, texts: list[str]) -> None:
    """The issue's reproductions of case 2 (an IndexError on main), with the bundled default model too."""
    for model in (fresh(mrl_generated), StaticModel.default()):
        batch = model.encode(texts, normalize=False)
        single = np.stack([model.encode(t, normalize=False) for t in texts])
        np.testing.assert_array_equal(batch, single)


def test_no_token_chunks_then_long_chunks(mrl_generated: Path, hf_mrl_tokenizer: Any) -> None:
    """A table whose every entry has no tokens (no ids at all), then a batch whose ids all come from outside it."""
    cache = chunk_cache(fresh(mrl_generated))
    assert_batch_ids_match_hf(cache, hf_mrl_tokenizer, ["\u0301 \u0302\u0303 \x00"] * 20)
    assert len(cache.table.k0) > 0 and len(cache.table.ids) == 0
    assert_batch_ids_match_hf(cache, hf_mrl_tokenizer, ["z" * 40 + " " + "q" * 30] * 20)


def test_shuffled_real_words_many_batches(mrl_generated: Path, hf_mrl_tokenizer: Any, words: list[str]) -> None:
    """Real words (GooAQ, PEPs) shuffled into texts of random lengths with random new words, batch after batch on
    one model with a small limit: every text's ids equal HF's."""
    rng = random.Random(SEED + 7)
    cache = chunk_cache(fresh(mrl_generated))
    cache.limit = 5000
    compared = 0
    for _ in range(8):
        texts = [
            " ".join(rng.choice(words) if rng.random() < 0.8 else random_word(rng) for _ in range(rng.randint(0, 60)))
            for _ in range(500)
        ]
        compared += assert_batch_ids_match_hf(cache, hf_mrl_tokenizer, texts)
    assert cache.resets >= 3 and compared == 4000
