"""Settings: safe by default, explicit development settings, production's hard failures and check --deploy."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
PORTONE_ENV = {
    "PORTONE_STORE_ID": "store-00000000-0000-0000-0000-000000000000",
    "PORTONE_CHANNEL_KEY": "channel-key-00000000-0000-0000-0000-000000000000",
    "PORTONE_V2_API_SECRET": "test-only-portone-api-secret",
    "PORTONE_WEBHOOK_SECRET": "whsec_dGVzdC1vbmx5LXdlYmhvb2stc2VjcmV0LTMyYnl0ZXM=",
}
PROD_ENV = {
    "DJANGO_SETTINGS_MODULE": "stocking.settings.production",
    "SECRET_KEY": "test-only-9f8e7d6c5b4a3928170fedcba9876543210abcdefghij",
    "ALLOWED_HOSTS": "stocking.example",
    "DATABASE_URL": "sqlite:////tmp/stocking-check.sqlite3",
    **PORTONE_ENV,
}
# Variables a developer's shell (or this test run) may carry that would decide what the tests below check.
UNSET = ("DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DEBUG", "PAYMENTS_ENABLED", "PORTONE_TEST_MODE", *PORTONE_ENV)
LOCAL_KEY = "test-only-local-key-0123456789abcdefghijklmnopqrstuvwxyz"

# What each process type loads when DJANGO_SETTINGS_MODULE is not set (manage.py, gunicorn, daphne, celery).
PRINT_SETTINGS = "from django.conf import settings; print(settings.SETTINGS_MODULE, settings.DEBUG)"
ENTRY_POINTS = {
    "manage.py": ["manage.py", "shell", "--no-imports", "-c", PRINT_SETTINGS],
    "wsgi": ["-c", f"import stocking.wsgi; {PRINT_SETTINGS}"],
    "asgi": ["-c", f"import stocking.asgi; {PRINT_SETTINGS}"],
    "celery": ["-c", f"import stocking.celery; {PRINT_SETTINGS}"],
}


def run_python(*args, env_overrides: dict, drop: tuple = ()) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in UNSET and k not in drop and not k.startswith("PYTEST")}
    env.update(env_overrides)
    for key in drop:
        env.pop(key, None)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def run_manage(*args, env_overrides: dict, drop: tuple = ()) -> subprocess.CompletedProcess:
    return run_python("manage.py", *args, env_overrides=env_overrides, drop=drop)


# --- safe by default ---------------------------------------------------------------------------------


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_the_default_settings_have_debug_off(entry_point):
    result = run_python(*ENTRY_POINTS[entry_point], env_overrides={"SECRET_KEY": LOCAL_KEY})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["stocking.settings.base", "False"]


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
@pytest.mark.parametrize("secret_key", [None, ""])
def test_the_default_settings_refuse_to_start_without_secret_key(entry_point, secret_key):
    overrides = {} if secret_key is None else {"SECRET_KEY": secret_key}
    result = run_python(*ENTRY_POINTS[entry_point], env_overrides=overrides)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "Set the SECRET_KEY environment variable" in result.stderr
    assert "stocking.settings.development" in result.stderr  # and how to work locally instead


def test_development_settings_turn_debug_on_with_a_development_key():
    env = {"DJANGO_SETTINGS_MODULE": "stocking.settings.development"}
    result = run_python("-c", f"{PRINT_SETTINGS}; print(settings.SECRET_KEY[:15], settings.PORTONE_TEST_MODE)",
                        env_overrides=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["stocking.settings.development", "True", "django-insecure", "True"]


def test_development_settings_follow_an_explicit_debug_false():
    env = {"DJANGO_SETTINGS_MODULE": "stocking.settings.development", "DEBUG": "false"}
    result = run_python("-c", f"import os; {PRINT_SETTINGS}; print('DEBUG' in os.environ)", env_overrides=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["stocking.settings.development", "False", "True"]


def test_development_defaults_do_not_leak_into_the_environment():
    # Tests and the demo start subprocesses from this environment: they must choose their own settings.
    env = {"DJANGO_SETTINGS_MODULE": "stocking.settings.development"}
    code = f"import os; {PRINT_SETTINGS}; print(os.environ.get('DEBUG'), os.environ.get('SECRET_KEY'))"
    result = run_python("-c", code, env_overrides=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["stocking.settings.development", "True", "None", "None"]


def test_a_local_debug_false_run_over_plain_http_works():
    code = (
        "import django; django.setup(); from django.test import Client; "
        "r = Client().get('/api/v1/auth/me'); print(r.status_code, r.headers.get('Location'))"
    )
    result = run_python("-c", code, env_overrides={"SECRET_KEY": LOCAL_KEY, "DEBUG": "false",
                                                   "DJANGO_SETTINGS_MODULE": "stocking.settings.base"})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["401", "None"]  # answered over HTTP, not redirected to https://


def test_atomic_requests_is_left_to_the_database_setting():
    # Django reads ATOMIC_REQUESTS per database; a top-level setting of that name only misleads.
    assert not hasattr(settings, "ATOMIC_REQUESTS")
    assert settings.DATABASES["default"]["ATOMIC_REQUESTS"] is False


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        ("Makefile", "DJANGO_SETTINGS_MODULE=stocking.settings.development $(PY) manage.py demo"),
        ("bench/run.py", '"DJANGO_SETTINGS_MODULE": "stocking.settings.development"'),
        ("bench/throwaway.py", 'DJANGO_SETTINGS_MODULE="stocking.settings.development"'),
        ("bench/relay_ingest.py", '"DJANGO_SETTINGS_MODULE", "stocking.settings.development"'),
        ("bench/ws_fanout.py", '"DJANGO_SETTINGS_MODULE": "stocking.settings.development"'),
        ("bench/ws_fanout.py", "from stocking.settings.development import *"),
    ],
)
def test_local_launchers_select_the_development_settings(path, needle):
    # Without it they would load the safe default (DEBUG off, SECRET_KEY required) and fail to start.
    assert needle in (ROOT / path).read_text()


# --- production ----------------------------------------------------------------------------------------


def test_check_deploy_has_zero_warnings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env_overrides=PROD_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_has_zero_warnings_with_payments_disabled():
    env = {k: v for k, v in PROD_ENV.items() if k not in PORTONE_ENV}
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", env_overrides={**env, "PAYMENTS_ENABLED": "false"}
    )
    assert result.returncode == 0, result.stdout + result.stderr


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


# --- production payments: the four PortOne keys, or PAYMENTS_ENABLED=false said out loud -----------------

PRINT_PAYMENTS = "import importlib, sys; s = importlib.import_module(sys.argv[1]); print(s.PAYMENTS_ENABLED)"


def import_production(env: dict, drop=()) -> subprocess.CompletedProcess:
    return run_python("-c", PRINT_PAYMENTS, "stocking.settings.production", env_overrides=env, drop=drop)


def test_production_without_portone_keys_names_both_ways_out():
    result = import_production(PROD_ENV, drop=tuple(PORTONE_ENV))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "PAYMENTS_ENABLED=false" in result.stderr
    assert all(name in result.stderr for name in PORTONE_ENV)


def test_production_with_one_key_missing_names_it_and_the_way_out():
    result = import_production(PROD_ENV, drop=("PORTONE_WEBHOOK_SECRET",))
    assert result.returncode != 0
    assert "PORTONE_WEBHOOK_SECRET" in result.stderr
    assert "PAYMENTS_ENABLED=false" in result.stderr
    assert PORTONE_ENV["PORTONE_V2_API_SECRET"] not in result.stderr  # names, never values


def test_production_payments_enabled_true_still_needs_the_keys():
    result = import_production({**PROD_ENV, "PAYMENTS_ENABLED": "true"}, drop=tuple(PORTONE_ENV))
    assert result.returncode != 0
    assert "PORTONE_STORE_ID" in result.stderr


def test_production_runs_without_payments_when_told_so():
    result = import_production({**PROD_ENV, "PAYMENTS_ENABLED": "false"}, drop=tuple(PORTONE_ENV))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_production_with_the_keys_has_payments_on():
    result = import_production(PROD_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


# --- documentation -------------------------------------------------------------------------------------


def settings_variables() -> set[str]:
    source = "\n".join(path.read_text() for path in (ROOT / "stocking" / "settings").glob("*.py"))
    return set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"', source))


def test_every_variable_the_settings_read_is_in_env_example_and_the_readme():
    names = settings_variables()
    assert {"SECRET_KEY", "PAYMENTS_ENABLED", "PORTONE_V2_API_SECRET"} <= names  # the scan finds them
    env_example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    configuration = readme[readme.index("## Configuration") :].split("\n## ", 1)[0]
    assert sorted(name for name in names if not re.search(rf"\b{name}\b", env_example)) == []
    assert sorted(name for name in names if f"`{name}`" not in configuration) == []
