"""ForceScheduler: builds on demand, from the web UI's form or the `force` control.

The form is made of parameters (`buildbot.schedulers.forceparams`, re-exported
here, where master.cfg files and plugins import them from).
"""

from __future__ import annotations

import re
from typing import Any

from twisted.internet import defer

from buildbot import config
from buildbot.data.exceptions import InvalidControlArguments
from buildbot.schedulers.base import (
    PROPERTY_SOURCE,
    BaseScheduler,
    DisabledSchedulerError,
)
from buildbot.schedulers.forceparams import (
    FORM_SOURCE,
    RESERVED_NAMES,
    VALID_EMAIL_ADDR,
    AnyPropertyParameter,
    BaseParameter,
    BooleanParameter,
    ChoiceStringParameter,
    CodebaseParameter,
    FileParameter,
    FixedParameter,
    InheritBuildParameter,
    IntParameter,
    NestedParameter,
    ParameterGroup,
    PatchParameter,
    StringParameter,
    TextParameter,
    UserNameParameter,
    ValidationError,
    ValidationErrorCollector,
    WorkerChoiceParameter,
    enforceChosenWorker,
)

__all__ = [
    "FORM_SOURCE",
    "RESERVED_NAMES",
    "VALID_EMAIL_ADDR",
    "AnyPropertyParameter",
    "BaseParameter",
    "BooleanParameter",
    "BuilderSelectionError",
    "ChoiceStringParameter",
    "CodebaseParameter",
    "FileParameter",
    "FixedParameter",
    "ForceScheduler",
    "InheritBuildParameter",
    "IntParameter",
    "NestedParameter",
    "ParameterGroup",
    "PatchParameter",
    "StringParameter",
    "TextParameter",
    "UserNameParameter",
    "ValidationError",
    "ValidationErrorCollector",
    "WorkerChoiceParameter",
    "enforceChosenWorker",
]

DEFAULT_REASON_STRING = "A build was forced by '%(owner)s': %(reason)s"

_IDENTIFIER = re.compile(r"^[a-zA-Z_-][a-zA-Z0-9._-]*$")
_NAME_MAX = 50
_PATCH_KEYS = ("patch_body", "patch_level", "patch_author", "patch_comment", "patch_subdir")


class BuilderSelectionError(InvalidControlArguments, KeyError):
    """The client chose no builder of this scheduler (an empty intersection, an
    unknown or non-numeric `builderid`). A KeyError, like the reference's error."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _is_str_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(n, str) for n in value)


def _sourcestamp(codebase: str, values: dict[str, Any]) -> dict[str, Any]:
    """What the form gives for one codebase, as addBuildset takes it."""
    ss: dict[str, Any] = {"codebase": codebase}
    # as Buildbot 4.3 stores them: an empty field (the default branch, the latest
    # revision) is the empty string
    for key in ("repository", "project", "branch", "revision"):
        ss[key] = values.get(key) or ""
    # no patch without a body
    if values.get("patch_body"):
        ss.update({k: values[k] for k in _PATCH_KEYS if k in values})
    return ss


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
        for argname, value in (("username", username), ("reason", reason)):
            if value is not None and not isinstance(value, BaseParameter):
                config.error(f"{owner}: {argname} must be a force parameter, not {value!r}")
        if priority is not None and not isinstance(priority, IntParameter):
            config.error(f"{owner}: priority must be an IntParameter, not {priority!r}")
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
            if not isinstance(c, (str, CodebaseParameter)):
                config.error(f"{owner}: codebases must be codebase names or CodebaseParameters")

    @staticmethod
    def _check_properties(owner: str, properties: Any) -> None:
        if properties is None:
            return
        if not isinstance(properties, (list, tuple)):
            config.error(f"{owner}: properties must be a list of force parameters")
            return
        for p in properties:
            if not isinstance(p, BaseParameter):
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
        if not isinstance(username, BaseParameter):
            username = UserNameParameter()
        if not isinstance(reason, BaseParameter):
            reason = StringParameter(name="reason", default="force build", size=20)
        if not isinstance(priority, IntParameter):
            priority = IntParameter(name="priority", default=0)
        self.username, self.reason, self.priorityParameter = username, reason, priority
        self.reasonString = reasonString if isinstance(reasonString, str) else ""
        self.buttonName = buttonName or self.name
        self.label = label or self.name
        given = codebases if isinstance(codebases, (list, tuple)) and codebases else [""]
        self.codebaseParameters = [
            CodebaseParameter(codebase=c) if isinstance(c, str) else c
            for c in given
            if isinstance(c, (str, CodebaseParameter))
        ]
        self.codebases = {c.codebase: {} for c in self.codebaseParameters}
        given = properties if isinstance(properties, (list, tuple)) else []
        self.forcedProperties = [p for p in given if isinstance(p, BaseParameter)]
        self.all_fields: list[BaseParameter] = [
            NestedParameter("", fields=[self.username, self.reason, self.priorityParameter]),
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

    async def gatherPropertiesAndChanges(
        self, collector: ValidationErrorCollector, form: dict[str, list[Any]]
    ) -> tuple[dict[str, Any], list[int], dict[str, dict[str, Any]]]:
        """The form's properties, changes (ids) and sourcestamps (by codebase)."""
        properties: dict[str, Any] = {}
        changeids: list[int] = []
        sourcestamps: dict[str, dict[str, Any]] = {}
        for param in [*self.codebaseParameters, *self.forcedProperties]:
            await collector.collectValidationErrors(
                param.fullName,
                param.updateFromKwargs,
                master=self.master,
                properties=properties,
                changes=changeids,
                sourcestamps=sourcestamps,
                kwargs=form,
                collector=collector,
            )
        return properties, changeids, sourcestamps

    async def _force(
        self, owner: str | None, builderNames: Any, builderid: Any, kwargs: dict[str, Any]
    ) -> tuple[int, dict[int, int]]:
        if not self.enabled:
            raise DisabledSchedulerError(f"scheduler {self.name!r} is disabled")
        names = await self._selectBuilders(builderNames, builderid)
        form = {k: v if isinstance(v, list) else [v] for k, v in kwargs.items()}
        collector = ValidationErrorCollector()

        async def value(param: BaseParameter) -> Any:
            return await collector.collectValidationErrors(
                param.fullName, param.getFromKwargs, form
            )

        reason = await value(self.reason)
        if owner is None or owner == "anonymous":
            owner = await value(self.username) or "anonymous"
        priority = await value(self.priorityParameter)
        properties, changeids, sourcestamps = await self.gatherPropertiesAndChanges(collector, form)
        collector.maybeRaise()

        props = {name: (v, FORM_SOURCE) for name, v in properties.items()}
        props["reason"] = (reason, FORM_SOURCE)
        props["owner"] = (owner, FORM_SOURCE)
        common = {
            "reason": self.reasonString % {"owner": owner, "reason": reason},
            "properties": props,
            "builderNames": names,
            "priority": priority or 0,
        }
        if changeids:
            return await self.addBuildsetForChanges(changeids=changeids, **common)
        return await self.addBuildsetForSourceStampsWithDefaults(
            sourcestamps=[_sourcestamp(cb, ss) for cb, ss in sourcestamps.items()], **common
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
