"""Build properties: `Properties` (name -> (value, source)) and `PropertiesMixin`.

The renderables (`Property`, `Interpolate`, `renderer`, `Transform`,
`FlattenList`, `WithProperties`, `Secret`) live in `renderables` and
`interpolate`, and are importable from here too, as Buildbot users expect.

Hooks a `Properties` object offers to the renderables (all duck-typed):
`build` (set by the build that owns the properties; `getBuild()` returns it,
and its `getSourceStamp(codebase)` / `getWorkerInfo()` serve `src:` and
`worker:` lookups) and `master` (the build's master, or one set directly; its
`secrets_manager.get(name)` serves `Secret` and `secret:` lookups). Secrets
rendered through these properties are remembered (`useSecret`) so that
`cleanupTextFromSecrets` can scrub them from text (and `cleanupValueFromSecrets`
from property values); `secretHoldback` tells a log which trailing lines must wait
for more output, as they may begin a multi-line secret.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from twisted.internet import defer
from zope.interface import implementer

from buildbot.interfaces import IProperties, IRenderable
from buildbot.process.interpolate import Interpolate, WithProperties, _PropertyMap
from buildbot.process.lookups import _Lookup
from buildbot.process.renderables import (
    FlattenList,
    MissingSecretError,
    Property,
    RenderableOperatorsMixin,
    Secret,
    Transform,
    render_deferred,
    renderer,
)
from buildbot.util import bytes2unicode

__all__ = [
    "FlattenList",
    "Interpolate",
    "MissingSecretError",
    "Properties",
    "PropertiesMixin",
    "Property",
    "RenderableOperatorsMixin",
    "Secret",
    "Transform",
    "WithProperties",
    "_Lookup",
    "_PropertyMap",
    "renderer",
]


@implementer(IProperties)
class Properties:
    """Build properties: each name has a value and the source that set it.

    Names set with `runtime=True` (during the build) are tracked in `runtime`,
    so that `updateFromPropertiesNoRuntime` can copy only the others.
    """

    def __init__(self, **kwargs: Any) -> None:
        self.properties: dict[str, tuple[Any, str]] = {}
        self.runtime: set[str] = set()
        self.build: Any = None
        self._master: Any = None
        self._used_secrets: dict[str, str] = {}
        # (value, "<name>"), longest value first: a secret containing another is replaced
        # whole; kept sorted as secrets are added, not on each chunk of output
        self._replacements: list[tuple[str, str]] = []
        # each beginning of a multi-line secret that ends with a line end (not the
        # whole secret): output ending with one waits for the next lines
        self._holdback_prefixes: tuple[str, ...] = ()
        if kwargs:
            self.update(kwargs, "TEST")

    @classmethod
    def fromDict(cls, propDict: dict[str, Any]) -> Properties:
        """Properties from `{name: (value, source)}`."""
        props = cls()
        for name, (value, source) in propDict.items():
            props.setProperty(name, value, source)
        return props

    # --- reading ----------------------------------------------------------------

    def getProperty(self, name: str, default: Any = None) -> Any:
        entry = self.properties.get(name)
        return default if entry is None else entry[0]

    def hasProperty(self, name: str) -> bool:
        return name in self.properties

    has_key = hasProperty

    def getPropertySource(self, name: str) -> str:
        return self.properties[name][1]

    def __getitem__(self, name: str) -> Any:
        return self.properties[name][0]

    def __contains__(self, name: object) -> bool:
        return name in self.properties

    def __iter__(self) -> Iterator[str]:
        return iter(self.properties)

    def keys(self) -> list[str]:
        return list(self.properties)

    def asList(self) -> list[tuple[str, Any, str]]:
        return [(name, value, source) for name, (value, source) in self.properties.items()]

    def asDict(self) -> dict[str, tuple[Any, str]]:
        return {name: (value, source) for name, (value, source) in self.properties.items()}

    def getProperties(self) -> Properties:
        return self

    def getBuild(self) -> Any:
        return self.build

    def getSourceStamp(self, codebase: str = "") -> Any:
        if self.build is None:
            return None
        return self.build.getSourceStamp(codebase)

    @property
    def master(self) -> Any:
        if self._master is None and self.build is not None:
            return getattr(self.build, "master", None)
        return self._master

    @master.setter
    def master(self, value: Any) -> None:
        self._master = value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Properties):
            return NotImplemented
        return self.properties == other.properties

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        values = {name: value for name, (value, _) in self.properties.items()}
        return f"Properties(**{values!r})"

    # --- writing ----------------------------------------------------------------

    def setProperty(self, name: str, value: Any, source: str, runtime: bool = False) -> None:
        name = bytes2unicode(name)
        if not isinstance(name, str):
            raise TypeError(f"property name must be a string, not {name!r}")
        if not IRenderable.providedBy(value):
            try:
                json.dumps(value)
            except (TypeError, ValueError) as e:
                raise TypeError(
                    f"value of property {name!r} is not JSON-serialisable: {value!r} ({e})"
                ) from None
        self.properties[name] = (value, source)
        if runtime:
            self.runtime.add(name)

    def update(self, dictionary: dict[str, Any], source: str, runtime: bool = False) -> None:
        for name, value in dictionary.items():
            self.setProperty(name, value, source, runtime=runtime)

    def updateFromProperties(self, other: Properties) -> None:
        """Take every property of `other` (later wins), with its runtime marks."""
        self.properties.update(other.properties)
        self.runtime.update(other.runtime)

    def updateFromPropertiesNoRuntime(self, other: Properties) -> None:
        """Take the properties of `other` that were not set at run time."""
        for name, entry in other.properties.items():
            if name not in other.runtime:
                self.properties[name] = entry

    # --- rendering and secrets ------------------------------------------------------

    def render(self, value: Any) -> defer.Deferred:
        """Render `value` (renderables, nested lists/tuples/dicts) against these properties."""
        return render_deferred(value, self)

    def useSecret(self, secret_value: Any, secret_name: str) -> None:
        """Remember a rendered secret so that it can be scrubbed from text."""
        if isinstance(secret_value, str) and secret_value.strip():
            self._used_secrets[secret_value] = secret_name
            # as Python shows it (the worker's argv header does): line ends escaped
            for shown in (repr(secret_value)[1:-1], repr(secret_value.encode("utf-8"))[2:-1]):
                if shown != secret_value:
                    self._used_secrets[shown] = secret_name
            self._replacements = sorted(
                ((v, f"<{n}>") for v, n in self._used_secrets.items()),
                key=lambda pair: len(pair[0]),
                reverse=True,
            )
            self._holdback_prefixes = tuple(
                {v[: i + 1] for v in self._used_secrets for i, c in enumerate(v[:-1]) if c == "\n"}
            )

    def cleanupTextFromSecrets(self, text: str) -> str:
        """`text` with every secret rendered here replaced by `<name>`."""
        for value, replacement in self._replacements:
            text = text.replace(value, replacement)
        return text

    def cleanupValueFromSecrets(self, value: Any) -> Any:
        """A JSON-like `value` with the secrets scrubbed from every string in it."""
        if not self._used_secrets:
            return value
        if isinstance(value, str):
            return self.cleanupTextFromSecrets(value)
        if isinstance(value, list | tuple):
            return type(value)(self.cleanupValueFromSecrets(v) for v in value)
        if isinstance(value, dict):
            return {
                self.cleanupValueFromSecrets(k): self.cleanupValueFromSecrets(v)
                for k, v in value.items()
            }
        return value

    def secretHoldback(self, text: str) -> int:
        """Where the lines at the end of `text` (whole lines) that may be the start of
        a multi-line secret begin: `len(text)` when nothing has to wait for the next
        lines before it can be scrubbed."""
        prefixes = self._holdback_prefixes
        if not prefixes or not text.endswith(prefixes):
            return len(text)
        cut = min(len(text) - len(p) for p in prefixes if text.endswith(p))
        return text.rfind("\n", 0, cut) + 1


@implementer(IProperties)
class PropertiesMixin:
    """Property access for an object owning (or reaching) a `Properties`: builds, steps.

    Subclasses define `getProperties()`. `set_runtime_properties` is the
    `runtime` flag used when `setProperty` is not given one.
    """

    set_runtime_properties = False

    def getProperties(self) -> Properties:
        raise NotImplementedError

    def getProperty(self, propname: str, default: Any = None) -> Any:
        return self.getProperties().getProperty(propname, default)

    def hasProperty(self, propname: str) -> bool:
        return self.getProperties().hasProperty(propname)

    has_key = hasProperty

    def setProperty(
        self, propname: str, value: Any, source: str = "Unknown", runtime: bool | None = None
    ) -> None:
        if runtime is None:
            runtime = self.set_runtime_properties
        self.getProperties().setProperty(propname, value, source, runtime=runtime)

    def render(self, value: Any) -> defer.Deferred:
        return self.getProperties().render(value)
