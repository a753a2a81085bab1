"""Loading and encoding speed on real data. Prints one JSON line per figure.

    python perf/load.py [--root DATA] [--skip-hash]

Each timing runs in a fresh Python process (cold imports, warm OS page cache) against the
on-disk cache, which is built first if missing. ``nb101_hash_mismatches`` re-hashes all 423,624
cells of the table with the project's NB101 hash and counts disagreements with ``module_hash``.
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

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from lightning_nas.benchmarks import create
bench = create(sys.argv[1])
t1 = time.perf_counter()
out = {"load_s": t1 - t0, "rows": len(bench)}
if sys.argv[2] == "encode":
    from lightning_nas.encodings import ReNASEncoding, encode
    x = encode(ReNASEncoding(), bench.space, bench.structure)
    out.update(encode_s=time.perf_counter() - t1, shape=list(x.shape))
out["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def child(space: str, what: str, env: dict[str, str]) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, space, what], env=env, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


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
        r = child("nb101", "encode", cold)
        emit("nb101_encode_all_s", r["encode_s"], "s", shape=r["shape"], cache="none", target="< 30 s")
        r = child("nb101", "encode", cold)
        emit("nb101_encode_all_cached_s", r["encode_s"], "s", shape=r["shape"], cache="warm")
    child("nb201", "load", env)
    r = child("nb201", "load", env)
    emit("nb201_load_s", r["load_s"], "s", rows=r["rows"])

    if not args.skip_hash:
        start = time.perf_counter()
        n, workers = 423_624, os.cpu_count() or 1
        edges = [n * k // (4 * workers) for k in range(4 * workers + 1)]
        with multiprocessing.Pool(workers) as pool:
            mismatches = sum(pool.map(_hash_chunk, zip(edges[:-1], edges[1:])))
        emit("nb101_hash_mismatches", mismatches, "archs", checked=n, seconds=round(time.perf_counter() - start, 1))


if __name__ == "__main__":
    main()
