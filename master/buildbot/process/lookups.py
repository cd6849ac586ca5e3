"""The mappings and lookups behind `Interpolate`'s selectors.

Each selector names a mapping rendered per build: the properties (`prop:`),
the attributes of a codebase's sourcestamp (`src:`, via
`props.getBuild().getSourceStamp(codebase)`), the worker info (`worker:`, via
`props.getBuild().getWorkerInfo()`), the secrets (`secret:`) or the
Interpolate's own keyword arguments (`kw:`). A `_Lookup` reads one key of one
of them and applies the `:-`, `:~`, `:+`, `:?`, `:#?` rules.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from zope.interface import implementer

from buildbot.interfaces import IRenderable
from buildbot.process.renderables import Secret, _Comparable, _properties_of, render_deferred

_NO_VALUE = object()


@implementer(IRenderable)
class _Lookup(_Comparable):
    """`mapping[key]` rendered, with a default, a replacement when present, and
    None shown as `elideNoneAs`. `mapping` and `key` may be renderables."""

    compare_attrs = ("mapping", "key", "default", "defaultWhenFalse", "hasKey", "elideNoneAs")

    def __init__(
        self,
        mapping: Any,
        key: Any,
        default: Any = "",
        defaultWhenFalse: bool = False,
        hasKey: Any = _NO_VALUE,
        elideNoneAs: Any = "",
    ) -> None:
        self.mapping = mapping
        self.key = key
        self.default = default
        self.defaultWhenFalse = defaultWhenFalse
        self.hasKey = hasKey
        self.elideNoneAs = elideNoneAs

    def __eq__(self, other: Any) -> bool:
        return self._same_as(other)

    __hash__ = _Comparable.__hash__

    @defer.inlineCallbacks
    def getRenderingFor(self, props: Any):
        mapping, key = yield render_deferred([self.mapping, self.key], props)
        if key not in mapping:
            value = yield render_deferred(self.default, props)
        else:
            value = yield render_deferred(mapping[key], props)
            if self.defaultWhenFalse and not value:
                value = yield render_deferred(self.default, props)
            elif self.hasKey is not _NO_VALUE:
                value = yield render_deferred(self.hasKey, props)
        return self.elideNoneAs if value is None else value


@implementer(IRenderable)
class _PropertyDict:
    """Renders as the properties themselves (a mapping of name to value)."""

    def getRenderingFor(self, props: Any) -> Any:
        return props.getProperties()


def _build_of(props: Any) -> Any:
    get_build = getattr(_properties_of(props), "getBuild", None)
    return get_build() if get_build is not None else None


_SS_ATTRS = ("branch", "revision", "repository", "project", "codebase")
_PATCH_KEYS = ("level", "body", "subdir", "author", "comment")


def sourcestamp_dict(ss: Any) -> dict[str, Any]:
    """The `src:` attributes of a sourcestamp object or dict (patch fields flattened)."""
    if ss is None:
        return {}

    def get(name: str) -> Any:
        return ss.get(name) if isinstance(ss, dict) else getattr(ss, name, None)

    out = {name: get(name) for name in _SS_ATTRS}
    patch = get("patch")
    if isinstance(patch, dict):
        fields = dict(patch)
    elif isinstance(patch, (tuple, list)):
        fields = dict(zip(("level", "body", "subdir"), patch, strict=False))
    else:
        fields = {}
    info = get("patch_info")
    if isinstance(info, (tuple, list)):
        fields.update(zip(("author", "comment"), info, strict=False))
    for key in _PATCH_KEYS:
        value = get(f"patch_{key}")
        out[f"patch_{key}"] = value if value is not None else fields.get(key)
    return out


@implementer(IRenderable)
class _SourceStampDict(_Comparable):
    """Renders as the attributes of the build's sourcestamp for `codebase` ({} if none)."""

    compare_attrs = ("codebase",)

    def __init__(self, codebase: str) -> None:
        self.codebase = codebase

    def __eq__(self, other: Any) -> bool:
        return self._same_as(other)

    __hash__ = _Comparable.__hash__

    def getRenderingFor(self, props: Any) -> Any:
        build = _build_of(props)
        if build is None:
            return {}
        return sourcestamp_dict(build.getSourceStamp(self.codebase))


@implementer(IRenderable)
class _WorkerInfoDict:
    """Renders as the build's worker info ({} outside a build)."""

    def getRenderingFor(self, props: Any) -> Any:
        build = _build_of(props)
        if build is None:
            return {}
        return build.getWorkerInfo() or {}


class _SecretIndexer:
    """A mapping in which every secret name is present: looking one up makes a `Secret`."""

    def __contains__(self, name: Any) -> bool:
        return True

    def __getitem__(self, name: str) -> Secret:
        return Secret(name)
