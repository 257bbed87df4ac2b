"""Races for the concurrency tests: threads released together, each on its own database connection.

``race(n, fn, expected=(Conflict,))`` runs ``fn(i)`` for ``i in range(n)`` in ``n`` threads that a barrier
releases at once. Django gives each thread its own connection; it is closed when the thread ends. The
answer is the list of what each call returned, or the exception it raised when that exception is an
expected outcome (an instance of ``expected``). Anything else raised in a thread (an unexpected error, a
500 the test client re-raises, a deadlock reported by PostgreSQL, a barrier that never filled, a thread
still running after ``timeout``) is raised in the test, so a race cannot hide a failure.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections


class RaceFailed(AssertionError):
    """A thread of a race did not finish in time, or failed in a way the test did not expect."""


def require_postgresql() -> None:
    """Row-lock races are meaningless on SQLite (one writer at a time): fail, never skip."""
    if connection.vendor != "postgresql":
        pytest.fail(f"row-lock races need PostgreSQL; got {connection.vendor}", pytrace=False)


def race(
    n: int,
    fn: Callable[[int], Any],
    *,
    expected: tuple[type[BaseException], ...] = (),
    timeout: float = 60,
) -> list[Any]:
    """Run ``fn(0) … fn(n - 1)`` at the same time; return their results and expected exceptions, in order."""
    barrier = threading.Barrier(n)
    outcomes: list[Any] = [None] * n
    failures: list[tuple[int, BaseException]] = []

    def run(i: int) -> None:
        try:
            try:
                barrier.wait(timeout=timeout)
            except threading.BrokenBarrierError:
                # Another thread never arrived: a failure of the race itself, never an outcome.
                failures.append((i, RaceFailed(f"thread {i}: the barrier broke (a thread never arrived)")))
                return
            try:
                outcomes[i] = fn(i)
            except BaseException as exc:  # noqa: BLE001 - sorted into outcome or failure
                if isinstance(exc, expected):
                    outcomes[i] = exc
                else:
                    failures.append((i, exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,), name=f"race-{i}", daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threads if t.is_alive()]
    if stuck:
        barrier.abort()
        raise RaceFailed(f"{len(stuck)} of {n} threads still running after {timeout}s: {', '.join(stuck)}")
    if failures:
        failures.sort(key=lambda f: f[0])
        i, first = failures[0]
        others = "; ".join(f"thread {j}: {exc!r}" for j, exc in failures[1:])
        raise RaceFailed(
            f"thread {i} of {n} failed unexpectedly: {first!r}" + (f" (also {others})" if others else "")
        ) from first
    return outcomes
