"""A new search space is one module: a synthetic space and its tiny benchmark, defined and registered
here and nowhere in the package, run through ``fit``, ``score`` and ``search`` as a user would. And
the rule that keeps it so: outside ``spaces/`` and ``benchmarks/`` nothing asks which space it holds."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from lightning_nas.benchmarks import BENCHMARKS, Benchmark, Table, register_benchmark
from lightning_nas.cli import main
from lightning_nas.spaces import SPACES, FiniteSearchSpace, Layout, register_space
from lightning_nas.utils.errors import InvalidArchitecture

PACKAGE = Path(__file__).resolve().parents[1] / "lightning_nas"
OPS = ("conv", "pool", "skip")
POSITIONS = 4


class ChainSpace(FiniteSearchSpace[str]):
    """A chain of 4 layers, each a 3x3 conv, an average pool or a skip: 81 archs such as 'conv-pool-skip-conv'."""

    name = "chain"
    decisions = (len(OPS),) * POSITIONS
    network_variants = ("benchmark",)

    def __len__(self) -> int:
        return len(OPS) ** POSITIONS

    def validate(self, arch: Any) -> str:
        parts = str(arch).split("-")
        if len(parts) != POSITIONS or any(p not in OPS for p in parts):
            raise InvalidArchitecture(f"chain arch {arch!r}: need {POSITIONS} of {OPS} joined by '-'")
        return "-".join(parts)

    def key(self, arch: str) -> str:
        return arch

    def to_structure(self, archs: list[str]) -> dict[str, np.ndarray]:
        return {"ops": np.array([[OPS.index(p) for p in a.split("-")] for a in archs], dtype=np.int8).reshape(-1, POSITIONS)}

    def _arch(self, index: int) -> str:
        return "-".join(OPS[index // len(OPS) ** p % len(OPS)] for p in reversed(range(POSITIONS)))

    def index(self, arch: Any) -> int:
        return sum(OPS.index(p) * len(OPS) ** (POSITIONS - 1 - i) for i, p in enumerate(self.validate(arch).split("-")))

    def _spell(self, choices: tuple[int, ...]) -> str:
        return "-".join(OPS[c] for c in choices)

    def mutate(self, arch: str, rng: np.random.Generator) -> str:
        parts = arch.split("-")
        i = int(rng.integers(POSITIONS))
        parts[i] = str(rng.choice([op for op in OPS if op != parts[i]]))
        return "-".join(parts)

    def layouts(self) -> dict[str, Layout]:
        def onehot(structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            ops = structure["ops"]
            return {"x": (ops[..., None] == np.arange(len(OPS))).reshape(len(ops), -1)}

        return {"onehot": Layout(onehot, {"features": POSITIONS * len(OPS)})}

    def build_network(self, arch: str, num_classes: int, variant: str = "benchmark") -> nn.Module:
        return ChainNetwork(arch.split("-"), num_classes)


class ChainNetwork(nn.Module):
    def __init__(self, ops: list[str], num_classes: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, 8, 3, padding=1)]
        for op in ops:
            layers += {"conv": [nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1)], "pool": [nn.AvgPool2d(3, 1, 1)], "skip": []}[op]
        self.features = nn.Sequential(*layers, nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(8, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class ChainBenchmark(Benchmark):
    """Accuracy grows with the convolutions of a chain (test = validation + noise); params counted from the networks."""

    space = ChainSpace()
    datasets = ("cifar10",)
    default_epochs = 1

    def __init__(self, root: Any = None, source: Any = None, progress: bool = False) -> None:
        archs = [self.space.arch(i) for i in range(len(self.space))]
        ops = self.space.to_structure(archs)["ops"]
        val = 60 + 5 * (ops == 0).sum(1) + (ops == 1).sum(1) + np.linspace(0, 0.5, len(archs))
        test = val + np.random.default_rng(0).normal(scale=0.2, size=len(val))
        params = np.array([sum(p.numel() for p in self.space.build_network(a, 10).parameters()) for a in archs])
        columns = {"cifar10/val_acc@1": val, "cifar10/test_acc@1": test, "cifar10/params": params}
        super().__init__(Table(np.array(archs), {"ops": ops}, columns, {"source_kind": "synthetic"}))


@pytest.fixture
def chain_space():
    """ChainSpace and its benchmark registered for the test, and unregistered after it."""
    register_space(ChainSpace)
    register_benchmark(ChainBenchmark)
    yield
    SPACES.pop(ChainSpace.name)
    BENCHMARKS.pop(ChainSpace.name)


def test_a_space_defined_outside_the_package_fits_scores_and_searches(chain_space, tmp_path, capsys):
    fit = ["fit", "--config", "mlp_201.yaml", "--data.space", "chain", "--data.dataset", "cifar10", "--data.num_train", "20", "--data.num_val", "5",
           "--trainer.max_epochs", "3", "--trainer.logger", "false", "--trainer.enable_progress_bar", "false", "--model.init_args.ensemble_size", "1"]
    assert main(fit) == 0, capsys.readouterr().err
    assert "test/ktau" in capsys.readouterr().out
    (checkpoint,) = Path("checkpoints").glob("mlp_201-epoch=*.ckpt")  # in the test's own folder

    table = tmp_path / "scores.csv"
    assert main(["score", "--space", "chain", "--proxies", "params,synflow", "--archs", "all", "--output", str(table), "--trainer.enable_progress_bar", "false"]) == 0
    lines = table.read_text().splitlines()
    assert lines[0] == "key,row,params,synflow,check" and len(lines) == 1 + 81

    for guide in (["--predictor", str(checkpoint)], ["--proxies", "synflow", "--proxy_table", str(table)]):
        out = tmp_path / guide[0].strip("-")
        assert main(["search", "--space", "chain", "--dataset", "cifar10", "--budget", "35", "--strategy", "RegularizedEvolution",
                     "--strategy.num_candidates", "5", *guide, "--output", str(out)]) == 0, capsys.readouterr().err
        best = json.loads((out / "seed0" / "best.json").read_text())
        assert best["queries"] == 35 and best["best_arch"].count("conv") >= 3  # the space's best archs are mostly convolutions


# comparisons with a space's name, and dicts keyed by one
SPACE_NAME = r"""["'](?:nb101|nb201|nats_sss|darts)["']"""
BRANCHING = [re.compile(rf"(?:==|!=)\s*{SPACE_NAME}"), re.compile(rf"{SPACE_NAME}\s*(?:==|!=|\bin\b|\bnot in\b)"),
             re.compile(rf"\bin\s*[(\[{{][^)\]}}]*{SPACE_NAME}"), re.compile(rf"{SPACE_NAME}\s*:")]


def test_nothing_outside_spaces_and_benchmarks_asks_which_space_it_holds():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.relative_to(PACKAGE).parts[0] in ("spaces", "benchmarks"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if any(pattern.search(line) for pattern in BRANCHING):
                found.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)
    assert BRANCHING[0].search('if space.name == "nb101":') and BRANCHING[3].search('SIZES = {"nb201": 30}')  # the patterns do catch them


def test_predictors_see_tensors_and_import_nothing_from_the_spaces():
    imports = [f"{path.name}: {line.strip()}" for path in sorted((PACKAGE / "models").glob("*.py"))
               for line in path.read_text().splitlines() if re.match(r"\s*(from|import) lightning_nas\.(spaces|encodings|benchmarks)\b", line)]
    assert not imports, imports


def test_the_chain_space_networks_are_what_its_proxies_score(chain_space):
    from lightning_nas.proxies import build_network, count_parameters

    network = build_network("chain", "conv-conv-pool-skip")
    assert count_parameters(network) == ChainBenchmark().query("conv-conv-pool-skip", metric="params")
    assert network(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
