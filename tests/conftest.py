"""Shared fixtures: real benchmark data from ``$LIGHTNING_NAS_DATA`` (default ``../shared/data``)
and a fresh cache folder per test session, so every run exercises cache building."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
if "LIGHTNING_NAS_DATA" not in os.environ and _SHARED.is_dir():
    os.environ["LIGHTNING_NAS_DATA"] = str(_SHARED)
if "LIGHTNING_NAS_DATA" in os.environ:  # absolute, so subprocesses may run in other folders
    os.environ["LIGHTNING_NAS_DATA"] = str(Path(os.environ["LIGHTNING_NAS_DATA"]).resolve())
os.environ.setdefault("WANDB_MODE", "offline")


@pytest.fixture(scope="session", autouse=True)
def _session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cache")
    os.environ["LIGHTNING_NAS_CACHE"] = str(path)
    return path


@pytest.fixture(autouse=True)
def _own_working_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test runs in its own empty folder: what a fit writes relative to it (``plots/``,
    ``checkpoints/``, ``logs/``) stays out of the project's working tree."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = Path(os.environ.get("LIGHTNING_NAS_DATA", "data"))
    assert (root / "nb101").is_dir() and (root / "nb201").is_dir(), (
        f"benchmark data not found at {root}: set LIGHTNING_NAS_DATA (see data/README.md)"
    )
    return root


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
