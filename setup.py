"""Build hooks: mypyc compilation of the tokenizer core, and generation of the bundled model(s).

Environment:
  FASTEMBED_STATIC_MYPYC=auto|1|0  compile the tokenizer with mypyc: when possible (default), required, never.
  FASTEMBED_STATIC_BUNDLE=MODEL    also generate and bundle MODEL (a model directory) as a named model.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
COMPILED_MODULES = ["fastembed_static/_tokenizer.py"]  # everything else stays Python (_charmap subclasses dict)


class BuildWithGeneratedModels(build_py):
    """build_py, then run the generator (like a Rust build.rs) into the build tree."""

    def run(self) -> None:
        super().run()
        sys.path.insert(0, str(ROOT))
        try:
            from gen import generate
        finally:
            sys.path.pop(0)
        models = Path(self.build_lib) / "fastembed_static" / "_models"
        generate(ROOT / "gen" / "default_model", models / "default")
        print(f"fastembed-static: generated the default model into {models / 'default'}")


def _ext_modules() -> list[object]:
    mode = os.environ.get("FASTEMBED_STATIC_MYPYC", "auto").lower()
    if mode in ("0", "false", "no"):
        return []
    try:
        from mypyc.build import mypycify

        extensions = mypycify(COMPILED_MODULES, opt_level="3")
    except Exception as e:  # no mypy, or mypyc failed: fall back to pure Python unless compilation is required
        if mode in ("1", "true", "yes"):
            raise
        print(f"fastembed-static: mypyc unavailable ({e}); building the pure-Python tokenizer", file=sys.stderr)
        return []
    if mode == "auto":
        for extension in extensions:
            extension.optional = True  # a failing C compiler leaves the pure-Python module in place
    return list(extensions)


setup(cmdclass={"build_py": BuildWithGeneratedModels}, ext_modules=_ext_modules())
