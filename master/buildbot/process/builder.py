"""A builder of the running master: one per `BuilderConfig`, with its id in the DB.

The build engine adds to it what starting builds needs (workers, requests,
locks); here it holds its configuration and keeps the DB's builder row current.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.python import log

from buildbot.util import service


class Builder(service.ReconfigurableServiceMixin, service.AsyncMultiService):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.config: Any = None
        self._builderid: int | None = None

    def getBuilderId(self) -> defer.Deferred[int]:
        """Our row's id (registering the name if new), looked up once."""
        if self._builderid is not None:
            return defer.succeed(self._builderid)
        d = self.master.data.updates.findBuilderId(self.name)

        @d.addCallback
        def keep(builderid: int) -> int:
            self._builderid = builderid
            return builderid

        return d

    @property
    def builderid(self) -> int | None:
        return self._builderid

    def reconfigServiceWithBuildbotConfig(self, new_config: Any) -> defer.Deferred[None]:
        return defer.ensureDeferred(self._reconfig(new_config))

    async def _reconfig(self, new_config: Any) -> None:
        builder_config = next((b for b in new_config.builders if b.name == self.name), None)
        if builder_config is None:
            log.msg(f"builder {self.name!r} is not in the new configuration")
            return
        builderid = await self.getBuilderId()
        updates = self.master.data.updates
        projectid = None
        if builder_config.project is not None:
            projectid = await updates.find_project_id(builder_config.project)
        description = builder_config.description
        await updates.updateBuilderInfo(
            builderid,
            description,
            getattr(builder_config, "description_format", None),
            _description_html(description, getattr(builder_config, "description_format", None)),
            projectid,
            list(builder_config.tags or []),
        )
        self.config = builder_config


def _description_html(description: str | None, fmt: str | None) -> str | None:
    """HTML for a description in a markup format, where we can render one; the UI shows
    the plain text otherwise."""
    if description is None or fmt is None:
        return None
    if fmt == "markdown":
        try:
            import markdown  # type: ignore[import-not-found]
        except ImportError:
            return None
        return markdown.markdown(description)
    return None
