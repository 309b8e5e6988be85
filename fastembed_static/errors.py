"""Every error fastembed-static raises on purpose, in one module: what users of the package catch.

- :class:`ModelFileError`: a model folder or file on disk is missing, corrupt, inconsistent or unsupported (names
  the file). Its subclass :class:`GenerationError`: a model folder cannot be turned into a generated model (a bad
  local folder given to ``from_pretrained`` or ``gen``), so ``except ModelFileError`` catches every bad folder.
- :class:`HubError` and its subclasses: a model could not be downloaded from the Hugging Face hub (names the
  repository, revision, file and URL, what went wrong and what to do).

The first two are defined in :mod:`fastembed_static.gen.errors` (the generator runs at build time without the rest of
the package) and re-exported here.
"""

from __future__ import annotations

from .gen.errors import GenerationError, ModelFileError

__all__ = [
    "AuthError",
    "CacheWriteError",
    "EntryNotFoundError",
    "GenerationError",
    "HubConnectionError",
    "HubError",
    "IntegrityError",
    "InvalidModelError",
    "ModelFileError",
    "NotFoundError",
    "NotStaticModelError",
    "OfflineError",
    "RepoNotFoundError",
    "RevisionNotFoundError",
]


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
