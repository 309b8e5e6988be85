"""Byte-level BPE (issue 22): token ids identical to HF ``tokenizers`` 0.23.3 on the real GPT-2 tokenizer, for the
compiled core, its pure-Python twin and the readable reference; vectors equal to model2vec and sentence-transformers'
StaticEmbedding; what is not reproduced is refused by name.

``FASTEMBED_STATIC_EXHAUSTIVE=1`` also runs the reference on every code point alone (minutes).
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import lzma
import os
import unicodedata
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import fastembed_static
from fastembed_static import GenerationError, ModelFileError
from fastembed_static._reference_bpe import ReferenceBpe
from fastembed_static._tokenizer_builder import build_tokenizer
from fastembed_static.gen.bpe_spec import BpeSpec
from fastembed_static.gen.tokenizer_spec import read_tokenizer

from .helpers import DATA, gooaq_queries, pep_paragraphs, pure_core, random_table, write_safetensors
from .multilingual import load_multilingual
from .stress_texts import all_stress_sets

GPT2_XZ = DATA / "gpt2" / "tokenizer.json.xz"
EXHAUSTIVE = os.environ.get("FASTEMBED_STATIC_EXHAUSTIVE") == "1"
DIM = 256  # a static model distilled from GPT-2 (model2vec's default width)
Encode = Callable[[str], list[int]]


def gpt2_json() -> dict[str, Any]:
    """The real GPT-2 tokenizer.json, parsed (a fresh copy each call: tests change it)."""
    with lzma.open(GPT2_XZ, "rt", encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


_GPT2 = gpt2_json()


def untruncated(data: dict[str, Any]) -> dict[str, Any]:
    """The file as saved truncates at 50 tokens; parity on whole texts needs it off."""
    data = copy.deepcopy(data)
    data["truncation"] = None
    return data


def write_json(folder: Path, data: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tokenizer.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


class Cores:
    """HF tokenizers and the three implementations here, built from one tokenizer.json."""

    def __init__(self, path: Path, pure: ModuleType) -> None:
        from tokenizers import Tokenizer

        self.hf = Tokenizer.from_file(str(path))
        spec = read_tokenizer(path)
        assert isinstance(spec, BpeSpec)
        config, extras = spec.metadata(), spec.vocab_extras()
        self.compiled = build_tokenizer(config, spec.tokens, extras=extras)
        self.pure = build_tokenizer(config, spec.tokens, pure.BpeTokenizer, extras=extras)
        merges = [(spec.tokens[a], spec.tokens[b]) for a, b in spec.merges]
        self.reference = ReferenceBpe(config, spec.tokens, merges)

    def expected(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.hf.encode_batch(texts, add_special_tokens=False)]

    def check(self, texts: list[str], *, reference: bool = True, pure: bool = True) -> int:
        """Assert every core gives HF's ids for every text; the number of texts checked."""
        expected = self.expected(texts)
        named: list[tuple[str, Encode]] = [("compiled core", self.compiled.encode)]
        if pure:
            named.append(("pure-Python core", self.pure.encode))
        if reference:
            named.append(("reference", self.reference.encode))
        for name, encode in named:
            for text, ids in zip(texts, expected):
                assert encode(text) == ids, f"{name} differs from tokenizers on {text[:80]!r}"
        ids_flat: list[int] = []
        lengths: list[int] = []
        self.compiled.encode_batch(texts, ids_flat, lengths)
        assert lengths == [len(e) for e in expected] and ids_flat == [i for e in expected for i in e]
        return len(texts)


@pytest.fixture(scope="module")
def pure_bpe_module() -> ModuleType:
    """The BPE core as plain Python, even when the .so is in use."""
    return pure_core("_bpe")


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory: pytest.TempPathFactory, pure_bpe_module: ModuleType) -> Cores:
    return Cores(write_json(tmp_path_factory.mktemp("gpt2"), untruncated(_GPT2)), pure_bpe_module)


def test_the_real_file_is_gpt2s_byte_level_bpe() -> None:
    assert _GPT2["model"]["type"] == "BPE" and len(_GPT2["model"]["vocab"]) == 50257
    assert len(_GPT2["model"]["merges"]) == 50000 and isinstance(_GPT2["model"]["merges"][0], str)
    assert _GPT2["pre_tokenizer"]["type"] == "ByteLevel" and _GPT2["normalizer"] is None


def test_english_text(gpt2: Cores) -> None:
    texts = gooaq_queries()[:3000] + pep_paragraphs()[::10]
    assert gpt2.check(texts) > 3000


def test_multilingual_text(gpt2: Cores) -> None:
    """Every language of the real translations (34 languages, 19 scripts); the reference on every 4th text."""
    texts = load_multilingual()
    assert len(texts) >= 20
    for lang, items in texts.items():
        gpt2.check(items, reference=False)
        gpt2.check(items[::4])
        assert items, lang


def test_every_code_point_alone_and_in_runs(gpt2: Cores) -> None:
    singles = [chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
    gpt2.check(singles, reference=EXHAUSTIVE, pure=EXHAUSTIVE)  # the compiled core on all of them
    if not EXHAUSTIVE:
        gpt2.check(singles[::97])
        gpt2.check(singles[1::7], reference=False)
    # Runs of 64 consecutive code points, and the same runs with spaces, digits and letters between them.
    runs = ["".join(singles[i : i + 64]) for i in range(0, len(singles), 64)]
    mixed = [" ".join(singles[i : i + 16]) + " 1a" for i in range(0, len(singles), 997)]
    gpt2.check(runs[::3] + mixed)
    gpt2.check(runs[1::3] + runs[2::3], reference=False)


ADVERSARIAL = [
    "",
    " ",
    "  ",
    "\n",
    "It's what they'll've done: I'm sure he'd say 'twas theirs, we're... DON'T ' s 'S 'll",
    "'s's's 's ''s '''",
    "123 4567 89012345678901234567890 1,000,000.00 3.14159 -7 +8 ½ ² ٣ ४ 〇",
    "a" * 300,
    "ab" * 200 + "?" * 100,
    " " * 300 + "x" + " " * 300,
    "\n" * 200 + "\t \t" * 50 + "\r\n" * 50,
    "x \n y\t\tz   w    \u00a0\u2003v\u3000u\u0085t\u1680s\u2028r\u2029q",
    "\x1c\x1d\x1e\x1f a\x1cb \x0b\x0c",
    "Москва Αθήνα القاهرة ירושלים दिल्ली กรุงเทพฯ 東京 서울 Zürich naïve façade",
    "日本語のテキストと English と 한국어 mixed12ab",
    "😀😃😄 👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️ ©®™ ⌘",
    "e\u0301 a\u0308 \u1e9b\u0323 \u0915\u093f \u0e01\u0e34 ︎ ̀\u0300\u0300",
    "<|endoftext|>",
    "a<|endoftext|>b <|endoftext|><|endoftext|> <|endoftext|>",
    "<|endoftext",
    "\uffff\U0010ffff\U000e0001\ufeff\u200b\u200d",
    "ǅ ǈ İ ẞ ß Σ ς ΑΣ",
    "http://example.com/a_b-c?d=e&f=g#h @user #tag $100 50% a+b=c",
    "\U0001c89a \u1c89\u1c8a \U00010d40\U00010d41",
]


LONG = ["a" * 20000, "ab" * 10000, "x" + " " * 20000 + "y", "\n" * 10000, "ab1" * 5000, "\u00e9" * 8000]


def test_adversarial_strings(gpt2: Cores) -> None:
    gpt2.check(ADVERSARIAL)
    gpt2.check(LONG, reference=False)  # the reference's merge loop is quadratic: long runs take it minutes


def test_stress_sets(gpt2: Cores) -> None:
    """The WordPiece tests' stress sets (long words, combining marks, whitespace kinds, ...)."""
    for name, texts in all_stress_sets().items():
        gpt2.check(texts, reference=False)
        assert gpt2.check(texts[::7]) or not texts, name


def test_code_points_newer_than_pythons_unicode_follow_tokenizers(gpt2: Cores) -> None:
    """Oniguruma in tokenizers 0.23.3 knows Unicode 16; Python 3.11's unicodedata knows 14.0. Characters assigned
    since (unassigned, category Cn, for Python) are letters / digits for tokenizers, and so they are here."""
    from fastembed_static._bytelevel_tables import LETTERS, NUMBERS

    def members(ranges: tuple[tuple[int, int], ...]) -> set[int]:
        return {cp for start, end in ranges for cp in range(start, end + 1)}

    letters, numbers = members(LETTERS), members(NUMBERS)
    newer = [cp for cp in letters | numbers if unicodedata.category(chr(cp)) == "Cn"]
    assert len(newer) > 9000, "Unicode 15 and 16 added thousands of letters (CJK extensions, new scripts)"
    assert unicodedata.unidata_version != "16.0.0" or not newer
    tje, garay_zero = "\u1c89", "\U00010d40"  # CYRILLIC CAPITAL LETTER TJE, GARAY DIGIT ZERO: Unicode 16.0
    assert unicodedata.category(tje) == unicodedata.category(garay_zero) == "Cn"
    assert ord(tje) in letters and ord(garay_zero) in numbers
    for text, pieces in ((" a" + tje + "b", 1), (" 1" + garay_zero + "2", 1), (tje + garay_zero, 2)):
        assert len(gpt2.hf.pre_tokenizer.pre_tokenize_str(text)) == pieces, "tokenizers' own split"
    gpt2.check([chr(cp) * 3 + " x" + chr(cp) for cp in sorted(newer)[::50]])


VARIANTS: dict[str, Callable[[dict[str, Any]], None]] = {
    "add_prefix_space": lambda d: d["pre_tokenizer"].update(add_prefix_space=True),
    "no regex": lambda d: d["pre_tokenizer"].update(use_regex=False),
    "Lowercase": lambda d: d.update(normalizer={"type": "Lowercase"}),
    "NFC": lambda d: d.update(normalizer={"type": "NFC"}),
    "Sequence[NFC, Lowercase]": lambda d: d.update(
        normalizer={"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Lowercase"}]}
    ),
    "ignore_merges": lambda d: d["model"].update(ignore_merges=True),
    "merges as pairs": lambda d: d["model"].update(merges=[m.split(" ") for m in d["model"]["merges"]]),
    "dropout 0": lambda d: d["model"].update(dropout=0.0),
    "added token with lstrip false, special false": lambda d: d["added_tokens"].append(
        {
            "id": 50257,
            "content": " the end",
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": False,
        }
    ),
}


VARIANTS_NORMALIZED_TOKENS: dict[str, Callable[[dict[str, Any]], None]] = {
    # <|endoftext|> as saved (normalized=true): matched as its normalized content in the normalized text
    "normalized token, Lowercase": lambda d: d.update(normalizer={"type": "Lowercase"}),
    "normalized token, NFC": lambda d: d.update(normalizer={"type": "NFC"}),
    "normalized and not normalized tokens, Lowercase": lambda d: (
        d.update(normalizer={"type": "Lowercase"}),
        d["added_tokens"].append(
            {
                "id": 50257,
                "content": "<|endoftext|>x",
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
                "special": True,
            }
        ),
        d["added_tokens"].append(
            {
                "id": 50258,
                "content": "THE END",
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": True,
                "special": False,
            }
        ),
    ),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS) + sorted(VARIANTS_NORMALIZED_TOKENS))
def test_options(variant: str, tmp_path: Path, pure_bpe_module: ModuleType) -> None:
    data = untruncated(_GPT2)
    if variant in VARIANTS:
        data["added_tokens"][0]["normalized"] = False
        VARIANTS[variant](data)
    else:
        VARIANTS_NORMALIZED_TOKENS[variant](data)
    cores = Cores(write_json(tmp_path, data), pure_bpe_module)
    langs = load_multilingual()
    texts = ADVERSARIAL + gooaq_queries()[:300] + [t for items in langs.values() for t in items[:40]]
    texts += ["ΑΣ ΣΑΣ ΌΣΟΣ", "İstanbul ǅ ẞ", "e\u0301 \u212b \u1e9b\u0323", "in the end, the end; The End"]
    texts += ["<|ENDOFTEXT|> <|endoftext|>x <|EndOfText|>X the end THE END The End", "a<|endoftext|>"]
    texts += [chr(cp) for cp in range(0, 0x3400, 7)]
    cores.check(texts)


def test_truncation_as_saved(tmp_path: Path, pure_bpe_module: ModuleType) -> None:
    """The real file as saved: truncation at 50 tokens, direction right; and the same with direction left."""
    texts = pep_paragraphs()[:200]
    assert Cores(write_json(tmp_path / "right", _GPT2), pure_bpe_module).check(texts)
    left = copy.deepcopy(_GPT2)
    left["truncation"]["direction"] = "Left"
    assert Cores(write_json(tmp_path / "left", left), pure_bpe_module).check(texts)


def _tiny_bpe(tmp_path: Path, **model: Any) -> Path:
    """A BPE trained by tokenizers' own trainer on real text, with a small alphabet (so unknown characters
    occur), then given the options under test."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=["<unk>"], initial_alphabet=list("abcdefghij Ġ"))
    tokenizer.train_from_iterator(gooaq_queries()[:2000], trainer)
    data = json.loads(tokenizer.to_str())
    vocab = data["model"]["vocab"]
    if model.pop("byte_tokens", False):
        for b in range(0x20, 0x80):  # byte fallback tokens for the printable ASCII bytes only
            vocab.setdefault(f"<0x{b:02X}>", len(vocab))
    data["model"].update(model)
    return write_json(tmp_path, data)


@pytest.mark.parametrize(
    "options",
    [
        {"fuse_unk": False},
        {"fuse_unk": True},
        {"byte_fallback": True, "byte_tokens": True, "fuse_unk": False},
        {"byte_fallback": True, "byte_tokens": True, "fuse_unk": True},
        {"unk_token": None},
    ],
    ids=str,
)
def test_unknowns_and_byte_fallback(options: dict[str, Any], tmp_path: Path, pure_bpe_module: ModuleType) -> None:
    cores = Cores(_tiny_bpe(tmp_path, **options), pure_bpe_module)
    texts = gooaq_queries()[2000:2500] + ADVERSARIAL + ["xyz abcxyzabc zzz a~b~~c", "\u00e9t\u00e9 caf\u00e9"]
    assert cores.check(texts)
    if options.get("unk_token", "<unk>") is not None:
        unk = cores.hf.token_to_id("<unk>")
        assert any(unk in ids for ids in cores.expected(texts)), "the texts hold unknown characters"


def test_prefix_and_suffix(tmp_path: Path, pure_bpe_module: ModuleType) -> None:
    """continuing_subword_prefix / end_of_word_suffix, as tokenizers' trainer writes them."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>", continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    trainer = trainers.BpeTrainer(
        vocab_size=2000,
        special_tokens=["<unk>"],
        continuing_subword_prefix="##",
        end_of_word_suffix="</w>",
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(gooaq_queries()[:3000], trainer)
    cores = Cores(write_json(tmp_path, json.loads(tokenizer.to_str())), pure_bpe_module)
    assert cores.check(gooaq_queries()[3000:4000] + ADVERSARIAL)


# --- generated model folders: vectors -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gpt2_table() -> np.ndarray:
    return random_table(50257, DIM, seed=22)


def _st_folder(root: Path, table: np.ndarray) -> Path:
    root.mkdir(parents=True)
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.StaticEmbedding"}]
    (root / "modules.json").write_text(json.dumps(modules), encoding="utf-8")
    write_json(root, untruncated(_GPT2))
    write_safetensors(root / "model.safetensors", {"embedding.weight": table})
    return root


def _m2v_folder(root: Path, table: np.ndarray, normalize: bool) -> Path:
    root.mkdir(parents=True)
    (root / "config.json").write_text(json.dumps({"model_type": "model2vec", "normalize": normalize}), encoding="utf-8")
    write_json(root, untruncated(_GPT2))
    write_safetensors(root / "model.safetensors", {"embeddings": table})
    return root


def _vector_texts() -> list[str]:
    langs = load_multilingual()
    return (
        gooaq_queries()[:2000]
        + pep_paragraphs()[::20]
        + [t for items in langs.values() for t in items[:60]]
        + ADVERSARIAL
    )


def test_vectors_equal_sentence_transformers(tmp_path: Path, gpt2_table: np.ndarray) -> None:
    from sentence_transformers import SentenceTransformer

    folder = _st_folder(tmp_path / "st", gpt2_table)
    texts = _vector_texts()
    expected = np.asarray(SentenceTransformer(str(folder), device="cpu").encode(texts, batch_size=256))
    model = fastembed_static.StaticModel.from_pretrained(folder, cache_dir=tmp_path / "cache")
    assert model.metadata["tokenizer"]["model"] == "BPE" and model.vocab_size == 50257
    got = model.encode(texts)
    assert got.shape == expected.shape == (len(texts), DIM)
    assert np.abs(got - expected).max() <= 1e-6
    assert not got[len(texts) - len(ADVERSARIAL)].any(), "the empty text gives the zero vector"
    assert model.tokenize("Hello world") == [15496, 995]


@pytest.mark.parametrize("normalize", [False, True])
def test_vectors_equal_model2vec(tmp_path: Path, gpt2_table: np.ndarray, normalize: bool) -> None:
    from model2vec import StaticModel as Reference

    from fastembed_static.model2vec import StaticModel

    folder = _m2v_folder(tmp_path / "m2v", gpt2_table, normalize)
    texts = _vector_texts()
    expected = Reference.from_pretrained(str(folder)).encode(texts)
    dropin = StaticModel.from_pretrained(folder, cache_dir=tmp_path / "cache")
    got = dropin.encode(texts)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert got.tobytes() == expected.tobytes(), f"max abs diff {np.abs(got - expected).max()}"
    model = fastembed_static.StaticModel.from_pretrained(folder, cache_dir=tmp_path / "cache2")
    short = gooaq_queries()[:500]
    assert np.abs(model.encode(short) - Reference.from_pretrained(str(folder)).encode(short)).max() <= 1e-6


def test_generated_folder_round_trip(tmp_path: Path, gpt2_table: np.ndarray) -> None:
    """The generated vocab.py holds MERGES and is read as data; a BPE model re-cut keeps its tokenizer; workers
    (processes) give the same vectors as threads."""
    folder = _st_folder(tmp_path / "st", gpt2_table[:, :32].copy())
    out = tmp_path / "gen"
    fastembed_static.gen.generate(folder, out)
    text = (out / "vocab.py").read_text(encoding="utf-8")
    assert "\nMERGES: Final = '" in text
    model = fastembed_static.StaticModel.from_pretrained(out)
    texts = pep_paragraphs()[:300]
    importlib.import_module("fastembed_static.gen.generator").main(
        [str(out), "--out", str(tmp_path / "cut"), "--dims", "16"]
    )
    cut = fastembed_static.StaticModel.from_pretrained(tmp_path / "cut")
    assert [cut.tokenize(t) for t in texts[:50]] == [model.tokenize(t) for t in texts[:50]]
    np.testing.assert_array_equal(model.encode(texts, workers=2), model.encode(texts))


# --- refusals, by name ----------------------------------------------------------------------------------------


REFUSED: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "dropout": (lambda d: d["model"].update(dropout=0.1), "dropout 0.1"),
    "Split": (
        lambda d: d.update(pre_tokenizer={"type": "Sequence", "pretokenizers": [{"type": "Split"}]}),
        "unsupported pre_tokenizer: 'Sequence'",
    ),
    "BertNormalizer": (
        lambda d: d.update(normalizer={"type": "BertNormalizer", "lowercase": True}),
        "unsupported normalizer 'BertNormalizer'",
    ),
    "regex Replace in a Sequence": (
        lambda d: d.update(
            normalizer={
                "type": "Sequence",
                "normalizers": [{"type": "NFC"}, {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "}],
            }
        ),
        "unsupported Replace pattern {'Regex': '\\\\s+'} in a Sequence",
    ),
    "merge out of vocab": (lambda d: d["model"]["merges"].append("Ġ zzzqq"), "'zzzqq' is not in the vocabulary"),
    "merge of three": (lambda d: d["model"]["merges"].insert(0, "a b c"), "merge 1 'a b c' is not two tokens"),
    "unk not in vocab": (lambda d: d["model"].update(unk_token="<nope>"), "unk_token '<nope>' is not in the vocab"),
    "single_word added token": (lambda d: d["added_tokens"][0].update(single_word=True), "sets single_word=true"),
    "vocab gap": (lambda d: d["model"]["vocab"].update({"Ġthe": 99999}), "without gaps"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_by_name(case: str, tmp_path: Path) -> None:
    data = untruncated(_GPT2)
    change, message = REFUSED[case]
    change(data)
    path = write_json(tmp_path, data)
    with pytest.raises(GenerationError, match=None) as info:
        read_tokenizer(path)
    assert message in str(info.value)


def test_corrupt_bpe_model_json_and_merges_are_refused(tmp_path: Path, gpt2_table: np.ndarray) -> None:
    out = tmp_path / "gen"
    fastembed_static.gen.generate(_st_folder(tmp_path / "st", gpt2_table[:, :8].copy()), out)
    meta = json.loads((out / "model.json").read_text(encoding="utf-8"))
    vocab = (out / "vocab.py").read_text(encoding="utf-8")
    cases: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
        ("model.json", lambda m: m["tokenizer"].update(model="Unigramish"), "tokenizer.model"),
        ("model.json", lambda m: m["tokenizer"].update(normalizers=["NFKZ"]), "tokenizer.normalizers[0]"),
        ("model.json", lambda m: m["tokenizer"]["pre_tokenizer"].update(use_regex="yes"), "use_regex"),
        ("model.json", lambda m: m["tokenizer"].update(unk_id=3), "unk_id must be null"),
        ("model.json", lambda m: m["tokenizer"].update(fuse_unk=None), "fuse_unk"),
        ("model.json", lambda m: m["tokenizer"].update(merges=49999), "MERGES holds 100000 ids"),
        ("vocab.py", lambda m: None, "MERGES pair 0"),
    ]
    for name, change, message in cases:
        broken = copy.deepcopy(meta)
        change(broken)
        (out / "model.json").write_text(json.dumps(broken), encoding="utf-8")
        if name == "vocab.py":  # a first pair that merges into no token, the count kept
            head, merges = vocab.split("\nMERGES: Final = '")
            pairs = merges.rstrip("'\n").split(" ")
            bad = head + "\nMERGES: Final = '" + " ".join(["50256", "50256", *pairs[:-2]]) + "'\n"
            (out / "vocab.py").write_text(bad, encoding="utf-8")
            broken["vocab"]["sha256"] = hashlib.sha256(bad.encode()).hexdigest()  # verify() is not load's job
            (out / "model.json").write_text(json.dumps(broken), encoding="utf-8")
        with pytest.raises(ModelFileError) as info:
            fastembed_static.StaticModel.from_pretrained(out)
        assert message in str(info.value), (name, message, str(info.value))
        (out / "vocab.py").write_text(vocab, encoding="utf-8")
    (out / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    assert fastembed_static.StaticModel.from_pretrained(out).tokenize(" hello") == [23748]


def test_a_model_without_type_but_with_merges_is_bpe(tmp_path: Path, pure_bpe_module: ModuleType) -> None:
    """Files written before ``model.type`` existed (BARThez's, for one): tokenizers reads a model with ``merges`` as
    BPE (and one without as WordPiece), so must the generator, instead of refusing it as a WordPiece file."""
    data = untruncated(_GPT2)
    del data["model"]["type"]
    cores = Cores(write_json(tmp_path, data), pure_bpe_module)
    assert cores.hf.to_str().count('"type":"BPE"') == 1
    assert cores.check(gooaq_queries()[:300] + [t for items in load_multilingual().values() for t in items[:5]]) > 300
