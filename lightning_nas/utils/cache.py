"""Versioned, checksummed, atomically written table caches.

A cache is one uncompressed ``.npz`` holding named arrays plus a JSON header (``__meta__``) with
the format version, the source it was built from and a sha256 over every array. Writes go to a
temporary file in the same folder and are ``os.replace``d into place only when complete
(:func:`~lightning_nas.utils.atomic.atomic_open`), so an
interrupted ``prepare`` (Ctrl-C, kill, full disk) never leaves a half-written cache behind.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lightning_nas.utils.atomic import atomic_open
from lightning_nas.utils.errors import BenchmarkFileError, OutputError

log = logging.getLogger(__name__)

CACHE_VERSION = 1
_META = "__meta__"


def cache_dir() -> Path:
    """Where caches live: ``$LIGHTNING_NAS_CACHE``, else ``~/.cache/lightning_nas``.

    Never the data folder: benchmark sources may sit on read-only or shared storage."""
    return Path(os.environ.get("LIGHTNING_NAS_CACHE", Path.home() / ".cache" / "lightning_nas"))


def source_fingerprint(*paths: Path) -> str:
    """Cheap identity of source files (path, size, mtime), so a changed source invalidates
    its cache without re-hashing hundreds of MB on every load."""
    h = hashlib.sha256()
    for p in paths:
        st = Path(p).stat()
        h.update(f"{Path(p).resolve()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def _checksum(arrays: Mapping[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}\n".encode())
        h.update(a.data)
    return h.hexdigest()


def write_cache(path: Path, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
    """Write ``arrays`` and ``meta`` to ``path`` atomically (all or nothing). A cache that cannot be
    written is a warning, not an error: the caller has the arrays, only the next load is slower."""
    header = {**meta, "version": CACHE_VERSION, "sha256": _checksum(arrays)}
    payload = {**arrays, _META: np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)}
    try:
        with atomic_open(path, "wb") as f:
            np.savez(f, **payload)
    except OutputError as exc:
        log.warning("%s; continuing without a cache (set LIGHTNING_NAS_CACHE to a writable folder)", exc)


def read_cache(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read and verify a cache; raise :class:`BenchmarkFileError` if it is stale or corrupt."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except FileNotFoundError:
        raise BenchmarkFileError(f"cache {path} does not exist") from None
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise BenchmarkFileError(f"cache {path} is corrupt ({exc}); delete it to rebuild") from exc
    try:
        meta = json.loads(arrays.pop(_META).tobytes())
    except (KeyError, ValueError) as exc:
        raise BenchmarkFileError(f"cache {path} has no valid header; delete it to rebuild") from exc
    if meta.get("version") != CACHE_VERSION:
        raise BenchmarkFileError(
            f"cache {path} has format version {meta.get('version')}, expected {CACHE_VERSION}; delete it to rebuild"
        )
    if meta.get("sha256") != _checksum(arrays):
        raise BenchmarkFileError(f"cache {path} fails its checksum (corrupt); delete it to rebuild")
    return arrays, meta
