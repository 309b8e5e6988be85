"""The ``fastembed-static`` command: ``embed`` texts, ``gen`` a model, ``info`` about a model, ``bench`` its speed."""

from __future__ import annotations

import argparse
import itertools
import os
import re
import sys
import time
import warnings
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

from ._parts import json_floats, json_line
from .errors import HubError, ModelFileError
from .model import StaticModel

__all__ = ["json_floats", "main"]


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

    embed = sub.add_parser(
        "embed", help="embed texts: arguments, or --input FILE (text lines, JSON Lines, CSV, Parquet), streamed"
    )
    embed.add_argument("texts", nargs="*", help="texts to embed")
    embed.add_argument(
        "--input",
        type=Path,
        help="a file of texts ('-' for stdin): UTF-8 text lines, JSON Lines (.jsonl), CSV (.csv) or Parquet (.parquet)",
    )
    embed.add_argument(
        "--input-format",
        choices=["text", "jsonl", "csv", "parquet"],
        help="the input's format (default: by its extension; anything else, and stdin, is text lines)",
    )
    embed.add_argument("--field", help="JSON Lines: the field that holds the text (default: text)")
    embed.add_argument("--column", help="CSV, Parquet: the column that holds the text (default: text)")
    embed.add_argument(
        "--id-column", help="the input field or column written as the id of a .parquet output (default: row number)"
    )
    embed.add_argument(
        "--output",
        type=Path,
        help="write .npy (n x dim float32), .parquet (id, embedding) or .jsonl, in resumable parts, atomically",
    )
    embed.add_argument("--keep-text", action="store_true", help="a .parquet output also holds the text")
    embed.add_argument(
        "--resume", action="store_true", help="go on from the parts an interrupted run with the same arguments left"
    )
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
    embed.add_argument(
        "--batch-size",
        type=int,
        help="texts embedded together and written as one part (default: about 32 MB of vectors, 32768 at 256 dims)",
    )
    embed.add_argument("--progress", action="store_true", help="a progress line even when stderr is not a terminal")
    embed.add_argument("--quiet", action="store_true", help="no progress line")
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


def _embed(args: argparse.Namespace) -> int:
    from ._inputs import Source, input_format
    from ._parts import OUTPUT_SUFFIXES, Parts, ResumeError

    if args.input is not None and args.texts:
        raise ValueError("give texts as arguments or with --input, not both")
    if args.input is None and not args.texts:
        raise ValueError("no texts to embed: pass texts as arguments or --input FILE")
    output: Path | None = args.output
    kind = None if output is None else output.suffix.lower()
    if output is not None and kind not in OUTPUT_SUFFIXES:
        raise ValueError(f"--output must end with {', '.join(OUTPUT_SUFFIXES)}, got {output}")
    if args.keep_text and kind != ".parquet":
        raise ValueError("--keep-text is for a .parquet output (.jsonl always holds the text, .npy never)")
    if args.id_column is not None and kind != ".parquet":
        raise ValueError("--id-column is for a .parquet output (its id column)")
    if args.resume and output is None:
        raise ValueError("--resume needs --output FILE")
    if args.batch_size is not None and args.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {args.batch_size}")
    source = None
    if args.input is not None:
        fmt = input_format(args.input, args.input_format)
        column = args.column if fmt in ("csv", "parquet") else args.field
        source = Source(args.input, fmt, column or "text", args.id_column)
    elif args.input_format is not None:
        raise ValueError("--input-format is for --input")
    model = _load(args.model, args)
    dim = model.dim if args.dim is None else args.dim
    model._columns(args.dim)  # a bad --dim fails before anything is written
    batch = args.batch_size or max(1, (32 << 20) // (4 * dim))  # about 32 MB of vectors per batch
    want_text = kind == ".jsonl" or output is None or (kind == ".parquet" and args.keep_text)
    parts = None
    if output is not None:
        arguments = {
            "input_format": None if source is None else source.format,
            "column": None if source is None else source.column,
            "id_column": args.id_column,
            "keep_text": args.keep_text,
            "model": args.model,
            "model_sha256": model.metadata["weights"]["sha256"],
            "dim": args.dim,
            "normalize": args.normalize,
            "batch_size": batch,
        }
        parts = Parts(output, arguments, None if source is None else source.fingerprint, dim)
        parts.open(args.resume)
    done = 0 if parts is None else parts.rows
    total = None if source is None else source.size
    show = not args.quiet and (args.progress or sys.stderr.isatty())
    progress = _StreamProgress(None if source is None or source.format == "parquet" else total) if show else None
    chunks: deque[tuple[list[str] | None, list[Any], int, str]] = deque()

    def texts() -> Iterator[str]:
        """The texts, and for each batch (pushed when its last text is read) what the writer needs."""
        stream = ((text, i) for i, text in enumerate(args.texts)) if source is None else source.rows()
        if done:
            assert source is not None and parts is not None
            skipped = sum(1 for _ in itertools.islice(stream, done))
            if skipped < done:
                raise ResumeError(f"cannot resume: the input has fewer rows ({skipped}) than already embedded ({done})")
            parts.check_input(source.offset, source.sha256())
        kept: list[str] = []
        ids: list[Any] = []
        for text, ident in stream:
            if want_text:
                kept.append(text)
            ids.append(ident)
            if len(ids) == batch:
                chunks.append((kept if want_text else None, ids, _position(source), _sha(source)))
                kept, ids = [], []
            yield text
        if ids:
            chunks.append((kept if want_text else None, ids, _position(source), _sha(source)))

    written = done
    try:
        for vectors in model.encode_iter(texts(), batch_size=batch, normalize=args.normalize, dim=args.dim):
            kept, ids, offset, digest = chunks.popleft()
            if parts is not None:
                parts.add(vectors, kept, ids, offset, digest)
            else:
                assert kept is not None
                write = sys.stdout.write
                for text, vector in zip(kept, vectors):  # line by line: a reader gone away shows up early
                    write(json_line(text, vector))
            written += len(ids)
            if progress is not None:
                progress.update(written, offset)
        if progress is not None:
            progress.close(written)
        if parts is not None:
            rows_out = parts.finish()
            print(f"wrote {rows_out} x {dim} float32 vectors to {output}", file=sys.stderr)
    except KeyboardInterrupt:
        if progress is not None:
            progress.close(written)
        if parts is not None and parts.parts and source is not None and not source.stdin:
            print(
                f"{PROG}: interrupted: {parts.rows} rows in {len(parts.parts)} parts are kept in {parts.folder};"
                f" rerun the same command with --resume to go on",
                file=sys.stderr,
            )
        elif parts is not None:
            parts.discard()
        raise
    except (ValueError, TypeError) as e:
        if parts is not None and not isinstance(e, ResumeError):
            parts.discard()  # bad input: the parts could not be resumed from (the input must change)
        if source is not None and "at index" in str(e):  # a text the tokenizer refuses: its row in the input
            message = re.sub(r"at index (\d+)", lambda m: f"in row {done + int(m.group(1))}", str(e), count=1)
            raise type(e)(f"{source.name}: {message}") from None
        raise
    return 0


def _position(source: Any) -> int:
    return 0 if source is None else int(source.offset)


def _sha(source: Any) -> str:
    return "" if source is None else str(source.sha256())


class _StreamProgress:
    """One progress line on stderr: texts done, texts/s and, for a text, JSON Lines or CSV file, how far through
    it (by bytes) and the time left at the rate since the first batch."""

    def __init__(self, total_bytes: int | None) -> None:
        self.total = total_bytes
        self.started = time.monotonic()
        self.first: tuple[float, int, int] | None = None  # (time, rows, bytes) at the first batch

    def update(self, rows: int, position: int) -> None:
        now = time.monotonic()
        if self.first is None:
            self.first = (now, rows, position)
        t0, rows0, bytes0 = self.first
        rate = (rows - rows0) / (now - t0) if now > t0 else 0.0
        line = f"\rEmbedding: {rows:,} texts, {rate:,.0f}/s"
        if self.total:
            line += f", {100 * min(position / self.total, 1.0):.0f}%"
            if now > t0 and position > bytes0:
                left = int((self.total - position) * (now - t0) / (position - bytes0))
                line += f", ETA {left // 3600}:{left % 3600 // 60:02d}:{left % 60:02d}"
        sys.stderr.write(line + "   ")
        sys.stderr.flush()

    def close(self, rows: int) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        sys.stderr.write(f"\rEmbedded {rows:,} texts in {elapsed:.1f} s{' ' * 30}\n")
        sys.stderr.flush()


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
