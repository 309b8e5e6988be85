"""The generated per-character tables (``fastembed_static/_char_tables.py``) against the installed ``tokenizers``.

Both the generated module and its generator (``gen/make_char_tables.py``) are loaded from this source tree by
file path, since the installed package may be elsewhere (and does not ship the generator's probes).
"""

from __future__ import annotations

import importlib.util
import random
import sys
from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property
from itertools import product
from pathlib import Path
from types import ModuleType

import pytest
import tokenizers
from tokenizers.normalizers import BertNormalizer
from tokenizers.pre_tokenizers import BertPreTokenizer

REPO = Path(__file__).resolve().parents[1]
TABLES_PATH = REPO / "fastembed_static" / "_char_tables.py"
SCRIPT_PATH = REPO / "gen" / "make_char_tables.py"
CODE_POINTS = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
SEED = 20261126


def load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


# Private names: registering them as fastembed_static._char_tables would shadow the installed package's module.
T = load("_char_tables_under_test", TABLES_PATH)


def member(cp: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    i = bisect_right(ranges, (cp, 0x110000)) - 1
    return i >= 0 and ranges[i][0] <= cp <= ranges[i][1]


@dataclass(frozen=True)
class Config:
    clean: bool
    chinese: bool
    strip: bool | None  # None: follows lowercase, as in BertNormalizer
    lower: bool

    @property
    def strips(self) -> bool:
        return self.lower if self.strip is None else self.strip

    @cached_property
    def hf(self) -> BertNormalizer:
        return BertNormalizer(
            clean_text=self.clean, handle_chinese_chars=self.chinese, strip_accents=self.strip, lowercase=self.lower
        )


FULL = Config(clean=True, chinese=True, strip=None, lower=True)
CONFIGS = [Config(*flags) for flags in product((False, True), (False, True), (None, False, True), (False, True))]


def compose(ch: str, config: Config) -> str:
    """One character through the tables in the order clean_text -> chinese -> strip_accents -> lowercase."""
    cp = ord(ch)
    out = ch
    if config.clean:
        if member(cp, T.CLEAN_REMOVE):
            return ""
        if member(cp, T.CLEAN_TO_SPACE):
            out = " "
    if config.chinese and member(cp, T.CHINESE):
        out = f" {out} "
    if config.strips:
        out = "".join("" if member(ord(c), T.STRIP_DELETE) else T.STRIP_MAP.get(ord(c), c) for c in out)
    if config.lower:
        out = "".join(T.LOWER_MAP.get(ord(c), c) for c in out)
    return out


def normalize(text: str, config: Config) -> str:
    """Per-character composition plus the canonical reordering rule described in the generated module."""
    chars: list[str | None] = []  # None: an invisible end of a run of marks
    for ch in text:
        cp = ord(ch)
        if config.strips and member(cp, T.STRIP_DELETE_STARTERS) and not (config.clean and member(cp, T.CLEAN_REMOVE)):
            chars.append(None)
        else:
            chars.extend(compose(ch, config))
    if not config.strips:
        return "".join(c for c in chars if c is not None)
    out: list[str] = []
    run: list[str] = []
    for c in [*chars, None]:
        if c is not None and ord(c) in T.REORDER_CCC:
            run.append(c)
            continue
        out.extend(sorted(run, key=lambda m: T.REORDER_CCC[ord(m)]))
        run.clear()
        if c is not None:
            out.append(c)
    return "".join(out)


def pretokenize(normalized: str) -> list[str]:
    """BertPreTokenizer pieces from the tables."""
    pieces: list[str] = []
    word = ""
    for ch in normalized:
        special = member(ord(ch), T.PRETOK_WHITESPACE) or member(ord(ch), T.PRETOK_PUNCT)
        if not special:
            word += ch
            continue
        if word:
            pieces.append(word)
            word = ""
        if member(ord(ch), T.PRETOK_PUNCT):
            pieces.append(ch)
    return [*pieces, word] if word else pieces


def mark_related(ch: str) -> bool:
    """A reordered mark, or a character whose strip output contains one."""
    return any(ord(c) in T.REORDER_CCC for c in ch + T.STRIP_MAP.get(ord(ch), ""))


BLOCKS = [
    (0x20, 0x7E),
    (0xA0, 0x24F),
    (0x300, 0x36F),
    (0x370, 0x3FF),
    (0x400, 0x4FF),
    (0x590, 0x6FF),
    (0x900, 0x97F),
    (0xE00, 0xE7F),
    (0x1100, 0x11FF),
    (0x1E00, 0x1EFF),
    (0x2000, 0x206F),
    (0x3000, 0x30FF),
    (0x4E00, 0x4E80),
    (0xAC00, 0xD7A3),
    (0xF900, 0xFAFF),
    (0xFE00, 0xFE0F),
    (0xFF00, 0xFFEF),
    (0x1D400, 0x1D7FF),
    (0x1F300, 0x1F6FF),
    (0x2B800, 0x2B940),
    (0xE0000, 0xE007F),
    (0x0, 0x1F),
]


def mixed_text(rng: random.Random, length: int) -> str:
    chars: list[str] = []
    while len(chars) < length:
        if rng.random() < 0.1:
            cp = rng.choice(CODE_POINTS)
        else:
            start, end = rng.choice(BLOCKS)
            cp = rng.randint(start, end)
        if not mark_related(chr(cp)):
            chars.append(chr(cp))
    return "".join(chars)


# --- (a) the committed module is what the installed tokenizers produce ------------------------------------


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return load("_make_char_tables_under_test", SCRIPT_PATH)


def test_committed_tables_match_installed_tokenizers(script: ModuleType, tmp_path: Path) -> None:
    committed = TABLES_PATH.read_text(encoding="utf-8")
    fresh = script.render_module()  # probes every code point (~20 s)
    # The tables must agree whatever the versions; a different tokenizers/Python version alone only changes the
    # header lines naming them.
    assert script.tables_lines(committed) == script.tables_lines(fresh), (
        f"{TABLES_PATH.name} (from tokenizers=={T.TOKENIZERS_VERSION}) disagrees with the installed "
        f"tokenizers=={tokenizers.__version__}: run python gen/make_char_tables.py --check for a diff"
    )
    if tokenizers.__version__ == T.TOKENIZERS_VERSION and f"on Python {sys.version.split()[0]}." in committed:
        assert committed == fresh

    # --check on the committed text passes, and on a changed copy fails.
    assert script.check(TABLES_PATH, fresh) == 0
    tampered = tmp_path / "_char_tables.py"
    tampered.write_text(committed.replace("(0x3000, 0x3000)", "(0x3000, 0x3001)", 1), encoding="utf-8")
    assert script.check(tampered, fresh) == 1


def test_generated_header() -> None:
    head = TABLES_PATH.read_text(encoding="utf-8").splitlines()[:3]
    assert head[0].startswith("# GENERATED by gen/make_char_tables.py")
    assert head[1].startswith(f"# Probed from tokenizers=={T.TOKENIZERS_VERSION} on Python ")
    assert "python gen/make_char_tables.py" in head[2]


def test_tables_are_well_formed() -> None:
    for name in dir(T):
        value = getattr(T, name)
        if name.isupper() and isinstance(value, tuple):
            assert all(s <= e for s, e in value) and all(a[1] < b[0] for a, b in zip(value, value[1:])), name
    assert all(v and v != chr(k) for k, v in T.STRIP_MAP.items())
    assert all(v and v != chr(k) for k, v in T.LOWER_MAP.items())
    assert sorted(T.REORDER_CCC) == [cp for s, e in T.REORDER_MARKS for cp in range(s, e + 1)]


# --- (b) per-character composition in the order clean -> chinese -> strip -> lower -----------------------


def test_full_config_every_code_point() -> None:
    # (On the current tables the four steps happen to commute for single characters, so this checks the tables
    # rather than the order; the order matters as soon as a step maps into another step's domain.)
    hf = FULL.hf.normalize_str
    bad = [cp for cp in CODE_POINTS if hf(chr(cp)) != compose(chr(cp), FULL)]
    assert not bad, [(hex(cp), hf(chr(cp)), compose(chr(cp), FULL)) for cp in bad[:10]]


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_every_config_on_random_code_points(config: Config) -> None:
    rng = random.Random(SEED)
    sample = rng.sample(CODE_POINTS, 3000) + list(range(0x300)) + [0x130, 0x3A3, 0x1E9E, 0xFB01, 0xF900, 0x2B820]
    bad = [cp for cp in sample if config.hf.normalize_str(chr(cp)) != compose(chr(cp), config)]
    assert not bad, [hex(cp) for cp in bad[:10]]


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_mixed_script_strings_without_reordered_marks(config: Config) -> None:
    """Without two reordered marks in one run, a string normalizes to the concatenation of its characters."""
    rng = random.Random(SEED)
    pre = BertPreTokenizer()
    for _ in range(300):
        text = mixed_text(rng, rng.randint(1, 40))
        expected = "".join(compose(c, config) for c in text)
        got = config.hf.normalize_str(text)
        assert got == expected, ascii(text)
        assert [p for p, _ in pre.pre_tokenize_str(got)] == pretokenize(got), ascii(got)


# --- (c) canonical reordering across characters -----------------------------------------------------------

STEM, AUG_DOT, FLAG1 = "\U0001d165", "\U0001d16d", "\U0001d16e"  # ccc 216, 226, 216 (spacing marks, kept)
HEAD, QUARTER_NOTE = "\U0001d158", "\U0001d15f"  # BLACK NOTEHEAD; QUARTER NOTE = BLACK NOTEHEAD + STEM
ADEG, TONE = "\u1b44", "\u302e"  # BALINESE ADEG ADEG (ccc 9), HANGUL SINGLE DOT TONE MARK (ccc 224), both kept
NO_NORMALIZATION = Config(False, False, False, False)
STRIP_ONLY = Config(False, False, True, False)
NO_STRIP = Config(True, True, False, True)
CASES = [
    # (text, config, what per-character composition gives, what HF gives)
    # Stacked nonspacing marks: NFD reorders them, but strip_accents deletes them; without it there is no NFD.
    ("a\u0301\u0316", FULL, "a", "a"),
    ("a\u0316\u0301", NO_NORMALIZATION, "a\u0316\u0301", "a\u0316\u0301"),
    # Kept marks of different characters are sorted by class.
    (HEAD + AUG_DOT + STEM, FULL, HEAD + AUG_DOT + STEM, HEAD + STEM + AUG_DOT),
    (QUARTER_NOTE + ADEG, FULL, HEAD + STEM + ADEG, HEAD + ADEG + STEM),
    ("\uac00" + TONE + ADEG, FULL, "\u1100\u1161" + TONE + ADEG, "\u1100\u1161" + ADEG + TONE),
    # A deleted nonspacing mark with a class does not end the run; a deleted starter (CGJ, ccc 0) does.
    (HEAD + AUG_DOT + "\u0301" + STEM, FULL, HEAD + AUG_DOT + STEM, HEAD + STEM + AUG_DOT),
    (HEAD + AUG_DOT + "\u034f" + STEM, FULL, HEAD + AUG_DOT + STEM, HEAD + AUG_DOT + STEM),
    # clean_text deletes U+200B before NFD, so it does not end the run; kept (no clean_text), it does.
    (AUG_DOT + "\u200b" + FLAG1, FULL, AUG_DOT + FLAG1, FLAG1 + AUG_DOT),
    (AUG_DOT + "\u200b" + FLAG1, STRIP_ONLY, AUG_DOT + "\u200b" + FLAG1, AUG_DOT + "\u200b" + FLAG1),
    # Without strip_accents there is no NFD, so nothing is reordered.
    (HEAD + AUG_DOT + STEM, NO_STRIP, HEAD + AUG_DOT + STEM, HEAD + AUG_DOT + STEM),
    # U+1DF6 has ccc 232 in Python's Unicode data but is unknown to HF's NFD table (ccc 0 there): no reordering.
    ("a\u1df6" + STEM, FULL, "a\u1df6" + STEM, "a\u1df6" + STEM),
]


@pytest.mark.parametrize("text, config, per_char, hf", CASES, ids=[ascii(case[0]) for case in CASES])
def test_reordering_cases(text: str, config: Config, per_char: str, hf: str) -> None:
    assert "".join(compose(c, config) for c in text) == per_char
    assert config.hf.normalize_str(text) == hf
    assert normalize(text, config) == hf


@pytest.mark.parametrize("config", [c for c in CONFIGS if c.strips], ids=str)
def test_reordering_random_strings(config: Config) -> None:
    """Strings dense in reordered marks, deleted marks, deleted starters, controls, CJK and punctuation."""
    rng = random.Random(SEED)
    marks = [chr(cp) for cp in T.REORDER_CCC]
    starters = [chr(cp) for s, e in T.STRIP_DELETE_STARTERS for cp in range(s, e + 1)]
    deleted = [chr(cp) for s, e in T.STRIP_DELETE for cp in range(s, e + 1)]
    notes = [chr(cp) for cp in T.STRIP_MAP if mark_related(chr(cp))]
    others = list("aZ\xe9\u0130\uac00\u4e00\u200b\x00\t ,.") + ["\u034f", "\u1df6", "\ufe0f", "\U000e0001"]
    pool = marks * 3 + starters + deleted + notes * 3 + others * 4
    for _ in range(3000):
        text = "".join(rng.choices(pool, k=rng.randint(1, 10)))
        assert config.hf.normalize_str(text) == normalize(text, config), ascii(text)
