"""`changes.PBChangeSource`: receives the changes `buildbot sendchange` submits over PB."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.python import log
from twisted.spread import pb

from buildbot import config
from buildbot.changes import base


class ChangePerspective(pb.Avatar):
    """What a logged-in `sendchange` client may call: `addChange(changedict)`."""

    def __init__(self, master: Any, prefix: str | None) -> None:
        self.master = master
        self.prefix = prefix

    def detached(self, mind: Any) -> None:
        pass

    async def _add_change(self, changedict: dict[str, Any]) -> int | None:
        change = dict(changedict)
        # the names older clients send
        if "who" in change:
            change.setdefault("author", change.pop("who"))
        if "when" in change:
            change.setdefault("when_timestamp", change.pop("when"))
        for obsolete in ("isdir", "links"):
            change.pop(obsolete, None)
        if change.get("when_timestamp") is not None:
            change["when_timestamp"] = int(change["when_timestamp"])
        files = list(change.get("files") or [])
        if self.prefix:
            # only files under the prefix count, named relative to it
            files = [f[len(self.prefix) :] for f in files if f.startswith(self.prefix)]
            if not files:
                log.msg(f"PBChangeSource: ignoring a change with no file under {self.prefix!r}")
                return None
        change["files"] = files
        if change.get("comments") is None:
            change["comments"] = ""
        known = {
            "files", "comments", "author", "committer", "revision", "when_timestamp",
            "branch", "category", "revlink", "properties", "repository", "codebase",
            "project", "src",
        }  # fmt: skip
        unknown = set(change) - known
        if unknown:
            log.msg(f"PBChangeSource: ignoring unknown change keys {sorted(unknown)}")
        return await self.master.data.updates.addChange(
            **{k: v for k, v in change.items() if k in known}
        )

    def perspective_addChange(self, changedict: dict[str, Any]) -> defer.Deferred[int | None]:
        return defer.ensureDeferred(self._add_change(changedict))


class PBChangeSource(base.ChangeSource):
    """Listens for `sendchange` on the workers' PB port (or its own `port`)."""

    def __init__(
        self,
        user: str = "change",
        passwd: str = "changepw",
        port: int | str | None = None,
        prefix: str | None = None,
        name: str | None = None,
    ) -> None:
        if name is None:
            name = f"PBChangeSource:{user}:{port}" if port is not None else f"PBChangeSource:{user}"
        super().__init__(user=user, passwd=passwd, port=port, prefix=prefix, name=name)
        self.registration: Any = None

    def checkConfig(
        self,
        user: str = "change",
        passwd: str = "changepw",
        port: int | str | None = None,
        prefix: str | None = None,
    ) -> None:
        if not isinstance(user, str) or not user:
            config.error("PBChangeSource: user must be a non-empty string")
        if port is not None and not isinstance(port, int | str):
            config.error("PBChangeSource: port must be an int, an endpoint string or None")
        if prefix is not None and not isinstance(prefix, str):
            config.error("PBChangeSource: prefix must be a string or None")

    async def reconfigService(
        self,
        user: str = "change",
        passwd: str = "changepw",
        port: int | str | None = None,
        prefix: str | None = None,
    ) -> None:
        self.user, self.passwd, self.port, self.prefix = user, passwd, port, prefix
        if self.isActive():
            # new settings take effect on a fresh registration
            await self._unregister()
            await self._register()

    def describe(self) -> str:
        port = self.port if self.port is not None else "the workers' port"
        prefix = f" (prefix {self.prefix!r})" if self.prefix else ""
        return f"PBChangeSource listener on {port}{prefix}"

    def _listen_port(self) -> Any:
        if self.port is not None:
            return self.port
        # without a port of its own, it shares the workers' PB port
        port = (self.master.config.protocols.get("pb") or {}).get("port")
        if port is None:
            raise RuntimeError("PBChangeSource: no port, and c['protocols']['pb'] has none")
        return port

    async def _register(self) -> None:
        port = self._listen_port()
        self.registration = self.master.pbmanager.register(
            port, self.user, self.passwd, self._perspective
        )

    async def _unregister(self) -> None:
        registration, self.registration = self.registration, None
        if registration is not None:
            await registration.unregister()

    def _perspective(self, mind: Any, username: str) -> ChangePerspective:
        return ChangePerspective(self.master, self.prefix)

    async def activate(self) -> None:
        await self._register()

    async def deactivate(self) -> None:
        await self._unregister()
