"""Errors that users of fastembed-static can catch."""

from __future__ import annotations

from pathlib import Path


class ModelFileError(ValueError):
    """A generated model on disk is missing, corrupt or inconsistent; the message names the file."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")
