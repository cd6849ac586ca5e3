"""HttpStatusPush: POST each report's body, as JSON, to one URL."""

from __future__ import annotations

from typing import Any

from twisted.python import log

from buildbot import config
from buildbot.reporters.base import ReporterBase
from buildbot.reporters.forge import push
from buildbot.reporters.generators.build import BuildStatusGenerator
from buildbot.reporters.message import MessageFormatterFunction
from buildbot.util import httpclientservice


def _jsonable(value: Any) -> Any:
    """A copy of `value` that JSON can carry: bytes become text if they are UTF-8,
    else null (as in the data API); tuples become lists."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return value


def _build_of(context: dict[str, Any]) -> Any:
    return context["build"]


class HttpStatusPush(ReporterBase):
    name = "HttpStatusPush"  # type: ignore[assignment]

    #: how many times a POST is tried, and the wait before the first retry (doubling)
    tries = 3
    first_retry_delay = 1.0

    def checkConfig(  # type: ignore[override]
        self,
        serverUrl: str,
        auth: Any = None,
        headers: dict[str, str] | None = None,
        debug: Any = None,
        verify: Any = None,
        cert: Any = None,
        skip_encoding: bool = False,
        generators: list[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(serverUrl, str) or not serverUrl:
            config.error(f"HttpStatusPush: serverUrl must be a non-empty string, not {serverUrl!r}")
        if isinstance(auth, (list, tuple)) and len(auth) != 2:
            config.error("HttpStatusPush: auth must be a (user, password) pair")
        if headers is not None and not isinstance(headers, dict):
            config.error("HttpStatusPush: headers must be a dict")
        if generators is None:
            generators = self._create_default_generators()
        super().checkConfig(generators=generators, **kwargs)

    def _create_default_generators(self) -> list[Any]:
        return [
            BuildStatusGenerator(
                report_new=True, message_formatter=MessageFormatterFunction(_build_of, "json")
            )
        ]

    async def reconfigService(  # type: ignore[override]
        self,
        serverUrl: str,
        auth: Any = None,
        headers: dict[str, str] | None = None,
        debug: Any = None,
        verify: Any = None,
        cert: Any = None,
        skip_encoding: bool = False,
        generators: list[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.serverUrl = serverUrl
        self.debug = debug
        http = await httpclientservice.HTTPClientService.getService(
            self.master,
            serverUrl,
            auth=auth,
            headers=headers,
            debug=debug,
            verify=verify,
            skipEncoding=skip_encoding,
        )
        self._http = httpclientservice.HTTPSession(
            http,
            serverUrl,
            auth=auth,
            headers=headers,
            debug=debug,
            verify=verify,
            cert=cert,
            skip_encoding=skip_encoding,
        )
        if generators is None:
            generators = self._create_default_generators()
        await super().reconfigService(generators=generators, **kwargs)

    async def sendMessage(self, reports: list[dict[str, Any]]) -> None:
        http = self._http
        for report in reports:
            body = _jsonable(report["body"])
            response = await push(
                self,
                f"POST to {self.serverUrl}",
                lambda body=body: http.post("", json=body),
                tries=self.tries,
                first_delay=self.first_retry_delay,
            )
            if response is not None and self.debug:
                log.msg(f"{self.name}: POST to {self.serverUrl} answered {response.code}")
