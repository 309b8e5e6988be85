"""Embedding columns of Arrow tables: the engine-neutral piece of the Ray Data and Spark integrations.

:class:`Embedder` is a callable class over ``pyarrow.Table`` (or ``RecordBatch``) batches, as Ray Data's
``map_batches`` takes it (see :mod:`fastembed_static.ray`); it never imports Ray, so any engine that hands out Arrow
batches can use it. The model is loaded once, in ``__init__``: an engine that builds one instance per worker (a Ray
actor) loads it once per worker, and only the constructor arguments travel to the worker.

pyarrow is imported when an embedder is made, not when this module is imported.

Bad input, by policy:

- a null text gives a null vector (the output row is null, the other rows are embedded as usual);
- a column that is not of a string type (``string``, ``large_string``, ``string_view``, or a dictionary of strings)
  raises ``TypeError`` naming the column and its type;
- a missing text column raises ``KeyError`` naming it and the columns present; an output column that already exists
  raises ``ValueError``;
- a value that is not valid UTF-8, or a text the tokenizer refuses, raises ``ValueError`` naming the column and the
  row (its index in the batch, and its id when ``id_column`` is given).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from fastembed_static.model import StaticModel

__all__ = ["Embedder", "embed_column", "load_model"]


def load_model(model: str | os.PathLike[str] | None, revision: str = "main") -> StaticModel:
    """``None``: the bundled default model; else :meth:`StaticModel.from_pretrained` (a path or a hub id)."""
    if model is None:
        return StaticModel.default()
    return StaticModel.from_pretrained(os.fspath(model), revision=revision)


def embed_column(
    model: StaticModel,
    column: Any,
    *,
    dim: int | None = None,
    normalize: bool | None = None,
    column_name: str = "text",
    ids: Any = None,
    batch_size: int = 1024,
) -> Any:
    """Embed a ``pyarrow`` string ``Array`` or ``ChunkedArray``: returns a ``fixed_size_list<float32>[dim]`` array
    of the same kind and length (chunk for chunk), null where the text is null.

    ``column_name`` names the column in error messages; ``ids`` (an array parallel to ``column``) lets them name
    the bad row's id too. Vectors are bit-identical to ``model.encode(texts, dim=dim, normalize=normalize)``.
    """
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        out_dim = model.dim if dim is None else dim
        chunks = []
        first = 0
        for chunk in column.chunks:
            chunk_ids = None if ids is None else ids.slice(first, len(chunk))
            chunks.append(_embed_array(model, chunk, dim, normalize, column_name, chunk_ids, first, batch_size))
            first += len(chunk)
        return pa.chunked_array(chunks, type=pa.list_(pa.float32(), out_dim))
    if not isinstance(column, pa.Array):
        raise TypeError(
            f"column {column_name!r}: expected a pyarrow Array or ChunkedArray, not {type(column).__name__}"
        )
    return _embed_array(model, column, dim, normalize, column_name, ids, 0, batch_size)


def _string_array(column: Any, column_name: str) -> Any:
    import pyarrow as pa

    kind = column.type
    if pa.types.is_dictionary(kind) and _is_string_type(kind.value_type):
        return column.cast(kind.value_type)
    if _is_string_type(kind):
        return column
    if pa.types.is_null(kind):  # a column of nothing but nulls, as Arrow infers it
        return column
    hint = ": decode it first (cast to string)" if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) else ""
    raise TypeError(f"column {column_name!r} must be of a string type, not {kind}{hint}")


def _is_string_type(kind: Any) -> bool:
    import pyarrow as pa

    string_view = getattr(pa.types, "is_string_view", None)
    return bool(
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or (string_view is not None and string_view(kind))
    )


def _embed_array(
    model: StaticModel,
    column: Any,
    dim: int | None,
    normalize: bool | None,
    column_name: str,
    ids: Any,
    offset: int,
    batch_size: int,
) -> Any:
    import pyarrow as pa

    column = _string_array(column, column_name)
    n = len(column)
    out_dim = model.dim if dim is None else dim
    texts = _to_python(column, column_name, ids, offset)
    nulls = column.null_count
    present: Sequence[object] = [t for t in texts if t is not None] if nulls else texts
    try:
        vectors = model.encode(present, dim=dim, normalize=normalize, batch_size=batch_size)  # type: ignore[arg-type]
    except (TypeError, ValueError) as e:
        row = _bad_row(model, texts)
        if row is None:
            raise
        raise ValueError(f"{_where(column_name, row, ids, offset)}: {_reason(e)}") from e
    mask = None
    if nulls:
        valid = np.asarray(column.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        full = np.zeros((n, out_dim), dtype=np.float32)
        full[valid] = vectors
        vectors = full
        mask = pa.array(~valid)
    flat = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1)
    values = pa.Array.from_buffers(pa.float32(), flat.size, [None, pa.py_buffer(flat)])
    return pa.FixedSizeListArray.from_arrays(values, out_dim, mask=mask)


def _to_python(column: Any, column_name: str, ids: Any, offset: int) -> list[str | None]:
    try:
        texts: list[str | None] = column.to_pylist()
        return texts
    except UnicodeDecodeError as e:
        for row in range(len(column)):
            try:
                column[row].as_py()
            except UnicodeDecodeError as row_error:
                raise ValueError(f"{_where(column_name, row, ids, offset)}: not valid UTF-8 ({row_error})") from e
        raise


def _bad_row(model: StaticModel, texts: list[str | None]) -> int | None:
    """The first row whose text ``model`` refuses (found again one text at a time, after a batch failed)."""
    for row, text in enumerate(texts):
        if text is None:
            continue
        try:
            model.encode([text])
        except (TypeError, ValueError):
            return row
    return None


def _where(column_name: str, row: int, ids: Any, offset: int) -> str:
    where = f"column {column_name!r}, row {offset + row} of the batch"
    if ids is not None:
        where += f" (id {ids[row].as_py()!r})"
    return where


def _reason(error: Exception) -> str:
    message = str(error)
    # the model names the index in the list it was given, which is not the row here: keep only the reason
    for lead in ("cannot be tokenized: ", "must be str, not "):
        if lead in message:
            return ("not a str: " if lead.startswith("must") else "cannot be tokenized: ") + message.split(lead, 1)[1]
    return message


class Embedder:
    """Appends an embedding column to Arrow batches: ``Embedder(...)(table) -> table``.

    Made for Ray Data's ``map_batches`` (``batch_format="pyarrow"``, ``fn_constructor_kwargs={...}``, an actor
    pool), usable with any engine that hands out ``pyarrow.Table`` or ``RecordBatch`` batches.

    ``model``: a hub id ``"owner/name"``, a model directory, or ``None`` for the bundled default model (see
    :meth:`StaticModel.from_pretrained`; ``revision`` pins a hub revision). ``text_column``: the string column to
    embed. ``output_column``: the name of the ``fixed_size_list<float32>[dim]`` column appended. ``dim`` and
    ``normalize``: as in :meth:`StaticModel.encode`. ``keep_text``: keep the text column (False drops it).
    ``id_column``: a column whose value names a bad row in error messages. ``batch_size``: the model's inner
    batch (memory only; the vectors do not depend on it).
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        text_column: str = "text",
        output_column: str = "embedding",
        dim: int | None = None,
        normalize: bool | None = None,
        keep_text: bool = True,
        id_column: str | None = None,
        revision: str = "main",
        batch_size: int = 1024,
    ) -> None:
        for name, value in (("text_column", text_column), ("output_column", output_column)):
            if not isinstance(value, str) or not value:
                raise TypeError(f"{name} must be a non-empty str, got {value!r}")
        self.model = load_model(model, revision)
        self.model._columns(dim)  # a bad dim fails here, once, not on every batch
        self.text_column = text_column
        self.output_column = output_column
        self.dim = self.model.dim if dim is None else dim
        self._dim = dim
        self.normalize = normalize
        self.keep_text = keep_text
        self.id_column = id_column
        self.batch_size = batch_size

    def __call__(self, batch: Any) -> Any:
        """``batch`` (a ``pyarrow.Table`` or ``RecordBatch``) with the embedding column appended (and the text column
        dropped unless ``keep_text``); the same kind as given."""
        import pyarrow as pa

        if not isinstance(batch, (pa.Table, pa.RecordBatch)):
            raise TypeError(
                f"Embedder takes a pyarrow.Table or RecordBatch, not {type(batch).__name__}"
                ' (with Ray Data: map_batches(..., batch_format="pyarrow"))'
            )
        names = batch.schema.names
        if self.text_column not in names:
            raise KeyError(f"no column {self.text_column!r} in the batch (columns: {', '.join(names) or 'none'})")
        if self.output_column in names and not (self.output_column == self.text_column and not self.keep_text):
            raise ValueError(f"the batch already has a column {self.output_column!r}: choose another output_column")
        if self.id_column is not None and self.id_column not in names:
            raise KeyError(f"no id column {self.id_column!r} in the batch (columns: {', '.join(names)})")
        ids = None if self.id_column is None else batch.column(self.id_column)
        if isinstance(ids, pa.ChunkedArray):
            ids = ids.combine_chunks()
        vectors = embed_column(
            self.model,
            batch.column(self.text_column),
            dim=self._dim,
            normalize=self.normalize,
            column_name=self.text_column,
            ids=ids,
            batch_size=self.batch_size,
        )
        if not self.keep_text:
            batch = batch.drop_columns([self.text_column])
        return batch.append_column(self.output_column, vectors)
