"""Zero-cost proxies on NAS-Bench-201 CIFAR-10: rank correlation with test accuracy, agreement
with NASLib's published per-arch scores, and CPU seconds per arch against the authors' code.
With ``--space darts``: on NAS-Bench-301's published DARTS cells (``../shared/data/zc``), rank
correlation with NB301's validation accuracy beside NASLib's published one, and per-arch agreement
with NASLib's published scores, every proxy scored under NASLib's protocol (its NB301 network; for the
proxies that take images a fresh augmented batch of 32 per arch) unless ``--protocol`` says otherwise
(``--paper-protocols``: each proxy's own, as ``score`` and the searches use them).
Prints JSON lines.

    python perf/proxies.py [--archs 1000] [--timing-archs 20] [--table scores/perf-nb201-cifar10.csv]
    python perf/proxies.py --space darts --archs all --proxies naswot,jacov,snip,grad_norm,synflow,params,flops --only correlation,timing
    python perf/proxies.py --space darts --paper-protocols --archs all --proxies naswot,synflow,params,flops --only correlation
    python perf/proxies.py --only correlation --proxies tegnas_mse --protocol '{"tegnas_mse": {"repeats": 1}}' --table scores/perf-tegnas.csv

Scores go through ``python -m lightning_nas score``'s machinery (a resumable table), so an
interrupted run continues where it stopped. Images: the shared real CIFAR-10 sample.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import logging
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau, spearmanr

from _shared import SHARED_DATA

# NAS-Bench-Suite-Zero (all 15,625 NB201 archs, CIFAR-10 Spearman) and NASWOT's paper
PUBLISHED_SPEARMAN = {"synflow": 0.737, "jacov": 0.731, "snip": 0.596, "grad_norm": 0.594, "naswot": 0.80}
# the authors' own code run on this CPU: median seconds per NB201 arch and draw (issue 5); TE-NAS's protocol averages
# `repeats` draws, each costing as much again, so its figure per arch is this times the protocol's repeats
AUTHORS_SECONDS = {"naswot": 3.1, "synflow": 0.21, "snip": 0.91, "grad_norm": 0.90, "jacov": 0.88, "tenas_ntk": 2.5, "tenas_lr": 0.82, "rbflex": 0.14}
AUTHORS_REPEAT = {"tenas_ntk", "tenas_lr"}
# NASLib's published Spearman with NB301 validation accuracy on the DARTS cells of ../shared/data/zc (run A; its README)
PUBLISHED_SPEARMAN_DARTS = {"naswot": 0.555, "params": 0.523, "flops": 0.482, "synflow": 0.217, "snip": -0.035, "grad_norm": -0.016, "jacov": -0.041}
#: NASLib's protocol for those published scores, the DARTS comparison's default: its NB301 network (a BN after each
#: pooling op: the ``naslib`` variant) and, for the proxies that take images, one batch of 32 augmented training images
#: per arch, a fresh one for each (scripts/zc/create_configs_correlation.py's batch size; its loader's next shuffled
#: batch). The published scores' scale agrees: jacov ≈ −32 (32 near-unit eigenvalues), nwot ≈ 32 x 13.8.
NASLIB_NETWORK = {"network": "naslib"}
NASLIB_IMAGES = {"batch_size": 32, "augment": True, "batch_per_arch": True}
NASLIB_COLUMNS = {"synflow": "synflow", "params": "params", "flops": "flops", "snip": "snip", "grad_norm": "grad_norm",
                  "jacov": "jacov", "naswot": "nwot", "fisher": "fisher"}


def emit(**fields) -> None:
    print(json.dumps(fields), flush=True)


def correlations(args, bench, proxies) -> None:
    import lightning as L

    from lightning_nas.proxies import ScoreTable, rank_combination, tenas_rank
    from lightning_nas.proxies.scoring import ProxyScoringModule, score_archs, select_rows

    table = ScoreTable(args.table)
    rows = select_rows(bench, args.archs, seed=0)
    trainer = L.Trainer(logger=False, enable_model_summary=False, inference_mode=False, enable_progress_bar=args.progress)
    score_archs(ProxyScoringModule(args.space, proxies, protocol=args.protocol, root=args.root), trainer, table, rows, archs_per_batch=16)
    protocols = table.settings()["protocol"]
    columns = dict(zip(proxies, table.columns(proxies, bench.keys[rows]).T))
    if "tenas_ntk" in columns and "tenas_lr" in columns:
        columns["tenas"] = tenas_rank(columns["tenas_ntk"], columns["tenas_lr"])
        if "tegnas_mse" in columns:
            columns["tegnas"] = rank_combination([columns["tenas_ntk"], columns["tenas_lr"], columns["tegnas_mse"]])
    if args.space == "darts":
        return darts_correlations(args, bench, rows, columns, protocols)
    accuracy = bench.column("test_acc", "cifar10")[rows]
    for name, values in columns.items():
        ok = np.isfinite(values)
        emit(figure="proxy_rank_correlation", proxy=name, space="nb201", dataset="cifar10", target="test_acc@200",
             n_archs=int(ok.sum()), spearman=round(float(spearmanr(values[ok], accuracy[ok]).statistic), 4),
             kendall_tau=round(float(kendalltau(values[ok], accuracy[ok]).statistic), 4),
             published_spearman=PUBLISHED_SPEARMAN.get(name), protocol=protocols.get(name))


def darts_correlations(args, bench, rows, columns, protocols) -> None:
    """Spearman with NB301's validation accuracy, beside NASLib's published scores' on the same cells, and
    per-arch agreement with those scores (each cell's published rows averaged, as the benchmark averages its accuracy)."""
    with gzip.open(Path(args.shared) / "zc" / "naslib_zc_nb301_subset.csv.gz", "rt") as f:
        published: dict[str, dict[str, list[float]]] = {}
        for r in csv.DictReader(f):
            key = bench.space.key(bench.space.validate(f"normal:{r['normal']}|reduce:{r['reduce']}"))
            for name, column in NASLIB_COLUMNS.items():
                if r.get(column) not in (None, "", "nan"):
                    published.setdefault(key, {}).setdefault(name, []).append(float(r[column]))
    accuracy = bench.column("val_acc", "cifar10")[rows]
    keys = bench.keys[rows].tolist()
    for name, values in columns.items():
        theirs = np.array([np.mean(published.get(k, {}).get(name, [np.nan])) for k in keys])
        ok = np.isfinite(values)
        both = ok & np.isfinite(theirs)
        fields = dict(proxy=name, space="darts", dataset="cifar10")
        emit(figure="proxy_rank_correlation", **fields, target="NB301 val_acc@100", n_archs=int(ok.sum()), spearman=round(float(spearmanr(values[ok], accuracy[ok]).statistic), 4),
             naslib_spearman_same_cells=round(float(spearmanr(theirs[both], accuracy[both]).statistic), 4) if both.any() else None,
             n_naslib=int(both.sum()), published_spearman=PUBLISHED_SPEARMAN_DARTS.get(name), tolerance=0.05, protocol=protocols.get(name))
        if both.any():
            emit(figure="proxy_agreement_with_naslib", **fields, n_archs=int(both.sum()), spearman=round(float(spearmanr(values[both], theirs[both]).statistic), 4),
                 target=">= 0.9 for synflow, params, flops")


def agreement_with_naslib(args, bench, data_root) -> None:
    """Our scores vs NASLib's published per-arch scores on the archs of ``../shared/data/zc``."""
    import lightning as L

    from lightning_nas.proxies import ScoreTable
    from lightning_nas.proxies.scoring import ProxyScoringModule, score_archs

    with gzip.open(data_root / "zc" / "naslib_zc_nb201_subset.csv.gz", "rt") as f:
        # run A (the run with NASWOT); chance-level cells carry sentinel values (README): skip them
        published = [r for r in csv.DictReader(f) if r["dataset"] == "cifar10" and r["run"] == "A" and float(r["val_accuracy"]) > 15]
    rows = np.array(sorted({int(r["nb201_index"]) for r in published}))
    names = [n for n in args.naslib.split(",") if n]
    table = ScoreTable(args.table.replace(".csv", "-naslib.csv"))
    trainer = L.Trainer(logger=False, enable_model_summary=False, inference_mode=False, enable_progress_bar=args.progress)
    score_archs(ProxyScoringModule("nb201", names), trainer, table, rows, archs_per_batch=16)
    ours = dict(zip(rows.tolist(), table.columns(names, bench.keys[rows])))
    for i, name in enumerate(names):
        pairs = [(ours[int(r["nb201_index"])][i], float(r[NASLIB_COLUMNS[name]])) for r in published if r[NASLIB_COLUMNS[name]] not in ("", "nan")]
        a, b = np.array(pairs).T
        ok = np.isfinite(a) & np.isfinite(b)
        emit(figure="proxy_agreement_with_naslib", proxy=name, space="nb201", dataset="cifar10", n_archs=int(ok.sum()),
             spearman=round(float(spearmanr(a[ok], b[ok]).statistic), 4), target=">= 0.9 for synflow, params, flops")


def timing(args, bench, proxies) -> None:
    from lightning_nas.proxies import ProxyEvaluator

    rows = np.random.default_rng(1).choice(len(bench), args.timing_archs, replace=False)
    evaluator = ProxyEvaluator(args.space, proxies, protocol=args.protocol)
    evaluator.score(bench.arch(int(rows[0])))  # warm-up (lazy imports, allocator)
    for name in proxies:
        seconds = []
        for row in rows:
            start = time.perf_counter()
            evaluator.score(bench.arch(int(row)), only=[name])
            seconds.append(time.perf_counter() - start)
        median = statistics.median(seconds)
        protocol = evaluator.protocols[name]
        baseline = AUTHORS_SECONDS.get(name) if args.space == "nb201" else None
        if baseline is not None and name in AUTHORS_REPEAT:
            baseline *= protocol.repeats
        emit(figure="proxy_seconds_per_arch", proxy=name, space=args.space, batch_size=protocol.batch_size, repeats=protocol.repeats,
             value=round(median, 4), units="seconds on this 2-core CPU (median wall time per arch, network build included)", n_archs=len(rows),
             authors_seconds=baseline, target_seconds=baseline / 2 if baseline else None,
             met=(median <= baseline / 2) if baseline else None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--space", default="nb201", choices=["nb201", "darts"])
    parser.add_argument("--archs", default="1000", help="how many archs (drawn with seed 0), or 'all'")
    parser.add_argument("--timing-archs", type=int, default=20)
    parser.add_argument("--proxies", default="naswot,jacov,synflow,snip,grad_norm,fisher,tenas_ntk,tenas_lr,rbflex,params,flops")
    parser.add_argument("--naslib", default="synflow,params,flops,snip,grad_norm,jacov,naswot")
    parser.add_argument("--only", default="timing,correlation,naslib")
    parser.add_argument("--table", default=None, help="the resumable score table (default scores/perf-<space>-cifar10.csv; "
                        "with --space darts scores/perf-darts-naslib-cifar10.csv)")
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--protocol", type=json.loads, default=None, help='per-proxy protocol changes, e.g. \'{"tegnas_mse": {"repeats": 1}}\'; '
                        "with --space darts they apply over NASLib's protocol (NASLIB_NETWORK, NASLIB_IMAGES)")
    parser.add_argument("--paper-protocols", action="store_true", help="--space darts: score under each proxy's own protocol (table "
                        "scores/perf-darts-cifar10.csv) instead of NASLib's")
    parser.add_argument("--shared", default=str(SHARED_DATA), help="the project's shared data (NASLib's published scores in zc/: test and perf data, not shipped)")
    args = parser.parse_args()
    naslib_protocol = args.space == "darts" and not args.paper_protocols
    args.table = args.table or ("scores/perf-darts-naslib-cifar10.csv" if naslib_protocol else f"scores/perf-{args.space}-cifar10.csv")
    # the DARTS cells' benchmark is NASLib's published subset, which is test data (not shipped)
    args.root = args.shared if args.space == "darts" else None
    warnings.filterwarnings("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    from lightning_nas.benchmarks import create

    bench = create(args.space, root=args.root)
    proxies = args.proxies.split(",")
    if naslib_protocol:  # compared with NASLib's published scores: computed as NASLib computed them
        from lightning_nas.proxies import get_proxy

        given = args.protocol or {}  # a proxy given but not scored stays in, for the evaluator to refuse by name
        args.protocol = {**given, **{name: {**NASLIB_NETWORK, **(NASLIB_IMAGES if get_proxy(name).protocol.batch_size else {}), **given.get(name, {})}
                                     for name in proxies}}
    if "timing" in args.only:
        timing(args, bench, proxies)
    if "naslib" in args.only and args.space == "nb201":  # on DARTS the correlation run compares with NASLib's scores
        agreement_with_naslib(args, bench, Path(args.shared))
    if "correlation" in args.only:
        correlations(args, bench, proxies)


if __name__ == "__main__":
    main()
