"""Score tables: a CSV of proxy scores keyed by each arch's canonical key, built resumably.

``<name>.csv`` has columns ``key, row`` (benchmark row), one per proxy and ``check`` (a checksum of the line:
a value cut short or edited is refused, never read as a number). While scoring, every
finished batch of archs is written atomically to ``<name>.csv.parts/part-<run>-r<rank>-<n>.csv``; a
killed run loses at most the batch in flight, a resumed run skips every (arch, proxy) already in
the table or its parts, and the final merge rewrites the CSV atomically and removes the parts.
Each rank of a distributed run writes its own parts, so no file is shared between processes.

``<name>.csv.settings.json`` records what the scores were computed with (space, dataset, images,
seed, full_network and each proxy's protocol: :func:`~lightning_nas.proxies.evaluator.scoring_settings`).
Scores from other settings never join the table, and a reader that computes missing scores checks its
own against it. A proxy added to the table later adds its protocol to the record.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import shutil
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from lightning_nas.proxies.protocol import same_protocol
from lightning_nas.utils.atomic import atomic_open
from lightning_nas.utils.errors import BenchmarkFileError, InvalidArgument

Rows = dict[str, dict[str, float]]
#: The last column of a score table: each line's check (:func:`_check`), so that a damaged line is refused, never read.
CHECK = "check"
log = logging.getLogger(__name__)


def scored_columns(scores: np.ndarray) -> np.ndarray:
    """Which columns of a :meth:`ScoreTable.lookup` the table scores for any arch: a predictor's
    extra features by those names are read from the table, the others from the benchmark
    (:class:`~lightning_nas.features.ExtraFeatures`)."""
    return ~np.isnan(scores).all(axis=0)


class ScoreTable:
    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise InvalidArgument(f"score table {self.path} is a folder; give the table's file, e.g. {self.path / 'scores.csv'}")
        self.parts = self.path.with_name(self.path.name + ".parts")
        self.settings_path = self.path.with_name(self.path.name + ".settings.json")

    # -- settings ---------------------------------------------------------------------------------
    def _holds_scores(self) -> bool:
        return self.path.is_file() or self.parts.is_dir()

    def settings(self) -> dict[str, Any] | None:
        """The recorded settings; None for a table without a record (written by hand or by an
        older version) or without scores (a record left behind by a deleted table)."""
        if not self._holds_scores() or not self.settings_path.is_file():
            return None
        try:
            recorded = json.loads(self.settings_path.read_text())
        except ValueError as exc:
            recorded = exc
        if not isinstance(recorded, dict):
            raise BenchmarkFileError(f"{self.settings_path}: not a settings record ({recorded}); delete it to record the next run's settings")
        return recorded

    def check_settings(self, settings: dict[str, Any]) -> None:
        """Raise if the table records settings other than ``settings``: its scores and scores
        computed with ``settings`` are not comparable."""
        recorded = self.settings()
        if recorded is None:
            return
        differ = [f"{k} {recorded.get(k)!r} (now {v!r})" for k, v in settings.items() if k != "protocol" and recorded.get(k) != v]
        if "protocol" in settings and "protocol" not in recorded:
            differ.append("no proxy protocol (scored by a lightning_nas that did not record them; tenas_ntk and tenas_lr now average three draws)")
        for name, protocol in settings.get("protocol", {}).items():
            if name in recorded.get("protocol", {}) and not same_protocol(recorded["protocol"][name], protocol):
                differ.append(f"protocol of {name} {recorded['protocol'][name]} (now {protocol})")
        if differ:
            raise InvalidArgument(
                f"score table {self.path} was scored with other settings: {', '.join(differ)}; "
                "scores from different settings must not mix, so give the table's settings or use another table"
            )

    def record_settings(self, settings: dict[str, Any]) -> None:
        """Check ``settings`` (:meth:`check_settings`) and record them if the table has no record, or
        add the protocols of proxies the record lacks."""
        self.check_settings(settings)
        recorded = self.settings()
        if recorded is None:
            if self._holds_scores():
                log.warning("score table %s has no settings record; recording %s for the scores it holds", self.path, settings)
            recorded = settings
        elif set(settings.get("protocol", {})) <= set(recorded.get("protocol", {})):
            return
        else:
            recorded = {**recorded, "protocol": {**settings["protocol"], **recorded["protocol"]}}
        with atomic_open(self.settings_path, "w") as f:
            json.dump(recorded, f, indent=1)

    # -- reading ----------------------------------------------------------------------------------
    @staticmethod
    def _read(path: Path) -> tuple[Rows, dict[str, int]]:
        rows: Rows = {}
        index: dict[str, int] = {}
        try:
            with open(path, newline="") as f:
                reader = csv.reader(f)
                header = next(reader, None)
                if header is None or header[:2] != ["key", "row"] or header[-1:] != [CHECK]:
                    raise BenchmarkFileError(f"{path}: not a score table (header must be key,row,<proxies...>,{CHECK}; got {header}); delete it to rescore")
                names = header[2:-1]
                for number, line in enumerate(reader, start=2):
                    if len(line) != len(header) or _check(line[:-1]) != line[-1]:
                        raise BenchmarkFileError(f"{path}, line {number}: damaged (it fails its check); delete the line, or the table, to rescore those archs")
                    key, row, *values = line[:-1]
                    index[key] = int(row)
                    rows.setdefault(key, {}).update({name: float(v) for name, v in zip(names, values) if v != ""})
        except (ValueError, TypeError) as exc:
            raise BenchmarkFileError(f"{path}: malformed score table ({exc}); delete it to rescore") from exc
        return rows, index

    def load(self, required: bool = False) -> tuple[Rows, dict[str, int]]:
        """Every score written so far (the table plus unmerged parts) and each key's row.
        ``required``: a table with neither file nor parts is an error (a mistyped path), not
        an empty table."""
        rows: Rows = {}
        index: dict[str, int] = {}
        files = [self.path] if self.path.is_file() else []
        if self.parts.is_dir():
            files += sorted(self.parts.glob("part-*.csv"))
        elif required and not files:
            raise self._not_found()
        for file in files:
            more, more_index = self._read(file)
            for key, scores in more.items():
                rows.setdefault(key, {}).update(scores)
            index.update(more_index)
        return rows, index

    def _not_found(self) -> BenchmarkFileError:
        return BenchmarkFileError(f"score table {self.path} not found; build it with 'python -m lightning_nas score'")

    def lookup(self, names: list[str], keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(present, scores)`` for ``keys``, reading the table once: whether each key has a row
        (the table must exist), and [len(keys), len(names)] float64, NaN where an arch has no score."""
        if not self.path.is_file():
            raise self._not_found()
        rows, _ = self.load()
        present = np.zeros(len(keys), dtype=bool)
        out = np.full((len(keys), len(names)), np.nan)
        for i, key in enumerate(keys.tolist()):
            scores = rows.get(key)
            if scores is not None:
                present[i] = True
                out[i] = [scores.get(n, np.nan) for n in names]
        return present, out

    def columns(self, names: list[str], keys: np.ndarray) -> np.ndarray:
        """[len(keys), len(names)] float64, NaN where an arch has no score."""
        return self.lookup(names, keys)[1]

    # -- writing ----------------------------------------------------------------------------------
    @staticmethod
    def _write(path: Path, rows: Rows, index: dict[str, int]) -> None:
        names = sorted({n for scores in rows.values() for n in scores})
        with atomic_open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["key", "row", *names, CHECK])
            for key in sorted(rows, key=lambda k: index.get(k, -1)):
                line = [key, str(index.get(key, -1)), *(_fmt(rows[key].get(n)) for n in names)]
                writer.writerow([*line, _check(line)])

    def write_part(self, rows: Rows, index: dict[str, int], name: str) -> None:
        """One finished batch; ``name`` must be unique across ranks and runs."""
        self._write(self.parts / f"part-{name}.csv", rows, index)

    def merge(self) -> None:
        """Fold the parts into the table (atomically) and delete them."""
        rows, index = self.load()
        self._write(self.path, rows, index)
        shutil.rmtree(self.parts, ignore_errors=True)


def _check(fields: list[str]) -> str:
    """A line's check: the crc32 of its fields. A value cut short or edited no longer matches it."""
    return f"{zlib.crc32(','.join(fields).encode()):08x}"


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    return repr(float(value)) if math.isfinite(value) else str(float(value))
