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
from twisted.web import server

import buildbot
from buildbot.www.auth import AsyncResource, user_config
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


class ConfigResource(AsyncResource):
    def __init__(self, www: Any) -> None:
        super().__init__()
        self.www = www

    async def render_async(self, request: server.Request) -> bytes:
        cfg = await ui_config(self.www, request)
        request.setHeader(b"content-type", b"application/json")
        request.setHeader(b"cache-control", b"no-cache")
        return to_json(cfg).encode("utf-8")
