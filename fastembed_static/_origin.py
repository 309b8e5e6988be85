"""Where the first pre-token of a text starts in the original text, for Metaspace's ``prepend_scheme: "first"``
(Unigram): tokenizers' ``metaspace.rs`` prepends the replacement only to the pre-token whose offset in the original
text is 0, and that offset comes from the alignments its ``normalizer.rs`` keeps through every normalizer step.

Most texts start with a character that normalizes to a non-space character: that character keeps offset 0 (the
fast path). Otherwise (leading whitespace, characters the charsmap deletes or expands into a space) the steps are
replayed on the start of the text with one offset per character, as tokenizers' ``NormalizedString::transform``
assigns them: a character that replaces others takes the offset of the first it consumes; an inserted one (change
+1) the offset of the character before; the charsmap's ``Precompiled`` attaches a deletion to the previous
character (so a deletion before any kept character is not recorded at all and the next character takes its
offset); ``Strip`` and ``Replace`` record theirs. Plain Python (not compiled): it runs once per text at most.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from . import _graphemes
from ._precompiled import MAX_WHOLE_CLUSTER_BYTES
from ._tokenizer import WHITE_SPACE

TRACKED_STEPS = frozenset({"Precompiled", "Replace", "Strip", "Prepend"})
MARGIN = 16  # characters past the first kept non-space one that can still change its offset (a deletion after it)

Chars = list[tuple[str, int]]  # (character, offset in the original text)


def first_at_origin(
    steps: list[dict[str, Any]], keys: dict[str, str] | None, normalize: Callable[[str], str], whitespace_split: bool
) -> Callable[[str], int]:
    """``at_origin(text)``: how many of the first pre-tokens of ``text`` (after the normalizer ``steps``, whose
    whole form is ``normalize``; ``keys`` the charsmap) start at offset 0 of the original text: 0 or 1, or more
    with ``whitespace_split`` when the first character expands into several words (U+FDFA: every word it gives
    shares its offset 0)."""
    strips = any(step["type"] == "Strip" and step["left"] for step in steps)

    def at_origin(text: str) -> int:
        head = normalize(text[0])
        if head and head[0] not in WHITE_SPACE and (not strips or head == text[0]):
            # It stays first and keeps offset 0 (a Prepend before it takes offset 0 too). Not so when Strip took
            # the space a charsmap wrote before it: it is then an inserted character, which a deletion after it
            # turns into one that consumes the next original character (and takes its offset).
            if not whitespace_split:
                return 1
            for c in head:
                if c in WHITE_SPACE:
                    break
            else:
                return 1
        elif not whitespace_split and not strips and head:
            return 1  # the text starts with a space, written as the replacement: nothing is prepended anyway
        size = 64
        while True:
            chars = _replay(steps, keys, text[:size])
            if not whitespace_split:
                if not chars:
                    return 0
                if size >= len(text) or chars[0][1] + MARGIN < size:
                    return int(chars[0][1] == 0)
            else:
                count = 0
                near = False
                for i, (char, origin) in enumerate(chars):
                    if char in WHITE_SPACE or (i and chars[i - 1][0] not in WHITE_SPACE):
                        continue  # not the start of a word
                    near = size < len(text) and origin + MARGIN >= size
                    if near or origin != 0:
                        break
                    count += 1
                if not near:
                    return count
            if size >= len(text):
                return 0
            size *= 4

    return at_origin


def _replay(steps: list[dict[str, Any]], keys: dict[str, str] | None, text: str) -> Chars:
    chars: Chars = [(c, i) for i, c in enumerate(text)]
    for step in steps:
        kind = step["type"]
        if kind == "Precompiled":
            chars = _precompiled(chars, keys or {})
        elif kind == "Replace":
            chars = _replace(chars, step)
        elif kind == "Strip":
            while step["left"] and chars and chars[0][0] in WHITE_SPACE:
                chars = chars[1:]
            while step["right"] and chars and chars[-1][0] in WHITE_SPACE:
                chars = chars[:-1]
        elif kind == "Prepend":
            if chars:
                chars = [(c, chars[0][1]) for c in step["prepend"]] + chars
        else:  # pragma: no cover - the generator refuses prepend_scheme first with any other step
            raise ValueError(f"normalizer step {kind!r} is not tracked")
    return chars


def _precompiled(chars: Chars, keys: dict[str, str]) -> Chars:
    """tokenizers' Precompiled: per grapheme cluster (or per character), the changes it records, then applied."""
    text = "".join([c for c, _ in chars])
    changes: list[list[Any]] = []  # [character, change]
    for cluster in _graphemes.clusters(text):
        units: list[tuple[str, str | None]] = []
        whole = None
        if len(cluster.encode("utf-8")) < MAX_WHOLE_CLUSTER_BYTES:
            for end in range(1, len(cluster) + 1):
                whole = keys.get(cluster[:end])
                if whole is not None:
                    break
        if whole is not None:
            units.append((cluster, whole))
        else:
            units += [(ch, keys.get(ch)) for ch in cluster]
        for old, new in units:
            if new is None:
                changes.append([old, 0])
                continue
            changes += [[c, 0] for c in new]
            diff = len(new) - len(old)
            if diff > 0:
                for entry in changes[len(changes) - diff :]:
                    entry[1] = 1
            elif diff < 0 and changes:
                changes[-1][1] += diff
    return _transform(chars, [(c, n) for c, n in changes], 0)


def _transform(chars: Chars, changes: list[tuple[str, int]], initial: int) -> Chars:
    out: Chars = []
    at = initial
    for c, change in changes:
        if change > 0:
            out.append((c, chars[at - 1][1] if at >= 1 else 0))
        else:
            out.append((c, chars[at][1] if at < len(chars) else chars[-1][1]))
            at += 1 - change
    return out


def _replace(chars: Chars, step: dict[str, Any]) -> Chars:
    text = "".join([c for c, _ in chars])
    pattern = step["pattern"] if step["regex"] else re.escape(step["pattern"])
    out: Chars = []
    done = 0
    for match in re.finditer(pattern, text):
        start, end = match.span()
        if start == end:
            continue
        out += chars[done:start]
        out += [(c, chars[end - 1][1]) for c in step["content"]]
        done = end
    return out + chars[done:]
