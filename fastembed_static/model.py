"""The public ``StaticModel``: tokenize with the fast core, pool with numpy."""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import numpy as np
import numpy.typing as npt

from . import _charmap, _engine, _model_files, _pooling
from ._engine import UNIT_CHARS as UNIT_CHARS  # re-exported: measurement scripts read them here
from ._engine import default_threads as default_threads
from ._engine import units_of as _units
from ._tokenizer import BadTextError
from ._tokenizer_builder import build_tokenizer, normalizer_config
from .errors import ModelFileError
from .gen.layout import bundled_name, is_generated_model

if TYPE_CHECKING:
    from ._chunks import ChunkCache

Vector = npt.NDArray[np.float32]
DEFAULT_MODEL_DIR = Path(__file__).parent / "_models" / "default"
CHUNK_PATH_MIN_CHARS = 1024  # smaller inputs go to the compiled core text by text (fewer numpy calls)
_NO_CACHE: Any = object()


def _place_table(table: npt.NDArray[Any], memory: str) -> npt.NDArray[Any]:
    """The mapped table itself (``"mmap"``), or a read-only copy in anonymous memory advised for transparent huge
    pages (``"copy"``)."""
    if memory == "mmap":
        return table
    if memory != "copy":
        raise ValueError(f'memory must be "mmap" or "copy", got {memory!r}')
    import mmap

    anonymous = mmap.mmap(-1, max(1, table.nbytes))
    if hasattr(mmap, "MADV_HUGEPAGE"):
        anonymous.madvise(mmap.MADV_HUGEPAGE)
    copy: npt.NDArray[Any] = np.frombuffer(anonymous, dtype=table.dtype, count=table.size).reshape(table.shape)
    copy[...] = table
    copy.flags.writeable = False
    return copy


class StaticModel:
    """A static embedding model: a text's embedding is the mean of its tokens' rows of a lookup table.

    Load one with :meth:`default` (the bundled model) or :meth:`from_pretrained` (a generated model directory, or a
    model directory in the sentence-transformers or model2vec layout, generated once into a cache).
    """

    def __init__(self, generated: _model_files.GeneratedModel, memory: str = "mmap") -> None:
        self._generated = generated
        self._table = _place_table(generated.weights, memory)
        self._scales = generated.scales
        self._tokenizer = build_tokenizer(generated.tokenizer_config, generated.tokens, extras=generated.extras)
        self._chunk_cache: ChunkCache | None = _NO_CACHE  # built on the first batch (not at load: cold start)
        # the plain case of the latency path: a contiguous float32 table, no scales
        self._plain_f32 = self._table.dtype == np.float32 and self._table.flags.c_contiguous and self._scales is None
        self.normalize_default: bool = bool(generated.metadata["normalize"])

    @classmethod
    def default(cls, *, memory: str = "mmap") -> StaticModel:
        """The bundled default model (distilled from all-MiniLM-L6-v2 with model2vec; see README). ``memory``: see
        :meth:`from_pretrained`."""
        if not is_generated_model(DEFAULT_MODEL_DIR):
            from ._checkout import explain, unbuilt_checkout

            checkout = unbuilt_checkout()
            problem = "the bundled default model was not generated: reinstall with `pip install .`"
            raise ModelFileError(DEFAULT_MODEL_DIR, problem if checkout is None else explain(checkout))
        return cls(_model_files.load(DEFAULT_MODEL_DIR), memory)

    @classmethod
    def bundled(cls, name: str, *, memory: str = "mmap") -> StaticModel:
        """A model bundled at install time with FASTEMBED_STATIC_BUNDLE: a hub id ``owner/name`` or the name of a
        local model directory."""
        from ._generated_cache import BUNDLED_DIR

        path = BUNDLED_DIR / bundled_name(name)
        if not is_generated_model(path):
            available = (
                sorted(p.name for p in BUNDLED_DIR.iterdir() if is_generated_model(p)) if BUNDLED_DIR.is_dir() else []
            )
            raise ModelFileError(path, f"no bundled model {name!r}; bundled: {', '.join(available) or 'none'}")
        return cls(_model_files.load(path), memory)

    @classmethod
    def from_pretrained(
        cls,
        model: str | Path,
        *,
        revision: str = "main",
        cache_dir: str | Path | None = None,
        token: str | None = None,
        offline: bool | None = None,
        force_refresh: bool = False,
        dims: int | None = None,
        memory: str = "mmap",
    ) -> StaticModel:
        """Load a model: a generated model directory; a model directory in the sentence-transformers or model2vec
        layout (generated once into the cache); or a Hugging Face hub id such as
        ``"sentence-transformers/static-retrieval-mrl-en-v1"`` (a model bundled at install time, else downloaded,
        verified and generated once into the cache; needs ``fastembed-static[hub]``).

        ``revision``: hub branch, tag or commit. ``cache_dir``: default ``$FASTEMBED_STATIC_CACHE`` or
        ``~/.cache/fastembed-static``. ``token``: default ``$HF_TOKEN``. ``offline``: use only the cache (default
        ``$HF_HUB_OFFLINE``). ``force_refresh``: ask the hub whether a cached branch moved. ``dims``: generate a
        table of only the first ``dims`` columns (Matryoshka), smaller and faster than ``encode(dim=...)``; the
        model's own normalization then sees only those columns (unit vectors, as ``encode(dim=dims, normalize=True)``).
        ``memory``: where the table lives: ``"mmap"`` (default) reads it from the file mapping (pages shared between
        processes, loaded on first use); ``"copy"`` copies it into private anonymous memory advised for
        transparent huge pages (fewer TLB misses where file pages are not huge; costs a copy at load).
        """
        if isinstance(model, str) and not model.strip():  # Path("") would be the current directory
            raise ValueError("model is an empty string: give a model folder (e.g. './my-model') or a hub id owner/name")
        from ._generated_cache import load_model

        generated = load_model(
            model,
            revision=revision,
            cache_dir=cache_dir,
            token=token,
            offline=offline,
            force_refresh=force_refresh,
            dims=dims,
        )
        return cls(generated, memory)

    @property
    def dtype(self) -> str:
        """How the table is stored: "float32" (exact), "float16" or "int8" (chosen at generation)."""
        return str(self._generated.metadata["dtype"])

    @property
    def dim(self) -> int:
        return int(self._table.shape[1])

    @property
    def vocab_size(self) -> int:
        return int(self._table.shape[0])

    @property
    def path(self) -> Path:
        return self._generated.path

    @property
    def metadata(self) -> dict[str, Any]:
        return self._generated.metadata

    def verify(self) -> None:
        """Check the sha256 of the weights and vocabulary files against model.json (reads them whole)."""
        _model_files.verify_checksums(self._generated)

    def tokenize(self, text: str) -> list[int]:
        """Token ids of ``text``, identical to HF tokenizers' ``encode(text, add_special_tokens=False).ids``."""
        _check_text(text, None)
        try:
            return self._tokenizer.encode(text)
        except BadTextError as e:
            raise ValueError(f"text cannot be tokenized: {e}") from None

    @overload
    def encode(
        self,
        texts: str,
        *,
        batch_size: int = ...,
        normalize: bool | None = ...,
        dim: int | None = ...,
        show_progress_bar: bool = ...,
        workers: int | None = ...,
        threads: int | None = ...,
    ) -> Vector: ...

    @overload
    def encode(
        self,
        texts: Iterable[str],
        *,
        batch_size: int = ...,
        normalize: bool | None = ...,
        dim: int | None = ...,
        show_progress_bar: bool = ...,
        workers: int | None = ...,
        threads: int | None = ...,
    ) -> Vector: ...

    def encode(
        self,
        texts: str | Iterable[str],
        *,
        batch_size: int = 1024,
        normalize: bool | None = None,
        dim: int | None = None,
        show_progress_bar: bool = False,
        workers: int | None = None,
        threads: int | None = None,
    ) -> Vector:
        """Embed one text (shape ``(dim,)``) or many (shape ``(n, dim)``), float32.

        ``dim``: keep the first ``dim`` dimensions (Matryoshka), as sentence-transformers' ``truncate_dim``.
        ``normalize``, in the order sentence-transformers applies them:

        - None (default): the model's own setting (a Normalize module, or model2vec's ``normalize`` flag), applied
          to the full vector, then truncated to ``dim``: sentence-transformers' ``encode(truncate_dim=dim)``. With
          ``dim`` and a normalizing model, the vectors are therefore *not* unit length.
        - True: unit vectors after truncation: sentence-transformers' ``normalize_embeddings=True``.
        - False: the raw mean of the token rows, truncated: sentence-transformers without a Normalize module.

        Which engine runs a call of many texts (README, "Threads, memory and the batch engine"): inputs smaller
        than two units of work (about 64k characters each) run on the calling thread. ``workers=N``: N worker
        processes (Linux; calls of at least 256k characters, smaller ones use threads) sharing the model's
        mapped table. ``threads=N``: N threads in this process. With neither: ``$FASTEMBED_STATIC_WORKERS``
        processes if set (1: none), else ``$FASTEMBED_STATIC_THREADS`` threads (default: one per CPU). Each text's vector is the same
        whatever the engine, thread or worker count (rows are added in token order either way).
        ``batch_size``: at most this many texts per unit of work.
        """
        do_normalize = self.normalize_default if _check_normalize(normalize) is None else bool(normalize)
        if isinstance(texts, str) and dim is None and self._plain_f32:  # the latency path: little Python
            try:
                ids = self._tokenizer.encode(texts)
            except BadTextError as e:
                raise ValueError(f"text cannot be tokenized: {e}") from None
            count = len(ids)
            if 0 < count <= _pooling.LONG_TEXT_TOKENS:
                vector: Vector = np.add.reduce(self._table.take(ids, axis=0), axis=0)  # rows in order, float32
                vector /= count
            else:
                vector = _pooling.mean_one(self._table, ids)
            return _pooling.l2_normalize(vector[None, :])[0] if do_normalize else vector
        keep = self._columns(_check_dim(dim))
        # the model's own normalization (normalize=None) comes before truncation, as a Normalize module in
        # sentence-transformers' forward does: it needs the full vector. normalize=True normalizes what is kept.
        before = do_normalize and normalize is None and keep is not None
        table = self._table if keep is None or before else self._table[:, :keep]
        scales = None if self._scales is None else self._scales[: table.shape[1]]
        if isinstance(texts, str):
            try:
                ids = self._tokenizer.encode(texts)
            except BadTextError as e:
                raise ValueError(f"text cannot be tokenized: {e}") from None
            vector = _pooling.mean_one(table, ids)
            if scales is not None:
                vector *= scales
            if do_normalize:
                vector = _pooling.l2_normalize(vector[None, :])[0]
            return vector[:keep].copy() if before else vector
        if isinstance(texts, (bytes, bytearray, memoryview)):
            raise TypeError(f"encode takes a str or an iterable of str, not {type(texts).__name__}: decode it first")
        if not isinstance(texts, Iterable):
            raise TypeError(f"encode takes a str or an iterable of str, not {type(texts).__name__}")
        _check_batch_size(batch_size)
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
            raise ValueError(f"workers must be an int >= 1 or None, got {workers!r}")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise ValueError(f"threads must be an int >= 1 or None, got {threads!r}")
        if workers is not None and threads is not None and workers > 1 and threads > 1:
            raise ValueError("give threads= (threads in this process) or workers= (processes), not both > 1")
        items = _snapshot(texts)
        for i, text in enumerate(items):
            if not isinstance(text, str):
                _check_text(text, i)
        strings: list[str] = items  # type: ignore[assignment]  # checked above
        n = len(strings)
        units = _units(strings, batch_size)
        engine, count = _engine.plan(workers, threads, sum(map(len, strings)) if len(units) > 1 else 0, len(units))
        progress = _Progress(n) if show_progress_bar else None
        if engine == "processes":
            columns = keep if keep is not None else table.shape[1]
            rows = _engine.run_processes(
                self,
                strings,
                units,
                count,
                columns,
                None if before else keep,
                before,
                do_normalize,
                progress.update if progress else None,
            )
            if rows is not None:
                if progress:
                    progress.close()
                return rows
            self._bad_text(strings)  # a lone surrogate cannot be sent as UTF-8: report it with its index
            engine, count = "calling", 1
        out = np.empty((n, table.shape[1]), dtype=np.float32)
        _engine.run_threads(
            count if engine == "threads" else 1,
            units,
            lambda first, last: self._encode_unit(strings, first, last, out, table),
            progress.update if progress else None,
        )
        if progress:
            progress.close()
        if scales is not None:
            out *= scales
        if do_normalize:
            out = _pooling.l2_normalize(out)
        return np.ascontiguousarray(out[:, :keep]) if before else out

    def _bad_text(self, texts: list[str]) -> None:
        """Raise ValueError naming the first text the tokenizer refuses (checked before any work is sent out)."""
        for i, text in enumerate(texts):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                try:
                    self._tokenizer.encode(text)
                except BadTextError as e:
                    raise ValueError(f"text at index {i} cannot be tokenized: {e}") from None

    def encode_iter(
        self,
        texts: Iterable[str],
        *,
        batch_size: int = 16384,
        normalize: bool | None = None,
        dim: int | None = None,
        threads: int | None = None,
        workers: int | None = None,
    ) -> Iterator[Vector]:
        """Embed a stream of texts in bounded memory: yields one ``(n_i, dim)`` float32 array per ``batch_size``
        texts (the last may be shorter; none for an empty input), in input order, each :meth:`encode` of that
        batch, so the rows are bit-identical to one ``encode`` of the whole list.

        ``texts``: any iterable of ``str`` (a generator over a file, a database cursor), consumed on the calling
        thread, one batch ahead: while batch *k* is embedded (on a background thread), batch *k + 1* is read, and
        while the caller handles batch *k*, batch *k + 1* is embedded. At most three batches are held at a time.
        A bad item raises as in ``encode``, naming its index in the whole stream. ``normalize``, ``dim``,
        ``threads``, ``workers``: as in ``encode`` (checked there, at the first batch).
        """
        if isinstance(texts, (str, bytes, bytearray, memoryview)):
            raise TypeError(
                f"encode_iter takes an iterable of str, not {type(texts).__name__}: use encode for one text"
            )
        if not isinstance(texts, Iterable):
            raise TypeError(f"encode_iter takes an iterable of str, not {type(texts).__name__}")
        _check_batch_size(batch_size)
        _check_normalize(normalize)
        self._columns(_check_dim(dim))  # bad arguments fail here, before the input is read

        def embed(batch: list[str], first: int) -> Vector:
            try:
                return self.encode(batch, normalize=normalize, dim=dim, threads=threads, workers=workers)
            except (TypeError, ValueError) as e:  # the index in the batch -> the index in the stream
                if type(e) not in (TypeError, ValueError):
                    raise
                message = re.sub(r"at index (\d+)", lambda m: f"at index {first + int(m.group(1))}", str(e), count=1)
                raise type(e)(message) from None

        return _pipelined(texts, int(batch_size), embed)

    def _encode_unit(self, items: Sequence[object], first: int, last: int, out: Vector, table: Vector) -> None:
        """Embed ``items[first:last]`` into ``out[first:last]``."""
        ids, lengths = self._tokenize_batch(items[first:last], first)
        _pooling.mean_pool(table, ids, lengths, out=out[first:last])

    @property
    def _chunks(self) -> ChunkCache | None:
        cache = self._chunk_cache
        if cache is _NO_CACHE:
            from ._chunks import ChunkCache

            config = self._generated.tokenizer_config
            cache = None
            # The chunk cache is proven exact for WordPiece only; other kinds batch in their own core.
            wordpiece = config.get("model", "WordPiece") == "WordPiece"
            plan = _charmap.ascii_plan(normalizer_config(config)) if wordpiece else None
            if plan is not None:
                added = [str(t["content"]) for t in config["added_tokens"]]
                cache = ChunkCache.create(self._tokenizer, plan.word_chars, plan.punct_chars, plan.delete, added)
            self._chunk_cache = cache
        return cache

    def _columns(self, dim: int | None) -> int | None:
        """How many columns to keep: None for all of them (``dim`` None or the model's full dimension)."""
        if dim is None:
            return None
        if not 0 < dim <= self.dim:
            raise ValueError(f"dim must be an int in 1..{self.dim}, got {dim!r}")
        return None if dim == self.dim else dim

    def _tokenize_batch(
        self, batch: Sequence[object] | list[str], offset: int
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """Token ids of all texts (all ``str``, checked by the caller) and each text's count."""
        ids: list[int] = []
        lengths: list[int] = []
        texts: list[str] = batch if isinstance(batch, list) else list(batch)  # type: ignore[arg-type]
        try:
            chunks = self._chunks
            if chunks is not None and (len(texts) > 16 or sum(map(len, texts)) >= CHUNK_PATH_MIN_CHARS):
                return chunks.encode_batch(texts)
            self._tokenizer.encode_batch(texts, ids, lengths)
        except BadTextError:
            for i, text in enumerate(batch):
                try:
                    self._tokenizer.encode(text)  # type: ignore[arg-type]
                except BadTextError as e:
                    raise ValueError(f"text at index {offset + i} cannot be tokenized: {e}") from None
            raise
        return np.asarray(ids, dtype=np.intp), np.asarray(lengths, dtype=np.intp)


def _pipelined(texts: Iterable[str], batch_size: int, embed: Callable[[list[str], int], Vector]) -> Iterator[Vector]:
    """``embed(batch, first)`` of each batch of ``texts``, in order, run one batch ahead on a background thread
    while the calling thread reads the next batch (and the caller handles the previous result)."""
    from concurrent.futures import Future, ThreadPoolExecutor

    source = iter(texts)
    first = 0
    with ThreadPoolExecutor(1, thread_name_prefix="fastembed-static-iter") as runner:
        pending: Future[Vector] | None = None
        try:
            while True:
                batch = list(itertools.islice(source, batch_size))  # read while `pending` is embedded
                result = pending.result() if pending is not None else None
                pending = runner.submit(embed, batch, first) if batch else None
                first += len(batch)
                if result is not None:
                    yield result  # the caller handles it while the next batch is embedded
                if pending is None:
                    return
        finally:
            if pending is not None:  # the caller stopped early (or reading failed): let the running batch finish
                pending.cancel()


def _snapshot(texts: Iterable[object]) -> list[object]:
    """The input, copied once: a list changed while encode runs (another thread, a list subclass) cannot make
    encode return rows it never computed."""
    return list(texts)


def _check_dim(dim: object) -> int | None:
    """``dim`` as an int (numpy integers accepted), or None; bools and other types are refused."""
    if dim is None:
        return None
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise ValueError(f"dim must be an int or None, got {dim!r}")
    return int(dim)


def _check_normalize(normalize: object) -> bool | None:
    if normalize is not None and not isinstance(normalize, (bool, np.bool_)):
        raise TypeError(f"normalize must be True, False or None, not {normalize!r}")
    return None if normalize is None else bool(normalize)


def _check_batch_size(batch_size: object) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"batch_size must be an int >= 1, not {batch_size!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")


def _check_text(text: object, index: int | None) -> None:
    if not isinstance(text, str):
        where = "text" if index is None else f"item at index {index}"
        hint = ": decode bytes first" if isinstance(text, (bytes, bytearray)) else ""
        raise TypeError(f"{where} must be str, not {type(text).__name__}{hint}")


class _Progress:
    """A minimal progress line on stderr (no dependency on tqdm)."""

    def __init__(self, total: int) -> None:
        self.total = total

    def update(self, done: int) -> None:
        sys.stderr.write(f"\rEncoding: {done}/{self.total} texts ({100 * done // max(self.total, 1)}%)")
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")
        sys.stderr.flush()
