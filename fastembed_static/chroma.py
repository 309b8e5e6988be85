"""Chroma: :class:`FastEmbedStaticEmbeddingFunction`, a ``chromadb`` embedding function that a collection persists.

Install ``fastembed-static[chroma]`` (chromadb)::

    import chromadb
    from fastembed_static.chroma import FastEmbedStaticEmbeddingFunction

    client = chromadb.PersistentClient(path="db")
    docs = client.get_or_create_collection("docs", embedding_function=FastEmbedStaticEmbeddingFunction())
    docs.add(ids=["1", "2"], documents=["Static embeddings are a lookup table.", "Spark runs on the JVM."])
    docs.query(query_texts=["what is a static embedding?"], n_results=1)

Importing this module registers the class with Chroma under :meth:`~FastEmbedStaticEmbeddingFunction.name`
(``"fastembed_static"``). A collection stores that name and :meth:`~FastEmbedStaticEmbeddingFunction.get_config`;
a client that opens it later (``client.get_collection("docs")``, in another process) rebuilds the function from them,
provided it has imported ``fastembed_static.chroma`` first. Changing the model, ``dim`` or ``normalize`` of an
existing collection (``collection.modify(configuration=...)``) raises ``ValueError``: its stored vectors would no
longer match its queries. Chroma (1.5.9) asks only after it has saved the change, so the error says to modify it back.

Chroma rebuilds the function from the stored config on every ``add`` and ``query`` of a reopened collection, so the
loaded models are kept per process (keyed by model and revision), as Chroma's own sentence-transformers function
does.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from fastembed_static._frameworks import check_options, load_model, missing, model_id
from fastembed_static.model import StaticModel

try:
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
    from chromadb.utils.embedding_functions import register_embedding_function
except ImportError as e:
    raise ImportError(missing("chroma", "chromadb", "chroma")) from e

__all__ = ["FastEmbedStaticEmbeddingFunction"]

_CONFIG_KEYS = {"model", "revision", "normalize", "dim"}
_FIXED_KEYS = ("model", "revision", "normalize", "dim")  # what the stored vectors depend on


class FastEmbedStaticEmbeddingFunction(EmbeddingFunction[Documents]):
    """Embed documents and query texts with a fastembed-static model (float32 vectors, one per text).

    ``model``: a hub id ``"owner/name"``, a model directory (stored as given: the reopening process must see the same
    path), or ``None`` for the bundled default model; ``revision`` pins a hub revision. ``normalize`` and ``dim``: as
    in :meth:`StaticModel.encode`. All four are the persisted config.
    """

    _models: ClassVar[dict[tuple[str | None, str], StaticModel]] = {}

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        revision: str = "main",
        normalize: bool | None = None,
        dim: int | None = None,
    ) -> None:
        self.model = model_id(model)
        self.revision = revision
        self.normalize = normalize
        self.dim = dim
        key = (self.model, revision)
        loaded = self._models.get(key)
        if loaded is None:
            loaded = self._models[key] = load_model(self.model, revision)
        self._model = loaded
        check_options(loaded, dim, normalize)

    def __call__(self, input: Documents) -> Embeddings:
        vectors = self._model.encode(list(input), dim=self.dim, normalize=self.normalize)
        return list(vectors)

    @staticmethod
    def name() -> str:
        return "fastembed_static"

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "l2", "ip"]

    def get_config(self) -> dict[str, Any]:
        return {"model": self.model, "revision": self.revision, "normalize": self.normalize, "dim": self.dim}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> FastEmbedStaticEmbeddingFunction:
        FastEmbedStaticEmbeddingFunction.validate_config(config)
        return FastEmbedStaticEmbeddingFunction(
            config.get("model"),
            revision=config.get("revision", "main"),
            normalize=config.get("normalize"),
            dim=config.get("dim"),
        )

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        unknown = set(config) - _CONFIG_KEYS
        if unknown:
            raise ValueError(f"unknown fastembed_static config keys {sorted(unknown)}; known: {sorted(_CONFIG_KEYS)}")
        model, revision = config.get("model"), config.get("revision", "main")
        if model is not None and not isinstance(model, str):
            raise ValueError(f"config 'model' must be a string or null, got {model!r}")
        if not isinstance(revision, str):
            raise ValueError(f"config 'revision' must be a string, got {revision!r}")

    def validate_config_update(self, old_config: dict[str, Any], new_config: dict[str, Any]) -> None:
        for key in _FIXED_KEYS:
            if key in new_config and new_config[key] != old_config.get(key):
                raise ValueError(
                    f"{key!r} of a collection's fastembed_static embedding function changed ({old_config.get(key)!r} "
                    f"-> {new_config[key]!r}): the vectors stored before would not match new ones. Chroma saves a "
                    "modified configuration before it asks this check (chromadb 1.5.9): modify it back, or re-embed "
                    "the collection into a new one"
                )


register_embedding_function(FastEmbedStaticEmbeddingFunction)  # type: ignore[no-untyped-call, unused-ignore]
