"""What the forge status reporters share (GitHub, GitLab, Bitbucket): rendering a
build's properties, pushing with retries, argument checks, default generators, and
one base for the token-authenticated status pushers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from twisted.python import log

from buildbot import config
from buildbot.interfaces import IRenderable
from buildbot.process.properties import Interpolate, Properties
from buildbot.reporters.base import ReporterBase, retry_with_backoff
from buildbot.util import httpclientservice

USER_AGENT = "Buildbot"


def properties_for(master: Any, build: dict[str, Any]) -> Properties:
    """The build's properties, able to render secrets; a pending build request's
    stand-in build gets `buildername` from its builder, as the build will."""
    props = Properties.fromDict(build.get("properties") or {})
    props.master = master
    builder = build.get("builder") or {}
    if not props.hasProperty("buildername") and builder.get("name"):
        props.setProperty("buildername", builder["name"], "Builder")
    return props


def is_2xx(code: int) -> bool:
    return 200 <= code < 300


async def push(
    reporter: Any,
    what: str,
    send: Callable[[], Awaitable[Any]],
    tries: int = 3,
    first_delay: float = 1.0,
) -> Any:
    """`send()` (an HTTP request), retried with backoff on the master's reactor while it
    fails or answers 5xx. Returns the response if it is a 2xx; otherwise logs why
    (with the answer's body) and returns None. Never raises."""
    name = getattr(reporter, "name", type(reporter).__name__)
    try:
        response = await retry_with_backoff(
            reporter.master.reactor, send, f"{name}: {what}", tries=tries, first_delay=first_delay
        )
    except Exception as e:
        log.msg(f"{name}: {what} failed: {e!r}")
        return None
    if not is_2xx(response.code):
        try:
            content = await response.content()
            text = content.decode("utf-8", "replace")[:1000]
        except Exception:  # pragma: no cover - bodies are already read
            text = ""
        log.msg(f"{name}: {what} failed: HTTP {response.code}: {text}")
        return None
    return response


def check_renderable(where: str, name: str, value: Any, required: bool = False) -> None:
    if value is None:
        if required:
            config.error(f"{where}: {name} is required")
        return
    if not isinstance(value, str) and not IRenderable.providedBy(value):
        config.error(f"{where}: {name} must be a string or a renderable, not {value!r}")


def check_url(where: str, name: str, value: Any) -> None:
    if value is not None and (
        not isinstance(value, str) or not value.startswith(("http://", "https://"))
    ):
        config.error(f"{where}: {name} must be an http:// or https:// URL, not {value!r}")


def start_end_generators(pending: bool, start: Any, end: Any) -> list[Any]:
    """`BuildStartEndStatusGenerator` with renderable start/end texts, preceded by a
    `BuildRequestGenerator` ("Build pending.") when `pending`."""
    from buildbot.reporters.generators.build import BuildStartEndStatusGenerator
    from buildbot.reporters.generators.buildrequest import BuildRequestGenerator
    from buildbot.reporters.message import MessageFormatterRenderable

    generators: list[Any] = []
    if pending:
        generators.append(
            BuildRequestGenerator(formatter=MessageFormatterRenderable("Build pending."))
        )
    generators.append(
        BuildStartEndStatusGenerator(
            start_formatter=MessageFormatterRenderable(start),
            end_formatter=MessageFormatterRenderable(end),
        )
    )
    return generators


class TokenStatusPushBase(ReporterBase):
    """`(token, context=None, baseURL=None, verbose=False, debug=None, verify=None,
    generators=None)`: a commit-status reporter authenticated by a token, its HTTP
    client on `baseURL` (default `hosted_base_url`)."""

    hosted_base_url = ""

    def checkConfig(
        self,
        token: Any = None,
        context: Any = None,
        baseURL: str | None = None,
        verbose: bool = False,
        debug: Any = None,
        verify: Any = None,
        generators: list[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        where = type(self).__name__
        check_renderable(where, "token", token, required=True)
        check_renderable(where, "context", context)
        check_url(where, "baseURL", baseURL)
        if generators is None:
            generators = self._create_default_generators()
        super().checkConfig(generators=generators, **kwargs)

    async def reconfigService(  # type: ignore[override]
        self,
        token: Any = None,
        context: Any = None,
        baseURL: str | None = None,
        verbose: bool = False,
        debug: Any = None,
        verify: Any = None,
        generators: list[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if generators is None:
            generators = self._create_default_generators()
        self.token = token
        self.context = (
            context if context is not None else Interpolate("buildbot/%(prop:buildername)s")
        )
        self.verbose = verbose
        self.baseURL = (baseURL or self.hosted_base_url).rstrip("/")
        self._reset_caches()
        self._http = await httpclientservice.HTTPClientService.getService(
            self.master,
            self.baseURL,
            headers={"User-Agent": USER_AGENT},
            debug=debug,
            verify=verify,
        )
        await super().reconfigService(generators=generators, **kwargs)

    def _reset_caches(self) -> None:
        """Forget what was learnt from the server (another server or token may differ)."""

    def _create_default_generators(self) -> list[Any]:
        return start_end_generators(True, "Build started.", "Build done.")
