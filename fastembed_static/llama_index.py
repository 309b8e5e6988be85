"""LlamaIndex: :class:`FastEmbedStaticEmbedding`, a ``llama_index.core.embeddings.BaseEmbedding``.

Install ``fastembed-static[llama-index]`` (llama-index-core)::

    from llama_index.core import Document, VectorStoreIndex
    from fastembed_static.llama_index import FastEmbedStaticEmbedding

    embed_model = FastEmbedStaticEmbedding()  # the bundled model; or a hub id, a path
    index = VectorStoreIndex.from_documents([Document(text="Static embeddings are a lookup table.")],
                                            embed_model=embed_model)
    index.as_retriever(similarity_top_k=1).retrieve("what is a static embedding?")

(or ``Settings.embed_model = FastEmbedStaticEmbedding()`` for every index.) Queries and texts are embedded alike (a
static model has no query prompt). The async methods compute on the calling thread: one batch is CPU-bound numpy
with nothing to wait on.
"""

from __future__ import annotations

import os
from typing import Any

from fastembed_static._frameworks import check_options, encode_lists, load_model, missing, model_id
from fastembed_static.model import StaticModel

try:
    from llama_index.core.bridge.pydantic import Field, PrivateAttr
    from llama_index.core.embeddings import BaseEmbedding
except ImportError as e:
    raise ImportError(missing("llama_index", "llama-index-core", "llama-index")) from e

__all__ = ["FastEmbedStaticEmbedding"]

DEFAULT_NAME = "fastembed-static default"
"""``model_name`` (LlamaIndex's display name of the model) when ``model`` is None: the bundled default model."""


class FastEmbedStaticEmbedding(BaseEmbedding):
    """Embed texts with a fastembed-static model, loaded once when this object is made.

    ``model``: a hub id ``"owner/name"``, a model directory, or ``None`` for the bundled default model;
    ``revision`` pins a hub revision. ``normalize`` and ``dim``: as in :meth:`StaticModel.encode`.
    ``embed_batch_size``: texts per call LlamaIndex makes (default 1024: an in-process call costs little).
    The pydantic fields serialize (``to_dict``/``from_dict``); the loaded model is a private attribute.
    """

    model: str | None = Field(default=None, description="Hub id, model directory, or None: the bundled model.")
    revision: str = Field(default="main", description="Hub branch, tag or commit.")
    normalize: bool | None = Field(default=None, description="L2-normalize; None: the model's own setting.")
    dim: int | None = Field(default=None, gt=0, description="Keep the first dim dimensions (Matryoshka).")

    _model: StaticModel = PrivateAttr()

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        revision: str = "main",
        normalize: bool | None = None,
        dim: int | None = None,
        embed_batch_size: int = 1024,
        **kwargs: Any,
    ) -> None:
        name = model_id(model)
        kwargs.setdefault("model_name", DEFAULT_NAME if name is None else name)
        # a dict: mypy types BaseEmbedding's __init__ from its own fields only (it knows no pydantic plugin here)
        fields: dict[str, Any] = {"model": name, "revision": revision, "normalize": normalize, "dim": dim}
        super().__init__(embed_batch_size=embed_batch_size, **fields, **kwargs)
        self._model = load_model(name, revision)
        check_options(self._model, dim, normalize)

    @classmethod
    def class_name(cls) -> str:
        return "FastEmbedStaticEmbedding"

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._get_text_embedding(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_text_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        vector: list[float] = self._model.encode(text, dim=self.dim, normalize=self.normalize).tolist()
        return vector

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embedding(text)

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return encode_lists(self._model, texts, dim=self.dim, normalize=self.normalize)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._get_text_embeddings(texts)
