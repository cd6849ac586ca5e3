"""The parameters of a ForceScheduler's form (re-exported by `forcesched`).

A parameter describes one form field (`getSpec()`, served as `all_fields` by the
data API) and turns the submitted form into build properties or sourcestamps.
The form arrives as `kwargs`: one key per parameter `fullName`, each value a
list. The force pipeline calls, for each parameter,
`updateFromKwargs(master=, properties=, changes=, sourcestamps=, kwargs=,
collector=)`; a parameter takes the keywords it needs. Field errors are
raised as `ValidationError` (or a plain ValueError) and gathered per fullName
by a `ValidationErrorCollector`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

from twisted.internet import defer

from buildbot import config
from buildbot.data.exceptions import InvalidControlArguments

#: source of the properties a forced build gets from the form
FORM_SOURCE = "Force Build Form"

#: form keys the force control uses itself: no parameter may take them
RESERVED_NAMES = frozenset({"owner", "builderNames", "builderid"})

#: "Name <user@host>" or a bare address: what need_email asks for
VALID_EMAIL_ADDR = re.compile(r"\S+@[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+\.?")

# the master's defaults for c['validation'], for masters without a config (tests)
_DEFAULT_VALIDATION = {
    "property_name": re.compile(r"^[\w\.\-/~:]*$"),
    "property_value": re.compile(r"^[\w\.\-/~:]*$"),
}

_BASE_SPEC = (
    "name",
    "fullName",
    "label",
    "tablabel",
    "type",
    "default",
    "required",
    "multiple",
    "regex",
    "hide",
    "maxsize",
    "autopopulate",
    "tooltip",
)


class ValidationError(InvalidControlArguments, ValueError):
    """Form values that do not parse. Raised by one parameter with a message, or by
    the force pipeline with `errors` mapping each field's fullName to why; the web
    layer answers it with JSON-RPC error -32602 and the message (`errors` or text)."""

    def __init__(self, errors: dict[str, str] | str) -> None:
        super().__init__(errors)
        self.errors = dict(errors) if isinstance(errors, dict) else {}

    def __str__(self) -> str:
        if self.errors:
            return "\n".join(f"{k}:{v}" for k, v in self.errors.items())
        return str(self.message)


class ValidationErrorCollector:
    """Runs parameter calls, keeping their validation errors by field fullName."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    async def collectValidationErrors(
        self, name: str | None, fn: Any, *args: Any, **kw: Any
    ) -> Any:
        try:
            return await defer.maybeDeferred(fn, *args, **kw)
        except ValidationError as e:
            if e.errors:
                self.errors.update(e.errors)
            else:
                self.errors[name or ""] = str(e.message)
        except ValueError as e:
            self.errors[name or ""] = str(e)
        return None

    def maybeRaise(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


def _submitted(raw: Any) -> list[Any]:
    """The values submitted for a field, without the empty ones."""
    if raw is None:
        return []
    values = raw if isinstance(raw, list) else [raw]
    return [v for v in values if v is not None and v != ""]


class BaseParameter:
    """`BaseParameter(name, label=None, tablabel=None, regex=None, **kw)`: any
    further keyword (default, required, multiple, hide, maxsize, autopopulate,
    tooltip, or a subclass's own) becomes an attribute."""

    type: ClassVar[str] = ""
    spec_attributes: ClassVar[tuple[str, ...]] = ()

    default: Any = ""
    required = False
    multiple = False
    hide = False
    maxsize: int | None = None
    autopopulate: Any = None
    tooltip = ""

    def __init__(
        self,
        name: str,
        label: str | None = None,
        tablabel: str | None = None,
        regex: str | re.Pattern[str] | None = None,
        **kw: Any,
    ) -> None:
        if "value" in kw:
            value = kw.pop("value")
            config.error(
                f"Use default={value!r} instead of value=... to give a default Parameter value"
            )
        if not isinstance(name, str):
            config.error(f"{type(self).__name__}: the name must be a str, not {name!r}")
        elif name in RESERVED_NAMES:
            config.error(f"{name} cannot be used as a parameter name, because it is reserved")
        self.name = name
        self.parentName: str | None = None
        self.label = name if label is None else label
        self.tablabel = self.label if tablabel is None else tablabel
        self.regex: re.Pattern[str] | None = None
        if regex:
            try:
                self.regex = re.compile(regex) if isinstance(regex, str) else regex
            except re.error as e:
                config.error(f"{type(self).__name__} {name!r}: bad regex {regex!r}: {e}")
        for key, value in kw.items():
            setattr(self, key, value)

    @property
    def fullName(self) -> str | None:
        """The form key: the parent's fullName and the name joined by '_' (None for
        a group without a name)."""
        return "_".join(p for p in (self.parentName, self.name) if p) or None

    def setParent(self, parent: BaseParameter | None) -> None:
        self.parentName = parent.fullName if parent is not None else None

    def getSpec(self) -> dict[str, Any]:
        spec = {key: getattr(self, key) for key in _BASE_SPEC + self.spec_attributes}
        # served as JSON: the pattern, not the compiled object
        spec["regex"] = self.regex.pattern if self.regex is not None else None
        return spec

    # --- the submitted form ---------------------------------------------------

    def getFromKwargs(self, kwargs: dict[str, Any]) -> Any:
        """This field's value in the form (or the default), parsed and validated."""
        values = _submitted(kwargs.get(self.fullName))
        if not values:
            if self.required:
                raise ValidationError(f"'{self.label}' needs to be specified")
            value = self._default_value()
        else:
            value = self.parse_from_args(values)
        self.validate(value)
        return value

    def _default_value(self) -> Any:
        if not self.multiple:
            return self.default
        if isinstance(self.default, (list, tuple)):
            return list(self.default)
        return [] if self.default in ("", None) else [self.default]

    def parse_from_args(self, values: list[Any]) -> Any:
        if self.multiple:
            return [self.parse_from_arg(v) for v in values]
        return self.parse_from_arg(values[0])

    def parse_from_arg(self, s: Any) -> Any:
        return s

    def validate(self, value: Any) -> None:
        for item in value if isinstance(value, list) else [value]:
            if self.regex is not None and isinstance(item, str) and not self.regex.match(item):
                raise ValidationError(
                    f"{self.label}:{item!r} does not match pattern {self.regex.pattern!r}"
                )
            if self.maxsize is not None and isinstance(item, (str, bytes)):
                if len(item) > self.maxsize:
                    raise ValidationError(
                        f"{self.label}: is too large {len(item)} > {self.maxsize}"
                    )

    def updateFromKwargs(
        self, properties: dict[str, Any], kwargs: dict[str, Any], collector: Any, **unused: Any
    ) -> Any:
        """Set the property of this field's name from the form."""
        properties[self.name] = self.getFromKwargs(kwargs)


class FixedParameter(BaseParameter):
    """A hidden field whose value is always its `default`."""

    type = "fixed"
    hide = True

    def getFromKwargs(self, kwargs: dict[str, Any]) -> Any:
        return self.default


class StringParameter(BaseParameter):
    type = "text"
    spec_attributes = ("size",)
    size = 10


class TextParameter(StringParameter):
    type = "textarea"
    spec_attributes = StringParameter.spec_attributes + ("cols", "rows")
    cols = 80
    rows = 20


class IntParameter(StringParameter):
    type = "int"
    default: Any = 0

    def parse_from_arg(self, s: Any) -> int:
        return int(s)


class BooleanParameter(BaseParameter):
    type = "bool"

    def getFromKwargs(self, kwargs: dict[str, Any]) -> bool:
        values = _submitted(kwargs.get(self.fullName))
        if not values:
            if self.required:
                raise ValidationError(f"'{self.label}' needs to be specified")
            return bool(self.default)
        return self.parse_from_arg(values[0])

    def parse_from_arg(self, s: Any) -> bool:
        # the web UI sends JSON booleans; API clients may send text
        if isinstance(s, str):
            return s.strip().lower() in ("true", "on", "yes", "1")
        return s is True or s == 1


class UserNameParameter(StringParameter):
    """`UserNameParameter(name='username', label='Your name:', need_email=True,
    size=30)`: the owner of an anonymous request."""

    type = "username"
    spec_attributes = StringParameter.spec_attributes + ("need_email",)
    size = 30
    need_email = True

    def __init__(self, name: str = "username", label: str = "Your name:", **kw: Any) -> None:
        super().__init__(name, label, **kw)

    def parse_from_arg(self, s: Any) -> Any:
        if self.need_email and s and not VALID_EMAIL_ADDR.search(str(s)):
            raise ValidationError(
                f"{self.name}: please fill in email address in the form 'User <email@email.com>'"
            )
        return s


class ChoiceStringParameter(BaseParameter):
    """A value from `choices`; with `strict` (the default) no other is accepted."""

    type = "list"
    spec_attributes = ("choices", "strict")
    choices: Any = []
    strict = True

    def getChoices(self, master: Any, scheduler: Any, buildername: str | None) -> Any:
        return self.choices

    def _check_choice(self, s: Any) -> None:
        if self.strict and s not in self.choices:
            raise ValidationError(
                f"'{s}' does not belong to list of available choices '{self.choices}'"
            )

    def parse_from_arg(self, s: Any) -> Any:
        self._check_choice(s)
        return s

    def validate(self, value: Any) -> None:
        super().validate(value)
        # a default is not parsed: check it too
        for item in value if isinstance(value, list) else [value]:
            self._check_choice(item)


class FileParameter(BaseParameter):
    """The contents of an uploaded file, at most `maxsize` (10 MiB) long."""

    type = "file"
    maxsize = 1024 * 1024 * 10


class NestedParameter(BaseParameter):
    """`NestedParameter(name, fields, layout='vertical', columns=None, **kw)`: a group
    of fields (children's fullNames are `<name>_<child>`); its property is a dict of
    the children's values, or, without a name, the children's own properties."""

    type = "nested"
    spec_attributes = ("layout", "columns")
    layout = "vertical"

    def __init__(self, name: str, fields: Sequence[BaseParameter], **kw: Any) -> None:
        kw.setdefault("columns", 1 if len(fields) < 4 else 2)
        super().__init__(name, **kw)
        self.fields = list(fields)
        for field in self.fields:
            if not isinstance(field, BaseParameter):
                config.error(f"{type(self).__name__} {name!r}: {field!r} is not a parameter")
        self.setParent(None)

    def setParent(self, parent: BaseParameter | None) -> None:
        super().setParent(parent)
        for field in self.fields:
            if isinstance(field, BaseParameter):
                field.setParent(self)

    def getSpec(self) -> dict[str, Any]:
        return {**super().getSpec(), "fields": [f.getSpec() for f in self.fields]}

    def getFromKwargs(self, kwargs: dict[str, Any]) -> Any:
        # a group has no value of its own: see collectChildProperties
        return self.default

    def collectChildProperties(
        self, kwargs: dict[str, Any], collector: Any, **kw: Any
    ) -> defer.Deferred[dict[str, Any]]:
        """The children's values, by child name (errors go to `collector`)."""

        async def collect() -> dict[str, Any]:
            values: dict[str, Any] = {}
            for field in self.fields:
                await collector.collectValidationErrors(
                    field.fullName,
                    field.updateFromKwargs,
                    kwargs=kwargs,
                    properties=values,
                    collector=collector,
                    **kw,
                )
            return values

        return defer.ensureDeferred(collect())

    def updateFromKwargs(  # type: ignore[override]
        self, properties: dict[str, Any], kwargs: dict[str, Any], collector: Any, **kw: Any
    ) -> defer.Deferred[None]:
        def store(values: dict[str, Any]) -> None:
            if self.name:
                properties[self.name] = values
            else:
                properties.update(values)

        return self.collectChildProperties(kwargs, collector, **kw).addCallback(store)


#: a UI grouping of fields: the same thing as a NestedParameter
ParameterGroup = NestedParameter


class AnyPropertyParameter(NestedParameter):
    """Two text fields, `<name>_name` and `<name>_value`: the user names a property
    and gives its value, both checked with c['validation'] (property_name,
    property_value)."""

    def __init__(self, name: str, **kw: Any) -> None:
        kw.setdefault("label", "")
        fields = [
            StringParameter("name", label="Name:"),
            StringParameter("value", label="Value:"),
        ]
        super().__init__(name, fields, **kw)

    def updateFromKwargs(  # type: ignore[override]
        self,
        properties: dict[str, Any],
        kwargs: dict[str, Any],
        collector: Any,
        master: Any = None,
        **kw: Any,
    ) -> defer.Deferred[None]:
        def store(values: dict[str, Any]) -> None:
            pname, pvalue = values.get("name") or "", values.get("value") or ""
            if not pname:
                return
            validation = getattr(getattr(master, "config", None), "validation", None)
            validation = validation or _DEFAULT_VALIDATION
            if not (
                validation["property_name"].match(pname)
                and validation["property_value"].match(pvalue)
            ):
                raise ValidationError(f"bad property name={pname!r}, value={pvalue!r}")
            properties[pname] = pvalue

        return self.collectChildProperties(kwargs, collector, master=master, **kw).addCallback(
            store
        )


_SOURCESTAMP_FIELDS = ("branch", "project", "repository", "revision")
# a field given no argument: it gets its default parameter
_DEFAULT_FIELD = object()


class PatchParameter(NestedParameter):
    """`PatchParameter(**kw)`, named 'patch': fields body (a file), level (1),
    author, comment and subdir ('.'); pass a parameter under one of those keywords
    to replace that field, or None to leave it out."""

    def __init__(self, **kw: Any) -> None:
        defaults = {
            "body": lambda: FileParameter("body"),
            "level": lambda: IntParameter("level", default=1),
            "author": lambda: StringParameter("author", default=""),
            "comment": lambda: StringParameter("comment", default=""),
            "subdir": lambda: StringParameter("subdir", default="."),
        }
        fields = []
        for key, make in defaults.items():
            given = kw.pop(key, _DEFAULT_FIELD)
            if given is _DEFAULT_FIELD:
                fields.append(make())
            elif given is not None:
                fields.append(given)
        kw.setdefault("name", "patch")
        kw.setdefault("columns", 1)
        super().__init__(fields=fields, **kw)


class CodebaseParameter(NestedParameter):
    """`CodebaseParameter(codebase, name=None, label=None, branch=..., revision=...,
    repository=..., project=..., patch=None, **kw)`: the sourcestamp of one codebase.
    A field left out is a text field, a str makes it fixed to that value, None
    removes it, a parameter replaces it; `patch` is a parameter named 'patch'."""

    def __init__(
        self,
        codebase: str,
        name: str | None = None,
        label: str | None = None,
        branch: Any = _DEFAULT_FIELD,
        revision: Any = _DEFAULT_FIELD,
        repository: Any = _DEFAULT_FIELD,
        project: Any = _DEFAULT_FIELD,
        patch: Any = None,
        **kw: Any,
    ) -> None:
        given = dict(branch=branch, revision=revision, repository=repository, project=project)
        #: sourcestamp key -> the field giving it
        self.sourcestampFields: dict[str, BaseParameter] = {}
        for key in _SOURCESTAMP_FIELDS:
            value = given[key]
            if value is _DEFAULT_FIELD:
                self.sourcestampFields[key] = StringParameter(key, label=f"{key.capitalize()}:")
            elif isinstance(value, str):
                self.sourcestampFields[key] = FixedParameter(key, default=value)
            elif isinstance(value, BaseParameter):
                self.sourcestampFields[key] = value
            elif value is not None:
                config.error(f"CodebaseParameter {codebase!r}: {key} must be a parameter or a str")
        fields = list(self.sourcestampFields.values())
        if patch is not None:
            if not isinstance(patch, BaseParameter) or patch.name != "patch":
                config.error("patch parameter of a codebase must be named 'patch'")
            else:
                fields.append(patch)
                kw.setdefault("columns", 1)
        self.codebase = codebase
        if label is None:
            label = f"Codebase: {codebase}" if codebase else ""
        super().__init__(codebase if name is None else name, fields, label=label, **kw)

    def createSourcestamp(self, values: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The sourcestamp from the children's values (by child name)."""
        ss = {key: values.get(f.name, "") for key, f in self.sourcestampFields.items()}
        patch = values.get("patch")
        if isinstance(patch, dict):
            ss.update({f"patch_{k}": v for k, v in patch.items()})
        return ss

    def updateFromKwargs(  # type: ignore[override]
        self,
        kwargs: dict[str, Any],
        collector: Any,
        sourcestamps: dict[str, dict[str, Any]] | None = None,
        **kw: Any,
    ) -> defer.Deferred[None]:
        kw.pop("properties", None)

        def store(values: dict[str, Any]) -> None:
            if sourcestamps is not None:
                sourcestamps[self.codebase] = self.createSourcestamp(values, kwargs)

        return self.collectChildProperties(kwargs, collector, **kw).addCallback(store)


class InheritBuildParameter(ChoiceStringParameter):
    """`InheritBuildParameter(name, compatible_builds=None, **kw)`: the user picks a
    previous build, `"<buildername>/<number>"` (the choices come from
    `compatible_builds(master, buildername)`); the new build gets its changes (or,
    without changes, its sourcestamps) and its properties from the force form."""

    def __init__(self, name: str, compatible_builds: Any = None, **kw: Any) -> None:
        super().__init__(name, **kw)
        self.compatible_builds = compatible_builds

    def getChoices(self, master: Any, scheduler: Any, buildername: str | None) -> Any:
        if self.compatible_builds is None:
            return defer.succeed([])
        return defer.maybeDeferred(self.compatible_builds, master, buildername)

    def getFromKwargs(self, kwargs: dict[str, Any]) -> str:
        values = _submitted(kwargs.get(self.fullName))
        return str(values[0]) if values else ""

    def updateFromKwargs(  # type: ignore[override]
        self,
        properties: dict[str, Any],
        kwargs: dict[str, Any],
        master: Any = None,
        changes: list[int] | None = None,
        sourcestamps: dict[str, dict[str, Any]] | None = None,
        **unused: Any,
    ) -> defer.Deferred[None]:
        return defer.ensureDeferred(
            self._inherit(master, properties, changes, sourcestamps, self.getFromKwargs(kwargs))
        )

    async def _inherit(
        self,
        master: Any,
        properties: dict[str, Any],
        changes: list[int] | None,
        sourcestamps: dict[str, dict[str, Any]] | None,
        arg: str,
    ) -> None:
        buildername, _, number = arg.rpartition("/")
        build = None
        if buildername and number.isdigit():
            build = await master.data.get(("builders", buildername, "builds", int(number)))
        if build is None:
            raise ValidationError(f"bad build: {arg}")
        buildid = build["buildid"]
        props = await master.data.get(("builds", buildid, "properties")) or {}
        for name, (value, source) in props.items():
            if source == FORM_SOURCE:
                properties[name] = value
        changeids = [c["changeid"] for c in await master.data.get(("builds", buildid, "changes"))]
        if changes is not None and changeids:
            changes.extend(changeids)
            return
        if sourcestamps is None:
            return
        request = await master.data.get(("buildrequests", build["buildrequestid"]))
        buildset = await master.data.get(("buildsets", request["buildsetid"])) if request else None
        for ss in (buildset or {}).get("sourcestamps", []):
            sourcestamps[ss["codebase"]] = {
                k: ss[k] for k in ("branch", "revision", "repository", "project")
            }


class WorkerChoiceParameter(ChoiceStringParameter):
    """`WorkerChoiceParameter(name='workername', **kw)`: run the build on the chosen
    worker (with `enforceChosenWorker` as the builder's canStartBuild); the choice
    `'-any-'` leaves it free."""

    anySentinel = "-any-"
    strict = False

    def __init__(self, name: str = "workername", **kw: Any) -> None:
        super().__init__(name, **kw)

    def getChoices(self, master: Any, scheduler: Any, buildername: str | None) -> Any:
        """'-any-', then the workers of that builder (or of all the scheduler's)."""
        names = [buildername] if buildername else list(scheduler.builderNames)
        builders = getattr(getattr(master, "config", None), "builders", None) or []
        workers = {w for b in builders if b.name in names for w in b.workernames}
        return defer.succeed([self.anySentinel, *sorted(workers)])

    def updateFromKwargs(  # type: ignore[override]
        self, properties: dict[str, Any], kwargs: dict[str, Any], **unused: Any
    ) -> None:
        value = self.getFromKwargs(kwargs)
        if value != self.anySentinel:
            properties[self.name] = value


def enforceChosenWorker(bldr: Any, workerforbuilder: Any, breq: Any) -> bool:
    """A builder's `canStartBuild`: a request whose `workername` property names a
    worker only runs on that worker."""
    chosen = breq.properties.getProperty("workername")
    if not isinstance(chosen, str) or chosen in ("", WorkerChoiceParameter.anySentinel):
        return True
    worker = workerforbuilder.worker
    return chosen == (getattr(worker, "workername", None) or worker.name)
