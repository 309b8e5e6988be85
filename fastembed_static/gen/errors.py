"""The one error type of the generator."""

from __future__ import annotations

from pathlib import Path


class GenerationError(ValueError):
    """A model directory cannot be turned into a generated model; the message names the file and the problem."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class NotStaticModel(GenerationError):
    """The model folder holds a model that is not a static embedding model (e.g. a Transformer)."""
