"""Progress of a long command (``outcrop ingest``): a rich bar with rate and ETA on a terminal,
plain lines (every few seconds, and one at the end) when the output is a log or a pipe."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

__all__ = ["CountProgress", "format_duration"]


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


class _Rate(ProgressColumn):
    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} {self.unit}/s", style="progress.data.speed")


class CountProgress:
    """Counts ``unit`` items toward a total learnt later (:meth:`total`), with :meth:`update`."""

    def __init__(
        self, console: Console, what: str, *, unit: str = "msg", quiet: bool = False, every: float = 5.0
    ) -> None:
        self.console, self.what, self.unit, self.every = console, what, unit, every
        self.quiet = quiet
        self.live = console.is_terminal and not quiet
        self._total: int | None = None
        self._done = 0
        self._started = time.monotonic()
        self._last_line = self._started
        self._bar = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _Rate(unit),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not self.live,
        )
        self._task = self._bar.add_task(what, total=None)

    def __enter__(self) -> CountProgress:
        self._bar.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._bar.__exit__(exc_type, exc, tb)
        if exc_type is None:
            self._line(final=True)

    def total(self, count: int) -> None:
        self._total = count
        self._started = self._last_line = time.monotonic()  # the rate counts writes, not the check before them
        self._bar.update(self._task, total=count)
        self._bar.reset(self._task, total=count)
        if not self.live and not self.quiet:
            self.console.print(f"{self.what}: {count:,} {self.unit} checked", highlight=False, soft_wrap=True)

    def update(self, done: int) -> None:
        self._done = done
        self._bar.update(self._task, completed=done)
        now = time.monotonic()
        if not self.live and now - self._last_line >= self.every:
            self._last_line = now
            self._line()

    def rate(self) -> float:
        elapsed = time.monotonic() - self._started
        return self._done / elapsed if elapsed > 0 else 0.0

    def _line(self, *, final: bool = False) -> None:
        if self.live or self.quiet:
            return
        rate = self.rate()
        elapsed = format_duration(time.monotonic() - self._started)
        if final:
            text = f"{self.what}: {self._done:,} {self.unit} in {elapsed} ({rate:,.0f} {self.unit}/s)"
        elif self._total:
            left = (self._total - self._done) / rate if rate > 0 else None
            eta = "?" if left is None else format_duration(left)
            share = 100 * self._done / self._total
            text = (
                f"{self.what}: {self._done:,}/{self._total:,} {self.unit} ({share:.1f}%), "
                f"{rate:,.0f} {self.unit}/s, elapsed {elapsed}, ETA {eta}"
            )
        else:
            text = f"{self.what}: {self._done:,} {self.unit}, {rate:,.0f} {self.unit}/s"
        self.console.print(text, highlight=False, soft_wrap=True)
