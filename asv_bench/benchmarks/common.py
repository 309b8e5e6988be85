"""What the asv benchmarks and the side-by-side comparison (``asv_bench/compare``) share: the data, the bench
model and the texts.

- Data: ``tests/data`` of the checkout these benchmarks live in (asv always runs the benchmarks of the working tree,
  whichever commit's package it measures), or ``$FASTEMBED_STATIC_BENCH_DATA``. Missing data raises
  ``MissingData`` (a ``FileNotFoundError``): asv reports the benchmark as failed, never as skipped.
- The bench model: the real static-retrieval-mrl-en-v1 tokenizer with a random table of the real shape,
  30522 x 1024 float32, fixed seed, written once in the sentence-transformers and model2vec layouts, and generated
  by the generator of the *installed* package into a folder keyed by a fingerprint of that package's files: a
  commit that changes the generator gets a freshly generated model (and a commit that changes nothing reuses it).
- The texts: "short" (the 10,000 GooAQ queries), "paragraph" (blank-line separated blocks of the PEPs), "long"
  (whole PEPs cut at line ends into ~400-token chunks), "broad" (Jane Austen's six novels cut the same way: long
  texts of broad-vocabulary English prose, about 200 distinct tokens in each ~407-token text where a PEP chunk has
  about 140, so more distinct rows of the table per text), cached on disk as JSON.

Self-contained on purpose: numpy and the installed ``fastembed_static`` only, so the same file runs against any
commit's package.
"""

from __future__ import annotations

import fcntl
import hashlib
import inspect
import json
import os
import re
import shutil
import tarfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

SEED = 20261126  # the test suite's seed (tests/helpers.py)
SHAPE = (30522, 1024)  # static-retrieval-mrl-en-v1
LONG_CHUNK_TOKENS = 400
MAX_TEXTS = 10_000
LAYOUT_VERSION = "2"  # bump to rebuild the cached source layouts and texts
KEEP_GENERATED = 6  # generated model sets (one per package fingerprint) kept in the cache; older ones are removed

HERE = Path(__file__).resolve().parent  # asv_bench/benchmarks
REPO = HERE.parents[1]


class MissingData(FileNotFoundError):
    """The benchmark data is not there: a failure (asv shows the benchmark as failed), not a skip."""


def data_dir():
    env = os.environ.get("FASTEMBED_STATIC_BENCH_DATA")
    path = Path(env) if env else REPO / "tests" / "data"
    missing = [name for name in DATA_FILES if not (path / name).is_file()]
    if missing:
        raise MissingData(
            f"benchmark data missing in {path}: {', '.join(missing)} (tests/data of this checkout, or set"
            " FASTEMBED_STATIC_BENCH_DATA)"
        )
    return path


DATA_FILES = ("static-retrieval-mrl-en-v1/tokenizer.json", "gooaq-10k.txt", "peps.tar.xz", "austen.tar.xz")


def tokenizer_json():
    return data_dir() / "static-retrieval-mrl-en-v1" / "tokenizer.json"


def cache_dir():
    env = os.environ.get("FASTEMBED_STATIC_BENCH_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "fastembed-static" / "asv"


@contextmanager
def locked():
    """One builder at a time (asv may run benchmarks in parallel; the comparison may run beside asv)."""
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_safetensors(path, name, table):
    """A safetensors file with one float32 tensor, written without the safetensors package."""
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


def write_st_layout(root, tokenizer, table):
    """A sentence-transformers model: one StaticEmbedding module at the root, no Normalize."""
    root.mkdir(parents=True, exist_ok=True)
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.StaticEmbedding"}]
    (root / "modules.json").write_text(json.dumps(modules, indent=2), encoding="utf-8")
    shutil.copyfile(tokenizer, root / "tokenizer.json")
    write_safetensors(root / "model.safetensors", "embedding.weight", table)
    return root


def write_model2vec_layout(root, tokenizer, table):
    """A model2vec model: config.json (no normalization), tokenizer.json, model.safetensors ``embeddings``."""
    root.mkdir(parents=True, exist_ok=True)
    config = {"model_type": "model2vec", "architectures": ["StaticModel"], "normalize": False}
    (root / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    shutil.copyfile(tokenizer, root / "tokenizer.json")
    write_safetensors(root / "model.safetensors", "embeddings", table)
    return root


def random_table():
    return np.random.default_rng(SEED).standard_normal(SHAPE, dtype=np.float32)


def model_root():
    """``<cache>/mrl-random-<key>``: the source layouts (``st/``, ``model2vec/``) and the generated models."""
    key = hashlib.sha256(f"{LAYOUT_VERSION}|{SEED}|{SHAPE}|{sha256_file(tokenizer_json())}".encode()).hexdigest()
    return cache_dir() / f"mrl-random-{key[:12]}"


def source_dir(layout="st"):
    """The bench model in the sentence-transformers (``"st"``) or model2vec (``"model2vec"``) layout, built once."""
    root = model_root()
    stamp = root / "layouts.json"
    if not stamp.is_file():
        with locked():
            if not stamp.is_file():
                table = random_table()
                write_st_layout(root / "st", tokenizer_json(), table)
                write_model2vec_layout(root / "model2vec", tokenizer_json(), table)
                stamp.write_text(json.dumps({"seed": SEED, "shape": SHAPE}), encoding="utf-8")
    if layout not in ("st", "model2vec"):
        raise ValueError(layout)
    return root / layout


def package_fingerprint():
    """sha256 over every source and extension file of the installed ``fastembed_static`` (the generator included,
    wherever it lives in the package; the bundled models under ``_models`` left out): it changes whenever the
    commit under test ships a different generator (or anything else in the package)."""
    import fastembed_static

    root = Path(fastembed_static.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] in ("_models", "__pycache__") or "__pycache__" in rel.parts or not path.is_file():
            continue
        if path.suffix in (".py", ".so", ".pyd", ".json"):
            digest.update(rel.as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def generator_accepts(name):
    from fastembed_static.gen import generate

    return name in inspect.signature(generate).parameters


def _prune_generated(root, keep_prefix):
    """Keep the generated models of the ``KEEP_GENERATED`` most recently used package fingerprints."""
    groups = {}
    for path in root.glob("generated-*"):
        groups.setdefault(path.name.split("-")[1], []).append(path)
    recent = sorted(groups, key=lambda k: max(p.stat().st_mtime for p in groups[k]), reverse=True)
    for key in recent[KEEP_GENERATED:]:
        if key != keep_prefix:
            for path in groups[key]:
                shutil.rmtree(path, ignore_errors=True)


def model_path(dims=None, dtype="float32"):
    """The bench model generated by the installed generator (``dims``: only the first columns; ``dtype``: the
    table's storage type), keyed by ``package_fingerprint()``.

    Raises NotImplementedError (asv: skipped) only when the installed generator has no such option (an older
    commit); any other failure is an error.
    """
    from fastembed_static.gen import generate

    options = {}
    if dims is not None:
        options["dims"] = dims
    if dtype != "float32":
        if not generator_accepts("dtype"):
            raise NotImplementedError(f"the installed generator has no dtype= (wanted {dtype})")
        options["dtype"] = dtype
    source = source_dir("st")
    fingerprint = package_fingerprint()
    out = source.parent / f"generated-{fingerprint}-d{dims or SHAPE[1]}-{dtype}"
    if not (out / "model.json").is_file():
        with locked():
            if not (out / "model.json").is_file():
                tmp = out.with_name(f".{out.name}.{os.getpid()}")
                shutil.rmtree(tmp, ignore_errors=True)
                generate(source, tmp, **options)
                os.replace(tmp, out)
                _prune_generated(source.parent, fingerprint)
    os.utime(out)  # most recently used
    return out


def load_model(path, **options):
    """A fresh model (empty tokenizer cache, new mapping of the weights)."""
    from fastembed_static import StaticModel

    return StaticModel.from_pretrained(path, **options)


def pep_documents():
    """The PEPs, whole, in file-name order (from ``tests/data/peps.tar.xz``)."""
    with tarfile.open(data_dir() / "peps.tar.xz", "r:xz") as archive:
        members = sorted(
            (m for m in archive.getmembers() if m.isfile() and m.name.endswith(".rst")), key=lambda m: m.name
        )
        return [archive.extractfile(m).read().decode("utf-8") for m in members]


def austen_documents():
    """Jane Austen's six novels, whole, in the package's book order (from ``tests/data/austen.tar.xz``)."""
    with tarfile.open(data_dir() / "austen.tar.xz", "r:xz") as archive:
        members = sorted(
            (m for m in archive.getmembers() if m.isfile() and m.name.endswith(".txt")), key=lambda m: m.name
        )
        return [archive.extractfile(m).read().decode("utf-8") for m in members]


def gooaq_queries():
    lines = (data_dir() / "gooaq-10k.txt").read_text(encoding="utf-8").splitlines()
    return [t for t in lines if t.strip()]


def chunk_documents(docs, count_tokens, target):
    """Whole documents cut at line ends into chunks of about ``target`` tokens (each a little over it)."""
    chunks = []
    for doc in docs:
        lines, tokens = [], 0
        for line in doc.splitlines():
            lines.append(line)
            tokens += count_tokens(line)
            if tokens >= target:
                chunks.append("\n".join(lines))
                lines, tokens = [], 0
        if tokens:
            chunks.append("\n".join(lines))
    return chunks


def spread(items, n):
    """``n`` items taken evenly across ``items`` (all of them if there are fewer)."""
    if n >= len(items):
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def _make_texts(kind):
    if kind == "short":
        return gooaq_queries()
    if kind == "paragraph":
        return [p for doc in pep_documents() for p in re.split(r"\n\s*\n", doc) if p.strip()]
    if kind in ("long", "broad"):
        # Token counts from the installed tokenizer (ids identical to HF tokenizers, which the tests check); the
        # chunks are cached, so every later commit measures the same texts.
        model = load_model(model_path())
        docs = pep_documents() if kind == "long" else austen_documents()
        return chunk_documents(docs, lambda line: len(model.tokenize(line)), LONG_CHUNK_TOKENS)
    raise ValueError(f"unknown kind of text {kind!r}")


KIND_DESCRIPTIONS = {
    "short": "GooAQ queries (tests/data/gooaq-10k.txt), in order",
    "paragraph": "PEP paragraphs (blank-line separated), taken evenly across all PEPs",
    "long": f"whole PEPs cut at line ends into ~{LONG_CHUNK_TOKENS}-token chunks, taken evenly",
    "broad": f"Jane Austen's six novels (tests/data/austen.tar.xz) cut at line ends into ~{LONG_CHUNK_TOKENS}-token"
    " passages of broad-vocabulary prose, taken evenly",
}


def all_texts(kind):
    """Every text of a kind, cached on disk (keyed by the data files)."""
    names = {
        "short": ("gooaq-10k.txt",),
        "paragraph": ("peps.tar.xz",),
        "long": ("peps.tar.xz",),
        "broad": ("austen.tar.xz",),
    }[kind]
    key = hashlib.sha256("|".join(sha256_file(data_dir() / n) for n in names).encode()).hexdigest()[:12]
    path = cache_dir() / f"texts-{LAYOUT_VERSION}-{kind}-{key}.json"
    if not path.is_file():
        items = _make_texts(kind)  # outside the lock: "long" generates the model, which takes the lock
        with locked():
            if not path.is_file():
                tmp = path.with_name(f".{path.name}.{os.getpid()}")
                tmp.write_text(json.dumps(items), encoding="utf-8")
                os.replace(tmp, path)
    return json.loads(path.read_text(encoding="utf-8"))


def texts(kind, n=MAX_TEXTS):
    """``n`` texts of a kind: "short" the first ``n`` queries; "paragraph" and "long" taken evenly across every
    PEP, "broad" across the six novels; cycled if there are fewer than ``n``."""
    items = all_texts(kind)
    items = items[:n] if kind == "short" else spread(items, n)
    while len(items) < n:
        items = items + items
    return items[:n]
