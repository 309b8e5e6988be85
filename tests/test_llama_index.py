"""LlamaIndex: FastEmbedStaticEmbedding in llama-index-core's own in-memory VectorStoreIndex, on 400 real PEP
paragraphs (no LLM: retrieval only; no OpenAI default is ever resolved, the embed model is passed explicitly).

The vectors the index stores are StaticModel.encode's (exactly); each retriever's top 5 is the one computed with
numpy from StaticModel.encode vectors (same ids, same order); a query made of a document's own first words finds it;
the async retriever gives the same; the embedding model survives LlamaIndex's to_dict/from_dict. No socket may
connect.
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
pytest.importorskip("llama_index.core", reason="needs the llama-index extra: pip install '.[llama-index]'")

from llama_index.core import Document, VectorStoreIndex  # noqa: E402
from llama_index.core.schema import MetadataMode, TextNode  # noqa: E402

from fastembed_static import StaticModel  # noqa: E402
from fastembed_static.llama_index import FastEmbedStaticEmbedding  # noqa: E402

K = 5


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    return refuse_network(monkeypatch)


def test_vector_store_index_matches_numpy_top_k(no_network: list[object]) -> None:
    corpus = retrieval_corpus()
    queries, expected_hits = retrieval_queries(corpus)
    model = StaticModel.default()
    doc_vectors = model.encode(corpus)

    embed_model = FastEmbedStaticEmbedding()
    nodes = [TextNode(id_=str(i), text=text) for i, text in enumerate(corpus)]
    assert all(node.get_content(metadata_mode=MetadataMode.EMBED) == node.text for node in nodes)
    index = VectorStoreIndex(nodes, embed_model=embed_model)

    stored = np.array([index.vector_store.get(str(i)) for i in range(len(corpus))])
    assert np.array_equal(stored, doc_vectors.astype(np.float64))

    retriever = index.as_retriever(similarity_top_k=K)
    hits = 0
    for query in queries:
        assert np.array_equal(np.array(embed_model.get_query_embedding(query)), model.encode(query).astype(np.float64))
        expected, scores = reference_top_k(doc_vectors, model.encode(query), K, "cosine")
        found = retriever.retrieve(query)
        got = [int(result.node.node_id) for result in found]
        assert_same_ranking(got, expected, scores)
        assert [result.node.get_content() for result in found] == [corpus[i] for i in got]
        np.testing.assert_allclose([result.score for result in found], scores[got], rtol=0, atol=1e-6)
        if query in expected_hits:
            assert expected_hits[query] in got, (query, got)
            hits += 1
    assert hits == len(expected_hits) == 10

    async def retrieve_async() -> list[list[str]]:
        return [[r.node.node_id for r in await retriever.aretrieve(q)] for q in queries[:5]]

    assert asyncio.run(retrieve_async()) == [[r.node.node_id for r in retriever.retrieve(q)] for q in queries[:5]]
    assert no_network == []


def test_from_documents_embeds_the_split_nodes(no_network: list[object]) -> None:
    """The README's path: VectorStoreIndex.from_documents splits with LlamaIndex's default SentenceSplitter (its
    tiktoken tokenizer from the copy llama-index-core ships, offline), then embeds each node's embed-mode content."""
    texts = retrieval_corpus()[:60]
    model = StaticModel.default()
    documents = [Document(text=text, metadata={"pep_paragraph": i}) for i, text in enumerate(texts)]
    index = VectorStoreIndex.from_documents(documents, embed_model=FastEmbedStaticEmbedding())
    nodes = list(index.docstore.docs.values())
    assert len(nodes) == len(texts)  # each paragraph is shorter than one chunk
    embedded = [node.get_content(metadata_mode=MetadataMode.EMBED) for node in nodes]
    assert all(f"pep_paragraph: {node.metadata['pep_paragraph']}" in text for node, text in zip(nodes, embedded))
    stored = np.array([index.vector_store.get(node.node_id) for node in nodes])
    assert np.array_equal(stored, model.encode(embedded).astype(np.float64))
    found = index.as_retriever(similarity_top_k=1).retrieve(texts[17])
    assert found[0].node.metadata["pep_paragraph"] == 17
    assert no_network == []


def test_batches_async_and_serialization() -> None:
    texts = retrieval_corpus()[:30]
    model = StaticModel.default()
    embed_model = FastEmbedStaticEmbedding(dim=128, normalize=False, embed_batch_size=7)
    expected = model.encode(texts, dim=128, normalize=False)
    assert np.array_equal(np.array(embed_model.get_text_embedding_batch(texts), dtype=np.float32), expected)
    assert np.array_equal(np.array(asyncio.run(embed_model.aget_text_embedding_batch(texts)), np.float32), expected)
    assert asyncio.run(embed_model.aget_query_embedding(texts[0])) == embed_model.get_query_embedding(texts[0])

    data = embed_model.to_dict()
    assert data["class_name"] == "FastEmbedStaticEmbedding"
    assert (data["model"], data["dim"], data["normalize"], data["model_name"]) == (
        None,
        128,
        False,
        "fastembed-static default",
    )
    again = FastEmbedStaticEmbedding.from_dict(data)
    assert again.get_text_embedding_batch(texts) == embed_model.get_text_embedding_batch(texts)

    for bad in ({"dim": 0}, {"dim": model.dim + 1}, {"normalize": "yes"}):
        with pytest.raises(ValueError):
            FastEmbedStaticEmbedding(**bad)  # type: ignore[arg-type]
