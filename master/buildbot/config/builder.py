"""BuilderConfig: one entry of c['builders'], checked when it is constructed."""

from __future__ import annotations

from typing import Any

from buildbot import interfaces
from buildbot.config.errors import error
from buildbot.util import ComparableMixin, bytes2unicode, safeTranslate

# builder names starting with '_' are reserved for the master's own builders
RESERVED_UNDERSCORE_NAMES = ("__Janitor",)

# the width of property names in the database
PROPERTY_NAME_LENGTH = 256

DESCRIPTION_FORMATS = (None, "markdown")


def _is_renderable(value: Any) -> bool:
    return interfaces.IRenderable.providedBy(value)


def _is_lock(value: Any) -> bool:
    from buildbot import locks

    return isinstance(value, (locks.LockAccess, locks.BaseLockId))


class BuilderConfig(ComparableMixin):
    """The configuration of one builder.

    Problems are reported with `config.error`, so that while master.cfg loads
    they are collected with all the others.
    """

    compare_attrs = (
        "name",
        "workernames",
        "builddir",
        "workerbuilddir",
        "factory",
        "tags",
        "nextWorker",
        "nextBuild",
        "locks",
        "env",
        "properties",
        "defaultProperties",
        "collapseRequests",
        "description",
        "description_format",
        "canStartBuild",
        "project",
        "do_build_if",
    )

    def __init__(
        self,
        name: str | bytes | None = None,
        workername: str | None = None,
        workernames: str | list[str] | None = None,
        builddir: str | None = None,
        workerbuilddir: str | None = None,
        factory: Any = None,
        tags: list[str] | None = None,
        nextWorker: Any = None,
        nextBuild: Any = None,
        locks: Any = None,
        env: Any = None,
        properties: dict[str, Any] | None = None,
        collapseRequests: Any = None,
        description: str | None = None,
        description_format: str | None = None,
        canStartBuild: Any = None,
        defaultProperties: dict[str, Any] | None = None,
        project: str | None = None,
        do_build_if: Any = None,
    ) -> None:
        self.name = self._check_name(name)
        where = f"builder '{self.name}'"

        from buildbot.process.factory import BuildFactory

        if factory is None:
            error(f"{where} has no factory")
        elif not isinstance(factory, BuildFactory):
            error(f"{where}'s factory is not a BuildFactory instance")
        self.factory = factory

        self.workernames = self._check_workernames(where, workername, workernames)

        if builddir is None:
            builddir = bytes2unicode(safeTranslate(self.name))
        elif not isinstance(builddir, str):
            error(f"{where}: builddir must be a string, not {builddir!r}")
        self.builddir = builddir
        self.workerbuilddir = builddir if workerbuilddir is None else workerbuilddir
        if not isinstance(self.workerbuilddir, str):
            error(f"{where}: workerbuilddir must be a string, not {workerbuilddir!r}")

        self.tags = self._check_tags(where, tags)

        for attr, fn in (
            ("nextWorker", nextWorker),
            ("nextBuild", nextBuild),
            ("canStartBuild", canStartBuild),
            ("do_build_if", do_build_if),
        ):
            if fn is not None and not callable(fn):
                error(f"{where}: {attr} must be a callable")
        self.nextWorker = nextWorker
        self.nextBuild = nextBuild
        self.canStartBuild = canStartBuild
        self.do_build_if = do_build_if

        self.locks = self._check_locks(where, locks)

        self.env = env or {}
        if not isinstance(self.env, dict) and not _is_renderable(self.env):
            error(f"{where}: env must be a dictionary")

        self.properties = self._check_properties(where, "properties", properties)
        self.defaultProperties = self._check_properties(
            where, "defaultProperties", defaultProperties
        )

        if collapseRequests not in (None, True, False) and not callable(collapseRequests):
            error(f"{where}: collapseRequests must be a callable, True, or False")
        self.collapseRequests = collapseRequests

        if description is not None and not isinstance(description, str):
            error(f"{where}: description must be a string")
        self.description = description
        if description_format not in DESCRIPTION_FORMATS:
            error(f"{where}: builder description format must be None or 'markdown'")
        self.description_format = description_format

        if project is not None and not isinstance(project, str):
            error(f"{where}: project must be a string (the name of a c['projects'] entry)")
        self.project = project

    @staticmethod
    def _check_name(name: Any) -> str:
        if not name or not isinstance(name, (str, bytes)):
            error("builder's name is required")
            return "<unknown>"
        try:
            text = bytes2unicode(name, encoding="ascii")
        except UnicodeDecodeError:
            error(f"builder names must be unicode or ASCII bytes, not {name!r}")
            return "<unknown>"
        if text.startswith("_") and text not in RESERVED_UNDERSCORE_NAMES:
            error(f"builder names must not start with an underscore: '{text}'")
        return text

    @staticmethod
    def _check_workernames(where: str, workername: Any, workernames: Any) -> list[str]:
        if isinstance(workernames, str):
            workernames = [workernames]
        if not workernames:
            workernames = []
        elif not isinstance(workernames, list):
            error(f"{where}: workernames must be a list or a string")
            workernames = []
        elif not all(isinstance(n, str) for n in workernames):
            error(f"{where}: workernames must be strings, not {workernames!r}")
        if workername:
            if not isinstance(workername, str):
                error(f"{where}: workername must be a string but it is {workername!r}")
            workernames = [*workernames, workername]
        if not workernames:
            error(f"{where}: at least one workername is required")
        return workernames

    @staticmethod
    def _check_tags(where: str, tags: Any) -> list[str]:
        if not tags:
            return []
        if not isinstance(tags, list):
            error(f"{where}: tags must be a list")
            return []
        if any(not isinstance(tag, str) for tag in tags):
            error(f"{where}: tags list contains something that is not a string")
        dupes = sorted({t for t in tags if isinstance(t, str) and tags.count(t) > 1})
        if dupes:
            error(f"{where}: tags list contains duplicate tags: {' '.join(dupes)}")
        return tags

    @staticmethod
    def _check_locks(where: str, locks: Any) -> Any:
        if not locks:
            return []
        if _is_renderable(locks):
            return locks
        if not isinstance(locks, (list, tuple)):
            error(f"{where}: locks must be a list of lock accesses")
            return []
        for lock in locks:
            if not _is_lock(lock) and not _is_renderable(lock):
                error(f"{where}: {lock!r} is not a lock access (use lock.access(mode))")
        return list(locks)

    @staticmethod
    def _check_properties(where: str, attr: str, props: Any) -> dict[str, Any]:
        if not props:
            return {}
        if not isinstance(props, dict):
            error(f"{where}: {attr} must be a dictionary")
            return {}
        for name in props:
            if not isinstance(name, str):
                error(f"{where}: {attr} names must be strings, not {name!r}")
            elif len(name) > PROPERTY_NAME_LENGTH:
                error(
                    f"{where}: {attr} name '{name[:20]}...' is longer than "
                    f"{PROPERTY_NAME_LENGTH} characters"
                )
        return props

    def getConfigDict(self) -> dict[str, Any]:
        """The non-default settings, as the web UI shows them."""
        rv: dict[str, Any] = {
            "name": self.name,
            "workernames": self.workernames,
            "factory": self.factory,
            "builddir": self.builddir,
            "workerbuilddir": self.workerbuilddir,
        }
        optional = (
            "project",
            "tags",
            "nextWorker",
            "nextBuild",
            "locks",
            "env",
            "properties",
            "defaultProperties",
            "description",
            "description_format",
            "canStartBuild",
            "do_build_if",
        )
        for attr in optional:
            value = getattr(self, attr)
            if value:
                rv[attr] = value
        if self.collapseRequests is not None:
            rv["collapseRequests"] = self.collapseRequests
        return rv

    def __repr__(self) -> str:
        return f"<BuilderConfig {self.name!r}>"
