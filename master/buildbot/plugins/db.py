"""Lazy namespaces over the `buildbot.<namespace>` entry-point groups.

Nothing is imported until a name is asked for, so `import buildbot.plugins`
stays cheap however many steps and reporters are installed.
"""

from __future__ import annotations

import functools
from importlib import metadata
from typing import Any

from buildbot.errors import PluginDBError

# Bumped by reset_cache(); a namespace whose index is older rebuilds it.
_generation = 0


@functools.cache
def _all_entry_points() -> metadata.EntryPoints:
    return metadata.entry_points()


def reset_cache() -> None:
    """Forget the installed entry points and loaded names (after installing a plugin)."""
    global _generation
    _all_entry_points.cache_clear()
    _generation += 1


def _dist_name(ep: metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return dist.name if dist is not None else "<unknown distribution>"


class Namespace:
    """One plugin namespace, e.g. `util`, or a dotted part of one (`util.svn`)."""

    def __init__(self, namespace: str, group: str | None = None, prefix: str = "") -> None:
        self._namespace = namespace
        self._group = group or f"buildbot.{namespace}"
        self._prefix = prefix
        self._entries: dict[str, metadata.EntryPoint | Namespace] | None = None
        self._conflicts: dict[str, list[str]] = {}
        self._loaded: dict[str, Any] = {}
        self._indexed_generation = -1

    @property
    def _path(self) -> str:
        return f"{self._namespace}.{self._prefix}".rstrip(".")

    def _index(self) -> dict[str, metadata.EntryPoint | Namespace]:
        if self._entries is not None and self._indexed_generation == _generation:
            return self._entries
        entries: dict[str, metadata.EntryPoint | Namespace] = {}
        conflicts: dict[str, list[str]] = {}
        for ep in _all_entry_points().select(group=self._group):
            if not ep.name.startswith(self._prefix):
                continue
            head, dot, _ = ep.name[len(self._prefix) :].partition(".")
            if dot:
                if not isinstance(entries.get(head), Namespace):
                    entries[head] = Namespace(
                        self._namespace, self._group, f"{self._prefix}{head}."
                    )
                continue
            previous = entries.get(head)
            if isinstance(previous, metadata.EntryPoint) and previous.value != ep.value:
                conflicts.setdefault(head, [f"{previous.value} ({_dist_name(previous)})"])
                conflicts[head].append(f"{ep.value} ({_dist_name(ep)})")
                continue
            entries[head] = ep
        self._entries, self._conflicts, self._loaded = entries, conflicts, {}
        self._indexed_generation = _generation
        return entries

    @property
    def names(self) -> list[str]:
        return sorted(self._index())

    def __dir__(self) -> list[str]:
        return self.names

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        entry = self._index().get(name)
        if name in self._loaded:
            return self._loaded[name]
        if name in self._conflicts:
            raise PluginDBError(
                f"buildbot.plugins.{self._path}: '{name}' is provided more than once: "
                + ", ".join(self._conflicts[name])
            )
        if entry is None:
            raise PluginDBError(f"buildbot.plugins.{self._path} has no plugin named '{name}'")
        if isinstance(entry, Namespace):
            value: Any = entry
        else:
            try:
                value = entry.load()
            except Exception as e:
                raise PluginDBError(
                    f"buildbot.plugins.{self._path}: plugin '{name}' ({entry.value}) "
                    f"failed to load: {e!r}"
                ) from e
        self._loaded[name] = value
        return value

    def __repr__(self) -> str:
        return f"<buildbot.plugins namespace {self._path!r}>"
