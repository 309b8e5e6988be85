"""Hard inputs for tokenizer parity: every code point, random mixed scripts, stacked marks, controls, long words,
special tokens written in text. Deterministic (fixed seeds)."""

from __future__ import annotations

import random

MAX_CP = 0x10FFFF
SURROGATES = range(0xD800, 0xE000)

SCRIPT_RANGES = [
    (0x0020, 0x007E),
    (0x00A0, 0x024F),
    (0x0370, 0x03FF),
    (0x0400, 0x04FF),
    (0x0590, 0x05FF),
    (0x0600, 0x06FF),
    (0x0900, 0x097F),
    (0x0E00, 0x0E7F),
    (0x1100, 0x11FF),
    (0x1E00, 0x1EFF),
    (0x2000, 0x206F),
    (0x2E80, 0x2FDF),
    (0x3000, 0x30FF),
    (0x4E00, 0x9FFF),
    (0xAC00, 0xD7A3),
    (0xF900, 0xFAFF),
    (0xFE00, 0xFE6F),
    (0xFF00, 0xFFEF),
    (0x1F300, 0x1F6FF),
    (0x20000, 0x2A6DF),
    (0x0300, 0x036F),
    (0x1D400, 0x1D7FF),
    (0xE000, 0xE0FF),
    (0x10000, 0x1007F),
]
COMBINING = [
    *range(0x0300, 0x0370),
    *range(0x0591, 0x05C8),
    *range(0x0610, 0x061B),
    *range(0x1AB0, 0x1AC0),
    *range(0x1DC0, 0x1E00),
    *range(0x20D0, 0x20F1),
    *range(0xFE20, 0xFE30),
    *range(0x1D165, 0x1D16A),
    *range(0x1D16D, 0x1D173),
    *range(0x1D17B, 0x1D183),
    0x0E31,
    *range(0x0E34, 0x0E3B),
    0x093C,
    0x094D,
]
CONTROL_AND_FORMAT = [
    *range(0x00, 0x20),
    0x7F,
    *range(0x80, 0xA0),
    0xAD,
    *range(0x600, 0x606),
    0x61C,
    0x6DD,
    0x70F,
    0x180E,
    *range(0x200B, 0x2010),
    *range(0x202A, 0x202F),
    *range(0x2060, 0x2070),
    0xFEFF,
    *range(0xFFF9, 0xFFFC),
    0xFFFD,
    0x110BD,
    *range(0x1D173, 0x1D17B),
    0xE0001,
    *range(0xE0020, 0xE0080),
    0x85,
    0xA0,
    0x1680,
    *range(0x2000, 0x200B),
    0x2028,
    0x2029,
    0x202F,
    0x205F,
    0x3000,
]


def every_code_point_alone() -> list[str]:
    """Each code point between two letters, so its class (word, punctuation, space, removed) shows."""
    return [f"a{chr(cp)}b" for cp in range(MAX_CP + 1) if cp not in SURROGATES]


def every_code_point_in_runs(run: int = 16) -> list[str]:
    """Runs of consecutive code points: neighbours interact (marks after bases, CJK padding, case maps)."""
    cps = [cp for cp in range(MAX_CP + 1) if cp not in SURROGATES]
    return ["".join(map(chr, cps[i : i + run])) for i in range(0, len(cps), run)]


def random_mixed_script(count: int = 5000, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        chars = []
        for _ in range(rng.randint(1, 60)):
            lo, hi = rng.choice(SCRIPT_RANGES)
            chars.append(chr(rng.randint(lo, hi)))
            if rng.random() < 0.15:
                chars.append(" ")
        texts.append("".join(chars))
    return texts


def stacked_marks(count: int = 3000, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    bases = "aeiouAEIOUnNcCxz\u0628\u05d0\u0915\u0e01\u4e2d\uac00 1"
    texts = []
    for _ in range(count):
        words = []
        for _ in range(rng.randint(1, 4)):
            word = ""
            for _ in range(rng.randint(1, 5)):
                word += rng.choice(bases) + "".join(chr(rng.choice(COMBINING)) for _ in range(rng.randint(0, 8)))
            words.append(word)
        texts.append(" ".join(words))
    return texts


def reordered_marks(count: int = 4000, seed: int = 17) -> list[str]:
    """Marks that HF's NFD reorders and strip_accents keeps (musical stems, Hangul tone marks, marks newer than
    HF's category table), stacked in random order with deleted marks, deleted starters and removed controls."""
    rng = random.Random(seed)
    keep = [
        0x1D165,
        0x1D166,
        0x1D16D,
        0x1D16E,
        0x1D16F,
        0x1D170,
        0x1D171,
        0x1D172,
        0x302E,
        0x302F,
        0x1B44,
        0x1E012,
        0x1E017,
        0x1E01F,
        0x116B6,
        0x1DF6,
        0x0898,
        0x089C,
        0x08CA,
        0x1D15F,
        0x1D160,
    ]
    other = [0x0301, 0x0316, 0x033C, 0x034F, 0xFE0F, 0x093E, 0x200B, 0x00AD, 0x0000]
    bases = "a\uac00\u1100k1 "
    texts = []
    for _ in range(count):
        chars = [rng.choice(bases)]
        for _ in range(rng.randint(2, 8)):
            chars.append(chr(rng.choice(keep) if rng.random() < 0.7 else rng.choice(other)))
        texts.append("".join(chars) + rng.choice(["", "b", " x", "[MASK]"]))
    return texts


def controls_and_format(seed: int = 13) -> list[str]:
    rng = random.Random(seed)
    texts = [f"word{chr(cp)}word {chr(cp)}x" for cp in CONTROL_AND_FORMAT]
    texts += ["".join(chr(rng.choice(CONTROL_AND_FORMAT)) + rng.choice("abc ,") for _ in range(20)) for _ in range(500)]
    return texts


def long_words() -> list[str]:
    texts = []
    for n in (98, 99, 100, 101, 102, 150, 1000):
        texts += ["a" * n, "hello " + "b" * n + " world", "é" * n, "x" * (n - 1) + "\u0301", "中" * n, "İ" * n]
        texts += ["ab" * (n // 2) + "!" + "cd" * (n // 2), "\u00df" * n, "\ufb01" * n]
    texts.append("supercalifragilisticexpialidocious" * 4)
    texts.append("antidisestablishmentarianism" * 10)
    return texts


def special_tokens_in_text() -> list[str]:
    return [
        "[MASK]",
        "[CLS] hello [SEP]",
        "x[MASK]y",
        "[mask]",
        "[MASK[MASK]]",
        "[UNK]",
        "[PAD][PAD]",
        "[CLS][SEP][MASK][UNK][PAD]",
        "the [MASK] sat on the [MASK].",
        "[ MASK ]",
        "[MASK ]",
        "[SEP]é[SEP]",
        "[[CLS]]",
        "[CLS",
        "CLS]",
        "ＭＡＳＫ [MASK]",
        "[MASK]\u0301",
        "a\u0000[SEP]\u0000b",
        "[UNUSED0] [unused0]",
        "[MASK]" * 50,
    ]


def all_stress_sets() -> dict[str, list[str]]:
    return {
        "random mixed script": random_mixed_script(),
        "stacked combining marks": stacked_marks(),
        "marks that NFD reorders": reordered_marks(),
        "control and format characters": controls_and_format(),
        "words over 100 characters": long_words(),
        "special tokens in text": special_tokens_in_text(),
        "every code point in runs of 16": every_code_point_in_runs(),
    }
