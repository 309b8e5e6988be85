"""Cold start and memory, each in a fresh process: imports, the bundled default model, the bench model."""

from __future__ import annotations

from . import common


class Import:
    """``timeraw_``: the returned code runs in a new interpreter (its startup is not counted, its imports are).
    Needs no benchmark data: these run (and fail) on their own."""

    timeout = 120

    def timeraw_import_numpy(self):
        return "import numpy"

    def timeraw_import_fastembed_static(self):
        return "import fastembed_static"

    def timeraw_default_model_encode(self):
        return "from fastembed_static import StaticModel\nStaticModel.default().encode('x')"


class Startup:
    """Import, load the 30522x1024 bench model and encode one text, in a new interpreter."""

    timeout = 120

    def setup(self):
        self.path = str(common.model_path())

    def timeraw_bench_model_encode(self):
        return f"from fastembed_static import StaticModel\nStaticModel.from_pretrained({self.path!r}).encode('x')"


class Memory:
    """Peak RSS of a process that loads the 30522x1024 bench model and encodes 10k texts (one call)."""

    params = (["short", "long"],)
    param_names = ["texts"]
    timeout = 300

    def setup(self, kind):
        self.path = common.model_path()
        self.texts = common.texts(kind, 10_000 if kind == "short" else 2_000)

    def peakmem_encode(self, kind):
        common.load_model(self.path).encode(self.texts)

    def peakmem_encode_batch_32(self, kind):
        common.load_model(self.path).encode(self.texts, batch_size=32)
