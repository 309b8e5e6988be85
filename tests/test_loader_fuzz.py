"""Issue 16, case 4: the loader refuses any broken model folder with a ModelFileError, never another exception.

Seeded mutations of generated model folders (float32 and int8, the real tokenizer in tests/data): model.json's
fields deleted, renamed, swapped or given values of other types, huge ints (past Python's int-string conversion
limit once multiplied), lone-surrogate escapes, odd file names; its bytes flipped, cut and spliced; and the files it
names truncated, extended, corrupted, deleted or replaced by a directory, a FIFO or a symlink. A load either
returns a model that embeds text, or raises ModelFileError; anything else fails the test, printing the mutation.
``FASTEMBED_STATIC_FUZZ_LOADS`` sets how many loads (default 1200: under 20 s); set it high for a longer sweep.
"""

from __future__ import annotations

import copy
import json
import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fastembed_static import ModelFileError, StaticModel
from fastembed_static._model_files import load
from fastembed_static.gen import generate

from .helpers import MRL_TOKENIZER, make_st_model, random_table

LOADS = int(os.environ.get("FASTEMBED_STATIC_FUZZ_LOADS", "1200"))
SEED = 1604
# ints json.dumps cannot write (more digits than str(int) converts), written in place of these strings
DIGITS = {
    "__HUGE__": "9" * 4300,
    "__HUGE_NEG__": "-" + "7" * 4300,
    "__OVER__": "1" * 4301,
    "__ONE_BIG__": "1" + "0" * 2200,
}
VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1,
    7,
    2**31,
    2**63,
    2**64 + 1,
    -(2**63),
    1.5,
    1e308,
    float("nan"),
    "",
    "x",
    "\ud800",
    "\udc80",
    "\udfff.bin",
    "../model.json",
    [],
    {},
    [1, 2],
    {"a": 1},
    [[[[[]]]]],
    *DIGITS,
]
NAMES = [
    "",
    ".",
    "..",
    "model.json",
    "vocab.py",
    "missing.bin",
    "a/b",
    "\ud800.bin",
    "\udc80.py",
    "x" * 300 + ".py",
    "nul\x00.bin",
    "__pycache__",
    "C:x",
    "sub",
    "vocab.py ",
    "é.py",
    "\U0001f600.bin",
]
FILE_FIELDS = [("weights", "file"), ("vocab", "module"), ("scales", "file")]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("fuzz")
    source = make_st_model(root / "src", MRL_TOKENIZER, random_table(30522, 8))
    return [generate(source, root / "f32"), generate(source, root / "i8", dtype="int8")]


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in a JSON tree."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += paths(value, (*prefix, i))
    return found


def parent_of(tree: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        tree = tree[key]
    return tree


def mutate_tree(rng: random.Random, meta: dict[str, Any]) -> str:
    """One change to the parsed model.json, in place; returns what it did."""
    path = rng.choice(paths(meta))
    parent, key = parent_of(meta, path), path[-1]
    op = rng.randrange(6)
    if op == 0:
        del parent[key]
        return f"delete {path}"
    if op == 1:
        parent[key] = rng.choice(VALUES)
        return f"set {path} = {parent[key]!r:.40}"
    if op == 2:
        section, field = rng.choice(FILE_FIELDS)
        if isinstance(meta.get(section), dict):
            meta[section][field] = rng.choice(NAMES)
            return f"name {section}.{field} = {meta[section][field]!r:.40}"
        return "nothing"
    if op == 3 and isinstance(parent, dict):
        parent[f"{key}_"] = parent.pop(key)
        return f"rename {path}"
    if op == 4:
        other = rng.choice(paths(meta))
        other_parent = parent_of(meta, other)
        try:
            parent[key], other_parent[other[-1]] = other_parent[other[-1]], parent[key]
        except (IndexError, KeyError):  # one was inside the other
            return "nothing"
        return f"swap {path} {other}"
    if isinstance(parent[key], int) and not isinstance(parent[key], bool):
        parent[key] = rng.choice([parent[key] + 1, parent[key] - 1, parent[key] * 2, -parent[key], parent[key] * 10**4])
        return f"tweak {path} = {parent[key]}"
    parent[key] = rng.choice([*DIGITS])
    return f"huge {path}"


def render(meta: dict[str, Any], ensure_ascii: bool = True, indent: int | None = None) -> bytes:
    """model.json's bytes: lone surrogates as escapes (ASCII) or raw (invalid UTF-8), huge ints written."""
    text = json.dumps(meta, ensure_ascii=ensure_ascii, indent=indent)
    for placeholder, digits in DIGITS.items():
        text = text.replace(f'"{placeholder}"', digits)
    return text.encode("utf-8", "surrogatepass")


def mutate_bytes(rng: random.Random, raw: bytes) -> tuple[bytes, str]:
    at = rng.randrange(len(raw))
    op = rng.randrange(5)
    if op == 0:
        return raw[:at] + bytes([raw[at] ^ (1 << rng.randrange(8))]) + raw[at + 1 :], f"flip byte {at}"
    if op == 1:
        return raw[:at], f"truncate at {at}"
    if op == 2:
        end = min(len(raw), at + rng.randint(1, 64))
        return raw[:at] + raw[end:], f"cut {at}:{end}"
    if op == 3:
        other = rng.randrange(len(raw))
        return raw[:at] + raw[other : other + rng.randint(1, 64)] + raw[at:], f"splice at {at}"
    return raw[:at] + rng.randbytes(rng.randint(1, 8)) + raw[at:], f"insert at {at}"


def mutate_file(rng: random.Random, folder: Path, meta: dict[str, Any]) -> str:
    """Break one of the files model.json names (model.json itself stays valid)."""
    name = rng.choice(
        [meta["weights"]["file"], meta["vocab"]["module"], *([meta["scales"]["file"]] if "scales" in meta else [])]
    )
    target = folder / name
    if target.is_symlink() or not target.is_file() or target.stat().st_size == 0:  # changed by an earlier one
        return "nothing"
    raw = target.read_bytes()
    op = rng.randrange(9)
    if op == 0:
        target.write_bytes(raw[: rng.randrange(len(raw))])
        return f"truncate {name}"
    if op == 1:
        target.write_bytes(raw + rng.randbytes(rng.choice([1, 4, 8, 4096])))
        return f"extend {name}"
    if op == 2:
        at = rng.randrange(len(raw))
        target.write_bytes(raw[:at] + rng.randbytes(rng.randint(1, 16)) + raw[at + 16 :])
        return f"corrupt {name} at {at}"
    if op == 3:
        target.unlink()
        return f"delete {name}"
    if op == 4:
        target.unlink()
        target.mkdir()
        return f"directory {name}"
    if op == 5 and hasattr(os, "mkfifo"):
        target.unlink()
        os.mkfifo(target)
        return f"fifo {name}"
    if op == 6:
        target.unlink()
        target.symlink_to(rng.choice(["/dev/zero", "/dev/null", "missing-target", str(folder / "model.json")]))
        return f"symlink {name}"
    if op == 7 and name.endswith(".py"):
        text = raw.decode("utf-8", "surrogateescape")
        text = text.replace("VOCAB_SIZE: Final = ", "VOCAB_SIZE: Final = " + rng.choice(["9" * 5000, "-", "1e9", "x"]))
        target.write_bytes(text.encode("utf-8", "surrogateescape"))
        return f"vocab size in {name}"
    target.write_bytes(b"")
    return f"empty {name}"


def one_case(rng: random.Random, folder: Path, original: dict[str, Any]) -> str:
    meta = copy.deepcopy(original)
    kind = rng.randrange(4)
    if kind == 0:
        return "; ".join(mutate_file(rng, folder, meta) for _ in range(rng.randint(1, 2)))
    done = [mutate_tree(rng, meta) for _ in range(rng.randint(1, 3))]
    raw = render(meta, ensure_ascii=rng.random() < 0.7, indent=rng.choice([None, 2]))
    if kind == 1:
        raw, what = mutate_bytes(rng, raw)
        done.append(what)
    (folder / "model.json").write_bytes(raw)
    return "; ".join(done)


def restore(folder: Path, files: dict[str, bytes]) -> None:
    for child in folder.iterdir():
        if child.name not in files or not child.is_file() or child.is_symlink():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    for name, raw in files.items():
        (folder / name).write_bytes(raw)
    (folder / "sub").mkdir()  # a directory a file name may point at


def check_load(folder: Path) -> str:
    """'refused' or 'loaded'; any exception other than ModelFileError propagates."""
    try:
        generated = load(folder)
    except ModelFileError:
        return "refused"
    model = StaticModel(generated)  # a model that loads embeds text
    model.encode(["what is a static embedding?", "東京 " * 30, "word " * 400])
    model.encode("hello world")
    return "loaded"


def test_fuzzed_model_folders_raise_only_model_file_error(pristine: list[Path], tmp_path: Path) -> None:
    rng = random.Random(SEED)
    outcomes = {"refused": 0, "loaded": 0}
    for source in pristine:
        folder = Path(shutil.copytree(source, tmp_path / source.name))
        files = {p.name: p.read_bytes() for p in source.iterdir() if p.is_file()}
        original = json.loads(files["model.json"])
        for _ in range(LOADS // len(pristine)):
            restore(folder, files)
            what = one_case(rng, folder, original)
            try:
                outcomes[check_load(folder)] += 1
            except Exception as e:  # noqa: BLE001 - the failure report names the mutation
                pytest.fail(f"{source.name}: {what}: {type(e).__name__}: {e!s:.300}")
    assert sum(outcomes.values()) == LOADS // len(pristine) * len(pristine)
    assert outcomes["refused"] > LOADS // 2 and outcomes["loaded"] > 0, outcomes


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m["weights"].__setitem__("file", "\ud800.bin"),
        lambda m: m["vocab"].__setitem__("module", "\udcff.py"),
        lambda m: m.__setitem__("dim", "__HUGE__"),
        lambda m: m.__setitem__("vocab_size", "__HUGE__"),
        lambda m: m.update(vocab_size="__HUGE__", dim="__HUGE_NEG__"),
    ],
    ids=["surrogate-weights", "surrogate-vocab", "huge-dim", "huge-vocab-size", "huge-both"],
)
def test_issue_cases_name_file_and_field(pristine: list[Path], tmp_path: Path, change: Callable[..., None]) -> None:
    """The issue's reproductions: a UnicodeEncodeError and a plain ValueError on main."""
    folder = Path(shutil.copytree(pristine[0], tmp_path / "m"))
    meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    change(meta)
    (folder / "model.json").write_bytes(render(meta))
    with pytest.raises(ModelFileError, match=r"model\.json: field (weights|vocab|dim|vocab_size)"):
        load(folder)
