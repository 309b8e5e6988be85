"""The errors about model files on disk, shared by the generator and the runtime.

They live here, in the generator, because the generator runs at build time (``setup.py``) without the rest of the
package; :mod:`fastembed_static.errors` re-exports them, and users import them from ``fastembed_static``.

- :class:`ModelFileError`: a model folder or file on disk cannot be used; the message names it.
- :class:`GenerationError` (a :class:`ModelFileError`): a model folder cannot be turned into a generated model (not
  a static embedding model, a missing or corrupt file, an unsupported tokenizer, an output that cannot be written).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class ModelFileError(ValueError):
    """A model folder or file on disk is missing, corrupt, inconsistent or unsupported; the message names it
    (``path``) and says what is wrong (``problem``)."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")

    def __reduce__(self) -> tuple[Any, ...]:  # pickled by its two arguments (Ray, Spark, multiprocessing)
        return (type(self), (self.path, self.problem))


class GenerationError(ModelFileError):
    """A model folder cannot be turned into a generated model (``from_pretrained`` on a local folder, ``gen``); the
    message names the file and the problem. ``except ModelFileError`` catches it too."""


class NotStaticModel(GenerationError):
    """The model folder holds a model that is not a static embedding model (e.g. a Transformer)."""
