"""The inputs of ``fastembed-static embed --input``: text lines, JSON Lines, CSV and Parquet, read as a stream.

A :class:`Source` yields ``(text, id)`` rows one at a time and keeps, after each row, where it is in the input
(``offset``: bytes consumed; ``line``: lines consumed) and the sha256 of the bytes consumed so far (Parquet: of the
whole file), which is what a resumed run checks before it skips the rows already embedded. Bad input raises
``ValueError`` naming the file and the line (or row): invalid UTF-8, a line that is not a JSON object, a missing or
non-string field, a missing column, a null value.

pyarrow (Parquet) is imported only for Parquet input; the other formats use the standard library.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

FORMATS = ("text", "jsonl", "csv", "parquet")
_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_JSON_TYPES = {dict: "an object", list: "an array", int: "a number", float: "a number", bool: "a boolean"}


def input_format(path: Path, given: str | None) -> str:
    """``--input-format`` if given, else decided by the file's extension (anything else, and stdin: text lines)."""
    if given is not None:
        return given
    return _SUFFIXES.get(path.suffix.lower(), "text")


class Source:
    """One input file (or stdin, ``-``) in one format; ``column`` is the JSON field or the CSV/Parquet column that
    holds the texts, ``id_column`` the one that holds each row's id (None: the row number, from 0)."""

    def __init__(self, path: Path, fmt: str, column: str = "text", id_column: str | None = None) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown input format {fmt!r}: one of {', '.join(FORMATS)}")
        if fmt == "text" and id_column is not None:
            raise ValueError("--id-column needs JSON Lines, CSV or Parquet input (text lines have no columns)")
        self.path, self.format, self.column, self.id_column = path, fmt, column, id_column
        self.stdin = str(path) == "-"
        self.name = "stdin" if self.stdin else str(path)
        if self.stdin and fmt == "parquet":
            raise ValueError("Parquet input must be a file, not stdin")
        self.offset = 0  # bytes consumed (text, JSON Lines, CSV); rows (Parquet)
        self.line = 0
        self._digest = hashlib.sha256()
        self.size: int | None = None
        if not self.stdin:
            stat = path.stat()  # a missing file fails here: "FILE: No such file or directory"
            self.size = stat.st_size
            self.fingerprint: dict[str, Any] | None = {
                "path": str(path.resolve()),
                "size": stat.st_size,
                "mtime_ns": stat.st_mtime_ns,
            }
        else:
            self.fingerprint = None

    def sha256(self) -> str:
        """The sha256 of the bytes consumed so far (Parquet: of the whole file)."""
        return self._digest.hexdigest()

    def rows(self) -> Iterator[tuple[str, Any]]:
        """``(text, id)`` for each row, in order; ``offset``, ``line`` and :meth:`sha256` are up to date after each."""
        if self.format == "parquet":
            yield from self._parquet()
            return
        with self._open() as f:
            if self.format == "text":
                yield from self._text(f)
            elif self.format == "jsonl":
                yield from self._jsonl(f)
            else:
                yield from self._csv(f)

    def _open(self) -> BinaryIO:
        if self.stdin:
            return os.fdopen(os.dup(sys.stdin.fileno()), "rb")
        return open(self.path, "rb")

    def _lines(self, f: BinaryIO) -> Iterator[str]:
        """Each line, decoded (without its ``\\n`` or ``\\r\\n``; a leading byte order mark dropped)."""
        update = self._digest.update
        for raw in f:
            start = self.offset
            update(raw)
            self.offset += len(raw)
            self.line += 1
            skip = len(codecs.BOM_UTF8) if start == 0 and raw.startswith(codecs.BOM_UTF8) else 0
            if skip == len(raw):
                continue  # a file holding only a byte order mark holds no text
            try:
                text = raw[skip:].decode("utf-8")
            except UnicodeDecodeError as e:
                raise ValueError(
                    f"{self.name}: line {self.line} is not valid UTF-8 ({e.reason} at byte {start + skip + e.start})"
                ) from None
            if text.endswith("\n"):
                text = text[:-2] if text.endswith("\r\n") else text[:-1]
            yield text

    def _text(self, f: BinaryIO) -> Iterator[tuple[str, Any]]:
        for row, text in enumerate(self._lines(f)):
            yield text, row

    def _jsonl(self, f: BinaryIO) -> Iterator[tuple[str, Any]]:
        row = 0
        for line in self._lines(f):
            if not line.strip():
                continue  # blank lines (a trailing one, say) hold no row
            where = f"{self.name}: line {self.line}"
            try:
                record = json.loads(line)
            except ValueError as e:
                raise ValueError(f"{where} is not valid JSON ({e})") from None
            if not isinstance(record, dict):
                raise ValueError(f"{where} is {_json_type(record)}, not a JSON object")
            text = _field(record, self.column, where)
            if not isinstance(text, str):
                raise ValueError(f"{where}: field {self.column!r} is {_json_type(text)}, not a string")
            yield text, row if self.id_column is None else _field(record, self.id_column, where)
            row += 1

    def _csv(self, f: BinaryIO) -> Iterator[tuple[str, Any]]:
        # csv.reader pulls exactly the lines of each record (a quoted field may span lines), so `offset` is at a
        # record's end whenever a row is yielded.
        reader = csv.reader(line + "\n" for line in self._lines(f))
        header = next(reader, None)
        if header is None:
            return
        index = _column_index(header, self.column, self.name)
        id_index = None if self.id_column is None else _column_index(header, self.id_column, self.name)
        row = 0
        for record in reader:
            if not record:
                continue  # a blank line
            if len(record) != len(header):
                raise ValueError(
                    f"{self.name}: line {self.line}: {len(record)} fields where the header has {len(header)}"
                )
            yield record[index], row if id_index is None else record[id_index]
            row += 1

    def _parquet(self) -> Iterator[tuple[str, Any]]:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as e:
            raise ImportError(f"Parquet input needs pyarrow: pip install 'fastembed-static[parquet]' ({e})") from None
        with open(self.path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                self._digest.update(block)
        table = pq.ParquetFile(self.path)
        names = table.schema_arrow.names
        columns = [self.column] + ([self.id_column] if self.id_column is not None else [])
        for name in columns:
            _column_index(names, name, self.name)
        kind = table.schema_arrow.field(self.column).type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)):
            raise ValueError(f"{self.name}: column {self.column!r} holds {kind}, not strings")
        row = 0
        for batch in table.iter_batches(batch_size=65536, columns=columns):
            texts = batch.column(0)
            if texts.null_count:
                first = row + next(i for i, v in enumerate(texts.is_null().to_pylist()) if v)
                raise ValueError(f"{self.name}: row {first}: column {self.column!r} is null")
            ids = batch.column(1).to_pylist() if self.id_column is not None else range(row, row + len(batch))
            for text, ident in zip(texts.to_pylist(), ids):
                self.offset += 1
                yield text, ident
            row += len(batch)


def _field(record: dict[str, Any], name: str, where: str) -> Any:
    if name not in record:
        raise ValueError(f"{where} has no field {name!r}")
    return record[name]


def _column_index(header: list[str], name: str, source: str) -> int:
    if name not in header:
        raise ValueError(f"{source}: no column {name!r} (columns: {', '.join(map(repr, header))})")
    return header.index(name)


def _json_type(value: object) -> str:
    return "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)
