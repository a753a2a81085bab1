"""Shared fixtures. Tests read the data a user has after ``pip install``: the compact tables embedded in
the package (``$LIGHTNING_NAS_DATA`` is unset for them, so a user's own folder does not change what
they check). NASLib's published proxy scores, which are test and measurement data and not shipped,
are read from the project's shared data folder, and the tests that need them skip without it. Every
test session builds its caches in a fresh folder, so cache building is exercised on every run."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

os.environ.pop("LIGHTNING_NAS_DATA", None)
os.environ.setdefault("WANDB_MODE", "offline")
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def _session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cache")
    os.environ["LIGHTNING_NAS_CACHE"] = str(path)
    return path


@pytest.fixture(autouse=True)
def _own_working_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test runs in its own empty folder: what a fit writes relative to it (``runs/``,
    ``checkpoints/``, ``logs/``) stays out of the project's working tree."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The compact tables and CIFAR-10 sample embedded in the package (the default data source)."""
    from lightning_nas.benchmarks import EMBEDDED_DATA

    return EMBEDDED_DATA


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's shared data folder (NASLib's published proxy scores in ``zc/``): not shipped."""
    if not (SHARED_DATA / "zc").is_dir():
        pytest.skip(f"NASLib's published proxy scores are test data outside the package; not found at {SHARED_DATA / 'zc'}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def nb101(data_root):
    from lightning_nas.benchmarks import NB101Benchmark

    return NB101Benchmark(root=data_root)


@pytest.fixture(scope="session")
def nb201(data_root):
    from lightning_nas.benchmarks import NB201Benchmark

    return NB201Benchmark(root=data_root)


@pytest.fixture
def make_predictor():
    """``make_predictor(GNNPredictor, "nb201", extra_features=["params"], ...)``: a predictor built for a
    space (its class's own encoding unless one is given), as the command line links it to a datamodule."""
    import inspect

    from lightning_nas.datamodules import input_shape

    def make(cls, space, encoding=None, extra_features=None, **kwargs):
        encoding = encoding or inspect.signature(cls).parameters["encoding"].default
        return cls(space=space, encoding=encoding, extra_features=extra_features, input_shape=input_shape(space, encoding, extra_features), **kwargs)

    return make


#: How each case of tests/test_bad_inputs.py ended (clear_error, unclear, traceback, silent).
BAD_INPUTS: list[str] = []


@pytest.fixture(scope="session")
def bad_inputs() -> list[str]:
    return BAD_INPUTS


def pytest_terminal_summary(terminalreporter) -> None:
    """The fault-injection figure, for the issue's acceptance line and CI logs."""
    if BAD_INPUTS:
        counts = Counter(BAD_INPUTS)
        terminalreporter.write_line(json.dumps({"figure": "bad_inputs", "tried": len(BAD_INPUTS), "clear_error": counts["clear_error"],
                                                "unclear": counts["unclear"], "traceback": counts["traceback"], "silent": counts["silent"]}))
