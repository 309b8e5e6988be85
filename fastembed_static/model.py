"""The public ``StaticModel``: tokenize with the fast core, pool with numpy."""

from __future__ import annotations

import mmap
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from . import _charmap, _model_files, _pooling
from ._tokenizer import BadTextError, Tokenizer
from .errors import ModelFileError
from .gen.layout import bundled_name, is_generated_model

Vector = npt.NDArray[np.float32]
DEFAULT_MODEL_DIR = Path(__file__).parent / "_models" / "default"
PARALLEL_MIN_TEXTS = 2000  # below this, forking costs more than a second core saves


def build_tokenizer(config: dict[str, Any], tokens: list[str], core: Callable[..., Tokenizer] = Tokenizer) -> Tokenizer:
    """The tokenizer core for a generated model's ``tokenizer`` metadata (``core``: the class to build, so
    tests can build the pure-Python twin of the compiled class)."""
    normalizer = _charmap.NormalizerConfig(
        clean_text=bool(config["clean_text"]),
        handle_chinese_chars=bool(config["handle_chinese_chars"]),
        strip_accents=bool(config["strip_accents"]),
        lowercase=bool(config["lowercase"]),
    )
    plan = _charmap.ascii_plan(normalizer)
    translation = _charmap.TranslationTable(normalizer)
    truncation = config.get("truncation")
    return core(
        tokens=tokens,
        unk_id=int(config["unk_id"]),
        prefix=str(config["continuing_subword_prefix"]),
        max_chars=int(config["max_input_chars_per_word"]),
        added_tokens=[(str(t["content"]), int(t["id"])) for t in config["added_tokens"]],
        translation=translation,
        ascii_lowercase=plan.lowercase if plan else False,
        ascii_delete=plan.delete if plan else "",
        ascii_word_chars=plan.word_chars if plan else "",
        ascii_punct_chars=plan.punct_chars if plan else "",
        use_ascii_path=plan is not None,
        reorder_marks=_charmap.reorder_marks_string() if normalizer.strip_accents else "",
        reorder=lambda text: _charmap.normalize_reordered(text, translation),
        truncate_to=int(truncation["max_length"]) if truncation else -1,
        truncate_left=bool(truncation and truncation["direction"] == "left"),
    )


class StaticModel:
    """A static embedding model: a text's embedding is the mean of its tokens' rows of a lookup table.

    Load one with :meth:`default` (the bundled model) or :meth:`from_pretrained` (a generated model directory, or a
    model directory in the sentence-transformers or model2vec layout, generated once into a cache).
    """

    def __init__(self, generated: _model_files.GeneratedModel) -> None:
        self._generated = generated
        self._table = generated.weights
        self._scales = generated.scales
        self._tokenizer = build_tokenizer(generated.tokenizer_config, generated.tokens)
        self.normalize_default: bool = bool(generated.metadata["normalize"])

    @classmethod
    def default(cls) -> StaticModel:
        """The bundled default model (distilled from all-MiniLM-L6-v2 with model2vec; see README)."""
        if not is_generated_model(DEFAULT_MODEL_DIR):
            raise ModelFileError(
                DEFAULT_MODEL_DIR, "the bundled default model was not generated: reinstall with `pip install .`"
            )
        return cls(_model_files.load(DEFAULT_MODEL_DIR))

    @classmethod
    def bundled(cls, name: str) -> StaticModel:
        """A model bundled at install time with FASTEMBED_STATIC_BUNDLE: a hub id ``owner/name`` or the name of a
        local model directory."""
        from ._generated_cache import BUNDLED_DIR

        path = BUNDLED_DIR / bundled_name(name)
        if not is_generated_model(path):
            available = sorted(p.name for p in BUNDLED_DIR.iterdir() if is_generated_model(p))
            raise ModelFileError(path, f"no bundled model {name!r}; bundled: {', '.join(available) or 'none'}")
        return cls(_model_files.load(path))

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
    ) -> StaticModel:
        """Load a model: a generated model directory; a model directory in the sentence-transformers or model2vec
        layout (generated once into the cache); or a Hugging Face hub id such as
        ``"sentence-transformers/static-retrieval-mrl-en-v1"`` (a model bundled at install time, else downloaded,
        verified and generated once into the cache; needs ``fastembed-static[hub]``).

        ``revision``: hub branch, tag or commit. ``cache_dir``: default ``$FASTEMBED_STATIC_CACHE`` or
        ``~/.cache/fastembed-static``. ``token``: default ``$HF_TOKEN``. ``offline``: use only the cache (default
        ``$HF_HUB_OFFLINE``). ``force_refresh``: ask the hub whether a cached branch moved. ``dims``: generate a
        table of only the first ``dims`` columns (Matryoshka), smaller and faster than ``encode(dim=...)``.
        """
        from ._generated_cache import resolve

        path = resolve(
            model,
            revision=revision,
            cache_dir=cache_dir,
            token=token,
            offline=offline,
            force_refresh=force_refresh,
            dims=dims,
        )
        return cls(_model_files.load(path))

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
        workers: int = ...,
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
        workers: int = ...,
    ) -> Vector: ...

    def encode(
        self,
        texts: str | Iterable[str],
        *,
        batch_size: int = 1024,
        normalize: bool | None = None,
        dim: int | None = None,
        show_progress_bar: bool = False,
        workers: int = 1,
    ) -> Vector:
        """Embed one text (shape ``(dim,)``) or many (shape ``(n, dim)``), float32.

        ``normalize``: L2-normalize the vectors; None uses the model's own setting (a Normalize module or
        model2vec's ``normalize`` flag). ``dim``: keep the first ``dim`` dimensions (Matryoshka), applied before
        normalizing, as sentence-transformers' ``truncate_dim`` does. ``workers``: processes (forked, sharing the
        memory-mapped table and writing into one shared output; POSIX only, elsewhere one worker) for inputs of at
        least PARALLEL_MIN_TEXTS texts; results are identical to one worker, in input order.
        """
        table = self._columns(dim)
        scales = None if self._scales is None else self._scales[: table.shape[1]]
        do_normalize = self.normalize_default if normalize is None else normalize
        if isinstance(texts, str):  # the latency path: as little Python as possible
            try:
                ids = self._tokenizer.encode(texts)
            except BadTextError as e:
                raise ValueError(f"text cannot be tokenized: {e}") from None
            vector = _pooling.mean_one(table, ids)
            if scales is not None:
                vector *= scales
            return _pooling.l2_normalize(vector[None, :])[0] if do_normalize else vector
        if isinstance(texts, (bytes, bytearray, memoryview)):
            raise TypeError(f"encode takes a str or an iterable of str, not {type(texts).__name__}: decode it first")
        if not isinstance(texts, Iterable):
            raise TypeError(f"encode takes a str or an iterable of str, not {type(texts).__name__}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be an int >= 1, got {workers!r}")
        items: Sequence[object] = texts if isinstance(texts, (list, tuple)) else list(texts)
        progress = _Progress(len(items)) if show_progress_bar else None
        if workers > 1 and len(items) >= PARALLEL_MIN_TEXTS and hasattr(os, "fork"):
            out = self._encode_forked(items, table, batch_size, workers, progress)
        else:
            out = np.empty((len(items), table.shape[1]), dtype=np.float32)
            self._encode_into(items, 0, out, table, batch_size, progress)
        if progress:
            progress.close()
        if scales is not None:
            out *= scales
        return _pooling.l2_normalize(out) if do_normalize else out

    def _encode_into(
        self,
        items: Sequence[object],
        offset: int,
        out: Vector,
        table: Vector,
        batch_size: int,
        progress: _Progress | None,
    ) -> None:
        """Embed ``items`` (which start at index ``offset`` of the caller's input) into ``out``."""
        for start in range(0, len(items), batch_size):
            batch = items[start : start + batch_size]
            ids, lengths = self._tokenize_batch(batch, offset + start)
            out[start : start + len(batch)] = _pooling.mean_pool(table, ids, lengths)
            if progress:
                progress.update(offset + start + len(batch))

    def _encode_forked(
        self, items: Sequence[object], table: Vector, batch_size: int, workers: int, progress: _Progress | None
    ) -> Vector:
        """Split the texts into ``workers`` contiguous parts of about equal total length; forked children embed
        theirs into an anonymous shared mapping (the table is mapped from its file, so it is shared, not copied)
        while this process embeds the first. A child that fails is redone here, which raises the real error."""
        for i, text in enumerate(items):
            _check_text(text, i)
        n, dim = len(items), table.shape[1]
        shared = mmap.mmap(-1, max(1, n * dim * 4))
        out: Vector = np.frombuffer(shared, dtype=np.float32, count=n * dim).reshape(n, dim)
        sizes = np.cumsum([len(t) + 16 for t in items])  # type: ignore[arg-type]  # checked above
        cuts = [0] + [int(np.searchsorted(sizes, sizes[-1] * k / workers)) for k in range(1, workers)] + [n]
        children: list[tuple[int, int, int]] = []
        for first, last in zip(cuts[1:-1], cuts[2:]):
            pid = os.fork()
            if pid == 0:  # child: embed its part, never return into the caller's code
                code = 1
                try:
                    self._encode_into(items[first:last], first, out[first:last], table, batch_size, None)
                    code = 0
                finally:
                    os._exit(code)
            children.append((pid, first, last))
        self._encode_into(items[: cuts[1]], 0, out[: cuts[1]], table, batch_size, progress)
        for pid, first, last in children:
            _, status = os.waitpid(pid, 0)
            if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
                self._encode_into(items[first:last], first, out[first:last], table, batch_size, None)
            if progress:
                progress.update(last)
        return out

    def _columns(self, dim: int | None) -> Vector:
        if dim is None:
            return self._table
        if isinstance(dim, bool) or not isinstance(dim, int) or not 0 < dim <= self.dim:
            raise ValueError(f"dim must be an int in 1..{self.dim}, got {dim!r}")
        return self._table[:, :dim]

    def _tokenize_batch(
        self, batch: Sequence[object], offset: int
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        ids: list[int] = []
        lengths: list[int] = []
        for i, text in enumerate(batch):
            _check_text(text, offset + i)
        try:
            self._tokenizer.encode_batch(list(batch), ids, lengths)  # type: ignore[arg-type]  # checked above
        except BadTextError:
            for i, text in enumerate(batch):
                try:
                    self._tokenizer.encode(text)  # type: ignore[arg-type]
                except BadTextError as e:
                    raise ValueError(f"text at index {offset + i} cannot be tokenized: {e}") from None
            raise
        return np.asarray(ids, dtype=np.intp), np.asarray(lengths, dtype=np.intp)


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
