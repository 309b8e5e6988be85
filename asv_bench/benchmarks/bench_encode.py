"""Embedding speed: ``StaticModel.encode`` by number of texts, text length, Matryoshka dims, table dtype."""

from __future__ import annotations

import inspect
import statistics
import time

from . import common

KINDS = ["short", "paragraph", "long"]
SIZES = [1, 32, 1024, 10_000]


class Encode:
    """``model.encode(texts)`` on ``n`` texts, default batch_size. warm: a model that has already encoded these texts
    (tokenizer cache full, weight pages mapped); cold: a fresh model per call (load + empty tokenizer cache)."""

    params = (KINDS, SIZES, ["warm", "cold"])
    param_names = ["texts", "n", "state"]
    timeout = 600

    def setup(self, kind, n, state):
        self.path = common.model_path()
        self.texts = common.texts(kind, n)
        self.model = common.load_model(self.path)
        self.model.encode(self.texts)

    def time_encode(self, kind, n, state):
        model = self.model if state == "warm" else common.load_model(self.path)
        model.encode(self.texts)


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

    params = ([1024, 256, 64], ["view", "generated"], ["short", "long"])
    param_names = ["dim", "table", "texts"]
    timeout = 300

    def setup(self, dim, table, kind):
        full = dim == common.SHAPE[1]
        if table == "generated" and full:
            raise NotImplementedError("same as view at the full dim")
        self.model = common.load_model(common.model_path(dims=None if table == "view" else dim))
        self.dim = None if full or table == "generated" else dim
        self.texts = common.texts(kind, 1024)
        self.model.encode(self.texts, dim=self.dim)

    def time_encode(self, dim, table, kind):
        self.model.encode(self.texts, dim=self.dim)


class EncodeDtype:
    """1024 texts with the table stored as ``dtype`` (skipped when the installed generator has no ``dtype=``)."""

    params = (["float32", "float16", "int8"], ["short", "long"])
    param_names = ["dtype", "texts"]
    timeout = 300

    def setup(self, dtype, kind):
        self.path = common.model_path(dtype=dtype)
        self.model = common.load_model(self.path)
        self.texts = common.texts(kind, 1024)
        self.model.encode(self.texts)

    def time_encode(self, dtype, kind):
        self.model.encode(self.texts)

    def peakmem_load_encode(self, dtype, kind):
        common.load_model(self.path).encode(self.texts)


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
    """10k texts with ``workers=`` processes (skipped when ``encode`` has no ``workers`` argument)."""

    params = ([1, 2], ["short", "long"])
    param_names = ["workers", "texts"]
    timeout = 600

    def setup(self, workers, kind):
        from fastembed_static import StaticModel

        if "workers" not in inspect.signature(StaticModel.encode).parameters:
            raise NotImplementedError("StaticModel.encode has no workers= argument")
        self.model = common.load_model(common.model_path())
        self.texts = common.texts(kind, 10_000)
        self.model.encode(self.texts, workers=workers)

    def time_encode(self, workers, kind):
        self.model.encode(self.texts, workers=workers)


class Throughput:
    """Tokens per second of a warm model over 10k texts (median of 5 calls): the headline number."""

    params = (KINDS,)
    param_names = ["texts"]
    timeout = 600

    def setup(self, kind):
        self.model = common.load_model(common.model_path())
        self.texts = common.texts(kind, 10_000)
        self.tokens = sum(len(self.model.tokenize(t)) for t in self.texts)
        self.model.encode(self.texts)

    def track_tokens_per_second(self, kind):
        times = []
        for _ in range(5):
            start = time.perf_counter()
            self.model.encode(self.texts)
            times.append(time.perf_counter() - start)
        return self.tokens / statistics.median(times)

    track_tokens_per_second.unit = "tokens/s"

    def track_tokens_per_text(self, kind):
        return self.tokens / len(self.texts)

    track_tokens_per_text.unit = "tokens"
