"""All-or-nothing file writes: caches, score tables, predictions and search states are never left
half-written by Ctrl-C, a kill or a full disk."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

from lightning_nas.errors import LightningNASError, OutputError


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb", **kwargs) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success it is fsynced and ``os.replace``d onto
    ``path``, on any exception (KeyboardInterrupt included) it is deleted. A folder that cannot
    be made or written, or a full disk, is an :class:`OutputError` naming ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with suppress(OSError):  # e.g. a file stands where the folder should be: no tmp to remove
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, LightningNASError):
            reason = exc.strerror or str(exc)
            if isinstance(exc, (FileExistsError, NotADirectoryError)):  # mkdir / open met a file on the way
                reason = f"a file stands where a folder should be ({exc.filename} or a folder above it)"
            elif exc.filename and Path(exc.filename) not in (path, tmp):  # the folder it is about
                reason += f": {exc.filename}"
            raise OutputError(f"cannot write {path}: {reason}") from exc
        raise
