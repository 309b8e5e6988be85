"""A drop-in for code written against model2vec's ``StaticModel`` (model2vec 0.10.0), on this package's tokenizer
and pooling: the same vectors, bit for bit, for float32 models.

>>> from fastembed_static.model2vec import StaticModel      # instead of: from model2vec import StaticModel
>>> model = StaticModel.from_pretrained("minishlab/potion-base-8M")  # doctest: +SKIP
>>> model.encode(["a text", "another"]).shape  # doctest: +SKIP
(2, 256)

model2vec's rules, which differ from :class:`fastembed_static.StaticModel`'s (sentence-transformers') defaults:

- **Truncation**: with ``max_length`` (default: ``config.json``'s ``max_length``, else 512; ``None``: no
  truncation) each text is first cut to ``max_length × median token length`` characters (the median of the
  vocabulary's token lengths, in characters), then its tokens to the first ``max_length``. ``tokenizer.json``'s own
  truncation is ignored.
- **Unknown tokens**: ``[UNK]`` ids are dropped after truncation (a text of only unknown words gets the zero vector).
- **Normalization**: ``config.json``'s ``normalize`` (default False), as ``v / (||v|| + 1e-32)``.
- ``encode_as_sequence`` and ``tokenize`` as model2vec's: ``tokenize`` truncates at the model's ``max_length``
  tokens without the character cut; ``encode_as_sequence`` truncates only at a ``max_length`` passed to it.

``config.json`` is read from the model's source folder (a local folder in the model2vec layout, or the downloaded
hub files); a model found only as a generated folder (or bundled) keeps its own ``normalize`` and ``max_length``
512. Vectors are float32 and equal model2vec's bit for bit on float32 tables (tested on real text): rows are
added in token order in float32 and divided by the count, as ``np.mean`` does. Tables generated as float16 or int8
give float32 vectors close to, not equal to, model2vec's.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _pooling
from ._generated_cache import is_hub_id, load_model
from .gen.layout import is_generated_model
from .model import StaticModel as _Engine
from .model import _check_batch_size, _check_text

DEFAULT_MAX_LENGTH = 512
Vector = npt.NDArray[np.float32]


class _Unset:
    """The type of :data:`UNSET`: ``max_length`` not passed (``None`` means "no truncation")."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()


class StaticModel:
    """model2vec's ``StaticModel`` interface over a fastembed-static model; load with :meth:`from_pretrained`."""

    def __init__(self, engine: _Engine, normalize: bool, max_length: int | None) -> None:
        self._engine = engine  # a model whose tokenizer does not truncate: truncation is model2vec's, below
        self.normalize = normalize
        self.max_length = max_length
        meta = engine.metadata["tokenizer"]
        self.unk_token_id: int | None = None if meta["unk_id"] is None else int(meta["unk_id"])
        vocab = {token: i for i, token in enumerate(engine._generated.tokens)}
        vocab.update({str(t["content"]): int(t["id"]) for t in meta["added_tokens"]})
        self.tokens: tuple[str, ...] = tuple(sorted(vocab, key=vocab.__getitem__))
        self.median_token_length = int(np.median([len(token) for token in self.tokens]))

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        token: str | None = None,
        normalize: bool | None = None,
        subfolder: str | None = None,
        quantize_to: str | None = None,
        dimensionality: int | None = None,
        vocabulary_quantization: int | None = None,
        max_length: int | None | _Unset = UNSET,
        force_download: bool = True,
        **options: Any,
    ) -> StaticModel:
        """Load a model as :meth:`fastembed_static.StaticModel.from_pretrained` does (a model folder in the
        model2vec or sentence-transformers layout, a generated folder, or a hub id). ``normalize`` and ``max_length``
        override ``config.json``'s; ``dimensionality`` keeps the first columns (generated once at that width).
        ``quantize_to`` and ``vocabulary_quantization`` are refused (generate with ``--dtype`` instead).
        ``force_download`` is accepted and ignored (the cache checks files itself; see ``force_refresh``).
        ``options``: passed on to :meth:`fastembed_static.StaticModel.from_pretrained` (``revision``, ``cache_dir``,
        ``offline``, ``force_refresh``, ``memory``)."""
        if quantize_to is not None or vocabulary_quantization is not None:
            raise NotImplementedError(
                "quantize_to and vocabulary_quantization are not supported by the drop-in; generate a smaller table "
                "with `fastembed-static gen MODEL --dtype float16|int8` and load that"
            )
        if subfolder is not None:
            if is_hub_id(path):
                raise NotImplementedError("subfolder is supported for local folders only")
            path = Path(path) / subfolder
        memory = options.pop("memory", "mmap")
        generated = load_model(path, token=token, dims=dimensionality, **options)
        config = _source_config(path, generated.path, generated.metadata)
        if normalize is None:
            normalize = (
                bool(config.get("normalize", False)) if config is not None else bool(generated.metadata["normalize"])
            )
        if isinstance(max_length, _Unset):
            max_length = config.get("max_length", DEFAULT_MAX_LENGTH) if config is not None else DEFAULT_MAX_LENGTH
        tokenizer = {**generated.metadata["tokenizer"], "truncation": None}
        untruncated = generated._replace(metadata={**generated.metadata, "tokenizer": tokenizer})
        return cls(_Engine(untruncated, memory), bool(normalize), _check_max_length(max_length))

    @property
    def dim(self) -> int:
        return self._engine.dim

    @property
    def embedding(self) -> npt.NDArray[Any]:
        """The token table (rows in token id order), read-only; for an int8 table, its rows times the column
        scales (float32, computed on each access)."""
        table, scales = self._engine._table, self._engine._scales
        return table if scales is None else table * scales

    def tokenize(self, sentences: Sequence[str]) -> list[list[int]]:
        """Token ids of each sentence, truncated to the model's ``max_length`` tokens, ``[UNK]`` ids dropped."""
        if isinstance(sentences, str):
            raise TypeError("tokenize takes a list of str (model2vec's signature); wrap one text in a list")
        ids, lengths = self._ids(_texts(sentences), self.max_length)
        return [part.tolist() for part in np.split(ids, np.cumsum(lengths)[:-1])] if len(lengths) else []

    def encode(
        self,
        sentences: str | Sequence[str],
        *,
        show_progress_bar: bool = False,
        max_length: int | None | _Unset = UNSET,
        normalize: bool | None = None,
        batch_size: int = 1024,
        use_multiprocessing: bool = True,
        multiprocessing_threshold: int = 10_000,
        **kwargs: Any,
    ) -> Vector:
        """Mean of each sentence's token rows (shape ``(n, dim)``, or ``(dim,)`` for one ``str``), float32, with
        model2vec's truncation, ``[UNK]`` dropping and normalization (see the module docstring). ``max_length``:
        default the model's. ``use_multiprocessing``, ``multiprocessing_threshold`` and other keywords are accepted
        and ignored, as model2vec ignores unknown keywords."""
        limit = self.max_length if isinstance(max_length, _Unset) else _check_max_length(max_length)
        if normalize is None:
            normalize = self.normalize
        single = isinstance(sentences, str)
        texts = self._cut(_texts([sentences] if isinstance(sentences, str) else sentences), limit)
        _check_batch_size(batch_size)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for first in range(0, len(texts), batch_size):
            ids, lengths = self._ids(texts[first : first + batch_size], limit)
            _mean(self._engine._table, ids, lengths, out[first : first + batch_size])
            if show_progress_bar:
                print(f"\rEncoding: {min(first + batch_size, len(texts))}/{len(texts)}", end="", file=sys.stderr)
        if show_progress_bar:
            print(file=sys.stderr, flush=True)
        if self._engine._scales is not None:  # an int8 table: each column's scale, as StaticModel.encode applies it
            out *= self._engine._scales
        if normalize:
            out = out / (np.linalg.norm(out, axis=1, keepdims=True) + np.float32(1e-32))
        return out[0] if single else out

    def encode_as_sequence(
        self,
        sentences: str | Sequence[str],
        *,
        max_length: int | None = None,
        batch_size: int = 1024,
        show_progress_bar: bool = False,
        use_multiprocessing: bool = True,
        multiprocessing_threshold: int = 10_000,
    ) -> npt.NDArray[Any] | list[npt.NDArray[Any]]:
        """Each sentence's token rows, shape ``(tokens, dim)`` (float64 zeros of shape ``(0, dim)`` for a sentence
        without tokens, as model2vec returns). Truncates only if ``max_length`` is given (not the model's)."""
        limit = _check_max_length(max_length)
        single = isinstance(sentences, str)
        texts = self._cut(_texts([sentences] if isinstance(sentences, str) else sentences), limit)
        _check_batch_size(batch_size)
        table, scales = self._engine._table, self._engine._scales
        out: list[npt.NDArray[Any]] = []
        for first in range(0, len(texts), batch_size):
            ids, lengths = self._ids(texts[first : first + batch_size], limit)
            for part in np.split(ids, np.cumsum(lengths)[:-1]) if len(lengths) else []:
                rows = table[part] if scales is None else table[part] * scales  # int8 rows times their scales
                out.append(rows if len(part) else np.zeros((0, self.dim)))
        return out[0] if single else out

    def _cut(self, texts: list[str], limit: int | None) -> list[str]:
        """model2vec's character cut: at most ``limit × median token length`` characters of each text."""
        if limit is None:
            return texts
        chars = limit * self.median_token_length
        return [text[:chars] for text in texts]

    def _ids(self, texts: list[str], limit: int | None) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """All token ids of ``texts`` (each truncated to ``limit`` tokens, then ``[UNK]`` dropped) and the counts."""
        ids, lengths = self._engine._tokenize_batch(texts, 0) if texts else (np.empty(0, np.intp), np.empty(0, np.intp))
        keep = ids != self.unk_token_id
        if limit is not None:
            position = np.arange(len(ids), dtype=np.intp) - np.repeat(np.cumsum(lengths) - lengths, lengths)
            keep &= position < limit
        owner = np.repeat(np.arange(len(lengths), dtype=np.intp), lengths)
        return ids[keep], np.bincount(owner[keep], minlength=len(lengths)).astype(np.intp)


def _mean(table: npt.NDArray[Any], ids: npt.NDArray[np.intp], lengths: npt.NDArray[np.intp], out: Vector) -> None:
    """Each text's rows added in order in float32, divided by the count (``np.mean``'s arithmetic). Texts over
    LONG_TEXT_TOKENS tokens (which :mod:`._pooling` sums in float64 chunks) are summed here a chunk at a time, still
    in order in float32, so memory stays bounded and the result is model2vec's."""
    long_text = lengths > _pooling.LONG_TEXT_TOKENS
    if not long_text.any():
        _pooling.mean_pool(table, ids, lengths, out=out)
        return
    short = ~long_text
    out[short] = _pooling.mean_pool(table, ids[np.repeat(short, lengths)], lengths[short])
    starts = np.cumsum(lengths) - lengths
    for row in np.flatnonzero(long_text).tolist():
        text_ids = ids[starts[row] : starts[row] + lengths[row]]
        step = _pooling.LONG_TEXT_TOKENS
        total = np.add.reduce(table[text_ids[:step]].astype(np.float32, copy=False), axis=0)
        for first in range(step, len(text_ids), step):
            rows = table[text_ids[first : first + step]].astype(np.float32, copy=False)
            total = np.add.reduce(np.concatenate([total[None, :], rows]), axis=0)  # the sum so far, then the rows
        out[row] = total / np.float32(lengths[row])


def _texts(sentences: Iterable[str]) -> list[str]:
    if isinstance(sentences, (bytes, bytearray, memoryview)) or not isinstance(sentences, Iterable):
        raise TypeError(f"sentences must be a str or a sequence of str, not {type(sentences).__name__}")
    texts = list(sentences)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            _check_text(text, i)
    return texts


def _check_max_length(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"max_length must be an int >= 1 or None, got {value!r}")
    return int(value)


def _source_config(model: str | Path, generated: Path, metadata: dict[str, Any]) -> dict[str, Any] | None:
    """model2vec's config for the model's source folder: ``config.json`` (model2vec layout), else ``{}`` (what
    model2vec reads from a sentence-transformers folder's ``config_sentence_transformers.json``: neither
    ``normalize`` nor ``max_length``); None when only the generated model is at hand."""
    if is_hub_id(model):
        source = generated.parent.parent / "source"  # the hub cache: {commit}/source beside {commit}/generated
        if not (isinstance(metadata.get("source"), dict) and source.is_dir()):
            return None
    else:
        source = Path(model)
        if is_generated_model(source):
            return None
    path = source / "config.json"
    if not path.is_file():
        return {}
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise ValueError(f"{path}: not valid JSON: {e}") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return config
