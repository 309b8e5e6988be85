"""One adapter per system. An adapter loads its library on the bench model and returns a ``System``: how to
prepare a timed call over a workload (``batch``) and over one text (``one``), and what the agreement check compares
(``embed``: vectors, or ``ids``: token ids). Adding a peer is one function here and one line in ``make_systems``.

Threading: every adapter takes the section's ``Threading``; ``one`` pins the system to one thread (torch threads,
HF tokenizers' parallelism, laghu-rs threads, nanotoken's pool), ``default`` leaves it as it runs out of the box.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import inspect
import itertools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .workloads import BenchModel

Timed = Callable[[], object]
LAGHU = "laghu+laghu-rs"


@dataclass(frozen=True)
class Threading:
    name: str  # "1" or "default"
    label: str

    @property
    def one(self) -> bool:
        return self.name == "1"


MODES = {"1": Threading("1", "one thread"), "default": Threading("default", "each system at its default threading")}
_TORCH_DEFAULT_THREADS: list[int] = []


def apply_threading(mode: Threading) -> None:
    """Process-wide switches, set before a section's systems are built and timed: HF tokenizers read
    TOKENIZERS_PARALLELISM on every call; torch's intra-op pool size is set directly."""
    os.environ["TOKENIZERS_PARALLELISM"] = "false" if mode.one else "true"
    if installed("torch"):
        torch = module("torch")
        if not _TORCH_DEFAULT_THREADS:
            _TORCH_DEFAULT_THREADS.append(torch.get_num_threads())
        torch.set_num_threads(1 if mode.one else _TORCH_DEFAULT_THREADS[0])


@dataclass
class System:
    name: str
    role: str  # "this package", "peer", "floor"
    batch: Callable[[list[str]], Timed]  # prepares (untimed) a call that handles a whole workload
    one: Callable[[str], Timed] | None = None  # prepares a call that handles one text (latency)
    embed: Callable[[list[str]], Any] | None = None  # for the agreement check
    ids: Callable[[list[str]], list[list[int]]] | None = None  # tokenize-only systems: agreement on ids
    keep: Callable[[str], bool] | None = None  # which texts the agreement check may use
    note: str = ""
    lossy: bool = False  # float16/int8 storage: the agreement check reports the difference, does not judge it


def module(name: str) -> Any:
    return importlib.import_module(name)


def installed(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def batches(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def flat_ids(ids: Sequence[list[int]]) -> tuple[Any, Any]:
    lengths = np.fromiter((len(i) for i in ids), dtype=np.intp, count=len(ids))
    flat = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.intp, count=int(lengths.sum()))
    return flat, lengths


def encode_accepts(name: str) -> bool:
    from fastembed_static import StaticModel

    return name in inspect.signature(StaticModel.encode).parameters


def without_unk(fe: Any) -> Callable[[str], bool]:
    """model2vec and laghu drop [UNK] tokens before averaging (by design, see the README): compare on texts
    without them (and not empty)."""
    unk_id = int(fe.metadata["tokenizer"]["unk_id"])

    def keep(text: str) -> bool:
        ids = fe.tokenize(text)
        return bool(ids) and unk_id not in ids

    return keep


# ------------------------------------------------------------------------------------------------------------
# fastembed-static


def fastembed_systems(
    model: Any,
    variants: Sequence[tuple[str, Any, bool]],
    dim: int,
    full_dim: int,
    batch_size: int,
    mode: Threading,
) -> list[System]:
    """fastembed-static itself, then ``variants`` (label, model whose table has exactly ``dim`` columns, lossy),
    then ``workers=`` 1 and 2 (worker processes) and ``threads=2`` if ``encode`` has those arguments (one-thread
    sections only)."""
    pinned: dict[str, Any] = {"threads": 1} if mode.one and encode_accepts("threads") else {}

    def encoder(m: Any, label: str, dim_arg: int | None, lossy: bool = False, **extra: Any) -> System:
        options = {**pinned, **extra}

        def batch(texts: list[str]) -> Timed:
            return lambda: m.encode(texts, batch_size=batch_size, normalize=False, dim=dim_arg, **options)

        def one(text: str) -> Timed:
            return lambda: m.encode(text, normalize=False, dim=dim_arg, **pinned)

        def embed(texts: list[str]) -> Any:
            return m.encode(texts, batch_size=batch_size, normalize=False, dim=dim_arg, **options)

        note = ", ".join(f"{k}={v}" for k, v in options.items())
        return System(label, "this package", batch, None if extra else one, embed, lossy=lossy, note=note)

    dim_arg = None if dim == full_dim else dim
    systems = [encoder(model, "fastembed-static", dim_arg)]
    if mode.one:
        systems += [encoder(m, label, None, lossy) for label, m, lossy in variants]
        if encode_accepts("workers"):  # since issue 18 workers= are processes (the process engine, big calls)
            systems.append(encoder(model, "fastembed-static workers=1", dim_arg, workers=1))
            systems.append(encoder(model, "fastembed-static workers=2", dim_arg, workers=2))
            if encode_accepts("threads"):  # the thread engine, for the same-run ratio threads vs processes
                systems.append(encoder(model, "fastembed-static threads=2", dim_arg, threads=2))
    return systems


def fastembed_tokenize_system(model: Any, batch_size: int) -> System:
    batch_api = getattr(model, "_tokenize_batch", None)

    def ids(texts: list[str]) -> list[list[int]]:
        return [model.tokenize(t) for t in texts]

    def run(texts: list[str]) -> Timed:
        if batch_api is None:
            return lambda: ids(texts)
        return lambda: [batch_api(b, 0) for b in batches(texts, batch_size)]

    return System(
        "fastembed-static (tokenize only)",
        "floor",
        run,
        lambda text: lambda: model.tokenize(text),
        ids=ids,
        note="`_tokenize_batch` (private)" if batch_api else "`tokenize` per text (no batch API found)",
    )


def fastembed_pooling_system(model: Any, table: Any, batch_size: int) -> System:
    from fastembed_static import _pooling

    mean_pool: Callable[..., Any] = _pooling.mean_pool
    mean_one: Callable[..., Any] = _pooling.mean_one

    def inputs(texts: list[str]) -> list[tuple[Any, Any]]:
        return [flat_ids([model.tokenize(t) for t in b]) for b in batches(texts, batch_size)]

    def pooled(prepared: list[tuple[Any, Any]]) -> list[Any]:
        return [mean_pool(table, ids, lengths) for ids, lengths in prepared]

    def run(texts: list[str]) -> Timed:
        prepared = inputs(texts)
        return lambda: pooled(prepared)

    def one(text: str) -> Timed:
        ids = model.tokenize(text)
        return lambda: mean_one(table, ids)

    return System(
        "fastembed-static (pooling only)",
        "floor",
        run,
        one,
        lambda texts: np.concatenate(pooled(inputs(texts))),
        note="`_pooling.mean_pool`/`mean_one` (private) over precomputed ids",
    )


# ------------------------------------------------------------------------------------------------------------
# Peers


def sentence_transformers_system(bench: BenchModel, dim: int, full_dim: int, batch_size: int) -> System:
    st = module("sentence_transformers")
    model = st.SentenceTransformer(str(bench.st_dir), device="cpu")
    truncate = None if dim == full_dim else dim

    def encode(texts: list[str] | str) -> Any:
        return model.encode(
            texts, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False, truncate_dim=truncate
        )

    return System(
        "sentence-transformers",
        "peer",
        lambda texts: lambda: encode(texts),
        lambda text: lambda: encode(text),
        lambda texts: np.asarray(encode(texts), dtype=np.float32),
        note="StaticEmbedding module" + (f", truncate_dim={dim}" if truncate else ""),
    )


def model2vec_system(bench: BenchModel, dim: int, full_dim: int, batch_size: int, fe: Any, mode: Threading) -> System:
    m2v = module("model2vec")
    model = m2v.StaticModel.from_pretrained(str(bench.m2v_dir), dimensionality=None if dim == full_dim else dim)
    # Its own multiprocessing (for more than 10,000 texts) stays at its default in the default section.
    options: dict[str, Any] = {"use_multiprocessing": False} if mode.one else {}

    def encode(texts: list[str] | str) -> Any:
        return model.encode(texts, max_length=None, batch_size=batch_size, **options)

    return System(
        "model2vec",
        "peer",
        lambda texts: lambda: encode(texts),
        lambda text: lambda: encode(text),
        lambda texts: np.asarray(encode(texts), dtype=np.float32),
        keep=without_unk(fe),
        note="max_length=None"
        + (", use_multiprocessing=False" if mode.one else "")
        + (f", dimensionality={dim}" if dim != full_dim else ""),
    )


def laghu_system(bench: BenchModel, dim: int, full_dim: int, batch_size: int, fe: Any, mode: Threading) -> System:
    """laghu (model2vec-compatible; mapped table) with laghu-rs: Rust WordPiece and fused mean pooling, threads."""
    if dim != full_dim:
        raise NotImplementedError("laghu has no truncation to fewer dimensions")
    laghu = module("laghu")
    model = laghu.load(str(bench.m2v_dir), fallback=False)
    if getattr(model.tokenizer, "rs", None) is None:
        raise RuntimeError("laghu did not take its Rust path (laghu-rs missing or refused this tokenizer)")
    if not model._pool_rs():
        raise RuntimeError("laghu-rs does not pool this table (it must be C-contiguous float32)")
    default_threads = model.tokenizer.threads
    if mode.one:
        model.tokenizer.threads = 1

    def encode(texts: list[str] | str) -> Any:
        return model.encode(texts, max_length=None, batch_size=batch_size)

    return System(
        LAGHU,
        "peer",
        lambda texts: lambda: encode(texts),
        lambda text: lambda: encode(text),
        lambda texts: np.asarray(encode(texts), dtype=np.float32),
        keep=without_unk(fe),
        note=f"laghu.load(model2vec layout), max_length=None, laghu-rs threads={model.tokenizer.threads}"
        + ("" if mode.one else f" (its default, os.cpu_count()={default_threads})"),
    )


def static_embed_runner_system(bench: BenchModel, dim: int, full_dim: int, batch_size: int, mode: Threading) -> System:
    """static-embed-runner: numpy only, a pure-Python WordPiece ("lite" tokenizer backend, never its optional HF
    tokenizers fallback), pooling as a token-count matrix times the batch's distinct rows (a BLAS matmul).

    It reads the sentence-transformers layout (``model.safetensors`` with ``embedding.weight``: every token is
    averaged, [UNK] included, as sentence-transformers does); given the model2vec layout it would drop [UNK] like
    model2vec. Its ``encode`` takes no batch size and builds a texts x distinct-ids matrix, so it is called once
    per ``batch_size`` texts. One-thread sections pin the BLAS pool to one thread around its calls (threadpoolctl).
    """
    ser = module("static_embed_runner")
    runner = ser.StaticEmbedRunner.load(str(bench.st_dir), tokenizer_backend="lite")
    if runner.tokenizer_backend != "lite" or runner.model_format != "static-embedding":
        raise RuntimeError(f"loaded {runner.model_format} with the {runner.tokenizer_backend} tokenizer")
    truncate = None if dim == full_dim else dim
    limit: Callable[[], Any] = contextlib.nullcontext
    blas = "BLAS threads as numpy starts them"
    if mode.one:
        if installed("threadpoolctl") is None:
            blas = "BLAS threads NOT pinned (threadpoolctl not installed)"
        else:
            controller = module("threadpoolctl").ThreadpoolController()
            limit = lambda: controller.limit(limits=1, user_api="blas")  # noqa: E731
            blas = "BLAS pinned to 1 thread (threadpoolctl)"

    def encode(texts: list[str]) -> Any:
        with limit():
            parts = [runner.encode(b, normalize=False, truncate_dim=truncate) for b in batches(texts, batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, dim), dtype=np.float32)

    def one(text: str) -> Timed:
        return lambda: runner.encode(text, normalize=False, truncate_dim=truncate)

    return System(
        "static-embed-runner",
        "peer",
        lambda texts: lambda: encode(texts),
        one,
        lambda texts: np.asarray(encode(texts), dtype=np.float32),
        note="StaticEmbedRunner.load(sentence-transformers layout, tokenizer_backend='lite'), pure-Python WordPiece,"
        f" encode() per {batch_size} texts, {blas}" + (f", truncate_dim={dim}" if truncate else ""),
    )


def hf_tokenizer(path: Any) -> Any:
    tokenizer = module("tokenizers").Tokenizer.from_file(str(path))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def baseline_system(tokenizer: Any, table: Any, batch_size: int) -> System:
    """The obvious hand-written way: HF tokenizers encode_batch, concatenated ids, np.take, np.add.reduceat."""

    def embed(texts: list[str]) -> Any:
        parts = []
        for batch in batches(texts, batch_size):
            encodings = tokenizer.encode_batch(batch, add_special_tokens=False)
            lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.intp, count=len(encodings))
            ids = np.fromiter(
                itertools.chain.from_iterable(e.ids for e in encodings), dtype=np.intp, count=int(lengths.sum())
            )
            rows = np.take(table, ids, axis=0)
            starts = np.zeros_like(lengths)
            np.cumsum(lengths[:-1], out=starts[1:])
            sums = np.zeros((len(batch), table.shape[1]), dtype=np.float32)
            nonempty = lengths > 0
            if len(ids):
                sums[nonempty] = np.add.reduceat(rows, starts[nonempty], axis=0)
            parts.append(sums / np.maximum(lengths, 1).astype(np.float32)[:, None])
        return np.concatenate(parts) if parts else np.zeros((0, table.shape[1]), dtype=np.float32)

    def one(text: str) -> Timed:
        def run() -> Any:
            ids = tokenizer.encode(text, add_special_tokens=False).ids
            return np.take(table, ids, axis=0).mean(axis=0, dtype=np.float32)

        return run

    return System(
        "tokenizers+numpy",
        "peer",
        lambda texts: lambda: embed(texts),
        one,
        embed,
        note="hand-written: encode_batch + np.take + np.add.reduceat",
    )


def hf_tokenize_system(tokenizer: Any, batch_size: int, mode: Threading) -> System:
    def ids(texts: list[str]) -> list[list[int]]:
        return [
            list(e.ids) for b in batches(texts, batch_size) for e in tokenizer.encode_batch(b, add_special_tokens=False)
        ]

    return System(
        "HF tokenizers (tokenize only)",
        "floor",
        lambda texts: lambda: ids(texts),
        lambda text: lambda: tokenizer.encode(text, add_special_tokens=False),
        ids=ids,
        note="encode_batch, Rust, " + ("TOKENIZERS_PARALLELISM=false" if mode.one else "parallel over cores (Rayon)"),
    )


def nanotoken_system(tokenizer_json: Any, batch_size: int, mode: Threading) -> System:
    """nanotoken (Rust WordPiece, ids identical to HF): tokenize only, ``encode_batch`` (flat ids + offsets)."""
    nt = module("nanotoken")
    tokenizer = nt.Tokenizer(str(tokenizer_json))
    parallel = False if mode.one else None

    def run(texts: list[str]) -> Timed:
        chunks = batches(texts, batch_size)
        return lambda: [tokenizer.encode_batch(b, add_special_tokens=False, parallel=parallel) for b in chunks]

    def ids(texts: list[str]) -> list[list[int]]:
        return [
            row
            for b in batches(texts, batch_size)
            for row in tokenizer.encode_batch_list(b, add_special_tokens=False, parallel=parallel)
        ]

    return System(
        "nanotoken (tokenize only)",
        "floor",
        run,
        lambda text: lambda: tokenizer.encode(text, add_special_tokens=False),
        ids=ids,
        note="encode_batch, Rust, " + ("parallel=False" if mode.one else "parallel=None (its default: thread pool)"),
    )


def embedding_bag_system(table: Any, batch_size: int, fe: Any) -> System:
    """torch EmbeddingBag(mode="mean") over ids computed beforehand, on the section's torch threads."""
    torch = module("torch")
    weights = torch.from_numpy(np.array(table, dtype=np.float32))  # a writable copy
    bag = torch.nn.EmbeddingBag.from_pretrained(weights, mode="mean", freeze=True)

    def prepared(ids: Sequence[list[int]]) -> tuple[Any, Any]:
        flat, lengths = flat_ids(ids)
        offsets = np.zeros(len(lengths), dtype=np.int64)
        np.cumsum(lengths[:-1], out=offsets[1:])
        return torch.from_numpy(flat.astype(np.int64)), torch.from_numpy(offsets)

    def inputs(texts: list[str]) -> list[tuple[Any, Any]]:
        return [prepared([fe.tokenize(t) for t in b]) for b in batches(texts, batch_size)]

    def pooled(prepared_batches: list[tuple[Any, Any]]) -> list[Any]:
        with torch.inference_mode():
            return [bag(i, o).numpy() for i, o in prepared_batches]

    def run(texts: list[str]) -> Timed:
        prepared_batches = inputs(texts)
        return lambda: pooled(prepared_batches)

    def one(text: str) -> Timed:
        i, o = prepared([fe.tokenize(text)])

        def call() -> Any:
            with torch.inference_mode():
                return bag(i, o).numpy()

        return call

    count = torch.get_num_threads()
    return System(
        "torch EmbeddingBag (pooling only)",
        "floor",
        run,
        one,
        lambda texts: np.concatenate(pooled(inputs(texts))),
        note=f"mode='mean' over precomputed ids, {count} torch thread{'s' if count > 1 else ''}",
    )


# ------------------------------------------------------------------------------------------------------------


def make_systems(
    bench: BenchModel,
    fe: Any,
    dim: int,
    dtypes: Sequence[str],
    batch_size: int,
    mode: Threading,
    skipped: list[str],
    notes_once: set[str],
) -> list[System]:
    """Every system available here, for the first ``dim`` columns of the table, in threading ``mode``."""
    from fastembed_static import StaticModel

    def skip(what: str, why: str) -> None:
        if what not in notes_once:
            notes_once.add(what)
            skipped.append(f"{what}: {why}")

    apply_threading(mode)
    full_dim = int(fe.dim)
    full_table = bench.table()
    table = None if full_table is None else np.ascontiguousarray(full_table[:, :dim])
    variants: list[tuple[str, Any, bool]] = []
    wanted = ([(f"fastembed-static, generated dims={dim}", dim, "float32")] if dim != full_dim else []) + [
        (f"fastembed-static {dtype}" + (f", generated dims={dim}" if dim != full_dim else ""), dim, dtype)
        for dtype in dtypes
        if dtype != "float32"
    ]
    for label, dims, dtype in wanted if mode.one else []:
        try:
            path = bench.variant(None if dims == full_dim else dims, dtype)
            variants.append((label, StaticModel.from_pretrained(path), dtype != "float32"))
        except Exception as e:
            skip(label, f"{type(e).__name__}: {e}")
    systems = fastembed_systems(fe, variants, dim, full_dim, batch_size, mode)
    if not encode_accepts("workers"):
        skip("fastembed-static workers=2 vs 1", "`StaticModel.encode` has no `workers` argument")

    def attempt(name: str, make: Callable[[], System]) -> None:
        try:
            systems.append(make())
        except Exception as e:  # an installed peer that cannot run here is reported, never faked
            skip(f"{name} (dim={dim}, {mode.label})", f"not run ({type(e).__name__}: {e})")

    peers_ready = table is not None and bench.tokenizer_json is not None
    peers: list[tuple[tuple[str, ...], str, Callable[[], System]]] = [
        (
            ("sentence-transformers",),
            "sentence-transformers",
            lambda: sentence_transformers_system(bench, dim, full_dim, batch_size),
        ),
        (("model2vec",), "model2vec", lambda: model2vec_system(bench, dim, full_dim, batch_size, fe, mode)),
        (("laghu", "laghu-rs"), LAGHU, lambda: laghu_system(bench, dim, full_dim, batch_size, fe, mode)),
        (
            ("static-embed-runner",),
            "static-embed-runner",
            lambda: static_embed_runner_system(bench, dim, full_dim, batch_size, mode),
        ),
    ]
    for dists, name, make in peers:
        missing = [d for d in dists if installed(d) is None]
        if missing:
            skip(name, f"`{'`, `'.join(missing)}` not installed")
        elif not peers_ready:
            skip(name, "the model's float32 table or tokenizer.json is not available")
        else:
            attempt(name, make)
    if installed("tokenizers") is None:
        skip("tokenizers+numpy", "`tokenizers` is not installed")
        skip("HF tokenizers (tokenize only)", "`tokenizers` is not installed")
    elif bench.tokenizer_json is None or table is None:
        skip("tokenizers+numpy", "the model's float32 table or tokenizer.json is not available")
    else:
        tokenizer = hf_tokenizer(bench.tokenizer_json)
        tokenizer_table = table
        attempt("tokenizers+numpy", lambda: baseline_system(tokenizer, tokenizer_table, batch_size))
        attempt("HF tokenizers (tokenize only)", lambda: hf_tokenize_system(tokenizer, batch_size, mode))
    if installed("nanotoken") is None:
        skip("nanotoken (tokenize only)", "`nanotoken` is not installed")
    elif bench.tokenizer_json is not None:
        tokenizer_json = bench.tokenizer_json
        attempt("nanotoken (tokenize only)", lambda: nanotoken_system(tokenizer_json, batch_size, mode))
    systems.append(fastembed_tokenize_system(fe, batch_size))
    if table is not None:
        pool_table = table
        if installed("torch") is None:
            skip("torch EmbeddingBag", "`torch` is not installed")
        else:
            attempt("torch EmbeddingBag", lambda: embedding_bag_system(pool_table, batch_size, fe))
        model_table: Any = getattr(fe, "_table", full_table)  # the mapping encode() reads (private attribute)
        view = model_table[:, :dim]  # the same columns encode(dim=) reads
        attempt("fastembed-static pooling only", lambda: fastembed_pooling_system(fe, view, batch_size))
    return systems
