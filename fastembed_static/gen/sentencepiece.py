"""The ``tokenizer.json`` parts SentencePiece-style tokenizers share, read for both Unigram (:mod:`.unigram_spec`) and
BPE (:mod:`.bpe_spec`): the ``Metaspace`` pre-tokenizer's settings and the ``Replace`` / ``Prepend`` normalizer steps,
written to model.json as the runtime builds them (``_tokenizer_builder._normalizer_step``). Standard library and
:mod:`.errors` only: the generator runs as a package of its own, without the runtime beside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import GenerationError

REGEX_PATTERNS = frozenset({" {2,}"})  # Replace regexes whose Python re meaning is the same as Oniguruma's


def metaspace_settings(path: Path, metaspace: dict[str, Any], schemes: tuple[str, ...]) -> dict[str, Any]:
    """``replacement``, ``prepend_scheme`` (one of ``schemes``; the legacy ``add_prefix_space`` read as always /
    never) and ``split`` of a ``Metaspace`` pre-tokenizer, with tokenizers' defaults (shared with BPE)."""
    replacement = metaspace.get("replacement", "\u2581")
    if not isinstance(replacement, str) or len(replacement) != 1 or replacement == " ":
        raise GenerationError(path, f"unsupported Metaspace replacement {replacement!r}")
    scheme = metaspace.get("prepend_scheme")
    if scheme is None:
        legacy = metaspace.get("add_prefix_space", True)
        if not isinstance(legacy, bool):
            raise GenerationError(path, f"Metaspace add_prefix_space must be true or false, not {legacy!r}")
        scheme = "always" if legacy else "never"
    if scheme not in schemes:
        raise GenerationError(
            path, f"unsupported Metaspace prepend_scheme {scheme!r} (reproduced here: {', '.join(schemes)})"
        )
    split = metaspace.get("split", True)
    if not isinstance(split, bool):
        raise GenerationError(path, f"Metaspace split must be true or false, not {split!r}")
    return {"replacement": replacement, "prepend_scheme": scheme, "split": split}


def replace_step(path: Path, part: dict[str, Any], where: str) -> dict[str, Any]:
    """A ``Replace`` normalizer as model.json's step: a literal string, or one of :data:`REGEX_PATTERNS`."""
    pattern, content = part.get("pattern"), part.get("content")
    if not isinstance(pattern, dict) or not isinstance(content, str):
        raise GenerationError(path, f"unsupported Replace normalizer {part!r}")
    if isinstance(pattern.get("String"), str) and pattern["String"]:
        return {"type": "Replace", "pattern": pattern["String"], "regex": False, "content": content}
    if pattern.get("Regex") in REGEX_PATTERNS:
        return {"type": "Replace", "pattern": pattern["Regex"], "regex": True, "content": content}
    raise GenerationError(
        path,
        f"unsupported Replace pattern {pattern!r}{where} (only literal strings and"
        f" the regexes {sorted(REGEX_PATTERNS)} are reproduced)",
    )


def prepend_step(path: Path, part: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(part.get("prepend"), str):
        raise GenerationError(path, f"unsupported Prepend normalizer {part!r}")
    return {"type": "Prepend", "prepend": part["prepend"]}
