"""Loading and encoding speed on real data. Prints one JSON line per figure.

    python perf/load.py [--root DATA] [--skip-hash] [--skip-tfrecord] [--full-tfrecord]

Each timing runs in a fresh Python process (cold imports, warm OS page cache) against the
on-disk cache, which is built first if missing. ``nb101_hash_mismatches`` re-hashes all 423,624
cells of the table with the project's NB101 hash and counts disagreements with ``module_hash``.

``nb101_encode_*``, ``nb101_encoding_held_mib``, ``nb101_rows_built_s``: the ReNAS and the path encoding of
every NB101 cell, from no cache and cached; the memory the encoded table keeps (its compact arrays) against
every row built at once (``all_rows_built_mib``, what a table of float32 tensors took before), and the time to
build every row once in batches, as a test over the whole space does.

``nb101_prepare_*``: ``python -m lightning_nas prepare --space nb101`` with no cache (the table and every
encoding built) and again with them cached: wall time and peak memory.

``nb101_tfrecord_*``: the first read of an official ``nasbench_only108.tfrecord``, timed on a
full-size file in that exact format (every cell of the compact table as 3 records of 108 epochs,
1,270,872 in all, with the compact table's params and single-run accuracy in each run; written to a
temporary folder, about 0.5 GB), then the cached load, and how many cells the table read back
differs from the compact one in (structure, params, FLOPs, accuracy). ``--full-tfrecord`` does the same
for ``nasbench_full.tfrecord`` (the 4, 12, 36 and 108-epoch budgets: 5,083,488 records, about 2 GB).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
if sys.argv[2] == "prepare":  # the command, as a user runs it first
    from lightning_nas.cli import main
    main(["prepare", "--space", sys.argv[1]])
    print(json.dumps({"seconds": time.perf_counter() - t0, "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    sys.exit()
from lightning_nas.benchmarks import create
bench = create(sys.argv[1], source=(sys.argv[3] or None) if sys.argv[2] != "encode" else None)
t1 = time.perf_counter()
out = {"load_s": t1 - t0, "rows": len(bench), "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
if sys.argv[2] == "encode":  # sys.argv[3]: the encoding
    import dataclasses
    from lightning_nas.encodings import encode, get_encoding
    x = encode(get_encoding(sys.argv[3]), bench.space, bench.structure)
    out.update(encode_s=time.perf_counter() - t1, shape=list(x.shape))
    out["held_mib"] = sum(getattr(x, f.name).nbytes for f in dataclasses.fields(x)) / 2**20  # the compact arrays a fit keeps
    out["built_mib"] = x[:1].element_size() * len(x) * x[0].numel() / 2**20  # every row built at once, as before
    t2 = time.perf_counter()
    for start in range(0, len(x), 1024):  # every row built once, as a test over the whole space reads them
        x[start : start + 1024]
    out["rows_built_s"] = time.perf_counter() - t2
    out["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if sys.argv[2] == "compare":  # against the compact table: which cells read back differently
    import numpy as np
    compact = create(sys.argv[1])
    differ = (bench.keys != compact.keys) | (bench.structure["ops"] != compact.structure["ops"]).any(1)
    differ |= (bench.structure["adjacency"] != compact.structure["adjacency"]).any((1, 2))
    for metric in ("params", "flops"):
        differ |= bench.column(metric) != compact.column(metric)
    differ |= ~np.isclose(bench.column("test_acc_run0"), compact.column("test_acc_run0"), atol=1e-4)
    out["cells_differing"] = int(differ.sum())
print(json.dumps(out))
"""


def child(space: str, what: str, env: dict[str, str], arg: str = "") -> dict:
    """``arg``: the benchmark file to read (load, compare), or the encoding (encode)."""
    proc = subprocess.run([sys.executable, "-c", CHILD, space, what, arg], env=env, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def write_full_size_tfrecord(path: str, budgets: tuple[int, ...]) -> int:
    """Every cell of the compact NB101 table as 3 official-format records per epoch budget (the
    table's params and single-run accuracy in each run); returns the number of records."""
    from lightning_nas.benchmarks import create
    from lightning_nas.benchmarks.tfrecord import ModelMetrics, nb101_record, write_records
    from lightning_nas.spaces.nb101 import OP_NAMES

    bench = create("nb101")
    adjacency, ops = bench.structure["adjacency"], bench.structure["ops"]
    params, accuracy = bench.column("params"), bench.column("test_acc_run0").astype(np.float64) / 100

    def records():
        for i, key in enumerate(bench.keys.tolist()):
            v = int((ops[i] >= 0).sum())
            for epochs in budgets:
                metrics = ModelMetrics(trainable_parameters=int(params[i]), total_time=1800.0)
                for fraction in (0.0, 0.5, 1.0):  # at init, halfway, at the end, as the official records
                    metrics.evaluation_data.add(current_epoch=epochs * fraction, training_time=1800.0 * fraction, train_accuracy=fraction,
                                                validation_accuracy=accuracy[i] * fraction, test_accuracy=accuracy[i] * fraction)
                payload = nb101_record(key, epochs, adjacency[i, :v, :v].tolist(), [OP_NAMES[o] for o in ops[i, :v]], metrics)
                yield from (payload,) * 3  # three training runs

    write_records(Path(path), records())
    return 3 * len(budgets) * len(bench)


def emit(figure: str, value: float, units: str, **extra) -> None:
    print(json.dumps({"figure": figure, "value": round(value, 3), "units": units, **extra}), flush=True)


def _hash_chunk(bounds: tuple[int, int]) -> int:
    from lightning_nas.benchmarks import create

    bench = create("nb101")
    adjacency, ops, keys = bench.structure["adjacency"], bench.structure["ops"], bench.keys
    return sum(bench.space.from_arrays(adjacency[i], ops[i]).module_hash != keys[i] for i in range(*bounds))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", default=os.environ.get("LIGHTNING_NAS_DATA", "../shared/data"))
    parser.add_argument("--skip-hash", action="store_true")
    parser.add_argument("--skip-tfrecord", action="store_true", help="skip the ~0.5 GB official-format nasbench_only108 file")
    parser.add_argument("--full-tfrecord", action="store_true", help="also the ~2 GB nasbench_full file (4 epoch budgets)")
    args = parser.parse_args()
    env = {**os.environ, "LIGHTNING_NAS_DATA": args.root, "PYTHONWARNINGS": "ignore"}
    os.environ.update(env)

    child("nb101", "load", env)  # make sure the table cache exists
    r = child("nb101", "load", env)
    emit("nb101_load_s", r["load_s"], "s", rows=r["rows"], target="< 3 s", baseline="TF1 nasbench API: ~120-300 s")
    emit("nb101_load_rss_mib", r["rss_mib"], "MiB", target="< 1024 MiB")
    with tempfile.TemporaryDirectory() as fresh:  # encoding from scratch: no encoding cache
        cold = {**env, "LIGHTNING_NAS_CACHE": fresh}
        child("nb101", "load", cold)
        for name in ("renas", "path"):
            r = child("nb101", "encode", cold, name)
            emit("nb101_encode_all_s", r["encode_s"], "s", encoding=name, shape=r["shape"], cache="none", target="< 30 s")
            r = child("nb101", "encode", cold, name)
            emit("nb101_encode_all_cached_s", r["encode_s"], "s", encoding=name, shape=r["shape"], cache="warm")
            emit("nb101_encoding_held_mib", r["held_mib"], "MiB", encoding=name, all_rows_built_mib=round(r["built_mib"]), what="the arrays the encoded table keeps")
            emit("nb101_rows_built_s", r["rows_built_s"], "s", encoding=name, rows=r["shape"][0], batch=1024, what="every row built once from the encoded table")
            emit("nb101_encode_rss_mib", r["rss_mib"], "MiB", encoding=name, cache="warm")
    child("nb201", "load", env)
    r = child("nb201", "load", env)
    emit("nb201_load_s", r["load_s"], "s", rows=r["rows"])
    with tempfile.TemporaryDirectory() as fresh:  # `prepare --space nb101` from nothing, then again
        cold = {**env, "LIGHTNING_NAS_CACHE": fresh}
        for cache in ("none", "warm"):
            r = child("nb101", "prepare", cold)
            emit("nb101_prepare_s", r["seconds"], "s", cache=cache, what="table + renas, graph, onehot and path encodings")
            emit("nb101_prepare_rss_mib", r["rss_mib"], "MiB", cache=cache)

    files = {} if args.skip_tfrecord else {"nasbench_only108.tfrecord": (108,)}
    if args.full_tfrecord:
        files["nasbench_full.tfrecord"] = (4, 12, 36, 108)
    for name, budgets in files.items():
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, name)
            start = time.perf_counter()
            records = write_full_size_tfrecord(path, budgets)
            size = dict(file=name, records=records, file_mib=round(os.path.getsize(path) / 2**20), written_in_s=round(time.perf_counter() - start, 1))
            fresh = {**env, "LIGHTNING_NAS_CACHE": os.path.join(folder, "cache")}
            r = child("nb101", "compare", fresh, path)
            emit("nb101_tfrecord_read_s", r["load_s"], "s", rows=r["rows"], **size, baseline="TF1 nasbench API: ~120-300 s")
            emit("nb101_tfrecord_read_rss_mib", r["rss_mib"], "MiB", **size)
            emit("nb101_tfrecord_cells_differing", r["cells_differing"], "archs", file=name, checked=r["rows"], against="compact table", target=0)
            r = child("nb101", "load", fresh, path)
            emit("nb101_tfrecord_cached_load_s", r["load_s"], "s", file=name, rows=r["rows"], target="< 3 s")

    if not args.skip_hash:
        start = time.perf_counter()
        n, workers = 423_624, os.cpu_count() or 1
        edges = [n * k // (4 * workers) for k in range(4 * workers + 1)]
        with multiprocessing.Pool(workers) as pool:
            mismatches = sum(pool.map(_hash_chunk, zip(edges[:-1], edges[1:])))
        emit("nb101_hash_mismatches", mismatches, "archs", checked=n, seconds=round(time.perf_counter() - start, 1))


if __name__ == "__main__":
    main()
