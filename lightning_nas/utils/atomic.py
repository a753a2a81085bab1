"""All-or-nothing file writes: caches, score tables, predictions and search states are never left
half-written by Ctrl-C, a kill or a full disk."""

from __future__ import annotations

import errno
import os
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from lightning_nas.utils.errors import LightningNASError, OutputError


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb", **kwargs) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success it is fsynced and ``os.replace``d onto
    ``path``, on any exception (KeyboardInterrupt included) it is deleted. A folder that cannot
    be made or written, or a full disk, is an :class:`OutputError` naming ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    make_folder(path.parent, path)
    remove_stale_temporaries(path)
    try:
        with open(tmp, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        WRITTEN.append(path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, LightningNASError):
            raise _output_error(path, exc, ignore=(path, tmp)) from exc
        raise


#: The files this process wrote last (complete, each): what a full disk is said to have left intact.
WRITTEN: deque[Path] = deque(maxlen=8)


def make_folder(folder: str | os.PathLike, output: str | os.PathLike | None = None) -> None:
    """``mkdir -p folder`` for ``output``, a file to write in it (default: the folder itself); one
    that cannot be made (a file in the way, no permission) is an :class:`OutputError` naming ``output``."""
    output = Path(output if output is not None else folder)
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _output_error(output, exc, ignore=(output,)) from exc


def _output_error(path: Path, exc: OSError, ignore: tuple[Path, ...]) -> OutputError:
    """"cannot write PATH: REASON", naming the file or folder it is about when that is not ``path``."""
    reason = exc.strerror or str(exc)
    if isinstance(exc, (FileExistsError, NotADirectoryError)):  # mkdir / open met a file on the way
        reason = f"a file stands where a folder should be ({exc.filename} or a folder above it)"
    elif exc.filename and Path(exc.filename) not in ignore:
        reason += f": {exc.filename}"
    if exc.errno == errno.ENOSPC:
        reason += "; " + saved_before()
    return OutputError(f"cannot write {path}: {reason}")


def saved_before() -> str:
    """What was written, complete, before a write failed (a full disk): the files this process wrote last."""
    return f"written before it, complete: {', '.join(map(str, WRITTEN))}" if WRITTEN else "nothing was written before it"


def remove_stale_temporaries(path: Path) -> None:
    """Delete the temporary files a killed writer of ``path`` left behind (``.<name>.<pid>.tmp`` of a process
    that no longer runs): a ``prepare`` killed mid-write left a cache's 172 MB behind for good."""
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        pid = tmp.name[len(path.name) + 2 : -len(".tmp")]
        if pid.isdigit() and int(pid) != os.getpid() and not _running(int(pid)):
            tmp.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
