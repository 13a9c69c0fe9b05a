"""kapclinic/settings.py read from the environment: each case in a fresh interpreter."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHOW = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'], "
    "'db_name': str(settings.DATABASES['default']['NAME']), 'broker': settings.CELERY_BROKER_URL, "
    "'debug': settings.DEBUG, 'ssl_redirect': settings.SECURE_SSL_REDIRECT, "
    "'hosts': settings.ALLOWED_HOSTS}))"
)
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k" * 20 + "-production-like-key-for-tests-0123456789",
    "ALLOWED_HOSTS": "kapclinic.example.invalid",
}


def _run(code: str, tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DEBUG", "SECRET_KEY", "TESTING", "ALLOWED_HOSTS"}
    }
    clean.update(DJANGO_SETTINGS_MODULE="kapclinic.settings", KAPCLINIC_VAR_DIR=str(tmp_path / "var"), **env)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


def _settings(tmp_path, **env) -> dict:
    result = _run(SHOW, tmp_path, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_it_defaults_to_sqlite_in_var_and_the_filesystem_broker(tmp_path):
    shown = _settings(tmp_path, DEBUG="1")

    assert shown["engine"] == "django.db.backends.sqlite3"
    assert shown["db_name"] == str(tmp_path / "var" / "kapclinic.sqlite3")
    assert shown["broker"] == "filesystem://"
    assert (tmp_path / "var" / "broker" / "out").is_dir()


def test_database_url_switches_to_postgresql(tmp_path):
    shown = _settings(tmp_path, DEBUG="1", DATABASE_URL="postgres://postgres@127.0.0.1:5432/kapclinic")

    assert shown["engine"] == "django.db.backends.postgresql"
    assert shown["db_name"] == "kapclinic"


def test_redis_url_sets_the_broker_and_celery_broker_url_wins(tmp_path):
    assert _settings(tmp_path, DEBUG="1", REDIS_URL="redis://127.0.0.1:6379/0")["broker"] == "redis://127.0.0.1:6379/0"
    shown = _settings(
        tmp_path, DEBUG="1", REDIS_URL="redis://127.0.0.1:6379/0", CELERY_BROKER_URL="redis://broker.internal:6379/2"
    )
    assert shown["broker"] == "redis://broker.internal:6379/2"


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off(tmp_path):
    result = _run(SHOW, tmp_path, DEBUG="0")

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_debug_is_off_and_https_enforced_unless_asked(tmp_path):
    shown = _settings(tmp_path, **PRODUCTION)

    assert shown["debug"] is False
    assert shown["ssl_redirect"] is True
    assert shown["hosts"] == ["kapclinic.example.invalid"]


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    code = (
        "import sys; from django.core.management import execute_from_command_line; "
        "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])"
    )
    result = _run(code, tmp_path, **PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
