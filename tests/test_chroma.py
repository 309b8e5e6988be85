"""Chroma: FastEmbedStaticEmbeddingFunction on a chromadb PersistentClient (a folder under tmp_path), 400 real PEP
paragraphs; then a NEW Python process opens the folder, gets the collection WITHOUT passing an embedding function,
and Chroma rebuilds ours from the config it persisted (name "fastembed_static" + get_config()).

The vectors Chroma stores are StaticModel.encode's (float32, bit for bit); each query's top 5 is the one computed with
numpy (cosine) from StaticModel.encode vectors (same ids, same order), in this process and in the reopening one; a
query made of a document's own first words finds it. HNSW searches with ef_search above the collection size, so its
answers are exact here. Chroma's default ONNX model is never used (its download would hit the refused network: every
socket of both processes is refused, a network call fails the test at once).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from .helpers import (
    FRAMEWORK_ENV,
    assert_same_ranking,
    reference_top_k,
    refuse_network,
    retrieval_corpus,
    retrieval_queries,
)

os.environ.update(FRAMEWORK_ENV)
chromadb = pytest.importorskip("chromadb", reason="needs the chroma extra: pip install '.[chroma]'")

from fastembed_static import StaticModel  # noqa: E402
from fastembed_static.chroma import FastEmbedStaticEmbeddingFunction  # noqa: E402

K = 5
HNSW = {"space": "cosine", "ef_construction": 800, "ef_search": 800, "max_neighbors": 32}

REOPEN = """
import json, socket, sys
def refuse(*args, **kwargs):
    raise OSError("test: network refused")
socket.socket.connect = refuse
socket.getaddrinfo = refuse
import chromadb
import fastembed_static.chroma  # registers the embedding function under its name
path, queries = sys.argv[1], json.loads(sys.stdin.read())
client = chromadb.PersistentClient(path=path, settings=chromadb.Settings(anonymized_telemetry=False))
docs = client.get_collection("peps")
ef = docs.configuration["embedding_function"]
result = docs.query(query_texts=queries, n_results=5, include=["distances"])
print(json.dumps({
    "ef": type(ef).__module__ + "." + type(ef).__name__,
    "config": ef.get_config(),
    "stored": docs.configuration_json["embedding_function"],
    "space": docs.configuration["hnsw"]["space"],
    "count": docs.count(),
    "ids": result["ids"],
    "distances": result["distances"],
}))
"""


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    return refuse_network(monkeypatch)


def _client(path: Path):  # type: ignore[no-untyped-def]
    return chromadb.PersistentClient(path=str(path), settings=chromadb.Settings(anonymized_telemetry=False))


def _check_ranking(
    ids: list[list[str]], distances: list[list[float]], queries: list[str], doc_vectors: np.ndarray
) -> int:
    model = StaticModel.default()
    hits = 0
    _, expected_hits = retrieval_queries(retrieval_corpus())
    for query, row, dist in zip(queries, ids, distances):
        expected, scores = reference_top_k(doc_vectors, model.encode(query), K, "cosine")
        got = [int(i) for i in row]
        assert_same_ranking(got, expected, scores)
        np.testing.assert_allclose(dist, 1 - scores[got], rtol=0, atol=1e-5)  # Chroma's cosine distance
        if query in expected_hits:
            assert expected_hits[query] in got, (query, got)
            hits += 1
    return hits


def test_persistent_collection_rebuilds_its_embedding_function_from_disk(
    tmp_path: Path, no_network: list[object]
) -> None:
    corpus = retrieval_corpus()
    queries, expected_hits = retrieval_queries(corpus)
    doc_vectors = StaticModel.default().encode(corpus)
    path = tmp_path / "chroma"

    client = _client(path)
    ef = FastEmbedStaticEmbeddingFunction()
    assert np.array_equal(np.array(ef(corpus)), doc_vectors)  # what Chroma is given
    docs = client.create_collection("peps", embedding_function=ef, configuration={"hnsw": HNSW})
    docs.add(ids=[str(i) for i in range(len(corpus))], documents=corpus)
    stored = docs.get(ids=[str(i) for i in range(len(corpus))], include=["embeddings"])
    assert stored["ids"] == [str(i) for i in range(len(corpus))]
    # A cosine collection L2-normalizes what it stores: these unit vectors again, within float32 rounding.
    np.testing.assert_allclose(np.asarray(stored["embeddings"]), doc_vectors, rtol=0, atol=2e-7)

    result = docs.query(query_texts=queries, n_results=K, include=["distances"])
    assert _check_ranking(result["ids"], result["distances"], queries, doc_vectors) == len(expected_hits) == 10
    assert docs.configuration_json["embedding_function"] == {
        "type": "known",
        "name": "fastembed_static",
        "config": {"model": None, "revision": "main", "normalize": None, "dim": None},
    }
    # Changing what the stored vectors depend on raises; Chroma 1.5.9 has saved the change before it asks, so the
    # error says to modify it back, which works.
    with pytest.raises(ValueError, match="'dim'.*modify it back"):
        docs.modify(configuration={"embedding_function": FastEmbedStaticEmbeddingFunction(dim=64)})
    assert client.get_collection("peps").configuration_json["embedding_function"]["config"]["dim"] == 64
    docs.modify(configuration={"embedding_function": FastEmbedStaticEmbeddingFunction()})
    assert client.get_collection("peps").configuration_json["embedding_function"]["config"]["dim"] is None
    del docs, client
    chromadb.api.client.SharedSystemClient.clear_system_cache()

    run = subprocess.run(
        [sys.executable, "-c", REOPEN, str(path)],
        input=json.dumps(queries),
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **FRAMEWORK_ENV},
        cwd=tmp_path,  # not this source tree: the installed package
    )
    assert run.returncode == 0, run.stderr
    reopened = json.loads(run.stdout)
    assert reopened["ef"] == "fastembed_static.chroma.FastEmbedStaticEmbeddingFunction"
    assert reopened["config"] == {"model": None, "revision": "main", "normalize": None, "dim": None}
    assert reopened["stored"]["name"] == "fastembed_static"
    assert (reopened["space"], reopened["count"]) == ("cosine", len(corpus))
    assert _check_ranking(reopened["ids"], reopened["distances"], queries, doc_vectors) == 10

    # A process that has not imported fastembed_static.chroma cannot rebuild the function (README says so).
    run = subprocess.run(
        [sys.executable, "-c", REOPEN.replace("import fastembed_static.chroma", "pass"), str(path)],
        input=json.dumps(queries[:1]),
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **FRAMEWORK_ENV},
        cwd=tmp_path,
    )
    assert run.returncode != 0 and "Embedding function fastembed_static not found" in run.stderr, run.stderr
    assert no_network == []


def test_config_round_trip_with_a_model_path_and_options(mrl_generated: Path, tmp_path: Path) -> None:
    texts = retrieval_corpus()[:40]
    ef = FastEmbedStaticEmbeddingFunction(mrl_generated, dim=64, normalize=True)
    assert not ef.is_legacy()
    config = ef.get_config()
    assert config == {"model": str(mrl_generated), "revision": "main", "normalize": True, "dim": 64}
    rebuilt = FastEmbedStaticEmbeddingFunction.build_from_config(json.loads(json.dumps(config)))
    expected = StaticModel.from_pretrained(mrl_generated).encode(texts, dim=64, normalize=True)
    assert np.array_equal(np.array(rebuilt(texts)), expected)
    assert np.array_equal(np.array(ef.embed_query(texts[:2])), expected[:2])

    docs = _client(tmp_path / "db").create_collection(
        "mrl", embedding_function=ef, configuration={"hnsw": {"space": "l2"}}
    )
    docs.add(ids=[str(i) for i in range(len(texts))], documents=texts)
    stored = docs.get(ids=[str(i) for i in range(len(texts))], include=["embeddings"])["embeddings"]
    assert np.array_equal(np.asarray(stored), expected)  # an l2 collection stores the vectors as given
    again = _client(tmp_path / "db").get_collection("mrl")
    assert again.configuration["embedding_function"].get_config() == config
    assert again.query(query_texts=[texts[5]], n_results=1)["ids"] == [["5"]]

    with pytest.raises(ValueError, match="unknown"):
        FastEmbedStaticEmbeddingFunction.build_from_config({**config, "device": "cpu"})
    with pytest.raises(ValueError, match="dim"):
        FastEmbedStaticEmbeddingFunction(dim=0)
