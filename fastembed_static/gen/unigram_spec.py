"""Read a ``tokenizer.json`` whose model is ``Unigram`` (SentencePiece: XLM-R, bge-m3, multilingual-e5, mBART,
T5, ALBERT ...) and keep what the runtime needs, refusing by name what it does not reproduce.

Supported: normalizer ``Precompiled`` (the charsmap is walked here into a ``{key: replacement}`` table stored in
model.json), ``Replace`` (a literal string, or the regex ``" {2,}"``), ``Strip``, ``Prepend``, the Unicode
normalizers ``NFC``, ``NFD``, ``NFKC``, ``NFKD``, ``StripAccents``, ``Lowercase`` and ``Nmt`` (written by name,
reproduced by ``_unicode_forms``), a ``Sequence`` of these in any order, or none; pre-tokenizer ``Metaspace`` (``prepend_scheme`` first, always or never, or the legacy
``add_prefix_space``; ``split`` true or false), alone or after ``WhitespaceSplit`` in a ``Sequence``; model
``Unigram`` (vocab with scores, ``unk_id``, ``byte_fallback``); added tokens matched in the raw text, with
``lstrip``/``rstrip``.
"""

from __future__ import annotations

import base64
import binascii
import math
from pathlib import Path
from typing import Any

from .._precompiled import CharsmapError, mapping
from .._unicode_forms import NAMED_STEPS
from .errors import GenerationError
from .sentencepiece import metaspace_settings, prepend_step, replace_step

FIRST_TRACKS = ("Precompiled", "Replace", "Strip", "Prepend")  # the steps whose offsets the runtime replays


def read_unigram(path: Path, data: dict[str, Any], model: dict[str, Any]) -> dict[str, Any]:
    """(tokens, scores, tokenizer config for model.json) of a Unigram tokenizer.json, as a dict."""
    vocab = model.get("vocab")
    if not isinstance(vocab, list) or not vocab:
        raise GenerationError(path, "Unigram model.vocab is missing or empty")
    tokens: list[str] = []
    scores: list[float] = []
    for i, entry in enumerate(vocab):
        if (
            not isinstance(entry, list)
            or len(entry) != 2
            or not isinstance(entry[0], str)
            or isinstance(entry[1], bool)
            or not isinstance(entry[1], (int, float))
            or not math.isfinite(entry[1])
        ):
            raise GenerationError(path, f"Unigram vocab entry {i} must be [token, finite score], found {entry!r}")
        tokens.append(entry[0])
        scores.append(float(entry[1]))
    unk_id = model.get("unk_id")
    if not isinstance(unk_id, int) or isinstance(unk_id, bool) or not 0 <= unk_id < len(tokens):
        raise GenerationError(
            path, f"Unigram unk_id {unk_id!r} is not a vocabulary id (a model without unk_id is not supported)"
        )
    byte_fallback = model.get("byte_fallback", False)
    if not isinstance(byte_fallback, bool):
        raise GenerationError(path, f"Unigram byte_fallback must be true or false, not {byte_fallback!r}")
    steps, charsmap = _normalizers(path, data.get("normalizer"))
    pre = _pre_tokenizer(path, data.get("pre_tokenizer"))
    untracked = [step["type"] for step in steps if step["type"] not in FIRST_TRACKS]
    if pre["prepend_scheme"] == "first" and untracked:
        # The first pre-token is the one at offset 0 of the original text: the runtime replays these steps'
        # offsets (_origin.py) to find it; a step it does not replay is refused rather than guessed.
        raise GenerationError(
            path, f"unsupported: Metaspace prepend_scheme first after the normalizer {untracked[0]!r}"
        )
    return {
        "tokens": tokens,
        "scores": scores,
        "config": {
            "model": "Unigram",
            "unk_token": tokens[unk_id],
            "unk_id": unk_id,
            "byte_fallback": byte_fallback,
            "normalizers": steps,
            "charsmap": charsmap,
            **pre,
        },
    }


def _normalizers(path: Path, normalizer: Any) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
    if normalizer is None:
        return [], None
    if not isinstance(normalizer, dict):
        raise GenerationError(path, f"unsupported normalizer {normalizer!r}")
    parts = normalizer.get("normalizers") if normalizer.get("type") == "Sequence" else [normalizer]
    if not isinstance(parts, list):
        raise GenerationError(path, "normalizer Sequence without a normalizers list")
    where = " in a Sequence" if normalizer.get("type") == "Sequence" else ""
    steps: list[dict[str, Any]] = []
    charsmap: dict[str, str] | None = None
    for part in parts:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "Precompiled":
            if charsmap is not None:
                raise GenerationError(path, "two Precompiled normalizers are not supported")
            blob = part.get("precompiled_charsmap")
            if blob is None:
                continue  # tokenizers reads a null charsmap as no normalization
            try:
                charsmap = mapping(base64.b64decode(blob, validate=True))
            except (binascii.Error, TypeError, CharsmapError) as e:
                raise GenerationError(path, f"Precompiled precompiled_charsmap is invalid: {e}") from None
            steps.append({"type": "Precompiled"})
        elif kind == "Replace":
            steps.append(replace_step(path, part, where))
        elif kind == "Strip":
            left, right = part.get("strip_left", part.get("left")), part.get("strip_right", part.get("right"))
            if not isinstance(left, bool) or not isinstance(right, bool):
                raise GenerationError(path, f"unsupported Strip normalizer {part!r}")
            steps.append({"type": "Strip", "left": left, "right": right})
        elif kind == "Prepend":
            steps.append(prepend_step(path, part))
        elif kind in NAMED_STEPS:
            steps.append({"type": kind})
        else:
            raise GenerationError(
                path,
                f"unsupported normalizer {kind!r}{where}; fastembed-static reproduces Precompiled, Replace, Strip,"
                f" Prepend and {', '.join(NAMED_STEPS)} for Unigram tokenizers",
            )
    return steps, charsmap


def _pre_tokenizer(path: Path, pre: Any) -> dict[str, Any]:
    kind = pre.get("type") if isinstance(pre, dict) else None
    steps = pre.get("pretokenizers") if kind == "Sequence" else [pre]
    names = [s.get("type") if isinstance(s, dict) else None for s in steps] if isinstance(steps, list) else []
    if names not in (["Metaspace"], ["WhitespaceSplit", "Metaspace"]):
        raise GenerationError(
            path,
            f"unsupported pre_tokenizer {names or kind!r}; fastembed-static reproduces Metaspace, alone or after"
            " WhitespaceSplit, for Unigram tokenizers",
        )
    return {
        "whitespace_split": names[0] == "WhitespaceSplit",
        **metaspace_settings(path, steps[-1], ("first", "always", "never")),
    }
