"""Haystack: FastEmbedStaticDocumentEmbedder -> DocumentWriter into an InMemoryDocumentStore (an indexing Pipeline),
then FastEmbedStaticTextEmbedder -> InMemoryEmbeddingRetriever (a query Pipeline), on 400 real PEP paragraphs.

The embeddings the store holds are StaticModel.encode's (exactly); each query's top 5 is the one computed with numpy
(dot product, the store's default) from StaticModel.encode vectors (same ids, same order); a query made of a
document's own first words finds it; the query pipeline saved with Pipeline.dumps and loaded back (to_dict /
from_dict of the components) answers the same; meta fields, prefix and suffix are embedded as documented. Telemetry
is off and no socket may connect.
"""

from __future__ import annotations

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
pytest.importorskip("haystack", reason="needs the haystack extra: pip install '.[haystack]'")

from haystack import Document, Pipeline  # noqa: E402
from haystack.components.retrievers.in_memory import InMemoryEmbeddingRetriever  # noqa: E402
from haystack.components.writers import DocumentWriter  # noqa: E402
from haystack.document_stores.in_memory import InMemoryDocumentStore  # noqa: E402

from fastembed_static import StaticModel  # noqa: E402
from fastembed_static.haystack import FastEmbedStaticDocumentEmbedder, FastEmbedStaticTextEmbedder  # noqa: E402

K = 5


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    return refuse_network(monkeypatch)


def _query_pipeline(store: InMemoryDocumentStore) -> Pipeline:
    search = Pipeline()
    search.add_component("embed", FastEmbedStaticTextEmbedder())
    search.add_component("retrieve", InMemoryEmbeddingRetriever(store, top_k=K))
    search.connect("embed.embedding", "retrieve.query_embedding")
    return search


def test_pipelines_match_numpy_top_k(no_network: list[object]) -> None:
    corpus = retrieval_corpus()
    queries, expected_hits = retrieval_queries(corpus)
    model = StaticModel.default()
    doc_vectors = model.encode(corpus)

    store = InMemoryDocumentStore()
    index = Pipeline()
    index.add_component("embed", FastEmbedStaticDocumentEmbedder())
    index.add_component("write", DocumentWriter(store))
    index.connect("embed.documents", "write.documents")
    documents = [Document(id=str(i), content=text) for i, text in enumerate(corpus)]
    assert index.run({"embed": {"documents": documents}})["write"]["documents_written"] == len(corpus)
    assert all(d.embedding is None for d in documents)  # the inputs are not modified

    stored = {d.id: d.embedding for d in store.filter_documents()}
    assert np.array_equal(np.array([stored[str(i)] for i in range(len(corpus))]), doc_vectors.astype(np.float64))

    search = _query_pipeline(store)
    # Haystack 3 loads components only from modules the caller allows.
    reloaded = Pipeline.loads(search.dumps(), allowed_modules=["fastembed_static.haystack"])
    text_embedder = FastEmbedStaticTextEmbedder()
    hits = 0
    for query in queries:
        embedding = text_embedder.run(text=query)["embedding"]
        assert np.array_equal(np.array(embedding), model.encode(query).astype(np.float64))
        expected, scores = reference_top_k(doc_vectors, model.encode(query), K, "dot")
        found = search.run({"embed": {"text": query}})["retrieve"]["documents"]
        got = [int(d.id) for d in found]
        assert_same_ranking(got, expected, scores)
        assert [d.content for d in found] == [corpus[i] for i in got]
        np.testing.assert_allclose([d.score for d in found], scores[got], rtol=0, atol=1e-6)
        assert [d.id for d in reloaded.run({"embed": {"text": query}})["retrieve"]["documents"]] == [
            d.id for d in found
        ]
        if query in expected_hits:
            assert expected_hits[query] in got, (query, got)
            hits += 1
    assert hits == len(expected_hits) == 10
    assert no_network == []


def test_meta_fields_prefix_suffix_and_serialization() -> None:
    texts = retrieval_corpus()[:10]
    model = StaticModel.default()
    documents = [
        Document(content=text, meta={"title": f"PEP paragraph {i}", "year": 2000 + i if i % 2 else None})
        for i, text in enumerate(texts)
    ]
    embedder = FastEmbedStaticDocumentEmbedder(
        prefix="passage: ",
        suffix=" (end)",
        meta_fields_to_embed=["title", "year", "absent"],
        embedding_separator=" | ",
        truncate_dim=32,
        normalize_embeddings=False,
    )
    embedder.warm_up()
    out = embedder.run(documents=documents)["documents"]
    expected_texts = [
        "passage: " + " | ".join([f"PEP paragraph {i}", *([str(2000 + i)] if i % 2 else []), text]) + " (end)"
        for i, text in enumerate(texts)
    ]
    expected = model.encode(expected_texts, dim=32, normalize=False)
    assert np.array_equal(np.array([d.embedding for d in out], dtype=np.float32), expected)
    assert [d.id for d in out] == [d.id for d in documents] and [d.meta for d in out] == [d.meta for d in documents]

    data = embedder.to_dict()
    assert data["type"] == "fastembed_static.haystack.FastEmbedStaticDocumentEmbedder"
    again = FastEmbedStaticDocumentEmbedder.from_dict(data)
    assert [d.embedding for d in again.run(documents=documents)["documents"]] == [d.embedding for d in out]

    text_embedder = FastEmbedStaticTextEmbedder(prefix="query: ", truncate_dim=32)
    assert FastEmbedStaticTextEmbedder.from_dict(text_embedder.to_dict()).to_dict() == text_embedder.to_dict()
    assert np.array_equal(
        np.array(text_embedder.run(text="pickle")["embedding"], dtype=np.float32), model.encode("query: pickle", dim=32)
    )
    with pytest.raises(TypeError, match="Documents"):
        text_embedder.run(text=documents)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="string"):
        embedder.run(documents="text")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dim"):
        FastEmbedStaticTextEmbedder(truncate_dim=0).warm_up()
