"""`Interpolate` (and the legacy `WithProperties`): `%`-formatting against properties.

`Interpolate(fmt, *args)` formats `fmt % tuple(rendered args)`. Without
positional arguments, each `%(<selector>:<name>[:<op>])s` key of `fmt` becomes a
`_Lookup` renderable, parsed once at construction:

    prop:<name>              a property
    src:<codebase>:<attr>    an attribute of that codebase's sourcestamp
    kw:<name>                a keyword argument of the Interpolate
    worker:<key>             the worker's info
    secret:<name>            a secret

and `<op>` is `-repl` (repl if missing), `~repl` (repl if missing or falsy),
`+repl` (repl if present, else ''), `?|t|f` (t if present, else f) or `#?|t|f`
(t if truthy, else f); replacement texts are Interpolates themselves. Mistakes
are reported through `config.error` when the object is made.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from zope.interface import implementer

from buildbot import config
from buildbot.interfaces import IRenderable
from buildbot.process.lookups import (
    _Lookup,
    _PropertyDict,
    _SecretIndexer,
    _SourceStampDict,
    _WorkerInfoDict,
)
from buildbot.process.renderables import RenderableOperatorsMixin, render_deferred

_NAME_RE = re.compile(r"^[\w._-]*$")


class _KeyCollector:
    """A mapping for `%` that records the keys asked for (0 formats under any conversion)."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def __getitem__(self, key: str) -> int:
        if key not in self.keys:
            self.keys.append(key)
        return 0


def format_keys(fmtstring: str) -> list[str]:
    """The `%(key)` names used by `fmtstring`, in order; raises on a malformed string."""
    collector = _KeyCollector()
    fmtstring % collector
    return collector.keys


def _split_balanced(delim: str, text: str) -> tuple[str, str]:
    """Split `text` at the first `delim` outside parentheses; ValueError if none."""
    depth = 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                break
        elif ch == delim and depth == 0:
            return text[:i], text[i + 1 :]
    raise ValueError(text)


def _split_name(arg: str) -> tuple[str, str | None]:
    name, sep, repl = arg.partition(":")
    return name, (repl if sep else None)


@implementer(IRenderable)
class Interpolate(RenderableOperatorsMixin):
    """A string formatted at build time from properties, sourcestamps, worker info,
    secrets or its own keyword arguments (see the module docstring)."""

    compare_attrs = ("fmtstring", "args", "kwargs")

    def __init__(self, fmtstring: str, *args: Any, **kwargs: Any) -> None:
        self.fmtstring = fmtstring
        self.args = args
        self.kwargs = kwargs
        self.interpolations: dict[str, Any] = {}
        if args and kwargs:
            config.error("Interpolate takes either positional or keyword substitutions, not both.")
            return
        if not args:
            self._parse(fmtstring)

    def __repr__(self) -> str:
        if self.args:
            return f"Interpolate({self.fmtstring!r}, *{self.args!r})"
        if self.kwargs:
            return f"Interpolate({self.fmtstring!r}, **{self.kwargs!r})"
        return f"Interpolate({self.fmtstring!r})"

    # --- parsing --------------------------------------------------------------

    def _parse(self, fmtstring: str) -> None:
        try:
            keys = format_keys(fmtstring)
        except (TypeError, ValueError, KeyError) as e:
            config.error(f"invalid Interpolate format string {fmtstring!r}: {e}")
            return
        for key in keys:
            lookup = self._parse_key(key)
            if lookup is not None:
                self.interpolations[key] = lookup

    def _parse_key(self, key: str) -> Any:
        selector, sep, arg = key.partition(":")
        if not sep:
            config.error(f"invalid Interpolate substitution without selector '{key}'")
            return None
        parser = self._selectors.get(selector)
        if parser is None:
            config.error(f"invalid Interpolate selector '{selector}'")
            return None
        parsed = parser(self, arg)
        if parsed is None:
            return None
        mapping, name, repl = parsed
        return self._make_lookup(mapping, name, repl)

    def _check_name(self, what: str, name: str, selector: str, arg: str) -> bool:
        if _NAME_RE.match(name):
            return True
        config.error(f"{what} must be alphanumeric for {selector} Interpolation '{arg}'")
        return False

    def _parse_prop(self, arg: str) -> Any:
        name, repl = _split_name(arg)
        if not self._check_name("Property name", name, "prop", arg):
            return None
        return _PropertyDict(), name, repl

    def _parse_secret(self, arg: str) -> Any:
        name, repl = _split_name(arg)
        if not self._check_name("Secret name", name, "secret", arg):
            return None
        return _SecretIndexer(), name, repl

    def _parse_worker(self, arg: str) -> Any:
        name, repl = _split_name(arg)
        if not self._check_name("Worker property name", name, "worker", arg):
            return None
        return _WorkerInfoDict(), name, repl

    def _parse_kw(self, arg: str) -> Any:
        name, repl = _split_name(arg)
        if not self._check_name("Keyword", name, "kw", arg):
            return None
        return self.kwargs, name, repl

    def _parse_src(self, arg: str) -> Any:
        parts = arg.split(":", 2)
        if len(parts) < 2:
            config.error(f"Must specify both codebase and attribute for src Interpolation '{arg}'")
            return None
        codebase, attr = parts[0], parts[1]
        repl = parts[2] if len(parts) == 3 else None
        if not self._check_name("Codebase", codebase, "src", arg):
            return None
        if not self._check_name("Attribute", attr, "src", arg):
            return None
        return _SourceStampDict(codebase), attr, repl

    _selectors: dict[str, Callable[[Interpolate, str], Any]] = {
        "prop": _parse_prop,
        "secret": _parse_secret,
        "worker": _parse_worker,
        "kw": _parse_kw,
        "src": _parse_src,
    }

    # --- operators --------------------------------------------------------------

    def _sub(self, text: str) -> Interpolate:
        return Interpolate(text, **self.kwargs)

    def _make_lookup(self, mapping: Any, name: str, repl: str | None) -> Any:
        if repl is None:
            return _Lookup(mapping, name)
        if repl.startswith("-"):
            return _Lookup(mapping, name, default=self._sub(repl[1:]))
        if repl.startswith("~"):
            return _Lookup(mapping, name, default=self._sub(repl[1:]), defaultWhenFalse=True)
        if repl.startswith("+"):
            return _Lookup(mapping, name, hasKey=self._sub(repl[1:]))
        if repl.startswith("?"):
            return self._ternary(mapping, name, repl[1:], defaultWhenFalse=False)
        if repl.startswith("#?"):
            return self._ternary(mapping, name, repl[2:], defaultWhenFalse=True)
        config.error(f"invalid Interpolate default type '{repl[:1]}'")
        return None

    def _ternary(self, mapping: Any, name: str, text: str, defaultWhenFalse: bool) -> Any:
        if not text:
            config.error("invalid Interpolate ternary expression: no delimiter")
            return None
        delim = text[0]
        if delim == "(":
            config.error("invalid Interpolate ternary delimiter '('")
            return None
        try:
            when_true, when_false = _split_balanced(delim, text[1:])
        except ValueError:
            config.error(
                f"invalid Interpolate ternary expression '{text[1:]}' with delimiter '{delim}'"
            )
            return None
        return _Lookup(
            mapping,
            name,
            default=self._sub(when_false),
            hasKey=self._sub(when_true),
            defaultWhenFalse=defaultWhenFalse,
        )

    # --- rendering --------------------------------------------------------------

    @defer.inlineCallbacks
    def getRenderingFor(self, props: Any):
        if self.args:
            args = yield render_deferred(list(self.args), props)
            return self.fmtstring % tuple(args)
        values = yield render_deferred(self.interpolations, props)
        return self.fmtstring % values


class _PropertyMap:
    """The mapping `WithProperties` formats against: `name`, `name:-repl`,
    `name:~repl` and `name:+repl` keys, plus its temporary lambda values."""

    _OP_RE = re.compile(r"^(?P<name>[^:]+):(?P<op>[-~+])(?P<repl>.*)$", re.DOTALL)

    def __init__(self, properties: Any) -> None:
        self.properties = properties
        self.temp_vals: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        if key in self.temp_vals:
            value = self.temp_vals[key]
        else:
            value = self._lookup(key)
        return "" if value is None else value

    def _lookup(self, key: str) -> Any:
        props = self.properties
        match = self._OP_RE.match(key)
        if match is None:
            if key not in props:
                raise KeyError(f"WithProperties: property {key!r} is not set")
            return props[key]
        name, op, repl = match.group("name", "op", "repl")
        if op == "-":
            return props[name] if name in props else repl
        if op == "~":
            return props[name] if name in props and props[name] else repl
        return repl if name in props else ""

    def add_temporary_value(self, key: str, value: Any) -> None:
        self.temp_vals[key] = value

    def clear_temporary_values(self) -> None:
        self.temp_vals = {}


@implementer(IRenderable)
class WithProperties(RenderableOperatorsMixin):
    """Legacy: `fmtstring % (property values of args)`, or `fmtstring % map` where the
    map holds the properties and, for each keyword, `fn(props)`."""

    compare_attrs = ("fmtstring", "args", "lambda_subs")

    def __init__(self, fmtstring: str, *args: str, **lambda_subs: Callable[[Any], Any]) -> None:
        self.fmtstring = fmtstring
        self.args = args
        self.lambda_subs = lambda_subs
        if args and lambda_subs:
            raise ValueError(
                "WithProperties takes either positional or keyword substitutions, not both."
            )
        for key, fn in lambda_subs.items():
            if not callable(fn):
                raise ValueError(f'Value for lambda substitution "{key}" must be callable.')

    def getRenderingFor(self, props: Any) -> str:
        pmap = _PropertyMap(props.getProperties())
        if self.args:
            return self.fmtstring % tuple(pmap[name] for name in self.args)
        for key, fn in self.lambda_subs.items():
            pmap.add_temporary_value(key, fn(props))
        return self.fmtstring % pmap
