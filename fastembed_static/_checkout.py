"""Tell when this package is the unbuilt source tree of a clone, imported instead of the installed package.

Python puts the current directory (or the script's) first on ``sys.path``, and so do Ray and Spark for their
workers (the driver's working directory): any Python started in the root of a clone imports ``fastembed_static/``
from the source tree, not the installed package. Unless the clone was built in place (``pip install -e .``), that
tree has no generated default model and no compiled tokenizer. This module says so, plainly, instead of letting
``StaticModel.default()`` fail with a misleading "reinstall" message and the tokenizer run as slow pure Python.

Imported only when the bundled default model is missing (one ``stat`` at cold start otherwise).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def unbuilt_checkout() -> Path | None:
    """The clone's root when this package is a source tree whose default model was not generated, else None."""
    root = PACKAGE.parent
    if (PACKAGE / "_models" / "default" / "model.json").is_file():
        return None
    if not ((root / "setup.py").is_file() and (root / "gen" / "default_model").is_dir()):
        return None
    return root


def shadowed_copy() -> Path | None:
    """Another ``fastembed_static`` later on ``sys.path`` (an installed one) that this source tree hides."""
    for entry in sys.path:
        try:
            candidate = Path(entry or ".").resolve() / "fastembed_static"
            if candidate.resolve() != PACKAGE and (candidate / "__init__.py").is_file():
                return candidate
        except OSError:
            continue
    return None


def explain(root: Path) -> str:
    """What is happening and what to do, in one message."""
    from . import _tokenizer

    missing = "its bundled default model is not generated"
    if Path(_tokenizer.__file__ or "").suffix not in (".so", ".pyd"):
        missing += " and its tokenizer is not compiled"
    installed = shadowed_copy()
    hides = (
        f" It hides the installed package in {installed}: Python (and every Ray or Spark worker) puts the current "
        "directory first on sys.path."
        if installed is not None
        else ""
    )
    return (
        f"fastembed_static was imported from the source checkout {root} ({missing}).{hides} Run from another "
        "directory, or build the checkout in place: `pip install -e .`"
    )


def warn_if_shadowing() -> None:
    """Warn at import when an unbuilt checkout hides an installed copy (the user meant the installed one)."""
    root = unbuilt_checkout()
    if root is not None and shadowed_copy() is not None:
        warnings.warn(explain(root), stacklevel=3)
