"""An exclusive inter-process file lock (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows), shared by the
generator (one generation into an output folder at a time) and the hub cache (one download of a repository at a
time). The OS releases it when the process dies, so a killed process never leaves a stale lock behind.

Standard library only: the build (``setup.py``) imports the generator.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if needed) until the block ends. OSError is the caller's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as f:
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


def generation_lock_path(out_dir: Path) -> Path:
    """The lock file that serializes generation into ``out_dir``: a hidden file beside it."""
    return out_dir.parent / f".{out_dir.name}.lock"
