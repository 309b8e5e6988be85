"""Download the files of a static embedding model from the Hugging Face hub (or a mirror of its URL layout).

Only what the model needs is fetched:

- sentence-transformers layout: ``modules.json`` (its first module must be a ``StaticEmbedding``), that module's
  folder's ``tokenizer.json`` and ``model.safetensors``, and ``config.json`` at the root if the repository has one;
- model2vec layout (no ``modules.json``): ``config.json``, ``tokenizer.json`` and ``model.safetensors``.

Each file is streamed into ``{name}.incomplete`` beside its final path, fsync'ed, checked (size, the hub's sha256
or git blob sha1, JSON / safetensors header sanity) and only then renamed into place, so a file under its final
name is always complete and verified. An interrupted download is resumed with an HTTP ``Range`` request.

Once ``refs/{revision}`` names a commit whose snapshot is complete, :func:`snapshot_download` returns it without any
network request: a branch that moved on the hub is picked up only with ``force_refresh=True``.

``requests`` is imported only when something must be downloaded (``pip install 'fastembed-static[hub]'``).

Modules: :mod:`.constants` (URL layout, names, limits), :mod:`.cache` (the cache on disk), :mod:`.files` (checks
of downloaded files), :mod:`.download` (one snapshot's download); the errors are in :mod:`fastembed_static.errors`.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import (
    AuthError,
    CacheWriteError,
    EntryNotFoundError,
    HubConnectionError,
    HubError,
    IntegrityError,
    InvalidModelError,
    NotFoundError,
    NotStaticModelError,
    OfflineError,
    RepoNotFoundError,
    RevisionNotFoundError,
)
from .cache import (
    Snapshot,
    cached_snapshot,
    check_repo_id,
    check_revision,
    default_cache_dir,
    generated_dir,
    locked,
    looks_like_repo_id,
    offline_error,
)
from .constants import DEFAULT_ENDPOINT, HEX40, INSTALL_HINT, TRUTHY

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
    owner, name = check_repo_id(repo_id)
    check_revision(revision)
    pinned = HEX40.fullmatch(revision.lower()) is not None
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    repo_dir = cache / "models" / f"{owner}--{name}"
    offline_reason = "offline=True" if offline else None
    if offline is None:
        env = os.environ.get("HF_HUB_OFFLINE", "")
        if env.strip().lower() in TRUTHY:
            offline_reason = f"HF_HUB_OFFLINE={env}"

    if offline_reason or not force_refresh:
        snapshot = cached_snapshot(repo_dir, repo_id, revision, pinned)
        if snapshot is not None:
            return snapshot
    if offline_reason:
        raise offline_error(repo_dir, repo_id, revision, pinned, offline_reason)

    try:
        import requests
    except ImportError as e:
        raise ImportError(
            f"downloading {repo_id!r} from the Hugging Face hub needs the 'requests' package: {INSTALL_HINT}"
        ) from e

    endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    token = token or os.environ.get("HF_TOKEN") or None
    with locked(repo_dir / ".lock", f"{repo_id} (revision {revision!r}): cannot lock the cache"):
        # Another process may have finished the download while this one waited for the lock.
        if not force_refresh:
            snapshot = cached_snapshot(repo_dir, repo_id, revision, pinned)
            if snapshot is not None:
                return snapshot
        from .download import Downloader

        with requests.Session() as session:
            return Downloader(session, repo_id, revision, repo_dir, endpoint, token, timeout, pinned).run()
