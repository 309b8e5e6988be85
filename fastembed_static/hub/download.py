"""Downloading one snapshot: resolve the revision to a commit, fetch each file the model needs (streamed into
``{name}.incomplete``, resumed with HTTP ``Range`` after a broken connection, checked, then renamed into place),
and write the manifest last."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING
from urllib.parse import quote, urljoin, urlsplit

from ..errors import (
    AuthError,
    EntryNotFoundError,
    HubConnectionError,
    HubError,
    IntegrityError,
    InvalidModelError,
    RepoNotFoundError,
    RevisionNotFoundError,
)
from .cache import Snapshot, atomic_write, cache_error, fsync_dir, local_path, read_manifest, ref_path, source_dir_of
from .constants import CHUNK, HEX40, INCOMPLETE_SUFFIX, MANIFEST_FORMAT, MANIFEST_NAME, MAX_ATTEMPTS, MAX_REDIRECTS
from .files import checksum_problem, content_problem, hash_file, normalize_etag, static_folder

if TYPE_CHECKING:
    import requests

logger = logging.getLogger("fastembed_static.hub")


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


class Downloader:
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
        return source_dir_of(self.repo_dir, self.commit)

    def run(self) -> Snapshot:
        records: dict[str, tuple[int, str]] = {}
        modules = self._head("modules.json", optional=True)
        done = self._on_commit_known()
        if done is not None:
            return done
        if modules is not None:
            records["modules.json"] = self._fetch(modules)
            path = local_path(self.source_dir, "modules.json")
            try:
                folder = static_folder(json.loads(path.read_bytes()))
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
        files = read_manifest(self.source_dir, self.commit)
        if files is not None:
            self._write_ref()
            return Snapshot(self.repo_id, self.revision, self.commit, self.source_dir, files)
        manifest = self.source_dir / MANIFEST_NAME
        try:
            manifest.unlink(missing_ok=True)
        except OSError as e:
            raise cache_error(e, manifest, self._where(None, None), **self._ctx(None, None)) from e
        return None

    def _write_ref(self) -> None:
        if not self.pinned:
            assert self.commit is not None
            self._write(ref_path(self.repo_dir, self.revision), self.commit.encode() + b"\n")

    def _write(self, path: Path, data: bytes) -> None:
        try:
            atomic_write(path, data)
        except OSError as e:
            raise cache_error(e, path, self._where(None, None), **self._ctx(None, None)) from e

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
        for _ in range(MAX_REDIRECTS):
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
        etag = normalize_etag(r.headers.get("X-Linked-Etag") or r.headers.get("ETag"))
        download_url = urljoin(url, location) if r.is_redirect and location else url
        return _FileMeta(filename, url, download_url, size, etag)

    def _note_commit(self, r: requests.Response, filename: str, url: str) -> None:
        header = (r.headers.get("X-Repo-Commit") or "").strip().lower()
        if not HEX40.fullmatch(header):
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
        target = local_path(self.source_dir, meta.filename)
        tmp = target.with_name(target.name + INCOMPLETE_SUFFIX)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            ctx = self._ctx(meta.filename, meta.url)
            raise cache_error(e, target.parent, self._where(meta.filename, meta.url), **ctx) from e
        if target.is_file():
            size, sha256, sha1 = hash_file(target)
            if checksum_problem(size, sha256, sha1, meta.size, meta.etag) is None:
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
                if attempts < MAX_ATTEMPTS:
                    logger.warning(
                        "%s: %s: the connection broke (%s); resuming (attempt %d of %d)",
                        self.repo_id,
                        meta.filename,
                        _root_cause(e),
                        attempts + 1,
                        MAX_ATTEMPTS,
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
            size, sha256, sha1 = hash_file(tmp)
            problem = checksum_problem(size, sha256, sha1, meta.size, meta.etag)
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

        invalid = content_problem(tmp, meta.filename)
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
            raise cache_error(e, target, self._where(meta.filename, meta.url), **ctx) from e
        fsync_dir(target.parent)
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
                raise cache_error(e, tmp, self._where(meta.filename, url), **self._ctx(meta.filename, url)) from e
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
                        write_chunk(f, chunk)
                    except OSError as e:
                        f.close()
                        _unlink(tmp)
                        raise cache_error(
                            e, tmp, self._where(meta.filename, url), **self._ctx(meta.filename, url)
                        ) from e
                    written += len(chunk)
                try:
                    f.flush()
                    os.fsync(f.fileno())
                except OSError as e:
                    f.close()
                    _unlink(tmp)
                    raise cache_error(e, tmp, self._where(meta.filename, url), **self._ctx(meta.filename, url)) from e
            if total is not None and written < total:
                raise _Interrupted(written, total)
            return resumed


def _no_auth(r: requests.PreparedRequest) -> requests.PreparedRequest:
    return r


def _iter_body(r: requests.Response) -> Iterator[bytes]:
    """The response body in chunks as they arrive, so that bytes received before a broken connection are kept
    (urllib3 2's ``read(amt)`` waits for ``amt`` bytes and drops them when the connection breaks meanwhile)."""
    read1 = getattr(r.raw, "read1", None)
    if read1 is None:  # urllib3 < 2.3
        yield from r.iter_content(64 * 1024)
        return
    while chunk := read1(CHUNK, decode_content=True):
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


def write_chunk(f: IO[bytes], data: bytes) -> None:
    """Every byte of a download goes through here (tests make it fail like a full disk)."""
    f.write(data)
