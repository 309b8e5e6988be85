"""A fake Hugging Face hub on 127.0.0.1 for the download tests: the real URL layout and headers, request
counting, and fault injection. No test may contact huggingface.co; this server stands in for it.

URL layout (as the real hub):

- ``HEAD|GET /{owner}/{name}/resolve/{revision}/{path}`` (revision URL-quoted; a branch or a 40-hex commit):
  - regular files: 200, ``ETag: "<git blob sha1>"`` (``W/"..."`` if ``weak_etags``), ``Content-Length``,
    ``X-Repo-Commit``, ``Accept-Ranges: bytes``; GET honours ``Range: bytes=N-`` with 206;
  - LFS files (``lfs_suffixes``, default ``.safetensors``): 302 to ``http://{lfs_host}:{port}/lfs/{sha256}`` (an
    absolute URL on another host name, like the CDN), with ``X-Linked-Size``, ``X-Linked-Etag: "<sha256>"``,
    ``X-Repo-Commit``;
  - unknown repository: 404 ``X-Error-Code: RepoNotFound``; unknown revision: 404 ``RevisionNotFound``; missing
    file: 404 ``EntryNotFound`` with ``X-Repo-Commit``; private repository without the right ``Bearer`` token:
    401; renamed repository: 307 to a relative URL (as the hub does).
- ``HEAD|GET /lfs/{sha256}``: the blob, with ``Range`` support.

Faults (:class:`Fault`) match a substring of the request path and a method, apply ``times`` times (None: always):
``close_after`` (send n body bytes, then close the connection), ``lie_size`` (announce n more bytes than the file
has, in ``X-Linked-Size``/HEAD ``Content-Length``), ``corrupt`` (flip a byte of the body; etags stay those of the
real content), ``ignore_range`` (answer 200 with the whole file to a Range request), ``status`` (answer HTTP n),
``slow`` (sleep ``delay`` seconds between 64 KiB chunks of the body).
"""

from __future__ import annotations

import hashlib
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Fault:
    kind: str  # close_after | lie_size | corrupt | ignore_range | status | slow
    match: str  # substring of the request path
    method: str | None = "GET"  # None: any method
    n: int = 0
    times: int | None = 1  # None: always
    delay: float = 0.0
    hits: int = 0


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    status: int = 0


@dataclass
class Repo:
    refs: dict[str, str] = field(default_factory=dict)  # branch -> commit
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)  # commit -> path -> bytes


class FakeHub:
    def __init__(
        self,
        repos: dict[str, dict[str, dict[str, bytes]]] | None = None,
        *,
        tokens: dict[str, str] | None = None,
        renames: dict[str, str] | None = None,
        lfs_suffixes: tuple[str, ...] = (".safetensors",),
        lfs_host: str = "localhost",
        weak_etags: bool = False,
    ) -> None:
        """``repos``: {repo_id: {branch or 40-hex commit: {path: bytes}}}; a branch gets a commit made from its
        name and content. ``tokens``: {repo_id: token} for private repositories."""
        self.repos: dict[str, Repo] = {}
        self.tokens = dict(tokens or {})
        self.renames = dict(renames or {})
        self.lfs_suffixes = lfs_suffixes
        self.lfs_host = lfs_host
        self.weak_etags = weak_etags
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self.blobs: dict[str, bytes] = {}
        self._lock = threading.Lock()
        for repo_id, revisions in (repos or {}).items():
            for revision, files in revisions.items():
                self.set_revision(repo_id, revision, files)
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.hub = self  # type: ignore[attr-defined]
        self.port: int = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    # ---- setup

    def set_revision(self, repo_id: str, revision: str, files: dict[str, bytes]) -> str:
        """Make ``revision`` (a branch, or a 40-hex commit) hold ``files``; returns its commit."""
        repo = self.repos.setdefault(repo_id, Repo())
        if re.fullmatch(r"[0-9a-f]{40}", revision):
            commit = revision
        else:
            digest = hashlib.sha1(f"{repo_id}@{revision}".encode())
            for path in sorted(files):
                digest.update(path.encode() + b"\0" + files[path])
            commit = digest.hexdigest()
            repo.refs[revision] = commit
        repo.commits[commit] = dict(files)
        for data in files.values():
            self.blobs[sha256(data)] = data
        return commit

    def commit_of(self, repo_id: str, revision: str = "main") -> str:
        return self.repos[repo_id].refs[revision]

    def add_fault(self, kind: str, match: str, **kwargs: Any) -> Fault:
        fault = Fault(kind, match, **kwargs)
        with self._lock:
            self.faults.append(fault)
        return fault

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ---- inspection

    def count(self, method: str | None = None, contains: str = "") -> int:
        with self._lock:
            return sum(1 for r in self.requests if (method is None or r.method == method) and contains in r.path)

    def matching(self, method: str | None = None, contains: str = "") -> list[Request]:
        with self._lock:
            return [r for r in self.requests if (method is None or r.method == method) and contains in r.path]

    def reset_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    # ---- internals

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def _take_fault(self, kinds: tuple[str, ...], method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.kind not in kinds or fault.match not in path:
                    continue
                if fault.method is not None and fault.method != method:
                    continue
                if fault.times is not None and fault.hits >= fault.times:
                    continue
                fault.hits += 1
                return fault
        return None


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up mid-answer (the tests make them) are normal here, not tracebacks."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    @property
    def hub(self) -> FakeHub:
        hub: FakeHub = self.server.hub  # type: ignore[attr-defined]
        return hub

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_GET(self) -> None:
        self._handle("GET")

    # ---- responses

    def _send(self, status: int, headers: dict[str, str], body: bytes = b"", method: str = "GET") -> None:
        self._request.status = status
        self.send_response(status)
        headers = {"Content-Length": str(len(body)), **headers}
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if method == "GET" and body:
            self.wfile.write(body)

    def _error(self, status: int, code: str | None, message: str, commit: str | None = None) -> None:
        headers = {"X-Error-Message": message, "Content-Type": "application/json"}
        if code:
            headers["X-Error-Code"] = code
        if commit:
            headers["X-Repo-Commit"] = commit
        self._send(status, headers, f'{{"error": "{message}"}}'.encode(), self.command)

    def _handle(self, method: str) -> None:
        hub = self.hub
        raw_path = urlsplit(self.path).path
        self._request = Request(method, raw_path, {k: v for k, v in self.headers.items()})
        hub._record(self._request)
        fault = hub._take_fault(("status",), method, raw_path)
        if fault is not None:
            self._error(fault.n, None, f"injected HTTP {fault.n}")
            return
        segments = raw_path.lstrip("/").split("/")
        if len(segments) == 2 and segments[0] == "lfs":
            data = hub.blobs.get(segments[1])
            if data is None:
                self._error(404, None, "no such blob")
                return
            self._serve(method, data, {}, raw_path)
            return
        if len(segments) < 5 or segments[2] != "resolve":
            self._error(404, None, "not found")
            return
        repo_id = f"{segments[0]}/{segments[1]}"
        revision = unquote(segments[3])
        filename = "/".join(unquote(s) for s in segments[4:])
        if repo_id in hub.renames:
            self._send(307, {"Location": f"/{hub.renames[repo_id]}/resolve/{'/'.join(segments[3:])}"}, b"", method)
            return
        repo = hub.repos.get(repo_id)
        if repo_id in hub.tokens and self.headers.get("Authorization") != f"Bearer {hub.tokens[repo_id]}":
            if self.headers.get("Authorization"):
                self._error(401, None, "Invalid credentials in Authorization header")
            else:
                self._error(401, "RepoNotFound", "Repository not found")
            return
        if repo is None:
            self._error(404, "RepoNotFound", "Repository not found")
            return
        commit = repo.refs.get(revision) or (revision if revision in repo.commits else None)
        if commit is None:
            self._error(404, "RevisionNotFound", "Invalid rev id")
            return
        files = repo.commits[commit]
        if filename not in files:
            self._error(404, "EntryNotFound", "Entry not found", commit)
            return
        data = files[filename]
        lie = hub._take_fault(("lie_size",), method, raw_path)
        announced = len(data) + (lie.n if lie else 0)
        if filename.endswith(hub.lfs_suffixes):
            digest = sha256(data)
            headers = {
                "Location": f"http://{hub.lfs_host}:{hub.port}/lfs/{digest}",
                "X-Linked-Size": str(announced),
                "X-Linked-Etag": f'"{digest}"',
                "ETag": f'"{digest}"',
                "X-Repo-Commit": commit,
            }
            self._send(302, headers, b"", method)
            return
        etag = f'"{git_blob_sha1(data)}"'
        headers = {"ETag": f"W/{etag}" if hub.weak_etags else etag, "X-Repo-Commit": commit}
        if method == "HEAD":
            self._send(200, {**headers, "Content-Length": str(announced), "Accept-Ranges": "bytes"}, b"", method)
            return
        self._serve(method, data, headers, raw_path)

    def _serve(self, method: str, data: bytes, headers: dict[str, str], path: str) -> None:
        """The body of a file, with Range support and the body faults."""
        hub = self.hub
        if hub._take_fault(("corrupt",), method, path) and data:
            data = bytes([data[0] ^ 0xFF]) + data[1:] if len(data) < 2 else data[:-1] + bytes([data[-1] ^ 0xFF])
        status, start = 200, 0
        headers = {**headers, "Accept-Ranges": "bytes"}
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if match and not hub._take_fault(("ignore_range",), method, path):
            start = int(match.group(1))
            if start >= len(data):
                self._send(416, {**headers, "Content-Range": f"bytes */{len(data)}"}, b"", method)
                return
            status = 206
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        self._request.status = status
        self.send_response(status)
        for key, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(key, value)
        self.end_headers()
        if method != "GET":
            return
        close = hub._take_fault(("close_after",), method, path)
        slow = hub._take_fault(("slow",), method, path)
        if close is not None:
            body = body[: close.n]
        for i in range(0, len(body), 65536):
            if slow is not None and i:
                time.sleep(slow.delay)
            self.wfile.write(body[i : i + 65536])
        self.wfile.flush()
        if close is not None:
            self.close_connection = True
