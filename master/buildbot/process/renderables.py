"""Renderables: values computed per build from its properties.

Everything here renders against an `IProperties` provider (a `Properties`, or a
build or step using `PropertiesMixin`), called `props` below. Duck-typed hooks
the renderables use, besides `props.getProperty`/`hasProperty`/`render`:

* `props.getProperties()` -> the underlying `Properties` object.
* `props.getBuild()` -> a build-like object or None. `src:` lookups call its
  `getSourceStamp(codebase)` (an object or a dict with `branch`, `revision`,
  `repository`, `project`, `codebase`, `patch`, `patch_info`...), `worker:`
  lookups its `getWorkerInfo()` (a dict).
* `props.master.secrets_manager.get(name)` (or the master's `"secrets"` named
  service) -> a value, a Deferred, or None when no provider knows the secret;
  the value may be an object with a `.value`. `Secret` then registers the value
  with `props.getProperties().useSecret(value, name)` so that it can be
  scrubbed from logs.

Rendering a plain value returns it as is; lists, tuples and dicts are rendered
element by element. `render(value, props)` returns a plain value when nothing
asynchronous was met and a Deferred otherwise; `Properties.render` always
returns a Deferred. `IRenderable(x)` works for any `x` (adapters below).
"""

from __future__ import annotations

import inspect
import operator
from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.python import components
from zope.interface import implementer

from buildbot import config
from buildbot.interfaces import IRenderable
from buildbot.util import flatten

_PLAIN = (str, bytes, int, float, bool, type(None))


def _unwrap_first_error(f):
    f.trap(defer.FirstError)
    return f.value.subFailure


def _as_deferred_or_value(result: Any) -> Any:
    if inspect.iscoroutine(result):
        return defer.ensureDeferred(result)
    return result


def render(value: Any, props: Any) -> Any:
    """Render `value` against `props`: the value itself, or a Deferred firing with it."""
    if isinstance(value, _PLAIN):
        return value
    if IRenderable.providedBy(value):
        return _as_deferred_or_value(value.getRenderingFor(props))
    if isinstance(value, list):
        return _render_sequence(value, props, list)
    if isinstance(value, tuple):
        return _render_sequence(value, props, tuple)
    if isinstance(value, dict):
        return _render_dict(value, props)
    return value


def _render_one(item: Any, props: Any) -> Any:
    try:
        return render(item, props)
    except Exception:
        # a Deferred, so that the siblings' failures are still consumed
        return defer.fail()


def _render_sequence(items: Any, props: Any, kind: type) -> Any:
    rendered = [_render_one(item, props) for item in items]
    if not any(isinstance(r, defer.Deferred) for r in rendered):
        return kind(rendered)
    d = defer.gatherResults(
        [defer.succeed(r) if not isinstance(r, defer.Deferred) else r for r in rendered],
        consumeErrors=True,
    )
    d.addErrback(_unwrap_first_error)
    d.addCallback(kind)
    return d


def _render_dict(mapping: dict, props: Any) -> Any:
    flat = _render_sequence([item for pair in mapping.items() for item in pair], props, list)

    def pair_up(values: list) -> dict:
        return dict(zip(values[0::2], values[1::2], strict=True))

    if isinstance(flat, defer.Deferred):
        return flat.addCallback(pair_up)
    return pair_up(flat)


def render_deferred(value: Any, props: Any) -> defer.Deferred:
    """`render`, always returning a Deferred (errors included)."""
    try:
        result = render(value, props)
    except Exception:
        return defer.fail()
    if isinstance(result, defer.Deferred):
        return result
    return defer.succeed(result)


# --- adapters: IRenderable(x) for any x ------------------------------------


@implementer(IRenderable)
class _PlainRenderer:
    """`IRenderable(x)` for a non-renderable `x`: renders its contents, if any."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def getRenderingFor(self, props: Any) -> Any:
        return render(self.value, props)


for _kind in (object, list, tuple, dict):
    components.registerAdapter(_PlainRenderer, _kind, IRenderable)


# --- operators ---------------------------------------------------------------


class _Comparable:
    """Structural identity of a renderable (for config diffing): class and attributes."""

    compare_attrs: tuple[str, ...] = ()

    def _cmp_values(self) -> tuple:
        return tuple(getattr(self, name, None) for name in self.compare_attrs)

    def _same_as(self, other: Any) -> bool:
        return type(self) is type(other) and bool(self._cmp_values() == other._cmp_values())

    def __hash__(self) -> int:
        try:
            return hash((type(self), self._cmp_values()))
        except TypeError:
            return hash(type(self))


class RenderableOperatorsMixin(_Comparable):
    """Comparison and arithmetic operators that build new renderables.

    `a == b` renders both sides and compares them at build time. In a boolean
    context (`if a == b`, config diffing) it tells whether both describe the same
    renderable, so comparing configurations still works.
    """

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        return _OperatorRenderer(self, other, operator.eq, truth=self._same_as(other))

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        return _OperatorRenderer(self, other, operator.ne, truth=not self._same_as(other))

    __hash__ = _Comparable.__hash__

    def __lt__(self, other: Any) -> Any:
        return _OperatorRenderer(self, other, operator.lt)

    def __le__(self, other: Any) -> Any:
        return _OperatorRenderer(self, other, operator.le)

    def __gt__(self, other: Any) -> Any:
        return _OperatorRenderer(self, other, operator.gt)

    def __ge__(self, other: Any) -> Any:
        return _OperatorRenderer(self, other, operator.ge)

    def __add__(self, other: Any) -> Any:
        return _OperatorRenderer(self, other, operator.add)

    def __radd__(self, other: Any) -> Any:
        return _OperatorRenderer(other, self, operator.add)

    def __sub__(self, other: Any) -> Any:
        return _OperatorRenderer(self, other, operator.sub)

    def __rsub__(self, other: Any) -> Any:
        return _OperatorRenderer(other, self, operator.sub)

    def __mul__(self, other: Any) -> Any:
        return _OperatorRenderer(self, other, operator.mul)

    def __rmul__(self, other: Any) -> Any:
        return _OperatorRenderer(other, self, operator.mul)

    def __truediv__(self, other: Any) -> Any:
        return _OperatorRenderer(self, other, operator.truediv)

    def __rtruediv__(self, other: Any) -> Any:
        return _OperatorRenderer(other, self, operator.truediv)

    def __floordiv__(self, other: Any) -> Any:
        return _OperatorRenderer(self, other, operator.floordiv)

    def __rfloordiv__(self, other: Any) -> Any:
        return _OperatorRenderer(other, self, operator.floordiv)

    def __mod__(self, other: Any) -> Any:
        return _OperatorRenderer(self, other, operator.mod)

    def __rmod__(self, other: Any) -> Any:
        return _OperatorRenderer(other, self, operator.mod)

    def in_(self, seq: Any) -> Any:
        """A renderable: is the rendered value in the rendered `seq`?"""
        return _OperatorRenderer(self, seq, _contained_in)


def _contained_in(value: Any, seq: Any) -> bool:
    return value in seq


@implementer(IRenderable)
class _OperatorRenderer(RenderableOperatorsMixin):
    compare_attrs = ("left", "right", "op")

    def __init__(self, left: Any, right: Any, op: Callable, truth: bool = True) -> None:
        self.left = left
        self.right = right
        self.op = op
        self._truth = truth

    def __bool__(self) -> bool:
        return self._truth

    @defer.inlineCallbacks
    def getRenderingFor(self, props: Any):
        left, right = yield render_deferred([self.left, self.right], props)
        return self.op(left, right)

    def __repr__(self) -> str:
        name = getattr(self.op, "__name__", repr(self.op))
        return f"<{name}({self.left!r}, {self.right!r})>"


# --- the renderables -----------------------------------------------------------


@implementer(IRenderable)
class Property(RenderableOperatorsMixin):
    """The value of property `key`; `default` when unset (or falsy, with
    `defaultWhenFalse`). A property holding a renderable is rendered too."""

    compare_attrs = ("key", "default", "defaultWhenFalse")

    def __init__(self, key: str, default: Any = None, defaultWhenFalse: bool = True) -> None:
        self.key = key
        self.default = default
        self.defaultWhenFalse = defaultWhenFalse

    @defer.inlineCallbacks
    def getRenderingFor(self, props: Any):
        if self.defaultWhenFalse:
            value = yield render_deferred(props.getProperty(self.key), props)
            if value:
                return value
        elif props.hasProperty(self.key):
            value = yield render_deferred(props.getProperty(self.key), props)
            return value
        value = yield render_deferred(self.default, props)
        return value

    def __repr__(self) -> str:
        return f"Property({self.key!r})"


@implementer(IRenderable)
class renderer(RenderableOperatorsMixin):  # lower case: Buildbot's public name
    """Decorator: `fn(props, *args, **kwargs)` becomes a renderable.

    The extra arguments (from `withArgs`) are rendered first; the function may
    return a Deferred or a coroutine, and its result is rendered again.
    """

    compare_attrs = ("fn", "args", "kwargs")

    def __init__(self, fn: Callable) -> None:
        self.fn = fn
        self.args: tuple = ()
        self.kwargs: dict[str, Any] = {}

    def withArgs(self, *args: Any, **kwargs: Any) -> renderer:
        new = renderer(self.fn)
        new.args = self.args + args
        new.kwargs = {**self.kwargs, **kwargs}
        return new

    @defer.inlineCallbacks
    def getRenderingFor(self, props: Any):
        args, kwargs = yield render_deferred([self.args, self.kwargs], props)
        result = yield _as_deferred_or_value(self.fn(props, *args, **kwargs))
        result = yield render_deferred(result, props)
        return result

    def __repr__(self) -> str:
        return f"renderer({getattr(self.fn, '__qualname__', self.fn)!r})"


@implementer(IRenderable)
class Transform(RenderableOperatorsMixin):
    """`function(*args, **kwargs)` with the arguments (and the function) rendered first."""

    compare_attrs = ("function", "args", "kwargs")

    def __init__(self, function: Any, *args: Any, **kwargs: Any) -> None:
        if not callable(function) and not IRenderable.providedBy(function):
            config.error("function given to Transform neither callable nor renderable")
        self.function = function
        self.args = args
        self.kwargs = kwargs

    @defer.inlineCallbacks
    def getRenderingFor(self, props: Any):
        function, args, kwargs = yield render_deferred(
            [self.function, list(self.args), self.kwargs], props
        )
        result = yield _as_deferred_or_value(function(*args, **kwargs))
        return result


@implementer(IRenderable)
class FlattenList(RenderableOperatorsMixin):
    """The rendered `nestedlist` with nested `types` flattened into one list."""

    compare_attrs = ("nestedlist", "types")

    def __init__(self, nestedlist: Any, types: tuple[type, ...] = (list, tuple)) -> None:
        self.nestedlist = nestedlist
        self.types = types

    @defer.inlineCallbacks
    def getRenderingFor(self, props: Any):
        value = yield render_deferred(self.nestedlist, props)
        return flatten(value, self.types)


class MissingSecretError(KeyError):
    """A secret asked for by a renderable that no provider knows."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _properties_of(props: Any) -> Any:
    get = getattr(props, "getProperties", None)
    return get() if get is not None else props


def _secrets_manager(props: Any) -> Any:
    master = getattr(_properties_of(props), "master", None)
    if master is None:
        master = getattr(props, "master", None)
    manager = getattr(master, "secrets_manager", None)
    if manager is None:
        named = getattr(master, "namedServices", None)
        if isinstance(named, dict):
            manager = named.get("secrets")
    return manager


@implementer(IRenderable)
class Secret(RenderableOperatorsMixin):
    """The value of secret `secret_name`, looked up at render time."""

    compare_attrs = ("secret_name",)

    def __init__(self, secret_name: str) -> None:
        self.secret_name = secret_name

    @defer.inlineCallbacks
    def getRenderingFor(self, props: Any):
        manager = _secrets_manager(props)
        if manager is None:
            raise MissingSecretError(
                f"secret {self.secret_name!r} cannot be rendered: no secrets provider is "
                "configured (c['secretsProviders'])"
            )
        try:
            details = yield _as_deferred_or_value(manager.get(self.secret_name))
        except Exception as e:
            # a provider that cannot answer: say which secret, and why, in one line
            raise MissingSecretError(
                f"secret {self.secret_name!r} could not be read: {type(e).__name__}: {e}"
            ) from e
        if details is None:
            raise MissingSecretError(f"secret {self.secret_name!r} is not found in any provider")
        value = getattr(details, "value", details)
        use = getattr(_properties_of(props), "useSecret", None)
        if use is not None:
            use(value, self.secret_name)
        return value

    def __repr__(self) -> str:
        return f"Secret({self.secret_name!r})"
