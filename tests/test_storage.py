"""Tables chosen at generation time: pre-truncated Matryoshka dims, float16 and int8 storage, each compared with
sentence-transformers on the same (rounded) table at its documented tolerance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fastembed_static import ModelFileError, StaticModel
from fastembed_static.gen import generate

from .helpers import REPO, gooaq_queries, pep_paragraphs, write_safetensors

DEFAULT_SOURCE = REPO / "gen" / "default_model"


def texts() -> list[str]:
    return gooaq_queries()[:1500] + pep_paragraphs()[:300]


@pytest.fixture(scope="module")
def exact() -> StaticModel:
    return StaticModel.default()


def st_model_with_table(table: np.ndarray, tmp_path: Path):  # type: ignore[no-untyped-def]
    """sentence-transformers' StaticEmbedding over the default model's tokenizer with ``table``."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(DEFAULT_SOURCE / "tokenizer.json"))
    module = StaticEmbedding(tokenizer, embedding_weights=torch.from_numpy(np.ascontiguousarray(table)))
    return SentenceTransformer(modules=[module], device="cpu")


def test_pretruncated_dims_equal_encode_dim(exact: StaticModel, tmp_path: Path) -> None:
    small = StaticModel.from_pretrained(generate(DEFAULT_SOURCE, tmp_path / "d64", dims=64))
    assert small.dim == 64 and (small.path / "weights.f32.bin").stat().st_size == 29525 * 64 * 4
    np.testing.assert_array_equal(
        small.encode(texts(), normalize=False), exact.encode(texts(), dim=64, normalize=False)
    )
    # the model's Normalize now sees only 64 columns: unit vectors of 64 values, not the full vector's first 64
    assert small.normalize_default
    unit = exact.encode(texts(), dim=64, normalize=True)
    assert np.abs(small.encode(texts()) - unit).max() <= 1e-6
    assert np.abs(small.encode(texts()) - exact.encode(texts(), dim=64)).max() > 0.1


def test_float16_equals_sentence_transformers_on_the_rounded_table(exact: StaticModel, tmp_path: Path) -> None:
    half = StaticModel.from_pretrained(generate(DEFAULT_SOURCE, tmp_path / "f16", dtype="float16"))
    assert half.dtype == "float16"
    assert (half.path / "weights.f16.bin").stat().st_size == 29525 * 256 * 2
    rounded = np.asarray(exact._table).astype(np.float16).astype(np.float32)
    expected = st_model_with_table(rounded, tmp_path).encode(texts(), convert_to_numpy=True)
    got = half.encode(texts(), normalize=False)
    assert np.abs(got - expected).max() <= 1e-6
    single = half.encode(texts()[0], normalize=False)
    assert np.abs(single - expected[0]).max() <= 1e-6


def test_int8_equals_sentence_transformers_on_the_dequantized_table(exact: StaticModel, tmp_path: Path) -> None:
    """int8 sums are exact; the per-dimension scale is applied once to the mean instead of to every row, so the
    documented tolerance is 1e-5 (rounding of one multiplication order against another)."""
    quarter = StaticModel.from_pretrained(generate(DEFAULT_SOURCE, tmp_path / "i8", dtype="int8"))
    assert quarter.dtype == "int8" and quarter._scales is not None
    stored = np.fromfile(quarter.path / "weights.i8.bin", dtype=np.int8).reshape(29525, 256)
    dequantized = stored.astype(np.float32) * quarter._scales
    expected = st_model_with_table(dequantized, tmp_path).encode(texts(), convert_to_numpy=True)
    got = quarter.encode(texts(), normalize=False)
    assert np.abs(got - expected).max() <= 1e-5
    np.testing.assert_allclose(quarter.encode(texts()[0], normalize=False), got[0], rtol=1e-6, atol=1e-7)
    cosine = np.einsum("ij,ij->i", quarter.encode(texts()), exact.encode(texts()))
    assert np.median(cosine) > 0.99


def test_int8_dim_with_the_models_normalize_matches_sentence_transformers(tmp_path: Path) -> None:
    """normalize=None with dim on a scaled table: the scales and the Normalize module apply to the full vector, then
    truncate_dim cuts it (one text and many)."""
    from sentence_transformers.sentence_transformer.modules import Normalize

    quarter = StaticModel.from_pretrained(generate(DEFAULT_SOURCE, tmp_path / "i8", dtype="int8"))
    assert quarter.normalize_default and quarter._scales is not None
    stored = np.fromfile(quarter.path / "weights.i8.bin", dtype=np.int8).reshape(29525, 256)
    st = st_model_with_table(stored.astype(np.float32) * quarter._scales, tmp_path)
    st.append(Normalize())
    expected = st.encode(texts(), convert_to_numpy=True, truncate_dim=40)
    got = quarter.encode(texts(), dim=40)
    assert got.shape == (len(texts()), 40) and np.abs(got - expected).max() <= 1e-5
    assert np.abs(quarter.encode(texts()[3], dim=40) - expected[3]).max() <= 1e-5


def test_int8_without_scales_is_refused(tmp_path: Path) -> None:
    out = generate(DEFAULT_SOURCE, tmp_path / "i8", dtype="int8")
    scales = bytearray((out / "scales.f32.bin").read_bytes())
    scales[5] ^= 0x01
    (out / "scales.f32.bin").write_bytes(bytes(scales))
    with pytest.raises(ModelFileError, match=r"scales.f32.bin: sha256 is"):
        StaticModel.from_pretrained(out).verify()
    (out / "scales.f32.bin").unlink()
    with pytest.raises(ModelFileError, match="scales.f32.bin: int8 scales are missing"):
        StaticModel.from_pretrained(out)


def test_unknown_dtype_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="dtype must be one of float32, float16, int8"):
        generate(DEFAULT_SOURCE, tmp_path / "x", dtype="bfloat16")


def test_float16_overflow_is_refused(tmp_path: Path) -> None:
    """A table with values float16 cannot hold would store infinities: refused, naming the file and the value."""
    import shutil

    from safetensors.numpy import load_file

    source = Path(shutil.copytree(DEFAULT_SOURCE, tmp_path / "src"))
    tensors = load_file(str(source / "model.safetensors"))
    key = max(tensors, key=lambda k: tensors[k].size)
    tensors[key] = tensors[key].copy()
    tensors[key].flat[7] = 70000.0
    write_safetensors(source / "model.safetensors", tensors)
    with pytest.raises(ValueError, match=r"model.safetensors: values up to 70000 do not fit float16"):
        generate(source, tmp_path / "f16", dtype="float16")
    assert not (tmp_path / "f16" / "model.json").exists()
