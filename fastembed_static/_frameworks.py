"""What the framework adapters (langchain.py, llama_index.py, chroma.py, haystack.py) share: the ImportError that
names the pip extra, the model loader, the option checks, and encoding to the plain lists frameworks store.

Each adapter imports its framework at the top of its own module, so ``import fastembed_static`` imports none of
them; importing an adapter without its framework raises the ImportError built by :func:`missing`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from fastembed_static.arrow import load_model
from fastembed_static.model import StaticModel

__all__ = ["check_options", "encode_lists", "load_model", "missing", "model_id"]


def missing(adapter: str, package: str, extra: str) -> str:
    """The message of the ImportError raised when ``fastembed_static.<adapter>`` is imported without ``package``."""
    return (
        f"fastembed_static.{adapter} needs {package}: pip install 'fastembed-static[{extra}]' "
        f"(from a clone of the repository: pip install '.[{extra}]')"
    )


def model_id(model: str | os.PathLike[str] | None) -> str | None:
    """What the adapters store and serialize: ``None`` (the bundled default model), a hub id or a path, as str."""
    if model is None or isinstance(model, str):
        return model
    if isinstance(model, os.PathLike):
        return os.fspath(model)
    raise TypeError(f"model must be a hub id, a path or None (the bundled default model), not {type(model).__name__}")


def check_options(model: StaticModel, dim: object, normalize: object) -> None:
    """Refuse bad ``dim``/``normalize`` when the adapter is made, not at its first text."""
    if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int) or not 1 <= dim <= model.dim):
        raise ValueError(f"dim must be None or an int from 1 to the model's {model.dim}, got {dim!r}")
    if normalize is not None and not isinstance(normalize, bool):
        raise ValueError(f"normalize must be True, False or None (the model's own setting), got {normalize!r}")


def encode_lists(
    model: StaticModel,
    texts: Sequence[str],
    *,
    dim: int | None,
    normalize: bool | None,
    batch_size: int = 1024,
    show_progress_bar: bool = False,
) -> list[list[float]]:
    """``model.encode(texts)`` as lists of Python floats (each float32 value converted exactly)."""
    vectors = model.encode(
        list(texts), dim=dim, normalize=normalize, batch_size=batch_size, show_progress_bar=show_progress_bar
    )
    rows: list[list[float]] = vectors.tolist()
    return rows
