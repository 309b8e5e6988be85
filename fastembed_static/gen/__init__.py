"""The generator of fastembed-static (like a Rust ``build.rs``: it runs when the package is built, and at run time
for model folders that were not generated yet).

It reads a static embedding model in the sentence-transformers ``StaticEmbedding`` layout or the model2vec
layout and writes a *generated model*: the vocabulary as a generated, typed Python module, the weights as a raw
little-endian row-major blob that the runtime maps into memory without copying, and ``model.json`` metadata
(:mod:`fastembed_static.gen.layout` says what is where).

``generate`` is imported on first use, so that the runtime can read :mod:`.layout` at cold start without loading
the generator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import GenerationError
from .layout import GENERATOR_VERSION

if TYPE_CHECKING:
    from .generator import generate

__all__ = ["GENERATOR_VERSION", "GenerationError", "generate"]


def __getattr__(name: str) -> Any:
    if name == "generate":
        from .generator import generate

        globals()["generate"] = generate  # looked up once
        return generate
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
