"""Spark: a UDF that embeds a string column, ``array<float>`` out, the model loaded once per Python worker.

Install ``fastembed-static[spark]`` (Spark >= 4.1 for ``arrow_udf``; Java 17)::

    from pyspark.sql import SparkSession
    from fastembed_static.spark import embed_udf

    spark = SparkSession.builder.master("local[2,4]").getOrCreate()
    embed = embed_udf(None)  # None: the bundled model; or a hub id "owner/name", or a path on shared storage
    spark.read.parquet(src).withColumn("embedding", embed("text")).write.parquet(dst)

On Spark >= 4.1 the UDF is an ``arrow_udf`` (Arrow batches in and out, no pandas). On older Spark it falls back to an
iterator ``pandas_udf`` (about 2.6x the worker CPU, as measured when this was planned). Null texts give null vectors;
a column that is not a string column fails the task with a ``TypeError`` naming its type; bad rows are named by their
index in the batch.

pyspark and pyarrow are imported when :func:`embed_udf` is called. Do not add ``from __future__ import annotations``
here: Spark reads the UDFs' type hints, which must then be real objects, not strings.
"""

import os
from collections.abc import Iterator
from typing import Any, Literal

from fastembed_static.arrow import embed_column, load_model
from fastembed_static.model import StaticModel

__all__ = ["embed_udf"]

_ModelKey = tuple[str | None, str]
_MODELS: dict[_ModelKey, StaticModel] = {}  # per Python worker process: loaded on the first batch, then reused
_LOADS: list[_ModelKey] = []  # every load, in order (tests check each worker loaded each model once)


def _model(key: _ModelKey) -> StaticModel:
    model = _MODELS.get(key)
    if model is None:
        model = _MODELS[key] = load_model(key[0], key[1])
        _LOADS.append(key)
    return model


def _embed_arrow(key: _ModelKey, dim: int | None, normalize: bool | None, texts: Any) -> Any:
    """One Arrow batch of texts -> ``list<float32>`` (what Spark's ``array<float>`` is in Arrow)."""
    import pyarrow as pa

    vectors = embed_column(_model(key), texts, dim=dim, normalize=normalize, column_name="the embedded column")
    return vectors.cast(pa.list_(pa.float32()))


def _embed_pandas(key: _ModelKey, dim: int | None, normalize: bool | None, texts: Any) -> Any:
    """One pandas Series of texts -> a Series of float32 vectors (None where the text is null)."""
    import pandas as pd
    import pyarrow as pa

    try:
        array = pa.array(texts, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise TypeError(f"the embedded column must be a string column: {e}") from e
    vectors = embed_column(_model(key), array, dim=dim, normalize=normalize, column_name="the embedded column")
    matrix = vectors.values.to_numpy(zero_copy_only=False).reshape(len(vectors), -1)
    valid = vectors.is_valid().to_numpy(zero_copy_only=False)
    return pd.Series([row if ok else None for row, ok in zip(matrix, valid)], index=texts.index)


def embed_udf(
    model: "str | os.PathLike[str] | None" = None,
    dim: int | None = None,
    normalize: bool | None = None,
    *,
    revision: str = "main",
    udf_type: Literal["auto", "arrow", "pandas"] = "auto",
) -> Any:
    """A Spark UDF of one string column giving its ``array<float>`` embedding (null for a null text).

    ``model``: a hub id ``"owner/name"`` (downloaded once per node into the cache: the download is locked), a model
    directory on storage every worker sees, or ``None`` for the bundled default model; ``revision`` pins a hub
    revision. ``dim`` and ``normalize``: as in :meth:`StaticModel.encode`. Each Python worker loads the model once,
    on its first batch, and keeps it for the tasks it runs after (Spark reuses Python workers by default).
    ``udf_type``: ``"auto"`` uses ``arrow_udf`` where Spark has it (>= 4.1), else the ``pandas_udf`` fallback.
    """
    from pyspark.sql import functions
    from pyspark.sql.types import ArrayType, FloatType

    if isinstance(dim, bool) or not (dim is None or (isinstance(dim, int) and dim > 0)):
        raise ValueError(f"dim must be a positive int or None, got {dim!r}")
    if udf_type not in ("auto", "arrow", "pandas"):
        raise ValueError(f"udf_type must be 'auto', 'arrow' or 'pandas', not {udf_type!r}")
    key: _ModelKey = (None if model is None else os.fspath(model), revision)
    return_type = ArrayType(FloatType())
    arrow_udf = getattr(functions, "arrow_udf", None)
    if udf_type == "arrow" and arrow_udf is None:
        raise RuntimeError("this Spark has no arrow_udf (Spark >= 4.1): use udf_type='pandas' or 'auto'")
    if udf_type != "pandas" and arrow_udf is not None:
        import pyarrow as pa

        def embed(texts: pa.Array) -> pa.Array:
            return _embed_arrow(key, dim, normalize, texts)

        return arrow_udf(embed, return_type)

    import pandas as pd

    def embed_batches(batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
        for texts in batches:
            yield _embed_pandas(key, dim, normalize, texts)

    from pyspark.sql.pandas.functions import pandas_udf

    make_udf: Any = pandas_udf  # its overloads do not cover an iterator function given without a decorator
    return make_udf(embed_batches, return_type)
