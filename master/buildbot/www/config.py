"""The configuration the web UI reads: `/config` (JSON) and, the same dict, the
`window.buildbotFrontendConfig` of the index page.

As in Buildbot it is `c['www']` as given (minus what is server-side only, such as
hook secrets) with `auth`, `authz` and `avatar_methods` as their config dicts, plus
the versions, the master's title and URL, and the user of the request's session.
`avatar_methods` keeps the form it was configured in: one dict for one method (and
for the default, gravatar), a list of dicts for a list, as Buildbot sends it.
"""

from __future__ import annotations

import datetime
import json
import platform
import re
from typing import Any

import twisted
from twisted.internet import defer
from twisted.python import log
from twisted.web import resource, server

import buildbot
from buildbot.www.auth import user_config
from buildbot.www.avatar import avatar_methods

# keys of c['www'] that stay on the server (secrets, paths, objects replaced below)
SERVER_ONLY = frozenset(
    {"change_hook_dialects", "change_hook_auth", "custom_templates_dir", "auth", "authz"}
)


def _default(obj: Any) -> Any:
    """JSON for the odd values a c['www'] may hold (never fails: the UI ignores them)."""
    if isinstance(obj, datetime.timedelta):
        return int(obj.total_seconds())
    if callable(getattr(obj, "getConfigDict", None)):
        return obj.getConfigDict()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, re.Pattern):
        return {"name": "re", "pattern": obj.pattern}
    # the class, as Buildbot names what it cannot describe (a repr may hold an address)
    return f"'{type(obj).__module__}.{type(obj).__qualname__}' not yet IConfigured"


def to_json(cfg: dict[str, Any]) -> str:
    return json.dumps(cfg, default=_default)


def versions(www: Any) -> list[list[str]]:
    configured = www.config.get("versions") or []
    return [
        ["Python", platform.python_version()],
        ["Buildbot", buildbot.version],
        ["Twisted", twisted.__version__],
        *([str(name), str(version)] for name, version in configured),
    ]


async def ui_config(www: Any, request: server.Request) -> dict[str, Any]:
    """The UI's configuration for this request (its `user` depends on the session)."""
    cfg: dict[str, Any] = {"port": None, "plugins": {}, "logfileName": None}
    cfg.update((k, v) for k, v in www.config.items() if k not in SERVER_ONLY)
    cfg["plugins"] = cfg.get("plugins") or {}
    methods = [m.getConfigDict() for m in avatar_methods(www.config)]
    configured_list = isinstance(www.config.get("avatar_methods"), (list, tuple))
    cfg["avatar_methods"] = methods if configured_list else methods[0]
    cfg["versions"] = versions(www)
    if www.custom_templates:
        cfg["custom_templates"] = www.custom_templates
    cfg["buildbotURL"] = www.buildbotURL
    cfg["title"] = www.title
    cfg["titleURL"] = www.titleURL
    cfg["multiMaster"] = www.multiMaster
    cfg.update(await user_config(www, request))
    return cfg


class ConfigResource(resource.Resource):
    isLeaf = True

    def __init__(self, www: Any) -> None:
        super().__init__()
        self.www = www

    def render_GET(self, request: server.Request) -> Any:
        d = defer.ensureDeferred(ui_config(self.www, request))

        def send(cfg: dict[str, Any]) -> None:
            if request.finished or request._disconnected:
                return
            request.setHeader(b"content-type", b"application/json")
            request.setHeader(b"cache-control", b"no-cache")
            request.write(to_json(cfg).encode("utf-8"))
            request.finish()

        def failed(f: Any) -> None:
            log.err(f, "while answering /config")
            if not request.finished and not request._disconnected:
                request.setResponseCode(500)
                request.setHeader(b"content-type", b"application/json")
                request.write(json.dumps({"error": repr(f.value)}).encode("utf-8"))
                request.finish()

        d.addCallbacks(send, failed)
        return server.NOT_DONE_YET
