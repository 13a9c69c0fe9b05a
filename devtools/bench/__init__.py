"""Benchmarks: each goal of issue 15 measured against its floor or yardstick in one run.

`python manage.py bench` (or `make bench`) runs them and prints one `Figure` per goal. A figure is
the product's number, the floor's number measured in the same run on the same data (raw SQL, or a
yardstick view doing the least work that is still comparable), their ratio, and the goal. The
machine is shared and noisy, so the two sides are measured interleaved and the load average is
printed with them: the ratio is the figure to read, an absolute time alone proves little.

Nothing here is a timed test; the tests assert query counts and equality, never seconds.
"""

import os
import statistics
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    goal: str  # what is measured, e.g. "outcome report, 10,000 courses"
    product: float
    floor: float | None  # None where the goal is absolute (a query count, seconds)
    unit: str  # "s", "req/s", "queries"
    target: str  # the goal as written, e.g. "≤ 2× floor and < 1 s"
    met: bool | None  # None where the goal is not stated at this size
    floor_label: str = ""  # what the floor is, e.g. "one SQL statement, same rows"
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.floor in (None, 0):
            return None
        # For rates (req/s) the ratio is product / floor (higher is better); for times and counts
        # product / floor as well (lower is better): the target says which way is good.
        return self.product / self.floor


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def interleaved(product, floor, *, rounds: int = 5) -> tuple[float, float]:
    """Median seconds of `product()` and `floor()`, run alternately so both see the same load."""
    a, b = [], []
    for _ in range(rounds):
        for fn, out in ((product, a), (floor, b)):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return statistics.median(a), statistics.median(b)


def timed(fn, *, rounds: int = 3) -> float:
    """Median seconds of `fn()`."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def count_as_a_worker(*, afresh: bool = False):
    """The whole practice's outcome report counted and kept for the page and the API, here, as a
    worker would count it (the task runs in this process: the benchmarks' servers have no
    worker); `afresh` drops the kept counts first, so the count is made now. Returns what
    reports.services.report_counted answers."""
    from reports import services
    from reports.cohort import ReportFilters
    from reports.models import ReportCount
    from reports.tasks import count_report

    if afresh:
        ReportCount.objects.all().delete()
    app = count_report.app  # the project's Celery app (devtools does not import kapclinic)
    eager, app.conf.task_always_eager = app.conf.task_always_eager, True
    try:
        return services.report_counted(ReportFilters(), wait=600)
    finally:
        app.conf.task_always_eager = eager
