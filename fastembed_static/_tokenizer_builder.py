"""Tokenizer cores from a generated model's ``tokenizer`` metadata (``model.json``): the WordPiece ``Tokenizer``,
the ``UnigramTokenizer`` or the ``BpeTokenizer``, with their normalizers put together from the validated settings.
Nothing here reads files; :mod:`._model_files` reads and checks them first."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from . import _charmap
from ._tokenizer import Tokenizer


def build_tokenizer(
    config: dict[str, Any],
    tokens: list[str],
    core: Callable[..., Any] | None = None,
    extras: dict[str, str] | None = None,
) -> Tokenizer:
    """The tokenizer core for a generated model's ``tokenizer`` metadata, by its ``model`` kind: the WordPiece
    ``Tokenizer``, the ``UnigramTokenizer`` or the ``BpeTokenizer`` (``core``: the class to build, so tests can build
    the pure-Python twin of the compiled class; ``extras``: the vocabulary module's optional names, Unigram's SCORES
    or BPE's MERGES)."""
    kind = config.get("model", "WordPiece")
    if kind == "Unigram":
        return build_unigram(config, tokens, (extras or {})["SCORES"], core)  # type: ignore[no-any-return]
    if kind == "BPE":
        bpe: Tokenizer = _build_bpe(config, tokens, extras or {}, core)  # the same interface
        return bpe
    if core is None:
        core = Tokenizer
    normalizer = normalizer_config(config)
    plan = _charmap.ascii_plan(normalizer)
    translation = _charmap.TranslationTable(normalizer)
    truncation = config.get("truncation")
    return core(
        tokens=tokens,
        unk_id=int(config["unk_id"]),
        prefix=str(config["continuing_subword_prefix"]),
        max_chars=int(config["max_input_chars_per_word"]),
        added_tokens=[(str(t["content"]), int(t["id"])) for t in config["added_tokens"]],
        translation=translation,
        ascii_lowercase=plan.lowercase if plan else False,
        ascii_delete=plan.delete if plan else "",
        ascii_word_chars=plan.word_chars if plan else "",
        ascii_punct_chars=plan.punct_chars if plan else "",
        use_ascii_path=plan is not None,
        reorder_marks=_charmap.reorder_marks_string() if normalizer.strip_accents else "",
        reorder=lambda text: _charmap.normalize_reordered(text, translation),
        truncate_to=int(truncation["max_length"]) if truncation else -1,
        truncate_left=bool(truncation and truncation["direction"] == "left"),
    )


def _build_bpe(
    config: dict[str, Any], tokens: list[str], extras: dict[str, str], core: Callable[..., Any] | None
) -> Any:
    from . import _bytelevel
    from ._char_tables import LOWER_MAP

    if core is None:
        from ._bpe import BpeTokenizer

        core = BpeTokenizer
    pre = config["pre_tokenizer"]
    byte_level = pre is not None and pre["type"] == "ByteLevel"
    metaspace = pre is not None and pre["type"] == "Metaspace"
    steps = config["normalizers"]
    normalize = None if all(isinstance(step, str) for step in steps) else _bpe_normalizer(steps)
    added = [(str(t["content"]), int(t["id"])) for t in config["added_tokens"] if not t.get("normalized")]
    # tokenizers matches an added token with normalized=true as its normalized content, in the normalized text
    content_normalizer = normalize if normalize is not None else _bpe_normalizer(steps) if steps else None
    normalized_added = [
        (str(t["content"]) if content_normalizer is None else content_normalizer(str(t["content"])), int(t["id"]), t)
        for t in config["added_tokens"]
        if t.get("normalized")
    ]
    raw_strips = [t for t in config["added_tokens"] if not t.get("normalized")]
    truncation = config.get("truncation")
    merges = extras["MERGES"]
    return core(
        tokens=tokens,
        merges=[int(f) for f in merges.split(" ")] if merges else [],
        unk_id=-1 if config["unk_id"] is None else int(config["unk_id"]),
        fuse_unk=bool(config["fuse_unk"]),
        byte_fallback=bool(config["byte_fallback"]),
        prefix=str(config["continuing_subword_prefix"]),
        suffix=str(config["end_of_word_suffix"]),
        ignore_merges=bool(config["ignore_merges"]),
        normalizers=[] if normalize is not None else [str(step) for step in steps],
        lowercase=dict(LOWER_MAP),
        normalize=normalize,
        byte_chars=_bytelevel.byte_chars() if byte_level else "",
        split_pattern=_bytelevel.split_pattern() if byte_level and pre["use_regex"] else "",
        ascii_split_pattern=_bytelevel.split_pattern(ascii_only=True) if byte_level and pre["use_regex"] else "",
        add_prefix_space=bool(byte_level and pre["add_prefix_space"]),
        metaspace=str(pre["replacement"]) if metaspace else "",
        prepend_scheme=str(pre["prepend_scheme"]) if metaspace else "never",
        metaspace_split=bool(metaspace and pre["split"]),
        word_boundary=_word_boundary(pre, steps),
        added_tokens=added,
        normalized_added_tokens=[(content, i) for content, i, _ in normalized_added if content],
        truncate_to=int(truncation["max_length"]) if truncation else -1,
        truncate_left=bool(truncation and truncation["direction"] == "left"),
        lstrip=tuple([str(t["content"]) for t in raw_strips if t.get("lstrip")]),
        rstrip=tuple([str(t["content"]) for t in raw_strips if t.get("rstrip")]),
        normalized_lstrip=tuple([content for content, _, t in normalized_added if content and t.get("lstrip")]),
        normalized_rstrip=tuple([content for content, _, t in normalized_added if content and t.get("rstrip")]),
    )


def _bpe_normalizer(steps: list[Any]) -> Callable[[str], str]:
    """BPE's normalizer steps as one function: the named steps (NFC, NFKD, Lowercase ...) by name, Prepend and
    Replace as Unigram's."""
    from ._unicode_forms import named_step

    return _chain([named_step(step) if isinstance(step, str) else _normalizer_step(step, None) for step in steps])


def _word_boundary(pre: dict[str, Any] | None, steps: list[Any]) -> str:
    """The character that starts words in a piece BPE sees whole (Metaspace without split, or no pre-tokenizer
    after a normalizer that writes spaces as one character): the core may cut the piece before it, where no merge
    can join across (it checks the merges)."""
    if pre is not None:
        return str(pre["replacement"]) if pre["type"] == "Metaspace" and not pre["split"] else ""
    spaces = [s for s in steps if isinstance(s, dict) and s["type"] == "Replace" and s["pattern"] == " "]
    return str(spaces[-1]["content"]) if spaces and len(spaces[-1]["content"]) == 1 else ""


def build_unigram(config: dict[str, Any], tokens: list[str], scores: str, core: Callable[..., Any] | None) -> Any:
    """The Unigram core (:mod:`._unigram`) for a generated model's ``tokenizer`` metadata."""
    from ._precompiled import Charsmap

    if core is None:
        from ._unigram import UnigramTokenizer

        core = UnigramTokenizer
    steps: list[Callable[[str], str]] = []
    for step in config["normalizers"]:
        steps.append(_normalizer_step(step, Charsmap(config["charsmap"]) if step["type"] == "Precompiled" else None))
    truncation = config.get("truncation")
    normalize = _chain(steps)
    return core(
        tokens=tokens,
        scores=[float(s) for s in scores.split(" ")],
        unk_id=int(config["unk_id"]),
        byte_fallback=bool(config["byte_fallback"]),
        added_tokens=[
            (str(t["content"]), int(t["id"]), bool(t.get("lstrip", False)), bool(t.get("rstrip", False)))
            for t in config["added_tokens"]
        ],
        normalize=normalize,
        whitespace_split=bool(config["whitespace_split"]),
        replacement=str(config["replacement"]),
        prepend=config["prepend_scheme"] == "always",
        split=bool(config["split"]),
        truncate_to=int(truncation["max_length"]) if truncation else -1,
        truncate_left=bool(truncation and truncation["direction"] == "left"),
        at_origin=None if config["prepend_scheme"] != "first" else _at_origin(config, normalize),
    )


def _at_origin(config: dict[str, Any], normalize: Callable[[str], str]) -> Callable[[str], int]:
    from ._origin import first_at_origin

    steps = config["normalizers"]
    return first_at_origin(steps, config["charsmap"], normalize, bool(config["whitespace_split"]))


def _normalizer_step(step: dict[str, Any], charsmap: Any) -> Callable[[str], str]:
    from ._unicode_forms import NAMED_STEPS, named_step

    kind = step["type"]
    if kind == "Precompiled":
        return charsmap.normalize  # type: ignore[no-any-return]
    if kind in NAMED_STEPS:
        return named_step(kind)
    if kind == "Replace":
        pattern, content = str(step["pattern"]), str(step["content"])
        if step["regex"]:
            compiled = re.compile(pattern)  # only " {2,}" is accepted (gen/unigram_spec.py): test "  " first, faster
            escaped = content.replace("\\", "\\\\")
            return lambda text: compiled.sub(escaped, text) if "  " in text else text
        return lambda text: text.replace(pattern, content)
    if kind == "Strip":
        from ._unigram import WHITE_SPACE

        left, right = bool(step["left"]), bool(step["right"])

        def strip(text: str) -> str:
            if left:
                text = text.lstrip(WHITE_SPACE)
            return text.rstrip(WHITE_SPACE) if right else text

        return strip
    prepend = str(step["prepend"])
    return lambda text: prepend + text if text else text


def _chain(steps: list[Callable[[str], str]]) -> Callable[[str], str]:
    if len(steps) == 1:
        return steps[0]
    if len(steps) == 2:  # the hub XLM-R style (Precompiled, Replace): one call less per text than the loop
        first, second = steps
        return lambda text: second(first(text))

    def normalize(text: str) -> str:
        for step in steps:
            text = step(text)
        return text

    return normalize


def normalizer_config(config: dict[str, Any]) -> _charmap.NormalizerConfig:
    return _charmap.NormalizerConfig(
        clean_text=bool(config["clean_text"]),
        handle_chinese_chars=bool(config["handle_chinese_chars"]),
        strip_accents=bool(config["strip_accents"]),
        lowercase=bool(config["lowercase"]),
    )
