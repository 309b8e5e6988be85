"""Side-by-side speed comparison with the libraries this package replaces, in one process, interleaved.

    python -P -m fastembed_static.bench --compare [--quick] [--repeats N] [--dims 1024,256] [--json]

(``-P``, or running from outside the source tree, makes Python import the *installed* package.)

Every system embeds the same texts with the same table and tokenizer: by default a table of the real shape of
static-retrieval-mrl-en-v1 (30522 x 1024 float32, fixed random seed) with its real tokenizer from ``shared/``,
written once into a cache directory in the sentence-transformers and model2vec layouts and generated for
fastembed-static. Repeats run round-robin (A B C, B C A, C A B, ...) so that a noisy machine slows every system
alike; the figures are medians. Before any timing the systems' outputs are compared, and the check is printed.

Systems (the ones not installed are skipped, with a note):

- ``fastembed-static``: ``StaticModel.encode`` (this package); with ``--dims`` below the model's, ``encode(dim=)``
  and a model generated with ``dims=``; tables stored as ``--dtypes`` (float16, int8); ``workers=`` 1 and 2;
- ``sentence-transformers``: ``SentenceTransformer`` with a ``StaticEmbedding`` module on the same files;
- ``model2vec``: ``model2vec.StaticModel`` on the same table and tokenizer in the model2vec layout;
- ``tokenizers+numpy``: the hand-written obvious way, HF ``tokenizers.encode_batch`` + ``np.add.reduceat``;
- floors: HF tokenizers alone, fastembed-static's tokenizer alone, torch ``EmbeddingBag(mode="mean")`` over
  precomputed ids, and fastembed-static's pooling alone over precomputed ids.

Heavy libraries (torch, sentence-transformers, model2vec, tokenizers) are imported inside functions only.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import hashlib
import importlib
import importlib.metadata
import inspect
import itertools
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]
Timed = Callable[[], object]

SEED = 20261126  # the seed of the test suite's random table (tests/conftest.py)
SHAPE = (30522, 1024)  # static-retrieval-mrl-en-v1
MRL_TOKENIZER = Path("models") / "static-retrieval-mrl-en-v1" / "tokenizer.json"
TOLERANCE = 1e-5
LAYOUT_VERSION = "1"  # bump to rebuild cached bench models
LONG_CHUNK_TOKENS = 400


# ----------------------------------------------------------------------------------------------------------------
# Data: shared/ corpora and the bench model


def find_shared(explicit: Path | None = None) -> Path:
    """The shared data directory: ``--shared``, $FASTEMBED_STATIC_SHARED, or a ``shared/`` beside the current
    directory or one of its parents (the repository's ``../shared``)."""
    candidates: list[Path] = []
    if explicit is not None:
        candidates.append(explicit)
    env = os.environ.get("FASTEMBED_STATIC_SHARED")
    if env:
        candidates.append(Path(env))
    cwd = Path.cwd().resolve()
    candidates.extend(p / "shared" for p in (cwd, *cwd.parents))
    for candidate in candidates:
        if (candidate / MRL_TOKENIZER).is_file():
            return candidate
    raise SystemExit(
        "error: cannot find the shared data (models/static-retrieval-mrl-en-v1/tokenizer.json, corpus/): pass"
        " --shared DIR or set FASTEMBED_STATIC_SHARED"
    )


def gooaq(shared: Path) -> list[str]:
    return [t for t in (shared / "corpus" / "gooaq-10k.txt").read_text(encoding="utf-8").splitlines() if t.strip()]


def pep_documents(shared: Path) -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted((shared / "corpus" / "peps").glob("*.rst"))]


def pep_paragraphs(shared: Path) -> list[str]:
    """Every blank-line separated block of every PEP, in file order (as the test suite splits them)."""
    return [p for doc in pep_documents(shared) for p in re.split(r"\n\s*\n", doc) if p.strip()]


def chunk_documents(docs: Sequence[str], count_tokens: Callable[[str], int], target: int) -> list[str]:
    """Whole documents cut at line ends into chunks of about ``target`` tokens (each a little over it)."""
    chunks: list[str] = []
    for doc in docs:
        lines: list[str] = []
        tokens = 0
        for line in doc.splitlines():
            lines.append(line)
            tokens += count_tokens(line)
            if tokens >= target:
                chunks.append("\n".join(lines))
                lines, tokens = [], 0
        if tokens:
            chunks.append("\n".join(lines))
    return chunks


def spread(items: Sequence[str], n: int) -> list[str]:
    """``n`` items taken evenly across ``items`` (all of them if there are fewer)."""
    if n >= len(items):
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def write_safetensors(path: Path, name: str, table: Matrix) -> None:
    """A safetensors file with one float32 tensor, written without the safetensors package."""
    header = json.dumps(
        {name: {"dtype": "F32", "shape": list(table.shape), "data_offsets": [0, table.nbytes]}},
        separators=(",", ":"),
    ).encode()
    header += b" " * (-len(header) % 8)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    with tmp.open("wb") as f:
        f.write(len(header).to_bytes(8, "little"))
        f.write(header)
        np.ascontiguousarray(table, dtype="<f4").tofile(f)
    os.replace(tmp, path)


def write_st_layout(root: Path, tokenizer_json: Path, table: Matrix) -> Path:
    """A sentence-transformers model: one StaticEmbedding module at the root, no Normalize."""
    root.mkdir(parents=True, exist_ok=True)
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.StaticEmbedding"}]
    (root / "modules.json").write_text(json.dumps(modules, indent=2), encoding="utf-8")
    shutil.copyfile(tokenizer_json, root / "tokenizer.json")
    write_safetensors(root / "model.safetensors", "embedding.weight", table)
    return root


def write_model2vec_layout(root: Path, tokenizer_json: Path, table: Matrix) -> Path:
    """A model2vec model: config.json (no normalization), tokenizer.json, model.safetensors ``embeddings``."""
    root.mkdir(parents=True, exist_ok=True)
    config = {"model_type": "model2vec", "architectures": ["StaticModel"], "normalize": False}
    (root / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    shutil.copyfile(tokenizer_json, root / "tokenizer.json")
    write_safetensors(root / "model.safetensors", "embeddings", table)
    return root


def default_workdir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "fastembed-static" / "bench"


@contextmanager
def locked(directory: Path) -> Iterator[None]:
    """An exclusive lock on ``directory`` (two benchmark runs must not build the same files at once)."""
    import fcntl

    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _generator_version() -> str:
    from .gen import GENERATOR_VERSION

    return str(GENERATOR_VERSION)


def generator_accepts(name: str) -> bool:
    from .gen import generate

    return name in inspect.signature(generate).parameters


def ensure_generated(source: Path, out: Path, dims: int | None = None, dtype: str = "float32") -> Path:
    """``out``, generated from ``source`` unless it already was, by this version of the generator."""
    meta = out / "model.json"
    if meta.is_file():
        try:
            if json.loads(meta.read_text(encoding="utf-8")).get("generator_version") == _generator_version():
                return out
        except (OSError, ValueError):
            pass
    from .gen import generate

    if dtype == "float32":
        return Path(generate(source, out, dims=dims))
    if not generator_accepts("dtype"):
        raise NotImplementedError(f"the generator has no dtype= argument (wanted {dtype})")
    generate_any: Callable[..., Path] = generate
    return Path(generate_any(source, out, dims=dims, dtype=dtype))


@dataclass
class BenchModel:
    generated: Path  # the fastembed-static model
    tokenizer_json: Path | None  # None: the source's tokenizer.json could not be found (peers are skipped)
    st_dir: Path | None
    m2v_dir: Path | None
    workdir: Path
    description: str
    notes: list[str] = field(default_factory=list)

    def table(self) -> Matrix | None:
        """The generated float32 table, mapped read-only (None for another dtype)."""
        meta = json.loads((self.generated / "model.json").read_text(encoding="utf-8"))
        if meta.get("dtype", "float32") != "float32":
            return None
        mapped = np.memmap(self.generated / meta["weights"]["file"], dtype="<f4", mode="r")
        table: Matrix = mapped.reshape(int(meta["vocab_size"]), int(meta["dim"]))
        return table

    def variant(self, dims: int | None, dtype: str = "float32") -> Path:
        """A generated model with only the first ``dims`` columns and/or another storage ``dtype``."""
        source = self.st_dir or self.m2v_dir
        if source is None:
            raise RuntimeError("no source directory to generate from")
        with locked(self.workdir):
            return ensure_generated(source, self.workdir / f"generated-d{dims or 'all'}-{dtype}", dims, dtype)


def build_random_model(shared: Path, workdir: Path) -> BenchModel:
    """The real MRL tokenizer with a random 30522 x 1024 float32 table (fixed seed), built once into ``workdir``."""
    from .gen.layout import sha256_file

    tokenizer_json = shared / MRL_TOKENIZER
    key = hashlib.sha256(f"{LAYOUT_VERSION}|{SEED}|{SHAPE}|{sha256_file(tokenizer_json)}".encode()).hexdigest()[:12]
    root = workdir / f"mrl-random-{key}"
    stamp = root / "layouts.json"
    with locked(workdir):
        if not stamp.is_file():
            log(f"building the bench model in {root} (once)")
            table = np.random.default_rng(SEED).standard_normal(SHAPE, dtype=np.float32)
            write_st_layout(root / "st", tokenizer_json, table)
            write_model2vec_layout(root / "model2vec", tokenizer_json, table)
            stamp.write_text(json.dumps({"seed": SEED, "shape": SHAPE, "key": key}), encoding="utf-8")
        generated = ensure_generated(root / "st", root / "generated")
    return BenchModel(
        generated,
        tokenizer_json,
        root / "st",
        root / "model2vec",
        root,
        f"real static-retrieval-mrl-en-v1 tokenizer + random {SHAPE[0]}x{SHAPE[1]} float32 table (seed {SEED})",
    )


def model_from_dir(path: Path, workdir: Path) -> BenchModel:
    """``--model``: a generated model directory, or a raw sentence-transformers/model2vec one (generated here).
    The peers get the same table and tokenizer written in their layouts."""
    from .model import StaticModel

    generated = StaticModel.from_pretrained(path, cache_dir=workdir / "generated-cache").path
    meta = json.loads((generated / "model.json").read_text(encoding="utf-8"))
    notes: list[str] = []
    tokenizer_json: Path | None = None
    try:
        from .gen.source import find_source

        tokenizer_json = find_source(Path(meta["source"]["path"])).tokenizer
    except Exception as e:  # the source moved, or the generator changed: the peers cannot be set up
        notes.append(f"cannot find the source tokenizer.json of {generated} ({type(e).__name__}: {e})")
    bench = BenchModel(generated, tokenizer_json, None, None, workdir, f"{path} ({meta.get('dim')} dims)", notes)
    table = bench.table()
    if tokenizer_json is None or table is None:
        if table is None:
            notes.append(f"the table is {meta.get('dtype')}, not float32: the peers are skipped")
        return bench
    root = workdir / f"peers-{str(meta['weights']['sha256'])[:12]}"
    with locked(workdir):
        if not (root / "layouts.json").is_file():
            log(f"writing {generated}'s table in the peers' layouts into {root} (once)")
            write_st_layout(root / "st", tokenizer_json, table)
            write_model2vec_layout(root / "model2vec", tokenizer_json, table)
            (root / "layouts.json").write_text(json.dumps({"model": str(generated)}), encoding="utf-8")
    bench.st_dir, bench.m2v_dir = root / "st", root / "model2vec"
    return bench


# ----------------------------------------------------------------------------------------------------------------
# Systems


@dataclass
class System:
    name: str
    role: str  # "this package", "peer", "floor"
    batch: Callable[[list[str]], Timed]  # prepares (untimed) a call that handles a whole workload
    one: Callable[[str], Timed] | None = None  # prepares a call that handles one text (latency)
    embed: Callable[[list[str]], Matrix] | None = None  # for the agreement check
    ids: Callable[[list[str]], list[list[int]]] | None = None  # tokenize-only systems: agreement on ids
    keep: Callable[[str], bool] | None = None  # which texts the agreement check may use
    note: str = ""
    lossy: bool = False  # float16/int8 storage: the agreement check reports the difference, does not judge it


@dataclass
class Workload:
    name: str
    texts: list[str]
    ids: list[list[int]]  # fastembed-static's token ids (identical to HF tokenizers'; checked)
    description: str

    @property
    def tokens(self) -> int:
        return sum(len(i) for i in self.ids)


def _module(name: str) -> Any:
    """Import an optional library (through importlib, so that mypy does not analyse it)."""
    return importlib.import_module(name)


def installed(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _batches(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _flat_ids(ids: Sequence[list[int]]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    lengths = np.fromiter((len(i) for i in ids), dtype=np.intp, count=len(ids))
    flat = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.intp, count=int(lengths.sum()))
    return flat, lengths


def encode_accepts(name: str) -> bool:
    from .model import StaticModel

    return name in inspect.signature(StaticModel.encode).parameters


def fastembed_systems(
    model: Any, variants: Sequence[tuple[str, Any, bool]], dim: int, full_dim: int, batch_size: int
) -> list[System]:
    """fastembed-static itself, then ``variants`` (label, model whose table has exactly ``dim`` columns, lossy),
    then ``workers=`` 1 and 2 if ``encode`` has that argument."""

    def encoder(m: Any, label: str, dim_arg: int | None, lossy: bool = False, **extra: Any) -> System:
        def batch(texts: list[str]) -> Timed:
            return lambda: m.encode(texts, batch_size=batch_size, normalize=False, dim=dim_arg, **extra)

        def one(text: str) -> Timed:
            return lambda: m.encode(text, normalize=False, dim=dim_arg)

        def embed(texts: list[str]) -> Matrix:
            out: Matrix = m.encode(texts, batch_size=batch_size, normalize=False, dim=dim_arg, **extra)
            return out

        return System(label, "this package", batch, None if extra else one, embed, lossy=lossy)

    dim_arg = None if dim == full_dim else dim
    systems = [encoder(model, "fastembed-static", dim_arg)]
    systems += [encoder(m, label, None, lossy) for label, m, lossy in variants]
    if encode_accepts("workers"):
        systems.append(encoder(model, "fastembed-static workers=1", dim_arg, workers=1))
        systems.append(encoder(model, "fastembed-static workers=2", dim_arg, workers=2))
    return systems


def sentence_transformers_system(bench: BenchModel, dim: int, full_dim: int, batch_size: int) -> System:
    st = _module("sentence_transformers")
    model = st.SentenceTransformer(str(bench.st_dir), device="cpu")
    truncate = None if dim == full_dim else dim

    def encode(texts: list[str] | str) -> Any:
        return model.encode(
            texts, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False, truncate_dim=truncate
        )

    def embed(texts: list[str]) -> Matrix:
        return np.asarray(encode(texts), dtype=np.float32)

    return System(
        "sentence-transformers",
        "peer",
        lambda texts: lambda: encode(texts),
        lambda text: lambda: encode(text),
        embed,
        note="StaticEmbedding module" + (f", truncate_dim={dim}" if truncate else ""),
    )


def model2vec_system(bench: BenchModel, dim: int, full_dim: int, batch_size: int, unk_id: int, fe: Any) -> System:
    m2v = _module("model2vec")
    model = m2v.StaticModel.from_pretrained(str(bench.m2v_dir), dimensionality=None if dim == full_dim else dim)

    def encode(texts: list[str] | str) -> Any:
        return model.encode(texts, max_length=None, use_multiprocessing=False, batch_size=batch_size)

    def embed(texts: list[str]) -> Matrix:
        return np.asarray(encode(texts), dtype=np.float32)

    def keep(text: str) -> bool:  # model2vec drops [UNK] tokens (and would give a NaN-free zero for nothing)
        ids = fe.tokenize(text)
        return bool(ids) and unk_id not in ids

    return System(
        "model2vec",
        "peer",
        lambda texts: lambda: encode(texts),
        lambda text: lambda: encode(text),
        embed,
        keep=keep,
        note="max_length=None, use_multiprocessing=False" + (f", dimensionality={dim}" if dim != full_dim else ""),
    )


def hf_tokenizer(path: Path) -> Any:
    tokenizer = _module("tokenizers").Tokenizer.from_file(str(path))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def baseline_system(tokenizer: Any, table: Matrix, batch_size: int) -> System:
    """The obvious hand-written way: HF tokenizers encode_batch, concatenated ids, np.take, np.add.reduceat."""

    def embed(texts: list[str]) -> Matrix:
        parts = []
        for batch in _batches(texts, batch_size):
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
        def run() -> Matrix:
            ids = tokenizer.encode(text, add_special_tokens=False).ids
            mean: Matrix = np.take(table, ids, axis=0).mean(axis=0, dtype=np.float32)
            return mean

        return run

    return System(
        "tokenizers+numpy",
        "peer",
        lambda texts: lambda: embed(texts),
        one,
        embed,
        note="hand-written: encode_batch + np.take + np.add.reduceat",
    )


def hf_tokenize_system(tokenizer: Any, batch_size: int) -> System:
    def ids(texts: list[str]) -> list[list[int]]:
        return [
            list(e.ids)
            for b in _batches(texts, batch_size)
            for e in tokenizer.encode_batch(b, add_special_tokens=False)
        ]

    return System(
        "HF tokenizers (tokenize only)",
        "floor",
        lambda texts: lambda: ids(texts),
        lambda text: lambda: tokenizer.encode(text, add_special_tokens=False),
        ids=ids,
        note="encode_batch, Rust, parallel over cores",
    )


def fastembed_tokenize_system(model: Any, batch_size: int) -> System:
    batch_api = getattr(model, "_tokenize_batch", None)

    def ids(texts: list[str]) -> list[list[int]]:
        return [model.tokenize(t) for t in texts]

    def run(texts: list[str]) -> Timed:
        if batch_api is None:
            return lambda: ids(texts)
        return lambda: [batch_api(b, 0) for b in _batches(texts, batch_size)]

    return System(
        "fastembed-static (tokenize only)",
        "floor",
        run,
        lambda text: lambda: model.tokenize(text),
        ids=ids,
        note="`_tokenize_batch` (private)" if batch_api else "`tokenize` per text (no batch API found)",
    )


@contextmanager
def _torch_threads(torch: Any, threads: int | None) -> Iterator[None]:
    if threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def embedding_bag_system(table: Matrix, batch_size: int, fe: Any, threads: int | None = None) -> System:
    """torch EmbeddingBag(mode="mean") over ids computed beforehand; ``threads``: torch threads during the call."""
    torch = _module("torch")
    weights = torch.from_numpy(np.array(table, dtype=np.float32))  # a writable copy
    bag = torch.nn.EmbeddingBag.from_pretrained(weights, mode="mean", freeze=True)
    count = threads or torch.get_num_threads()

    def prepared(ids: Sequence[list[int]]) -> tuple[Any, Any]:
        flat, lengths = _flat_ids(ids)
        offsets = np.zeros(len(lengths), dtype=np.int64)
        np.cumsum(lengths[:-1], out=offsets[1:])
        return torch.from_numpy(flat.astype(np.int64)), torch.from_numpy(offsets)

    def inputs(texts: list[str]) -> list[tuple[Any, Any]]:
        return [prepared([fe.tokenize(t) for t in b]) for b in _batches(texts, batch_size)]

    def pooled(batches: list[tuple[Any, Any]]) -> list[Matrix]:
        with torch.inference_mode(), _torch_threads(torch, threads):
            return [bag(i, o).numpy() for i, o in batches]

    def run(texts: list[str]) -> Timed:
        batches = inputs(texts)
        return lambda: pooled(batches)

    def one(text: str) -> Timed:
        i, o = prepared([fe.tokenize(text)])

        def call() -> Any:
            with torch.inference_mode(), _torch_threads(torch, threads):
                return bag(i, o).numpy()

        return call

    def embed(texts: list[str]) -> Matrix:
        return np.concatenate(pooled(inputs(texts)))

    return System(
        "torch EmbeddingBag (pooling only)"
        if threads is None
        else f"torch EmbeddingBag {threads} thread (pooling only)",
        "floor",
        run,
        one,
        embed,
        note=f"mode='mean' over precomputed ids, {count} torch thread{'s' if count > 1 else ''}",
    )


def fastembed_pooling_system(model: Any, table: Matrix, batch_size: int) -> System:
    from . import _pooling

    mean_pool: Callable[..., Matrix] = _pooling.mean_pool
    mean_one: Callable[..., Matrix] = _pooling.mean_one

    def inputs(texts: list[str]) -> list[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]]:
        return [_flat_ids([model.tokenize(t) for t in b]) for b in _batches(texts, batch_size)]

    def pooled(batches: list[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]]) -> list[Matrix]:
        return [mean_pool(table, ids, lengths) for ids, lengths in batches]

    def run(texts: list[str]) -> Timed:
        batches = inputs(texts)
        return lambda: pooled(batches)

    def one(text: str) -> Timed:
        ids = model.tokenize(text)
        return lambda: mean_one(table, ids)

    def embed(texts: list[str]) -> Matrix:
        return np.concatenate(pooled(inputs(texts)))

    return System(
        "fastembed-static (pooling only)",
        "floor",
        run,
        one,
        embed,
        note="`_pooling.mean_pool`/`mean_one` (private) over precomputed ids",
    )


def make_systems(
    bench: BenchModel,
    fe: Any,
    dim: int,
    dtypes: Sequence[str],
    batch_size: int,
    skipped: list[str],
    notes_once: set[str],
) -> list[System]:
    """Every system available here, for the first ``dim`` columns of the table."""
    from .model import StaticModel

    def skip(what: str, why: str) -> None:
        if what not in notes_once:
            notes_once.add(what)
            skipped.append(f"{what}: {why}")

    full_dim = int(fe.dim)
    full_table = bench.table()
    table = None if full_table is None else np.ascontiguousarray(full_table[:, :dim])
    variants: list[tuple[str, Any, bool]] = []
    wanted = ([(f"fastembed-static, generated dims={dim}", dim, "float32")] if dim != full_dim else []) + [
        (f"fastembed-static {dtype}" + (f", generated dims={dim}" if dim != full_dim else ""), dim, dtype)
        for dtype in dtypes
        if dtype != "float32"
    ]
    for label, dims, dtype in wanted:
        try:
            path = bench.variant(None if dims == full_dim else dims, dtype)
            variants.append((label, StaticModel.from_pretrained(path), dtype != "float32"))
        except Exception as e:
            skip(label, f"{type(e).__name__}: {e}")
    systems = fastembed_systems(fe, variants, dim, full_dim, batch_size)
    if not encode_accepts("workers"):
        skip("fastembed-static workers=2 vs 1", "`StaticModel.encode` has no `workers` argument")
    unk_id = int(fe.metadata["tokenizer"]["unk_id"])

    def attempt(name: str, make: Callable[[], System]) -> None:
        try:
            systems.append(make())
        except Exception as e:  # an installed peer that cannot run here is reported, never faked
            skip(name, f"failed to set up ({type(e).__name__}: {e})")

    peers_ready = table is not None and bench.tokenizer_json is not None
    for dist, name, make in (
        (
            "sentence-transformers",
            "sentence-transformers",
            lambda: sentence_transformers_system(bench, dim, full_dim, batch_size),
        ),
        ("model2vec", "model2vec", lambda: model2vec_system(bench, dim, full_dim, batch_size, unk_id, fe)),
    ):
        if installed(dist) is None:
            skip(name, f"`{dist}` is not installed")
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
        assert bench.tokenizer_json is not None and table is not None
        tokenizer = hf_tokenizer(bench.tokenizer_json)
        tokenizer_table = table
        attempt("tokenizers+numpy", lambda: baseline_system(tokenizer, tokenizer_table, batch_size))
        attempt("HF tokenizers (tokenize only)", lambda: hf_tokenize_system(tokenizer, batch_size))
    systems.append(fastembed_tokenize_system(fe, batch_size))
    if table is not None:
        pool_table = table
        if installed("torch") is None:
            skip("torch EmbeddingBag", "`torch` is not installed")
        else:
            attempt("torch EmbeddingBag", lambda: embedding_bag_system(pool_table, batch_size, fe))
            if _module("torch").get_num_threads() > 1:  # fastembed-static pools on one thread: the like-for-like floor
                attempt("torch EmbeddingBag 1 thread", lambda: embedding_bag_system(pool_table, batch_size, fe, 1))
        model_table: Any = getattr(fe, "_table", full_table)  # the mapping encode() reads (private attribute)
        view: Matrix = model_table[:, :dim]  # the same columns encode(dim=) reads
        attempt("fastembed-static pooling only", lambda: fastembed_pooling_system(fe, view, batch_size))
    return systems


# ----------------------------------------------------------------------------------------------------------------
# Measurements


_T0 = time.perf_counter()


def log(message: str) -> None:
    print(f"[bench {time.perf_counter() - _T0:6.1f}s] {message}", file=sys.stderr, flush=True)


def interleaved(calls: Sequence[Timed], repeats: int, budget: float) -> list[list[float]]:
    """Seconds per call of each of ``calls``, round-robin after one untimed warm-up each. Round ``r`` starts at call
    ``r mod n`` (A B C, B C A, C A B, ...), so no system always runs right after the same other one. A call whose
    warm-up took longer than ``budget / repeats`` seconds is timed fewer times (at least once)."""
    wanted: list[int] = []
    for call in calls:
        start = time.perf_counter()
        call()
        warmup = time.perf_counter() - start
        wanted.append(max(1, min(repeats, int(budget / max(warmup, 1e-9)))))
    times: list[list[float]] = [[] for _ in calls]
    n = len(calls)
    for r in range(repeats):
        for k in range(n):
            i = (r + k) % n
            if len(times[i]) >= wanted[i]:
                continue
            gc.collect()
            start = time.perf_counter()
            calls[i]()
            times[i].append(time.perf_counter() - start)
    return times


LATENCY_BLOCK = 50  # texts one system handles in a row before the next system's turn


def latencies(systems: Sequence[System], texts: Sequence[str]) -> dict[str, list[float]]:
    """Seconds per single-text call. Systems take turns in blocks of LATENCY_BLOCK consecutive texts (in rotating
    order), as a service answering one request after another would run: each system in its own steady state, not
    with its caches evicted by another library between every two calls, while a noisy machine still slows every
    system alike."""
    active = [s for s in systems if s.one is not None]
    calls = [[s.one(t) for t in texts] for s in active if s.one is not None]
    for per_system in calls:
        for call in per_system[: min(20, len(per_system))]:
            call()
    times: list[list[float]] = [[] for _ in active]
    gc.collect()
    for block, first in enumerate(range(0, len(texts), LATENCY_BLOCK)):
        for k in range(len(calls)):
            i = (block + k) % len(calls)
            for call in calls[i][first : first + LATENCY_BLOCK]:
                start = time.perf_counter_ns()
                call()
                times[i].append((time.perf_counter_ns() - start) * 1e-9)
    return {s.name: t for s, t in zip(active, times)}


def agreement(systems: Sequence[System], reference: System, sample: list[str], fe: Any) -> list[dict[str, Any]]:
    """Max abs difference of each system's vectors from fastembed-static's (or: token ids identical)."""
    rows: list[dict[str, Any]] = []
    assert reference.embed is not None
    for system in systems:
        texts = [t for t in sample if system.keep is None or system.keep(t)]
        row: dict[str, Any] = {"system": system.name, "texts": len(texts)}
        try:
            if system.embed is not None:
                expected = reference.embed(texts)
                got = system.embed(texts)
                if got.shape != expected.shape:
                    row.update(ok=False, detail=f"shape {got.shape} != {expected.shape}")
                else:
                    diff = float(np.abs(got.astype(np.float64) - expected).max()) if len(texts) else 0.0
                    row.update(max_abs_diff=diff, ok=system.lossy or diff <= TOLERANCE, lossy=system.lossy)
            elif system.ids is not None:
                got_ids = system.ids(texts)
                differ = sum(1 for t, i in zip(texts, got_ids) if list(i) != fe.tokenize(t))
                row.update(ids_differ=differ, ok=differ == 0)
        except Exception as e:
            row.update(ok=False, detail=f"{type(e).__name__}: {e}")
        rows.append(row)
    return rows


def cold_starts(commands: Sequence[tuple[str, str]], runs: int, cwd: Path) -> dict[str, Any]:
    """Wall time of ``python -c CODE`` for each command, interleaved over ``runs`` rounds."""
    times: dict[str, list[float]] = {label: [] for label, _ in commands}
    errors: dict[str, str] = {}
    for _ in range(runs):
        for label, code in commands:
            if label in errors:
                continue
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True)
            elapsed = time.perf_counter() - start
            if done.returncode:
                errors[label] = (done.stderr.strip().splitlines() or ["failed"])[-1]
            else:
                times[label].append(elapsed)
    return {"times": times, "errors": errors, "code": dict(commands)}


# VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's RSS at fork (and survives exec) on Linux.
_PEAK_RSS_KIB_CODE = (
    "next((int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:')), None)"
    " or __import__('resource').getrusage(__import__('resource').RUSAGE_SELF).ru_maxrss"
)


def peak_rss_kib() -> int:
    """Peak resident set size of this process, KiB (what ``_PEAK_RSS_KIB_CODE`` prints in a child)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def peak_rss_subprocesses(commands: Sequence[tuple[str, str]], cwd: Path) -> dict[str, Any]:
    """Peak RSS (MiB) of a process that runs only ``code`` (which prints its own peak RSS in KiB)."""
    result: dict[str, Any] = {}
    for label, code in commands:
        done = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True)
        lines = done.stdout.strip().splitlines()
        if done.returncode or not lines:
            result[label] = f"failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}"
        else:
            result[label] = int(lines[-1]) / 1024
    return result


def first_pass(generated: Path, workloads: Sequence[Workload], rounds: int, batch_size: int) -> dict[str, Any]:
    """A fresh model (empty tokenizer cache, new mapping of the weights) encoding a workload, then again warm."""
    from .model import StaticModel

    out: dict[str, Any] = {}
    for workload in workloads:
        load, first, warm = [], [], []
        for _ in range(rounds):
            gc.collect()
            start = time.perf_counter()
            model = StaticModel.from_pretrained(generated)
            loaded = time.perf_counter()
            model.encode(workload.texts, batch_size=batch_size, normalize=False)
            encoded = time.perf_counter()
            model.encode(workload.texts, batch_size=batch_size, normalize=False)
            warm.append(time.perf_counter() - encoded)
            load.append(loaded - start)
            first.append(encoded - loaded)
            del model
        out[workload.name] = {"load": load, "first": first, "warm": warm}
    return out


def thread_info() -> dict[str, Any]:
    info: dict[str, Any] = {}
    if "torch" in sys.modules:
        info["torch.get_num_threads"] = sys.modules["torch"].get_num_threads()
    else:
        info["torch.get_num_threads"] = "torch not imported" if installed("torch") else "torch not installed"
    try:
        threadpoolctl = _module("threadpoolctl")
        info["threadpools"] = [
            {k: p.get(k) for k in ("user_api", "internal_api", "num_threads", "version", "filepath")}
            for p in threadpoolctl.threadpool_info()
        ]
    except ImportError:
        info["threadpools"] = "unknown (threadpoolctl not installed)"
    info["env"] = {
        k: os.environ.get(k)
        for k in (
            "OMP_NUM_THREADS",
            "MKL_NUM_THREADS",
            "OPENBLAS_NUM_THREADS",
            "RAYON_NUM_THREADS",
            "TOKENIZERS_PARALLELISM",
        )
    }
    return info


def machine_info() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable: int | str = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = "unknown"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
    }


def versions() -> dict[str, str | None]:
    from . import COMPILED

    out: dict[str, str | None] = {
        d: installed(d)
        for d in (
            "fastembed-static",
            "numpy",
            "torch",
            "sentence-transformers",
            "model2vec",
            "tokenizers",
            "threadpoolctl",
            "safetensors",
        )
    }
    out["fastembed-static tokenizer"] = "mypyc-compiled" if COMPILED else "pure Python"
    return out


# ----------------------------------------------------------------------------------------------------------------
# The run


@dataclass
class Sizes:
    short: int
    paragraphs: int
    long: int
    latency: int
    agreement: tuple[int, int, int]
    cold_runs: int
    first_rounds: int


FULL = Sizes(
    short=10_000, paragraphs=10_000, long=2_000, latency=1_000, agreement=(500, 200, 20), cold_runs=10, first_rounds=5
)
QUICK = Sizes(short=300, paragraphs=200, long=30, latency=50, agreement=(100, 50, 5), cold_runs=2, first_rounds=2)


def make_workloads(shared: Path, fe: Any, sizes: Sizes) -> list[Workload]:
    def tokenized(name: str, texts: list[str], description: str) -> Workload:
        return Workload(name, texts, [fe.tokenize(t) for t in texts], description)

    docs = pep_documents(shared)
    chunks = chunk_documents(docs, lambda line: len(fe.tokenize(line)), LONG_CHUNK_TOKENS)
    return [
        tokenized("short", gooaq(shared)[: sizes.short], "GooAQ queries (corpus/gooaq-10k.txt), in order"),
        tokenized(
            "paragraphs",
            spread(pep_paragraphs(shared), sizes.paragraphs),
            "PEP paragraphs (blank-line separated), taken evenly across all PEPs",
        ),
        tokenized(
            "long",
            spread(chunks, sizes.long),
            f"whole PEPs cut at line ends into ~{LONG_CHUNK_TOKENS}-token chunks, taken evenly",
        ),
    ]


def run(args: argparse.Namespace) -> dict[str, Any]:
    from .model import StaticModel

    started = time.time()
    sizes = QUICK if args.quick else FULL
    if args.texts is not None:
        n = args.texts
        sizes = dataclasses.replace(sizes, short=n, paragraphs=n, long=max(1, n // 5), latency=min(sizes.latency, n))
    repeats = args.repeats if args.repeats is not None else (3 if args.quick else 7)
    shared = find_shared(args.shared)
    workdir = (args.workdir or default_workdir()).resolve()
    bench = model_from_dir(args.model, workdir) if args.model else build_random_model(shared, workdir)
    fe = StaticModel.from_pretrained(bench.generated)
    dims = args.dims or [fe.dim]
    if args.dtypes is not None:
        dtypes = args.dtypes
    else:  # every storage the generator offers, in a full run
        dtypes = ["float16", "int8"] if not args.quick and generator_accepts("dtype") else []
    for d in dims:
        if not 0 < d <= fe.dim:
            raise SystemExit(f"error: --dims {d} is outside 1..{fe.dim}")
    load_before = os.getloadavg()
    log("tokenizing the workloads")
    workloads = make_workloads(shared, fe, sizes)
    skipped: list[str] = list(bench.notes)
    notes_once: set[str] = set()
    report: dict[str, Any] = {
        "command": " ".join(
            ["python", *getattr(sys, "orig_argv", ["", "-m", "fastembed_static.bench", *sys.argv[1:]])[1:]]
        ),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "model": {"description": bench.description, "generated": str(bench.generated), "dim": fe.dim},
        "batch_size": args.batch_size,
        "budget_s": args.budget,
        "dtypes": dtypes,
        "repeats": repeats,
        "quick": args.quick,
        "workloads": [
            {"name": w.name, "texts": len(w.texts), "tokens": w.tokens, "description": w.description} for w in workloads
        ],
        "dims": {},
    }
    ok = True
    by_name = {w.name: w for w in workloads}
    for dim in dims:
        log(f"dim={dim}: setting up the systems")
        systems = make_systems(bench, fe, dim, dtypes, args.batch_size, skipped, notes_once)
        reference = systems[0]
        n_short, n_para, n_long = sizes.agreement
        sample = (
            by_name["short"].texts[:n_short]
            + spread(by_name["paragraphs"].texts, n_para)
            + spread(by_name["long"].texts, n_long)
            + ["", "[MASK] and [CLS]", "naïve café — 東京"]
        )
        log(f"dim={dim}: agreement check on {len(sample)} texts")
        check = agreement(systems[1:], reference, sample, fe)
        ok = ok and all(row["ok"] for row in check)
        # Every object so far (torch, the peers' modules) out of the collector's sight: the gc.collect() before
        # each timed call then costs microseconds instead of scanning millions of objects.
        gc.collect()
        gc.freeze()
        throughput: dict[str, dict[str, list[float]]] = {}
        for workload in workloads:
            log(f"dim={dim}: {workload.name}: {len(workload.texts)} texts x {len(systems)} systems x {repeats} repeats")
            calls = [s.batch(workload.texts) for s in systems]
            times = interleaved(calls, repeats, args.budget)
            throughput[workload.name] = {s.name: t for s, t in zip(systems, times)}
        log(f"dim={dim}: single-text latency over {sizes.latency} queries")
        latency = latencies(systems, by_name["short"].texts[: sizes.latency])
        report["dims"][str(dim)] = {
            "systems": [{"name": s.name, "role": s.role, "note": s.note} for s in systems],
            "agreement": check,
            "throughput": throughput,
            "latency": latency,
        }
        gc.unfreeze()
        del systems, reference
        gc.collect()

    log("first pass with an empty tokenizer cache vs warm")
    report["first_pass"] = first_pass(bench.generated, workloads[:2], sizes.first_rounds, args.batch_size)

    with tempfile.TemporaryDirectory(prefix="fastembed-static-bench-") as tmp:
        cwd = Path(tmp)  # not the source tree: `python -c` puts the current directory first on sys.path
        short_file = cwd / "short.json"
        short_file.write_text(json.dumps(by_name["short"].texts), encoding="utf-8")
        gen = str(bench.generated)
        commands = [
            ("python -c pass", "pass"),
            ("import numpy", "import numpy"),
            (
                "fastembed-static default model: import, load, encode('x')",
                "import fastembed_static; m = fastembed_static.StaticModel.default(); m.encode('x')",
            ),
            (
                "fastembed-static bench model: import, load, encode('x')",
                f"from fastembed_static import StaticModel; StaticModel.from_pretrained({gen!r}).encode('x')",
            ),
        ]
        if not args.quick and bench.st_dir and installed("sentence-transformers"):
            commands.append(
                (
                    "sentence-transformers bench model: import, load, encode('x')",
                    "from sentence_transformers import SentenceTransformer;"
                    f" SentenceTransformer({str(bench.st_dir)!r}, device='cpu').encode('x')",
                )
            )
        if not args.quick and bench.m2v_dir and installed("model2vec"):
            commands.append(
                (
                    "model2vec bench model: import, load, encode('x')",
                    f"from model2vec import StaticModel; StaticModel.from_pretrained({str(bench.m2v_dir)!r}).encode('x')",
                )
            )
        log(f"cold start: {len(commands)} commands x {sizes.cold_runs} runs")
        report["cold_start"] = cold_starts(commands, sizes.cold_runs, cwd)

        rss = f"print({_PEAK_RSS_KIB_CODE})"
        texts = f"import json; t = json.load(open({str(short_file)!r}))"
        rss_commands = [
            ("import numpy only", f"import numpy; {rss}"),
            (
                "fastembed-static",
                f"{texts}; from fastembed_static import StaticModel;"
                f" StaticModel.from_pretrained({gen!r}).encode(t, batch_size={args.batch_size}); {rss}",
            ),
        ]
        if not args.quick and bench.st_dir and installed("sentence-transformers"):
            rss_commands.append(
                (
                    "sentence-transformers",
                    f"{texts}; from sentence_transformers import SentenceTransformer;"
                    f" SentenceTransformer({str(bench.st_dir)!r}, device='cpu').encode(t, batch_size={args.batch_size}); {rss}",
                )
            )
        if not args.quick and bench.m2v_dir and installed("model2vec"):
            rss_commands.append(
                (
                    "model2vec",
                    f"{texts}; from model2vec import StaticModel; StaticModel.from_pretrained({str(bench.m2v_dir)!r})"
                    f".encode(t, max_length=None, use_multiprocessing=False, batch_size={args.batch_size}); {rss}",
                )
            )
        log("peak RSS, one system per process")
        report["peak_rss_per_system_mib"] = peak_rss_subprocesses(rss_commands, cwd)

    report["skipped"] = skipped
    report["agreement_ok"] = ok
    report["threads"] = thread_info()
    report["versions"] = versions()
    report["machine"] = machine_info()
    report["loadavg"] = {"start": list(load_before), "end": list(os.getloadavg())}
    report["peak_rss_this_process_mib"] = peak_rss_kib() / 1024
    report["seconds"] = time.time() - started
    return report


# ----------------------------------------------------------------------------------------------------------------
# Output


def _median(xs: Sequence[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def _rate(x: float) -> str:
    if x != x:
        return "–"
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e4:
        return f"{x / 1e3:.0f}k"
    return f"{x:,.0f}"


def _us(seconds: float) -> str:
    us = seconds * 1e6
    return f"{us:.0f}" if us >= 100 else f"{us:.1f}"


def _ratio(x: float) -> str:
    return "–" if x != x else f"{x:.2f}×"


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """Medians, rates and ratios per dim and system (what the table shows)."""
    tokens = {w["name"]: (w["texts"], w["tokens"]) for w in report["workloads"]}
    out: dict[str, Any] = {}
    for dim, data in report["dims"].items():
        rows: dict[str, dict[str, float]] = {}
        for system in data["systems"]:
            name = system["name"]
            row: dict[str, float] = {}
            for workload, per_system in data["throughput"].items():
                median = _median(per_system.get(name, []))
                texts, toks = tokens[workload]
                row[f"{workload}_texts_per_s"] = texts / median
                row[f"{workload}_tokens_per_s"] = toks / median
                row[f"{workload}_median_s"] = median
            lat = data["latency"].get(name)
            row["latency_p50_s"] = _median(lat) if lat else float("nan")
            row["latency_p99_s"] = float(np.percentile(lat, 99)) if lat else float("nan")
            rows[name] = row
        ref = rows["fastembed-static"]
        for row in rows.values():
            for workload in data["throughput"]:
                row[f"{workload}_ratio"] = ref[f"{workload}_texts_per_s"] / row[f"{workload}_texts_per_s"]
            row["latency_ratio"] = row["latency_p50_s"] / ref["latency_p50_s"]
        out[dim] = rows
    return out


# The speed goals of the project (issue "Speed"): (description, measured ratio's system pair, target).
GOALS_LATENCY = [("sentence-transformers", 30.0), ("model2vec", 8.0), ("tokenizers+numpy", 4.0)]
GOALS_BATCH = [("sentence-transformers", 5.0), ("model2vec", 4.0), ("tokenizers+numpy", 4.0)]
GOAL_POOLING = 0.8  # fastembed-static pooling alone / torch EmbeddingBag on one thread
GOAL_WORKERS = 1.8  # workers=2 / workers=1 (the goal is stated for 20k+ texts)
GOAL_COLD_START_MS = 25.0


def goals(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Each speed goal at the model's full width: (goal, target, measured, verdict)."""
    stats = summary(report)
    rows = stats[next(iter(stats))]
    workloads = [w["name"] for w in report["workloads"]]
    out: list[tuple[str, str, str, str]] = []

    def verdict(measured: float, target: float, higher_is_better: bool = True) -> str:
        if measured != measured:  # NaN: not measured
            return "not measured"
        met = measured >= target if higher_is_better else measured <= target
        return "met" if met else f"missed by {abs(target - measured) / target:.0%}"

    for peer, target in GOALS_LATENCY:
        if peer in rows:
            got = rows[peer]["latency_ratio"]
            out.append((f"1-text latency vs {peer}", f">= {target:g}x", f"{got:.1f}x", verdict(got, target)))
    for peer, target in GOALS_BATCH:
        for workload in workloads:
            if peer in rows and f"{workload}_ratio" in rows[peer]:
                got = rows[peer][f"{workload}_ratio"]
                out.append((f"{workload} throughput vs {peer}", f">= {target:g}x", f"{got:.2f}x", verdict(got, target)))
    torch_one = next((n for n in rows if n.startswith("torch EmbeddingBag 1 thread")), None)
    if torch_one is None and report["threads"].get("torch.get_num_threads") == 1:
        torch_one = next((n for n in rows if n.startswith("torch EmbeddingBag")), None)
    pooling = "fastembed-static (pooling only)"
    if torch_one and pooling in rows:
        for workload in workloads:
            got = rows[pooling][f"{workload}_texts_per_s"] / rows[torch_one][f"{workload}_texts_per_s"]
            out.append(
                (
                    f"{workload} pooling vs {torch_one}",
                    f">= {GOAL_POOLING:.0%}",
                    f"{got:.0%}",
                    verdict(got, GOAL_POOLING),
                )
            )
    one, two = "fastembed-static workers=1", "fastembed-static workers=2"
    if one in rows and two in rows:
        for workload in workloads:
            got = rows[two][f"{workload}_texts_per_s"] / rows[one][f"{workload}_texts_per_s"]
            out.append(
                (
                    f"{workload} workers=2 / workers=1",
                    f">= {GOAL_WORKERS:g}x",
                    f"{got:.2f}x",
                    verdict(got, GOAL_WORKERS),
                )
            )
    cold = report.get("cold_start", {}).get("times", {})
    default = next((label for label in cold if label.startswith("fastembed-static default model")), None)
    if default and cold.get("import numpy") and cold.get(default):
        got = (_median(cold[default]) - _median(cold["import numpy"])) * 1e3
        target = GOAL_COLD_START_MS
        out.append(
            (
                "cold start: import + default model + first vector, beyond import numpy",
                f"<= {target:g} ms",
                f"{got:.0f} ms",
                verdict(got, target, higher_is_better=False),
            )
        )
    return out


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], text: Sequence[int] = (0,)) -> list[str]:
    """A markdown table; the ``text`` columns align left, the others (numbers) right."""
    rule = "|" + "|".join("---" if i in text else "---:" for i in range(len(header))) + "|"
    lines = ["| " + " | ".join(header) + " |", rule]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def markdown(report: dict[str, Any]) -> str:
    stats = summary(report)
    m = report["machine"]
    lines = [
        "# fastembed-static vs peers",
        "",
        f"`{report['command']}` — {report['date']}, {report['seconds']:.0f} s",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), {m['python']}, {m['platform']}; "
        f"load average {report['loadavg']['start'][0]:.2f} at start, {report['loadavg']['end'][0]:.2f} at end.",
        f"Model: {report['model']['description']}.",
        f"batch_size={report['batch_size']} for every system; {report['repeats']} timed calls per system and workload"
        " (fewer where marked: a call slower than the time budget), interleaved round-robin in one process (A B C,"
        " B C A, C A B, ...) after one untimed warm-up call each; figures are medians. Normalization off everywhere.",
        "",
        "Workloads:",
        "",
    ]
    lines += _table(
        ["workload", "texts", "tokens", "tokens/text", "source"],
        [
            [
                w["name"],
                f"{w['texts']:,}",
                f"{w['tokens']:,}",
                f"{w['tokens'] / max(w['texts'], 1):.1f}",
                w["description"],
            ]
            for w in report["workloads"]
        ]
        + [
            [
                "latency",
                "",
                "",
                "",
                "the first GooAQ queries, one `encode(text)` call each; systems take turns in blocks of 50 texts",
            ]
        ],
        text=(0, 4),
    )
    workload_names = [w["name"] for w in report["workloads"]]
    for dim, data in report["dims"].items():
        verdict = "PASSED" if all(r["ok"] for r in data["agreement"]) else "FAILED"
        lines += [
            "",
            f"## dim={dim}",
            "",
            f"Agreement check (before timing, vs fastembed-static, tolerance {TOLERANCE:g}): **{verdict}**",
            "",
        ]
        agree_rows = []
        for row in data["agreement"]:
            if "max_abs_diff" in row:
                value = f"max abs diff {row['max_abs_diff']:.2e}"
                if row.get("lossy"):
                    value += " (lossy storage: reported, not checked)"
            elif "ids_differ" in row:
                value = f"token ids differ on {row['ids_differ']} texts"
            else:
                value = row.get("detail", "")
            agree_rows.append([row["system"], str(row["texts"]), value, "ok" if row["ok"] else "**FAIL**"])
        lines += _table(["system", "texts compared", "result", ""], agree_rows, text=(0, 2, 3))
        lines += ["", f"Speed (dim={dim}; ×: how many times faster fastembed-static is; <1 means slower):", ""]
        header = ["system"]
        for w in workload_names:
            header += [f"{w} texts/s", f"{w} tok/s"]
        header += ["1-text p50 µs", "1-text p99 µs"] + [f"× {w}" for w in workload_names] + ["× 1-text p50"]
        table_rows = []
        for system in data["systems"]:
            s = stats[dim][system["name"]]
            row = [system["name"]]
            for w in workload_names:
                runs = len(data["throughput"][w].get(system["name"], []))
                mark = "" if runs >= report["repeats"] else f" ({runs} run{'s' if runs > 1 else ''})"
                row += [_rate(s[f"{w}_texts_per_s"]) + mark, _rate(s[f"{w}_tokens_per_s"])]
            row += [_us(s["latency_p50_s"]) if s["latency_p50_s"] == s["latency_p50_s"] else "–"]
            row += [_us(s["latency_p99_s"]) if s["latency_p99_s"] == s["latency_p99_s"] else "–"]
            row += [_ratio(s[f"{w}_ratio"]) for w in workload_names] + [_ratio(s["latency_ratio"])]
            table_rows.append(row)
        lines += _table(header, table_rows)
        lines += [""] + [f"- {s['name']}: {s['note']}" for s in data["systems"] if s["note"]]
        lines += [
            "- the (tokenize only) and (pooling only) rows are floors, not alternatives: half of the work each, over"
            " the same texts (pooling over ids computed beforehand, untimed)",
        ]
    fp = report["first_pass"]
    lines += ["", "## First pass (fresh model: empty tokenizer cache) vs warm", ""]
    lines += _table(
        ["workload", "load ms", "first encode ms", "warm encode ms", "first / warm"],
        [
            [
                name,
                f"{_median(v['load']) * 1e3:.1f}",
                f"{_median(v['first']) * 1e3:.1f}",
                f"{_median(v['warm']) * 1e3:.1f}",
                f"{_median(v['first']) / _median(v['warm']):.2f}",
            ]
            for name, v in fp.items()
        ],
    )
    cold = report["cold_start"]
    base = _median(cold["times"].get("import numpy", []))
    lines += [
        "",
        f"## Cold start (`python -c CODE` in a fresh process, median of {len(next(iter(cold['times'].values()), []))} interleaved runs)",
        "",
    ]
    cold_rows = []
    for label, code in cold["code"].items():
        if label in cold["errors"]:
            cold_rows.append([label, "failed: " + cold["errors"][label], "", f"`{code}`"])
            continue
        t = _median(cold["times"][label])
        cold_rows.append([label, f"{t * 1e3:.0f}", f"{(t - base) * 1e3:+.0f}", f"`{code}`"])
    lines += _table(["command", "ms", "vs import numpy, ms", "code"], cold_rows, text=(0, 3))
    lines += ["", "## Goals", "", "At the model's full width; ratios from the tables above.", ""]
    lines += _table(["goal", "target", "measured", "verdict"], [list(g) for g in goals(report)], text=(0, 3))
    lines += ["", "## Memory", ""]
    mem_rows = [
        [label, f"{v:.0f}" if isinstance(v, float) else str(v)]
        for label, v in report["peak_rss_per_system_mib"].items()
    ]
    mem_rows.append(
        ["this benchmark process (every system loaded, all workloads)", f"{report['peak_rss_this_process_mib']:.0f}"]
    )
    lines += _table(["process encoding the short workload", "peak RSS MiB"], mem_rows)
    t = report["threads"]
    lines += ["", "## Threads, versions", "", f"- torch.get_num_threads(): {t['torch.get_num_threads']}"]
    if isinstance(t["threadpools"], list):
        pools = ", ".join(f"{p['internal_api']} ({p['user_api']}) {p['num_threads']} threads" for p in t["threadpools"])
        lines.append(f"- threadpoolctl: {pools or 'no thread pools loaded'}")
    else:
        lines.append(f"- numpy/BLAS threads: {t['threadpools']}")
    lines.append(
        "- environment: "
        + ", ".join(f"{k}={v}" for k, v in t["env"].items() if v is not None)
        + ("" if any(v is not None for v in t["env"].values()) else "no thread variables set")
    )
    rayon = t["env"].get("RAYON_NUM_THREADS")
    lines.append(
        "- fastembed-static runs on one thread (numpy gathers and sums, no BLAS); HF tokenizers' encode_batch runs on"
        + (f" {rayon} Rayon thread(s) (RAYON_NUM_THREADS)" if rayon else " all cores (Rayon)")
    )
    lines.append("- versions: " + ", ".join(f"{k} {v or 'not installed'}" for k, v in report["versions"].items()))
    if report["skipped"]:
        lines += ["", "## Skipped", ""] + [f"- {s}" for s in report["skipped"]]
    lines += ["", f"Agreement check: {'PASSED' if report['agreement_ok'] else 'FAILED'}"]
    return "\n".join(lines) + "\n"


def _dims(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fastembed_static.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--compare", action="store_true", help="run the side-by-side comparison (required)")
    parser.add_argument("--model", type=Path, help="a model directory (default: the random-table MRL bench model)")
    parser.add_argument(
        "--workdir", type=Path, help="where the bench model is built (default: ~/.cache/fastembed-static/bench)"
    )
    parser.add_argument("--shared", type=Path, help="the shared data directory (default: ../shared, found upwards)")
    parser.add_argument("--repeats", type=int, help="timed repeats per workload (default 7, --quick 3)")
    parser.add_argument("--quick", action="store_true", help="few texts and repeats: a few seconds (for tests)")
    parser.add_argument("--dims", type=_dims, help="comma-separated dims to compare (default: the model's)")
    parser.add_argument(
        "--dtypes",
        type=lambda text: [x.strip() for x in text.split(",") if x.strip()],
        help="also time fastembed-static with the table stored as these dtypes, e.g. float16,int8 (default: all"
        " the generator offers; none with --quick)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=60.0,
        help="seconds per system and workload: a system whose one call takes longer than budget/repeats is timed"
        " fewer times, at least once (default 60)",
    )
    parser.add_argument(
        "--texts",
        type=int,
        help="texts per workload (the long one gets a fifth); default 10000, --quick 300",
    )
    parser.add_argument("--batch-size", type=int, default=1024, help="batch_size for every system (default 1024)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads for the peers (torch, OpenMP/BLAS, HF tokenizers' Rayon pool), set before they load; default 1,"
        " as fastembed-static runs on one thread; 0 leaves the environment alone",
    )
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--markdown", action="store_const", const="markdown", dest="format", help="markdown (default)")
    fmt.add_argument("--json", action="store_const", const="json", dest="format", help="JSON with every timing")
    parser.add_argument("--output", type=Path, help="also write the output to this file")
    args = parser.parse_args(argv)
    if not args.compare:
        parser.error("nothing to do: pass --compare")
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.threads:
        for variable in ("RAYON_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[variable] = str(args.threads)
    report = run(args)
    if args.format == "json":
        report["summary"] = summary(report)
        text = json.dumps(report, indent=1, default=str) + "\n"
    else:
        text = markdown(report)
    sys.stdout.write(text)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    return 0 if report["agreement_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
