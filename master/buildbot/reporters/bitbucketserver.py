"""Build statuses on Bitbucket Server / Data Center
(``POST /rest/build-status/1.0/commits/:sha``, basic authentication).

The status `key` (default: the builder name) tells statuses of one commit apart;
`statusName` is the label shown (Bitbucket Server shows the key when it is unset).
"""

from __future__ import annotations

import base64
from typing import Any

from twisted.python import log

from buildbot.process.properties import Interpolate
from buildbot.process.results import SUCCESS
from buildbot.reporters.base import ReporterBase
from buildbot.reporters.forge import (
    USER_AGENT,
    check_renderable,
    check_url,
    properties_for,
    push,
    start_end_generators,
)
from buildbot.util import httpclientservice, unicode2bytes

INPROGRESS = "INPROGRESS"
SUCCESSFUL = "SUCCESSFUL"
FAILED = "FAILED"


def basic_auth(user: Any, password: Any) -> str:
    pair = unicode2bytes(f"{user}:{password}")
    return "Basic " + base64.b64encode(pair).decode("ascii")


def bitbucket_state(build: dict[str, Any]) -> str:
    if not build.get("complete"):
        return INPROGRESS
    return SUCCESSFUL if build.get("results") == SUCCESS else FAILED


class BitbucketServerStatusPush(ReporterBase):
    name: str | None = "BitbucketServerStatusPush"  # type: ignore[assignment]

    def checkConfig(
        self,
        base_url: str | None = None,
        user: Any = None,
        password: Any = None,
        key: Any = None,
        statusName: Any = None,
        generators: list[Any] | None = None,
        verbose: bool = False,
        debug: Any = None,
        verify: Any = None,
        **kwargs: Any,
    ) -> None:
        where = type(self).__name__
        if base_url is None:
            from buildbot import config

            config.error(f"{where}: base_url is required")
        check_url(where, "base_url", base_url)
        check_renderable(where, "user", user, required=True)
        check_renderable(where, "password", password, required=True)
        check_renderable(where, "key", key)
        check_renderable(where, "statusName", statusName)
        if generators is None:
            generators = self._create_default_generators()
        super().checkConfig(generators=generators, **kwargs)

    async def reconfigService(  # type: ignore[override]
        self,
        base_url: str | None = None,
        user: Any = None,
        password: Any = None,
        key: Any = None,
        statusName: Any = None,
        generators: list[Any] | None = None,
        verbose: bool = False,
        debug: Any = None,
        verify: Any = None,
        **kwargs: Any,
    ) -> None:
        if generators is None:
            generators = self._create_default_generators()
        self.user = user
        self.password = password
        self.key = key if key is not None else Interpolate("%(prop:buildername)s")
        self.statusName = statusName
        self.verbose = verbose
        self.base_url = (base_url or "").rstrip("/")
        self._http = await httpclientservice.HTTPClientService.getService(
            self.master,
            self.base_url,
            headers={"User-Agent": USER_AGENT},
            debug=debug,
            verify=verify,
        )
        await super().reconfigService(generators=generators, **kwargs)

    def _create_default_generators(self) -> list[Any]:
        return start_end_generators(False, "Build started.", "Build done.")

    async def sendMessage(self, reports: list[dict[str, Any]]) -> None:
        report = reports[0]
        if not report.get("builds"):
            return
        build = report["builds"][0]
        props = properties_for(self.master, build)
        state = bitbucket_state(build)
        try:
            user = await props.render(self.user)
            password = await props.render(self.password)
            body: dict[str, Any] = {
                "state": state,
                "key": await props.render(self.key),
                "url": build.get("url"),
            }
            if self.statusName is not None:
                body["name"] = await props.render(self.statusName)
        except Exception as e:
            log.msg(f"{self.name}: cannot render the credentials, key or name: {e!r}")
            return
        if report.get("body"):
            body["description"] = report["body"]
        headers = {"Authorization": basic_auth(user, password)}
        for ss in (build.get("buildset") or {}).get("sourcestamps") or []:
            sha = ss.get("revision")
            if not sha:
                log.msg(
                    f"{self.name}: skipped sourcestamp of {ss.get('repository')!r}: no revision"
                )
                continue
            ep = f"/rest/build-status/1.0/commits/{sha}"
            response = await push(
                self,
                f'status "{state}" at {sha}',
                lambda ep=ep: self._http.post(ep, json=body, headers=headers),
            )
            if response is not None and self.verbose:
                log.msg(f'{self.name}: status "{state}" sent for {sha}')
