"""Find the files of a static embedding model in either supported layout.

- sentence-transformers: ``modules.json`` whose first module is a ``StaticEmbedding`` (its ``path``, possibly the
  root, holds ``tokenizer.json`` and ``model.safetensors`` with tensor ``embedding.weight``), optionally followed
  by ``Normalize``.
- model2vec: ``config.json`` (``normalize`` flag), ``tokenizer.json``, ``model.safetensors`` with ``embeddings``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import GenerationError, NotStaticModel

STATIC_EMBEDDING_TYPES = frozenset(
    {
        "sentence_transformers.models.StaticEmbedding",
        "sentence_transformers.sentence_transformer.modules.static_embedding.StaticEmbedding",
        "sentence_transformers.sentence_transformer.modules.StaticEmbedding",
    }
)


@dataclass(frozen=True)
class ModelSource:
    layout: str  # "sentence-transformers" or "model2vec"
    root: Path
    tokenizer: Path
    weights: Path
    config: Path  # modules.json or config.json
    normalize: bool

    @property
    def files(self) -> list[Path]:
        return [self.config, self.tokenizer, self.weights]


def find_source(root: Path) -> ModelSource:
    if not root.is_dir():
        raise GenerationError(root, "model directory does not exist" if not root.exists() else "not a directory")
    modules = root / "modules.json"
    if modules.is_file():
        return _sentence_transformers(root, modules)
    config = root / "config.json"
    if config.is_file():
        return _model2vec(root, config)
    raise GenerationError(
        root,
        "not a static embedding model: no modules.json (sentence-transformers layout) and no config.json"
        " (model2vec layout)",
    )


def _sentence_transformers(root: Path, modules_path: Path) -> ModelSource:
    modules = _load_json(modules_path)
    folder = root.joinpath(static_module_folder(modules, modules_path))
    normalize = False
    for module in modules[1:]:
        kind = str(module.get("type", ""))
        if kind.rsplit(".", 1)[-1] == "Normalize":
            normalize = True
        else:
            raise GenerationError(
                modules_path, f"unsupported module after StaticEmbedding: {kind!r} (only Normalize is supported)"
            )
    tokenizer = folder / "tokenizer.json"
    weights = folder / "model.safetensors"
    _require(tokenizer, weights)
    return ModelSource("sentence-transformers", root, tokenizer, weights, modules_path, normalize)


def static_module_folder(modules: Any, modules_path: Path | str) -> str:
    """The folder ("" or "sub/", "/"-separated) of the StaticEmbedding module in a parsed ``modules.json``.

    Raises :class:`NotStaticModel` when the first module is not a StaticEmbedding, and :class:`GenerationError` when
    the list is malformed or the module's path leaves the model folder (absolute, ``..``, backslashes).
    """
    if not isinstance(modules, list) or not modules or not all(isinstance(m, dict) for m in modules):
        raise GenerationError(modules_path, "expected a non-empty JSON list of module objects")
    first = modules[0]
    kind = first.get("type")
    if kind not in STATIC_EMBEDDING_TYPES:
        raise NotStaticModel(
            modules_path,
            f"not a static embedding model: the first module is {kind!r}, not a StaticEmbedding. fastembed-static"
            " runs only static embedding models (sentence-transformers StaticEmbedding, model2vec)",
        )
    raw = first.get("path") or ""
    if not isinstance(raw, str):
        raise GenerationError(modules_path, f"the StaticEmbedding module's path is {raw!r}, not a string")
    path = raw.strip().strip("/")
    while path.startswith("./"):
        path = path[2:]
    if path in ("", "."):
        return ""
    parts = PurePosixPath(path).parts
    if "\\" in path or any(p in ("..", ".") for p in parts) or PurePosixPath(path).is_absolute():
        raise GenerationError(modules_path, f"the StaticEmbedding module's path {raw!r} is not a subfolder")
    return "/".join(parts) + "/"


def _model2vec(root: Path, config_path: Path) -> ModelSource:
    config = _load_json(config_path)
    if not isinstance(config, dict):
        raise GenerationError(config_path, "expected a JSON object")
    normalize = config.get("normalize", False)
    if not isinstance(normalize, bool):
        raise GenerationError(config_path, f"'normalize' must be true or false, not {normalize!r}")
    tokenizer = root / "tokenizer.json"
    weights = root / "model.safetensors"
    _require(tokenizer, weights)
    return ModelSource("model2vec", root, tokenizer, weights, config_path, normalize)


def _require(*paths: Path) -> None:
    for path in paths:
        if not path.is_file():
            raise GenerationError(path, "file is missing")


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise GenerationError(path, f"invalid JSON: {e}") from e
    except (OSError, UnicodeDecodeError) as e:
        raise GenerationError(path, f"cannot read: {e}") from e
