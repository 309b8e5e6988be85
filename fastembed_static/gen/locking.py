"""An exclusive inter-process file lock (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows), shared by the
generator (one generation into an output folder at a time) and the hub cache (one download of a repository at a
time). The OS releases it when the process dies, so a killed process never leaves a stale lock behind.

The lock file is removed when the lock is released, so locks do not pile up beside generated models and in the
cache (one per output folder and per repository otherwise, for ever). Removing a lock file is racy unless it is
done like this (POSIX): the holder unlinks the file *while it still holds the lock*, and every process that
acquires a lock checks, once it holds it, that the path still names the very file it locked (same device and
inode); if not (the previous holder removed it, and maybe a third process created a new one), it locks again.
Only the holder of the file currently at the path ever removes it, so at most one process holds a valid lock.
On Windows an open file cannot be removed, so there the lock file stays (one per output folder or repository).

Standard library only: the build (``setup.py``) imports the generator.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if needed, removed on release) until the block ends. OSError is
    the caller's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if sys.platform == "win32":
        import msvcrt

        with open(path, "a+b") as f:
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

        while True:
            f = open(path, "a+b")
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX)
                if _still_names(path, f.fileno()):
                    break
            except BaseException:
                f.close()
                raise
            f.close()  # the previous holder removed the file this process locked: lock the one there now
        try:
            yield
        finally:
            try:
                os.unlink(path)  # still holding the lock: no other process holds a valid lock on this file
            except OSError:
                pass  # e.g. a read-only folder: the file stays, which is harmless
            f.close()  # releases the lock


def _still_names(path: Path, fd: int) -> bool:
    """Whether ``path`` still names the open file ``fd`` (same device and inode)."""
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return False
    then = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (then.st_dev, then.st_ino)


def generation_lock_path(out_dir: Path) -> Path:
    """The lock file that serializes generation into ``out_dir``: a hidden file beside it (removed on release)."""
    return out_dir.parent / f".{out_dir.name}.lock"
