"""Time and progress for the long CPU runs (training, full-test-set evaluation).

``RunClock`` counts the seconds a run spent computing and leaves out the time its process was stopped
(``kill -STOP`` while a test or benchmark borrows the cores, a suspended laptop), so a card's training
time and a progress bar's img/s describe the computation, not the pauses. ``Progress`` is the light bar
both CLIs print.
"""

from __future__ import annotations

import sys
import threading
import time


class RunClock:
    """A monotonic clock that stops while the process is stopped.

    A daemon thread notes the time every ``tick`` seconds; a stopped process stops that thread too, so on
    resumption it sees a gap between two notes. Any gap longer than ``gap`` seconds counts as a pause
    (less the one tick it would have slept anyway). Pauses shorter than ``gap`` are counted as work, so the
    clock can only over-count, by under ``gap`` seconds per pause."""

    def __init__(self, tick: float = 0.5, gap: float = 3.0, wall=time.monotonic, start: bool = True):
        self.tick, self.gap, self._wall = tick, gap, wall
        self.paused = 0.0
        self._last = wall()
        self._lock = threading.Lock()
        if start:  # tests drive note() themselves with a fake wall clock
            threading.Thread(target=self._run, name="run-clock", daemon=True).start()

    def note(self) -> None:
        """Record one tick (the thread calls this; tests call it with a fake wall clock)."""
        with self._lock:
            now = self._wall()
            if now - self._last > self.gap:
                self.paused += now - self._last - self.tick
            self._last = now

    def _run(self) -> None:
        while True:
            time.sleep(self.tick)
            self.note()

    def now(self) -> float:
        """Seconds on this clock: wall time less every pause noticed so far."""
        self.note()
        with self._lock:
            return self._wall() - self.paused


_CLOCK: RunClock | None = None


def clock() -> RunClock:
    """The process's one run clock, started on first use."""
    global _CLOCK
    if _CLOCK is None:
        _CLOCK = RunClock()
    return _CLOCK


def rate_text(rate: float) -> str:
    """Images per second to two significant digits below 10, so AutoAttack's 0.26 img/s does not print as 0."""
    return f"{rate:,.0f}" if rate >= 10 else f"{rate:.2g}"


class Progress:
    """A light progress bar: images/s (on the run clock) and running loss; one line per 10% when not on a
    terminal."""

    def __init__(self, total, prefix, enabled=True, start=0):
        """``start``: items done before this run (a resumed evaluation); shown in the count, left out of the rate."""
        self.total, self.prefix, self.enabled, self.start = total, prefix, enabled, start
        self.clock = clock()
        self.t0, self.done, self.last_decile = self.clock.now(), start, -1
        self.tty = sys.stderr.isatty()

    def update(self, n, loss=None):
        self.done += n
        if not self.enabled:
            return
        rate = (self.done - self.start) / max(self.clock.now() - self.t0, 1e-9)
        frac = self.done / self.total
        bar = "#" * int(20 * frac)
        line = f"{self.prefix} [{bar:<20}] {self.done}/{self.total} {rate_text(rate)} img/s"
        line += f" loss {loss:.4f}" if loss is not None else ""
        if self.tty:
            print("\r" + line, end="" if self.done < self.total else "\n", file=sys.stderr, flush=True)
        elif int(10 * frac) > self.last_decile:
            self.last_decile = int(10 * frac)
            print(line, file=sys.stderr, flush=True)
