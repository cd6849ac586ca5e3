"""Message formatters: turn a build (or buildset, or missing worker) into a message.

Every formatter answers `format_message_for_build(master, build, ...)` and
`format_message_for_buildset(master, buildset, builds, ...)` with a dict
`{'body', 'subject', 'type', 'extra_info'}` (via Deferred). The `want_*` flags tell
the generators how much detail to gather into the build dicts beforehand.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import jinja2
from twisted.internet import defer

from buildbot import config
from buildbot.process.properties import Properties
from buildbot.process.results import (
    CANCELLED,
    EXCEPTION,
    FAILURE,
    SUCCESS,
    WARNINGS,
    Results,
    statusToString,
)
from buildbot.reporters import utils
from buildbot.util.service import _returns_deferred

TEMPLATES_DIR = os.path.join(os.path.dirname(__file__), "templates")

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR), undefined=jinja2.Undefined, autoescape=False
)
_html_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR), undefined=jinja2.Undefined, autoescape=True
)


def _environment(template_type: str) -> jinja2.Environment:
    return _html_env if template_type == "html" else _env


def _check_template_type(where: str, template_type: str | None) -> None:
    if template_type not in (None, "plain", "html", "json"):
        config.error(
            f"{where}: template_type must be 'plain', 'html' or 'json', not {template_type!r}"
        )


def get_detected_status_text(mode: Any, results: int | None, previous_results: int | None) -> str:
    """A few words on what happened, used in default messages."""
    mode = mode or ()
    changed = previous_results is not None and previous_results != results
    if results == FAILURE:
        if ("change" in mode or "problem" in mode) and changed:
            return "new failure"
        return "failed build"
    if results == WARNINGS:
        return "problem in the build"
    if results == SUCCESS:
        if "change" in mode and changed:
            return "restored build"
        return "passing build"
    if results == EXCEPTION:
        return "build exception"
    if results is None:
        return "pending build"
    return f"{statusToString(results)} build"


def get_message_summary_text(build: dict[str, Any], results: int | None) -> str:
    state = build.get("state_string") or ""
    suffix = f": {state}" if state else ""
    if results == SUCCESS:
        return "Build succeeded!"
    if results == WARNINGS:
        return f"Build had warnings{suffix}"
    if results == CANCELLED:
        return "Build was cancelled"
    if results is None:
        return f"Build in progress{suffix}"
    return f"BUILD FAILED{suffix}"


def _sourcestamps_text(buildset: dict[str, Any] | None) -> str:
    parts = []
    for ss in (buildset or {}).get("sourcestamps") or []:
        words = [ss.get("repository") or "", ss.get("branch") or "", ss.get("revision") or ""]
        text = " ".join(w for w in words if w)
        if ss.get("codebase"):
            text = f"{ss['codebase']}: {text}"
        parts.append(text)
    return ", ".join(parts)


def _projects_text(buildset: dict[str, Any] | None) -> str:
    projects: list[str] = []
    for ss in (buildset or {}).get("sourcestamps") or []:
        if ss.get("project") and ss["project"] not in projects:
            projects.append(ss["project"])
    return ", ".join(projects)


def _title(master: Any) -> str:
    return getattr(getattr(master, "config", None), "title", None) or "Buildbot"


def get_message_context_for_build(
    master: Any,
    build: dict[str, Any],
    is_buildset: bool = False,
    users: list[str] | None = None,
    mode: Any = None,
) -> dict[str, Any]:
    """The documented template context for one build."""
    results = build.get("results")
    props = build.get("properties") or {}
    prev = build.get("prev_build")
    previous_results = prev["results"] if prev else None
    buildset = build.get("buildset")
    builder = build.get("builder") or {}
    return {
        "results": results,
        "result_names": Results,
        "mode": mode,
        "buildername": builder.get("name", "(unknown)"),
        "workername": props.get("workername", ["<unknown>"])[0],
        "buildset": buildset,
        "sourcestamps": _sourcestamps_text(buildset),
        "previous_results": previous_results,
        "status_detected": get_detected_status_text(mode, results, previous_results),
        "build_url": build.get("url"),
        "buildbot_title": _title(master),
        "buildbot_url": utils._buildbot_url(master),
        "blamelist": list(users or []),
        "summary": get_message_summary_text(build, results),
        "build": build,
        "projects": _projects_text(buildset),
        "is_buildset": is_buildset,
    }


class MessageFormatterBase:
    """The `want_*` flags and the extra context shared by all formatters."""

    template_type = "plain"

    def __init__(
        self,
        ctx: dict[str, Any] | None = None,
        want_properties: bool = True,
        want_steps: bool = False,
        want_logs: bool = False,
        want_logs_content: bool | list[str] = False,
    ) -> None:
        self.context = dict(ctx or {})
        self.want_properties = want_properties
        self.want_steps = want_steps
        self.want_logs = want_logs
        self.want_logs_content = want_logs_content

    def buildAdditionalContext(self, master: Any, ctx: dict[str, Any]) -> Any:
        """Hook for subclasses: enrich `ctx` in place (may return a Deferred)."""
        ctx.update(self.context)

    async def render_message_dict(self, master: Any, context: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @_returns_deferred
    async def format_message_for_build(
        self,
        master: Any,
        build: dict[str, Any],
        is_buildset: bool = False,
        users: list[str] | None = None,
        mode: Any = None,
    ) -> dict[str, Any]:
        ctx = get_message_context_for_build(master, build, is_buildset, users, mode)
        await defer.maybeDeferred(self.buildAdditionalContext, master, ctx)
        return await self.render_message_dict(master, ctx)

    @_returns_deferred
    async def format_message_for_buildset(
        self,
        master: Any,
        buildset: dict[str, Any],
        builds: list[dict[str, Any]],
        is_buildset: bool = True,
        users: list[str] | None = None,
        mode: Any = None,
    ) -> dict[str, Any]:
        ctx = {
            "results": buildset.get("results"),
            "result_names": Results,
            "mode": mode,
            "buildset": buildset,
            "builds": builds,
            "buildbot_title": _title(master),
            "buildbot_url": utils._buildbot_url(master),
            "blamelist": list(users or []),
            "sourcestamps": _sourcestamps_text(buildset),
            "projects": _projects_text(buildset),
            "is_buildset": is_buildset,
        }
        await defer.maybeDeferred(self.buildAdditionalContext, master, ctx)
        return await self.render_message_dict(master, ctx)


class MessageFormatterEmpty(MessageFormatterBase):
    """A message with no body (for reporters that need only the event)."""

    async def render_message_dict(self, master: Any, context: dict[str, Any]) -> dict[str, Any]:
        return {"body": None, "type": "plain", "subject": None, "extra_info": None}


class MessageFormatterFunction(MessageFormatterBase):
    """The body is `function(context)`; the context holds `build` (or `buildset` and
    `builds` for buildsets) and the other template variables."""

    def __init__(
        self, function: Callable[[dict[str, Any]], Any], template_type: str, **kwargs: Any
    ):
        if not callable(function):
            config.error(f"MessageFormatterFunction: function must be callable, not {function!r}")
        _check_template_type("MessageFormatterFunction", template_type)
        super().__init__(**kwargs)
        self.function = function
        self.template_type = template_type

    async def render_message_dict(self, master: Any, context: dict[str, Any]) -> dict[str, Any]:
        body = await defer.maybeDeferred(self.function, context)
        return {"body": body, "type": self.template_type, "subject": None, "extra_info": None}


class MessageFormatterFunctionRaw(MessageFormatterBase):
    """`function(master, context)` returns the message dict itself (any of
    'body', 'type', 'subject', 'extra_info'; 'type' defaults to 'plain')."""

    def __init__(self, function: Callable[[Any, dict[str, Any]], Any], **kwargs: Any) -> None:
        if not callable(function):
            config.error(
                f"MessageFormatterFunctionRaw: function must be callable, not {function!r}"
            )
        super().__init__(**kwargs)
        self.function = function

    async def render_message_dict(self, master: Any, context: dict[str, Any]) -> dict[str, Any]:
        msg = await defer.maybeDeferred(self.function, master, context)
        msg = dict(msg or {})
        return {
            "body": msg.get("body"),
            "type": msg.get("type", "plain"),
            "subject": msg.get("subject"),
            "extra_info": msg.get("extra_info"),
        }


class MessageFormatterRenderable(MessageFormatterBase):
    """Body and subject are renderables (Interpolate, ...) rendered against the
    build's properties."""

    def __init__(self, template: Any, subject: Any = None) -> None:
        super().__init__(want_properties=True)
        self.template = template
        self.subject = subject

    @_returns_deferred
    async def format_message_for_build(
        self, master: Any, build: dict[str, Any], **kwargs: Any
    ) -> dict[str, Any]:
        props = Properties.fromDict(build.get("properties") or {})
        props._master = master
        body = await props.render(self.template)
        subject = await props.render(self.subject) if self.subject is not None else None
        return {"body": body, "type": "plain", "subject": subject, "extra_info": None}

    @_returns_deferred
    async def format_message_for_buildset(
        self, master: Any, buildset: dict[str, Any], builds: list[dict[str, Any]], **kwargs: Any
    ) -> dict[str, Any]:
        # a buildset has no build properties: render against the first build's
        first = builds[0] if builds else {}
        return await self.format_message_for_build(master, first)


def _compile(where: str, what: str, env: jinja2.Environment, source: str) -> jinja2.Template:
    try:
        return env.from_string(source)
    except jinja2.TemplateSyntaxError as e:
        config.error(f"{where}: {what} is not a valid Jinja2 template: {e}")
        return env.from_string("")


class _JinjaFormatter(MessageFormatterBase):
    default_template_name: dict[str, str] = {}
    default_subject = ""

    def __init__(
        self,
        template: str | None = None,
        subject: str | None = None,
        template_type: str | None = None,
        **kwargs: Any,
    ) -> None:
        where = type(self).__name__
        _check_template_type(where, template_type)
        if template_type not in (None, "plain", "html"):
            if template_type == "json":
                config.error(f"{where}: template_type must be 'plain' or 'html'")
            template_type = None
        if template is not None and not isinstance(template, str):
            config.error(f"{where}: template must be a string")
            template = None
        if subject is not None and not isinstance(subject, str):
            config.error(f"{where}: subject must be a string")
            subject = None
        super().__init__(**kwargs)
        self.template_type = template_type or "plain"
        env = _environment(self.template_type)
        if template is None:
            name = self.default_template_name[self.template_type]
            self.body_template = env.get_template(name)
            self.uses_default_template = True
        else:
            self.body_template = _compile(where, "template", env, template)
            self.uses_default_template = False
        # subjects are never HTML
        self.subject_template = _compile(
            where, "subject", _env, subject if subject else self.default_subject
        )

    def _render(self, ctx: dict[str, Any]) -> tuple[str, str]:
        body = self.body_template.render(ctx)
        subject = self.subject_template.render(ctx).strip()
        return body, subject


class MessageFormatter(_JinjaFormatter):
    """Jinja2 templates for builds and buildsets; see the user manual for the context."""

    default_template_name = {"plain": "build_message.txt", "html": "build_message.html"}
    default_subject = (
        "Buildbot {{ (result_names[results] if results is not none else 'pending') | upper }}"
        " in {{ buildbot_title }} on {{ buildername if buildername is defined else 'buildset' }}"
    )

    def __init__(
        self,
        template: str | None = None,
        subject: str | None = None,
        template_type: str | None = None,
        extra_info_cb: Callable[[dict[str, Any]], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if extra_info_cb is not None and not callable(extra_info_cb):
            config.error("MessageFormatter: extra_info_cb must be callable")
        super().__init__(template=template, subject=subject, template_type=template_type, **kwargs)
        if self.uses_default_template:
            # the built-in template lists the steps and their logs
            self.want_steps = True
            self.want_logs = True
        self.extra_info_cb = extra_info_cb

    async def render_message_dict(self, master: Any, context: dict[str, Any]) -> dict[str, Any]:
        body, subject = self._render(context)
        extra_info = None
        if self.extra_info_cb is not None:
            extra_info = await defer.maybeDeferred(self.extra_info_cb, context)
        return {
            "body": body,
            "type": self.template_type,
            "subject": subject,
            "extra_info": extra_info,
        }

    @_returns_deferred
    async def format_message_for_buildset(
        self,
        master: Any,
        buildset: dict[str, Any],
        builds: list[dict[str, Any]],
        is_buildset: bool = True,
        users: list[str] | None = None,
        mode: Any = None,
    ) -> dict[str, Any]:
        """One message per build, bodies joined; the first build's subject."""
        if not builds:
            return {"body": "", "type": self.template_type, "subject": None, "extra_info": None}
        messages = [
            await self.format_message_for_build(master, b, is_buildset, users, mode) for b in builds
        ]
        extra_info = None
        for m in messages:
            if m["extra_info"]:
                extra_info = extra_info or {}
                for key, values in m["extra_info"].items():
                    extra_info.setdefault(key, {}).update(values)
        return {
            "body": "".join(m["body"] for m in messages),
            "type": self.template_type,
            "subject": messages[0]["subject"],
            "extra_info": extra_info,
        }


class MessageFormatterMissingWorker(_JinjaFormatter):
    """Jinja2 templates for a worker that went missing."""

    default_template_name = {"plain": "missing_worker.txt", "html": "missing_worker.html"}
    default_subject = "Buildbot {{ buildbot_title }} worker {{ worker.name }} missing"

    @_returns_deferred
    async def format_message_for_missing_worker(
        self, master: Any, worker: dict[str, Any]
    ) -> dict[str, Any]:
        url = utils._buildbot_url(master)
        ctx = {
            "buildbot_title": _title(master),
            "buildbot_url": url,
            "worker": worker,
            "worker_url": f"{url}#/workers/{worker.get('workerid')}",
        }
        await defer.maybeDeferred(self.buildAdditionalContext, master, ctx)
        body, subject = self._render(ctx)
        return {"body": body, "type": self.template_type, "subject": subject, "extra_info": None}
