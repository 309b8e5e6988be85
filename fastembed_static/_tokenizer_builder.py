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
        normalizers=[str(step) for step in config["normalizers"]],
        lowercase=dict(LOWER_MAP),
        byte_chars=_bytelevel.byte_chars(),
        split_pattern=_bytelevel.split_pattern() if pre["use_regex"] else "",
        ascii_split_pattern=_bytelevel.split_pattern(ascii_only=True) if pre["use_regex"] else "",
        add_prefix_space=bool(pre["add_prefix_space"]),
        added_tokens=[(str(t["content"]), int(t["id"])) for t in config["added_tokens"]],
        truncate_to=int(truncation["max_length"]) if truncation else -1,
        truncate_left=bool(truncation and truncation["direction"] == "left"),
    )


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
    return core(
        tokens=tokens,
        scores=[float(s) for s in scores.split(" ")],
        unk_id=int(config["unk_id"]),
        byte_fallback=bool(config["byte_fallback"]),
        added_tokens=[
            (str(t["content"]), int(t["id"]), bool(t.get("lstrip", False)), bool(t.get("rstrip", False)))
            for t in config["added_tokens"]
        ],
        normalize=_chain(steps),
        whitespace_split=bool(config["whitespace_split"]),
        replacement=str(config["replacement"]),
        prepend=config["prepend_scheme"] == "always",
        split=bool(config["split"]),
        truncate_to=int(truncation["max_length"]) if truncation else -1,
        truncate_left=bool(truncation and truncation["direction"] == "left"),
    )


def _normalizer_step(step: dict[str, Any], charsmap: Any) -> Callable[[str], str]:
    kind = step["type"]
    if kind == "Precompiled":
        return charsmap.normalize  # type: ignore[no-any-return]
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
