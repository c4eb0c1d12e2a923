"""Throwaway databases for the benchmarks, and Django set up in process against one."""

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


def mysql(sql: str) -> None:
    subprocess.run(["mysql", "-h127.0.0.1", "-uroot", "-e", sql], check=True)


@contextmanager
def throwaway_database(kind: str, mysql_name: str) -> Iterator[str]:
    """Yield the DATABASE_URL of an empty database (a SQLite file in a temp dir, or the MySQL
    database `mysql_name`); remove it afterwards."""
    if kind == "sqlite":
        tmp = tempfile.mkdtemp(prefix="stocking-bench-")
        try:
            yield f"sqlite:///{tmp}/bench.sqlite3"
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    else:
        mysql(f"DROP DATABASE IF EXISTS {mysql_name}")  # a killed earlier run may have left one
        mysql(f"CREATE DATABASE {mysql_name} CHARACTER SET utf8mb4")
        try:
            yield f"mysql://root@127.0.0.1:3306/{mysql_name}"
        finally:
            mysql(f"DROP DATABASE IF EXISTS {mysql_name}")


def setup_django(database_url: str, **env: str) -> None:
    """Django in this process (DEBUG off, Redis database 14, plenty of starting cash), migrated."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="stocking.settings.development",
        DATABASE_URL=database_url,
        REDIS_URL="redis://127.0.0.1:6379/14",
        DEBUG="false",
        LOG_LEVEL="WARNING",
        STARTING_CASH="100000000000000",
        **env,
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
