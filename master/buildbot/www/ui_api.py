"""`/ui-api/...`: aggregates the web UI needs in one request, outside `/api/v2` (whose
shape follows Buildbot's).

GET `ui-api/builders?builds=N` (N: 0 to 50, default 5) answers
`{"builders": [{...builder..., "recent_builds": [...], "pending": n, "running": n}],
"meta": {}}`, builders and builds as REST formats them, builds newest first. Access
is checked as for a REST read of `builders`.
"""

from __future__ import annotations

from typing import Any

from twisted.web import resource, server

from buildbot.data.builds import build_dict
from buildbot.db.ui_summary import BuilderSummary, get_builders_summary
from buildbot.www import jsonenc
from buildbot.www.auth import AsyncResource, HttpError, current_user, get_authz
from buildbot.www.authz import Forbidden

DEFAULT_BUILDS = 5
MAX_BUILDS = 50

APPLICATION_JSON = b"application/json; charset=utf-8"


def _builds_arg(request: server.Request) -> int:
    values = request.args.get(b"builds")
    if not values:
        return DEFAULT_BUILDS
    try:
        n = int(values[0])
    except ValueError:
        raise HttpError(400, "invalid builds") from None
    if not 0 <= n <= MAX_BUILDS:
        raise HttpError(400, f"builds must be between 0 and {MAX_BUILDS}")
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


class BuildersResource(AsyncResource):
    def __init__(self, www: Any) -> None:
        super().__init__()
        self.www = www

    async def render_async(self, request: server.Request) -> bytes:
        n = _builds_arg(request)
        user = await current_user(self.www, request)
        try:
            await get_authz(self.www).assertUserAllowed(("builders",), "GET", {}, user)
        except Forbidden as e:
            raise HttpError(403, e.message) from None
        body = jsonenc.dumps(await builders_summary(self.www.master, n))
        request.setHeader(b"content-type", APPLICATION_JSON)
        return body


def make_ui_api_resource(www: Any) -> resource.Resource:
    root = resource.Resource()
    root.putChild(b"builders", BuildersResource(www))
    return root
