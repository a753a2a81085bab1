"""Command line: ``python -m lightning_nas <command>``.

``prepare`` builds the benchmark cache (and the encoding caches) once, with progress and a
summary, so later loads take about a second.
"""

from __future__ import annotations

import argparse
import sys
import time

from lightning_nas.errors import LightningNASError


def prepare(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m lightning_nas prepare", description="Build the benchmark and encoding caches.")
    parser.add_argument("--space", required=True, choices=["nb101", "nb201", "nats_sss"])
    parser.add_argument("--source", help="benchmark file or archive (default: found under --root)")
    parser.add_argument("--root", help="data folder (default: $LIGHTNING_NAS_DATA, else ./data)")
    parser.add_argument("--no-encodings", action="store_true", help="only cache the benchmark table")
    args = parser.parse_args(argv)

    from lightning_nas.benchmarks import create
    from lightning_nas.encodings import ENCODINGS, encode
    from lightning_nas.progress import progress_bar

    start = time.perf_counter()
    bench = create(args.space, root=args.root, source=args.source, progress=True)
    loaded = time.perf_counter() - start
    encodings = [] if args.no_encodings else [e() for e in ENCODINGS.values() if args.space in e.spaces]
    with progress_bar("encoding", total=len(encodings), enabled=bool(encodings)) as advance:
        for encoding in encodings:
            encode(encoding, bench.space, bench.structure)
            advance()
    print(bench.summary())
    print(f"table: {len(bench):,} archs, {len(bench.metrics)} columns, {loaded:.1f} s; "
          f"encodings {[e.name for e in encodings]}: {time.perf_counter() - start - loaded:.1f} s")
    return 0


COMMANDS = {"prepare": prepare}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m lightning_nas {{{','.join(COMMANDS)}}} ...", file=sys.stderr)
        return 2
    try:
        return COMMANDS[argv[0]](argv[1:])
    except LightningNASError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
