"""Progress over the declared steps of a run, and a long loop that Ctrl-C stops cleanly."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Stages:
    """A progress bar over the declared steps of a run (slow steps also have bars of their own).

    Steps are entered in the declared order (:meth:`step`); the bar's total is their count, so
    it never has to be counted by hand."""

    name: str
    steps: tuple[str, ...]
    progress: bool = True
    _bar: Any = None
    _done: int = 0
    _running: bool = False
    _started: float = field(default_factory=time.perf_counter)
    _closed: float | None = None

    def __post_init__(self) -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(total=len(self.steps), desc=self.name, unit="step", disable=not self.progress, leave=False)  # fmt: skip

    def start(self, label: str) -> None:
        """Start the step ``label`` (the next declared one), finishing the one running; for
        callbacks (``compare_policies(progress=stages.start)``)."""
        if self._running:
            self.finish()
        expected = self.steps[self._done] if self._done < len(self.steps) else None
        if label != expected:
            raise AssertionError(f"step {label!r} out of order: the next declared step is {expected!r}")  # fmt: skip
        self._running = True
        self._bar.set_postfix_str(label)
        self._bar.refresh()

    def finish(self) -> None:
        """The running step is done."""
        self._running = False
        self._done += 1
        self._bar.update(1)

    @contextlib.contextmanager
    def step(self, label: str) -> Iterator[None]:
        """Run one step; ``label`` must be the next declared one."""
        self.start(label)
        yield
        self.finish()

    def close(self) -> float:
        """Close the bar (finishing a step still running); the seconds from the run's start to its
        first close (closing again changes nothing)."""
        if self._closed is None:
            if self._running:
                self.finish()
            self._bar.close()
            self._closed = time.perf_counter() - self._started
        return self._closed


@contextlib.contextmanager
def stop_on_interrupt() -> Iterator[Callable[[], bool]]:
    """The first Ctrl-C (SIGINT) asks the study to stop after the trial that is running (an
    interrupt inside Optuna's bookkeeping of a trial's result can leave the trial half
    written); the second one interrupts at once. Yields "was Ctrl-C pressed?". Only in the
    main thread (where Python delivers signals); elsewhere it changes nothing."""
    import signal
    import sys
    import threading

    pressed = [False]
    if threading.current_thread() is not threading.main_thread():
        yield lambda: pressed[0]
        return

    def on_sigint(signum: int, frame: Any) -> None:
        if pressed[0]:
            raise KeyboardInterrupt
        pressed[0] = True
        print("sleeptime: stopping after the running trial (Ctrl-C again to stop now)", file=sys.stderr, flush=True)  # fmt: skip

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield lambda: pressed[0]
    finally:
        signal.signal(signal.SIGINT, previous)
