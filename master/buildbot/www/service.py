"""The web server: a Twisted Web site on `c['www']['port']`, a child of the master.

The resource tree is built once; its resources read the current settings from
this service, so a reconfig only restarts the listener, and only when the port
changed. Later parts hang their resources on `self.root` in `_make_root`:
`ws`, `sse`, `auth`, `avatar`, `config`, `change_hook`, `plugins` and the UI
itself (the root's default child).
"""

from __future__ import annotations

import glob
import os
from typing import Any

from twisted.internet import endpoints, threads
from twisted.python import log, logfile
from twisted.web import resource

from buildbot.config.www import BUILTIN_PLUGINS, custom_templates_path
from buildbot.util import service
from buildbot.util.listeners import port_to_endpoint
from buildbot.util.trackingsite import TrackingSite
from buildbot.www import auth, avatar, change_hook, index, plugin, rest, sse, ui_api, ws
from buildbot.www.config import ConfigResource
from buildbot.www.cors import OriginMatcher, origin_of

DEFAULT_URL = "http://localhost:8080/"


class Site(TrackingSite):
    """A Site that knows its open connections (to close them on stop) and writes its
    access log to a rotated file, or nowhere."""

    def __init__(self, root: resource.Resource, access_log: dict[str, Any] | None) -> None:
        self._access_log = access_log
        super().__init__(root, logPath=access_log["path"] if access_log else None)
        self.displayTracebacks = False

    def _openLogFile(self, path: str) -> Any:
        opts = self._access_log or {}
        return logfile.LogFile.fromFullPath(
            path,
            rotateLength=opts.get("rotateLength") or 10_000_000,
            maxRotatedFiles=opts.get("maxRotatedFiles") or 10,
        )

    def log(self, request: Any) -> None:
        if self._access_log:
            super().log(request)


class WWWService(service.ReconfigurableServiceMixin, service.AsyncMultiService):
    name = "www"

    def __init__(self) -> None:
        super().__init__()
        self.config: dict[str, Any] = {}
        self.buildbotURL = DEFAULT_URL
        self.port: int | str | None = None
        self.root: resource.Resource | None = None
        self.site: Site | None = None
        self._listener: Any = None
        self._origins = OriginMatcher([origin_of(DEFAULT_URL)])
        self.title = "Buildbot"
        self.titleURL = "http://buildbot.net/"
        self.multiMaster = False
        # the UI plugins of c['www']['plugins'] by name, and the base UI (None: not installed)
        self.plugins: dict[str, plugin.Application] = {}
        self.base_ui: plugin.Application | None = None
        self.custom_templates: dict[str, str] = {}

    # --- settings the resources read ------------------------------------------------

    @property
    def json_cache_seconds(self) -> int:
        return self.config.get("json_cache_seconds") or 0

    @property
    def rest_minimum_version(self) -> int:
        return self.config.get("rest_minimum_version") or 0

    def origin_allowed(self, origin: str) -> bool:
        return self._origins(origin)

    # --- the site ---------------------------------------------------------------------

    def _make_root(self) -> index.RootResource:
        root = index.RootResource(self)
        root.putChild(b"api", rest.RestRootResource(self))
        root.putChild(b"auth", auth.make_auth_resource(self))
        root.putChild(b"change_hook", change_hook.make_change_hook_resource(self))
        root.putChild(b"ws", ws.make_ws_resource(self))
        root.putChild(b"sse", sse.make_sse_resource(self))
        root.putChild(b"config", ConfigResource(self))
        root.putChild(b"avatar", avatar.AvatarResource(self))
        root.putChild(b"plugins", plugin.PluginsResource(self))
        root.putChild(b"ui-api", ui_api.make_ui_api_resource(self))
        return root

    # --- the UI and its plugins -------------------------------------------------------

    def _load_base_ui(self) -> plugin.Application | None:
        try:
            ui = plugin.load_plugin("base")
        except Exception:
            log.err(None, "web UI: the 'base' plugin failed to load")
            return None
        if ui is None:
            log.msg(
                "WARNING: the web UI package buildbot-www is not installed: "
                "the master serves the REST API without its web interface"
            )
            return None
        ui.setMaster(self.master)
        return ui

    def _load_plugins(self, settings: dict[str, Any]) -> dict[str, plugin.Application]:
        loaded: dict[str, plugin.Application] = {}
        for name, config in settings.items():
            ui = self.plugins.get(name) or plugin.load_plugin(name)
            if ui is None:
                if name in BUILTIN_PLUGINS:  # part of our base UI
                    continue
                raise RuntimeError(f"could not find plugin {name}; is it installed?")
            if name not in self.plugins:
                ui.setMaster(self.master)
            ui.setConfiguration(config)
            loaded[name] = ui
        return loaded

    def _read_custom_templates(self, dirname: str | None) -> dict[str, str]:
        if not dirname:
            return {}
        basedir = getattr(self.master, "basedir", None) or "."
        path = custom_templates_path(dirname, basedir)
        templates = {}
        for filename in sorted(glob.glob(os.path.join(glob.escape(path), "*.html"))):
            name = os.path.splitext(os.path.basename(filename))[0]
            with open(filename, encoding="utf-8") as f:
                templates[name] = f.read()
        return templates

    def _access_log(self) -> dict[str, Any] | None:
        name = self.config.get("logfileName")
        basedir = getattr(self.master, "basedir", None)
        if not name or not basedir or not os.path.isdir(basedir):
            return None
        return {
            "path": os.path.join(basedir, name),
            "rotateLength": self.config.get("logRotateLength"),
            "maxRotatedFiles": self.config.get("maxRotatedFiles"),
        }

    def getPortnum(self) -> int | None:
        """The port really listened on (useful with port 0), or None."""
        if self._listener is None:
            return None
        return self._listener.getHost().port

    # --- life cycle -------------------------------------------------------------------

    @service._returns_deferred
    async def reconfigServiceWithBuildbotConfig(self, new_config: Any) -> None:
        www = dict(getattr(new_config, "www", None) or {})
        url = getattr(new_config, "buildbotURL", None) or DEFAULT_URL
        self.plugins = self._load_plugins(www.get("plugins") or {})
        self.custom_templates = await threads.deferToThread(
            self._read_custom_templates, www.get("custom_templates_dir")
        )
        self.config = www
        self.buildbotURL = url if url.endswith("/") else url + "/"
        self.title = getattr(new_config, "title", None) or "Buildbot"
        self.titleURL = getattr(new_config, "titleURL", None) or "http://buildbot.net/"
        self.multiMaster = bool(getattr(new_config, "multiMaster", False))
        self._origins = OriginMatcher(www.get("allowed_origins") or [origin_of(self.buildbotURL)])
        if self.site is None:
            self.base_ui = self._load_base_ui()
            root = self._make_root()
            root.set_ui(self.base_ui)
            self.root = root
            self.site = Site(root, self._access_log())
        new_port = www.get("port")
        listening_as_wanted = new_port == self.port and (
            self._listener is not None or new_port is None or not self.running
        )
        self.port = new_port
        if not listening_as_wanted and self.running:
            await self._stop_listening()
            await self._start_listening()
        await service.ReconfigurableServiceMixin.reconfigServiceWithBuildbotConfig(self, new_config)

    @service._returns_deferred
    async def startService(self) -> None:
        await super().startService()
        await self._start_listening()

    @service._returns_deferred
    async def stopService(self) -> None:
        await self._stop_listening()
        if self.site is not None:
            await self.site.close_connections()
        await super().stopService()

    async def _start_listening(self) -> None:
        if self.port is None or self.site is None:
            return
        description = port_to_endpoint(self.port)
        ep = endpoints.serverFromString(self.reactor, description)
        self._listener = await ep.listen(self.site)
        log.msg(f"web server listening on {description} (port {self.getPortnum()})")

    async def _stop_listening(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            await listener.stopListening()
