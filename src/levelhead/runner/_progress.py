"""Progress on long runs: a rich bar on a terminal, a plain line now and then in CI or a pipe,
nothing with ``--quiet``. The runner only bumps counters; a reporter reads them a few times a
second, so progress costs the hot loop nothing measurable."""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.progress import TaskID


class Progress:
    """Counters the runner updates; subclasses show them."""

    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.errors = 0
        self.started = time.monotonic()
        self.label = ""
        self.turns = 0  # assistant turns of multi-turn conversations stored so far

    def start(self, label: str, total: int) -> None:
        """Begin counting ``total`` samples for the run ``label``."""
        self.label, self.total, self.done, self.errors = label, total, 0, 0
        self.started = time.monotonic()

    def advance(self, ok: int, errors: int) -> None:
        """Count stored samples (cheap: called once per request)."""
        self.done += ok + errors
        self.errors += errors

    def refresh(self) -> None:
        """Show the counters (called a few times a second by the runner)."""

    def note(self, message: str) -> None:
        """Say something that is not a count (a target stopped, a resume)."""

    @property
    def turns_text(self) -> str:
        """", 123 turns" once conversations have stored turns (their samples end late)."""
        return f", {self.turns:,} turns" if self.turns else ""

    def stop(self) -> None:
        """Final refresh and tidy up."""

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0


class PlainProgress(Progress):
    """A line every ``every_s`` seconds, for logs and CI."""

    def __init__(self, stream: TextIO | None = None, every_s: float = 10.0) -> None:
        super().__init__()
        self.stream = stream or sys.stderr
        self.every_s = every_s
        self._last = 0.0

    def _line(self) -> str:
        rate = self.rate
        left = self.total - self.done
        eta = f", ETA {left / rate:.0f} s" if rate > 0 and left > 0 else ""
        pct = 100 * self.done / self.total if self.total else 100.0
        return (f"[{self.label}] {self.done}/{self.total} samples ({pct:.0f} %){self.turns_text}, "
                f"{self.errors} errors, {rate:.1f}/s{eta}")

    def refresh(self) -> None:
        now = time.monotonic()
        if now - self._last >= self.every_s:
            self._last = now
            print(self._line(), file=self.stream, flush=True)

    def note(self, message: str) -> None:
        print(message, file=self.stream, flush=True)

    def stop(self) -> None:
        print(self._line(), file=self.stream, flush=True)


class RichProgress(Progress):
    """A rich progress bar: done/total, rate, errors and ETA."""

    def __init__(self) -> None:
        super().__init__()
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._console = Console(stderr=True)
        self._bar = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:.1f}/s"), TextColumn("[red]{task.fields[errors]} errors"),
            TextColumn("{task.fields[turns]}"),
            TimeRemainingColumn(), console=self._console, transient=False,
        )
        self._task: TaskID | None = None

    def start(self, label: str, total: int) -> None:
        super().start(label, total)
        self._bar.start()
        self._task = self._bar.add_task(label, total=total, rate=0.0, errors=0, turns="")

    def refresh(self) -> None:
        if self._task is not None:
            self._bar.update(self._task, completed=self.done, rate=self.rate, errors=self.errors,
                             turns=self.turns_text.lstrip(", "))

    def note(self, message: str) -> None:
        self._console.print(message, markup=False, highlight=False)

    def stop(self) -> None:
        self.refresh()
        self._bar.stop()


def choose_progress(quiet: bool = False) -> Progress:
    """Rich on an interactive terminal, plain lines in CI or a pipe, silent with ``quiet``."""
    if quiet:
        return Progress()
    if sys.stderr.isatty() and not os.environ.get("CI"):
        return RichProgress()
    return PlainProgress()
