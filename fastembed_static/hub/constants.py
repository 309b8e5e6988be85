"""The hub's URL layout, the cache's file names and the download's limits."""

from __future__ import annotations

import re

DEFAULT_ENDPOINT = "https://huggingface.co"
"""Overridden by ``$HF_ENDPOINT`` or ``endpoint=``; files are at ``{endpoint}/{repo_id}/resolve/{revision}/{file}``."""

MANIFEST_NAME = ".fastembed-static-files.json"
MANIFEST_FORMAT = "fastembed-static-snapshot/1"
INCOMPLETE_SUFFIX = ".incomplete"
INSTALL_HINT = "pip install 'fastembed-static[hub]'"

HEX40 = re.compile(r"[0-9a-f]{40}")
HEX64 = re.compile(r"[0-9a-f]{64}")
_REPO_PART = r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?"
REPO_ID = re.compile(rf"({_REPO_PART})/({_REPO_PART})")
TRUTHY = ("1", "true", "yes", "on")

CHUNK = 1 << 20
MAX_ATTEMPTS = 3  # per file, for connections that break mid-transfer (each attempt resumes)
MAX_REDIRECTS = 10
