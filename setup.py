"""Build hooks: mypyc compilation of the tokenizer core, and generation of the bundled model(s).

Environment:
  FASTEMBED_STATIC_MYPYC=auto|1|0      compile the tokenizer with mypyc: when possible (default), required, never.
  FASTEMBED_STATIC_BUNDLE=MODEL[,...]  also generate and bundle these models: hub ids (owner/name[@revision],
                                       downloaded with the package's own hub code) or local model directories.
  FASTEMBED_STATIC_DEFAULT=MODEL       make MODEL (one of the bundle) the default model instead of the
                                       distilled all-MiniLM-L6-v2 model.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
COMPILED_MODULES = [
    "fastembed_static/_tokenizer.py",
    "fastembed_static/_bpe.py",
    "fastembed_static/_unigram.py",
]  # everything else stays Python (_charmap subclasses dict)


class BuildWithGeneratedModels(build_py):
    """build_py, then run the generator (like a Rust build.rs) into the build tree; for an editable install
    (``pip install -e .``), into the source tree's ``fastembed_static/_models`` (git-ignored), which is where the
    editable package finds them."""

    def run(self) -> None:
        # setuptools reuses build/lib between builds: start from an empty package there, so that a module removed
        # from the source tree or a model bundled by an earlier build never reaches this wheel.
        shutil.rmtree(Path(self.build_lib) / "fastembed_static", ignore_errors=True)
        super().run()
        # The package's own modules, from this source tree (as mypy's setup.py does): the generator, the layout
        # names it shares with the runtime, and the hub download for FASTEMBED_STATIC_BUNDLE.
        _source_package()
        from fastembed_static.gen import generate
        from fastembed_static.gen.layout import bundled_name, is_generated_model

        editable = bool(getattr(self, "editable_mode", False))
        models = (ROOT if editable else Path(self.build_lib)) / "fastembed_static" / "_models"
        bundle = [m.strip() for m in os.environ.get("FASTEMBED_STATIC_BUNDLE", "").split(",") if m.strip()]
        default = os.environ.get("FASTEMBED_STATIC_DEFAULT", "").strip()
        if default and default not in bundle:
            bundle.append(default)
        outputs = {models / "default" if model == default else models / bundled_name(model): model for model in bundle}
        if editable and models.is_dir():  # models an earlier editable build bundled, and this one does not
            for old in models.iterdir():
                if old not in outputs and old.name != "default" and is_generated_model(old):
                    shutil.rmtree(old)
        for out, model in outputs.items():
            source, origin = _model_source(model)
            generate(source, out, origin=origin)
            print(f"fastembed-static: generated {model} into {out}")
        if not default:
            generate(ROOT / "gen" / "default_model", models / "default")
            print(f"fastembed-static: generated the default model into {models / 'default'}")
        # Nothing but the models: no lock file of the generator (it removes its own; one left by a killed build or
        # a platform that cannot remove an open file must not reach the wheel).
        for lock in models.glob(".*.lock"):
            lock.unlink(missing_ok=True)


def _source_package() -> None:
    """Make ``fastembed_static.*`` importable from this source tree without running its ``__init__`` (the
    runtime, which needs numpy: the build environment has none, and the generator copies float32 bytes)."""
    if "fastembed_static" not in sys.modules:
        package = ModuleType("fastembed_static")
        package.__path__ = [str(ROOT / "fastembed_static")]
        sys.modules["fastembed_static"] = package


def _model_source(model: str) -> tuple[Path, dict[str, str] | None]:
    """A local model directory, or a hub id downloaded (and verified) into the cache."""
    from fastembed_static.gen.layout import hub_origin, split_revision
    from fastembed_static.hub import snapshot_download

    if Path(model).is_dir():
        return Path(model).resolve(), None
    repo_id, revision = split_revision(model)
    snapshot = snapshot_download(repo_id, revision=revision or "main")
    return snapshot.source_dir, hub_origin(snapshot.repo_id, snapshot.revision, snapshot.commit)


def _metadata_only() -> bool:
    """pip runs this file three times for one install (build requirements: ``egg_info``; metadata: ``dist_info``;
    then ``bdist_wheel``); only the last compiles, so the first two skip mypyc's type check (minutes on a
    small ARM board, where mypy itself is not compiled)."""
    commands = set(sys.argv[1:])
    return bool(commands & {"egg_info", "dist_info", "sdist"}) and not commands & {
        "build",
        "build_ext",
        "bdist_wheel",
        "bdist",
        "install",
        "develop",
        "editable_wheel",
    }


def _ext_modules() -> list[object]:
    mode = os.environ.get("FASTEMBED_STATIC_MYPYC", "auto").lower()
    if mode in ("0", "false", "no") or _metadata_only():
        return []
    try:
        from mypyc.build import mypycify

        # Only the compiled module's own type errors matter to mypyc: the modules it imports (and their numpy
        # stubs, whatever numpy the build environment has, or none) are analyzed silently. `mypy` checks them.
        extensions = mypycify(["--follow-imports=silent", *COMPILED_MODULES], opt_level="3")
    except BaseException as e:  # no mypy, or mypyc failed (it exits with SystemExit on a type error)
        if mode in ("1", "true", "yes") or isinstance(e, KeyboardInterrupt):
            raise
        reason = f"exit status {e.code}" if isinstance(e, SystemExit) else f"{type(e).__name__}: {e}"
        print(
            f"fastembed-static: mypyc unavailable or failed ({reason}); building the pure-Python tokenizer",
            file=sys.stderr,
        )
        return []
    if mode == "auto":
        for extension in extensions:
            extension.optional = True  # a failing C compiler leaves the pure-Python module in place
    return list(extensions)


setup(cmdclass={"build_py": BuildWithGeneratedModels}, ext_modules=_ext_modules())
