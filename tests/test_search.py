"""Search: honest query counting, reproducibility, resume-after-kill, the optimum of a tiny space,
the SearchCallback inside a real fit and the ``search`` command from a checkpoint."""

import json
import logging
import re
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pytest
import torch

import lightning_nas
from lightning_nas import cli
from lightning_nas.benchmarks.base import Benchmark, Table
from lightning_nas.benchmarks.budget import BudgetExhausted, QueryBudget
from lightning_nas.utils.errors import BenchmarkFileError, CheckpointError, InvalidArchitecture, InvalidArgument, LightningNASError
from lightning_nas.proxies import ProxyEvaluator, ScoreTable, rank_combination
from lightning_nas.search import PredictorScorer, ProxyScorer, RandomSearch, RegularizedEvolution, Reinforce, SearchCallback, load_predictor, run_search
from lightning_nas.spaces import FiniteSearchSpace, get_space
from lightning_nas.utils.checkpoints import DIGEST_KEY, weights_digest

STRATEGIES = [RandomSearch, RegularizedEvolution, Reinforce]


class TinySpace(FiniteSearchSpace[str]):
    """4 decisions with 4 options each (256 archs), arch = 'a-b-c-d'."""

    name = "tiny"
    decisions = (4, 4, 4, 4)

    def __len__(self) -> int:
        return 4**4

    def validate(self, arch: Any) -> str:
        parts = str(arch).split("-")
        if len(parts) != 4 or any(p not in "0123" or len(p) != 1 for p in parts):
            raise InvalidArchitecture(f"tiny arch {arch!r}")
        return str(arch)

    def key(self, arch: str) -> str:
        return arch

    def to_structure(self, archs: list[str]) -> dict[str, np.ndarray]:
        return {"choices": np.array([[int(p) for p in a.split("-")] for a in archs])}

    def _arch(self, index: int) -> str:
        return "-".join(str(index // 4**p % 4) for p in (3, 2, 1, 0))

    def index(self, arch: Any) -> int:
        return sum(int(p) * 4 ** (3 - i) for i, p in enumerate(self.validate(arch).split("-")))

    def _spell(self, choices: tuple[int, ...]) -> str:
        return "-".join(map(str, choices))

    def mutate(self, arch: str, rng: np.random.Generator) -> str:
        parts = arch.split("-")
        i = int(rng.integers(4))
        parts[i] = str(rng.choice([c for c in "0123" if c != parts[i]]))
        return "-".join(parts)


class TinyBenchmark(Benchmark):
    """Validation accuracy additive in the choices (unique optimum 3-3-3-3), test = val + noise."""

    space = TinySpace()
    datasets = ("toy",)
    default_epochs = 1

    def __init__(self) -> None:
        archs = [self.space.arch(i) for i in range(len(self.space))]
        choices = self.space.to_structure(archs)["choices"]
        val = 80 + (choices * np.array([1.0, 2.0, 3.0, 4.0])).sum(1) / 2
        test = val + np.random.default_rng(0).normal(scale=0.1, size=len(val))
        super().__init__(Table(np.array(archs), {"choices": choices}, {"toy/val_acc@1": val, "toy/test_acc@1": test}, {}))


@pytest.fixture(scope="module")
def nb201(data_root):
    from lightning_nas.benchmarks import NB201Benchmark

    return NB201Benchmark(root=data_root)


def test_query_budget_counts_distinct_archs_and_enforces_the_limit(nb201):
    budget = QueryBudget(nb201, 2, "cifar10")
    a, b, c = nb201.arch(0), nb201.arch(1), nb201.arch(2)
    assert budget.query(a) == budget.query(a) == pytest.approx(nb201.query(a, "cifar10-valid", "val_acc"))
    assert budget.used == 1
    budget.query(nb201.space.ops(b))  # another form of the same arch counts as that arch
    assert budget.used == 2 and budget.seen(b)
    with pytest.raises(BudgetExhausted, match=r"the budget \(2 queries\) is spent"):
        budget.query(c)
    assert budget.query(b) > 0  # asking again stays free
    assert budget.best.best_report == pytest.approx(max(nb201.query(x, "cifar10", "test_acc") for x in (a, b) if budget.best.best_key == x))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_budget_is_never_exceeded_and_queries_are_distinct(nb201, strategy):
    result = run_search(strategy(num_candidates=5), QueryBudget(nb201, 40, "cifar100"), scorer=lambda archs: np.zeros(len(archs)), seed=0)
    keys = [q.key for q in result.history]
    assert len(keys) == 40 and len(set(keys)) == 40
    assert [q.queries for q in result.history] == list(range(1, 41))
    assert result.trajectory()[-1] == result.best.best_report
    assert repr(result) == (
        f"SearchResult({strategy.__name__}, seed 0, nb201/cifar100: 40 queries, best {result.best.best_key} "
        f"cifar100/val_acc@200 {result.best.best_select:.2f}, cifar100/test_acc@200 {result.best.best_report:.2f})"
    )
    assert np.all(np.diff([q.best_select for q in result.history]) >= 0)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_same_seed_same_trajectory(nb201, strategy):
    first = run_search(strategy(), QueryBudget(nb201, 30, "cifar10"), seed=3)
    again = run_search(strategy(), QueryBudget(nb201, 30, "cifar10"), seed=3)
    other = run_search(strategy(), QueryBudget(nb201, 30, "cifar10"), seed=4)
    assert first.history == again.history
    assert [q.key for q in first.history] != [q.key for q in other.history]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_resume_after_kill_ends_like_an_uninterrupted_run(nb201, strategy, tmp_path, monkeypatch):
    scorer = PredictorLikeScorer(nb201)
    uninterrupted = run_search(strategy(num_candidates=7), QueryBudget(nb201, 60, "cifar10"), scorer, seed=5, output=tmp_path / "a", save_every=5)

    original = QueryBudget.query

    def killed_at_37(self, arch):
        if self.used == 37 and not self.seen(arch):
            raise KeyboardInterrupt
        return original(self, arch)

    monkeypatch.setattr(QueryBudget, "query", killed_at_37)
    with pytest.raises(KeyboardInterrupt):
        run_search(strategy(num_candidates=7), QueryBudget(nb201, 60, "cifar10"), PredictorLikeScorer(nb201), seed=5, output=tmp_path / "b", save_every=5)
    monkeypatch.setattr(QueryBudget, "query", original)
    assert (tmp_path / "b" / "state.pkl").exists() and not (tmp_path / "b" / "best.json").exists()

    resumed = run_search(strategy(num_candidates=7), QueryBudget(nb201, 60, "cifar10"), PredictorLikeScorer(nb201), seed=5, output=tmp_path / "b", save_every=5)
    assert resumed.history == uninterrupted.history
    assert json.loads((tmp_path / "b" / "best.json").read_text())["best_arch"] == uninterrupted.best.best_key


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_finished_search_given_a_larger_budget_continues_like_a_run_started_with_it(nb201, strategy, tmp_path):
    one_go = run_search(strategy(num_candidates=7), QueryBudget(nb201, 50, "cifar10"), PredictorLikeScorer(nb201), seed=2, save_every=4)
    first = run_search(strategy(num_candidates=7), QueryBudget(nb201, 30, "cifar10"), PredictorLikeScorer(nb201), seed=2, output=tmp_path, save_every=4)
    assert first.queries == 30
    extended = run_search(strategy(num_candidates=7), QueryBudget(nb201, 50, "cifar10"), PredictorLikeScorer(nb201), seed=2, output=tmp_path, save_every=4)
    assert extended.history == one_go.history
    assert json.loads((tmp_path / "best.json").read_text())["queries"] == 50
    with pytest.raises(LightningNASError, match=r"state\.pkl: the saved search already made 50 queries, more than the budget of 40"):
        run_search(strategy(num_candidates=7), QueryBudget(nb201, 40, "cifar10"), PredictorLikeScorer(nb201), seed=2, output=tmp_path)


class PredictorLikeScorer:
    """A deterministic stand-in for a predictor: ranks by parameter count (no labels)."""

    def __init__(self, bench):
        self.bench, self.params = bench, bench.column("params", "cifar10")

    def __call__(self, archs):
        return np.array([self.params[self.bench.index(a)] for a in archs])


def test_resume_refuses_a_state_from_another_search(nb201, tmp_path):
    run_search(RegularizedEvolution(), QueryBudget(nb201, 20, "cifar10"), seed=0, output=tmp_path)
    with pytest.raises(LightningNASError, match="different search.*seed"):
        run_search(RegularizedEvolution(), QueryBudget(nb201, 20, "cifar10"), seed=1, output=tmp_path)
    (tmp_path / "state.pkl").write_bytes(b"garbage")
    with pytest.raises(LightningNASError, match="unreadable"):
        run_search(RegularizedEvolution(), QueryBudget(nb201, 20, "cifar10"), seed=0, output=tmp_path)


@pytest.mark.parametrize(
    ("strategy", "budget"),
    [(RandomSearch(), 256), (RegularizedEvolution(population_size=8, sample_size=3), 80), (Reinforce(lr=0.3), 120)],
)
def test_each_strategy_finds_the_optimum_of_a_tiny_space(strategy, budget):
    bench = TinyBenchmark()
    found = [run_search(strategy, QueryBudget(bench, budget), seed=seed).best.best_key for seed in range(3)]
    assert found == ["3-3-3-3"] * 3


def test_a_search_that_stops_short_of_its_budget_says_why(caplog):
    """RS on a 256-arch space with a budget of 300 runs out of new archs: it stops, and says so."""
    with caplog.at_level(logging.WARNING, logger="lightning_nas.search.base"):
        result = run_search(RandomSearch(), QueryBudget(TinyBenchmark(), 300), seed=0)
    assert result.queries == 256
    assert "RandomSearch (seed 0) stopped after 256 queries (budget: 300 queries): 1000 steps in a row proposed only archs it had queried" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lightning_nas.search.base"):
        run_search(RandomSearch(), QueryBudget(TinyBenchmark(), 256), seed=0)
    assert "stopped after" not in caplog.text  # the budget, not a stall, ended it


def test_predictor_scorer_steers_the_search(nb201):
    """With a scorer that knows the answer, REA must reach the optimum within a few queries."""
    val = nb201.column("val_acc", "cifar10-valid")
    oracle = lambda archs: np.array([val[nb201.index(a)] for a in archs])  # noqa: E731
    guided = run_search(RegularizedEvolution(), QueryBudget(nb201, 30, "cifar10"), oracle, seed=0)
    assert guided.best.best_key == nb201.arch(int(np.argmax(val)))


def test_proxy_scorer_scores_real_networks_combines_ranks_and_reads_tables(nb201, data_root, tmp_path, monkeypatch):
    archs = [nb201.arch(i) for i in (0, 1000, 6111, 9930)]
    single = ProxyScorer("nb201", ["synflow"], root=data_root)
    evaluator = ProxyEvaluator("nb201", ["synflow", "params"], root=data_root)
    truth = np.array([[evaluator.score(a)[name] for a in archs] for name in ("synflow", "params")])
    np.testing.assert_allclose(single(archs), truth[0])
    both = ProxyScorer("nb201", ["synflow", "params"], root=data_root)
    np.testing.assert_array_equal(both(archs), rank_combination(truth))
    # a table's scores are used as they are; only what it lacks is computed
    table = ScoreTable(tmp_path / "scores.csv")
    table.write_part({nb201.space.key(archs[0]): {"synflow": 1e30, "params": 0.0}}, {nb201.space.key(archs[0]): 0}, "a")
    table.merge()
    cached = ProxyScorer("nb201", ["synflow"], table=table.path, root=data_root)
    assert cached(archs[:1])[0] == 1e30
    monkeypatch.setattr(cached.evaluator, "score", lambda *a, **k: pytest.fail("scored an arch twice"))
    assert cached(archs[:1])[0] == 1e30
    with pytest.raises(BenchmarkFileError, match="missing.csv not found"):
        ProxyScorer("nb201", ["synflow"], table=tmp_path / "missing.csv", root=data_root)
    full = ProxyScorer("nb201", ["tenas_ntk"], root=data_root, full_network=True)  # as `score --full_network true` records it
    assert full.evaluator.settings["full_network"] is True and full.fingerprint != ProxyScorer("nb201", ["tenas_ntk"], root=data_root).fingerprint


@pytest.mark.parametrize(("scores", "message"), [(lambda n: np.zeros(n + 1), r"shape \(6,\) for 5 candidates"), (lambda n: np.full(n, np.nan), r"returned NaN for '\|")])
def test_a_scorer_that_does_not_score_each_candidate_is_refused(nb201, scores, message):
    with pytest.raises(LightningNASError, match=message):
        run_search(RandomSearch(num_candidates=5), QueryBudget(nb201, 10, "cifar10"), scorer=lambda archs: scores(len(archs)))


def test_searches_of_one_config_keep_folders_of_their_own_and_resume_there(capsys):
    """The docs' search examples all ran with search_rea_201.yaml and wrote to its one output folder: the second
    found the first's state (another scorer's) and failed. Each config, strategy, scorer and dataset now has its own."""
    common = ["search", "--config", "search_rea_201.yaml", "--budget", "12", "--seeds", "[0]"]
    runs = [[], ["--proxies", "params", "--strategy.num_candidates", "3"], ["--strategy", "RandomSearch"], ["--dataset", "cifar100"]]
    for extra in runs:
        assert cli.main([*common, *extra]) == 0, capsys.readouterr().err
    folders = sorted(str(p.relative_to("search")) for p in Path("search").glob("*/*"))
    assert folders == ["search_rea_201/RandomSearch-cifar10", "search_rea_201/RegularizedEvolution+params-cifar10",
                       "search_rea_201/RegularizedEvolution-cifar10", "search_rea_201/RegularizedEvolution-cifar100"]
    assert cli.main([*common, "--budget", "20"]) == 0  # the same command with a larger budget resumes its own search
    assert json.loads(Path("search/search_rea_201/RegularizedEvolution-cifar10/seed0/best.json").read_text())["queries"] == 20
    assert cli.main([*common, "--strategy.num_candidates", "3", "--proxies", "params", "--strategy.population_size", "5",
                     "--output", "search/search_rea_201/RegularizedEvolution+params-cifar10"]) == 1
    err = capsys.readouterr().err
    assert "belongs to a different search" in err and "give another output folder (search --output)" in err


def test_search_command_with_proxies(tmp_path, data_root, capsys):
    args = ["search", "--space", "nb201", "--dataset", "cifar10", "--budget", "12", "--strategy", "RegularizedEvolution",
            "--strategy.num_candidates", "4", "--proxies", "params,flops", "--output", str(tmp_path), "--root", str(data_root)]
    assert cli.main(args) == 0
    trajectory = (tmp_path / "seed0" / "trajectory.csv").read_text().splitlines()
    assert len(trajectory) == 1 + 12
    assert cli.main([*args, "--predictor", "some.ckpt"]) == 1
    assert "give --predictor or --proxies, not both" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (["--budget", "-5"], "query budget must be at least 1, got -5"),
        (["--seeds", "[]"], "seeds is empty"),
        (["--seeds", "[0, -1]"], "seed must be at least 0, got -1"),
        (["--seeds", "[0, 3, 0]"], "seeds names 0 more than once; list each once"),  # was: seed 0 run twice, plotted as 2 seeds
        (["--proxy_table", "scores.csv"], "--proxy_table, --proxy_dataset, --proxy_seed, --protocol, --reference and --full_network set up --proxies"),
        (["--full_network", "true"], "--proxy_table, --proxy_dataset, --proxy_seed, --protocol, --reference and --full_network set up --proxies"),
        (["--save_every", "0"], "save_every must be at least 1"),
        (["--device", "gpu0"], "--device 'gpu0' is not a torch device; e.g. cpu, cuda, cuda:1"),
        (["--device", "cuda:99"], r"--device cuda:99: torch sees \d+ CUDA device\(s\) on this machine"),
        (["--strategy", "Reinforce", "--strategy.lr", "0"], "lr must be positive, got 0.0"),
        (["--strategy", "Reinforce", "--strategy.momentum", "1"], r"momentum must be in \[0, 1\), got 1.0"),
        (["--strategy", "RegularizedEvolution", "--strategy.sample_size", "11"], r"sample_size \(11\) must not exceed population_size \(10\)"),
        (["--strategy", "RegularizedEvolution", "--strategy.population_size", "0"], "population_size must be at least 1, got 0"),
    ],
)
def test_search_command_explains_bad_settings(setting, message, tmp_path, data_root, capsys):
    args = ["search", "--space", "nb201", "--budget", "5", "--strategy", "RandomSearch", "--output", str(tmp_path), "--root", str(data_root)]
    assert cli.main([*args, *setting]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and re.match(f"error: {message}", err.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("setting", "message"),
    [({"budget": 0}, "query budget must be at least 1, got 0"), ({"seeds": []}, "seeds is empty"), ({"seeds": [1.5]}, "seed must be an integer"), ({"save_every": 0}, "save_every must be at least 1")],
)
def test_search_callback_refuses_bad_settings_before_the_fit(setting, message):
    with pytest.raises(ValueError, match=message):  # was: after the whole fit (seeds=[] silently became [0])
        SearchCallback(RandomSearch(), **{"budget": 50, **setting})


@pytest.mark.parametrize(
    ("budget", "dataset", "error", "message"),
    [(50, "cifar11", KeyError, "has no dataset 'cifar11'"), (30, "cifar10", InvalidArgument, "a query budget of 30 leaves the search no query of its own after the 30 archs .* give a budget above 30")],
)
def test_search_callback_refuses_bad_settings_before_training(budget, dataset, error, message, data_root):
    """Checked when the fit sets up, not after the training the search follows."""
    from lightning_nas.datamodules import ArchDataModule
    from lightning_nas.models import MLPPredictor

    dm = ArchDataModule(space="nb201", encoding="onehot", dataset="cifar10", num_train=20, num_val=10, root=data_root)
    trainer = L.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        callbacks=[SearchCallback(RandomSearch(), budget=budget, dataset=dataset)])
    model = MLPPredictor.for_datamodule(dm)
    with pytest.raises(error, match=message):
        trainer.fit(model, dm)
    assert trainer.global_step == 0


@pytest.mark.parametrize(("space", "logged"), [("nb101", ["test_acc_run0@108"]), ("nb201", ["cifar10-valid/val_acc@200", "cifar10/test_acc@200"])])
def test_search_command_logs_what_it_selected_on_and_reports_once_each(space, logged, tmp_path, data_root, caplog):
    caplog.set_level(logging.INFO)
    args = ["search", "--space", space, "--dataset", "cifar10", "--budget", "5", "--strategy", "RandomSearch", "--output", str(tmp_path), "--root", str(data_root)]
    assert cli.main(args) == 0
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("search seed 0: 5 queries")]
    assert [column for column in logged if line.count(column) == 1] == logged  # NB101's compact table selects on what it reports


def test_from_decisions_spells_valid_archs_or_raises():
    nb101, nb201 = get_space("nb101"), get_space("nb201")
    assert nb201.from_decisions([3, 3, 3, 3, 3, 3]) == "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    assert get_space("nats_sss").from_decisions([7, 0, 1, 2, 3]) == "64:8:16:24:32"
    chain = [1 if (j == i + 1) else 0 for i in range(7) for j in range(i + 1, 7)]
    cell = nb101.from_decisions(chain + [2, 1, 0, 0, 1])
    assert cell.num_vertices == 7 and cell.ops[1] == "maxpool3x3"
    with pytest.raises(InvalidArchitecture, match="no path"):
        nb101.from_decisions([0] * 21 + [0] * 5)
    with pytest.raises(InvalidArchitecture, match=r"need 6 ints.*\(5, 5, 5, 5, 5, 5\)"):
        nb201.from_decisions([0, 1])
    with pytest.raises(InvalidArchitecture, match="nats_sss choices"):
        get_space("nats_sss").from_decisions([8, 0, 1, 2, 3])


@pytest.fixture(scope="module")
def trained_gnn(tmp_path_factory, data_root):
    """A GIN fitted for a few steps on 20 NB201 cells with a ModelCheckpoint and SearchCallback."""
    from lightning_nas.datamodules import ArchDataModule
    from lightning_nas.models import GNNPredictor

    root = tmp_path_factory.mktemp("fit")
    dm = ArchDataModule(space="nb201", encoding="graph", dataset="cifar10-valid", metric="val_acc", num_train=20, num_val=10,
                        extra_features=["params"], root=data_root, seed=0)
    callback = SearchCallback(RegularizedEvolution(num_candidates=20), budget=50, dataset="cifar10", seeds=[0, 1])
    trainer = L.Trainer(max_epochs=3, default_root_dir=root, logger=L.pytorch.loggers.CSVLogger(root), enable_progress_bar=False,
                        enable_model_summary=False, callbacks=[L.pytorch.callbacks.ModelCheckpoint(root / "ckpt"), callback])
    model = GNNPredictor.for_datamodule(dm, ensemble_size=2)
    trainer.fit(model, dm)
    return root, dm, callback, trainer


def test_search_callback_runs_after_fit_and_counts_labelled_archs(trained_gnn):
    root, dm, callback, _trainer = trained_gnn
    labelled = {dm.benchmark.keys[r] for r in np.concatenate([dm.split.train_rows, dm.split.val_rows])}
    assert {dm.benchmark.keys[r] for r in callback.labelled} == labelled and len(callback.labelled) == 30
    assert len(callback.results) == 2
    for result in callback.results:
        assert result.queries == 50
        assert {q.key for q in result.history[: len(labelled)]} == labelled
    (run,) = (root / "runs" / "GNNPredictor").iterdir()  # no config on the command line: named by the predictor
    assert run.name.endswith("-0")  # the CSV logger's version
    folder = run / "search"
    assert (folder / "trajectory.png").stat().st_size > 10_000
    assert json.loads((folder / "seed1" / "best.json").read_text())["queries"] == 50
    logged = (root / "lightning_logs" / "version_0" / "metrics.csv").read_text()
    assert "search/best_test_acc" in logged


def test_search_command_from_checkpoint_matches_the_callback(trained_gnn, tmp_path, capsys, caplog):
    caplog.set_level(logging.INFO)
    root, _dm, callback, _trainer = trained_gnn
    (ckpt,) = (root / "ckpt").glob("*.ckpt")
    args = ["search", "--space", "nb201", "--dataset", "cifar10", "--budget", "50", "--strategy", "RegularizedEvolution",
            "--strategy.num_candidates", "20", "--predictor", str(ckpt), "--seeds", "[0, 1]", "--output", str(tmp_path)]
    assert cli.main(args) == 0
    for seed, result in enumerate(callback.results):
        best = json.loads((tmp_path / f"seed{seed}" / "best.json").read_text())
        assert best["best_arch"] == result.best.best_key and best["best_report"] == result.best.best_report
    assert "results in" in capsys.readouterr().out
    reported = np.array([r.best.best_report for r in callback.results])
    assert f"cifar10/test_acc@200 of the arch found, over 2 seeds: {reported.mean():.2f} ± {reported.std(ddof=1):.2f} (mean ± std)" in caplog.text


def test_search_rejects_mismatched_predictor_and_too_small_budget(trained_gnn, data_root, tmp_path):
    from lightning_nas.benchmarks import NB101Benchmark
    from lightning_nas.search.callback import search_with_scorer

    root, dm, _callback, trainer = trained_gnn
    model = trainer.lightning_module
    with pytest.raises(LightningNASError, match="trained on 'nb201'"):
        PredictorScorer(model, NB101Benchmark(root=data_root))
    with pytest.raises(LightningNASError, match="give a budget above 20$"):  # the budget rule of SearchCallback.setup, in one place
        search_with_scorer(RandomSearch(), dm.benchmark, PredictorScorer(model, dm.benchmark), 20, "cifar10", initial_rows=dm.split.train_rows, output=tmp_path)
    (ckpt,) = (root / "ckpt").glob("*.ckpt")
    (tmp_path / "truncated.ckpt").write_bytes(ckpt.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="cannot read checkpoint .*truncated.ckpt"):
        load_predictor(tmp_path / "truncated.ckpt")
    saved = torch.load(ckpt, weights_only=False)
    assert saved["lightning_nas_version"] == lightning_nas.__version__
    del saved["state_dict"]["members.0.embed.weight"], saved["lightning_nas_version"]  # as from a release with another GNN, before versions were recorded
    torch.save(saved, tmp_path / "other.ckpt")
    with pytest.raises(CheckpointError, match=r"other.ckpt: its weights do not match the checksum written with them"):
        load_predictor(tmp_path / "other.ckpt")
    saved[DIGEST_KEY] = weights_digest(saved["state_dict"])  # that release's checkpoint vouches for its own weights
    torch.save(saved, tmp_path / "other.ckpt")
    with pytest.raises(CheckpointError, match=r"cannot rebuild the GNNPredictor in .*other.ckpt \(written by a lightning_nas release that did not record its version; "
                       r"this is .*\): RuntimeError: Error\(s\) in loading state_dict for GNNPredictor: Missing key\(s\) in state_dict: \"members.0.embed.weight\""):
        load_predictor(tmp_path / "other.ckpt")


def test_a_search_state_is_resumed_only_under_the_scorer_it_was_saved_with(trained_gnn, data_root, tmp_path):
    """Another checkpoint or other proxies in a rerun must not continue (or, when finished, report)
    the saved search as if it were theirs."""
    root, dm, _callback, _trainer = trained_gnn
    (ckpt,) = (root / "ckpt").glob("*.ckpt")
    same = PredictorScorer(load_predictor(ckpt), dm.benchmark)
    assert same.fingerprint == PredictorScorer(load_predictor(ckpt), dm.benchmark).fingerprint
    retrained = load_predictor(ckpt)
    with torch.no_grad():
        next(retrained.parameters()).add_(1e-3)
    run_search(RandomSearch(num_candidates=5), QueryBudget(dm.benchmark, 20, "cifar10"), same, output=tmp_path)
    with pytest.raises(LightningNASError, match=r"different search.*'scorer': \('GNNPredictor weights \w{12}', 'GNNPredictor weights \w{12}'\)"):
        run_search(RandomSearch(num_candidates=5), QueryBudget(dm.benchmark, 20, "cifar10"), PredictorScorer(retrained, dm.benchmark), output=tmp_path)
    run_search(RandomSearch(num_candidates=5), QueryBudget(dm.benchmark, 20, "cifar10"), PredictorScorer(load_predictor(ckpt), dm.benchmark), output=tmp_path)
    proxies = ProxyScorer("nb201", ["params"], root=data_root)
    run_search(RandomSearch(num_candidates=5), QueryBudget(dm.benchmark, 10, "cifar10"), proxies, output=tmp_path / "proxies")
    with pytest.raises(LightningNASError, match=r"different search.*'scorer': \('params \{.*\}', 'flops \{.*\}'\)"):
        run_search(RandomSearch(num_candidates=5), QueryBudget(dm.benchmark, 10, "cifar10"), ProxyScorer("nb201", ["flops"], root=data_root), output=tmp_path / "proxies")
