"""Zero-query (training-free) search: a fitness instead of benchmark queries, one benchmark read for the report."""

import numpy as np
import pytest

from lightning_nas.benchmarks.budget import QueryBudget, TrainingFreeBudget
from lightning_nas.search import ProxyScorer, RandomSearch, RegularizedEvolution, Reinforce, run_search
from lightning_nas.search.tegnas_reward import BufferedChangeReward
from lightning_nas.utils.errors import InvalidArgument, LightningNASError

from test_search import TinyBenchmark

STRATEGIES = [RandomSearch, RegularizedEvolution, Reinforce]


def closeness(archs):
    """A fitness computed from the arch alone (no benchmark value): highest at 3-3-3-3, as TinyBenchmark's accuracy."""
    return np.array([sum(int(c) * w for c, w in zip(a.split("-"), (1, 2, 3, 4))) for a in archs], dtype=float)


class TwoIndicators:
    """A fitness with separate proxy scores, as a ProxyScorer has: the first two choices and the last two, weighted as
    closeness weighs them; their sum is the fitness (standing in for a reference-set rank)."""

    proxies = ["early", "late"]
    reference = 2
    name = "early+late"

    def scores(self, archs):
        parts = [[sum(int(c) * w for c, w in zip(a.split("-")[half], weights)) for a in archs] for half, weights in ((slice(0, 2), (1, 2)), (slice(2, 4), (3, 4)))]
        return np.array(parts, dtype=float)

    def __call__(self, archs):
        return self.scores(archs).sum(0)


class RowSpy(np.ndarray):
    """A benchmark column that records which rows are read from it."""

    reads: list[int] = []

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            RowSpy.reads.append(int(index))
        return super().__getitem__(index)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_zero_query_search_reads_the_benchmark_once_for_the_arch_it_reports(strategy):
    bench = TinyBenchmark()
    bench.table.columns = {name: column.view(RowSpy) for name, column in bench.table.columns.items()}
    RowSpy.reads = []
    budget = TrainingFreeBudget(bench, 60, closeness)
    result = run_search(strategy(), budget, seed=0)
    assert result.queries == 60 and set(RowSpy.reads) == {result.best.best_row} == set(budget.rows_read)
    assert result.best.best_report == bench.table.columns["toy/test_acc@1"].view(np.ndarray)[result.best.best_row]
    assert np.isnan([q.best_report for q in result.history[:-1]]).all()  # nothing was read before the end
    assert result.best.best_select == max(q.select for q in result.history) and result.select_column == "training-free:closeness"


def test_random_search_is_sample_n_keep_the_best():
    bench = TinyBenchmark()
    result = run_search(RandomSearch(), TrainingFreeBudget(bench, 10, closeness), seed=3)
    scored = {q.key: q.select for q in result.history}
    assert len(scored) == 10 and result.best.best_key == max(scored, key=scored.get)


@pytest.mark.parametrize(("strategy", "evaluations"), [(RegularizedEvolution(population_size=8, sample_size=3), 80), (Reinforce(lr=0.3), 120)])
def test_evolution_and_reinforce_climb_the_fitness(strategy, evaluations):
    found = [run_search(strategy, TrainingFreeBudget(TinyBenchmark(), evaluations, closeness), seed=seed).best.best_key for seed in range(3)]
    assert found == ["3-3-3-3"] * 3


@pytest.mark.parametrize(("strategy", "fitness"), [*((s, closeness) for s in STRATEGIES), (lambda: Reinforce(reward="tegnas", buffer_size=4), TwoIndicators())])
def test_a_killed_zero_query_search_resumes_to_the_same_arch(strategy, fitness, tmp_path, monkeypatch):
    uninterrupted = run_search(strategy(), TrainingFreeBudget(TinyBenchmark(), 50, fitness), seed=4, output=tmp_path / "a", save_every=5)
    original = TrainingFreeBudget.query

    def killed_at_23(self, arch, epochs=None):
        if self.used == 23 and not self.seen(arch):
            raise KeyboardInterrupt
        return original(self, arch, epochs)

    monkeypatch.setattr(TrainingFreeBudget, "query", killed_at_23)
    with pytest.raises(KeyboardInterrupt):
        run_search(strategy(), TrainingFreeBudget(TinyBenchmark(), 50, fitness), seed=4, output=tmp_path / "b", save_every=5)
    monkeypatch.setattr(TrainingFreeBudget, "query", original)
    resumed = run_search(strategy(), TrainingFreeBudget(TinyBenchmark(), 50, fitness), seed=4, output=tmp_path / "b", save_every=5)
    assert resumed.best.best_key == uninterrupted.best.best_key and resumed.best.best_report == uninterrupted.best.best_report
    assert [(q.key, q.select) for q in resumed.history] == [(q.key, q.select) for q in uninterrupted.history]  # NaN reports compare unequal


def test_tegnas_reward_is_each_indicators_change_over_the_range_of_its_recent_values():
    reward = BufferedChangeReward(size=3)
    assert reward([1, 10]) == 0  # the first arch: nothing to compare with
    assert reward([3, 8]) == pytest.approx(2 / 2 - 2 / 2)
    assert reward([4, -np.inf]) == pytest.approx(1 / 3 + 0)  # an indicator that could not score: its worst so far (8)
    # a new worst (6) is what the unscored arch counts as from now on; the buffer holds the last 3 archs
    assert reward([5, 6]) == pytest.approx((5 - 4) / (5 - 3) + (6 - 6) / (8 - 6))
    assert reward([5, np.nan]) == pytest.approx(0 + 0)
    assert reward.state_dict()["worst"].tolist() == [1, 6]
    with pytest.raises(InvalidArgument, match="3 indicator values after 2 for every earlier arch"):
        reward([1, 2, 3])
    with pytest.raises(InvalidArgument, match="buffer_size must be at least 2, got 1"):
        BufferedChangeReward(size=1)


def test_reinforce_with_tegnas_reward_learns_from_each_proxys_change_and_reads_no_benchmark_value():
    bench = TinyBenchmark()
    bench.table.columns = {name: column.view(RowSpy) for name, column in bench.table.columns.items()}
    RowSpy.reads = []
    fitness = TwoIndicators()
    budget = TrainingFreeBudget(bench, 120, fitness)
    strategy = Reinforce(lr=0.3, reward="tegnas")
    result = run_search(strategy, budget, seed=0)
    assert set(RowSpy.reads) == {result.best.best_row} == set(budget.rows_read)
    scored = {tuple(fitness.scores([q.key])[:, 0]) for q in result.history}  # the reward's buffer: per-proxy scores of scored archs
    assert len(strategy.changes.recent) == 10 and all(tuple(row) in scored for row in strategy.changes.recent)
    assert strategy.config()["reward"] == "tegnas" and "reward" not in Reinforce().config()  # saved states of fitness runs still resume
    found = [run_search(Reinforce(lr=0.3, reward="tegnas"), TrainingFreeBudget(TinyBenchmark(), 120, TwoIndicators()), seed=seed).best.best_key for seed in range(3)]
    assert found == ["3-3-3-3"] * 3
    parts = TrainingFreeBudget(TinyBenchmark(), 2, fitness)
    assert parts.query_parts("1-2-0-3") == {"early": 5.0, "late": 12.0} and parts.used == 1


def test_reinforce_with_tegnas_reward_refuses_a_search_without_separate_proxy_scores():
    with pytest.raises(InvalidArgument, match="reward must be 'fitness' or 'tegnas', got 'te-nas'"):
        Reinforce(reward="te-nas")
    for budget in (QueryBudget(TinyBenchmark(), 10), TrainingFreeBudget(TinyBenchmark(), 10, closeness)):
        with pytest.raises(InvalidArgument, match=r"Reinforce\(reward='tegnas'\) rewards each zero-cost proxy's change: run it in a training-free search"):
            run_search(Reinforce(reward="tegnas"), budget, seed=0)
    with pytest.raises(InvalidArgument, match="the fitness 'closeness' has no separate proxy scores"):
        TrainingFreeBudget(TinyBenchmark(), 10, closeness).query_parts("0-0-0-0")


def test_a_proxy_fitness_scores_real_networks_and_refuses_what_it_cannot_do(data_root):
    from lightning_nas.benchmarks import NB201Benchmark

    nb201 = NB201Benchmark(root=data_root)
    synflow = ProxyScorer("nb201", ["synflow"], "cifar10")
    result = run_search(RandomSearch(), TrainingFreeBudget(nb201, 5, synflow, "cifar10"), seed=0)
    assert result.best.best_select == pytest.approx(synflow([result.best.best_key])[0]) and np.isfinite(result.best.best_report)
    with pytest.raises(InvalidArgument, match=r"a rank combination \(synflow\+params\) .* rank them against a fixed reference set"):
        TrainingFreeBudget(nb201, 5, ProxyScorer("nb201", ["synflow", "params"], "cifar10"), "cifar10")
    with pytest.raises(InvalidArgument, match="a training-free search trains nothing"):
        TrainingFreeBudget(nb201, 5, synflow, "cifar10").query(nb201.arch(0), epochs=12)
    with pytest.raises(LightningNASError, match="the fitness returned .* one score per arch"):
        run_search(RandomSearch(), TrainingFreeBudget(nb201, 5, lambda archs: np.full(len(archs), np.nan), "cifar10"), seed=0)


def test_a_rank_combination_against_a_reference_set_scores_each_arch_on_its_own(data_root):
    """Several proxies as one fitness: each arch's score is its rank among fixed reference archs, whatever is scored beside it."""
    from lightning_nas.benchmarks import NB201Benchmark

    nb201 = NB201Benchmark(root=data_root)
    combined = ProxyScorer("nb201", ["synflow", "params"], "cifar10", reference=20)
    archs = [nb201.arch(r) for r in (5, 700, 9000, 15000)]
    together = combined(archs)
    alone = np.array([combined([a])[0] for a in archs])
    assert np.array_equal(together, alone) and ((together >= 0) & (together <= 2)).all()
    reference = combined._reference_scores
    expected = sum(((ref < s).sum() + 0.5 * (ref == s).sum()) / 20 for s, ref in zip(combined.scores(archs[:1])[:, 0], reference))
    assert together[0] == pytest.approx(expected)
    result = run_search(RegularizedEvolution(population_size=5, sample_size=2), TrainingFreeBudget(nb201, 12, combined, "cifar10"), seed=0)
    assert result.best.best_select == pytest.approx(combined([result.best.best_key])[0]) and np.isfinite(result.best.best_report)
    with pytest.raises(InvalidArgument, match="a reference set .* ranks several proxies, not one"):
        ProxyScorer("nb201", ["synflow"], "cifar10", reference=20)
    synflow = combined.only(["synflow"])  # shares the scores: nothing is computed again
    assert synflow.fingerprint.startswith("synflow {") and synflow.reference is None
    synflow.evaluator = None
    assert synflow(archs).tolist() == combined.scores(archs)[0].tolist()
    with pytest.raises(InvalidArgument, match=r"only=\['naswot'\]: this scorer scores \['synflow', 'params'\]"):
        combined.only(["naswot"])


def test_zero_query_search_on_nb101_through_the_space_interface(data_root):
    from lightning_nas.benchmarks import create

    nb101 = create("nb101", root=data_root)
    params = ProxyScorer("nb101", ["params"], "cifar10")
    budget = TrainingFreeBudget(nb101, 8, params)
    result = run_search(RegularizedEvolution(population_size=4, sample_size=2), budget, seed=1)
    assert budget.rows_read == [result.best.best_row] and result.best.best_select == max(q.select for q in result.history)
    assert np.isfinite(result.best.best_report)


def test_search_cli_training_free_runs_from_the_shipped_config_and_resumes(tmp_path, monkeypatch, data_root):
    import json

    from lightning_nas.cli.search import search

    monkeypatch.chdir(tmp_path)
    args = ["--config", "search_training_free_201", "--budget", "15", "--seeds", "[0]", "--root", str(data_root), "--output", "out"]
    assert search(args) == 0
    best = json.loads((tmp_path / "out" / "seed0" / "best.json").read_text())
    assert best["selected_on"] == "training-free:synflow" and best["queries"] == 15 and best["best_metrics"]
    assert search(args) == 0  # resumed: the saved search is complete
    assert json.loads((tmp_path / "out" / "seed0" / "best.json").read_text())["best_arch"] == best["best_arch"]
    tegnas = args[:-2] + ["--output", "o1", "--strategy", "Reinforce", "--strategy.reward", "tegnas", "--strategy.buffer_size", "5"]
    assert search(tegnas) == 0  # TEGNAS's reward, from the command line
    assert json.loads((tmp_path / "o1" / "seed0" / "best.json").read_text())["strategy"] == "Reinforce"
    with pytest.raises(InvalidArgument, match="--training_free searches on a fitness"):
        search(["--config", "search_rea_201", "--training_free", "true", "--root", str(data_root), "--output", "o2"])
    with pytest.raises(InvalidArgument, match="--time_budget, --signal and --pareto do not apply"):
        search(args[:-2] + ["--output", "o3", "--time_budget", "2000"])
    with pytest.raises(InvalidArgument, match=r"protocol of synflow: unknown option\(s\) \['repeat'\]"):  # --protocol reaches the proxies
        search(args[:-2] + ["--output", "o4", "--protocol", '{"synflow": {"repeat": 2}}'])
