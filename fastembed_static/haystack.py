"""Haystack: :class:`FastEmbedStaticTextEmbedder` and :class:`FastEmbedStaticDocumentEmbedder` components.

Install ``fastembed-static[haystack]`` (haystack-ai, the Haystack 2.x component API as of haystack-ai 3.x)::

    from haystack import Document, Pipeline
    from haystack.components.retrievers.in_memory import InMemoryEmbeddingRetriever
    from haystack.document_stores.in_memory import InMemoryDocumentStore
    from fastembed_static.haystack import FastEmbedStaticDocumentEmbedder, FastEmbedStaticTextEmbedder

    store = InMemoryDocumentStore()
    docs = [Document(content="Static embeddings are a lookup table."), Document(content="Spark runs on the JVM.")]
    store.write_documents(FastEmbedStaticDocumentEmbedder().run(docs)["documents"])
    search = Pipeline()
    search.add_component("embed", FastEmbedStaticTextEmbedder())
    search.add_component("retrieve", InMemoryEmbeddingRetriever(store, top_k=1))
    search.connect("embed.embedding", "retrieve.query_embedding")
    search.run({"embed": {"text": "what is a static embedding?"}})

They follow Haystack's Sentence Transformers embedders: ``prefix``/``suffix``, ``normalize_embeddings``,
``truncate_dim``, ``batch_size``, ``progress_bar``; the document embedder also ``meta_fields_to_embed`` and
``embedding_separator``. ``warm_up()`` loads the model (``run`` does it if no pipeline did); ``to_dict``/``from_dict``
serialize the init parameters (pipelines saved as YAML rebuild them).
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from fastembed_static._frameworks import check_options, encode_lists, load_model, missing, model_id
from fastembed_static.model import StaticModel

try:
    from haystack import Document, component, default_from_dict, default_to_dict
except ImportError as e:
    raise ImportError(missing("haystack", "haystack-ai", "haystack")) from e

__all__ = ["FastEmbedStaticDocumentEmbedder", "FastEmbedStaticTextEmbedder"]


class _Embedder:
    """The model and the options both components share."""

    def __init__(
        self,
        model: str | os.PathLike[str] | None,
        revision: str,
        prefix: str,
        suffix: str,
        batch_size: int,
        progress_bar: bool,
        normalize_embeddings: bool | None,
        truncate_dim: int | None,
    ) -> None:
        self.model = model_id(model)
        self.revision = revision
        self.prefix = prefix
        self.suffix = suffix
        self.batch_size = batch_size
        self.progress_bar = progress_bar
        self.normalize_embeddings = normalize_embeddings
        self.truncate_dim = truncate_dim
        self._model: StaticModel | None = None

    def warm_up(self) -> None:
        """Load the model (once; later calls do nothing)."""
        if self._model is None:
            model = load_model(self.model, self.revision)
            check_options(model, self.truncate_dim, self.normalize_embeddings)
            self._model = model

    def _loaded(self) -> StaticModel:
        self.warm_up()
        assert self._model is not None
        return self._model

    def _init_parameters(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "revision": self.revision,
            "prefix": self.prefix,
            "suffix": self.suffix,
            "batch_size": self.batch_size,
            "progress_bar": self.progress_bar,
            "normalize_embeddings": self.normalize_embeddings,
            "truncate_dim": self.truncate_dim,
        }


@component
class FastEmbedStaticTextEmbedder(_Embedder):
    """Embed one text (a query): ``run(text=...)`` -> ``{"embedding": list[float]}``.

    ``model``: a hub id ``"owner/name"``, a model directory, or ``None`` for the bundled default model.
    ``prefix``/``suffix`` are added to the text before embedding. ``normalize_embeddings`` (None: the model's own
    setting) and ``truncate_dim`` (keep the first dimensions): as ``normalize`` and ``dim`` of
    :meth:`StaticModel.encode`.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        revision: str = "main",
        prefix: str = "",
        suffix: str = "",
        batch_size: int = 1024,
        progress_bar: bool = False,
        normalize_embeddings: bool | None = None,
        truncate_dim: int | None = None,
    ) -> None:
        # not super(): @component makes a new class, which the zero-argument form does not know
        _Embedder.__init__(
            self, model, revision, prefix, suffix, batch_size, progress_bar, normalize_embeddings, truncate_dim
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = default_to_dict(self, **self._init_parameters())
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FastEmbedStaticTextEmbedder:
        embedder: FastEmbedStaticTextEmbedder = default_from_dict(cls, data)
        return embedder

    @component.output_types(embedding=list[float])
    def run(self, text: str) -> dict[str, Any]:
        if not isinstance(text, str):
            raise TypeError(
                "FastEmbedStaticTextEmbedder expects a string; to embed a list of Documents use "
                "FastEmbedStaticDocumentEmbedder"
            )
        model = self._loaded()
        vector = model.encode(
            self.prefix + text + self.suffix, dim=self.truncate_dim, normalize=self.normalize_embeddings
        )
        return {"embedding": vector.tolist()}


@component
class FastEmbedStaticDocumentEmbedder(_Embedder):
    """Embed documents: ``run(documents=...)`` -> ``{"documents": [...]}``, copies with ``embedding`` set.

    The text embedded is ``prefix + embedding_separator.join(meta values of meta_fields_to_embed + [content]) +
    suffix`` (meta fields missing or None are skipped; a document without content embeds as ""). Other options: as
    :class:`FastEmbedStaticTextEmbedder`.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        revision: str = "main",
        prefix: str = "",
        suffix: str = "",
        batch_size: int = 1024,
        progress_bar: bool = False,
        normalize_embeddings: bool | None = None,
        truncate_dim: int | None = None,
        meta_fields_to_embed: list[str] | None = None,
        embedding_separator: str = "\n",
    ) -> None:
        # not super(): @component makes a new class, which the zero-argument form does not know
        _Embedder.__init__(
            self, model, revision, prefix, suffix, batch_size, progress_bar, normalize_embeddings, truncate_dim
        )
        self.meta_fields_to_embed = list(meta_fields_to_embed or [])
        self.embedding_separator = embedding_separator

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = default_to_dict(
            self,
            **self._init_parameters(),
            meta_fields_to_embed=self.meta_fields_to_embed,
            embedding_separator=self.embedding_separator,
        )
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FastEmbedStaticDocumentEmbedder:
        embedder: FastEmbedStaticDocumentEmbedder = default_from_dict(cls, data)
        return embedder

    def _text(self, document: Document) -> str:
        meta = [str(document.meta[k]) for k in self.meta_fields_to_embed if document.meta.get(k) is not None]
        return self.prefix + self.embedding_separator.join([*meta, document.content or ""]) + self.suffix

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        if not isinstance(documents, list) or not all(isinstance(d, Document) for d in documents):
            raise TypeError(
                "FastEmbedStaticDocumentEmbedder expects a list of Documents; to embed a string use "
                "FastEmbedStaticTextEmbedder"
            )
        model = self._loaded()
        texts = [self._text(d) for d in documents]
        vectors = encode_lists(
            model,
            texts,
            dim=self.truncate_dim,
            normalize=self.normalize_embeddings,
            batch_size=self.batch_size,
            show_progress_bar=self.progress_bar,
        )
        return {"documents": [replace(d, embedding=v) for d, v in zip(documents, vectors)]}
