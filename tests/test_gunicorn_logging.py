"""The production web server's access log never carries a patient's self-report link token."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "eyJhIjoxfQ.SYNTHETIC-TOKEN-must-not-be-logged"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, request_id: str = "") -> int | None:
    headers = {"X-Request-ID": request_id} if request_id else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except urllib.error.URLError:
        return None  # not listening yet


def test_gunicorn_with_the_project_config_logs_link_requests_without_the_token(tmp_path):
    port = _free_port()
    log = tmp_path / "gunicorn.log"
    # An empty database is enough: the access log line is written whatever the page answers.
    env = {**os.environ, "DEBUG": "1", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    command = [
        sys.executable, "-m", "gunicorn", "-c", "python:kapclinic.gunicorn_conf",
        "kapclinic.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1",
    ]  # fmt: skip
    with log.open("wb") as out:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while _get(f"http://127.0.0.1:{port}/healthz") != 200:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            _get(f"http://127.0.0.1:{port}/r/{TOKEN}/", request_id="synthetic-request-42")
            _get(f"http://127.0.0.1:{port}/api/self-report/{TOKEN}/")
            time.sleep(0.5)
        finally:
            server.terminate()
            server.wait(timeout=10)
    text = log.read_text()
    assert '"GET /r/[link]/ HTTP/1.1"' in text and '"GET /api/self-report/[link]/ HTTP/1.1"' in text, text
    assert "SYNTHETIC-TOKEN" not in text
    # The access line carries the request id the app's own lines carry (X-Request-ID).
    tagged = [line for line in text.splitlines() if "synthetic-request-42" in line]
    assert any('"GET /r/[link]/ HTTP/1.1"' in line for line in tagged), text
