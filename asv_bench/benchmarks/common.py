"""What the benchmarks share: the shared data, the bench model (built once, cached on disk), the texts.

Self-contained on purpose (numpy and the installed fastembed_static only; not fastembed_static.bench, which older
commits do not have): the model is the real static-retrieval-mrl-en-v1 tokenizer with a random table of the real
shape, 30522 x 1024 float32, fixed seed, written in the sentence-transformers layout and generated with the
installed generator. Generated variants (``dims=``, ``dtype=``) are cached beside it, keyed by the generator version.
"""

from __future__ import annotations

import fcntl
import hashlib
import inspect
import json
import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

import numpy as np

SEED = 20261126  # the test suite's seed (tests/conftest.py)
SHAPE = (30522, 1024)
LONG_CHUNK_TOKENS = 400
MAX_TEXTS = 10_000
LAYOUT_VERSION = "1"

HERE = Path(__file__).resolve().parent  # asv_bench/benchmarks


class MissingData(NotImplementedError):
    """Raised in ``setup``: asv then skips the benchmark (shows it as n/a) instead of failing it."""


def shared_dir():
    env = os.environ.get("FASTEMBED_STATIC_SHARED")
    path = Path(env) if env else HERE.parents[2] / "shared"  # asv_bench/../../shared
    if not (path / "models" / "static-retrieval-mrl-en-v1" / "tokenizer.json").is_file():
        raise MissingData(f"no shared data at {path} (set FASTEMBED_STATIC_SHARED)")
    return path


def cache_dir():
    env = os.environ.get("FASTEMBED_STATIC_BENCH_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "fastembed-static" / "asv"


@contextmanager
def locked():
    """One builder at a time (asv may run benchmarks in parallel with -j)."""
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_safetensors(path, name, table):
    header = json.dumps(
        {name: {"dtype": "F32", "shape": list(table.shape), "data_offsets": [0, table.nbytes]}}, separators=(",", ":")
    ).encode()
    header += b" " * (-len(header) % 8)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    with tmp.open("wb") as f:
        f.write(len(header).to_bytes(8, "little"))
        f.write(header)
        np.ascontiguousarray(table, dtype="<f4").tofile(f)
    os.replace(tmp, path)


def source_dir():
    """The sentence-transformers layout model (modules.json, tokenizer.json, model.safetensors), built once."""
    tokenizer = shared_dir() / "models" / "static-retrieval-mrl-en-v1" / "tokenizer.json"
    key = hashlib.sha256(f"{LAYOUT_VERSION}|{SEED}|{SHAPE}|{_sha256(tokenizer)}".encode()).hexdigest()[:12]
    root = cache_dir() / f"mrl-random-{key}" / "st"
    if (root / "model.safetensors").is_file():
        return root
    with locked():
        if not (root / "model.safetensors").is_file():
            root.mkdir(parents=True, exist_ok=True)
            modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.StaticEmbedding"}]
            (root / "modules.json").write_text(json.dumps(modules), encoding="utf-8")
            shutil.copyfile(tokenizer, root / "tokenizer.json")
            table = np.random.default_rng(SEED).standard_normal(SHAPE, dtype=np.float32)
            _write_safetensors(root / "model.safetensors", "embedding.weight", table)
    return root


def generator_accepts(name):
    from fastembed_static.gen import generate

    return name in inspect.signature(generate).parameters


def model_path(dims=None, dtype="float32"):
    """The generated bench model (``dims``: only the first columns; ``dtype``: the table's storage type).

    Raises NotImplementedError (asv: skipped) when the installed generator cannot make that variant.
    """
    from fastembed_static.gen import GENERATOR_VERSION, generate

    options = {}
    if dims is not None:
        options["dims"] = dims
    if dtype != "float32":
        if not generator_accepts("dtype"):
            raise NotImplementedError(f"the installed generator has no dtype= (wanted {dtype})")
        options["dtype"] = dtype
    source = source_dir()
    name = f"generated-v{GENERATOR_VERSION}-d{dims or SHAPE[1]}-{dtype}"
    out = source.parent / name
    if (out / "model.json").is_file():
        return out
    with locked():
        if not (out / "model.json").is_file():
            try:
                generate(source, out, **options)
            except (TypeError, ValueError) as e:  # an unsupported dtype value, say
                raise NotImplementedError(f"generate({options}) failed: {type(e).__name__}: {e}") from e
    return out


def load_model(path):
    """A fresh model (empty tokenizer cache, new mapping of the weights)."""
    from fastembed_static import StaticModel

    try:
        return StaticModel.from_pretrained(path)
    except Exception as e:  # a generated dtype this runtime cannot read
        if "dtype" in str(e):
            raise NotImplementedError(f"the runtime cannot load {path.name}: {e}") from e
        raise


def _pep_documents():
    return [p.read_text(encoding="utf-8") for p in sorted((shared_dir() / "corpus" / "peps").glob("*.rst"))]


def _make_texts(kind):
    shared = shared_dir()
    if kind == "short":
        lines = (shared / "corpus" / "gooaq-10k.txt").read_text(encoding="utf-8").splitlines()
        return [t for t in lines if t.strip()]
    if kind == "paragraph":
        return [p for doc in _pep_documents() for p in re.split(r"\n\s*\n", doc) if p.strip()]
    if kind == "long":  # whole PEPs cut at line ends into chunks of about LONG_CHUNK_TOKENS tokens
        model = load_model(model_path())
        chunks = []
        for doc in _pep_documents():
            lines, tokens = [], 0
            for line in doc.splitlines():
                lines.append(line)
                tokens += len(model.tokenize(line))
                if tokens >= LONG_CHUNK_TOKENS:
                    chunks.append("\n".join(lines))
                    lines, tokens = [], 0
            if tokens:
                chunks.append("\n".join(lines))
        return chunks
    raise ValueError(kind)


def texts(kind, n=MAX_TEXTS):
    """``n`` texts of a kind: "short" (GooAQ queries), "paragraph" (PEP paragraphs), "long" (~400-token chunks of
    whole PEPs); all of them cycled if there are fewer than ``n``. Cached on disk as JSON."""
    path = cache_dir() / f"texts-{LAYOUT_VERSION}-{kind}.json"
    if not path.is_file():
        with locked():
            if not path.is_file():
                items = _make_texts(kind)
                tmp = path.with_name(f".{path.name}.{os.getpid()}")
                tmp.write_text(json.dumps(items), encoding="utf-8")
                os.replace(tmp, path)
    items = json.loads(path.read_text(encoding="utf-8"))
    if kind != "short":
        step = max(1, len(items) // min(n, MAX_TEXTS))  # spread over every PEP, not the first few
        items = items[::step]
    while len(items) < n:
        items = items + items
    return items[:n]
