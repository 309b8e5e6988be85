"""The engine-neutral Arrow embedder (fastembed_static.arrow.Embedder), without Ray or Spark: vectors bit-identical to
StaticModel.encode on real text, the options, and the bad-input policy (null -> null vector; typed errors naming the
column and the row)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from fastembed_static import StaticModel
from fastembed_static.arrow import Embedder, embed_column

from .helpers import MRL_TOKENIZER, gooaq_queries, make_st_model, pep_paragraphs, random_table


def texts() -> list[str]:
    return gooaq_queries()[:3000] + pep_paragraphs()[:1000]


def vectors_of(column: object, dim: int) -> np.ndarray:
    """The float32 rows of a fixed_size_list column (nulls included, as whatever their slots hold)."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column  # type: ignore[attr-defined]
    assert array.type == pa.list_(pa.float32(), dim)
    return np.asarray(array.values.to_numpy(zero_copy_only=False)).reshape(len(array), dim)


@pytest.fixture(scope="module")
def model() -> StaticModel:
    return StaticModel.default()


def test_table_of_real_text_is_bit_identical_to_encode(model: StaticModel) -> None:
    data = texts()
    ids = list(range(len(data)))
    # three chunks of uneven sizes, as a Parquet reader hands them out
    table = pa.Table.from_batches(
        [pa.record_batch({"id": ids[a:b], "text": data[a:b]}) for a, b in ((0, 1000), (1000, 1001), (1001, len(data)))]
    )
    out = Embedder(None)(table)
    assert out.schema.names == ["id", "text", "embedding"]
    assert out.column("embedding").num_chunks == 3
    assert out.column("id").to_pylist() == ids and out.column("text").to_pylist() == data
    assert np.array_equal(vectors_of(out.column("embedding"), model.dim), model.encode(data))


@pytest.mark.parametrize(("dim", "normalize"), [(64, None), (128, False), (None, False), (32, True)])
def test_dim_and_normalize(model: StaticModel, dim: int | None, normalize: bool | None) -> None:
    data = texts()[:1500]
    out = Embedder(None, dim=dim, normalize=normalize, output_column="vec", keep_text=False)(pa.table({"text": data}))
    assert out.schema.names == ["vec"]
    expected = model.encode(data, dim=dim, normalize=normalize)
    assert np.array_equal(vectors_of(out.column("vec"), expected.shape[1]), expected)


def test_record_batch_in_record_batch_out(model: StaticModel) -> None:
    data = gooaq_queries()[:500]
    out = Embedder(None)(pa.record_batch({"text": data}))
    assert isinstance(out, pa.RecordBatch)
    assert np.array_equal(vectors_of(out.column(1), model.dim), model.encode(data))


def test_model_from_a_directory(tmp_path: Path) -> None:
    """A model directory (sentence-transformers layout with the real MRL tokenizer) is generated once and used."""
    source = make_st_model(tmp_path / "st", MRL_TOKENIZER, random_table(30522, 64), normalize=True)
    reference = StaticModel.from_pretrained(source, cache_dir=tmp_path / "cache")
    data = pep_paragraphs()[:800]
    out = Embedder(source)(pa.table({"text": data}))
    assert np.array_equal(vectors_of(out.column("embedding"), 64), reference.encode(data))


def test_string_kinds(model: StaticModel) -> None:
    data = gooaq_queries()[:300]
    expected = model.encode(data)
    embed = Embedder(None)
    for column in (
        pa.array(data, pa.large_string()),
        pa.array(data, pa.string_view()),
        pa.array(data).dictionary_encode(),
    ):
        out = embed(pa.table({"text": column}))
        assert np.array_equal(vectors_of(out.column("embedding"), model.dim), expected), column.type


def test_nulls_give_null_vectors(model: StaticModel) -> None:
    data: list[str | None] = list(gooaq_queries()[:400])
    for i in (0, 7, 8, 399):
        data[i] = None
    out = Embedder(None)(pa.table({"text": data}))
    column = out.column("embedding")
    assert column.null_count == 4
    assert [i for i, v in enumerate(column.to_pylist()) if v is None] == [0, 7, 8, 399]
    present = [i for i, t in enumerate(data) if t is not None]
    assert np.array_equal(vectors_of(column, model.dim)[present], model.encode([data[i] for i in present]))
    # a column of nothing but nulls (Arrow infers type null)
    all_null = Embedder(None)(pa.table({"text": pa.nulls(3)}))
    assert all_null.column("embedding").null_count == 3


def test_empty_batch(model: StaticModel) -> None:
    out = Embedder(None)(pa.table({"text": pa.array([], pa.string())}))
    assert out.num_rows == 0 and out.schema.field("embedding").type == pa.list_(pa.float32(), model.dim)


@pytest.mark.parametrize(
    ("column", "kind"),
    [(pa.array([1, 2]), "int64"), (pa.array([b"a", b"b"]), "binary"), (pa.array([["a"], ["b"]]), "list<item: string>")],
)
def test_non_string_column_is_a_type_error_naming_it(column: object, kind: str) -> None:
    with pytest.raises(TypeError, match=f"column 'body' must be of a string type, not {kind}"):
        Embedder(None, text_column="body")(pa.table({"body": column}))


def test_invalid_utf8_names_column_row_and_id() -> None:
    offsets = np.array([0, 2, 4, 6], dtype=np.int32)
    bad = pa.Array.from_buffers(pa.string(), 3, [None, pa.py_buffer(offsets), pa.py_buffer(b"okok\xff\xfe")])
    table = pa.table({"doc_id": ["a", "b", "c"], "text": bad})
    with pytest.raises(ValueError, match=r"column 'text', row 2 of the batch \(id 'c'\): not valid UTF-8"):
        Embedder(None, id_column="doc_id")(table)


def test_row_numbers_count_across_chunks() -> None:
    offsets = np.array([0, 2, 4], dtype=np.int32)
    bad = pa.Array.from_buffers(pa.string(), 2, [None, pa.py_buffer(offsets), pa.py_buffer(b"ok\xff\xfe")])
    column = pa.chunked_array([pa.array(["x", "y", "z"]), bad])
    with pytest.raises(ValueError, match=r"column 'text', row 4 of the batch: not valid UTF-8"):
        embed_column(StaticModel.default(), column)


def test_batch_and_argument_errors() -> None:
    embed = Embedder(None)
    with pytest.raises(KeyError, match=r"no column 'text' in the batch \(columns: body\)"):
        embed(pa.table({"body": ["x"]}))
    with pytest.raises(ValueError, match="already has a column 'embedding'"):
        embed(pa.table({"text": ["x"], "embedding": [1]}))
    with pytest.raises(TypeError, match="takes a pyarrow.Table or RecordBatch, not dict"):
        embed({"text": ["x"]})
    with pytest.raises(KeyError, match="no id column 'id'"):
        Embedder(None, id_column="id")(pa.table({"text": ["x"]}))
    with pytest.raises(ValueError, match="dim must be an int in 1..256"):
        Embedder(None, dim=1000)
    with pytest.raises(TypeError, match="text_column must be a non-empty str"):
        Embedder(None, text_column="")


def test_modules_import_no_engine() -> None:
    """The integrations import pyarrow, Ray and Spark only when used, so the package works without them."""
    code = (
        "import sys, fastembed_static.arrow, fastembed_static.ray, fastembed_static.spark\n"
        "loaded = [m for m in ('pyarrow', 'ray', 'pyspark', 'pandas') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd="/")
