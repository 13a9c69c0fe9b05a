"""Issue 15, goal 4: "a tick whose query count does not depend on how much is due … under 2 s at
100,000 active courses with work due."

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/kapclinic_bench \\
        python manage.py shell -c "from devtools.bench import tick; print(*tick.run(courses=100_000), sep='\\n')"

`run` loads a synthetic practice into the current, empty database (measure_tick's loader: one
course in fifty each is due to open, to be reminded, to be marked missed, and to have a follow-up
and a safety alert escalated) and measures:

- the tick's seconds with that work due, interleaved with its floor: the very SQL statements the
  tick sends, captured from it and sent raw through a cursor, so the ratio is what Django and the
  service's Python add to the database's own work. Each timed round runs in a transaction that is
  rolled back (after the deferred foreign-key checks a commit would run), so every round finds
  the same work due;
- the queries of a tick with the work due (committed, as in production) against an idle tick's.
"""

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from devtools import bulk
from devtools.bench import Figure, interleaved, load
from devtools.management.commands.measure_tick import load_practice, practice_is_empty
from measures import services

SECONDS_GOAL = 2.0
# The statements a tick with work due sends beyond an idle one: the escalation's two inserts (its
# messages and its audit events), made only once an alert has been claimed. Everything else is
# sent whether or not anything is due.
ONLY_WHEN_DUE = 2


class _RolledBack(Exception):
    pass


def _rolled_back(action):
    """Run `action()` in a transaction that is then rolled back; returns its result. The deferred
    foreign-key checks of the rows it wrote run first, as its commit would run them."""
    result = None
    try:
        with transaction.atomic():
            result = action()
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            raise _RolledBack
    except _RolledBack:
        pass
    return result


def run(*, courses: int) -> list[Figure]:
    if not practice_is_empty():
        raise RuntimeError("The tick benchmark loads its own practice: run it on an empty database.")
    now = timezone.now()
    loaded = bulk.measured(lambda: load_practice(courses, now=now))[2]
    bulk.analyze()  # as autovacuum would after a load this size

    # The tick's statements, as the database received them (parameters in place).
    with CaptureQueriesContext(connection) as captured:
        done = _rolled_back(lambda: services.tick(now=now))
    statements = [q["sql"] for q in captured.captured_queries]

    def product():
        _rolled_back(lambda: services.tick(now=now))

    def floor():
        def send():
            with connection.cursor() as wrapper:
                cursor = wrapper.cursor  # the driver's own cursor: no Django in the way
                for sql in statements:
                    cursor.execute(sql)
                    if cursor.description is not None:
                        cursor.fetchall()

        _rolled_back(send)

    tick_s, floor_s = interleaved(product, floor, rounds=5)

    _, due_queries, committed_s = bulk.measured(lambda: services.tick(now=now))  # committed: the work is done
    _, idle_queries, idle_s = bulk.measured(lambda: services.tick(now=now))
    did = ", ".join(f"{k} {len(v) if k == 'to_send' else v}" for k, v in done.items())
    size = f"{courses:,} courses"
    return [
        Figure(
            goal=f"tick with work due, {size}",
            product=tick_s,
            floor=floor_s,
            unit="s",
            target="< 2 s at 100,000 active courses",
            met=tick_s < SECONDS_GOAL,
            floor_label="the tick's own SQL statements, sent raw",
            note=(
                f"{load()}; the tick did: {did}; the same tick committed once {committed_s:.3f} s; "
                f"idle tick {idle_s:.3f} s; loaded in {loaded:.0f} s"
            ),
        ),
        Figure(
            goal=f"tick queries with work due vs idle, {size}",
            product=due_queries,
            floor=idle_queries,
            unit="queries",
            target="independent of the work due",
            met=due_queries - idle_queries <= ONLY_WHEN_DUE,
            floor_label="an idle tick's queries",
            note=(
                f"the only statements work adds are the escalation's {ONLY_WHEN_DUE} inserts; "
                "tests/measures/test_tick_scale.py pins the count equal at 3 and 30 courses due"
            ),
        ),
    ]
