"""The ``fastembed-static`` command: ``embed`` texts, ``gen`` a model, ``info`` about a model, ``bench`` its speed."""

from __future__ import annotations

import argparse
import codecs
import json
import os
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import numpy.typing as npt

from .errors import HubError, ModelFileError
from .model import StaticModel

PROGRESS_THRESHOLD = 5000  # texts; fewer finish too fast for a progress bar to help


PROG = "fastembed-static"
SIGPIPE_STATUS = 128 + 13  # what a shell reports for a POSIX tool killed by SIGPIPE (`yes | head -1`)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit status: 0 done, 2 an error (one line on stderr), 130 interrupted, 141 stdout was
    closed early (``... | head -1``: the rest of the output is dropped quietly, as POSIX tools do)."""
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            args = _parser().parse_args(argv)
            result: int = args.run(args)
        sys.stdout.flush()  # inside the try: a reader that left shows up here for short outputs
        return result
    except BrokenPipeError:
        return _stdout_closed()
    except (ModelFileError, HubError, ImportError, OSError, ValueError, TypeError) as e:
        print(f"{PROG}: error: {_message(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _message(error: BaseException) -> str:
    """One line: an OSError as ``file: reason`` (not ``[Errno 2] ...: 'file'``), anything else as its text."""
    if isinstance(error, OSError) and error.strerror and error.filename is not None:
        return f"{error.filename}: {error.strerror}"
    return str(error)


def _stdout_closed() -> int:
    """The reader of stdout went away: point stdout at /dev/null so that the flush at exit does not fail again
    (the recipe of Python's signal documentation), and exit with the status of a tool killed by SIGPIPE."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real stdout (embedded use): nothing left to flush
        pass
    return SIGPIPE_STATUS


def _show_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None, line: Any = None
) -> None:
    """A warning as one line on stderr, like the errors (not Python's ``file:line: UserWarning:`` and source)."""
    print(f"{PROG}: warning: {message}", file=sys.stderr)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is two lines (the error, and where to find the usage), not the full usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\nRun '{self.prog} --help' for usage.\n")


def _model_name(value: str) -> str:
    """A model argument: an empty string is refused (it would be read as the current directory)."""
    if not value.strip():
        raise argparse.ArgumentTypeError("empty: give a model folder (e.g. ./my-model) or a hub id owner/name")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=__doc__)
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    embed = sub.add_parser("embed", help="embed texts (arguments, or --input FILE with one text per line)")
    embed.add_argument("texts", nargs="*", help="texts to embed")
    embed.add_argument("--input", type=Path, help="UTF-8 file with one text per line ('-' for stdin)")
    embed.add_argument("--output", type=Path, help="write an (n, dim) float32 .npy file (atomically)")
    embed.add_argument(
        "--model", type=_model_name, help="model directory or hub id owner/name (default: the bundled model)"
    )
    embed.add_argument(
        "--dim", type=int, help="keep the first DIM dimensions (Matryoshka), as sentence-transformers' truncate_dim"
    )
    norm = embed.add_mutually_exclusive_group()
    norm.add_argument(
        "--normalize",
        dest="normalize",
        action="store_true",
        default=None,
        help="unit vectors after --dim (sentence-transformers' normalize_embeddings=True); default: the model's own"
        " normalization, of the full vector, before --dim",
    )
    norm.add_argument("--no-normalize", dest="normalize", action="store_false", help="the raw mean of the token rows")
    embed.add_argument("--batch-size", type=int, default=1024)
    embed.add_argument("--quiet", action="store_true", help="no progress bar")
    _hub_options(embed)
    embed.set_defaults(run=_embed)

    gen = sub.add_parser(
        "gen", help="generate a model from a sentence-transformers or model2vec model directory or hub id"
    )
    gen.add_argument(
        "model",
        type=_model_name,
        help="model directory, or hub id such as sentence-transformers/static-retrieval-mrl-en-v1",
    )
    gen.add_argument("--out", type=Path, help="output directory (replaced atomically; default: the cache)")
    gen.add_argument(
        "--dims",
        type=int,
        help="bake in only the first DIMS dimensions (a smaller table; a normalizing model then gives unit vectors"
        " of DIMS values)",
    )
    gen.add_argument(
        "--dtype",
        choices=["float32", "float16", "int8"],
        default="float32",
        help="table storage (default exact float32)",
    )
    _hub_options(gen)
    gen.set_defaults(run=_gen)

    info = sub.add_parser("info", help="describe a model (default: the bundled model)")
    info.add_argument("model", nargs="?", type=_model_name, help="model directory or hub id")
    _hub_options(info)
    info.set_defaults(run=_info)

    from ._selfbench import add_parser as add_bench_parser

    add_bench_parser(sub)
    return parser


def _hub_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--revision", default="main", help="hub branch, tag or commit (default: main)")
    parser.add_argument("--offline", action="store_true", default=None, help="use only the cache (or HF_HUB_OFFLINE=1)")
    parser.add_argument("--force-refresh", action="store_true", help="ask the hub whether a cached branch moved")
    parser.add_argument("--cache-dir", type=Path, help="default: $FASTEMBED_STATIC_CACHE or ~/.cache/fastembed-static")


def _hub_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The hub options of a command, as keyword arguments of from_pretrained and snapshot_download."""
    return {
        "revision": args.revision,
        "offline": args.offline,
        "force_refresh": args.force_refresh,
        "cache_dir": args.cache_dir,
    }


def _load(model: str | None, args: argparse.Namespace) -> StaticModel:
    return StaticModel.default() if model is None else StaticModel.from_pretrained(model, **_hub_kwargs(args))


def _version() -> str:
    """The installed distribution's version (importlib.metadata), else the package's own."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fastembed-static")
    except PackageNotFoundError:
        from . import __version__

        return __version__


def _read_lines(source: Path) -> list[str]:
    """The lines of a UTF-8 file (a leading byte order mark, as Windows editors write, is not part of the text)."""
    raw = sys.stdin.buffer.read() if str(source) == "-" else source.read_bytes()
    skip = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    try:
        text = raw[skip:].decode("utf-8")
    except UnicodeDecodeError as e:
        at = skip + e.start
        line = raw[:at].count(b"\n") + 1
        raise ValueError(f"{source}: line {line} is not valid UTF-8 ({e.reason} at byte {at})") from None
    if not text:
        return []
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line does not start another text
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _embed(args: argparse.Namespace) -> int:
    if args.input is not None and args.texts:
        raise ValueError("give texts as arguments or with --input, not both")
    if args.input is None and not args.texts:
        raise ValueError("no texts to embed: pass texts as arguments or --input FILE")
    # an empty --input file is an empty list of texts: an empty output (no lines, or a (0, dim) .npy)
    texts: list[str] = _read_lines(args.input) if args.input is not None else list(args.texts)
    if args.output is not None and args.output.suffix != ".npy":
        raise ValueError(f"--output must end with .npy, got {args.output}")
    model = _load(args.model, args)
    show = not args.quiet and len(texts) >= PROGRESS_THRESHOLD
    vectors = model.encode(
        texts, batch_size=args.batch_size, normalize=args.normalize, dim=args.dim, show_progress_bar=show
    )
    if args.output is not None:
        save_npy_atomically(args.output, vectors)
        print(f"wrote {vectors.shape[0]} x {vectors.shape[1]} float32 to {args.output}", file=sys.stderr)
    else:
        write = sys.stdout.write
        for text, vector in zip(texts, vectors):
            write(f'{{"text": {json.dumps(text, ensure_ascii=False)}, "embedding": {json_floats(vector)}}}\n')
    return 0


def json_floats(vector: npt.NDArray[np.float32]) -> str:
    """A JSON array of float32 values, each written as the shortest decimal that reads back (as a double, cast to
    float32) as exactly that value: numpy's ``str`` of a float32 scalar (Dragon4, unique mode). Non-finite values
    (a model whose table holds them) are written as Python's json writes them (NaN, Infinity)."""
    if not np.isfinite(vector).all():
        return json.dumps([float(x) for x in vector])
    return f"[{', '.join(map(str, vector))}]"


def save_npy_atomically(path: Path, array: npt.NDArray[np.float32]) -> None:
    """Write to a temporary file beside ``path``, fsync, then rename: ``path`` is never left half-written. A failure
    names ``path`` (the temporary file is the writer's own business)."""
    try:
        directory = path.resolve().parent
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as e:
        reason = "its folder does not exist" if isinstance(e, FileNotFoundError) else e.strerror or str(e)
        raise OSError(e.errno, f"cannot write: {reason}", str(path)) from e
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, array)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise OSError(e.errno, f"cannot write: {e.strerror or e}", str(path)) from e
        raise


def _gen(args: argparse.Namespace) -> int:
    from .gen import generate
    from .gen.layout import hub_origin

    if args.out is None:  # generate into the cache, as from_pretrained does
        if args.dtype != "float32":
            raise ValueError("--dtype needs --out (the cache holds float32 models)")
        model = StaticModel.from_pretrained(args.model, dims=args.dims, **_hub_kwargs(args))
        out = model.path
    else:
        from ._generated_cache import is_hub_id

        source, origin = Path(args.model), None
        if not is_hub_id(args.model) and not source.exists():
            raise ModelFileError(source, "model directory does not exist (and it is not a hub id owner/name)")
        if is_hub_id(args.model):  # owner/name is a hub id even if such a folder exists here: ./owner/name is not
            from . import hub

            snapshot = hub.snapshot_download(args.model, **_hub_kwargs(args))
            source = snapshot.source_dir
            origin = hub_origin(snapshot.repo_id, snapshot.revision, snapshot.commit)
        out = generate(source, args.out, dims=args.dims, dtype=args.dtype, origin=origin)
        model = StaticModel.from_pretrained(out)
    print(f"generated {out}: {model.vocab_size} tokens x {model.dim} dims")
    return 0


def _info(args: argparse.Namespace) -> int:
    model = _load(args.model, args)
    meta = model.metadata
    weights = model.path / meta["weights"]["file"]
    print(f"path:        {model.path}")
    source = meta["source"]
    print(f"source:      {source['layout']} model {source.get('name', source.get('path'))!r}")
    if "repo_id" in source:
        print(f"hub:         {source['repo_id']} revision {source['revision']} (commit {source['commit']})")
    print(f"vocab size:  {model.vocab_size}")
    print(f"dims:        {model.dim}")
    print(f"dtype:       {meta['dtype']}")
    print(f"normalize:   {meta['normalize']}")
    print(f"weights:     {weights.name}, {weights.stat().st_size} bytes, sha256 {meta['weights']['sha256']}")
    print(f"generator:   version {meta['generator_version']}")
    for name, digest in meta["source"]["sha256"].items():
        print(f"source file: {name} sha256 {digest}")
    return 0
