"""Read a ``BPE`` ``tokenizer.json`` and keep what the runtime needs, refusing by name what it cannot reproduce:
byte-level BPE (GPT-2, RoBERTa and their distillations) and SentencePiece-style BPE (Llama, Mistral, TinyLlama,
OpenLLaMA: ``byte_fallback``, ``fuse_unk``, ``<unk>``, the text's spaces written as ``▁``).

Supported: model ``BPE`` (merges as ``"a b"`` strings or ``[a, b]`` pairs, ``unk_token``, ``fuse_unk``,
``byte_fallback``, ``ignore_merges``, ``continuing_subword_prefix``, ``end_of_word_suffix``; ``dropout`` null or 0);
pre-tokenizer ``ByteLevel`` (``add_prefix_space``, ``use_regex``; ``trim_offsets`` only moves offsets), ``Metaspace``
(``replacement``, ``prepend_scheme`` first / always / never or the legacy ``add_prefix_space``, ``split``) or none
(the whole normalized text is one word: the legacy Llama files); normalizer null, ``NFC``, ``NFD``, ``NFKC``,
``NFKD``, ``StripAccents``, ``Lowercase``, ``Nmt`` (reproduced by ``_unicode_forms``), ``Prepend``, ``Replace`` (a
literal string, or the regex ``" {2,}"``) or a ``Sequence`` of those; added tokens
matched in the raw text (``normalized`` false) or in the normalized text (``normalized`` true: matched as their
normalized content, as tokenizers does), with ``lstrip`` / ``rstrip`` (the match takes the whitespace before /
after it, in the text it is matched in). The decoder and post-processor do not change the ids of
``encode(text, add_special_tokens=False)`` and are not read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._unicode_forms import DELETING_STEPS, NAMED_STEPS
from .errors import GenerationError
from .sentencepiece import metaspace_settings, prepend_step, replace_step
from .tokenizer_spec import AddedToken, _added_tokens, _truncation, vocab_tokens

BPE_NORMALIZERS = NAMED_STEPS  # written as their names; Prepend and Replace as objects (as for Unigram)


@dataclass(frozen=True)
class BpeSpec:
    tokens: list[str]  # token i has id i
    merges: list[tuple[int, int]]  # by rank: (left id, right id)
    unk_token: str | None
    unk_id: int | None
    continuing_subword_prefix: str  # "" for none (tokenizers treats "" and null alike)
    end_of_word_suffix: str
    fuse_unk: bool
    byte_fallback: bool
    ignore_merges: bool
    normalizers: list[str | dict[str, Any]]  # a named step ("NFKC", "Lowercase" ...) / a Prepend or Replace step
    pre_tokenizer: dict[str, Any] | None  # ByteLevel or Metaspace settings; None: no pre-tokenizer
    added_tokens: list[AddedToken]
    normalized: frozenset[str]  # the added tokens matched in the normalized text
    truncation_max_length: int | None
    truncation_direction: str

    @property
    def vocab_size(self) -> int:
        """Rows the embedding table must have: the vocabulary plus added tokens past its end."""
        return max([len(self.tokens)] + [t.id + 1 for t in self.added_tokens])

    def metadata(self) -> dict[str, Any]:
        """model.json's ``tokenizer`` object (checked on load by ``_model_files._check_bpe_tokenizer``)."""
        return {
            "model": "BPE",
            "normalizers": list(self.normalizers),
            "pre_tokenizer": None if self.pre_tokenizer is None else dict(self.pre_tokenizer),
            "unk_token": self.unk_token,
            "unk_id": self.unk_id,
            "continuing_subword_prefix": self.continuing_subword_prefix,
            "end_of_word_suffix": self.end_of_word_suffix,
            "fuse_unk": self.fuse_unk,
            "byte_fallback": self.byte_fallback,
            "ignore_merges": self.ignore_merges,
            "merges": len(self.merges),
            "added_tokens": [
                {"content": t.content, "id": t.id, "special": t.special}
                | ({"normalized": True} if t.content in self.normalized else {})
                | ({"lstrip": True} if t.lstrip else {})
                | ({"rstrip": True} if t.rstrip else {})
                for t in self.added_tokens
            ],
            "truncation": (
                None
                if self.truncation_max_length is None
                else {"max_length": self.truncation_max_length, "direction": self.truncation_direction}
            ),
        }

    def vocab_extras(self) -> dict[str, str]:
        """The vocabulary module's names beside TOKENS: MERGES, the merges by rank as decimal ids, two a merge."""
        return {"MERGES": " ".join(f"{a} {b}" for a, b in self.merges)}


def read_bpe(path: Path, data: dict[str, Any]) -> BpeSpec:
    model = data["model"]
    normalizers = _normalizers(path, data.get("normalizer"))
    pre_tokenizer = _pre_tokenizer(path, data.get("pre_tokenizer"))
    if pre_tokenizer and pre_tokenizer["type"] == "Metaspace" and pre_tokenizer["prepend_scheme"] == "first":
        for step in normalizers:
            if isinstance(step, dict) and step["type"] == "Replace" and not step["content"]:
                # The first pre-token is the one at offset 0 of the original text: a normalizer that deletes
                # characters moves it (tokenizers' offsets), which is not reproduced.
                raise GenerationError(
                    path, "unsupported: a Replace normalizer that deletes text before Metaspace prepend_scheme first"
                )
            if step in DELETING_STEPS:  # the same for a normalizer that deletes characters
                raise GenerationError(
                    path,
                    f"unsupported: the normalizer {step} (it deletes characters) before Metaspace prepend_scheme first",
                )
    dropout = model.get("dropout")
    if dropout is not None and dropout != 0:
        raise GenerationError(path, f"unsupported BPE dropout {dropout!r}: dropout makes tokenization random")

    vocab, tokens = vocab_tokens(path, model.get("vocab"), "BPE")

    prefix = _optional_str(path, model, "continuing_subword_prefix")
    suffix = _optional_str(path, model, "end_of_word_suffix")
    unk_token = model.get("unk_token")
    if unk_token is not None and (not isinstance(unk_token, str) or unk_token not in vocab):
        raise GenerationError(path, f"BPE unk_token {unk_token!r} is not in the vocabulary")
    merges = _merges(path, model.get("merges"), vocab, prefix)
    added = _added_tokens(path, data, vocab, allow_strip=True, normalized_ok=True)
    normalized = frozenset(entry["content"] for entry in data.get("added_tokens") or [] if entry.get("normalized"))
    for token in (*tokens, *(t.content for t in added)):
        if not token.isascii():
            try:
                token.encode("utf-8")
            except UnicodeEncodeError:
                raise GenerationError(
                    path, f"token {token!r} holds a lone surrogate (not valid Unicode text; cannot be written as UTF-8)"
                ) from None
    return BpeSpec(
        tokens=tokens,
        merges=merges,
        unk_token=unk_token,
        unk_id=None if unk_token is None else vocab[unk_token],
        continuing_subword_prefix=prefix,
        end_of_word_suffix=suffix,
        normalizers=normalizers,
        pre_tokenizer=pre_tokenizer,
        added_tokens=added,
        normalized=normalized,
        fuse_unk=_bool(path, model, "fuse_unk"),
        byte_fallback=_bool(path, model, "byte_fallback"),
        ignore_merges=_bool(path, model, "ignore_merges"),
        **_truncation(path, data),
    )


def _normalizers(path: Path, normalizer: Any) -> list[str | dict[str, Any]]:
    """The normalizer as a flat list of supported steps; anything else refused by name."""
    if normalizer is None:
        return []
    kind = normalizer.get("type") if isinstance(normalizer, dict) else None
    if kind == "Sequence":
        steps = normalizer.get("normalizers")
        if not isinstance(steps, list):
            raise GenerationError(path, "normalizer Sequence without a list of normalizers")
        result: list[str | dict[str, Any]] = []
        for step in steps:
            step_kind = step.get("type") if isinstance(step, dict) else None
            if step_kind == "Sequence":
                result += _normalizers(path, step)
            else:
                result.append(_step(path, step, " in a Sequence"))
        return result
    return [_step(path, normalizer, "")]


def _step(path: Path, step: Any, where: str) -> str | dict[str, Any]:
    kind = step.get("type") if isinstance(step, dict) else None
    if kind in BPE_NORMALIZERS:
        return str(kind)
    if kind == "Prepend":
        return prepend_step(path, step)
    if kind == "Replace":
        return replace_step(path, step, where)
    raise GenerationError(path, f"unsupported normalizer {kind!r}{where}{_SUPPORTED_NORMALIZERS}")


_SUPPORTED_NORMALIZERS = (
    f"; fastembed-static reproduces BPE tokenizers whose normalizer is null, {', '.join(BPE_NORMALIZERS)}, Prepend,"
    " Replace or a Sequence of those"
)


def _pre_tokenizer(path: Path, pre: Any) -> dict[str, Any] | None:
    if pre is None:
        return None  # the legacy SentencePiece-style files: the normalizer writes the spaces as ▁
    kind = pre.get("type") if isinstance(pre, dict) else None
    if kind == "Metaspace":
        return {"type": "Metaspace", **metaspace_settings(path, pre, ("first", "always", "never"))}
    if kind != "ByteLevel":
        raise GenerationError(
            path,
            f"unsupported pre_tokenizer: {kind!r}; fastembed-static reproduces BPE with the pre-tokenizer ByteLevel,"
            " Metaspace or none",
        )
    add_prefix_space = pre.get("add_prefix_space", True)
    use_regex = pre.get("use_regex", True)
    if not isinstance(add_prefix_space, bool) or not isinstance(use_regex, bool):
        raise GenerationError(path, "ByteLevel.add_prefix_space and ByteLevel.use_regex must be true or false")
    return {"type": "ByteLevel", "add_prefix_space": add_prefix_space, "use_regex": use_regex}


def _optional_str(path: Path, model: dict[str, Any], key: str) -> str:
    value = model.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise GenerationError(path, f"BPE.{key} must be a string or null, not {value!r}")
    return value


def _bool(path: Path, model: dict[str, Any], key: str) -> bool:
    value = model.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise GenerationError(path, f"BPE.{key} must be true, false or null, not {value!r}")
    return value


def _merges(path: Path, merges: Any, vocab: dict[str, int], prefix: str) -> list[tuple[int, int]]:
    """The merges by rank as id pairs, as tokenizers reads them: ``"a b"`` strings (split at the one space;
    ``#version`` lines skipped) or ``[a, b]`` pairs; every token and every merged token must be in the vocab."""
    if not isinstance(merges, list):
        raise GenerationError(path, "BPE.merges must be a list")
    pairs: list[tuple[str, str]] = []
    if all(isinstance(m, str) for m in merges):
        for rank, line in enumerate(m for m in merges if not m.startswith("#version")):
            parts = line.split(" ")
            if len(parts) != 2:
                raise GenerationError(path, f"BPE merge {rank + 1} {line!r} is not two tokens separated by one space")
            pairs.append((parts[0], parts[1]))
    elif all(isinstance(m, list) and len(m) == 2 and all(isinstance(t, str) for t in m) for m in merges):
        pairs = [(a, b) for a, b in merges]
    else:
        raise GenerationError(path, 'BPE.merges must be all "a b" strings or all [a, b] pairs')
    result: list[tuple[int, int]] = []
    for a, b in pairs:
        if prefix and not b.startswith(prefix):
            raise GenerationError(
                path, f"BPE merge ({a!r}, {b!r}): its right token does not start with the continuing_subword_prefix"
            )
        for token in (a, b, a + b[len(prefix) :]):
            if token not in vocab:
                raise GenerationError(path, f"BPE merge ({a!r}, {b!r}): {token!r} is not in the vocabulary")
        result.append((vocab[a], vocab[b]))
    return result
