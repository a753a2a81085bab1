"""``prepare``: build the benchmark and encoding caches ahead of a batch of jobs (every command builds
what it needs on first use anyway)."""

from __future__ import annotations

import argparse
import time


def prepare(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m lightning_nas prepare", description="Build the benchmark and encoding caches.")
    from lightning_nas.benchmarks import BENCHMARKS, create
    from lightning_nas.encodings import ENCODINGS, cached_arrays
    from lightning_nas.utils.progress import progress_bar

    parser.add_argument("--space", required=True, choices=sorted(BENCHMARKS))
    parser.add_argument("--source", help="benchmark file or archive (default: found under --root)")
    parser.add_argument("--root", help="data folder (default: $LIGHTNING_NAS_DATA, else ./data)")
    parser.add_argument("--no-encodings", action="store_true", help="only cache the benchmark table")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    bench = create(args.space, root=args.root, source=args.source, progress=True)
    loaded = time.perf_counter() - start
    encodings = [] if args.no_encodings else [e() for e in ENCODINGS.values() if e.name in bench.space.layouts()]
    with progress_bar("encoding", total=len(encodings), enabled=bool(encodings)) as advance:
        for encoding in encodings:
            cached_arrays(encoding, bench.space, bench.structure)  # not the model-ready form: fit builds that
            advance()
    print(bench.summary())
    print(f"table: {len(bench):,} archs, {len(bench.metrics)} columns, {loaded:.1f} s; "
          f"encodings {[e.name for e in encodings]}: {time.perf_counter() - start - loaded:.1f} s")
    return 0
