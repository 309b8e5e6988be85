"""The build-time generator of fastembed-static.

It reads a static embedding model in the sentence-transformers ``StaticEmbedding`` layout or the model2vec
layout and writes a *generated model*: the vocabulary as a generated, typed Python module, the weights as a raw
little-endian row-major blob that the runtime maps into memory without copying, and ``model.json`` metadata.

In the repository this folder is ``gen/``; installed, it is the subpackage ``fastembed_static.gen``.
"""

from .errors import GenerationError
from .generate import GENERATOR_VERSION, generate

__all__ = ["GENERATOR_VERSION", "GenerationError", "generate"]
