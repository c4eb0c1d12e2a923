"""`make demo`'s launcher, for real: however it ends, no process it started survives and no temporary folder is left.

Each test starts `manage.py demo` (embedded redis-server, runserver, relay, matcher, celery worker) with its own
TMPDIR, waits until the site answers, records every process below the launcher, ends the demo one way, and then
looks through /proc: none of those processes, and nothing mentioning the TMPDIR, may still run, and TMPDIR is empty.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 180  # migrate (a no-op after the first run), load_stocks, five processes on a busy 2-core box
STOP_TIMEOUT = 60

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_table() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, state, command line) of every live process."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # exited while we looked
        fields = stat.rsplit(")", 1)[1].split()
        table[int(entry.name)] = (int(fields[1]), fields[0], cmdline)
    return table


def descendants(pid: int) -> dict[int, str]:
    table = process_table()
    found, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, _, cmdline) in table.items():
            if ppid == parent and child not in found:
                found[child] = cmdline
                frontier.append(child)
    return found


def survivors(pids: dict[int, str], marker: str) -> dict[int, str]:
    """Which of pids, or any process mentioning marker, still runs (a zombie has finished running)."""
    return {pid: cmdline for pid, (_, state, cmdline) in process_table().items()
            if state != "Z" and (pid in pids or marker in cmdline)}  # fmt: skip


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory):
    """One prepared SQLite database for the module: each launch then only checks it (migrate is a no-op)."""
    path = tmp_path_factory.mktemp("demo-db") / "demo.sqlite3"
    env = demo_env(database=path, tmpdir=path.parent)
    result = subprocess.run([sys.executable, "manage.py", "demo", "--no-serve"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=STARTUP_TIMEOUT)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return path


def demo_env(*, database: Path, tmpdir: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_", "REDIS_", "CELERY_"))
    }  # fmt: skip  (the demo's own Redis)
    env.update(
        DJANGO_SETTINGS_MODULE="stocking.settings.development",
        DATABASE_URL=f"sqlite:///{database}",
        TMPDIR=str(tmpdir),
        SIMULATOR_TICKS_PER_SECOND="20",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


class Demo:
    def __init__(self, tmp_path: Path, database: Path, *, through_a_parent: bool = False):
        self.tmpdir = tmp_path / "tmp"
        self.tmpdir.mkdir()
        self.port = free_port()
        self.log_path = tmp_path / "demo.log"
        argv = [sys.executable, "manage.py", "demo", "--addr", f"127.0.0.1:{self.port}",
                "--data-dir", str(tmp_path / "data")]  # fmt: skip
        if through_a_parent:  # a stand-in for the terminal or make that started the demo
            argv = [sys.executable, "-c", "import subprocess, sys; subprocess.Popen(sys.argv[1:]).wait()", *argv]
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(argv, cwd=ROOT, env=demo_env(database=database, tmpdir=self.tmpdir),
                                            stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        self.launcher_pid = self.process.pid
        if through_a_parent:
            assert wait_until(lambda: descendants(self.process.pid), 30), self.log()
            self.launcher_pid = min(descendants(self.process.pid))
        ready = wait_until(lambda: "StocKing is running" in self.log() and port_open(self.port), STARTUP_TIMEOUT)
        assert ready, self.log()
        time.sleep(2)  # let the worker start its beat process too
        self.started = descendants(self.launcher_pid)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def launcher_gone(self) -> bool:
        entry = process_table().get(self.launcher_pid)
        return entry is None or entry[1] == "Z"

    def assert_all_gone(self) -> None:
        assert wait_until(self.launcher_gone, STOP_TIMEOUT), self.log()
        wait_until(lambda: not survivors(self.started, str(self.tmpdir)), 20)
        left = survivors(self.started, str(self.tmpdir))
        assert left == {}, f"still running: {left}\n{self.log()}"
        assert list(self.tmpdir.iterdir()) == [], self.log()

    def kill_everything(self) -> None:
        for pid in [self.process.pid, self.launcher_pid, *survivors(self.started, str(self.tmpdir))]:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.wait(timeout=10)


@pytest.fixture
def start_demo(tmp_path, demo_database):
    demos = []

    def start(**kwargs) -> Demo:
        demos.append(Demo(tmp_path, demo_database, **kwargs))
        return demos[-1]

    yield start
    for demo in demos:
        demo.kill_everything()


def test_it_starts_every_process_of_the_procfile_and_redis(start_demo):
    demo = start_demo()
    commands = " | ".join(demo.started.values())
    for part in ("redis-server", "runserver", "run_relay", "run_matcher", "celery"):
        assert part in commands
    demo.process.send_signal(signal.SIGTERM)
    demo.assert_all_gone()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_a_stop_signal_stops_every_process_and_removes_the_temporary_folder(start_demo, signum):
    demo = start_demo()
    demo.process.send_signal(signum)
    assert demo.process.wait(timeout=STOP_TIMEOUT) == 0, demo.log()
    demo.assert_all_gone()
    assert "demo stopped" in demo.log()


def test_the_parent_dying_stops_the_demo(start_demo):
    demo = start_demo(through_a_parent=True)
    demo.process.kill()  # the terminal or make is gone, without a word to the launcher
    demo.process.wait(timeout=10)
    demo.assert_all_gone()


def test_even_a_killed_launcher_leaves_no_process_and_no_temporary_folder(start_demo):
    demo = start_demo()
    demo.process.kill()  # SIGKILL: the launcher cannot clean up; its children and the reaper must
    demo.process.wait(timeout=10)
    demo.assert_all_gone()
