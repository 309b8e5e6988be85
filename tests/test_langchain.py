"""LangChain: FastEmbedStaticEmbeddings in langchain-core's own InMemoryVectorStore, on 400 real PEP paragraphs.

The stored vectors are StaticModel.encode's (float32 values as Python floats, exactly); each query's top 5 is the one
computed with numpy from StaticModel.encode vectors (same ids, same order); a query made of a document's own first
words finds it; the async methods give the same. No socket may connect (a network call fails the test at once).
"""

from __future__ import annotations

import asyncio
import os

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
pytest.importorskip("langchain_core", reason="needs the langchain extra: pip install '.[langchain]'")

from langchain_core.vectorstores import InMemoryVectorStore  # noqa: E402

from fastembed_static import StaticModel  # noqa: E402
from fastembed_static.langchain import FastEmbedStaticEmbeddings  # noqa: E402

K = 5


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    return refuse_network(monkeypatch)


def test_in_memory_vector_store_matches_numpy_top_k(no_network: list[object]) -> None:
    corpus = retrieval_corpus()
    queries, expected_hits = retrieval_queries(corpus)
    model = StaticModel.default()
    doc_vectors = model.encode(corpus)

    embeddings = FastEmbedStaticEmbeddings()
    store = InMemoryVectorStore(embeddings)
    ids = store.add_texts(corpus, ids=[str(i) for i in range(len(corpus))])
    assert ids == [str(i) for i in range(len(corpus))]

    stored = np.array([store.store[str(i)]["vector"] for i in range(len(corpus))])
    assert stored.dtype == np.float64 and np.array_equal(stored, doc_vectors.astype(np.float64))
    assert all(type(x) is float for x in store.store["0"]["vector"])

    hits = 0
    for query in queries:
        query_vector = embeddings.embed_query(query)
        assert np.array_equal(np.array(query_vector), model.encode(query).astype(np.float64))
        expected, scores = reference_top_k(doc_vectors, model.encode(query), K, "cosine")
        found = store.similarity_search_with_score(query, k=K)
        got = [int(doc.id) for doc, _ in found]
        assert_same_ranking(got, expected, scores)
        assert [doc.page_content for doc, _ in found] == [corpus[i] for i in got]
        np.testing.assert_allclose([score for _, score in found], scores[got], rtol=0, atol=1e-6)
        if query in expected_hits:
            assert expected_hits[query] in got, (query, got)
            hits += 1
    assert hits == len(expected_hits) == 10
    assert no_network == []


def test_async_methods_give_the_same_vectors_and_results() -> None:
    corpus = retrieval_corpus()[:50]
    embeddings = FastEmbedStaticEmbeddings()
    assert asyncio.run(embeddings.aembed_documents(corpus)) == embeddings.embed_documents(corpus)
    assert asyncio.run(embeddings.aembed_query(corpus[3])) == embeddings.embed_query(corpus[3])

    store = InMemoryVectorStore(embeddings)

    async def index_and_search() -> list[str | None]:
        await store.aadd_texts(corpus, ids=[str(i) for i in range(len(corpus))])
        return [doc.id for doc in await store.asimilarity_search(corpus[7], k=3)]

    found = asyncio.run(index_and_search())
    assert found == [doc.id for doc in store.similarity_search(corpus[7], k=3)]
    assert found[0] == "7"


def test_options_dim_and_normalize() -> None:
    texts = retrieval_corpus()[:20]
    model = StaticModel.default()
    embeddings = FastEmbedStaticEmbeddings(None, dim=64, normalize=False)
    assert np.array_equal(
        np.array(embeddings.embed_documents(texts), dtype=np.float32), model.encode(texts, dim=64, normalize=False)
    )
    assert len(embeddings.embed_query("x")) == 64
    assert embeddings.embed_documents([]) == []
    for bad in ({"dim": 0}, {"dim": model.dim + 1}, {"dim": True}, {"normalize": "yes"}):
        with pytest.raises(ValueError):
            FastEmbedStaticEmbeddings(**bad)  # type: ignore[arg-type]
