"""The outputs of ``fastembed-static embed --output``, written in resumable parts.

Rows are written in parts (one per batch) into a sidecar folder ``OUTPUT.parts/``. ``.npy`` and ``.jsonl`` parts
are appended to one data file there (``.npy``: after 128 zero bytes kept for the header, so the file is not an
array while it is written); ``.parquet`` parts are files of their own, each written to a temporary file and
renamed. Each part is fsynced, then recorded in ``manifest.json`` (replaced atomically) with its row count, size,
sha256 and where the input stood after it (bytes consumed and their sha256). A run killed at any point leaves
only whole parts in the manifest (bytes past the last one are cut off on resume); ``--resume`` checks the
arguments and the input against the manifest, skips the rows already embedded and goes on.

At the end every part is checked against its sha256; the ``.npy`` header with the final shape is written in place
and the data file fsynced and renamed to ``OUTPUT`` (no copy); a ``.parquet`` output is assembled (one row group
per part) into a temporary file beside ``OUTPUT``, fsynced and renamed. ``OUTPUT`` either does not exist or is
complete. Then the parts are removed.

Formats, by the output's extension: ``.npy`` (an ``(n, dim)`` float32 array), ``.parquet`` (``id``, optionally
``text``, and ``embedding`` as ``fixed_size_list<float32>[dim]``; needs pyarrow), ``.jsonl`` (``{"text",
"embedding"}`` lines, as the command prints them).
"""

from __future__ import annotations

import glob
import hashlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

OUTPUT_SUFFIXES = (".npy", ".parquet", ".jsonl")
DATA = "data"  # the .npy / .jsonl parts, one after the other (the output-to-be)
NPY_HEADER = 128  # bytes kept for the .npy header (magic, version, shape; numpy pads it to a multiple of 64)
MANIFEST_VERSION = 1
_COPY = 1 << 22
# float vectors neither compress nor repeat: no compression, no dictionary, no statistics (each costs a pass)
PARQUET_OPTIONS: dict[str, Any] = {"compression": "none", "use_dictionary": False, "write_statistics": False}


class ResumeError(ValueError):
    """A ``--resume`` (or a run over a leftover parts folder) that cannot go on: different arguments, a changed
    input, a damaged part."""


def json_line(text: str, vector: npt.NDArray[np.float32]) -> str:
    return f'{{"text": {json.dumps(text, ensure_ascii=False)}, "embedding": {json_floats(vector)}}}\n'


def json_floats(vector: npt.NDArray[np.float32]) -> str:
    """A JSON array of float32 values, each written as the shortest decimal that reads back (as a double, cast to
    float32) as exactly that value: numpy's ``str`` of a float32 scalar (Dragon4, unique mode). Non-finite values
    (a model whose table holds them) are written as Python's json writes them (NaN, Infinity)."""
    if not np.isfinite(vector).all():
        return json.dumps([float(x) for x in vector])
    return f"[{', '.join(map(str, vector))}]"


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError as e:
        raise ImportError(f"Parquet output needs pyarrow: pip install 'fastembed-static[parquet]' ({e})") from None
    return pyarrow


class Parts:
    """The parts folder of one output, with its manifest; made (or, with ``resume``, reopened) by :meth:`open`."""

    def __init__(self, output: Path, arguments: dict[str, Any], source: dict[str, Any] | None, dim: int) -> None:
        self.output = output
        self.folder = output.with_name(output.name + ".parts")
        self.kind = output.suffix.lower()
        self.dim = dim
        self.manifest: dict[str, Any] = {
            "version": MANIFEST_VERSION,
            "arguments": arguments,
            "input": source,
            "parts": [],
        }

    @property
    def parts(self) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = self.manifest["parts"]
        return parts

    @property
    def rows(self) -> int:
        return sum(int(p["rows"]) for p in self.parts)

    def open(self, resume: bool) -> None:
        """Start a new folder, or (``resume``) go on from the one left by an interrupted run with the same
        arguments and input. A leftover folder without ``resume`` is refused: it would be silently lost."""
        if self.output.suffix.lower() == ".parquet":
            _pyarrow()
        if self.output.resolve().parent.is_dir():
            self._clean_leftovers()
        if not self.folder.exists():  # made under another name, then renamed: never a folder without manifest
            _writable(self.output)
            new = self.folder.with_name(f".{self.folder.name}.new")
            shutil.rmtree(new, ignore_errors=True)
            new.mkdir()
            if self.kind != ".parquet":
                with open(new / DATA, "wb") as f:
                    f.write(b"\0" * self._start())  # no npy magic: not an array until the header is written
                    os.fsync(f.fileno())
            _write_atomically(new / "manifest.json", lambda f: f.write(self._manifest_bytes()))
            os.replace(new, self.folder)
            return
        if not resume:
            raise ResumeError(
                f"{self.folder} holds the parts of an interrupted run: rerun with --resume to go on with it, or"
                " remove that folder to start over"
            )
        if self.manifest["input"] is None:
            raise ResumeError("cannot resume: the input is not a file (stdin or arguments cannot be read again)")
        try:
            old = json.loads((self.folder / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ResumeError(f"{self.folder}: no readable manifest.json ({e}): remove the folder to start over") from e
        if old.get("version") != MANIFEST_VERSION or old.get("arguments") != self.manifest["arguments"]:
            differ = sorted(
                k
                for k in {*self.manifest["arguments"], *old.get("arguments", {})}
                if old.get("arguments", {}).get(k) != self.manifest["arguments"].get(k)
            )
            raise ResumeError(
                f"cannot resume: {self.folder} was made with different arguments ({', '.join(differ)}); rerun with"
                " the same arguments, or remove the folder to start over"
            )
        if old.get("input") != self.manifest["input"]:
            raise ResumeError(
                f"cannot resume: the input changed since {self.folder} was made (its size or modification time);"
                " remove the folder to start over"
            )
        self.manifest["parts"] = old["parts"]
        known = {p.get("file") for p in self.parts} | {"manifest.json", DATA}
        for leftover in self.folder.iterdir():  # a part written but not recorded, temporary files
            if leftover.name not in known:
                leftover.unlink()
        if self.kind != ".parquet":  # rows written after the last recorded part are dropped
            end = self._end()
            data = self.folder / DATA
            if not data.is_file() or data.stat().st_size < end:
                raise ResumeError(f"{data} is shorter than its manifest says: remove the folder to start over")
            os.truncate(data, end)

    def check_input(self, offset: int, sha256: str) -> None:
        """Where the input stands after skipping the rows already embedded must be where it stood then."""
        last = self.parts[-1]
        if (offset, sha256) != (last["input_offset"], last["input_sha256"]):
            raise ResumeError(
                f"cannot resume: the first {self.rows} rows of the input are not those embedded into {self.folder}:"
                " remove the folder to start over"
            )

    def add(
        self,
        vectors: npt.NDArray[np.float32],
        texts: Sequence[str] | None,
        ids: Sequence[Any] | None,
        input_offset: int,
        input_sha256: str,
    ) -> None:
        """Write one part (durably: fsynced before the manifest that records it is replaced) and record it.

        ``.npy`` and ``.jsonl`` parts are appended to one data file (``OUTPUT.parts/data``), which becomes the
        output at the end without a copy; ``.parquet`` parts are files of their own, rewritten into one at the end.
        """
        if self.kind == ".parquet":
            name = f"part-{len(self.parts):06d}.parquet"
            _write_atomically(self.folder / name, lambda f: self._write_parquet(f, vectors, texts, ids))
            size, digest = _file_sha256(self.folder / name)
            record: dict[str, Any] = {"file": name}
        else:
            if self.kind == ".npy":
                data: bytes | memoryview = memoryview(np.ascontiguousarray(vectors, dtype="<f4")).cast("B")  # type: ignore[arg-type]
            else:
                assert texts is not None
                data = "".join(json_line(t, v) for t, v in zip(texts, vectors)).encode("utf-8")
            size, digest = len(data), hashlib.sha256(data).hexdigest()
            with open(self.folder / DATA, "r+b") as f:
                f.seek(self._end())
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            record = {"offset": self._end()}
        record.update(
            {
                "rows": int(vectors.shape[0]),
                "bytes": size,
                "sha256": digest,
                "input_offset": input_offset,
                "input_sha256": input_sha256,
            }
        )
        self.parts.append(record)
        self._save_manifest()

    def _start(self) -> int:
        return NPY_HEADER if self.kind == ".npy" else 0

    def _end(self) -> int:
        """Where the next part goes in the data file."""
        return int(self.parts[-1]["offset"] + self.parts[-1]["bytes"]) if self.parts else self._start()

    def _write_parquet(
        self, f: IO[bytes], vectors: npt.NDArray[np.float32], texts: Sequence[str] | None, ids: Sequence[Any] | None
    ) -> None:
        pa = _pyarrow()
        assert ids is not None
        n, dim = vectors.shape
        columns = {"id": pa.array(ids)}
        if texts is not None:
            columns["text"] = pa.array(texts, type=pa.string())
        flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1))
        columns["embedding"] = pa.FixedSizeListArray.from_arrays(flat, dim)
        pa.parquet.write_table(pa.table(columns), f, row_group_size=max(1, n), **PARQUET_OPTIONS)

    def finish(self) -> int:
        """Check every part against its sha256, make the output (atomically), remove the parts; the row count."""
        rows = self.rows
        if self.kind == ".parquet":
            _write_atomically(self.output, self._assemble_parquet)
        else:
            data = self.folder / DATA
            with open(data, "r+b") as f:
                for part in self.parts:
                    f.seek(part["offset"])
                    digest = hashlib.sha256()
                    left = int(part["bytes"])
                    while left:
                        block = f.read(min(left, _COPY))
                        if not block:
                            break
                        digest.update(block)
                        left -= len(block)
                    if left or digest.hexdigest() != part["sha256"]:
                        raise ResumeError(f"{data}: part {part} is damaged: remove the folder to start over")
                if self.kind == ".npy":
                    header = io.BytesIO()
                    np.lib.format.write_array_header_1_0(  # type: ignore[no-untyped-call, unused-ignore]  # numpy 1.24's stubs
                        header, {"descr": "<f4", "fortran_order": False, "shape": (rows, self.dim)}
                    )
                    if len(header.getvalue()) != NPY_HEADER:
                        raise ValueError(f"{rows} x {self.dim}: no room for the .npy header")
                    f.seek(0)
                    f.write(header.getvalue())
                f.flush()
                os.fsync(f.fileno())
            trash = self._trash()
            os.replace(self.folder, trash)  # first: a kill from here on leaves no parts folder that looks resumable
            try:
                os.replace(trash / DATA, self.output)
            except OSError as e:
                raise OSError(e.errno, f"cannot write: {e.strerror or e}", str(self.output)) from e
            _fsync_folder(self.output.resolve().parent)
            shutil.rmtree(trash, ignore_errors=True)
            return rows
        self.discard()
        return rows

    def _assemble_parquet(self, f: IO[bytes]) -> None:
        pa = _pyarrow()
        writer = None
        for part in self.parts:
            path = self.folder / part["file"]
            if _file_sha256(path) != (part["bytes"], part["sha256"]):
                raise ResumeError(
                    f"{path} is damaged (its sha256 is not the manifest's): remove the folder to start over"
                )
            table = pa.parquet.read_table(path, memory_map=True)
            if writer is None:
                writer = pa.parquet.ParquetWriter(f, table.schema, **PARQUET_OPTIONS)
            writer.write_table(table, row_group_size=max(1, table.num_rows))
        if writer is None:  # no rows: an empty table of the same columns
            columns = {"id": pa.array([], pa.int64())}
            if self.manifest["arguments"].get("keep_text"):
                columns["text"] = pa.array([], pa.string())
            columns["embedding"] = pa.FixedSizeListArray.from_arrays(pa.array([], pa.float32()), self.dim)
            table = pa.table(columns)
            writer = pa.parquet.ParquetWriter(f, table.schema, **PARQUET_OPTIONS)
            writer.write_table(table)
        writer.close()

    def discard(self) -> None:
        """Remove the parts: renamed first (one atomic step), so that a kill while they are being deleted leaves
        no parts folder that a rerun would take for an interrupted run."""
        trash = self._trash()
        try:
            os.replace(self.folder, trash)
        except OSError:
            return
        shutil.rmtree(trash, ignore_errors=True)

    def _trash(self) -> Path:
        return self.folder.with_name(f".{self.folder.name}.removing")

    def _clean_leftovers(self) -> None:
        """What a killed run may leave beside the output: a half-written output, a parts folder being removed."""
        shutil.rmtree(self._trash(), ignore_errors=True)
        for tmp in self.output.resolve().parent.glob(f".{glob.escape(self.output.name)}.*.tmp"):
            tmp.unlink(missing_ok=True)

    def _manifest_bytes(self) -> bytes:
        return json.dumps(self.manifest, indent=1).encode("utf-8")

    def _save_manifest(self) -> None:
        text = self._manifest_bytes()
        _write_atomically(self.folder / "manifest.json", lambda f: f.write(text))


def _writable(path: Path) -> None:
    """Fail early, naming the user's file, when the output's folder does not exist or the output is a folder."""
    if not path.resolve().parent.is_dir():
        raise OSError(2, "cannot write: its folder does not exist", str(path))
    if path.is_dir():
        raise OSError(21, "cannot write: Is a directory", str(path))


def _write_atomically(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write to a temporary file beside ``path``, fsync, rename, fsync the folder: ``path`` is never left
    half-written. A failure names ``path`` (the temporary file is the writer's own business)."""
    try:
        directory = path.resolve().parent
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as e:
        reason = "its folder does not exist" if isinstance(e, FileNotFoundError) else e.strerror or str(e)
        raise OSError(e.errno, f"cannot write: {reason}", str(path)) from e
    try:
        with os.fdopen(fd, "wb", buffering=_COPY) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError) and not isinstance(e, ResumeError):
            raise OSError(e.errno, f"cannot write: {e.strerror or e}", str(path)) from e
        raise
    _fsync_folder(directory)


def _fsync_folder(directory: Path) -> None:
    """Make a rename in ``directory`` durable."""
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _file_sha256(path: Path) -> tuple[int, str]:
    """The size and sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_COPY), b""):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()
