"""Progress bars on the terminal for the command line's long runs (analyse, follow-up checks,
train): one bar per stage, drawn from the counts a run's generator yields. No Qt: the window
shows the same generators' steps its own way."""

from __future__ import annotations

from collections.abc import Callable, Generator
from contextlib import closing
from typing import Any, TypeVar

from tqdm import tqdm

Step = TypeVar("Step")
Result = TypeVar("Result")


class TerminalProgress:
    """A bar per stage: showing a new stage closes the previous stage's bar. Use it as a
    context manager, so every bar is closed on the way out, error or interrupt included, and a
    message printed after it never shares a line with an unfinished bar."""

    def __init__(self, unit: str):
        self.unit = unit
        self.stage: str | None = None
        self.bar: tqdm | None = None

    def show(
        self,
        done: int,
        total: int,
        *,
        stage: str = "",
        start: int = 0,
        description: str | None = None,
        **postfix: Any,
    ) -> None:
        """``done`` of ``total``; ``start``: how many were done before this run (a resumed
        run), counted when the stage's bar opens so the rate covers only this run's work."""
        if self.bar is None or stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = tqdm(
                total=total, initial=start, unit=self.unit, dynamic_ncols=True, desc=stage or None
            )
        self.bar.total = total
        self.bar.update(done - self.bar.n)
        if description is not None:
            self.bar.set_description(description, refresh=False)
        if postfix:
            self.bar.set_postfix(postfix, refresh=False)

    def write(self, message: str) -> None:
        """A line above the bar (or on its own without one)."""
        if self.bar is not None:
            self.bar.write(message)
        else:
            print(message, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.bar = None

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def run_steps(
    steps: Generator[Step, Any, Result], on_step: Callable[[Step], Any] = lambda step: None
) -> Result:
    """Drive ``steps`` to the end, handing each step to ``on_step``; returns what the
    generator returns. The generator is closed on the way out, so an interrupt raised in
    ``on_step`` still runs its cleanup."""
    with closing(steps):
        while True:
            try:
                step = next(steps)
            except StopIteration as finished:
                return finished.value
            on_step(step)
