"""Headless Chromium for the web UI's end-to-end tests, driven by Playwright.

Playwright's sync API must stay on the thread that started it, and it blocks; the
master under test runs on the reactor of the test process. So one dedicated thread
(`BrowserThread`) owns Playwright, the browser and its pages, and the test hands it
blocking functions with `await browser.run(fn, *args)`: the reactor keeps serving the
master while the browser waits. Every Playwright wait is bounded (`DEFAULT_TIMEOUT`),
and so is every `run` (`RUN_LIMIT`).

    class Tests(unittest.TestCase):
        async def setUp(self):
            self.browser = await browser.start_browser(self, base_url)

        async def test_home(self):
            def check(page):
                page.goto("#/")
                expect(page.get_by_test_id("theme-toggle")).to_be_visible()
            await self.browser.run(check)

The system Chromium is used (`/usr/bin/chromium`, Debian's package): no
`playwright install`.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from twisted.internet import defer, reactor
from twisted.python import log

CHROMIUM = os.environ.get("BUILDBOT_TEST_CHROMIUM", "/usr/bin/chromium")
# the recipe of ../shared/infra.md §5 (Playwright adds --headless itself)
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
DEFAULT_TIMEOUT = 20.0  # seconds, for each Playwright action or expectation
NAVIGATION_TIMEOUT = 30.0
RUN_LIMIT = 150.0  # seconds for one `run` call, whatever it does
VIEWPORT = {"width": 1280, "height": 800}
UI_REQUIRED_ENV = "BUILDBOT_TEST_UI_REQUIRED"


# --- is there a UI to test? ------------------------------------------------------------


def ui_index_html() -> str | None:
    """The path of the built UI's index.html (package buildbot_www), or None."""
    try:
        import buildbot_www  # type: ignore[import-not-found]
    except ImportError:
        return None
    for base in getattr(buildbot_www, "__path__", []):
        path = os.path.join(base, "static", "index.html")
        if os.path.isfile(path):
            return path
    return None


def ui_skip_reason() -> str | None:
    """Why the UI tests should be skipped, or None to run them. A missing UI build
    is a skip only when BUILDBOT_TEST_UI_REQUIRED is unset (CI sets it: then the
    tests run and fail)."""
    if ui_index_html() is not None or os.environ.get(UI_REQUIRED_ENV):
        return None
    return (
        "the web UI is not built (buildbot_www or its static/index.html is missing: "
        "cd www && npm run build && pip install -e www); "
        f"set {UI_REQUIRED_ENV}=1 to make this a failure"
    )


# --- the thread that owns Playwright ----------------------------------------------------


class BrowserThread:
    """A thread running the functions it is given, one at a time, in order; `call`
    answers on the reactor with a Deferred."""

    def __init__(self, name: str = "playwright") -> None:
        self._jobs: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, args, d = job
            try:
                result = fn(*args)
            except BaseException as e:  # handed to the test, whatever it is
                reactor.callFromThread(d.errback, e)
            else:
                reactor.callFromThread(d.callback, result)

    def call(self, fn: Callable[..., Any], *args: Any) -> defer.Deferred[Any]:
        d: defer.Deferred[Any] = defer.Deferred()
        self._jobs.put((fn, args, d))
        return d

    def stop(self) -> None:
        self._jobs.put(None)

    def join(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()


class Browser:
    """Chromium with one fresh context and page (per test). `run(fn, *args)` calls
    `fn(page, *args)` on the browser thread. Console errors and uncaught page errors
    are kept in `page_errors`, and a failing `run` saves a screenshot beside the test."""

    def __init__(
        self, base_url: str, failure_dir: str, failure: type[Exception] = AssertionError
    ) -> None:
        self.base_url = base_url
        self.failure_dir = failure_dir
        self.failure = failure
        self.thread = BrowserThread()
        self.page_errors: list[str] = []
        self.requests: list[str] = []  # URLs the pages asked, in order
        self.websockets: list[str] = []  # URLs of the WebSockets the pages opened
        self.finished: list[tuple[str, float]] = []  # (URL, ms from request to response end)
        self._pw: Any = None
        self._browser: Any = None
        self.context: Any = None
        self.page: Any = None
        self._failures = 0

    # -- on the browser thread --

    def _start(self, color_scheme: str) -> None:
        from playwright.sync_api import expect, sync_playwright

        expect.set_options(timeout=DEFAULT_TIMEOUT * 1000)
        self._pw = sync_playwright().start()
        self._browser = self._pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            timeout=NAVIGATION_TIMEOUT * 1000,
        )
        self._new_context(color_scheme)

    def _new_context(self, color_scheme: str) -> None:
        if self.context is not None:
            self.context.close()
        self.context = self._browser.new_context(
            base_url=self.base_url, viewport=VIEWPORT, color_scheme=color_scheme
        )
        self.context.set_default_timeout(DEFAULT_TIMEOUT * 1000)
        self.context.set_default_navigation_timeout(NAVIGATION_TIMEOUT * 1000)
        self.context.on("page", self._watch)
        self.page = self.context.new_page()

    def _watch(self, page: Any) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda e: self.page_errors.append(f"pageerror: {e}"))
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("websocket", lambda ws: self.websockets.append(ws.url))
        page.on("requestfailed", self._on_failed)
        page.on("requestfinished", self._on_finished)
        page.on("response", self._on_response)

    def _on_finished(self, request: Any) -> None:
        self.finished.append((request.url, request.timing.get("responseEnd", -1)))

    def _on_failed(self, request: Any) -> None:
        self.page_errors.append(f"request failed: {request.url} ({request.failure})")

    def _on_response(self, response: Any) -> None:
        if response.status >= 400:
            self.page_errors.append(f"HTTP {response.status}: {response.url}")

    def _on_console(self, msg: Any) -> None:
        # resource errors are reported with their URL by _on_failed/_on_response
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            self.page_errors.append(f"console: {msg.text}")

    def _close(self) -> None:
        try:
            if self._browser is not None:
                self._browser.close()
        finally:
            if self._pw is not None:
                self._pw.stop()

    def _screenshot(self, path: str, full_page: bool) -> str:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.page.screenshot(path=path, full_page=full_page)
        return path

    # -- on the reactor --

    async def start(self, color_scheme: str = "light") -> None:
        await self._call(self._start, color_scheme)

    async def new_context(self, color_scheme: str = "light") -> None:
        """A fresh context and page (no cookies, no localStorage)."""
        await self._call(self._new_context, color_scheme)

    async def run(self, fn: Callable[..., Any], *args: Any, limit: float = RUN_LIMIT) -> Any:
        """`fn(page, *args)` on the browser thread; on failure, a screenshot of the page
        is saved and named in the test's failure."""
        try:
            return await self._call(lambda: fn(self.page, *args), limit=limit)
        except Exception as e:
            shot = await self._failure_screenshot(getattr(fn, "__name__", "run"))
            what = f"{type(e).__name__}: {e}"
            raise self.failure(f"{what}\n{self.describe()}\nscreenshot: {shot}") from e

    async def screenshot(self, path: str, full_page: bool = False) -> str:
        return await self._call(self._screenshot, path, full_page)

    def describe(self) -> str:
        errors = "\n  ".join(self.page_errors[-20:]) or "none"
        return f"page errors:\n  {errors}"

    async def _failure_screenshot(self, name: str) -> str | None:
        self._failures += 1
        path = os.path.join(self.failure_dir, f"failure-{self._failures}-{name}.png")
        try:
            return await self._call(self._screenshot, path, True, limit=20)
        except Exception as e:
            return f"(none: {e})"

    async def _call(self, fn: Callable[..., Any], *args: Any, limit: float = RUN_LIMIT) -> Any:
        d = self.thread.call(fn, *args)
        d.addTimeout(limit, reactor)
        return await d

    async def close(self) -> None:
        """Closes the browser (bounded); a browser that does not close is killed."""
        try:
            await self._call(self._close, limit=30)
        except Exception as e:
            log.msg(f"the browser did not close: {e}; killing it")
            kill_descendants(r"chrom|playwright|node")
        self.thread.stop()


async def start_browser(testcase: Any, base_url: str, color_scheme: str = "light") -> Browser:
    """A started Browser for `base_url`, closed at the test's clean-up."""
    browser = Browser(base_url, os.path.abspath(testcase.mktemp()), testcase.failureException)
    testcase.addCleanup(browser.close)
    await browser.start(color_scheme)
    return browser


def kill_descendants(pattern: str, root: int | None = None) -> list[int]:
    """SIGKILLs the descendants of `root` (this process) whose command line matches
    `pattern`: the browser processes this process started, if their driver is stuck."""
    root = root or os.getpid()
    children: dict[int, list[int]] = {}
    cmdlines: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdlines[int(entry)] = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found: list[int] = []
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        if re.search(pattern, cmdlines.get(pid, "")):
            found.append(pid)
    for pid in found:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return found


# --- small things the tests share ---------------------------------------------------------


def screenshot_dir(repo_root: str | None, fallback: str) -> str:
    """A new folder for this run's screenshots: <repo>/build/ui-screenshots/<timestamp>/
    when the repository is writable, else under `fallback` (the test's temp dir)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for base in ([os.path.join(repo_root, "build")] if repo_root else []) + [fallback]:
        path = os.path.join(base, "ui-screenshots", stamp)
        try:
            os.makedirs(path, exist_ok=True)
        except OSError:
            continue
        if os.access(path, os.W_OK):
            return path
    raise OSError(f"no writable folder for screenshots (tried under {repo_root}, {fallback})")


def repo_root() -> str | None:
    """The checkout's root (the folder holding master/ and www/), if this is one."""
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.abspath(os.path.join(here, "..", "..", "..", ".."))
    if os.path.isdir(os.path.join(root, "master")) and os.path.isdir(os.path.join(root, "www")):
        return root
    return None
