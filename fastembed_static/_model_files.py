"""Open a generated model: read and validate ``model.json``, read the generated vocabulary module as data, and map
the weights blob into memory read-only. The weights are never copied: the numpy array is a view of the mapping,
so only the pages of rows that texts actually use are ever read from disk.

Trust: nothing in a model folder is ever imported or executed (``vocab.py`` is parsed as data by
:func:`fastembed_static.gen.layout.parse_vocab_module`; no ``__pycache__`` is read or written there). Every field
of ``model.json`` is checked (types, ranges, sizes against each other and against the files, every token id against
the table) before anything is used; every failure is a :class:`ModelFileError` naming the file and the field.
Files are opened without blocking and must be regular files (a FIFO or a device is refused, never waited on).
"""

from __future__ import annotations

import json
import math
import mmap
import os
import stat
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from .errors import ModelFileError
from .gen.layout import FORMAT, MODEL_JSON, STORAGE, parse_vocab_module, sha256_file

_DTYPES: dict[str, np.dtype[Any]] = {name: np.dtype(numpy_dtype) for name, (numpy_dtype, _) in STORAGE.items()}
_MAX_JSON_BYTES = 64 << 20
_MAX_VOCAB_BYTES = 1 << 30
_HEX = frozenset("0123456789abcdef")
_LOAD_ATTEMPTS = 10  # a generator replacing the model between reading model.json and opening its files: read again


class GeneratedModel(NamedTuple):  # not a dataclass: dataclasses imports inspect, slow at cold start
    path: Path
    metadata: dict[str, Any]
    tokens: list[str]
    weights: npt.NDArray[Any]  # (vocab_size, dim) float32/float16/int8, a read-only view of the mapped file
    scales: npt.NDArray[np.float32] | None  # int8 only: per-dimension scale, applied to each summed vector
    extras: dict[str, str] = {}  # noqa: RUF012 - the vocabulary module's optional names (SCORES, MERGES), decoded

    @property
    def tokenizer_config(self) -> dict[str, Any]:
        config: dict[str, Any] = self.metadata["tokenizer"]
        return config


class _Vanished(Exception):
    """A file model.json names disappeared (a concurrent regeneration replaced the model)."""

    def __init__(self, error: ModelFileError) -> None:
        self.error = error


def load(path: Path) -> GeneratedModel:
    meta_path = path / MODEL_JSON
    for attempt in range(_LOAD_ATTEMPTS):
        raw = _read_regular(meta_path, _MAX_JSON_BYTES, "model.json")
        metadata = _parse_json(meta_path, raw)
        check_metadata(meta_path, metadata)
        opened: list[tuple[Path, int]] = []  # every file this attempt read or mapped, its descriptor kept open
        try:
            files = _read_files(path, metadata, opened)
            # Consistent when model.json is unchanged and every name it gives is still the very file that was read.
            # A generator swaps model.json last, so a file named by a model.json holds what that model.json
            # describes; each regeneration puts a new file (a new inode) under a name, never an earlier one back,
            # and an inode held open cannot be reused. So "same bytes in model.json" alone is not enough (two
            # regenerations, A -> B -> A, restore them while the weights read are B's), and "same inode" closes it.
            # Parsing waits until after this check, which keeps the window a regeneration can fall into short.
            consistent = _read_regular(meta_path, _MAX_JSON_BYTES, "model.json") == raw and all(
                _still_named(name, fd) for name, fd in opened
            )
        except _Vanished as e:
            if attempt == _LOAD_ATTEMPTS - 1 or _read_regular(meta_path, _MAX_JSON_BYTES, "model.json") == raw:
                raise e.error from None
            consistent = False
        finally:
            for _, fd in opened:
                os.close(fd)
        if consistent:
            return _build(path, metadata, *files)
    raise ModelFileError(meta_path, f"changed {_LOAD_ATTEMPTS} times while it was loaded (being regenerated?)")


def _still_named(path: Path, fd: int) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (same device and inode)."""
    try:
        now = os.stat(path)
    except OSError:
        return False
    then = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (then.st_dev, then.st_ino)


_Vocab = (
    tuple[list[str], int, dict[str, str]] | bytes
)  # parsed (a bundled model's, imported), or the module's bytes to parse


def _read_files(
    path: Path, metadata: dict[str, Any], opened: list[tuple[Path, int]]
) -> tuple[_Vocab, npt.NDArray[Any], bytes | None]:
    """Read (or map) the files a checked ``metadata`` names, without parsing them; each one opened is appended to
    ``opened``, still open."""
    vocab_path = path / metadata["vocab"]["module"]
    vocab = _bundled_vocab(vocab_path) or _read_regular(vocab_path, _MAX_VOCAB_BYTES, "vocabulary module", opened)
    rows, dim = metadata["vocab_size"], metadata["dim"]
    dtype = _DTYPES[metadata["dtype"]]
    weights = _map_weights(path / metadata["weights"]["file"], rows, dim, dtype, metadata["weights"]["bytes"], opened)
    scales = None
    if metadata["dtype"] == "int8":
        scales = _read_regular(path / metadata["scales"]["file"], dim * 4 + 1, "int8 scales", opened)
    return vocab, weights, scales


def _build(
    path: Path, metadata: dict[str, Any], vocab: _Vocab, weights: npt.NDArray[Any], scales_raw: bytes | None
) -> GeneratedModel:
    """Parse and cross-check what :func:`_read_files` read; raise ModelFileError naming the file at fault."""
    meta_path = path / MODEL_JSON
    vocab_path = path / metadata["vocab"]["module"]
    tokens, size, extras = _parse_vocab(vocab_path, vocab) if isinstance(vocab, bytes) else vocab
    if not len(tokens) == size == metadata["vocab"]["tokens"]:
        raise ModelFileError(
            vocab_path,
            f"vocabulary has {len(tokens)} tokens, VOCAB_SIZE says {size}, model.json vocab.tokens says "
            f"{metadata['vocab']['tokens']}",
        )
    unk_id, unk_token = metadata["tokenizer"]["unk_id"], metadata["tokenizer"]["unk_token"]
    if unk_id is not None and unk_id < len(tokens) and tokens[unk_id] != unk_token:
        raise ModelFileError(
            meta_path, f"field tokenizer.unk_token: {unk_token!r} is not token {unk_id} ({tokens[unk_id]!r})"
        )
    scales = None
    if scales_raw is not None:
        dim = metadata["dim"]
        scales = np.frombuffer(scales_raw, dtype="<f4").astype(np.float32) if len(scales_raw) % 4 == 0 else None
        if scales is None or scales.shape != (dim,) or not np.isfinite(scales).all():
            raise ModelFileError(
                path / metadata["scales"]["file"], f"expected {dim} finite float32 scales ({dim * 4} bytes)"
            )
    kind = metadata["tokenizer"].get("model")
    if kind == "BPE":
        _check_bpe_vocab(vocab_path, metadata["tokenizer"], tokens, extras)
    elif kind == "Unigram":
        _check_scores(vocab_path, extras, len(tokens))
    return GeneratedModel(path, metadata, tokens, weights, scales, extras)


def _check_scores(path: Path, extras: dict[str, str], count: int) -> None:
    text = extras.get("SCORES")
    if text is None:
        raise ModelFileError(path, "a Unigram vocabulary module must define SCORES")
    parts = text.split(" ")
    if len(parts) != count:
        raise ModelFileError(path, f"SCORES holds {len(parts)} scores for {count} tokens")
    try:
        scores = [float(p) for p in parts]
    except ValueError as e:
        raise ModelFileError(path, f"SCORES is not a list of numbers: {e}") from None
    if not all(math.isfinite(s) for s in scores):
        raise ModelFileError(path, "SCORES holds a value that is not finite")


def _read_regular(path: Path, limit: int, what: str, opened: list[tuple[Path, int]] | None = None) -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``limit`` bytes (opened without blocking,
    so a FIFO is refused instead of hanging). With ``opened``, the descriptor is appended to it, left open."""
    fd = _open_regular(path, what)
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            raise ModelFileError(path, f"{what} is {size} bytes, more than the {limit} this file may have")
        with os.fdopen(os.dup(fd), "rb") as f:
            return f.read(limit + 1)
    except OSError as e:
        raise ModelFileError(path, f"cannot read {what}: {e}") from e
    finally:
        if opened is None:
            os.close(fd)
        else:
            opened.append((path, fd))


def _open_regular(path: Path, what: str) -> int:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError as e:
        verb = "are" if what.endswith("scales") else "is"
        missing = (
            "missing: not a generated fastembed-static model" if path.name == MODEL_JSON else f"{what} {verb} missing"
        )
        error = ModelFileError(path, missing)
        if path.name == MODEL_JSON:
            raise error from e
        raise _Vanished(error) from e
    except OSError as e:
        raise ModelFileError(path, f"cannot open {what}: {e}") from e
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise ModelFileError(path, f"{what} is not a regular file (mode {stat.filemode(mode)})")
    return fd


def _parse_json(path: Path, raw: bytes) -> dict[str, Any]:
    try:
        metadata = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ModelFileError(path, f"unreadable or corrupt: {e}") from e
    except RecursionError:
        raise ModelFileError(path, "unreadable or corrupt: JSON nested too deeply") from None
    if not isinstance(metadata, dict):
        raise ModelFileError(path, f"expected a JSON object, found {type(metadata).__name__}")
    return metadata


def _show(value: object) -> str:
    """``repr(value)``, at most 80 characters, for an error message about any JSON value: an int of more digits
    than Python converts to text (``sys.get_int_max_str_digits``), even nested in a list, cannot be printed."""
    try:
        return repr(value)[:80]
    except (ValueError, RecursionError):
        if isinstance(value, int):
            return f"an int of about {int(value.bit_length() * 0.30103) + 1} digits"
        return f"a {type(value).__name__} too large to print"


def _field(path: Path, obj: Any, key: str, where: str, kind: type | tuple[type, ...]) -> Any:
    name = f"{where}.{key}" if where else key
    if not isinstance(obj, dict) or key not in obj:
        raise ModelFileError(path, f"field {name} is missing")
    value = obj[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ModelFileError(path, f"field {name} must be {expected}, found {_show(value)}")
    return value


def _int(path: Path, obj: Any, key: str, where: str, low: int, high: int | None = None) -> int:
    value: int = _field(path, obj, key, where, int)
    if value < low or (high is not None and value >= high):
        span = f">= {low}" if high is None else f"in {low}..{high - 1}"
        raise ModelFileError(path, f"field {where + '.' if where else ''}{key} must be {span}, found {_show(value)}")
    return value


def _file_name(path: Path, obj: Any, where: str, key: str = "file") -> str:
    name: str = _field(path, obj, key, where, str)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate ("\ud800" in the JSON): no file can have that name
        raise ModelFileError(path, f"field {where}.{key} is not valid Unicode, found {name!r:.80}") from None
    if not name or name in (".", "..") or any(c in name for c in "/\\\x00:") or name.startswith("__pycache__"):
        raise ModelFileError(path, f"field {where}.{key} must be a plain file name in the model folder, found {name!r}")
    return name


def _sha256(path: Path, obj: Any, where: str) -> None:
    value: str = _field(path, obj, "sha256", where, str)
    if len(value) != 64 or not _HEX.issuperset(value):
        raise ModelFileError(path, f"field {where}.sha256 must be 64 lowercase hex digits, found {_show(value)}")


def check_metadata(path: Path, meta: dict[str, Any]) -> None:
    """Validate every field of a parsed ``model.json`` the runtime uses; raise ModelFileError naming the field."""
    if meta.get("format") != FORMAT:
        raise ModelFileError(
            path, f"field format is {_show(meta.get('format'))}, this version of fastembed-static reads {FORMAT!r}"
        )
    rows = _int(path, meta, "vocab_size", "", 1)
    dim = _int(path, meta, "dim", "", 1)
    dtype = _field(path, meta, "dtype", "", str)
    if dtype not in STORAGE:
        raise ModelFileError(path, f"field dtype must be one of {', '.join(STORAGE)}, found {_show(dtype)}")
    if meta.get("byte_order", "little") != "little":
        raise ModelFileError(path, f"field byte_order must be 'little', found {_show(meta.get('byte_order'))}")
    _field(path, meta, "normalize", "", bool)
    weights = _field(path, meta, "weights", "", dict)
    _file_name(path, weights, "weights")
    expected_bytes = rows * dim * _DTYPES[dtype].itemsize
    _int(path, weights, "bytes", "weights", 0)
    if weights["bytes"] != expected_bytes:
        raise ModelFileError(
            path,
            f"field weights.bytes is {_show(weights['bytes'])}, but vocab_size x dim x itemsize = {_show(rows)} x "
            f"{_show(dim)} x {_DTYPES[dtype].itemsize} = {_show(expected_bytes)}",
        )
    _sha256(path, weights, "weights")
    vocab = _field(path, meta, "vocab", "", dict)
    module = _file_name(path, vocab, "vocab", "module")
    if not module.endswith(".py"):
        raise ModelFileError(path, f"field vocab.module must name a .py file, found {module!r}")
    tokens = _int(path, vocab, "tokens", "vocab", 1, rows + 1)
    _sha256(path, vocab, "vocab")
    if dtype == "int8":
        scales = _field(path, meta, "scales", "", dict)
        _file_name(path, scales, "scales")
        _sha256(path, scales, "scales")
    tok = _field(path, meta, "tokenizer", "", dict)
    kind = tok.get("model", "WordPiece")
    if kind == "BPE":
        _check_bpe_tokenizer(path, tok, rows)
    elif kind == "WordPiece":
        _check_wordpiece_tokenizer(path, tok, rows)
    elif kind == "Unigram":
        _check_unigram_tokenizer(path, tok, rows)
    else:
        raise ModelFileError(
            path, f"field tokenizer.model must be 'WordPiece', 'Unigram' or 'BPE', found {_show(kind)}"
        )
    top = tokens
    for i, entry in enumerate(_field(path, tok, "added_tokens", "tokenizer", list)):
        where = f"tokenizer.added_tokens[{i}]"
        if not _field(path, entry, "content", where, str):
            raise ModelFileError(path, f"field {where}.content must not be empty")
        top = max(top, _int(path, entry, "id", where, 0, rows) + 1)
        _field(path, entry, "special", where, bool)
        for flag in ("lstrip", "rstrip"):
            if kind == "WordPiece" and flag in entry:
                raise ModelFileError(path, f"field {where}.{flag} is not supported for WordPiece")
            if flag in entry:
                _field(path, entry, flag, where, bool)
        if "normalized" in entry:
            if kind != "BPE":
                raise ModelFileError(path, f"field {where}.normalized is supported for BPE only")
            _field(path, entry, "normalized", where, bool)
    if top != rows:
        raise ModelFileError(
            path,
            f"field vocab_size is {rows}, but the table rows must be the {tokens} vocabulary tokens plus added "
            f"tokens past their end: {top}",
        )
    truncation = _field(path, tok, "truncation", "tokenizer", (dict, type(None)))
    if truncation is not None:
        _int(path, truncation, "max_length", "tokenizer.truncation", 0)
        if truncation.get("direction") not in ("left", "right"):
            raise ModelFileError(path, "field tokenizer.truncation.direction must be 'left' or 'right'")
    special = meta.get("special_token_ids", {})
    if not isinstance(special, dict):
        raise ModelFileError(path, "field special_token_ids must be an object")
    for name in special:
        _int(path, special, name, "special_token_ids", 0, rows)


def _check_wordpiece_tokenizer(path: Path, tok: dict[str, Any], rows: int) -> None:
    for flag in ("clean_text", "handle_chinese_chars", "strip_accents", "lowercase"):
        _field(path, tok, flag, "tokenizer", bool)
    _field(path, tok, "unk_token", "tokenizer", str)
    _int(path, tok, "unk_id", "tokenizer", 0, rows)
    _field(path, tok, "continuing_subword_prefix", "tokenizer", str)
    _int(path, tok, "max_input_chars_per_word", "tokenizer", 0)


_NAMED_STEPS = ("NFC", "NFD", "NFKC", "NFKD", "StripAccents", "Lowercase", "Nmt")  # _unicode_forms.NAMED_STEPS
_DELETING_STEPS = ("StripAccents", "Nmt")  # _unicode_forms.DELETING_STEPS


def _check_bpe_tokenizer(path: Path, tok: dict[str, Any], rows: int) -> None:
    """The fields of a BPE model's ``tokenizer`` object (written by ``gen/bpe_spec.py``)."""
    for i, step in enumerate(_field(path, tok, "normalizers", "tokenizer", list)):
        where = f"tokenizer.normalizers[{i}]"
        if isinstance(step, dict) and step.get("type") in ("Replace", "Prepend"):
            _check_step(path, step, where)
        elif step not in _NAMED_STEPS:
            raise ModelFileError(
                path,
                f"field {where} must be one of {', '.join(_NAMED_STEPS)} or a Replace or Prepend step, found"
                f" {_show(step)}",
            )
    pre = _field(path, tok, "pre_tokenizer", "tokenizer", (dict, type(None)))
    where = "tokenizer.pre_tokenizer"
    if pre is not None and pre.get("type") == "Metaspace":
        replacement = _field(path, pre, "replacement", where, str)
        if len(replacement) != 1 or replacement == " ":
            raise ModelFileError(path, f"field {where}.replacement must be one character other than a space")
        if pre.get("prepend_scheme") not in ("first", "always", "never"):
            raise ModelFileError(path, f"field {where}.prepend_scheme must be 'first', 'always' or 'never'")
        deleting = [step for step in tok["normalizers"] if step in _DELETING_STEPS]
        if pre["prepend_scheme"] == "first" and deleting:
            raise ModelFileError(
                path,
                f"field tokenizer.normalizers: {deleting[0]} deletes characters, unsupported before prepend_scheme first",
            )
        _field(path, pre, "split", where, bool)
    elif pre is not None and pre.get("type") == "ByteLevel":
        for flag in ("add_prefix_space", "use_regex"):
            _field(path, pre, flag, where, bool)
    elif pre is not None:
        raise ModelFileError(
            path,
            f"field {where}.type must be 'ByteLevel' or 'Metaspace' (or the field null), found {_show(pre.get('type'))}",
        )
    unk_token = _field(path, tok, "unk_token", "tokenizer", (str, type(None)))
    if unk_token is None:
        if tok.get("unk_id", 0) is not None:
            raise ModelFileError(path, "field tokenizer.unk_id must be null when tokenizer.unk_token is null")
    else:
        _int(path, tok, "unk_id", "tokenizer", 0, rows)
    for key in ("continuing_subword_prefix", "end_of_word_suffix"):
        _field(path, tok, key, "tokenizer", str)
    for flag in ("fuse_unk", "byte_fallback", "ignore_merges"):
        _field(path, tok, flag, "tokenizer", bool)
    _int(path, tok, "merges", "tokenizer", 0)


def _check_bpe_vocab(path: Path, tok: dict[str, Any], tokens: list[str], extras: dict[str, str]) -> None:
    """MERGES of a BPE vocabulary module: ``tokenizer.merges`` pairs of ids, each merged token in the vocabulary
    (so the tokenizer core can be built from it without a KeyError)."""
    if "MERGES" not in extras:
        raise ModelFileError(path, "a BPE vocabulary module must define MERGES")
    text = extras["MERGES"]
    fields = text.split(" ") if text else []
    if not all(f.isascii() and f.isdigit() and str(int(f)) == f for f in fields):
        raise ModelFileError(path, "MERGES must be decimal token ids separated by single spaces")
    ids = [int(f) for f in fields]
    if len(ids) != 2 * tok["merges"]:
        raise ModelFileError(
            path, f"MERGES holds {len(ids)} ids, model.json tokenizer.merges says {tok['merges']} pairs"
        )
    vocab = set(tokens)
    strip = len(tok["continuing_subword_prefix"])
    for k in range(0, len(ids), 2):
        left, right = ids[k], ids[k + 1]
        if left >= len(tokens) or right >= len(tokens) or tokens[left] + tokens[right][strip:] not in vocab:
            raise ModelFileError(path, f"MERGES pair {k // 2} ({left}, {right}) does not merge into a vocabulary token")


def _check_unigram_tokenizer(path: Path, tok: dict[str, Any], rows: int) -> None:
    """The fields of a Unigram model's ``tokenizer`` object (written by ``gen/unigram_spec.py``)."""
    if rows >= UNIGRAM_MAX_ROWS:
        raise ModelFileError(
            path, f"field vocab_size is {rows}: a Unigram vocabulary holds fewer than {UNIGRAM_MAX_ROWS} tokens"
        )
    _field(path, tok, "unk_token", "tokenizer", str)
    _int(path, tok, "unk_id", "tokenizer", 0, rows)
    for flag in ("byte_fallback", "whitespace_split", "split"):
        _field(path, tok, flag, "tokenizer", bool)
    replacement = _field(path, tok, "replacement", "tokenizer", str)
    if len(replacement) != 1 or replacement == " ":
        raise ModelFileError(path, "field tokenizer.replacement must be one character other than a space")
    if tok.get("prepend_scheme") not in ("first", "always", "never"):
        raise ModelFileError(path, "field tokenizer.prepend_scheme must be 'first', 'always' or 'never'")
    charsmap = _field(path, tok, "charsmap", "tokenizer", (dict, type(None)))
    if charsmap is not None and not all(isinstance(k, str) and k and isinstance(v, str) for k, v in charsmap.items()):
        raise ModelFileError(path, "field tokenizer.charsmap must map non-empty strings to strings")
    for i, step in enumerate(_field(path, tok, "normalizers", "tokenizer", list)):
        where = f"tokenizer.normalizers[{i}]"
        kind = _field(path, step, "type", where, str)
        if kind == "Precompiled":
            if charsmap is None:
                raise ModelFileError(path, f"field {where} is Precompiled but tokenizer.charsmap is null")
        elif kind == "Strip":
            _field(path, step, "left", where, bool)
            _field(path, step, "right", where, bool)
        elif kind not in ("Replace", "Prepend") and kind not in _NAMED_STEPS:
            raise ModelFileError(path, f"field {where}.type {kind!r} is not a supported Unigram normalizer")
        _check_step(path, step, where)


def _check_step(path: Path, step: dict[str, Any], where: str) -> None:
    """A ``Replace`` or ``Prepend`` normalizer step (Unigram and BPE; other kinds are checked by the caller)."""
    kind = step.get("type")
    if kind == "Replace":
        pattern = _field(path, step, "pattern", where, str)
        _field(path, step, "content", where, str)
        if _field(path, step, "regex", where, bool) and pattern not in _REGEX_PATTERNS:
            raise ModelFileError(path, f"field {where}.pattern: regex {pattern!r} is not supported")
        if not pattern:
            raise ModelFileError(path, f"field {where}.pattern must not be empty")
    elif kind == "Prepend":
        _field(path, step, "prepend", where, str)


_REGEX_PATTERNS = frozenset({" {2,}"})
UNIGRAM_MAX_ROWS = 0x10FFFF  # the Unigram core's trie stores token ids in code points (_unigram.TRIE_EMPTY)


_PACKAGE_DIR = Path(__file__).resolve().parent
_BUNDLED_DIR = _PACKAGE_DIR / "_models"


def _parse_vocab(path: Path, raw: bytes) -> tuple[list[str], int, dict[str, str]]:
    try:
        return parse_vocab_module(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ModelFileError(path, f"vocabulary module is corrupt (it is read as data, never run): {e}") from e


def _bundled_vocab(path: Path) -> tuple[list[str], int, dict[str, str]] | None:
    """The vocabulary of a model bundled in this package (``fastembed_static/_models/NAME``), imported as the
    package code it is (its bytecode was compiled at install time: ~3x faster than parsing at cold start). Any
    other folder, or anything unexpected, returns None and the module is read as data."""
    folder = path.parent
    if not path.name.endswith(".py") or not path.stem.isidentifier() or folder.resolve().parent != _BUNDLED_DIR:
        return None
    import importlib

    try:
        module = importlib.import_module(f"{__package__}._models.{folder.name}.{path.stem}")
        if Path(str(module.__file__)).resolve() != path.resolve():
            return None
        if hasattr(module, "SCORES") or hasattr(module, "MERGES"):
            return None  # read as data, which decodes the optional names
        tokens: list[str] = module.TOKENS.split(module.SEPARATOR)
        return tokens, int(module.VOCAB_SIZE), {}
    except Exception:  # noqa: BLE001 - fall back to reading it as data, which reports any problem
        return None


def _map_weights(
    path: Path, rows: int, dim: int, dtype: np.dtype[Any], expected_bytes: int, opened: list[tuple[Path, int]]
) -> Any:
    fd = _open_regular(path, "weights file")
    try:
        size = os.fstat(fd).st_size
        if size != expected_bytes:
            raise ModelFileError(
                path, f"weights file has {size} bytes, expected {expected_bytes} (truncated or corrupt)"
            )
        mapped = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    except OSError as e:
        raise ModelFileError(path, f"cannot map weights file: {e}") from e
    finally:
        opened.append((path, fd))
    return np.frombuffer(mapped, dtype=dtype).reshape(rows, dim)


def verify_checksums(model: GeneratedModel) -> None:
    """Hash every generated file (weights, vocabulary, int8 scales) and compare with model.json, and check that
    every value of the table is finite (reads every byte: not done at load)."""
    meta = model.metadata
    for entry in (meta["weights"], meta.get("scales"), {"file": meta["vocab"]["module"], **meta["vocab"]}):
        if entry is None:
            continue
        path = model.path / entry["file"]
        try:
            actual = sha256_file(path)
        except OSError as e:
            raise ModelFileError(path, f"cannot read: {e}") from e
        if actual != entry["sha256"]:
            raise ModelFileError(path, f"sha256 is {actual}, model.json says {entry['sha256']}")
    table = model.weights
    if table.dtype.kind == "f":
        step = max(1, (1 << 22) // max(1, table.shape[1] * table.dtype.itemsize))
        for first in range(0, table.shape[0], step):
            block = table[first : first + step]
            if not np.isfinite(block).all():
                row = first + int(np.flatnonzero(~np.isfinite(block).all(axis=1))[0])
                raise ModelFileError(model.path / meta["weights"]["file"], f"row {row} has a value that is not finite")
