"""`/ui-api/...`: aggregates the web UI needs in one request, outside `/api/v2` (whose
shape follows Buildbot's).

GET `ui-api/builders?builds=N` (N: 0 to 50, default 5) answers
`{"builders": [{...builder..., "recent_builds": [...], "pending": n, "running": n}],
"meta": {}}`, builders and builds as REST formats them, builds newest first. Access
is checked as for a REST read of `builders`.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.internet import defer
from twisted.python import log
from twisted.web import resource, server

from buildbot.data.builds import build_dict
from buildbot.db.ui_summary import BuilderSummary, get_builders_summary
from buildbot.www import jsonenc
from buildbot.www.auth import AuthError, current_user, get_authz
from buildbot.www.authz import Forbidden

DEFAULT_BUILDS = 5
MAX_BUILDS = 50

APPLICATION_JSON = b"application/json; charset=utf-8"


class _HttpError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _builds_arg(request: server.Request) -> int:
    values = request.args.get(b"builds")
    if not values:
        return DEFAULT_BUILDS
    try:
        n = int(values[0])
    except ValueError:
        raise _HttpError(400, "invalid builds") from None
    if not 0 <= n <= MAX_BUILDS:
        raise _HttpError(400, f"builds must be between 0 and {MAX_BUILDS}")
    return n


async def builders_summary(master: Any, n: int) -> dict[str, Any]:
    builders = await master.data.get(("builders",))
    summary = await get_builders_summary(master.db, n)
    empty = BuilderSummary()
    out = []
    for b in builders:
        s = summary.get(b["builderid"], empty)
        out.append(
            {
                **b,
                "recent_builds": [build_dict(build) for build in s.recent_builds],
                "pending": s.pending,
                "running": s.running,
            }
        )
    return {"builders": out, "meta": {}}


class BuildersResource(resource.Resource):
    isLeaf = True

    def __init__(self, www: Any) -> None:
        super().__init__()
        self.www = www

    def render_GET(self, request: server.Request) -> Any:
        defer.ensureDeferred(self._answer(request)).addErrback(self._failed, request)
        return server.NOT_DONE_YET

    async def _answer(self, request: server.Request) -> None:
        try:
            n = _builds_arg(request)
            user = await current_user(self.www, request)
            try:
                await get_authz(self.www).assertUserAllowed(("builders",), "GET", {}, user)
            except (AuthError, Forbidden) as e:
                raise _HttpError(getattr(e, "code", 403), e.message) from None
            body = jsonenc.dumps(await builders_summary(self.www.master, n))
        except _HttpError as e:
            self._send(request, e.code, json.dumps({"error": e.message}).encode("utf-8"))
            return
        self._send(request, 200, body)

    @staticmethod
    def _send(request: server.Request, code: int, body: bytes) -> None:
        if request.finished or request._disconnected:
            return
        request.setResponseCode(code)
        request.setHeader(b"content-type", APPLICATION_JSON)
        request.setHeader(b"content-length", b"%d" % len(body))
        request.write(body)
        request.finish()

    def _failed(self, f: Any, request: server.Request) -> None:
        log.err(f, "while answering ui-api/builders")
        self._send(request, 500, json.dumps({"error": repr(f.value)}).encode("utf-8"))


def make_ui_api_resource(www: Any) -> resource.Resource:
    root = resource.Resource()
    root.putChild(b"builders", BuildersResource(www))
    return root
