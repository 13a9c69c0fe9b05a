"""Issue 15 goal 3: the API's lists against a yardstick view, at 20 concurrent clients, under
gunicorn as the README deploys it.

The product side is GET /api/patients/, GET /api/courses/ (first page, 50 rows) and one course's
timeline, as a therapist whose caseload holds half the practice; and GET /api/reports/outcomes/ as
a practice lead, answered from the report count kept for it (counted here first, since the
benchmark's server has no worker), which shows that the endpoint does not hold a web worker.
The yardstick is the least an authenticated API read can do: the same authentication (an API
token) and permission, one indexed query and one audit row (devtools/bench/urls.py). The goal: each
list serves at least 0.70× the yardstick's requests per second.

The server is the production one: gunicorn with `-c python:kapclinic.gunicorn_conf`, `--workers 4`
(sync workers), DEBUG off, the settings' production defaults (persistent connections with their
health check) unless the environment overrides them, e.g. DB_CONN_MAX_AGE=0 to measure a new
connection per request. Only the WSGI module differs (devtools.bench.wsgi), to add the yardstick's
URL. The load generator is 20 threads with one keep-alive HTTP connection each (gunicorn's sync
workers close it after each answer, as they would behind a proxy) in this process; it shares the
machine's cores with gunicorn and PostgreSQL, and both sides are driven by the same generator,
alternately, for the same time, so the ratio is the figure to read.

Run on a database holding a large practice (10,000 courses: `manage.py measure_report --courses
10000` loads one, or devtools.management.commands.measure_report.load_synthetic):

    DATABASE_URL=postgres://…/kapclinic_bench .venv/bin/python -m devtools.bench.api [--seconds 8] [--rounds 3]
"""

import argparse
import dataclasses
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from devtools.bench import Figure, count_as_a_worker, load

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 20
WORKERS = 4  # as the README's production example starts gunicorn
GOAL = 0.70
YARDSTICK_LABEL = "authenticated DRF view: one indexed query and the same audit row"


def _prepare_outcomes() -> str:
    """A token for a practice lead, and the practice report counted and kept for the page and the
    API (here, as a worker would count it: the task runs in this process), so that the server,
    which has no worker, answers from the count."""
    from accounts.models import Role, User
    from accounts.tokens import token_issue

    lead = User.objects.filter(role=Role.PRACTICE_LEAD, is_active=True).order_by("pk").first()
    if lead is None:
        raise SystemExit("bench api: no practice lead in this database")
    _, key = token_issue(user=lead)
    count_as_a_worker()
    return key


def _prepare() -> tuple[str, str, str]:
    """A token for the therapist with the largest caseload, and a course of theirs with the most doses.

    Returns (token key, course id, username). The token is issued like any other (and audited)."""
    from django.db.models import Count

    from accounts.models import Role, User
    from accounts.tokens import token_issue
    from courses.models import Course

    therapist = (
        User.objects.filter(role=Role.THERAPIST, is_active=True)
        .annotate(n=Count("therapist_courses"))
        .order_by("-n", "pk")
        .first()
    )
    if therapist is None:
        raise SystemExit("bench api: no therapist in this database; load a practice first (measure_report)")
    course = (
        Course.objects.filter(therapists=therapist, voided_at__isnull=True)
        .annotate(n=Count("doses"))
        .order_by("-n", "pk")
        .first()
    )
    _, key = token_issue(user=therapist)
    return key, str(course.pk), therapist.username


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _gunicorn(env_overrides: dict[str, str]):
    """gunicorn as the README runs it, on a free port, with DEBUG off; yields its base URL."""
    from django.conf import settings

    port = _free_port()
    var = Path(tempfile.mkdtemp(prefix="bench-api-"))
    env = {
        **os.environ,
        "DEBUG": "0",
        "TESTING": "0",
        # This process's key: the outcome report's kept count (counted here first) is keyed on it,
        # as on the code, so a server with another key would find none and answer 202.
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        # Plain HTTP on loopback: behind the TLS proxy in production.
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false",
        "SECURE_HSTS_SECONDS": "0",
        "KAPCLINIC_VAR_DIR": str(var),
        **env_overrides,
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "python:kapclinic.gunicorn_conf",
        "devtools.bench.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(WORKERS),
    ]
    log = open(var / "server.log", "wb")  # noqa: SIM115 (closed below, after the server)
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603 (our own command line)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/livez")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"bench api: gunicorn did not start; see {var / 'server.log'}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def drive(base_url: str, path: str, token: str, *, seconds: float, clients: int = CLIENTS) -> tuple[float, int]:
    """`clients` threads, each sending GET `path` back to back for `seconds`.

    Returns (answers with status 200 per second, answers with any other status or none)."""
    url = urlsplit(base_url)
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    ok = [0] * clients
    bad = [0] * clients
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(i: int) -> None:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        start.wait()
        while time.monotonic() < stop_at[0]:
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                bad[i] += 1
                continue
            if response.status == 200:
                ok[i] += 1
            else:
                bad[i] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    began = time.monotonic()
    stop_at[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    return sum(ok) / elapsed, sum(bad)


def measure(
    base_url: str,
    token: str,
    course_id: str,
    *,
    seconds: float,
    rounds: int,
    clients: int = CLIENTS,
    lead_token: str | None = None,
) -> tuple[dict[str, float], int]:
    """Median requests/s of each target over `rounds`, the targets taken in turn within each round.
    With `lead_token`, the outcome report's endpoint too (a practice lead's)."""
    targets = {
        "patients": ("/api/patients/", token),
        "courses": ("/api/courses/", token),
        "timeline": (f"/api/courses/{course_id}/timeline/", token),
        "yardstick": (f"/bench/yardstick/{course_id}/", token),
    }
    if lead_token:
        targets["outcomes"] = ("/api/reports/outcomes/", lead_token)
    # Warm up: every worker imports its views and opens its connection before the timing.
    for path, key in targets.values():
        drive(base_url, path, key, seconds=1.0, clients=clients)
    rates: dict[str, list[float]] = {name: [] for name in targets}
    errors = 0
    for _ in range(rounds):
        for name, (path, key) in targets.items():
            rate, bad = drive(base_url, path, key, seconds=seconds, clients=clients)
            rates[name].append(rate)
            errors += bad
    return {name: statistics.median(values) for name, values in rates.items()}, errors


def figures(rates: dict[str, float], *, errors: int, label: str, courses: int) -> list[Figure]:
    names = {
        "patients": "GET /api/patients/",
        "courses": "GET /api/courses/",
        "timeline": "GET /api/courses/<id>/timeline/",
    }
    if "outcomes" in rates:
        names["outcomes"] = "GET /api/reports/outcomes/ (a lead; the kept count)"
    yardstick = rates["yardstick"]
    out = []
    for name, title in names.items():
        ratio = rates[name] / yardstick if yardstick else 0.0
        out.append(
            Figure(
                goal=f"{title}, {CLIENTS} clients, {courses:,} courses ({label})",
                product=rates[name],
                floor=yardstick,
                unit="req/s",
                target=f"≥ {GOAL:.2f}× yardstick",
                met=ratio >= GOAL,
                floor_label=YARDSTICK_LABEL,
                note=f"{load()}; {errors} non-200 answers; load generator in the same machine",
            )
        )
    return out


def run(
    *,
    base_url: str | None = None,
    token: str | None = None,
    course_id: str | None = None,
    seconds: float = 8.0,
    rounds: int = 3,
    env: dict[str, str] | None = None,
    label: str = "production settings",
) -> list[Figure]:
    """Measure against `base_url` (a server already started with devtools.bench.urls, given a token
    and a course), or start gunicorn on this process's database with `env` added to its environment."""
    from courses.models import Course

    courses = Course.objects.count()
    lead_token = None
    if token is None or course_id is None:
        token, course_id, _ = _prepare()
        lead_token = _prepare_outcomes()
    if base_url is not None:
        rates, errors = measure(base_url, token, course_id, seconds=seconds, rounds=rounds, lead_token=lead_token)
    else:
        with _gunicorn(env or {}) as url:
            rates, errors = measure(url, token, course_id, seconds=seconds, rounds=rounds, lead_token=lead_token)
    return figures(rates, errors=errors, label=label, courses=courses)


def show(figs: list[Figure]) -> None:
    for f in figs:
        verdict = "met" if f.met else "NOT met"
        print(
            f"{f.goal}: {f.product:.1f} {f.unit} vs yardstick {f.floor:.1f} {f.unit} = {f.ratio:.2f}× "
            f"(target {f.target}: {verdict}); {f.note}"
        )


def _print_json(figs: list[Figure]) -> None:
    for f in figs:
        print("FIGURE " + json.dumps(dataclasses.asdict(f)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each timed run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each target, alternating")
    parser.add_argument("--base-url", help="a server already serving devtools.bench.urls")
    parser.add_argument("--token")
    parser.add_argument("--course")
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="added to gunicorn's environment"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON lines (for make bench)")
    args = parser.parse_args()
    env = dict(item.split("=", 1) for item in args.env)
    label = ", ".join(args.env) or "production settings"
    (_print_json if args.json else show)(
        run(
            base_url=args.base_url,
            token=args.token,
            course_id=args.course,
            seconds=args.seconds,
            rounds=args.rounds,
            env=env,
            label=label,
        )
    )


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kapclinic.settings")
    import django

    django.setup()
    main()
