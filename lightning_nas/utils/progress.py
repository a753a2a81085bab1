"""One progress style for long work (loading, encoding, scoring, search): bars on a terminal,
and on a file or pipe (a batch job) a plain line every :data:`LINE_INTERVAL` seconds, so a redirected
log shows that the work goes on and how far it is, without terminal codes."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

#: Seconds between two progress lines when the output is not a terminal.
LINE_INTERVAL = 30.0


def on_terminal() -> bool:
    """Whether standard output is a terminal (else it goes to a file or a pipe)."""
    return sys.stdout.isatty()


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{seconds:02d}"


class Lines:
    """Prints ``text`` at most once per ``interval`` seconds (and whenever ``force``), prefixed with the elapsed time."""

    def __init__(self, interval: float = LINE_INTERVAL) -> None:
        self.interval = interval
        self.start = self.last = time.monotonic()

    def __call__(self, text: str, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.last >= self.interval:
            print(f"[{_clock(now - self.start)}] {text}", flush=True)
            self.last = now


@contextmanager
def progress_bar(description: str, total: float | None, enabled: bool = True) -> Iterator[Callable[..., None]]:
    """Yield ``advance(n)``: a rich bar on a terminal when ``enabled``; periodic lines elsewhere."""
    if not enabled:
        yield lambda n=1: None
        return
    if not on_terminal():
        lines, done = Lines(), [0.0]

        def advance(n: float = 1) -> None:
            done[0] += n
            lines(f"{description}: {done[0]:,.0f}" + (f" of {total:,.0f}" if total else ""))

        yield advance
        lines(f"{description}: {done[0]:,.0f}" + (f" of {total:,.0f}" if total else "") + " done", force=True)
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)
