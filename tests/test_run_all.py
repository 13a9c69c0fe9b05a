"""bin/run-all, behind `make run`: web, worker and beat start together and stop together."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The runner's children are found through /proc (Linux), by a marker in their environment.
pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _processes_with(marker: str) -> list[int]:
    """Pids whose environment holds `marker`: every process the runner started, and theirs."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes().split(b"\0"):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


class Runner:
    def __init__(self, tmp_path: Path):
        self.port = _free_port()
        self.marker = f"KAPCLINIC_VAR_DIR={tmp_path / 'var'}"
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
        env.update(DEBUG="1", KAPCLINIC_VAR_DIR=str(tmp_path / "var"))
        self.proc = subprocess.Popen(
            [sys.executable, "bin/run-all", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)

    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, *texts: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not all(t in self.output() for t in texts):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                pytest.fail(f"never saw {texts}:\n{self.output()}")
            time.sleep(0.2)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        for pid in _processes_with(self.marker):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def runner(tmp_path):
    started = Runner(tmp_path)
    yield started
    started.stop()


def test_it_starts_web_worker_and_beat_and_ctrl_c_stops_all_three(runner):
    runner.wait_for("ready.", "beat: Starting", "kapclinic is running at")
    with urllib.request.urlopen(f"http://127.0.0.1:{runner.port}/healthz", timeout=10) as response:  # noqa: S310
        assert response.status == 200
    assert len(_processes_with(runner.marker)) >= 4  # runner, web (and its reloader), worker, beat

    runner.proc.send_signal(signal.SIGINT)

    assert runner.proc.wait(timeout=30) == 0
    time.sleep(0.5)
    assert _processes_with(runner.marker) == []
    assert "web, worker and beat stopped" in runner.output()


def test_when_one_process_dies_it_stops_the_others_and_fails(runner):
    runner.wait_for("ready.", "beat: Starting")
    beat = next(p for p in _processes_with(runner.marker) if b"beat" in Path(f"/proc/{p}/cmdline").read_bytes())

    os.kill(beat, signal.SIGKILL)

    assert runner.proc.wait(timeout=30) != 0
    time.sleep(0.5)
    assert _processes_with(runner.marker) == []
    assert "beat exited with status" in runner.output()
