"""A call to the database that its caller waits for a bounded time, at
most one at a time, its answer kept a while: what a probe needs, so that
neither a database that does not answer nor a flood of probes can hold up
the process or load the database."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

import attrs

__all__ = ["Bounded", "Outcome"]

T = TypeVar("T")


@attrs.frozen
class Outcome(Generic[T]):
    """What a :class:`Bounded` call came to: its *value*, the *error* it
    raised, or neither when it had not finished in time (*timed_out*)."""

    value: T | None = None
    error: Exception | None = None
    timed_out: bool = False


class Bounded(Generic[T]):
    """*call* in a daemon thread of its own, waited for at most *timeout*
    seconds; its outcome is kept for *fresh* seconds and given to every
    caller meanwhile.

    While a call runs, no second one starts: a caller that comes meanwhile
    waits for the same one (at most *timeout* seconds too).  A call still
    running when its caller gives up goes on in its thread and is bounded
    by the database's own timeouts (the connection's ``connect_timeout``);
    only one such thread exists at a time."""

    def __init__(
        self,
        call: Callable[[], T],
        *,
        timeout: float,
        fresh: float,
        name: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.call = call
        self.timeout = timeout
        self.fresh = fresh
        self.name = name
        self.clock = clock
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._box: list[Outcome[T]] = []
        self._kept: Outcome[T] | None = None
        self._kept_at = 0.0

    def __call__(self) -> Outcome[T]:
        with self._lock:
            if self._kept is not None and self.clock() - self._kept_at < self.fresh:
                return self._kept
            if self._thread is None or not self._thread.is_alive():
                box: list[Outcome[T]] = []
                self._thread = threading.Thread(target=self._run, args=(box,), name=self.name, daemon=True)
                self._box = box
                self._thread.start()
            thread, box = self._thread, self._box
        thread.join(self.timeout)
        outcome = box[0] if box else Outcome[T](timed_out=True)
        with self._lock:
            self._kept, self._kept_at = outcome, self.clock()
        return outcome

    def _run(self, box: list[Outcome[T]]) -> None:
        try:
            box.append(Outcome(value=self.call()))
        except Exception as exc:
            box.append(Outcome(error=exc))
