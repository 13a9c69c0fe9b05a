"""The database connection settings (docs/operations.md, "Database connections"): kept open with a
health check in production, one per request in debug mode, each overridable. Each case in a fresh
interpreter, since settings are read once at start-up."""

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.db import close_old_connections, connection

ROOT = Path(__file__).resolve().parent.parent
SHOW = (
    "import json, django; from django.conf import settings; django.setup(); "
    "d = settings.DATABASES['default']; "
    "print(json.dumps({'max_age': d['CONN_MAX_AGE'], 'health_checks': d['CONN_HEALTH_CHECKS'], "
    "'no_server_cursors': d.get('DISABLE_SERVER_SIDE_CURSORS', False)}))"
)
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k" * 20 + "-production-like-key-for-tests-0123456789",
    "ALLOWED_HOSTS": "kapclinic.example.invalid",
    "DATABASE_URL": "postgres://kapclinic@db.internal:5432/kapclinic",
}


def shown(tmp_path, **env) -> dict:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("DB_") and k not in {"DEBUG", "SECRET_KEY"}}
    keep.update(DJANGO_SETTINGS_MODULE="kapclinic.settings", KAPCLINIC_VAR_DIR=str(tmp_path / "var"), **env)
    result = subprocess.run(
        [sys.executable, "-c", SHOW], cwd=ROOT, env=keep, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_keeps_connections_with_a_health_check(tmp_path):
    assert shown(tmp_path, **PRODUCTION) == {"max_age": 60, "health_checks": True, "no_server_cursors": False}


def test_debug_mode_opens_one_per_request(tmp_path):
    assert shown(tmp_path, **{**PRODUCTION, "DEBUG": "1"})["max_age"] == 0


def test_each_is_overridable(tmp_path):
    env = {**PRODUCTION, "DB_CONN_MAX_AGE": "0", "DB_CONN_HEALTH_CHECKS": "0", "DB_DISABLE_SERVER_SIDE_CURSORS": "1"}
    assert shown(tmp_path, **env) == {"max_age": 0, "health_checks": False, "no_server_cursors": True}


@pytest.mark.django_db(transaction=True)
def test_a_dropped_kept_connection_is_replaced_before_a_request_uses_it(postgresql):
    """What the health check is for: the server ends a kept connection (a restart, a proxy's idle
    timeout) between two requests; the next request gets a new connection instead of an error.
    (Django's test client skips the start-of-request hook, so it is called here as gunicorn's
    requests call it.)"""
    connection.close()
    connection.settings_dict["CONN_MAX_AGE"] = 60
    connection.settings_dict["CONN_HEALTH_CHECKS"] = True
    try:
        connection.ensure_connection()
        old_pid = connection.connection.info.backend_pid
        with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [old_pid])

        close_old_connections()  # the start of the next request: the kept connection is not too old
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            new_pid = cursor.fetchone()[0]
        assert new_pid != old_pid
    finally:
        connection.close()
        connection.settings_dict["CONN_MAX_AGE"] = 0
        connection.settings_dict["CONN_HEALTH_CHECKS"] = False
