"""JSON logs with a request id, and no self-report link token in any server's log: the
development server's request log (runserver, `make run`) included."""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.test import RequestFactory

from kapclinic import logs
from tests.faults.support import free_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "eyJhIjoxfQ.SYNTHETIC-TOKEN-must-not-be-logged"


def _get(url: str, headers: dict | None = None):
    """(status, headers) or None while the server is not listening yet."""
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers
    except urllib.error.URLError:
        return None


def _serve(argv: list[str], env: dict, port: int, log: Path, requests) -> str:
    """Start a server, wait for /livez, make the requests, stop it; return its whole log."""
    with log.open("wb") as out:
        server = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            deadline = time.monotonic() + 30
            while _get(f"http://127.0.0.1:{port}/livez") is None:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            requests()
            time.sleep(0.5)
        finally:
            server.terminate()
            server.wait(timeout=10)
    return log.read_text()


def _env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    env.update(KAPCLINIC_VAR_DIR=str(tmp_path / "var"), DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", **extra)
    return env


def test_the_development_server_log_has_no_link_token(tmp_path):
    """`manage.py runserver` (what `make run` and bin/run-all start) with DEBUG on, plain logs."""
    port = free_port()
    env = _env(tmp_path, DEBUG="1", LOG_FORMAT="plain", LOG_LEVEL="INFO")
    argv = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]

    def requests():
        _get(f"http://127.0.0.1:{port}/r/{TOKEN}/")
        _get(f"http://127.0.0.1:{port}/api/self-report/{TOKEN}/")
        _get(f"http://127.0.0.1:{port}/r/{TOKEN}/?page=2")

    text = _serve(argv, env, port, tmp_path / "runserver.log", requests)

    assert '"GET /r/[link]/ HTTP/1.1"' in text, text
    assert '"GET /api/self-report/[link]/ HTTP/1.1"' in text, text
    assert "SYNTHETIC-TOKEN" not in text


def test_production_logs_are_json_lines_carrying_the_request_id(tmp_path):
    """gunicorn with DEBUG off (LOG_FORMAT defaults to json) and a broker that is down, so /readyz logs."""
    port = free_port()
    env = _env(
        tmp_path,
        DEBUG="0",
        TESTING="1",
        SECRET_KEY="logs-test-" + "x" * 50,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        CELERY_BROKER_URL="redis://127.0.0.1:1/0",
        LOG_LEVEL="INFO",
    )
    env.pop("LOG_FORMAT", None)
    argv = [sys.executable, "-m", "gunicorn", "kapclinic.wsgi:application", "--bind", f"127.0.0.1:{port}", "-w", "1"]
    answers = {}

    def requests():
        answers["given"] = _get(f"http://127.0.0.1:{port}/readyz", {"X-Request-ID": "lb-probe-0001"})
        answers["unsafe"] = _get(f"http://127.0.0.1:{port}/readyz", {"X-Request-ID": 'x" "level": "CRITICAL'})
        answers["none"] = _get(f"http://127.0.0.1:{port}/r/{TOKEN}/")

    text = _serve(argv, env, port, tmp_path / "gunicorn.log", requests)

    assert answers["given"][0] == 503
    assert answers["given"][1]["X-Request-ID"] == "lb-probe-0001"
    made = answers["unsafe"][1]["X-Request-ID"]
    assert made != 'x" "level": "CRITICAL' and logs.SAFE_ID.fullmatch(made) and len(made) == 32
    assert logs.SAFE_ID.fullmatch(answers["none"][1]["X-Request-ID"])
    # gunicorn's own start-up lines are not Django's; every line from the application is JSON.
    app_lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    probe = [line for line in app_lines if line["request_id"] == "lb-probe-0001"]
    assert {line["logger"] for line in probe} >= {"kapclinic.health"}, text
    assert any(line["message"] == "readyz: not ready: failing=broker" for line in probe)
    assert all(
        set(line) <= {"time", "level", "logger", "message", "request_id", "status_code", "exc_info"}
        for line in app_lines
    )
    assert any(line["request_id"] == made for line in app_lines)
    assert "SYNTHETIC-TOKEN" not in text


def test_a_safe_incoming_id_is_kept_and_anything_else_replaced():
    assert logs.request_id_from("3f2b9c1e-aaaa-4bbb-8ccc-0123456789ab") == "3f2b9c1e-aaaa-4bbb-8ccc-0123456789ab"
    for unsafe in ("", "a b", "x\ny", "é", "-leading-dash", "a" * 65, '"quoted"'):
        made = logs.request_id_from(unsafe)
        assert made != unsafe and len(made) == 32


@pytest.mark.django_db
def test_the_middleware_sets_the_id_for_the_request_and_returns_it(client):
    response = client.get("/livez", headers={"X-Request-ID": "trace-42"})

    assert response["X-Request-ID"] == "trace-42"
    assert logs.current_request_id() == logs.NO_REQUEST  # reset once the request is done


def test_the_json_formatter_writes_only_its_keys_and_redacts_tokens():
    import logging

    request = RequestFactory().get(f"/r/{TOKEN}/")
    record = logging.LogRecord(
        "django.request", logging.ERROR, __file__, 1, "Internal Server Error: %s", (request.path,), None
    )
    record.request = request  # Django's request logger attaches it; its repr holds the URL
    record.status_code = 500
    logs.RequestIdFilter().filter(record)

    line = json.loads(logs.JsonFormatter().format(record))

    assert set(line) == {"time", "level", "logger", "message", "request_id", "status_code"}
    assert line["message"] == "Internal Server Error: /r/[link]/"
    assert TOKEN not in json.dumps(line)
