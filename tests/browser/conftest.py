"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server."""

import http.client
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM_PATH = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 10_000
SCREENSHOT_DIR = Path("test-artifacts") / "screenshots"

phase_reports_key = pytest.StashKey[dict[str, pytest.TestReport]]()
page_errors_key = pytest.StashKey[list[str]]()
console_errors_key = pytest.StashKey[list[str]]()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "language(code): the browser's language for this test (\"ko\" by default, like a Korean user's)"
    )


def pytest_collection_modifyitems(config, items):
    browser_dir = Path(__file__).parent
    for item in items:
        if browser_dir in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    # Raised here rather than in fixture teardown, so a JS error is a test failure, not a teardown error.
    page_errors = item.stash.get(page_errors_key, [])
    if page_errors:
        pytest.fail("The page raised JavaScript errors:\n" + "\n".join(page_errors), pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    item.stash.setdefault(phase_reports_key, {})[report.when] = report
    console_errors = item.stash.get(console_errors_key, [])
    if report.when == "call" and report.failed and console_errors:
        report.sections.append(("browser console errors", "\n".join(console_errors)))
    return report


# Package scope, not session: while Playwright runs, its asyncio loop counts as running on the main thread,
# which would break the pytest-asyncio tests collected after this folder.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM_PATH.exists():
        message = "Debian chromium not installed: apt-get install chromium"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    expect.set_options(timeout=TIMEOUT_MS)
    with pytest.MonkeyPatch.context() as env, sync_playwright() as playwright:
        # Playwright's sync API keeps an asyncio loop on the main thread, so the ORM in test bodies would refuse to run.
        env.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM_PATH), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(request, browser, live_server) -> Iterator[Page]:
    """A fresh browser context per test, pointed at the live server; screenshots itself when the test fails."""
    page_errors = request.node.stash[page_errors_key] = []
    console_errors = request.node.stash[console_errors_key] = []
    # The browser asks for Korean (Accept-Language, navigator.language) unless the test says otherwise with
    # @pytest.mark.language("en"): headless Chromium would otherwise ask for en-US.
    marker = request.node.get_closest_marker("language")
    locale = {"ko": "ko-KR", "en": "en-US"}[marker.args[0] if marker else "ko"]
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800}, locale=locale)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.on("pageerror", lambda error: page_errors.append(f"{page.url}: {error.stack or error.message}"))
    page.on(
        "console",
        lambda message: console_errors.append(f"{page.url}: {message.text}") if message.type == "error" else None,
    )
    yield page
    reports = request.node.stash.get(phase_reports_key, {})
    if any(report.failed for report in reports.values()):
        screenshot_dir = request.config.rootpath / SCREENSHOT_DIR
        screenshot_dir.mkdir(parents=True, exist_ok=True)
        file_name = re.sub(r"[^\w.-]", "_", request.node.name) + ".png"
        page.screenshot(path=str(screenshot_dir / file_name), full_page=True)
    context.close()


# --- a real daphne (HTTP + WebSockets) on the test database -----------------------------
# pytest-django's live_server speaks WSGI only; pages that use /ws/… run against this.
ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = connection.settings_dict  # the test database by now
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"mysql://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 3306}/{db['NAME']}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def daphne_url(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[str]:
    with django_db_blocker.unblock():
        database_url = _database_url()
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "stocking.settings.test",
        "DATABASE_URL": database_url,
        "REDIS_URL": settings.REDIS_URL,
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "WARNING",
        # each test makes its stocks anew (new ids for the same codes): this long-lived process must not serve the
        # last test's from its per-process stock cache (an order on a deleted stock id fails its foreign key)
        "STOCK_CACHE_SECONDS": "0",
    }
    log_path = tmp_path_factory.mktemp("daphne") / "daphne.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "stocking.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            try:
                connection.request("GET", "/static/js/live-prices.js")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                pass
            finally:
                connection.close()
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"daphne did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
