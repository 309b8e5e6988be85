"""LangChain: :class:`FastEmbedStaticEmbeddings`, a ``langchain_core.embeddings.Embeddings``.

Install ``fastembed-static[langchain]`` (langchain-core)::

    from langchain_core.vectorstores import InMemoryVectorStore
    from fastembed_static.langchain import FastEmbedStaticEmbeddings

    store = InMemoryVectorStore(FastEmbedStaticEmbeddings())  # the bundled model; or a hub id, a path
    store.add_texts(["Static embeddings are a lookup table.", "Spark runs on the JVM."])
    store.similarity_search("what is a static embedding?", k=1)

Documents and queries are embedded alike (a static model has no query prompt). The async methods are LangChain's
defaults: the sync method in an executor thread (the work is CPU-bound numpy, no I/O to wait on).
"""

from __future__ import annotations

import os

from fastembed_static._frameworks import check_options, encode_lists, load_model, missing, model_id

try:
    from langchain_core.embeddings import Embeddings
except ImportError as e:
    raise ImportError(missing("langchain", "langchain-core", "langchain")) from e

__all__ = ["FastEmbedStaticEmbeddings"]


class FastEmbedStaticEmbeddings(Embeddings):
    """Embed texts with a fastembed-static model, loaded once when this object is made.

    ``model``: a hub id ``"owner/name"``, a model directory, or ``None`` for the bundled default model
    (:meth:`StaticModel.from_pretrained` / :meth:`StaticModel.default`); ``revision`` pins a hub revision.
    ``normalize`` and ``dim``: as in :meth:`StaticModel.encode` (``None``: the model's own normalization, all its
    dimensions). ``batch_size``: texts per unit of work in :meth:`embed_documents`.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        revision: str = "main",
        normalize: bool | None = None,
        dim: int | None = None,
        batch_size: int = 1024,
    ) -> None:
        self.model_name = model_id(model)
        self.revision = revision
        self.normalize = normalize
        self.dim = dim
        self.batch_size = batch_size
        self.client = load_model(self.model_name, revision)
        check_options(self.client, dim, normalize)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector (a list of floats) per text, in order."""
        return encode_lists(self.client, texts, dim=self.dim, normalize=self.normalize, batch_size=self.batch_size)

    def embed_query(self, text: str) -> list[float]:
        """The vector of one text."""
        vector: list[float] = self.client.encode(text, dim=self.dim, normalize=self.normalize).tolist()
        return vector
