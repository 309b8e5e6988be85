"""Read a Hugging Face ``tokenizer.json`` and keep what the runtime needs, refusing what it cannot reproduce.

Dispatches on the model type: ``Unigram`` is read by :mod:`.unigram_spec`, ``BPE`` by :mod:`.bpe_spec`. For
``WordPiece``: normalizer ``BertNormalizer`` with any of its options (``clean_text``, ``handle_chinese_chars``,
``strip_accents`` null/true/false, ``lowercase``: English and multilingual, cased and uncased BERT), pre-tokenizer
``BertPreTokenizer``, model ``WordPiece``, added tokens matched in the raw text (``normalized: false``, no
``lstrip``/``rstrip``/``single_word``), truncation ``LongestFirst``/``OnlyFirst`` either direction. Anything else is a
:class:`GenerationError` that names the unsupported component, because a silently different tokenization would
give silently different vectors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import GenerationError

if TYPE_CHECKING:
    from .bpe_spec import BpeSpec


@dataclass(frozen=True)
class AddedToken:
    content: str
    id: int
    special: bool
    lstrip: bool = False  # Unigram and BPE: the match takes the whitespace before / after it
    rstrip: bool = False


@dataclass(frozen=True)
class TokenizerSpec:
    tokens: list[str]  # WordPiece vocabulary, token i has id i
    unk_token: str
    unk_id: int
    continuing_subword_prefix: str
    max_input_chars_per_word: int
    clean_text: bool
    handle_chinese_chars: bool
    strip_accents: bool  # already resolved: BertNormalizer's null means "follow lowercase"
    lowercase: bool
    added_tokens: list[AddedToken]
    truncation_max_length: int | None
    truncation_direction: str  # "right" keeps the first tokens, "left" the last
    model: str = "WordPiece"
    scores: list[float] | None = None  # Unigram: score of token i
    config: dict[str, Any] = field(default_factory=dict)  # per-kind model.json tokenizer fields (non-WordPiece)

    @property
    def vocab_size(self) -> int:
        """Rows the embedding table must have: the WordPiece vocabulary plus added tokens past its end."""
        return max([len(self.tokens)] + [t.id + 1 for t in self.added_tokens])


def read_tokenizer(path: Path) -> TokenizerSpec | BpeSpec:
    data = _load_json(path)
    model_json = data.get("model")
    kind = model_json.get("type") if isinstance(model_json, dict) else None
    if kind is None and isinstance(model_json, dict) and isinstance(model_json.get("vocab"), list):
        kind = "Unigram"  # tokenizer.json files written before "type" existed: tokenizers reads them as Unigram
    elif kind is None and isinstance(model_json, dict) and "merges" in model_json:
        kind = "BPE"  # the same early files: with merges tokenizers reads them as BPE (BARThez's, for one)
    if kind == "BPE":
        from .bpe_spec import read_bpe

        return read_bpe(path, data)
    if kind == "Unigram":
        return _read_unigram(path, data, model_json)  # type: ignore[arg-type]
    normalizer = _component(path, data, "normalizer", "BertNormalizer")
    _component(path, data, "pre_tokenizer", "BertPreTokenizer")
    model = _component(path, data, "model", "WordPiece")

    vocab, tokens = vocab_tokens(path, model.get("vocab"), "WordPiece")

    unk_token = model.get("unk_token", "[UNK]")
    if not isinstance(unk_token, str) or unk_token not in vocab:
        raise GenerationError(path, f"WordPiece unk_token {unk_token!r} is not in the vocabulary")
    prefix = model.get("continuing_subword_prefix", "##")
    max_chars = model.get("max_input_chars_per_word", 100)
    if not isinstance(prefix, str) or not isinstance(max_chars, int) or max_chars < 0:
        raise GenerationError(path, "WordPiece continuing_subword_prefix or max_input_chars_per_word is invalid")

    lowercase = _flag(path, normalizer, "lowercase", True)
    strip = normalizer.get("strip_accents")
    if strip is not None and not isinstance(strip, bool):
        raise GenerationError(path, f"BertNormalizer.strip_accents must be true, false or null, not {strip!r}")
    added = _added_tokens(path, data, vocab)
    _check_utf8(path, [*tokens, unk_token, prefix], added)
    return TokenizerSpec(
        tokens=tokens,
        unk_token=unk_token,
        unk_id=vocab[unk_token],
        continuing_subword_prefix=prefix,
        max_input_chars_per_word=max_chars,
        clean_text=_flag(path, normalizer, "clean_text", True),
        handle_chinese_chars=_flag(path, normalizer, "handle_chinese_chars", True),
        strip_accents=lowercase if strip is None else strip,
        lowercase=lowercase,
        added_tokens=added,
        **_truncation(path, data),
    )


def _read_unigram(path: Path, data: dict[str, Any], model: dict[str, Any]) -> TokenizerSpec:
    from .unigram_spec import read_unigram

    read = read_unigram(path, data, model)
    tokens: list[str] = read["tokens"]
    vocab: dict[str, int] = {}
    for i, token in enumerate(tokens):
        vocab[token] = i  # tokenizers keeps the last id of a repeated token
    added = _added_tokens(path, data, vocab, allow_strip=True)
    _check_utf8(path, tokens, added)
    config: dict[str, Any] = read["config"]
    return TokenizerSpec(
        tokens=tokens,
        unk_token=config["unk_token"],
        unk_id=config["unk_id"],
        continuing_subword_prefix="",
        max_input_chars_per_word=0,
        clean_text=False,
        handle_chinese_chars=False,
        strip_accents=False,
        lowercase=False,
        added_tokens=added,
        model="Unigram",
        scores=read["scores"],
        config=config,
        **_truncation(path, data),
    )


def _check_utf8(path: Path, tokens: list[str], added: list[AddedToken]) -> None:
    """Every token must be writable as UTF-8 (a lone surrogate is not): the vocabulary module is UTF-8 text."""
    for token in (*tokens, *(t.content for t in added)):
        if not token.isascii():
            try:
                token.encode("utf-8")
            except UnicodeEncodeError:
                raise GenerationError(
                    path, f"token {token!r} holds a lone surrogate (not valid Unicode text; cannot be written as UTF-8)"
                ) from None


def vocab_tokens(path: Path, vocab: object, kind: str) -> tuple[dict[str, int], list[str]]:
    """A ``model.vocab`` object (token -> id) and its tokens in id order; the ids must be 0..n-1 without gaps."""
    if not isinstance(vocab, dict) or not vocab:
        raise GenerationError(path, "model.vocab is missing or empty")
    tokens = [""] * len(vocab)
    seen = [False] * len(vocab)
    for token, token_id in vocab.items():
        if not isinstance(token_id, int) or not 0 <= token_id < len(vocab) or seen[token_id]:
            raise GenerationError(
                path, f"{kind} vocab ids must be 0..{len(vocab) - 1} without gaps; {token!r} has id {token_id!r}"
            )
        tokens[token_id] = token
        seen[token_id] = True
    return vocab, tokens


def _load_json(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise GenerationError(path, "file is missing") from e
    except (OSError, UnicodeDecodeError) as e:
        raise GenerationError(path, f"cannot read: {e}") from e
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise GenerationError(path, f"invalid JSON: {e}") from e
    if not isinstance(data, dict):
        raise GenerationError(path, "expected a JSON object at the top level")
    return data


def _component(path: Path, data: dict[str, Any], key: str, expected: str) -> dict[str, Any]:
    component = data.get(key)
    kind = component.get("type") if isinstance(component, dict) else None
    if not isinstance(component, dict) or kind != expected:
        found = "none" if component is None else repr(kind)
        raise GenerationError(
            path,
            f"unsupported {key}: {found}; fastembed-static reproduces WordPiece (BertNormalizer + BertPreTokenizer +"
            f" WordPiece), Unigram and BPE (byte-level or SentencePiece-style) tokenizers (for WordPiece this {key}"
            f" must be {expected})",
        )
    return component


def _flag(path: Path, component: dict[str, Any], key: str, default: bool) -> bool:
    value = component.get(key, default)
    if not isinstance(value, bool):
        raise GenerationError(path, f"{component.get('type')}.{key} must be true or false, not {value!r}")
    return value


def _added_tokens(
    path: Path, data: dict[str, Any], vocab: dict[str, int], allow_strip: bool = False, *, normalized_ok: bool = False
) -> list[AddedToken]:
    """The added tokens; ``allow_strip``: ``lstrip``/``rstrip`` are kept (Unigram); ``normalized_ok``:
    ``normalized: true`` is accepted (BPE, whose core matches such tokens in the normalized text, as tokenizers)."""
    entries = data.get("added_tokens") or []
    if not isinstance(entries, list):
        raise GenerationError(path, "added_tokens must be a list")
    result: list[AddedToken] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("content"), str) or not entry["content"]:
            raise GenerationError(path, f"invalid added token entry {entry!r}")
        content: str = entry["content"]
        token_id = entry.get("id")
        if not isinstance(token_id, int) or token_id < 0:
            raise GenerationError(path, f"added token {content!r} has invalid id {token_id!r}")
        if content in vocab and vocab[content] != token_id:
            raise GenerationError(
                path, f"added token {content!r} has id {token_id} but the vocab says {vocab[content]}"
            )
        for flag in ("normalized", "single_word") if allow_strip else ("normalized", "lstrip", "rstrip", "single_word"):
            if entry.get(flag, False) and not (flag == "normalized" and normalized_ok):
                kept: tuple[str, ...] = ("lstrip", "rstrip") if allow_strip else ()
                kept += ("normalized",) if normalized_ok else ()
                raise GenerationError(
                    path,
                    f"added token {content!r} sets {flag}=true; fastembed-static reproduces added tokens matched"
                    f" verbatim in the text, with {', '.join(kept) or 'none of normalized, lstrip, rstrip'}"
                    f"{' true or false' if kept else ''} and single_word false",
                )
        strips = {flag: bool(entry.get(flag, False)) for flag in ("lstrip", "rstrip")} if allow_strip else {}
        result.append(AddedToken(content, token_id, bool(entry.get("special", False)), **strips))
    return result


def _truncation(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    truncation = data.get("truncation")
    if truncation is None:
        return {"truncation_max_length": None, "truncation_direction": "right"}
    if not isinstance(truncation, dict) or not isinstance(truncation.get("max_length"), int):
        raise GenerationError(path, f"unsupported truncation setting {truncation!r}")
    strategy = truncation.get("strategy", "LongestFirst")
    if strategy not in ("LongestFirst", "OnlyFirst"):
        # Both cut a single text the same way. OnlySecond cuts only the second text of a pair: tokenizers refuses
        # a single text longer than max_length ("Second sequence not provided"), so no vectors exist to match.
        raise GenerationError(
            path,
            f"unsupported truncation strategy {strategy!r}: tokenizers cannot encode a single text longer than"
            f" max_length with it (only LongestFirst and OnlyFirst truncate a single text)",
        )
    direction = str(truncation.get("direction", "Right")).lower()
    if direction not in ("right", "left"):
        raise GenerationError(path, f"unsupported truncation direction {truncation.get('direction')!r}")
    return {"truncation_max_length": truncation["max_length"], "truncation_direction": direction}
