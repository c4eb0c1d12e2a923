"""Production settings: hard failures without secrets, zero warnings from check --deploy."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROD_ENV = {
    "DJANGO_SETTINGS_MODULE": "stocking.settings.production",
    "SECRET_KEY": "test-only-9f8e7d6c5b4a3928170fedcba9876543210abcdefghij",
    "ALLOWED_HOSTS": "stocking.example",
    "DATABASE_URL": "sqlite:////tmp/stocking-check.sqlite3",
    "PORTONE_STORE_ID": "store-00000000-0000-0000-0000-000000000000",
    "PORTONE_CHANNEL_KEY": "channel-key-00000000-0000-0000-0000-000000000000",
    "PORTONE_V2_API_SECRET": "test-only-portone-api-secret",
    "PORTONE_WEBHOOK_SECRET": "whsec_dGVzdC1vbmx5LXdlYmhvb2stc2VjcmV0LTMyYnl0ZXM=",
}


def run_manage(*args, env_overrides: dict, drop: tuple = ()) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("PYTEST")}
    env.update(env_overrides)
    for key in drop:
        env.pop(key, None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_has_zero_warnings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env_overrides=PROD_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_secret_key():
    result = run_manage("check", env_overrides=PROD_ENV, drop=("SECRET_KEY",))
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = run_manage("check", env_overrides=PROD_ENV, drop=("ALLOWED_HOSTS",))
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_production_refuses_an_insecure_secret_key():
    result = run_manage("check", env_overrides={**PROD_ENV, "SECRET_KEY": "django-insecure-short"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
