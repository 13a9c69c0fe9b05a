"""Constants of the test suite itself (the fixtures are in tests/conftest.py, the builders of
synthetic data in devtools/builders.py)."""

import datetime as dt
import threading

from django.db import connections

# Tests run at a fixed instant in the clinic's day: 11:00 in America/New_York (daylight time from 8 March).
NOW = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)


def at_once(*actions, timeout: float = 60) -> list:
    """Run each action in its own thread (so its own database connection), released together by a
    barrier; the results in the actions' order. An action's exception fails the caller's test."""
    barrier = threading.Barrier(len(actions))
    results, errors = [None] * len(actions), []

    def run(i, action):
        try:
            barrier.wait(timeout=10)
            results[i] = action()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    assert errors == []
    return results
