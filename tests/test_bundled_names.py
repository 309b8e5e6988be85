"""Models bundled at install time from a local folder (FASTEMBED_STATIC_BUNDLE=/path/NAME) are found by
``from_pretrained("NAME")`` and ``--model NAME``. The bundle folder is made here as setup.py makes it (the generator
into ``_models/bundled_name(path)``), in a temporary folder the loader is pointed at; tests/test_bundle.py checks
the same through a real wheel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fastembed_static import ModelFileError, StaticModel, _generated_cache
from fastembed_static.cli import main
from fastembed_static.gen import generate
from fastembed_static.gen.layout import bundled_name

from .helpers import MRL_TOKENIZER, make_st_model

ROWS = 30522


@pytest.fixture
def bundled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    models = tmp_path / "site" / "_models"
    mine = make_st_model(tmp_path / "sources" / "mymodel", MRL_TOKENIZER, np.full((ROWS, 3), 2.0, np.float32))
    other = make_st_model(tmp_path / "sources" / "other", MRL_TOKENIZER, np.full((ROWS, 5), 3.0, np.float32))
    generate(mine, models / bundled_name(str(mine)))  # FASTEMBED_STATIC_BUNDLE=.../mymodel
    generate(other, models / "default")  # FASTEMBED_STATIC_DEFAULT=.../other
    monkeypatch.setattr(_generated_cache, "BUNDLED_DIR", models)
    monkeypatch.setenv("FASTEMBED_STATIC_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)  # no folder called mymodel or other here
    return models


def test_from_pretrained_finds_a_bundled_local_model_by_its_name(bundled: Path, tmp_path: Path) -> None:
    model = StaticModel.from_pretrained("mymodel")
    assert model.path == bundled / "mymodel" and model.dim == 3
    np.testing.assert_array_equal(model.encode("hello"), np.full(3, 2.0, np.float32))
    assert StaticModel.from_pretrained("other").path == bundled / "default"  # bundled as the default model
    assert StaticModel.bundled("mymodel").path == bundled / "mymodel"
    assert not (tmp_path / "cache").exists(), "nothing generated"


def test_cli_model_finds_a_bundled_local_model(bundled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "mymodel"]) == 0
    assert f"path:        {bundled / 'mymodel'}" in capsys.readouterr().out


def test_what_is_not_a_bundled_name(bundled: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match=r"no bundled model of that name.*bundled models: mymodel, other"):
        StaticModel.from_pretrained("nope")
    with pytest.raises(ModelFileError, match="no such model directory"):
        StaticModel.from_pretrained(Path("mymodel"))  # a pathlib.Path is always a local folder
    with pytest.raises(ModelFileError, match="no such model directory"):
        StaticModel.from_pretrained("default")  # the folder name is not the name given at bundling
    with pytest.raises(ValueError, match="is a bundled model, already generated"):
        StaticModel.from_pretrained("mymodel", dims=2)
    # A local folder of that name in the current directory is what a path means: it wins (generated to the cache).
    make_st_model(tmp_path / "mymodel", MRL_TOKENIZER, np.full((ROWS, 2), 7.0, np.float32))
    assert StaticModel.from_pretrained("mymodel").dim == 2


def test_bundled_without_any_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_generated_cache, "BUNDLED_DIR", tmp_path / "missing")
    with pytest.raises(ModelFileError, match="no bundled model 'x'; bundled: none"):
        StaticModel.bundled("x")
