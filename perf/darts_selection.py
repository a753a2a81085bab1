"""How far sample-N-and-keep-the-best can go in the DARTS space with the proxies we score, read from the
score tables ``perf/proxies.py --space darts`` wrote (no network is built): for each table and N, the mean
validation-accuracy percentile (among NAS-Bench-301's 1,218 published cells) of the best-scored of N random
cells over ``--draws`` draws, for NASWOT alone and for the best rank sum of up to three proxies, and where
the top-scored cells lie. It explains issue 62's zero-query percentile; the searches themselves are
``perf/search.py --protocol training_free --only darts:cifar10``. JSON lines.

    python perf/darts_selection.py [--draws 3000]

Rank sums here rank each proxy over all 1,218 cells (a search ranks against 100 reference cells instead).
"""

from __future__ import annotations

import argparse
import itertools
import json

import numpy as np
from scipy.stats import rankdata

from lightning_nas.benchmarks import create
from lightning_nas.proxies import ScoreTable

from _shared import SHARED_DATA, percentile_among

#: each table and the command that writes it
TABLES = {"paper protocols": ("scores/perf-darts-cifar10.csv", "python perf/proxies.py --space darts --paper-protocols --archs all"),
          "NASLib's protocol": ("scores/perf-darts-naslib-cifar10.csv", "python perf/proxies.py --space darts --archs all")}
SAMPLE_SIZES = (100, 300, 600)
TOP = 10


def read_scores(path: str, writer: str, keys: np.ndarray) -> dict[str, np.ndarray]:
    """Every proxy the table (read as :class:`~lightning_nas.proxies.ScoreTable`, checksums checked) scored
    on all the cells ``keys`` name, in their order."""
    table = ScoreTable(path)
    settings = table.settings()
    if settings is None:
        raise SystemExit(f"{path}: no score table with its settings record; write it first with: {writer}")
    names = sorted(settings["protocol"])
    scores = table.columns(names, keys)
    return {name: column for name, column in zip(names, scores.T) if not np.isnan(column).any()}


def keep_best(score: np.ndarray, percentile: np.ndarray, n: int, draws: int) -> np.ndarray:
    """Percentile of the best-scored of ``n`` random cells, per draw (seed 0)."""
    rng = np.random.default_rng(0)
    samples = (rng.choice(len(score), n, replace=False) for _ in range(draws))
    return np.array([percentile[sample[np.argmax(score[sample])]] for sample in samples])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=3000)
    args = parser.parse_args()
    bench = create("darts", root=SHARED_DATA)
    accuracy = bench.column("val_acc", "cifar10")
    percentile = percentile_among(accuracy, accuracy)
    tops = {}
    for protocol, (path, writer) in TABLES.items():
        scores = read_scores(path, writer, bench.keys)
        for n in SAMPLE_SIZES:
            chosen = keep_best(scores["naswot"], percentile, n, args.draws)
            print(json.dumps({"figure": "darts_keep_best_percentile", "protocol": protocol, "scorer": "naswot", "N": n, "draws": args.draws,
                              "mean_percentile": round(float(chosen.mean()), 2), "std_percentile": round(float(chosen.std()), 2)}), flush=True)
        ranks = {name: rankdata(column) for name, column in scores.items()}
        combos = [c for k in (1, 2, 3) for c in itertools.combinations(sorted(ranks), k)]
        means = {c: keep_best(sum(ranks[name] for name in c), percentile, SAMPLE_SIZES[0], args.draws).mean() for c in combos}
        best = max(means, key=means.get)
        print(json.dumps({"figure": "darts_best_rank_sum_percentile", "protocol": protocol, "N": SAMPLE_SIZES[0], "draws": args.draws,
                          "proxies_available": sorted(ranks), "combinations": len(combos), "best": "+".join(best),
                          "mean_percentile": round(float(means[best]), 2)}), flush=True)
        tops[protocol] = np.argsort(-scores["naswot"])[:TOP]
        print(json.dumps({"figure": "darts_naswot_top_cells", "protocol": protocol, "top": TOP,
                          "percentiles": [round(float(percentile[i]), 1) for i in tops[protocol]],
                          "score_spread": round(float(np.ptp(scores["naswot"][tops[protocol]]) / abs(scores["naswot"][tops[protocol][0]])), 4)}), flush=True)
    shared = set.intersection(*(set(top.tolist()) for top in tops.values()))
    print(json.dumps({"figure": "darts_naswot_top_cells_shared", "top": TOP, "shared": len(shared)}), flush=True)


if __name__ == "__main__":
    main()
