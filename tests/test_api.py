"""The public API: shapes, options, bad input, corrupt generated models."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import fastembed_static
from fastembed_static import ModelFileError, StaticModel


@pytest.fixture(scope="module")
def model() -> StaticModel:
    return StaticModel.default()


def test_public_names() -> None:
    assert set(fastembed_static.__all__) >= {"StaticModel", "COMPILED", "ModelFileError", "GenerationError"}
    assert isinstance(fastembed_static.COMPILED, bool)


def test_every_public_error_is_exported() -> None:
    """README: all public errors are importable from fastembed_static, including the generator's."""
    from fastembed_static import errors, gen

    for name in errors.__all__:
        assert getattr(fastembed_static, name) is getattr(errors, name) and name in fastembed_static.__all__
    assert fastembed_static.GenerationError is gen.GenerationError
    assert issubclass(fastembed_static.GenerationError, ModelFileError)


def test_a_bad_local_folder_is_a_model_file_error(tmp_path: Path) -> None:
    """``except ModelFileError`` catches a folder that is not a model, as it catches a corrupt generated model."""
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(ModelFileError, match="not a static embedding model") as info:
        StaticModel.from_pretrained(folder, cache_dir=tmp_path / "cache")
    assert isinstance(info.value, fastembed_static.GenerationError) and info.value.path == folder
    (folder / "config.json").write_text("{", encoding="utf-8")
    with pytest.raises(fastembed_static.ModelFileError, match="config.json"):
        StaticModel.from_pretrained(folder, cache_dir=tmp_path / "cache")


def test_model_errors_survive_pickling() -> None:
    """Errors cross process boundaries (Ray, Spark, multiprocessing) by pickle: same type, path, problem, text."""
    import pickle

    for error in (ModelFileError("/m/model.json", "corrupt"), fastembed_static.GenerationError("/m", "bad")):
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error) and (back.path, back.problem, str(back)) == (
            error.path,
            error.problem,
            str(error),
        )


@pytest.mark.parametrize("name", ["", "  "])
def test_empty_model_name_is_refused(name: str) -> None:
    """An empty string would be Path(""), the current directory."""
    with pytest.raises(ValueError, match="model is an empty string"):
        StaticModel.from_pretrained(name)


def test_installed_build_is_compiled() -> None:
    """CI installs with a C compiler, so the mypyc build must be what runs (the fallback is tested separately)."""
    import os

    if os.environ.get("FASTEMBED_STATIC_EXPECT_COMPILED") != "1":
        pytest.skip("set FASTEMBED_STATIC_EXPECT_COMPILED=1 where the build is expected to be compiled")
    assert fastembed_static.COMPILED


def test_shapes_and_dtypes(model: StaticModel) -> None:
    one = model.encode("hello world")
    many = model.encode(["hello world", "another text", ""])
    assert one.shape == (model.dim,) and one.dtype == np.float32
    assert many.shape == (3, model.dim) and many.dtype == np.float32
    np.testing.assert_array_equal(one, many[0])
    assert model.encode([]).shape == (0, model.dim)
    assert model.vocab_size == 29525 and model.dim == 256


def test_accepts_any_iterable(model: StaticModel) -> None:
    texts = ["a b", "c d", "e"]
    expected = model.encode(texts)
    np.testing.assert_array_equal(model.encode(tuple(texts)), expected)
    np.testing.assert_array_equal(model.encode(t for t in texts), expected)
    np.testing.assert_array_equal(model.encode(iter(texts), batch_size=1), expected)


def test_batch_size_does_not_change_results(model: StaticModel) -> None:
    texts = [f"query number {i} about {'x' * (i % 7)}" for i in range(100)]
    np.testing.assert_array_equal(model.encode(texts, batch_size=7), model.encode(texts, batch_size=1000))


def test_empty_and_whitespace_give_zero(model: StaticModel) -> None:
    vectors = model.encode(["", " ", "\n\t ", "\u200b"], normalize=True)
    assert not vectors.any() and not np.isnan(vectors).any()


def test_normalize_and_dim(model: StaticModel) -> None:
    raw = model.encode(["the cat sat"], normalize=False)[0]
    unit = model.encode(["the cat sat"], normalize=True)[0]
    np.testing.assert_allclose(unit, raw / np.linalg.norm(raw), rtol=1e-6)
    small = model.encode(["the cat sat"], dim=32, normalize=True)[0]
    np.testing.assert_allclose(small, raw[:32] / np.linalg.norm(raw[:32]), rtol=1e-5, atol=1e-7)
    # the model's own normalization (a Normalize module) runs on the full vector, then dim cuts it
    cut = model.encode(["the cat sat"], dim=32)[0]
    np.testing.assert_allclose(cut, unit[:32], rtol=1e-6, atol=1e-8)
    assert model.encode([], dim=32).shape == (0, 32) and model.encode("the cat sat", dim=32).shape == (32,)
    full = model.encode(["the cat sat"], dim=model.dim)
    np.testing.assert_array_equal(full, model.encode(["the cat sat"]))
    for bad in (0, -1, model.dim + 1, 2.5, True):
        with pytest.raises(ValueError, match="dim must be"):
            model.encode("x", dim=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("texts", "error", "fragment"),
    [
        (["ok", None], TypeError, "index 1 must be str, not NoneType"),
        (["ok", "ok", 3], TypeError, "index 2 must be str, not int"),
        ([b"bytes"], TypeError, "index 0 must be str, not bytes: decode bytes first"),
        (b"bytes", TypeError, "not bytes"),
        (None, TypeError, "not NoneType"),
        (42, TypeError, "not int"),
        (["fine", "bad \ud800 surrogate"], ValueError, "index 1 cannot be tokenized: lone surrogate U+D800"),
    ],
)
def test_bad_input(model: StaticModel, texts: object, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error) as info:
        model.encode(texts)  # type: ignore[arg-type]
    assert fragment in str(info.value)


def test_bad_input_index_counts_across_batches(model: StaticModel) -> None:
    texts: list[object] = ["x"] * 10 + [None]
    with pytest.raises(TypeError, match="index 10"):
        model.encode(texts, batch_size=3)  # type: ignore[arg-type]


def test_bad_single_text(model: StaticModel) -> None:
    with pytest.raises(ValueError, match=r"lone surrogate U\+DFFF at character 2"):
        model.encode("ab\udfff")
    with pytest.raises(TypeError, match="must be str"):
        model.tokenize(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size"):
        model.encode(["a"], batch_size=0)


def test_ten_megabyte_text(mrl_model: StaticModel) -> None:
    """static-retrieval-mrl-en-v1's tokenizer does not truncate: all 2.6M tokens count."""
    words = "the quick brown fox jumps over the lazy dog, naïve café 東京 "
    text = words * (10_000_000 // len(words))
    vector = mrl_model.encode(text)
    assert vector.shape == (mrl_model.dim,) and np.isfinite(vector).all()
    ids = mrl_model.tokenize(text)
    assert len(ids) == 14 * (10_000_000 // len(words))
    # The mean of 178,571 repetitions is the mean of one, up to rounding (chunked float64 accumulation).
    np.testing.assert_allclose(vector, mrl_model.encode(words), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(mrl_model.encode([text, "x"])[0], vector)


def test_default_model_truncates_as_its_tokenizer_says(model: StaticModel) -> None:
    """The bundled model's tokenizer.json (written by model2vec) truncates at 512 tokens; sentence-transformers
    applies that too, so fastembed-static does."""
    assert model.metadata["tokenizer"]["truncation"] == {"max_length": 512, "direction": "right"}
    text = "word " * 600
    assert len(model.tokenize(text)) == 512
    np.testing.assert_array_equal(model.encode(text), model.encode("word " * 512))


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    source = StaticModel.default().path
    return Path(shutil.copytree(source, tmp_path / "copy"))


def test_truncated_weights_are_detected(model_copy: Path) -> None:
    weights = model_copy / "weights.f32.bin"
    weights.write_bytes(weights.read_bytes()[:-4])
    with pytest.raises(ModelFileError, match=r"weights.f32.bin: weights file has \d+ bytes, expected"):
        StaticModel.from_pretrained(model_copy)


def test_flipped_weight_bytes_fail_verify(model_copy: Path) -> None:
    weights = model_copy / "weights.f32.bin"
    data = bytearray(weights.read_bytes())
    data[1000] ^= 0xFF
    weights.write_bytes(bytes(data))
    model = StaticModel.from_pretrained(model_copy)  # loading checks sizes only: hashing 100 MB costs time
    with pytest.raises(ModelFileError, match="weights.f32.bin: sha256 is"):
        model.verify()


def test_corrupt_vocab_module_is_detected(model_copy: Path) -> None:
    fields = "VOCAB_SIZE: Final = 2\nSEPARATOR: Final = '\\n'\nTOKENS: Final = 'a\\nb'\n"
    (model_copy / "vocab.py").write_text(fields, encoding="utf-8")
    with pytest.raises(ModelFileError, match="vocab.py: vocabulary has 2 tokens"):
        StaticModel.from_pretrained(model_copy)
    (model_copy / "vocab.py").write_text("TOKENS = (", encoding="utf-8")
    with pytest.raises(ModelFileError, match="vocab.py: vocabulary module is corrupt"):
        StaticModel.from_pretrained(model_copy)


def test_corrupt_or_foreign_metadata(model_copy: Path) -> None:
    meta = model_copy / "model.json"
    original = meta.read_text(encoding="utf-8")
    meta.write_text(original[:50], encoding="utf-8")
    with pytest.raises(ModelFileError, match="model.json: unreadable or corrupt"):
        StaticModel.from_pretrained(model_copy)
    data = json.loads(original)
    data["format"] = "something-else/9"
    meta.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelFileError, match="format is 'something-else/9'"):
        StaticModel.from_pretrained(model_copy)
    data = json.loads(original)
    del data["dim"]
    meta.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelFileError, match="model.json: field dim is missing"):
        StaticModel.from_pretrained(model_copy)


def test_missing_weights(model_copy: Path) -> None:
    (model_copy / "weights.f32.bin").unlink()
    with pytest.raises(ModelFileError, match="weights file is missing"):
        StaticModel.from_pretrained(model_copy)


def test_weights_are_mapped_not_copied(model: StaticModel) -> None:
    table = model._table
    assert not table.flags.owndata and not table.flags.writeable
    assert table.base is not None


def test_raw_model_dir_is_generated_into_cache(tmp_path: Path) -> None:
    from .helpers import REPO

    cache = tmp_path / "cache"
    loaded = StaticModel.from_pretrained(REPO / "gen" / "default_model", cache_dir=cache)
    assert cache in loaded.path.parents
    again = StaticModel.from_pretrained(REPO / "gen" / "default_model", cache_dir=cache)
    assert again.path == loaded.path
    np.testing.assert_array_equal(loaded.encode(["same vectors"]), StaticModel.default().encode(["same vectors"]))


def test_two_workers_give_identical_results_in_order(mrl_model: StaticModel) -> None:
    from .helpers import gooaq_queries, pep_paragraphs

    texts = gooaq_queries() + pep_paragraphs()[:3000] + gooaq_queries()[::-1]
    one = mrl_model.encode(texts, workers=1)
    two = mrl_model.encode(texts, workers=2)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(mrl_model.encode(texts[:2500], workers=3, dim=64), one[:2500, :64])


def test_bad_input_in_a_worker_thread_is_reported_with_its_index(model: StaticModel) -> None:
    texts = [f"text {i}" for i in range(5000)]
    texts[4321] = "broken \udc80"
    with pytest.raises(ValueError, match="index 4321 cannot be tokenized"):
        model.encode(texts, workers=2)
    texts[4321] = None  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="index 4321"):
        model.encode(texts, workers=2)
    with pytest.raises(ValueError, match="workers must be"):
        model.encode(["x"], workers=0)
