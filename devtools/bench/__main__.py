"""`make bench`: build the synthetic practices and print every goal of issue 15 in one run.

    python -m devtools.bench [--sizes 10000,100000] [--only report,pdf,api,tick] [--server postgres://…]

For each size it keeps a database `kapclinic_bench_<size>` holding that practice (made by the
measure_report loader with COPY on first use, reused after; `--fresh` loads again) and an empty one
for the tick's own practice (`kapclinic_bench_tick_<size>`, loaded every run). Each benchmark runs in
its own process with DATABASE_URL pointing at its database and prints its figures as JSON; this
process gathers them into one table: product, floor or yardstick, ratio, goal, met, machine load.
"""

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from devtools.bench import Figure, load

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
WHAT = ("report", "pdf", "api", "tick")


def _psql(server: str, sql: str) -> str:
    out = subprocess.run(
        [
            PY,
            "-c",
            "import sys, psycopg; c = psycopg.connect(sys.argv[1], autocommit=True); "
            "r = c.execute(sys.argv[2]); print(r.fetchone()[0] if r.description else '')",
            f"{server}/postgres",
            sql,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def _env(url: str) -> dict:
    return {**os.environ, "DATABASE_URL": url, "DEBUG": "1", "PYTHONPATH": str(ROOT)}


def _manage(url: str, *args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=_env(url), check=True)


def _database(server: str, name: str, *, fresh: bool) -> tuple[str, bool]:
    """The database `name`, created and migrated if missing (or if `fresh`); says whether it is new."""
    exists = _psql(server, f"SELECT count(*) FROM pg_database WHERE datname = '{name}'") == "1"
    if exists and fresh:
        _psql(server, f"DROP DATABASE {name}")
        exists = False
    if not exists:
        _psql(server, f"CREATE DATABASE {name}")
    url = f"{server}/{name}"
    _manage(url, "migrate", "--noinput", "-v", "0")
    return url, not exists


def practice(server: str, size: int, *, fresh: bool) -> str:
    url, new = _database(server, f"kapclinic_bench_{size}", fresh=fresh)
    if new:
        started = time.perf_counter()
        _manage(url, "measure_report", "--courses", str(size), "--load-only")
        print(f"# loaded {size:,} courses in {time.perf_counter() - started:.0f} s ({load()})", flush=True)
    return url


ONE = {
    # Each runs inside Django in a child process and prints its figures as JSON lines.
    "report": "from devtools.bench import report; figures = report.run()",
    "pdf": "from devtools.bench import pdf; figures = pdf.run_end_to_end()",
    "tick": "from devtools.bench import tick; figures = tick.run(courses={size})",
}


def _child(url: str, code: str) -> list[Figure]:
    script = (
        "import django, json, dataclasses; django.setup(); "
        + code
        + "; print('\\n'.join('FIGURE ' + json.dumps(dataclasses.asdict(f)) for f in figures))"
    )
    env = _env(url) | {"DJANGO_SETTINGS_MODULE": "kapclinic.settings"}
    out = subprocess.run([PY, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode:
        print(out.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"benchmark failed: {code}")
    return [Figure(**json.loads(line[7:])) for line in out.stdout.splitlines() if line.startswith("FIGURE ")]


def _api(url: str) -> list[Figure]:
    out = subprocess.run(
        [PY, "-m", "devtools.bench.api", "--json"], cwd=ROOT, env=_env(url), capture_output=True, text=True
    )
    if out.returncode:
        print(out.stderr[-3000:], file=sys.stderr)
        raise SystemExit("benchmark failed: api")
    return [Figure(**json.loads(line[7:])) for line in out.stdout.splitlines() if line.startswith("FIGURE ")]


def show(figures: list[Figure]) -> None:
    print(f"{'goal':<58} {'product':>10} {'floor':>10} {'ratio':>7}  {'target':<30} met")
    for f in figures:
        floor = "—" if f.floor is None else f"{f.floor:.3f}"
        ratio = "—" if f.ratio is None else f"{f.ratio:.2f}"
        met = "n/a" if f.met is None else "yes" if f.met else "NO"
        print(f"{f.goal:<58} {f.product:>8.3f} {f.unit:<1} {floor:>10} {ratio:>7}  {f.target:<30} {met}")
        if f.floor_label:
            print(f"{'':<4}floor: {f.floor_label}")
        if f.note:
            print(f"{'':<4}{f.note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--only", default=",".join(WHAT))
    parser.add_argument("--server", default=os.environ.get("BENCH_SERVER", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--fresh", action="store_true", help="load the practices again")
    args = parser.parse_args()
    only = [w for w in args.only.split(",") if w]
    figures: list[Figure] = []
    print(f"# kapclinic benchmarks, {time.strftime('%Y-%m-%d %H:%M')}; {load()}", flush=True)
    for size in (int(s) for s in args.sizes.split(",")):
        url = practice(args.server, size, fresh=args.fresh)
        for what in only:
            print(f"# {what} at {size:,} courses… ({load()})", flush=True)
            if what == "api":
                if size > 10_000:
                    continue  # the goal is stated at the 10,000-course practice
                found = _api(url)
            elif what == "tick":
                tick_url, _new = _database(args.server, f"kapclinic_bench_tick_{size}", fresh=True)
                found = _child(tick_url, ONE["tick"].format(size=size))
            else:
                found = _child(url, ONE[what])
            # Each figure carries the load it was measured under (the benchmarks add it; else here).
            figures += [
                f if "load " in f.note else dataclasses.replace(f, note=(f.note + "; " if f.note else "") + load())
                for f in found
            ]
            show(found)
    print()
    print(f"# all figures; {load()}")
    show(figures)


if __name__ == "__main__":
    main()
