"""What the tests share: the data shipped in ``tests/data`` (see its PROVENANCE.md) and model builders.

Test modules import from here (``from .helpers import ...``); no test module imports another.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
MRL_DIR = DATA / "static-retrieval-mrl-en-v1"
MRL_TOKENIZER = MRL_DIR / "tokenizer.json"
GOOAQ = DATA / "gooaq-10k.txt"
PEPS = DATA / "peps.tar.xz"
STSB = DATA / "stsb-dev.jsonl"
MRL_SHAPE = (30522, 1024)
MBERT_CASED_XZ = DATA / "bert-base-multilingual-cased" / "tokenizer.json.xz"
MBERT_ADDED_XZ = DATA / "mbert-cased-kz-ru-en" / "tokenizer.json.xz"
MBERT_ADDED_ROWS = 119550  # the vocabulary and the three added tokens past its end
SEED = 20261126
CLI = shutil.which("fastembed-static") or str(Path(sys.executable).with_name("fastembed-static"))
"""The installed command-line entry point."""


def mbert_cased_tokenizer(folder: Path, *, truncation: bool = True, **normalizer: object) -> Path:
    """The real bert-base-multilingual-cased ``tokenizer.json`` (tests/data, xz) unpacked into ``folder``.

    ``truncation=False`` drops the OnlySecond truncation it was saved with (and its padding: neither touches a
    single text that ``tokenizers`` can encode, and the generator refuses OnlySecond). ``normalizer`` options
    replace the BertNormalizer's (e.g. ``lowercase=True, strip_accents=None``: the normalizer of
    bert-base-multilingual-uncased, on the cased vocabulary).
    """
    import lzma

    data = json.loads(lzma.decompress(MBERT_CASED_XZ.read_bytes()).decode("utf-8"))
    if not truncation:
        data["truncation"] = data["padding"] = None
    data["normalizer"].update(normalizer)
    path = folder / "tokenizer.json"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def mbert_added_tokens_tokenizer(folder: Path) -> Path:
    """The real bert-base-multilingual-cased tokenizer with three added special tokens past the vocabulary
    (``[KZ]``, ``[RU]``, ``[EN]``), LongestFirst truncation at 128 and BatchLongest padding (tests/data, xz), unpacked
    byte for byte into ``folder``."""
    import lzma

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tokenizer.json"
    path.write_bytes(lzma.decompress(MBERT_ADDED_XZ.read_bytes()))
    return path


def gooaq_queries() -> list[str]:
    """The 10,000 GooAQ queries, one per line."""
    return GOOAQ.read_text(encoding="utf-8").splitlines()


@functools.lru_cache(maxsize=1)
def _pep_documents() -> tuple[str, ...]:
    with tarfile.open(PEPS, "r:xz") as archive:
        members = sorted(
            (m for m in archive.getmembers() if m.isfile() and m.name.endswith(".rst")), key=lambda m: m.name
        )
        return tuple(archive.extractfile(m).read().decode("utf-8") for m in members)  # type: ignore[union-attr]


def pep_documents() -> list[str]:
    """The 726 PEPs, whole, in file-name order."""
    return list(_pep_documents())


def pep_paragraphs() -> list[str]:
    """Every paragraph (blank-line separated block) of every PEP, in file order."""
    return [p for doc in _pep_documents() for p in re.split(r"\n\s*\n", doc) if p.strip()]


def stsb_pairs() -> list[dict[str, object]]:
    """STS-B dev: ``sentence1``, ``sentence2``, ``score`` (0-5)."""
    return [json.loads(line) for line in STSB.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    """Write with the real ``safetensors`` package (the tests do not trust the reader they test to write inputs)."""
    from safetensors.numpy import save_file

    save_file(tensors, str(path))


def make_st_model(root: Path, tokenizer_json: Path, table: np.ndarray, normalize: bool = False) -> Path:
    """A sentence-transformers StaticEmbedding layout model directory."""
    root.mkdir(parents=True, exist_ok=True)
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.StaticEmbedding"}]
    if normalize:
        modules.append({"idx": 1, "name": "1", "path": "1_Normalize", "type": "sentence_transformers.models.Normalize"})
        (root / "1_Normalize").mkdir(exist_ok=True)
    (root / "modules.json").write_text(json.dumps(modules), encoding="utf-8")
    (root / "tokenizer.json").write_bytes(tokenizer_json.read_bytes())
    write_safetensors(root / "model.safetensors", {"embedding.weight": table})
    return root


def random_table(rows: int, dim: int, seed: int = SEED) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((rows, dim), dtype=np.float32)


def safetensors_bytes(tensors: dict[str, np.ndarray]) -> bytes:
    """A safetensors file written by hand (little-endian u64 header length, JSON header, raw data)."""
    header: dict[str, Any] = {}
    blobs = []
    offset = 0
    for name, array in tensors.items():
        raw = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def engine_corpus(rows: int) -> list[str]:
    """The first ``rows`` of the GooAQ queries followed by the PEP paragraphs (the distributed-engine tests)."""
    texts = gooaq_queries() + pep_paragraphs()
    assert len(texts) >= rows
    return texts[:rows]


def write_corpus_parquet(folder: Path, corpus: list[str], null_rows: Sequence[int]) -> Path:
    """One Parquet file ``part-0.parquet`` with columns ``id`` and ``text``: the corpus (ids 0..n-1) with extra rows
    of null text (ids n + k) placed at positions ``null_rows``. pyarrow is imported here, not by every test."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = len(corpus)
    texts: list[str | None] = [*corpus, *(None for _ in null_rows)]
    ids = np.concatenate([np.arange(n), n + np.arange(len(null_rows))])
    order = np.arange(len(ids))
    for k, row in enumerate(null_rows):  # put the null rows among the others
        order = np.insert(order[order != n + k], row, n + k)
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"id": ids[order], "text": [texts[i] for i in order]}), folder / "part-0.parquet")
    return folder


# The framework adapters' tests (test_langchain.py, test_llama_index.py, test_chroma.py, test_haystack.py).

FRAMEWORK_ENV = {
    "ANONYMIZED_TELEMETRY": "False",  # chromadb
    "HAYSTACK_TELEMETRY_ENABLED": "False",
}
"""Telemetry off: set (in os.environ, for the whole session: it changes nothing else) before a framework is
imported; the tests also refuse every socket (:func:`refuse_network`)."""

FRAMEWORK_TEST_ENV = {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
"""Set by :func:`refuse_network` for one framework test only: HF_HUB_OFFLINE set for the whole session would make
the hub tests that run later find no network."""


def retrieval_corpus(rows: int = 400) -> list[str]:
    """``rows`` distinct PEP paragraphs of 200 to 1,500 characters, spread over the PEPs (every 10th such one)."""
    seen: set[str] = set()
    picked = []
    for text in pep_paragraphs():
        if 200 <= len(text) <= 1500 and text not in seen:
            seen.add(text)
            picked.append(text)
    corpus = picked[::10]
    assert len(corpus) >= rows
    return corpus[:rows]


def retrieval_queries(corpus: Sequence[str]) -> tuple[list[str], dict[str, int]]:
    """Real queries for the framework tests: 20 GooAQ queries, and for every 40th document a query made of its own
    first 12 words, mapped to that document's index (the expected hit)."""
    expected = {" ".join(corpus[i].split()[:12]): i for i in range(0, len(corpus), 40)}
    return gooaq_queries()[:20] + list(expected), expected


def reference_top_k(
    doc_vectors: np.ndarray, query_vector: np.ndarray, k: int, metric: str
) -> tuple[list[int], np.ndarray]:
    """The top ``k`` documents by ``metric`` ("cosine" or "dot"), computed in float64 from the float32 vectors: their
    indices best first (ties by index), and the scores of all documents."""
    docs = doc_vectors.astype(np.float64)
    query = query_vector.astype(np.float64)
    scores = docs @ query
    if metric == "cosine":
        scores = scores / (np.linalg.norm(docs, axis=1) * np.linalg.norm(query))
    else:
        assert metric == "dot"
    order = np.argsort(-scores, kind="stable")[:k]
    return [int(i) for i in order], scores


def assert_same_ranking(got: Sequence[int], expected: Sequence[int], scores: np.ndarray, tol: float = 1e-6) -> None:
    """``got`` (document indices from a framework, best first) is the reference top-k ``expected``: equal, except
    that documents whose reference scores differ by less than ``tol`` (float32 vs float64 arithmetic) may swap."""
    assert len(got) == len(expected), (got, expected)
    assert len(set(got)) == len(got), got
    if list(got) == list(expected):
        return
    for rank, (g, e) in enumerate(zip(got, expected)):
        assert abs(scores[g] - scores[e]) < tol, (
            f"rank {rank}: got document {g} ({scores[g]}), expected {e} ({scores[e]})"
        )


def refuse_network(monkeypatch: Any) -> list[object]:
    """Make every Internet socket connection and name lookup of this process fail (and record it): a framework that
    tries the network fails the test at once instead of hanging on a timeout; also sets FRAMEWORK_TEST_ENV for the
    test. Returns the list of attempts."""
    import socket

    for name, value in FRAMEWORK_TEST_ENV.items():
        monkeypatch.setenv(name, value)
    attempts: list[object] = []
    connect = socket.socket.connect

    def guarded_connect(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            attempts.append(address)
            raise OSError(f"test: network refused ({address!r})")
        connect(sock, address)

    def refused_lookup(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args[:2])
        raise socket.gaierror(f"test: name lookup refused ({args[:2]!r})")

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", refused_lookup)
    return attempts


def source_copy(tmp_path: Path) -> Path:
    """The repository's build inputs (not the tests, not build leftovers), copied with symlinks kept."""
    if not (REPO / "setup.py").is_file():
        raise AssertionError(f"the source tree is not beside the tests: {REPO / 'setup.py'} is missing")
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    dest = tmp_path / "src"
    for rel in listed:
        if rel.startswith(("tests/", "asv_bench/")) or not (REPO / rel).exists():
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if (REPO / rel).is_symlink():
            target.symlink_to(os.readlink(REPO / rel))
        else:
            shutil.copy2(REPO / rel, target)
    return dest


@functools.cache
def pure_core(name: str) -> ModuleType:
    """The tokenizer core ``name`` (``_tokenizer``, ``_bpe`` or ``_unigram``) as plain Python: loaded from the
    installed .py source even when the compiled .so is in use, as a module of the package so that its relative imports
    work (not registered in sys.modules, so the package's own core is untouched)."""
    import fastembed_static

    source = Path(fastembed_static.__file__).parent / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"fastembed_static.{name}_pure", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
