"""ForceScheduler: builds on demand, from the web UI's form or the `force` control.

The form is described by parameters. Until the parameter classes
(StringParameter, UserNameParameter, CodebaseParameter...) exist, the defaults
are built here as plain fields with the same specs and form keys, and a user may
pass any parameter-like object: one with a `name` and a `getSpec()`; its value is
read with its `getFromKwargs(kwargs)` if it has one (kwargs values are lists,
as the parameter classes expect), else from `kwargs[fullName or name]`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from twisted.internet import defer

from buildbot import config
from buildbot.data.exceptions import InvalidControlArguments
from buildbot.schedulers.base import (
    PROPERTY_SOURCE,
    BaseScheduler,
    DisabledSchedulerError,
)

DEFAULT_REASON_STRING = "A build was forced by '%(owner)s': %(reason)s"

#: source of the properties a forced build gets from the form
FORM_SOURCE = "Force Build Form"

#: form keys the force control uses itself: no parameter may take them
RESERVED_NAMES = frozenset({"owner", "builderNames", "builderid"})

_IDENTIFIER = re.compile(r"^[a-zA-Z_-][a-zA-Z0-9._-]*$")
_NAME_MAX = 50
# "Name <user@host>"
_EMAIL = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")
_SOURCESTAMP_FIELDS = ("branch", "revision", "repository", "project")


class ValidationError(InvalidControlArguments, ValueError):
    """Form values that do not parse: `errors` maps each field's fullName to why.
    The web layer answers it with JSON-RPC error -32602 and `errors` as message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = dict(errors)


class BuilderSelectionError(InvalidControlArguments, KeyError):
    """The client chose no builder of this scheduler (an empty intersection, an
    unknown or non-numeric `builderid`). A KeyError, like the reference's error."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class _Field:
    """A form field with the spec of the parameter class it stands for."""

    def __init__(
        self,
        name: str,
        type: str,
        label: str | None = None,
        default: Any = "",
        fullName: str | None = None,
        **extra: Any,
    ) -> None:
        self.name = name
        self.type = type
        self.label = name if label is None else label
        self.default = default
        self.fullName = fullName if fullName is not None else name
        self.multiple = False
        self.extra = extra

    def getSpec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "fullName": self.fullName,
            "label": self.label,
            "tablabel": self.label,
            "type": self.type,
            "default": self.default,
            "required": False,
            "multiple": False,
            "regex": None,
            "hide": False,
            "maxsize": None,
            "autopopulate": None,
            "tooltip": "",
            **self.extra,
        }

    def getFromKwargs(self, kwargs: dict[str, list[Any]]) -> Any:
        values = kwargs.get(self.fullName)
        return values[0] if values else self.default


class _Group(_Field):
    """A nested group of fields; its children's fullNames are prefixed with its own."""

    def __init__(self, name: str, fields: Sequence[Any], label: str = "", **extra: Any) -> None:
        super().__init__(name, "nested", label=label, layout="vertical", columns=1)
        # a top-level group without a name has no fullName (its children keep theirs)
        self.fullName = name or None  # type: ignore[assignment]
        self.fields = list(fields)
        self.extra.update(extra)

    def getSpec(self) -> dict[str, Any]:
        return {**super().getSpec(), "fields": [f.getSpec() for f in self.fields]}


def _codebase_group(codebase: str) -> _Group:
    prefix = f"{codebase}_" if codebase else ""
    fields = [
        _Field(n, "text", label=f"{n.capitalize()}:", fullName=prefix + n, size=10)
        for n in _SOURCESTAMP_FIELDS
    ]
    group = _Group(codebase, fields, label=f"Codebase: {codebase}" if codebase else "")
    group.codebase = codebase  # type: ignore[attr-defined]
    return group


def _default_username() -> _Field:
    return _Field("username", "username", label="Your name:", need_email=True, size=30)


def _default_reason() -> _Field:
    return _Field("reason", "text", default="force build", size=20)


def _default_priority() -> _Field:
    return _Field("priority", "int", default=0, size=10)


def _is_parameter(obj: Any) -> bool:
    return isinstance(getattr(obj, "name", None), str) and callable(getattr(obj, "getSpec", None))


def _is_codebase_parameter(obj: Any) -> bool:
    return _is_parameter(obj) and isinstance(getattr(obj, "codebase", None), str)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(n, str) for n in value)


def _form_key(param: Any) -> str:
    return getattr(param, "fullName", None) or param.name


async def _value(param: Any, kwargs: dict[str, list[Any]]) -> Any:
    """The value of `param` in the submitted form (kwargs values are lists)."""
    if callable(getattr(param, "getFromKwargs", None)):
        return await defer.maybeDeferred(param.getFromKwargs, kwargs)
    values = kwargs.get(_form_key(param))
    if not values:
        return getattr(param, "default", "")
    return values if getattr(param, "multiple", False) else values[0]


class ForceScheduler(BaseScheduler):
    """`ForceScheduler(name, builderNames, username=None, reason=None,
    reasonString=..., buttonName=None, label=None, codebases=None, properties=None,
    priority=None)`: see config.md §6."""

    def checkConfig(  # type: ignore[override]
        self,
        builderNames: Any,
        username: Any = None,
        reason: Any = None,
        reasonString: str = DEFAULT_REASON_STRING,
        buttonName: str | None = None,
        label: str | None = None,
        codebases: Any = None,
        properties: Any = None,
        priority: Any = None,
    ) -> None:
        owner = f"ForceScheduler {self.name!r}"
        if not (
            isinstance(self.name, str)
            and _IDENTIFIER.match(self.name)
            and len(self.name) <= _NAME_MAX
        ):
            config.error(f"{owner}: the name must be an identifier of at most {_NAME_MAX} chars")
        if not _is_str_list(builderNames):
            config.error(f"{owner}: builderNames must be a list of builder names (str)")
        for argname, value in (("username", username), ("reason", reason), ("priority", priority)):
            if value is not None and not _is_parameter(value):
                config.error(f"{owner}: {argname} must be a force parameter, not {value!r}")
        if not isinstance(reasonString, str):
            config.error(f"{owner}: reasonString must be a str")
        for argname, value in (("buttonName", buttonName), ("label", label)):
            if value is not None and not isinstance(value, str):
                config.error(f"{owner}: {argname} must be a str")
        self._check_codebases(owner, codebases)
        self._check_properties(owner, properties)

    @staticmethod
    def _check_codebases(owner: str, codebases: Any) -> None:
        if codebases is None:
            return
        if not isinstance(codebases, (list, tuple)) or not codebases:
            config.error(f"{owner}: codebases must be a non-empty list of codebase names")
            return
        for c in codebases:
            if isinstance(c, str):
                continue
            if not _is_codebase_parameter(c):
                config.error(f"{owner}: codebases must be codebase names or CodebaseParameters")

    @staticmethod
    def _check_properties(owner: str, properties: Any) -> None:
        if properties is None:
            return
        if not isinstance(properties, (list, tuple)):
            config.error(f"{owner}: properties must be a list of force parameters")
            return
        for p in properties:
            if not _is_parameter(p):
                config.error(f"{owner}: properties must be force parameters, not {p!r}")
            elif p.name in RESERVED_NAMES:
                config.error(f"{owner}: parameter name {p.name!r} is reserved")

    def applyConfig(  # type: ignore[override]
        self,
        builderNames: Any,
        username: Any,
        reason: Any,
        reasonString: Any,
        buttonName: Any,
        label: Any,
        codebases: Any,
        properties: Any,
        priority: Any,
    ) -> None:
        self.builderNames = list(builderNames) if _is_str_list(builderNames) else []
        self.properties = {"scheduler": (self.name, PROPERTY_SOURCE)}
        # here priority is a form parameter; buildsets get the value submitted
        self.priority = None
        self.username = username if _is_parameter(username) else _default_username()
        self.reason = reason if _is_parameter(reason) else _default_reason()
        self.priorityParameter = priority if _is_parameter(priority) else _default_priority()
        self.reasonString = reasonString if isinstance(reasonString, str) else ""
        self.buttonName = buttonName or self.name
        self.label = label or self.name
        self.codebaseParameters = [
            _codebase_group(c) if isinstance(c, str) else c
            for c in (codebases if isinstance(codebases, (list, tuple)) and codebases else [""])
            if isinstance(c, str) or _is_codebase_parameter(c)
        ]
        self.codebases = {c.codebase: {} for c in self.codebaseParameters}
        given = properties if isinstance(properties, (list, tuple)) else []
        self.forcedProperties = [p for p in given if _is_parameter(p)]
        self.all_fields: list[Any] = [
            _Group("", [self.username, self.reason, self.priorityParameter]),
            *self.codebaseParameters,
            *self.forcedProperties,
        ]

    def getAllFieldsSpec(self) -> list[dict[str, Any]]:
        """The form, as the `all_fields` of the forcescheduler entity."""
        return [f.getSpec() for f in self.all_fields]

    # --- forcing --------------------------------------------------------------

    def force(
        self, owner: str | None, builderNames: Any = None, builderid: Any = None, **kwargs: Any
    ) -> defer.Deferred[tuple[int, dict[int, int]]]:
        """Add a buildset from the form values in `kwargs` (one key per parameter
        fullName; scalars or lists) on `builderNames` (intersected with ours) or on
        the builder `builderid`, or on all of ours. Returns (bsid, {builderid: brid}).

        Raises DisabledSchedulerError, BuilderSelectionError or ValidationError.
        """
        return defer.ensureDeferred(self._force(owner, builderNames, builderid, kwargs))

    async def _force(
        self, owner: str | None, builderNames: Any, builderid: Any, kwargs: dict[str, Any]
    ) -> tuple[int, dict[int, int]]:
        if not self.enabled:
            raise DisabledSchedulerError(f"scheduler {self.name!r} is disabled")
        names = await self._selectBuilders(builderNames, builderid)
        form = {k: v if isinstance(v, list) else [v] for k, v in kwargs.items()}
        errors: dict[str, str] = {}

        async def collect(param: Any) -> Any:
            try:
                return await _value(param, form)
            except ValidationError as e:
                errors.update(e.errors)
            except ValueError as e:
                errors[_form_key(param)] = str(e)
            return None

        reason = await collect(self.reason)
        if owner is None or owner == "anonymous":
            username = await collect(self.username)
            if username and getattr(self.username, "extra", {}).get("need_email"):
                if not _EMAIL.search(str(username)):
                    errors[_form_key(self.username)] = (
                        "please fill in email address in the 'Name <email>' format"
                    )
            owner = username or "anonymous"
        priority = await collect(self.priorityParameter)
        try:
            priority = int(priority or 0)
        except (TypeError, ValueError):
            errors[_form_key(self.priorityParameter)] = f"invalid integer value {priority!r}"
        forced = {}
        for param in self.forcedProperties:
            forced[param.name] = (await collect(param), FORM_SOURCE)
        sourcestamps = [self._sourcestamp(param, form) for param in self.codebaseParameters]
        if errors:
            raise ValidationError(errors)

        properties = {
            **forced,
            "reason": (reason, FORM_SOURCE),
            "owner": (owner, FORM_SOURCE),
        }
        return await self.addBuildsetForSourceStampsWithDefaults(
            reason=self.reasonString % {"owner": owner, "reason": reason},
            sourcestamps=sourcestamps,
            properties=properties,
            builderNames=names,
            priority=priority,
        )

    async def _selectBuilders(self, builderNames: Any, builderid: Any) -> list[str]:
        selected = list(self.builderNames)
        if builderNames is not None:
            wanted = {builderNames} if isinstance(builderNames, str) else set(builderNames)
            selected = [n for n in selected if n in wanted]
        if builderid is not None:
            if isinstance(builderid, bool) or not (
                isinstance(builderid, int)
                or (isinstance(builderid, str) and builderid.strip().isdigit())
            ):
                raise BuilderSelectionError(f"builderid must be an integer, not {builderid!r}")
            builder = await self.master.data.get(("builders", int(builderid)))
            if builder is None:
                raise BuilderSelectionError(f"no builder with id {builderid}")
            selected = [n for n in selected if n == builder["name"]]
        if not selected:
            raise BuilderSelectionError("builderNames not specified or not supported")
        return selected

    @staticmethod
    def _sourcestamp(param: Any, form: dict[str, list[Any]]) -> dict[str, Any]:
        codebase = param.codebase
        prefix = f"{codebase}_" if codebase else ""
        ss: dict[str, Any] = {"codebase": codebase}
        for name in _SOURCESTAMP_FIELDS:
            values = form.get(prefix + name)
            value = values[0] if values else ""
            # an empty branch or revision means the default one
            if name in ("branch", "revision"):
                value = value or None
            ss[name] = value
        return ss
