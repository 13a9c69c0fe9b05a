"""Real services for the fault tests: a private Redis, a loopback SMTP server that can hold a
message before accepting it, and Celery worker processes that can be killed."""

import asyncio
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import redis
from aiosmtpd.controller import Controller
from celery import Celery
from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)
READY_TIMEOUT = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, every: float = 0.1):
    """Poll until predicate() is truthy; fail naming what we waited for."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def database_url() -> str:
    s = connection.settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class RedisServer:
    """A redis-server of our own on a free port, so killing it touches no one else's work."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    def start(self):
        argv = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(self.workdir), "--logfile", "",
        ]  # fmt: skip
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=0.5)

        def answers():
            try:
                return client.ping()
            except redis.RedisError:
                return False

        wait_for(answers, 10, f"redis-server on port {self.port}")
        client.close()

    def kill(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def pause(self):
        """SIGSTOP: the port still accepts connections (the kernel does), nothing answers."""
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_connect_timeout=2, socket_timeout=2)


class Mailbox:
    """aiosmtpd handler. A message counts once the server accepted it (the reply to DATA).

    `hold_rcpt=n` holds the n-th recipient command unanswered until `release` is set, so the
    client (a worker) is stuck mid-conversation, before anything was accepted."""

    def __init__(self, hold_rcpt: int | None = None):
        self.accepted = []
        self.rcpt_seen = 0
        self.hold_rcpt = hold_rcpt
        self.holding = threading.Event()
        self.release = threading.Event()
        # Called with each envelope just before the server replies "accepted".
        self.before_accepting = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpt_seen += 1  # the handler runs on the server's single event-loop thread
        if self.rcpt_seen == self.hold_rcpt:
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.02)  # the other sessions keep being served meanwhile
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.before_accepting is not None:
            self.before_accepting(envelope)
        self.accepted.append(envelope)
        return "250 Message accepted for delivery"

    def bodies(self) -> list[str]:
        from email import message_from_bytes
        from email.policy import default

        return [message_from_bytes(e.original_content, policy=default).get_body().get_content() for e in self.accepted]

    def subjects_by_recipient(self) -> list[tuple[str, str]]:
        from email import message_from_bytes
        from email.policy import default

        found = []
        for envelope in self.accepted:
            message = message_from_bytes(envelope.original_content, policy=default)
            subject = str(message["Subject"]).strip()  # a non-ASCII subject is folded onto its own line
            # An invitation is named by its questionnaire, "(PHQ-9)"; other mail by its subject.
            found.append((envelope.rcpt_tos[0], subject.rsplit("(", 1)[1].rstrip(")") if "(" in subject else subject))
        return sorted(found)


class SmtpServer:
    def __init__(self, mailbox: Mailbox):
        self.mailbox = mailbox
        self.port = free_port()
        self.controller: Controller | None = None

    def start(self):
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.mailbox.release.set()
            self.controller.stop()
            self.controller = None


class Worker:
    """One `celery worker` process (solo pool: the process that runs the task is the one we kill)."""

    count = 0

    def __init__(self, *, broker_url: str, smtp_port: int, tmp_path: Path, extra_env: dict | None = None):
        Worker.count += 1
        self.name = f"faults-{os.getpid()}-{Worker.count}"
        self.env = dict(
            os.environ,
            DATABASE_URL=database_url(),
            REDIS_URL=broker_url,
            CELERY_BROKER_URL=broker_url,
            DEBUG="1",
            TESTING="1",
            CELERY_TASK_ALWAYS_EAGER="false",
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(smtp_port),
            EMAIL_USE_TLS="false",
            EMAIL_HOST_USER="",
            EMAIL_HOST_PASSWORD="",
            # Long enough that a worker held by the SMTP server is still waiting when it is killed.
            EMAIL_TIMEOUT="30",
            KAPCLINIC_VAR_DIR=str(tmp_path / "var"),
            PYTHONUNBUFFERED="1",
            **(extra_env or {}),
        )
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.proc: subprocess.Popen | None = None

    # The line the process prints once it is taking work.
    ready_marker = " ready."

    def argv(self) -> list[str]:
        return [
            sys.executable, "-m", "celery", "-A", "kapclinic", "worker", "--pool=solo", "--concurrency=1",
            "-l", "info", "--without-heartbeat", "--without-gossip", "--without-mingle", "-n", f"{self.name}@%h",
        ]  # fmt: skip

    def start(self):
        self.proc = subprocess.Popen(  # noqa: S603 - fixed argv
            self.argv(), cwd=BASE_DIR, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()
        return self

    def _read(self, proc):
        for line in proc.stdout:
            self.lines.append(line.rstrip())
            if self.ready_marker in line:
                self.ready.set()

    def wait_ready(self):
        if not self.ready.wait(READY_TIMEOUT):
            raise AssertionError(f"worker {self.name} did not report ready:\n{self.log(40)}")
        return self

    def log(self, last: int = 80) -> str:
        return "\n".join(self.lines[-last:])

    def kill(self):
        """SIGKILL: no shutdown handler runs, no message is acknowledged or given back."""
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self):
        """At teardown: the broker is ours and dies with the test, so nothing is left to hand back;
        a warm (or even cold) Celery shutdown only costs seconds."""
        if self.proc is not None and self.proc.poll() is None:
            self.kill()


def send_task(broker_url: str, name: str, *args, times: int = 1):
    """Queue a task the way beat does, from a Celery app of our own (the test's is eager)."""
    # set_as_current=False: a new Celery app otherwise becomes the current one, and every
    # shared_task's .delay() in this process would go through it (not eager, to this Redis) from
    # then on — later tests in the same worker failed that way.
    sender = Celery("faults-sender", broker=broker_url, set_as_current=False)
    sender.conf.task_always_eager = False
    try:
        for _ in range(times):
            sender.send_task(name, args=args)
    finally:
        sender.close()


class Beat(Worker):
    """A `celery beat` process with the project's CELERY_BEAT_SCHEDULE (its intervals from the
    env given), sending to the test's Redis: what production runs, not the test playing beat."""

    ready_marker = "beat: Starting"

    def argv(self) -> list[str]:
        schedule = Path(self.env["KAPCLINIC_VAR_DIR"]) / f"{self.name}-schedule"
        schedule.parent.mkdir(parents=True, exist_ok=True)
        return [sys.executable, "-m", "celery", "-A", "kapclinic", "beat", "-l", "info", "-s", str(schedule)]


def started_processes(kind, redis_server, smtp, tmp_path):
    """Yield `start(**env)` for a Celery process class (Worker, Beat); stop every one at teardown."""
    started = []

    def start(**extra_env):
        process = kind(broker_url=redis_server.url, smtp_port=smtp.port, tmp_path=tmp_path, extra_env=extra_env)
        started.append(process.start())
        return process

    yield start
    for process in started:
        process.stop()


def due_courses(therapist, provider, count: int, first: int = 1):
    """PTSD courses opened now (real time: the workers do not share the test's frozen clock);
    each has three baseline questionnaires due today."""
    from courses.choices import Indication
    from devtools import builders

    opened = []
    for n in range(first, first + count):
        patient = builders.patient(
            by=therapist,
            mrn=f"FAULT-{n:04d}",
            given_name=f"Faye{n}",
            family_name="Faulttest",
            date_of_birth=dt.date(1984, 1, n),
            email=f"faye{n}.faulttest@example.invalid",
            weight_kg=None,
        )
        opened.append(builders.course(patient, by=therapist, medical_provider=provider, indication=Indication.PTSD))
    return opened
