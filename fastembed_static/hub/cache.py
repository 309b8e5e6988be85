"""The cache on disk: where a repository's snapshots, refs and lock live, whether a snapshot is complete, and how
files are written into it (atomically, fsync'ed, under an inter-process lock).

Layout (``cache`` is :func:`default_cache_dir` unless ``cache_dir`` is given)::

    {cache}/models/{owner}--{name}/
        .lock                                   # flock'ed while a process downloads this repository (then removed)
        refs/{revision}                         # the 40-hex commit the revision resolved to (not for pinned commits)
        {commit}/source/...                     # the repository's files, in its relative layout
        {commit}/source/.fastembed-static-files.json   # manifest, written last: the snapshot is complete
        {commit}/generated/                     # for the generated model (see generated_dir)
"""

from __future__ import annotations

import errno
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from ..errors import CacheWriteError, InvalidModelError, OfflineError
from .constants import HEX40, HEX64, INCOMPLETE_SUFFIX, MANIFEST_FORMAT, MANIFEST_NAME, REPO_ID
from .files import static_folder


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
    """Whether ``s`` reads as a hub repository id ``owner/name``. Syntax only: a local folder of the same name does
    not change the answer (``./owner/name``, an absolute path or a ``pathlib.Path`` names a folder)."""
    return isinstance(s, str) and REPO_ID.fullmatch(s) is not None and "--" not in s and ".." not in s


def generated_dir(snapshot: Snapshot) -> Path:
    """Where the generated model for ``snapshot`` belongs: ``{cache}/models/{owner}--{name}/{commit}/generated``."""
    return snapshot.source_dir.parent / "generated"


def check_repo_id(repo_id: str) -> tuple[str, str]:
    match = REPO_ID.fullmatch(repo_id) if isinstance(repo_id, str) else None
    if match is None or "--" in repo_id or ".." in repo_id:
        raise ValueError(
            f"invalid hub repository id {repo_id!r}: expected 'owner/name' (letters, digits, '-', '_', '.'; "
            "no '--' or '..'), e.g. 'minishlab/potion-base-8M'"
        )
    return match.group(1), match.group(2)


def check_revision(revision: str) -> None:
    if not isinstance(revision, str) or not revision or revision in (".", "..") or "\x00" in revision:
        raise ValueError(f"invalid revision {revision!r}: expected a branch, a tag or a 40-hex commit")


def ref_path(repo_dir: Path, revision: str) -> Path:
    return repo_dir / "refs" / quote(revision, safe="")


def read_ref(repo_dir: Path, revision: str) -> str | None:
    try:
        commit = ref_path(repo_dir, revision).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return commit if HEX40.fullmatch(commit) else None


def source_dir_of(repo_dir: Path, commit: str) -> Path:
    return repo_dir / commit / "source"


def local_path(source_dir: Path, relpath: str) -> Path:
    return source_dir.joinpath(*relpath.split("/"))


def valid_relpath(relpath: object) -> bool:
    if not isinstance(relpath, str) or not relpath or "\\" in relpath or "\x00" in relpath:
        return False
    parts = relpath.split("/")
    return all(p not in ("", ".", "..") for p in parts) and not relpath.endswith(INCOMPLETE_SUFFIX)


def read_manifest(source_dir: Path, commit: str) -> dict[str, str] | None:
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
        if not valid_relpath(relpath) or not isinstance(entry, dict):
            return None
        size, sha256 = entry.get("size"), entry.get("sha256")
        if not isinstance(size, int) or not isinstance(sha256, str) or not HEX64.fullmatch(sha256):
            return None
        try:
            if local_path(source_dir, relpath).stat().st_size != size:
                return None
        except OSError:
            return None
        files[relpath] = sha256
    return files


def cached_snapshot(repo_dir: Path, repo_id: str, revision: str, pinned: bool) -> Snapshot | None:
    commit = revision.lower() if pinned else read_ref(repo_dir, revision)
    if commit is None:
        return None
    source = source_dir_of(repo_dir, commit)
    files = read_manifest(source, commit)
    if files is None:
        return None
    return Snapshot(repo_id, revision, commit, source, files)


def offline_error(repo_dir: Path, repo_id: str, revision: str, pinned: bool, reason: str) -> OfflineError:
    commit = revision.lower() if pinned else read_ref(repo_dir, revision)
    how = "without offline=True" if reason.startswith("offline=") else "with HF_HUB_OFFLINE unset"
    fix = (
        f"Run the same command once with network access ({how}) to download it into the cache "
        f"{repo_dir.parent.parent}; offline mode then finds it there"
    )
    if commit is None:
        cached = sorted(p.name for p in (repo_dir / "refs").glob("*")) if (repo_dir / "refs").is_dir() else []
        have = f"; cached revisions of this repository: {', '.join(cached)}" if cached else ""
        problem = (
            f"the cache does not know which commit revision {revision!r} is (no {ref_path(repo_dir, revision)})"
            f"{have}; files needed: modules.json or config.json, tokenizer.json, model.safetensors"
        )
    else:
        source = source_dir_of(repo_dir, commit)
        if (source / "modules.json").is_file():
            try:
                folder = static_folder(json.loads((source / "modules.json").read_bytes()))
            except (OSError, ValueError, InvalidModelError):
                folder = ""
            expected = ["modules.json", f"{folder}tokenizer.json", f"{folder}model.safetensors"]
        elif (source / "config.json").is_file():
            expected = ["config.json", "tokenizer.json", "model.safetensors"]
        else:
            expected = ["modules.json or config.json", "tokenizer.json", "model.safetensors"]
        missing = [f for f in expected if not local_path(source, f).is_file()] or [MANIFEST_NAME]
        problem = f"the snapshot of commit {commit} in {source} is incomplete: missing {', '.join(missing)}"
    return OfflineError(
        f"{repo_id} (revision {revision!r}): offline mode ({reason}) and the model is not in the cache: "
        f"{problem}. {fix}.",
        repo_id=repo_id,
        revision=revision,
    )


@contextmanager
def locked(path: Path, what: str) -> Iterator[None]:
    """An exclusive inter-process lock on ``path`` (see :func:`fastembed_static.gen.locking.file_lock`), held until
    the block ends (the OS releases it if the process dies)."""
    from ..gen.locking import file_lock

    with ExitStack() as stack:
        try:
            stack.enter_context(file_lock(path))
        except OSError as e:
            raise cache_error(e, path, what) from e
        yield


def fsync_dir(path: Path) -> None:
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


def cache_error(e: OSError, path: Path, what: str, **context: str | None) -> CacheWriteError:
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


def atomic_write(path: Path, data: bytes) -> None:
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
    fsync_dir(path.parent)
