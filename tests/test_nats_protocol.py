"""NATS-Bench's protocol: simulated training time and time budgets, per-seed draws, BOHB, cost info,
constraints and the Pareto mode, on the real NB201 tables and on a tiny timed space."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from lightning_nas import cli
from lightning_nas.benchmarks import NB201Benchmark
from lightning_nas.benchmarks.base import Benchmark, Table
from lightning_nas.benchmarks.budget import BudgetExhausted, QueryBudget
from lightning_nas.benchmarks.constraints import Constraint, Cost
from lightning_nas.search import BOHB, RandomSearch, RegularizedEvolution, Reinforce, run_search
from lightning_nas.search.pareto import pareto_front, pareto_search
from lightning_nas.spaces.datasets import get_dataset
from lightning_nas.utils.errors import InvalidArgument, LightningNASError, UnknownMetric

from test_search import PredictorLikeScorer, TinySpace

STRATEGIES = [RandomSearch, RegularizedEvolution, Reinforce, BOHB]


class TimedTinyBenchmark(Benchmark):
    """TinySpace with NATS-Bench's columns: 12- and 200-epoch validation accuracy (additive in the choices, unique
    optimum 3-3-3-3; the 12-epoch one lower and noisy), two training seeds at 200 epochs, 200-epoch training
    time that grows with the first choice, and test accuracy."""

    space = TinySpace()
    datasets = ("toy",)
    default_epochs = 200

    def __init__(self) -> None:
        archs = [self.space.arch(i) for i in range(len(self.space))]
        choices = self.space.to_structure(archs)["choices"]
        rng = np.random.default_rng(0)
        val = 80 + (choices * np.array([1.0, 2.0, 3.0, 4.0])).sum(1) / 2
        columns = {
            "toy/val_acc@200": val,
            "toy/val_acc_seed0@200": val - 0.05,
            "toy/val_acc_seed1@200": val + 0.05,
            "toy/val_acc@12": val - 10 + rng.normal(scale=0.3, size=len(val)),
            "toy/test_acc@200": val + rng.normal(scale=0.1, size=len(val)),
            "toy/train_time@200": 1000.0 + 100 * choices[:, 0],
        }
        super().__init__(Table(np.array(archs), {"choices": choices}, columns, {}))


@pytest.fixture(scope="module")
def nb201(data_root):
    return NB201Benchmark(root=data_root)


# -- simulated training -----------------------------------------------------------------------------------------------

def test_simulate_train_eval_charges_the_runs_time_and_draws_a_seed_reproducibly(nb201):
    arch = nb201.arch(6111)
    nb201.reset_time()
    runs = [nb201.simulate_train_eval(arch, "cifar10", epochs=200, seed=seed) for seed in range(20)]
    seeds = nb201.training_columns("cifar10", 200).per_seed[:, 6111]
    assert {r.val_acc for r in runs} == set(seeds[~np.isnan(seeds)])  # every trained seed drawn, nothing else
    assert [nb201.simulate_train_eval(arch, "cifar10", epochs=200, seed=seed).val_acc for seed in range(20)] == [r.val_acc for r in runs]
    full = nb201.query(arch, "cifar10-valid", "train_time")
    assert runs[0].seconds == pytest.approx(full) and runs[-1].total_seconds == pytest.approx(20 * full)
    twelve = nb201.simulate_train_eval(arch, "cifar10", epochs=12, seed=0)
    assert twelve.seconds == pytest.approx(full * 12 / 200) and twelve.val_acc == pytest.approx(nb201.query(arch, "cifar10-valid", "val_acc", epochs=12))
    assert nb201.simulate_train_eval(arch, "cifar10", seed=0, account_time=False).total_seconds == pytest.approx(twelve.total_seconds)
    nb201.reset_time()
    assert nb201.used_time == 0.0
    with pytest.raises(UnknownMetric, match=r"no val_acc after 50 epochs on cifar10-valid .* epochs it has: \[12, 200\]"):
        nb201.simulate_train_eval(arch, "cifar10", epochs=50)


@pytest.mark.parametrize("dataset", ["cifar100", "ImageNet16-120"])
def test_per_seed_runs_of_cifar100_and_imagenet_keep_the_validation_mean(nb201, dataset):
    """Their tables hold per-seed x-valid accuracies only through valtest: the runs must average to the validation mean."""
    columns = nb201.training_columns(dataset, 200)
    assert columns.per_seed.shape[0] > 1 and any("valtest" in note for note in columns.notes)
    mean = nb201.column("val_acc", dataset)
    assert np.nanmean(columns.per_seed, axis=0) == pytest.approx(mean, abs=1e-6)


def test_a_search_on_per_seed_runs_repeats_for_its_seed(nb201):
    first, again, other = (run_search(RegularizedEvolution(), QueryBudget(nb201, 40, "cifar10", signal=200), seed=s) for s in (3, 3, 4))
    assert first.history == again.history and first.history != other.history
    per_seed = nb201.training_columns("cifar10", 200).per_seed
    assert all(q.select in per_seed[:, q.row] for q in first.history)


# -- time budgets ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_time_budget_is_never_exceeded(nb201, strategy):
    budget = QueryBudget(nb201, dataset="cifar100", seconds=20_000)  # signal 12 by default
    result = run_search(strategy(), budget, seed=1)
    charged = {e: nb201.training_columns("cifar100", e).seconds for e in (12, 200)}
    spent = np.cumsum([charged[q.epochs][q.row] for q in result.history])
    assert result.seconds() == pytest.approx(spent)
    assert spent[-1] <= 20_000 and budget.exhausted and result.queries > 5
    with pytest.raises(BudgetExhausted):
        budget.query(nb201.arch(0))
    if strategy is BOHB:  # both fidelities are trained, the full one only for the promoted
        assert {q.epochs for q in result.history} == {12, 200}
        assert sum(q.epochs == 200 for q in result.history) < sum(q.epochs == 12 for q in result.history)


def test_a_query_is_charged_every_time_it_trains(nb201):
    budget = QueryBudget(nb201, dataset="cifar10", seconds=10_000)
    arch = nb201.arch(6111)
    budget.query(arch), budget.query(arch)
    assert budget.used == 2 and budget.used_seconds == pytest.approx(2 * nb201.query(arch, "cifar10-valid", "train_time") * 12 / 200)
    with pytest.raises(InvalidArgument, match="simulates a training run: give the budget a signal"):
        QueryBudget(nb201, 10, "cifar10").query(arch, epochs=200)


@pytest.mark.parametrize("strategy", [RegularizedEvolution, BOHB])
def test_a_killed_time_budgeted_search_resumes_to_the_same_result(nb201, strategy, tmp_path, monkeypatch):
    def budget():
        return QueryBudget(nb201, dataset="cifar10", seconds=6000, signal=12)

    uninterrupted = run_search(strategy(), budget(), seed=5, output=tmp_path / "a", save_every=4)
    original = QueryBudget.query

    def killed_at_half(self, arch, epochs=None):
        if self.used_seconds > 3000:
            raise KeyboardInterrupt
        return original(self, arch, epochs)

    monkeypatch.setattr(QueryBudget, "query", killed_at_half)
    with pytest.raises(KeyboardInterrupt):
        run_search(strategy(), budget(), seed=5, output=tmp_path / "b", save_every=4)
    monkeypatch.setattr(QueryBudget, "query", original)
    assert not (tmp_path / "b" / "best.json").exists()
    resumed = run_search(strategy(), budget(), seed=5, output=tmp_path / "b", save_every=4)
    assert resumed.history == uninterrupted.history
    assert json.loads((tmp_path / "b" / "best.json").read_text())["simulated_seconds"] == pytest.approx(uninterrupted.best.seconds)


def test_bohb_finds_the_optimum_of_a_tiny_space():
    bench = TimedTinyBenchmark()
    found = [run_search(BOHB(), QueryBudget(bench, seconds=60_000), seed=seed).best.best_key for seed in range(3)]
    assert found == ["3-3-3-3"] * 3


def test_bohb_needs_simulated_training_and_no_scorer(nb201):
    with pytest.raises(InvalidArgument, match="BOHB trains archs at two fidelities"):
        run_search(BOHB(), QueryBudget(nb201, 20, "cifar10"))
    with pytest.raises(InvalidArgument, match="BOHB proposes archs from its own model and takes no scorer"):
        run_search(BOHB(), QueryBudget(nb201, 20, "cifar10", signal=12), scorer=PredictorLikeScorer(nb201))


# -- costs and constraints ---------------------------------------------------------------------------------------------

def test_flops_are_computed_for_every_arch_as_torch_counts_them_and_track_naslibs(nb201, shared_data):
    from torch.utils.flop_counter import FlopCounterMode

    rng = np.random.default_rng(0)
    for dataset in ("cifar10", "cifar100", "ImageNet16-120"):
        flops = nb201.column("flops", dataset)
        assert np.isfinite(flops).all() and len(flops) == 15_625
        for row in rng.choice(15_625, 2, replace=False):
            facts = get_dataset(dataset)
            net = nb201.space.build_network(nb201.arch(int(row)), facts.num_classes).eval()
            side = facts.image_side
            with FlopCounterMode(display=False) as counter, torch.no_grad():
                net(torch.zeros(1, 3, side, side))
            assert flops[row] == counter.get_total_flops() // 2  # multiply-accumulates
    cost = nb201.cost(nb201.arch(6111), "cifar10")
    assert cost["params"] == nb201.query(6111, "cifar10", "params") and cost["flops"] == nb201.query(6111, "cifar10", "flops")
    assert len(cost["latency_ms"]) == 27 and all(v > 0 for v in cost["latency_ms"].values())
    naslib = _naslib_flops(shared_data)
    rows = np.array([nb201.index(a) for a in naslib])
    from scipy.stats import spearmanr

    assert spearmanr(nb201.column("flops", "cifar10")[rows], list(naslib.values())).statistic > 0.99


def _naslib_flops(shared_data: Path) -> dict[str, float]:
    """NASLib's published FLOPs (millions) of its CIFAR-10 cells, by arch."""
    import csv
    import gzip

    with gzip.open(shared_data / "zc" / "naslib_zc_nb201_subset.csv.gz", "rt") as f:
        return {r["arch_str"]: float(r["flops"]) for r in csv.DictReader(f) if r["dataset"] == "cifar10"}


@pytest.mark.parametrize(("text", "message"), [
    ("latency:pixel9<=5", r"no latency for device setting 'pixel9'; settings: .*pixel3.*raspi4"),
    ("latency<=5", r"latency needs a device setting .*settings: .*pixel3"),
    ("flops:pixel3<=5", r"only latency takes one"),
    ("speed<=5", r"unknown cost 'speed'; costs: latency:<setting>, flops, params"),
    ("latency:pixel3=<5", r"is not <cost><comparison><number>: e\.g\. latency:pixel3<=5 .*; comparisons: <=, <, >=, >"),
    ("latency:pixel3<=fast", r"is not <cost><comparison><number>"),
])
def test_a_bad_constraint_is_one_line_naming_the_valid_choices(nb201, text, message):
    with pytest.raises(LightningNASError, match=message) as error:
        Constraint.parse(text, nb201)
    assert "\n" not in str(error.value)


def test_a_constraint_nothing_satisfies_is_refused(nb201):
    with pytest.raises(InvalidArgument, match="no arch of .* satisfies latency:pixel3<=0.001 on cifar10"):
        QueryBudget(nb201, 10, "cifar10", constraint=Constraint.parse("latency:pixel3<=0.001", nb201))


@pytest.mark.parametrize(("strategy", "guided"), [(s, False) for s in STRATEGIES] + [(s, True) for s in STRATEGIES if s is not BOHB])  # BOHB takes no scorer
def test_a_constrained_search_queries_only_archs_within_the_constraint(nb201, strategy, guided):
    constraint = Constraint.parse("latency:raspi4<=10", nb201)
    budget = QueryBudget(nb201, 40, "cifar10", constraint=constraint, signal=12 if strategy is BOHB else None)
    result = run_search(strategy(num_candidates=5) if guided else strategy(), budget, PredictorLikeScorer(nb201) if guided else None, seed=0)
    within = constraint.mask(nb201, "cifar10")
    assert all(within[q.row] for q in result.history) and within[result.best.best_row]
    assert result.best.best_key in {q.key for q in result.history}


def test_pareto_front_and_the_pareto_search(nb201, tmp_path):
    assert list(pareto_front(np.array([90, 91, 89, 92, 92]), np.array([1, 2, 3, 4, 3]))) == [0, 1, 4]
    cost = Cost.parse("latency:pixel3", nb201)
    front, results = pareto_search(RegularizedEvolution(), lambda c, share: QueryBudget(nb201, int(60 * share), "cifar10", constraint=c), cost, 3, output=tmp_path)
    assert len(results) == 3 and [r.queries for r in results] == [20, 20, 20]
    latency = cost.values(nb201)
    limits = [float(re.search(r"<=(.*)$", r.budget).group(1)) for r in results]
    assert all(latency[q.row] <= limit + 1e-9 for r, limit in zip(results, limits) for q in r.history)
    saved = json.loads((tmp_path / "pareto.json").read_text())
    assert [a["key"] for a in saved["front"]] == [a.key for a in front] and saved["cost"] == "latency:pixel3"
    costs, accs = [a.cost for a in front], [a.select for a in front]
    assert costs == sorted(costs) and accs == sorted(accs)  # a front: more cost buys more accuracy


# -- the command line --------------------------------------------------------------------------------------------------

def test_search_command_runs_nats_benchs_protocol_and_the_pareto_mode(tmp_path, data_root, capsys):
    common = ["search", "--space", "nb201", "--dataset", "cifar10", "--strategy", "RegularizedEvolution", "--seeds", "[0, 1]", "--root", str(data_root)]
    assert cli.main([*common, "--time_budget", "3000", "--signal", "12", "--output", str(tmp_path / "t")]) == 0, capsys.readouterr().err
    best = json.loads((tmp_path / "t" / "seed0" / "best.json").read_text())
    assert best["budget"] == "3000 s of simulated training (12-epoch runs)" and best["simulated_seconds"] <= 3000
    assert best["selected_on"] == "cifar10-valid/val_acc@12" and (tmp_path / "t" / "trajectory.png").stat().st_size > 0
    assert cli.main([*common, "--budget", "20", "--pareto", "flops", "--pareto_points", "2", "--output", str(tmp_path / "p")]) == 0, capsys.readouterr().err
    assert (tmp_path / "p" / "pareto.png").stat().st_size > 0
    assert json.loads((tmp_path / "p" / "seed0" / "pareto.json").read_text())["front"]
    assert cli.main([*common, "--budget", "10", "--constraint", "latency:eyeriss<=3", "--output", str(tmp_path / "c")]) == 0
    assert "latency:eyeriss<=3" in json.loads((tmp_path / "c" / "seed1" / "best.json").read_text())["budget"]


@pytest.mark.parametrize("config", ["search_nats_cifar10.yaml", "search_nats_cifar100.yaml", "search_nats_imagenet16.yaml"])
def test_the_shipped_nats_configs_run_at_nats_benchs_budgets(config, capsys):
    """Each config, cut to one seed and a tenth of its budget."""
    from lightning_nas.cli.configs import resolve_config_paths

    text = Path(resolve_config_paths(["--config", config])[1]).read_text()
    budget = float(re.search(r"time_budget:\s*([\d.e+]+)", text).group(1))
    assert budget == {"search_nats_cifar10.yaml": 20000, "search_nats_cifar100.yaml": 40000, "search_nats_imagenet16.yaml": 120000}[config]
    assert cli.main(["search", "--config", config, "--seeds", "[0]", "--time_budget", str(budget / 10)]) == 0, capsys.readouterr().err
