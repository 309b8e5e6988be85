"""fastembed-static: static text embeddings (token lookup + mean pooling), fast, with numpy only.

>>> from fastembed_static import StaticModel
>>> model = StaticModel.default()
>>> model.encode(["a text", "another"]).shape
(2, 256)
"""

from __future__ import annotations

from pathlib import Path

from . import _tokenizer
from .errors import (
    AuthError,
    CacheWriteError,
    EntryNotFoundError,
    GenerationError,
    HubConnectionError,
    HubError,
    IntegrityError,
    InvalidModelError,
    ModelFileError,
    NotFoundError,
    NotStaticModelError,
    OfflineError,
    RepoNotFoundError,
    RevisionNotFoundError,
)
from .model import StaticModel
from .quantization import quantize_embeddings
from .search import (
    cos_sim,
    dot_score,
    euclidean_sim,
    hamming_distance,
    hamming_search,
    manhattan_sim,
    pairwise_cos_sim,
    pairwise_dot_score,
    pairwise_euclidean_sim,
    pairwise_manhattan_sim,
    semantic_search,
    similarity,
    similarity_pairwise,
)

__version__ = "0.1.0"
COMPILED: bool = Path(_tokenizer.__file__ or "").suffix in (".so", ".pyd")
"""True when the tokenizer core runs as native code compiled by mypyc, False for the pure-Python fallback."""
if not (Path(__file__).parent / "_models" / "default" / "model.json").is_file():  # a clone's unbuilt source tree?
    from ._checkout import warn_if_shadowing

    warn_if_shadowing()

__all__ = [
    "COMPILED",
    "AuthError",
    "CacheWriteError",
    "EntryNotFoundError",
    "GenerationError",
    "HubConnectionError",
    "HubError",
    "IntegrityError",
    "InvalidModelError",
    "ModelFileError",
    "NotFoundError",
    "NotStaticModelError",
    "OfflineError",
    "RepoNotFoundError",
    "RevisionNotFoundError",
    "StaticModel",
    "__version__",
    "cos_sim",
    "dot_score",
    "euclidean_sim",
    "hamming_distance",
    "hamming_search",
    "manhattan_sim",
    "pairwise_cos_sim",
    "pairwise_dot_score",
    "pairwise_euclidean_sim",
    "pairwise_manhattan_sim",
    "quantize_embeddings",
    "semantic_search",
    "similarity",
    "similarity_pairwise",
]
