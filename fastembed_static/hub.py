"""Download the files of a static embedding model from the Hugging Face hub (or a mirror of its URL layout).

Only what the model needs is fetched:

- sentence-transformers layout: ``modules.json`` (its first module must be a ``StaticEmbedding``), that module's
  folder's ``tokenizer.json`` and ``model.safetensors``, and ``config.json`` at the root if the repository has one;
- model2vec layout (no ``modules.json``): ``config.json``, ``tokenizer.json`` and ``model.safetensors``.

Cache layout (``cache`` is :func:`default_cache_dir` unless ``cache_dir`` is given)::

    {cache}/models/{owner}--{name}/
        .lock                                   # flock'ed while a process downloads this repository
        refs/{revision}                         # the 40-hex commit the revision resolved to (not for pinned commits)
        {commit}/source/...                     # the repository's files, in its relative layout
        {commit}/source/.fastembed-static-files.json   # manifest, written last: the snapshot is complete
        {commit}/generated/                     # for the generated model (see generated_dir)

Each file is streamed into ``{name}.incomplete`` beside its final path, fsync'ed, checked (size, the hub's sha256
or git blob sha1, JSON / safetensors header sanity) and only then renamed into place, so a file under its final
name is always complete and verified. An interrupted download is resumed with an HTTP ``Range`` request.

Once ``refs/{revision}`` names a commit whose snapshot is complete, :func:`snapshot_download` returns it without any
network request: a branch that moved on the hub is picked up only with ``force_refresh=True``.

``requests`` is imported only when something must be downloaded (``pip install 'fastembed-static[hub]'``).
This module imports nothing else from fastembed_static.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import struct
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote, urljoin, urlsplit

if TYPE_CHECKING:
    import requests

__all__ = [
    "AuthError",
    "CacheWriteError",
    "EntryNotFoundError",
    "HubConnectionError",
    "HubError",
    "IntegrityError",
    "InvalidModelError",
    "NotFoundError",
    "NotStaticModelError",
    "OfflineError",
    "RepoNotFoundError",
    "RevisionNotFoundError",
    "Snapshot",
    "default_cache_dir",
    "generated_dir",
    "looks_like_repo_id",
    "snapshot_download",
]

logger = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://huggingface.co"
MANIFEST_NAME = ".fastembed-static-files.json"
MANIFEST_FORMAT = "fastembed-static-snapshot/1"
INCOMPLETE_SUFFIX = ".incomplete"
STATIC_EMBEDDING_TYPES = frozenset(
    {
        "sentence_transformers.models.StaticEmbedding",
        "sentence_transformers.sentence_transformer.modules.static_embedding.StaticEmbedding",
        "sentence_transformers.sentence_transformer.modules.StaticEmbedding",
    }
)
INSTALL_HINT = "pip install 'fastembed-static[hub]'"

_HEX40 = re.compile(r"[0-9a-f]{40}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_REPO_PART = r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?"
_REPO_ID = re.compile(rf"({_REPO_PART})/({_REPO_PART})")
_TRUTHY = ("1", "true", "yes", "on")
_CHUNK = 1 << 20
_MAX_ATTEMPTS = 3  # per file, for connections that break mid-transfer (each attempt resumes)
_MAX_REDIRECTS = 10
_MAX_SAFETENSORS_HEADER = 100_000_000


# --------------------------------------------------------------------------------------------------- errors


class HubError(Exception):
    """A model could not be downloaded. The message says which repository, revision, file and URL, what went
    wrong and what to do; the same facts are attributes (``None`` when they do not apply)."""

    def __init__(
        self,
        message: str,
        *,
        repo_id: str | None = None,
        revision: str | None = None,
        filename: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.repo_id = repo_id
        self.revision = revision
        self.filename = filename
        self.url = url


class NotFoundError(HubError):
    """The hub answered 404."""


class RepoNotFoundError(NotFoundError):
    """No such repository (``X-Error-Code: RepoNotFound``)."""


class RevisionNotFoundError(NotFoundError):
    """No such branch, tag or commit (``X-Error-Code: RevisionNotFound``)."""


class EntryNotFoundError(NotFoundError):
    """A required file is not in the repository at that revision (``X-Error-Code: EntryNotFound``)."""


class AuthError(HubError):
    """HTTP 401/403: the repository is private or gated, or the token is invalid or lacks access."""


class HubConnectionError(HubError):
    """The endpoint could not be reached, did not answer in time, or closed the connection mid-file."""


class IntegrityError(HubError):
    """A downloaded file does not have the size or checksum the hub announced."""


class InvalidModelError(HubError):
    """A downloaded file is intact but unusable (invalid JSON, a safetensors header that does not fit the file)."""


class NotStaticModelError(InvalidModelError):
    """The repository holds a model that is not a static embedding model (e.g. a Transformer)."""


class OfflineError(HubError):
    """Offline mode, and the cache does not hold the requested snapshot."""


class CacheWriteError(HubError):
    """The cache could not be written (disk full, permissions...)."""


# --------------------------------------------------------------------------------------------------- public API


@dataclass(frozen=True)
class Snapshot:
    """The downloaded files of one commit of a repository."""

    repo_id: str
    revision: str  # as requested (branch, tag or commit)
    commit: str  # the 40-hex commit it resolved to
    source_dir: Path  # the downloaded files, in the repository's relative layout
    files: dict[str, str]  # relative path ("/"-separated) -> sha256 hex


def default_cache_dir() -> Path:
    """``$FASTEMBED_STATIC_CACHE``, else ``$XDG_CACHE_HOME/fastembed-static``, else ``~/.cache/fastembed-static``."""
    env = os.environ.get("FASTEMBED_STATIC_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "fastembed-static"


def looks_like_repo_id(s: str) -> bool:
    """Whether ``s`` reads as a hub repository id ``owner/name`` and is not an existing local path."""
    return _REPO_ID.fullmatch(s) is not None and "--" not in s and ".." not in s and not os.path.exists(s)


def generated_dir(snapshot: Snapshot) -> Path:
    """Where the generated model for ``snapshot`` belongs: ``{cache}/models/{owner}--{name}/{commit}/generated``."""
    return snapshot.source_dir.parent / "generated"


def snapshot_download(
    repo_id: str,
    *,
    revision: str = "main",
    cache_dir: str | Path | None = None,
    token: str | None = None,
    offline: bool | None = None,
    endpoint: str | None = None,
    timeout: float = 30.0,
    force_refresh: bool = False,
) -> Snapshot:
    """Download (or find in the cache) the files a static embedding model needs from a hub repository.

    - ``revision``: a branch, a tag or a full 40-hex commit (pinned: never re-resolved).
    - ``token``: else ``$HF_TOKEN``; sent as ``Authorization: Bearer`` to the endpoint's host only.
    - ``offline``: else ``$HF_HUB_OFFLINE`` in 1/true/yes/on: use the cache only, never the network.
    - ``endpoint``: else ``$HF_ENDPOINT``, else https://huggingface.co.
    - ``timeout``: seconds to wait for the server to connect or send data.
    - ``force_refresh``: re-resolve ``revision`` on the hub even when the cache knows its commit (a cached branch
      is otherwise not checked for new commits, so that a cached model costs no network request).

    Raises a :class:`HubError` subclass, or ``ValueError`` for a malformed ``repo_id``/``revision``, or
    ``ImportError`` when something must be downloaded and ``requests`` is not installed.
    """
    owner, name = _check_repo_id(repo_id)
    _check_revision(revision)
    pinned = _HEX40.fullmatch(revision.lower()) is not None
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    repo_dir = cache / "models" / f"{owner}--{name}"
    offline_reason = "offline=True" if offline else None
    if offline is None:
        env = os.environ.get("HF_HUB_OFFLINE", "")
        if env.strip().lower() in _TRUTHY:
            offline_reason = f"HF_HUB_OFFLINE={env}"

    if offline_reason or not force_refresh:
        snapshot = _cached_snapshot(repo_dir, repo_id, revision, pinned)
        if snapshot is not None:
            return snapshot
    if offline_reason:
        raise _offline_error(repo_dir, repo_id, revision, pinned, offline_reason)

    try:
        import requests
    except ImportError as e:
        raise ImportError(
            f"downloading {repo_id!r} from the Hugging Face hub needs the 'requests' package: {INSTALL_HINT}"
        ) from e

    endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    token = token or os.environ.get("HF_TOKEN") or None
    with _locked(repo_dir / ".lock", f"{repo_id} (revision {revision!r}): cannot lock the cache"):
        # Another process may have finished the download while this one waited for the lock.
        if not force_refresh:
            snapshot = _cached_snapshot(repo_dir, repo_id, revision, pinned)
            if snapshot is not None:
                return snapshot
        with requests.Session() as session:
            return _Downloader(session, repo_id, revision, repo_dir, endpoint, token, timeout, pinned).run()


# --------------------------------------------------------------------------------------------------- cache


def _check_repo_id(repo_id: str) -> tuple[str, str]:
    match = _REPO_ID.fullmatch(repo_id) if isinstance(repo_id, str) else None
    if match is None or "--" in repo_id or ".." in repo_id:
        raise ValueError(
            f"invalid hub repository id {repo_id!r}: expected 'owner/name' (letters, digits, '-', '_', '.'; "
            "no '--' or '..'), e.g. 'minishlab/potion-base-8M'"
        )
    return match.group(1), match.group(2)


def _check_revision(revision: str) -> None:
    if not isinstance(revision, str) or not revision or revision in (".", "..") or "\x00" in revision:
        raise ValueError(f"invalid revision {revision!r}: expected a branch, a tag or a 40-hex commit")


def _ref_path(repo_dir: Path, revision: str) -> Path:
    return repo_dir / "refs" / quote(revision, safe="")


def _read_ref(repo_dir: Path, revision: str) -> str | None:
    try:
        commit = _ref_path(repo_dir, revision).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return commit if _HEX40.fullmatch(commit) else None


def _source_dir(repo_dir: Path, commit: str) -> Path:
    return repo_dir / commit / "source"


def _local_path(source_dir: Path, relpath: str) -> Path:
    return source_dir.joinpath(*relpath.split("/"))


def _valid_relpath(relpath: object) -> bool:
    if not isinstance(relpath, str) or not relpath or "\\" in relpath or "\x00" in relpath:
        return False
    parts = relpath.split("/")
    return all(p not in ("", ".", "..") for p in parts) and not relpath.endswith(INCOMPLETE_SUFFIX)


def _read_manifest(source_dir: Path, commit: str) -> dict[str, str] | None:
    """The files (path -> sha256) of a complete snapshot, or None if it is not complete."""
    try:
        manifest = json.loads((source_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        return None
    if manifest.get("commit") != commit or not isinstance(manifest.get("files"), dict) or not manifest["files"]:
        return None
    files: dict[str, str] = {}
    for relpath, entry in manifest["files"].items():
        if not _valid_relpath(relpath) or not isinstance(entry, dict):
            return None
        size, sha256 = entry.get("size"), entry.get("sha256")
        if not isinstance(size, int) or not isinstance(sha256, str) or not _HEX64.fullmatch(sha256):
            return None
        try:
            if _local_path(source_dir, relpath).stat().st_size != size:
                return None
        except OSError:
            return None
        files[relpath] = sha256
    return files


def _cached_snapshot(repo_dir: Path, repo_id: str, revision: str, pinned: bool) -> Snapshot | None:
    commit = revision.lower() if pinned else _read_ref(repo_dir, revision)
    if commit is None:
        return None
    source = _source_dir(repo_dir, commit)
    files = _read_manifest(source, commit)
    if files is None:
        return None
    return Snapshot(repo_id, revision, commit, source, files)


def _offline_error(repo_dir: Path, repo_id: str, revision: str, pinned: bool, reason: str) -> OfflineError:
    commit = revision.lower() if pinned else _read_ref(repo_dir, revision)
    how = "without offline=True" if reason.startswith("offline=") else "with HF_HUB_OFFLINE unset"
    fix = (
        f"Run the same command once with network access ({how}) to download it into the cache "
        f"{repo_dir.parent.parent}; offline mode then finds it there"
    )
    if commit is None:
        cached = sorted(p.name for p in (repo_dir / "refs").glob("*")) if (repo_dir / "refs").is_dir() else []
        have = f"; cached revisions of this repository: {', '.join(cached)}" if cached else ""
        problem = (
            f"the cache does not know which commit revision {revision!r} is (no {_ref_path(repo_dir, revision)})"
            f"{have}; files needed: modules.json or config.json, tokenizer.json, model.safetensors"
        )
    else:
        source = _source_dir(repo_dir, commit)
        if (source / "modules.json").is_file():
            try:
                folder = _static_folder(json.loads((source / "modules.json").read_bytes()))
            except (OSError, ValueError, InvalidModelError):
                folder = ""
            expected = ["modules.json", f"{folder}tokenizer.json", f"{folder}model.safetensors"]
        elif (source / "config.json").is_file():
            expected = ["config.json", "tokenizer.json", "model.safetensors"]
        else:
            expected = ["modules.json or config.json", "tokenizer.json", "model.safetensors"]
        missing = [f for f in expected if not _local_path(source, f).is_file()] or [MANIFEST_NAME]
        problem = f"the snapshot of commit {commit} in {source} is incomplete: missing {', '.join(missing)}"
    return OfflineError(
        f"{repo_id} (revision {revision!r}): offline mode ({reason}) and the model is not in the cache: "
        f"{problem}. {fix}.",
        repo_id=repo_id,
        revision=revision,
    )


@contextmanager
def _locked(path: Path, what: str) -> Iterator[None]:
    """An exclusive inter-process lock on ``path`` (fcntl.flock on POSIX, msvcrt.locking on Windows), held until
    the block ends (the OS releases it if the process dies)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        file = open(path, "a+b")
    except OSError as e:
        raise _cache_error(e, path, what) from e
    with file as f:
        if sys.platform == "win32":
            import msvcrt

            while True:
                try:
                    f.seek(0)
                    msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
                    break
                except OSError:
                    time.sleep(0.1)
            try:
                yield
            finally:
                f.seek(0)
                msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _fsync_dir(path: Path) -> None:
    if sys.platform == "win32":
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _cache_error(e: OSError, path: Path, what: str, **context: str | None) -> CacheWriteError:
    if e.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        problem = (
            f"the disk is full ({e.strerror or e}) while writing {path}. Free some space, or set "
            "FASTEMBED_STATIC_CACHE to a directory on a disk with room, and run again"
        )
    else:
        problem = (
            f"cannot write {path}: {e.strerror or e}. Make the cache writable, or set FASTEMBED_STATIC_CACHE "
            "(or pass cache_dir=) to a writable directory"
        )
    return CacheWriteError(f"{what}: {problem}", **context)


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``path`` via a temporary file in the same directory and os.replace (OSError is the caller's)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)


def _write_chunk(f: IO[bytes], data: bytes) -> None:
    """Every byte of a download goes through here (tests make it fail like a full disk)."""
    f.write(data)


# --------------------------------------------------------------------------------------------------- model files


def _static_folder(modules: Any) -> str:
    """The folder prefix ("" or "sub/") of the StaticEmbedding module in a parsed modules.json."""
    if not isinstance(modules, list) or not modules or not isinstance(modules[0], dict):
        raise InvalidModelError("modules.json: expected a non-empty JSON list of module objects")
    first = modules[0]
    kind = first.get("type")
    if kind not in STATIC_EMBEDDING_TYPES:
        raise NotStaticModelError(
            f"not a static embedding model: the first module in modules.json is {kind!r}, not a StaticEmbedding. "
            "fastembed-static runs only static embedding models (sentence-transformers StaticEmbedding, model2vec)"
        )
    raw = first.get("path", "")
    if raw is None:
        raw = ""
    if not isinstance(raw, str):
        raise InvalidModelError(f"modules.json: the StaticEmbedding module's path is {raw!r}, not a string")
    path = raw.strip().strip("/")
    while path.startswith("./"):
        path = path[2:]
    if path in ("", "."):
        return ""
    parts = PurePosixPath(path).parts
    if "\\" in path or any(p in ("..", ".") for p in parts) or PurePosixPath(path).is_absolute():
        raise InvalidModelError(f"modules.json: the StaticEmbedding module's path {raw!r} is not a subfolder")
    return "/".join(parts) + "/"


def _check_safetensors(path: Path, size: int) -> str | None:
    """What is wrong with the header of a safetensors file, or None (reads only the header)."""
    if size < 8:
        return f"the file is {size} bytes, too short for a safetensors header"
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        if header_len > size - 8 or header_len > _MAX_SAFETENSORS_HEADER:
            return (
                f"the safetensors header length (first 8 bytes) is {header_len} bytes but the file is only {size} "
                "bytes: the file is truncated or not a safetensors file"
            )
        raw = f.read(header_len)
    try:
        header = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        return f"the safetensors header is not valid JSON ({e})"
    if not isinstance(header, dict):
        return "the safetensors header is not a JSON object"
    end = 0
    for key, info in header.items():
        if key == "__metadata__":
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
            or not 0 <= offsets[0] <= offsets[1]
        ):
            return f"the safetensors header has invalid data_offsets for tensor {key!r}: {offsets!r}"
        end = max(end, offsets[1])
    data = size - 8 - header_len
    if end != data:
        return (
            f"the safetensors header says the tensor data is {end} bytes but the file holds {data} bytes after the "
            "header: the file is truncated or its header is wrong"
        )
    return None


def _hash_file(path: Path) -> tuple[int, str, str]:
    """(size, sha256 hex, git blob sha1 hex) of a file."""
    size = path.stat().st_size
    sha256 = hashlib.sha256()
    sha1 = hashlib.sha1(b"blob %d\0" % size)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            sha256.update(chunk)
            sha1.update(chunk)
    return size, sha256.hexdigest(), sha1.hexdigest()


def _normalize_etag(etag: str | None) -> str | None:
    if not etag:
        return None
    etag = etag.strip()
    if etag.startswith("W/"):
        etag = etag[2:]
    return etag.strip('"').lower() or None


# --------------------------------------------------------------------------------------------------- download


@dataclass
class _FileMeta:
    filename: str
    url: str  # the resolve URL asked
    download_url: str  # where the bytes are (the CDN location for LFS files)
    size: int | None
    etag: str | None  # normalized: 64 hex = sha256 (LFS), 40 hex = git blob sha1


class _Transient(Exception):
    """A download attempt failed in a way that another attempt may fix."""


class _Interrupted(_Transient):
    """The body ended before the announced size."""

    def __init__(self, received: int, total: int) -> None:
        super().__init__(f"the connection closed after {received} of {total} bytes")
        self.received = received
        self.total = total


class _Downloader:
    def __init__(
        self,
        session: requests.Session,
        repo_id: str,
        revision: str,
        repo_dir: Path,
        endpoint: str,
        token: str | None,
        timeout: float,
        pinned: bool,
    ) -> None:
        self.session = session
        self.repo_id = repo_id
        self.revision = revision
        self.repo_dir = repo_dir
        self.endpoint = endpoint
        self.token = token
        self.timeout = timeout
        self.pinned = pinned
        self.commit: str | None = revision.lower() if pinned else None
        self._commit_checked = False
        self._endpoint_origin = _origin(endpoint)
        session.headers["User-Agent"] = "fastembed-static (hub download; requests)"
        session.auth = _no_auth  # the token is sent explicitly, to the endpoint only; no ~/.netrc override

    # ---- messages

    def _where(self, filename: str | None, url: str | None) -> str:
        where = f"{self.repo_id} (revision {self.revision!r})"
        if filename:
            where += f": {filename}"
        if url:
            where += f" <{url}>"
        return where

    def _ctx(self, filename: str | None, url: str | None) -> dict[str, str | None]:
        return {"repo_id": self.repo_id, "revision": self.revision, "filename": filename, "url": url}

    # ---- the plan

    @property
    def source_dir(self) -> Path:
        assert self.commit is not None
        return _source_dir(self.repo_dir, self.commit)

    def run(self) -> Snapshot:
        records: dict[str, tuple[int, str]] = {}
        modules = self._head("modules.json", optional=True)
        done = self._on_commit_known()
        if done is not None:
            return done
        if modules is not None:
            records["modules.json"] = self._fetch(modules)
            path = _local_path(self.source_dir, "modules.json")
            try:
                folder = _static_folder(json.loads(path.read_bytes()))
            except InvalidModelError as e:
                ctx = self._ctx("modules.json", modules.url)
                raise type(e)(f"{self._where('modules.json', modules.url)}: {e}", **ctx) from None
            plan = [("config.json", False), (f"{folder}tokenizer.json", True), (f"{folder}model.safetensors", True)]
        else:
            plan = [("config.json", True), ("tokenizer.json", True), ("model.safetensors", True)]
        for filename, required in plan:
            meta = self._head(filename, optional=not required)
            done = self._on_commit_known()
            if done is not None:
                return done
            if meta is not None:
                records[filename] = self._fetch(meta)

        assert self.commit is not None
        manifest = {
            "format": MANIFEST_FORMAT,
            "repo_id": self.repo_id,
            "commit": self.commit,
            "endpoint": self.endpoint,
            "files": {name: {"size": size, "sha256": sha} for name, (size, sha) in sorted(records.items())},
        }
        self._write(self.source_dir / MANIFEST_NAME, json.dumps(manifest, indent=1).encode() + b"\n")
        self._write_ref()
        logger.info("downloaded %s at commit %s into %s", self.repo_id, self.commit, self.source_dir)
        files = {name: sha for name, (_, sha) in records.items()}
        return Snapshot(self.repo_id, self.revision, self.commit, self.source_dir, files)

    def _on_commit_known(self) -> Snapshot | None:
        """Once, when the commit is first known: if its snapshot is already complete (a revision that moved back,
        or force_refresh with nothing new), record the ref and return it; else drop a stale manifest, which the
        download rewrites at the end."""
        if self.commit is None or self._commit_checked:
            return None
        self._commit_checked = True
        files = _read_manifest(self.source_dir, self.commit)
        if files is not None:
            self._write_ref()
            return Snapshot(self.repo_id, self.revision, self.commit, self.source_dir, files)
        manifest = self.source_dir / MANIFEST_NAME
        try:
            manifest.unlink(missing_ok=True)
        except OSError as e:
            raise _cache_error(e, manifest, self._where(None, None), **self._ctx(None, None)) from e
        return None

    def _write_ref(self) -> None:
        if not self.pinned:
            assert self.commit is not None
            self._write(_ref_path(self.repo_dir, self.revision), self.commit.encode() + b"\n")

    def _write(self, path: Path, data: bytes) -> None:
        try:
            _atomic_write(path, data)
        except OSError as e:
            raise _cache_error(e, path, self._where(None, None), **self._ctx(None, None)) from e

    # ---- HTTP

    def _url(self, filename: str) -> str:
        revision = self.commit or self.revision
        return f"{self.endpoint}/{self.repo_id}/resolve/{quote(revision, safe='')}/{quote(filename)}"

    def _headers(self, url: str) -> dict[str, str]:
        headers = {"Accept-Encoding": "identity"}
        if self.token and _origin(url) == self._endpoint_origin:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _network_error(self, e: Exception, filename: str, url: str) -> HubConnectionError:
        import requests
        import urllib3

        if isinstance(e, (requests.Timeout, urllib3.exceptions.TimeoutError)):
            problem = f"no answer within {self.timeout:g} s"
        elif isinstance(e, (requests.ConnectionError, urllib3.exceptions.ProtocolError)):
            problem = f"cannot connect to {self.endpoint} ({_root_cause(e)})"
        else:
            problem = f"the request failed ({_root_cause(e)})"
        return HubConnectionError(
            f"{self._where(filename, url)}: {problem}. Check the network connection and the endpoint "
            f"({self.endpoint}; set by HF_ENDPOINT or endpoint=), or use a cached model with HF_HUB_OFFLINE=1",
            **self._ctx(filename, url),
        )

    def _head(self, filename: str, *, optional: bool) -> _FileMeta | None:
        """The file's metadata from the first non-redirected response (relative redirects, which the hub uses
        for renamed repositories, are followed; a redirect to another host is the file's download location)."""
        import requests

        url = first_url = self._url(filename)
        for _ in range(_MAX_REDIRECTS):
            try:
                r = self.session.head(url, headers=self._headers(url), allow_redirects=False, timeout=self.timeout)
            except requests.RequestException as e:
                raise self._network_error(e, filename, url) from None
            location = r.headers.get("Location")
            if r.is_redirect and location and not urlsplit(location).netloc:
                url = urljoin(url, location)
                continue
            break
        else:
            raise HubError(f"{self._where(filename, first_url)}: too many redirects", **self._ctx(filename, url))

        self._note_commit(r, filename, url)
        if r.status_code == 404 and optional and r.headers.get("X-Error-Code", "EntryNotFound") == "EntryNotFound":
            return None
        if r.status_code >= 400 or (r.status_code >= 300 and not r.is_redirect):
            raise self._http_error(r, filename, url)
        if self.commit is None:
            raise HubError(
                f"{self._where(filename, url)}: the server did not say which commit this is (no X-Repo-Commit "
                f"header): is {self.endpoint} a Hugging Face hub? Pass a full 40-hex commit as the revision to "
                "download from a server that does not send it",
                **self._ctx(filename, url),
            )
        size_header = r.headers.get("X-Linked-Size") or (None if r.is_redirect else r.headers.get("Content-Length"))
        try:
            size = int(size_header) if size_header is not None else None
        except ValueError:
            size = None
        etag = _normalize_etag(r.headers.get("X-Linked-Etag") or r.headers.get("ETag"))
        download_url = urljoin(url, location) if r.is_redirect and location else url
        return _FileMeta(filename, url, download_url, size, etag)

    def _note_commit(self, r: requests.Response, filename: str, url: str) -> None:
        header = (r.headers.get("X-Repo-Commit") or "").strip().lower()
        if not _HEX40.fullmatch(header):
            return
        if self.commit is None:
            self.commit = header
        elif header != self.commit:
            raise HubError(
                f"{self._where(filename, url)}: the server answered for commit {header} while downloading commit "
                f"{self.commit}. Run again",
                **self._ctx(filename, url),
            )

    def _http_error(self, r: requests.Response, filename: str, url: str) -> HubError:
        code = r.headers.get("X-Error-Code", "")
        detail = r.headers.get("X-Error-Message", "")
        status = f"HTTP {r.status_code}{' ' + r.reason if r.reason else ''}{f' ({detail})' if detail else ''}"
        where = self._where(filename, url)
        ctx = self._ctx(filename, url)
        page = f"{self.endpoint}/{self.repo_id}"
        if r.status_code in (401, 403) and _origin(url) != self._endpoint_origin:
            return HubError(
                f"{where}: the download location (the hub's file storage) refused the request, {status}; the "
                "link may have expired. Run again",
                **ctx,
            )
        if r.status_code in (401, 403):
            if self.token:
                advice = (
                    "the token (HF_TOKEN or token=) was refused or has no access to this repository: check that it is "
                    f"valid and can read {self.repo_id}, and for a gated model that you accepted its conditions at "
                    f"{page}"
                )
            else:
                advice = (
                    "the repository is private or gated (or does not exist). Set HF_TOKEN (or pass token=) to a "
                    f"Hugging Face access token that can read it; for a gated model, first accept its conditions at "
                    f"{page}"
                )
            return AuthError(f"{where}: access denied, {status}: {advice}", **ctx)
        if r.status_code == 404:
            if code == "RepoNotFound":
                return RepoNotFoundError(
                    f"{where}: repository {self.repo_id!r} not found on {self.endpoint}, {status}. Check the "
                    "name ('owner/name'); if it is private or gated, set HF_TOKEN to a token that can read it",
                    **ctx,
                )
            if code == "RevisionNotFound":
                return RevisionNotFoundError(
                    f"{where}: revision {self.revision!r} not found, {status}. Use an existing branch, tag or "
                    "full 40-hex commit",
                    **ctx,
                )
            return EntryNotFoundError(
                f"{where}: the file is not in the repository at this revision, {status}. A static embedding model "
                "needs modules.json (sentence-transformers) or config.json (model2vec), tokenizer.json and "
                "model.safetensors",
                **ctx,
            )
        return HubError(f"{where}: the server answered {status}. Try again later", **ctx)

    # ---- one file

    def _fetch(self, meta: _FileMeta) -> tuple[int, str]:
        """Make ``meta.filename`` present and verified in the snapshot; (size, sha256)."""
        target = _local_path(self.source_dir, meta.filename)
        tmp = target.with_name(target.name + INCOMPLETE_SUFFIX)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            ctx = self._ctx(meta.filename, meta.url)
            raise _cache_error(e, target.parent, self._where(meta.filename, meta.url), **ctx) from e
        if target.is_file():
            size, sha256, sha1 = _hash_file(target)
            if self._problem(meta, size, sha256, sha1) is None:
                return size, sha256
            logger.warning("%s: the cached file does not match the hub; downloading it again", target)

        import requests
        import urllib3

        attempts = 0
        restarted = False  # after a checksum mismatch of a resumed file
        while True:
            attempts += 1
            try:
                resumed = self._transfer(meta, tmp)
            except (requests.RequestException, urllib3.exceptions.HTTPError, _Transient) as e:
                if attempts < _MAX_ATTEMPTS:
                    logger.warning(
                        "%s: %s: the connection broke (%s); resuming (attempt %d of %d)",
                        self.repo_id,
                        meta.filename,
                        _root_cause(e),
                        attempts + 1,
                        _MAX_ATTEMPTS,
                    )
                    continue
                have = tmp.stat().st_size if tmp.exists() else 0
                if isinstance(e, _Interrupted) or have:
                    total = f" of {meta.size}" if meta.size is not None else ""
                    raise HubConnectionError(
                        f"{self._where(meta.filename, meta.download_url)}: the connection broke during the "
                        f"download, {attempts} times ({_root_cause(e)}); {have}{total} bytes are kept in {tmp}. "
                        "Run the same command again to resume the download",
                        **self._ctx(meta.filename, meta.download_url),
                    ) from None
                raise self._network_error(e, meta.filename, meta.download_url) from None
            size, sha256, sha1 = _hash_file(tmp)
            problem = self._problem(meta, size, sha256, sha1)
            if problem is not None:
                _unlink(tmp)
                if resumed and not restarted:
                    logger.warning("%s: %s after resuming; downloading it again from the start", meta.filename, problem)
                    restarted = True
                    continue
                raise IntegrityError(
                    f"{self._where(meta.filename, meta.download_url)}: {problem}. The download was deleted; run "
                    "again, and if this persists the file on the server (or a proxy in between) is damaged",
                    **self._ctx(meta.filename, meta.download_url),
                )
            break

        invalid = self._content_problem(tmp, size, meta.filename)
        if invalid is not None:
            _unlink(tmp)
            raise InvalidModelError(
                f"{self._where(meta.filename, meta.url)}: {invalid}. The file matches what the hub announced, so "
                "the model repository itself is broken",
                **self._ctx(meta.filename, meta.url),
            )
        try:
            os.replace(tmp, target)
        except OSError as e:
            _unlink(tmp)
            ctx = self._ctx(meta.filename, meta.url)
            raise _cache_error(e, target, self._where(meta.filename, meta.url), **ctx) from e
        _fsync_dir(target.parent)
        return size, sha256

    def _transfer(self, meta: _FileMeta, tmp: Path) -> bool:
        """Stream the file into ``tmp``, resuming what a previous attempt left. Returns whether the result
        includes bytes from an earlier attempt (a resumed download)."""
        offset = tmp.stat().st_size if tmp.exists() else 0
        if offset and meta.size is not None and offset >= meta.size:
            _unlink(tmp)
            offset = 0
        url = meta.download_url
        headers = self._headers(url)
        if offset:
            headers["Range"] = f"bytes={offset}-"
        r = self.session.get(url, headers=headers, stream=True, timeout=self.timeout)
        if r.status_code == 416 and offset:  # the range does not fit the file: start again from zero
            r.close()
            _unlink(tmp)
            headers.pop("Range")
            offset = 0
            r = self.session.get(url, headers=headers, stream=True, timeout=self.timeout)
        with r:
            resumed = False
            if r.status_code == 206 and offset and _content_range_start(r) == offset:
                resumed = True
            elif r.status_code == 200:
                offset = 0
            elif r.status_code == 206:
                _unlink(tmp)
                raise _Transient("the server answered with another byte range than asked; starting again")
            else:
                raise self._http_error(r, meta.filename, url)
            remaining_header = r.headers.get("Content-Length")
            if (
                meta.size is not None
                and remaining_header is not None
                and remaining_header.isdigit()
                and offset + int(remaining_header) != meta.size
            ):
                _unlink(tmp)
                raise IntegrityError(
                    f"{self._where(meta.filename, url)}: wrong size: the hub announced {meta.size} bytes "
                    f"(X-Linked-Size/Content-Length of {meta.url}) but the download is "
                    f"{offset + int(remaining_header)} bytes. Run again; if this persists the server is "
                    "inconsistent",
                    **self._ctx(meta.filename, url),
                )
            total = meta.size
            if total is None and remaining_header is not None and remaining_header.isdigit():
                total = offset + int(remaining_header)
            written = offset
            try:
                f = open(tmp, "ab" if resumed else "wb")
            except OSError as e:
                raise _cache_error(e, tmp, self._where(meta.filename, url), **self._ctx(meta.filename, url)) from e
            with f:
                for chunk in _iter_body(r):
                    if total is not None and written + len(chunk) > total:
                        f.close()
                        _unlink(tmp)
                        raise IntegrityError(
                            f"{self._where(meta.filename, url)}: wrong size: the server sends more than the "
                            f"{total} bytes announced. Run again; if this persists the server is inconsistent",
                            **self._ctx(meta.filename, url),
                        )
                    try:
                        _write_chunk(f, chunk)
                    except OSError as e:
                        f.close()
                        _unlink(tmp)
                        raise _cache_error(
                            e, tmp, self._where(meta.filename, url), **self._ctx(meta.filename, url)
                        ) from e
                    written += len(chunk)
                try:
                    f.flush()
                    os.fsync(f.fileno())
                except OSError as e:
                    f.close()
                    _unlink(tmp)
                    raise _cache_error(e, tmp, self._where(meta.filename, url), **self._ctx(meta.filename, url)) from e
            if total is not None and written < total:
                raise _Interrupted(written, total)
            return resumed

    def _problem(self, meta: _FileMeta, size: int, sha256: str, sha1: str) -> str | None:
        if meta.size is not None and size != meta.size:
            return f"wrong size: {size} bytes, the hub announced {meta.size}"
        if meta.etag and _HEX64.fullmatch(meta.etag) and sha256 != meta.etag:
            return f"wrong checksum: sha256 {sha256}, the hub announced {meta.etag} (X-Linked-Etag)"
        if meta.etag and _HEX40.fullmatch(meta.etag) and sha1 != meta.etag:
            return f"wrong checksum: git blob sha1 {sha1}, the hub announced {meta.etag} (ETag)"
        return None

    @staticmethod
    def _content_problem(path: Path, size: int, filename: str) -> str | None:
        if filename.endswith(".safetensors"):
            return _check_safetensors(path, size)
        if filename.endswith(".json"):
            try:
                json.loads(path.read_bytes().decode("utf-8"))
            except UnicodeDecodeError as e:
                return f"not valid UTF-8 JSON ({e})"
            except ValueError as e:
                return f"not valid JSON ({e})"
        return None


def _no_auth(r: requests.PreparedRequest) -> requests.PreparedRequest:
    return r


def _iter_body(r: requests.Response) -> Iterator[bytes]:
    """The response body in chunks as they arrive, so that bytes received before a broken connection are kept
    (urllib3 2's ``read(amt)`` waits for ``amt`` bytes and drops them when the connection breaks meanwhile)."""
    read1 = getattr(r.raw, "read1", None)
    if read1 is None:  # urllib3 < 2.3
        yield from r.iter_content(64 * 1024)
        return
    while chunk := read1(_CHUNK, decode_content=True):
        yield chunk


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _content_range_start(r: requests.Response) -> int | None:
    match = re.fullmatch(r"\s*bytes\s+(\d+)-\d+/(?:\d+|\*)\s*", r.headers.get("Content-Range", ""))
    return int(match.group(1)) if match else None


def _root_cause(e: BaseException) -> str:
    """The innermost reason of a requests/urllib3 exception chain, shortly."""
    seen: set[int] = set()
    while True:
        inner = e.args[0] if e.args and isinstance(e.args[0], BaseException) else None
        inner = inner or getattr(e, "reason", None) or e.__cause__ or e.__context__
        if not isinstance(inner, BaseException) or id(inner) in seen:
            break
        seen.add(id(e))
        e = inner
    text = str(e)
    match = re.search(r"\[Errno -?\d+\] [^'\")]+", text)
    return match.group(0) if match else text


def _unlink(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass
