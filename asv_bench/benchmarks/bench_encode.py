"""Embedding speed: ``StaticModel.encode`` by number of texts, text length, Matryoshka dims, table dtype, workers,
threads and memory mode. Every value is a time or a size: lower is better, as asv reads it."""

from __future__ import annotations

import inspect
import statistics
import time

from . import common

KINDS = ["short", "paragraph", "long", "broad"]


def _encode_accepts(name):
    from fastembed_static import StaticModel

    return name in inspect.signature(StaticModel.encode).parameters


def _load_accepts(name):
    from fastembed_static import StaticModel

    return name in inspect.signature(StaticModel.from_pretrained).parameters


class Encode:
    """``model.encode(texts)`` on ``n`` texts, default batch_size, a warm model (tokenizer cache full, weight pages
    mapped)."""

    params = (KINDS, [1, 32, 1024])
    param_names = ["texts", "n"]
    timeout = 300

    def setup(self, kind, n):
        self.model = common.load_model(common.model_path())
        self.texts = common.texts(kind, n)
        self.model.encode(self.texts)

    def time_encode(self, kind, n):
        self.model.encode(self.texts)


class EncodeCold:
    """A fresh model per call (load, empty tokenizer cache, new mapping) encoding 1024 texts."""

    params = (["short", "long"],)
    param_names = ["texts"]
    timeout = 300

    def setup(self, kind):
        self.path = common.model_path()
        self.texts = common.texts(kind, 1024)
        common.load_model(self.path).encode(self.texts)

    def time_encode_cold(self, kind):
        common.load_model(self.path).encode(self.texts)


class EncodeOne:
    """``model.encode(text)``: one string, the latency path (no batching), warm."""

    params = (KINDS,)
    param_names = ["texts"]

    def setup(self, kind):
        self.model = common.load_model(common.model_path())
        self.text = common.texts(kind, 100)[37]
        self.model.encode(self.text)

    def time_encode_one(self, kind):
        self.model.encode(self.text)


class EncodeDims:
    """1024 texts at ``dim`` columns. view: ``encode(dim=d)`` on the full table (strided column slice);
    generated: a model generated with ``dims=d`` (a smaller, contiguous table)."""

    params = ([256], ["view", "generated"], ["short", "long"])
    param_names = ["dim", "table", "texts"]
    timeout = 300

    def setup(self, dim, table, kind):
        self.model = common.load_model(common.model_path(dims=None if table == "view" else dim))
        self.dim = dim if table == "view" else None
        self.texts = common.texts(kind, 1024)
        self.model.encode(self.texts, dim=self.dim)

    def time_encode(self, dim, table, kind):
        self.model.encode(self.texts, dim=self.dim)


class EncodeDtype:
    """1024 long texts (where the table's bytes matter most) with the table stored as ``dtype`` (skipped when the
    installed generator has no ``dtype=``)."""

    params = (["float32", "float16", "int8"], ["long"])
    param_names = ["dtype", "texts"]
    timeout = 300

    def setup(self, dtype, kind):
        self.path = common.model_path(dtype=dtype)
        self.model = common.load_model(self.path)
        self.texts = common.texts(kind, 1024)
        self.model.encode(self.texts)

    def time_encode(self, dtype, kind):
        self.model.encode(self.texts)


class Storage:
    """Size of the generated weights per storage dtype."""

    params = (["float32", "float16", "int8"],)
    param_names = ["dtype"]

    def setup(self, dtype):
        self.path = common.model_path(dtype=dtype)

    def track_weights_mib(self, dtype):
        """The weights blob plus any side file (int8's per-column scales): every ``*.bin`` of the model."""
        return sum(f.stat().st_size for f in self.path.iterdir() if f.name.endswith(".bin")) / 2**20

    track_weights_mib.unit = "MiB"


class EncodeWorkers:
    """2k long texts (PEP chunks or broad prose) with ``workers=`` processes (skipped when ``encode`` has no
    ``workers``)."""

    params = ([1, 2], ["long", "broad"])
    param_names = ["workers", "texts"]
    timeout = 600

    def setup(self, workers, kind):
        if not _encode_accepts("workers"):
            raise NotImplementedError("StaticModel.encode has no workers= argument")
        self.model = common.load_model(common.model_path())
        self.texts = common.texts(kind, 10_000 if kind == "short" else 2_000)
        self.model.encode(self.texts, workers=workers)

    def time_encode(self, workers, kind):
        self.model.encode(self.texts, workers=workers)


class EncodeThreads:
    """10k short or 2k long texts (PEP chunks or broad prose) with ``threads=`` (skipped on commits whose ``encode``
    has no ``threads``)."""

    params = ([1, 2], ["short", "long", "broad"])
    param_names = ["threads", "texts"]
    timeout = 600

    def setup(self, threads, kind):
        if not _encode_accepts("threads"):
            raise NotImplementedError("StaticModel.encode has no threads= argument")
        self.model = common.load_model(common.model_path())
        self.texts = common.texts(kind, 10_000 if kind == "short" else 2_000)
        self.model.encode(self.texts, threads=threads)

    def time_encode(self, threads, kind):
        self.model.encode(self.texts, threads=threads)


class EncodeMemory:
    """1024 texts with the table loaded as ``memory=`` "mmap" (the file mapping) or "copy" (an anonymous copy):
    warm encode, and peak memory of load + encode (skipped when ``from_pretrained`` has no ``memory``)."""

    params = (["mmap", "copy"], ["short", "long"])
    param_names = ["memory", "texts"]
    timeout = 300

    def setup(self, memory, kind):
        if not _load_accepts("memory"):
            raise NotImplementedError("StaticModel.from_pretrained has no memory= argument")
        self.path = common.model_path()
        self.model = common.load_model(self.path, memory=memory)
        self.texts = common.texts(kind, 1024)
        self.model.encode(self.texts)

    def time_encode(self, memory, kind):
        self.model.encode(self.texts)

    def peakmem_load_encode(self, memory, kind):
        common.load_model(self.path, memory=memory).encode(self.texts)


class Throughput:
    """Time per token of a warm model over 10k texts (median of 5 calls): the headline number, as ns/token so that
    lower is better (asv treats every value as lower-is-better; a tokens/s rate would be read upside down)."""

    params = (KINDS,)
    param_names = ["texts"]
    timeout = 600

    def setup(self, kind):
        self.model = common.load_model(common.model_path())
        self.texts = common.texts(kind, 10_000 if kind == "short" else 2_000)
        self.tokens = sum(len(self.model.tokenize(t)) for t in self.texts)
        self.model.encode(self.texts)

    def track_ns_per_token(self, kind):
        times = []
        for _ in range(5):
            start = time.perf_counter()
            self.model.encode(self.texts)
            times.append(time.perf_counter() - start)
        return statistics.median(times) / self.tokens * 1e9

    track_ns_per_token.unit = "ns/token"

    def track_tokens_per_text(self, kind):
        """The workload itself (a change means the texts or the tokenizer changed, not the speed)."""
        return self.tokens / len(self.texts)

    track_tokens_per_text.unit = "tokens"
