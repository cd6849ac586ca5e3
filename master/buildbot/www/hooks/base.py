"""The `base` dialect, and what every dialect shares.

`base` takes the change fields straight from the request's arguments (query string
or form body): `author` (or `who`), `committer`, `comments`, `revision`, `branch`,
`category`, `revlink`, `repository`, `project`, `codebase`, `when_timestamp` (or
`when`, epoch seconds), and `files` / `properties` as JSON text.
"""

from __future__ import annotations

import datetime
import fnmatch
import json
import re
from typing import Any

from twisted.internet import defer

from buildbot.util import bytes2unicode


class HookForbidden(ValueError):
    """The request is refused: a missing or wrong signature, secret or token (403)."""


def header(request: Any, name: str) -> str | None:
    value = request.getHeader(name.encode("ascii"))
    return None if value is None else bytes2unicode(value, errors="replace")


def arg(request: Any, name: str) -> str | None:
    """The first value of the request argument `name`, as text (None when absent)."""
    values = (request.args or {}).get(name.encode("ascii"))
    if not values:
        return None
    return bytes2unicode(values[0], errors="replace")


def read_body(request: Any) -> bytes:
    """The raw request body (it can be read again)."""
    content = request.content
    if content is None:
        return b""
    content.seek(0)
    body = content.read()
    content.seek(0)
    return body


def json_payload(request: Any, body: bytes | None = None) -> Any:
    """The JSON payload of a webhook: the body itself, or the `payload` form field
    when the sender posts `application/x-www-form-urlencoded`."""
    content_type = (header(request, "Content-Type") or "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        text = arg(request, "payload")
        if text is None:
            raise ValueError("no 'payload' field in the form body")
    else:
        raw = read_body(request) if body is None else body
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(f"the body is not UTF-8: {e}") from None
    try:
        payload = json.loads(text)
    except ValueError as e:
        raise ValueError(f"invalid JSON payload: {e}") from None
    if not isinstance(payload, dict):
        raise ValueError("invalid JSON payload: not an object")
    return payload


def parse_timestamp(value: Any) -> int | None:
    """Epoch seconds of an ISO 8601 date (as webhooks send them), or of a number."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    if re.fullmatch(r"\d+(\.\d*)?", text):
        return int(float(text))
    try:
        dt = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"invalid date {text!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.UTC)
    return int(dt.timestamp())


def flatten(data: Any, prefix: str) -> dict[str, Any]:
    """{'a': {'b': 1}} under prefix 'p' → {'p.a.b': 1} (lists stay values)."""
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}"))
    else:
        out[prefix] = data
    return out


def whitelisted_properties(data: Any, prefix: str, patterns: list[str] | None) -> dict[str, Any]:
    """The flattened entries of `data` whose names match one of the fnmatch `patterns`."""
    if not patterns:
        return {}
    return {
        name: value
        for name, value in flatten(data, prefix).items()
        if any(fnmatch.fnmatch(name, p) for p in patterns)
    }


def codebase_for(codebase: Any, payload: Any) -> Any:
    """The `codebase` option: a value, or a callable given the payload."""
    return codebase(payload) if callable(codebase) else codebase


@defer.inlineCallbacks
def render_secret(master: Any, value: Any):
    """`value`, rendered when it is a renderable such as `util.Secret`."""
    if value is None or isinstance(value, (str, bytes)):
        return bytes2unicode(value)
    from buildbot.process.properties import Properties

    props = Properties()
    props.master = master
    rendered = yield props.render(value)
    return bytes2unicode(rendered)


class BaseHookHandler:
    """A dialect: made once per configuration with the dialect's options (the value
    in `change_hook_dialects`: a dict, or True)."""

    def __init__(self, master: Any, options: Any) -> None:
        self.master = master
        self.options = options if isinstance(options, dict) else {}

    def getChanges(self, request: Any) -> Any:
        files = self._json_arg(request, "files", [])
        properties = self._json_arg(request, "properties", {})
        if not isinstance(files, list):
            raise ValueError("'files' must be a JSON list")
        if not isinstance(properties, dict):
            raise ValueError("'properties' must be a JSON object")
        when = arg(request, "when_timestamp") or arg(request, "when")
        try:
            when_timestamp = int(float(when)) if when else None
        except ValueError:
            raise ValueError(f"invalid when_timestamp {when!r}") from None
        change = {
            "author": arg(request, "author") or arg(request, "who"),
            "committer": arg(request, "committer"),
            "files": files,
            "comments": arg(request, "comments"),
            "revision": arg(request, "revision"),
            "when_timestamp": when_timestamp,
            "branch": arg(request, "branch"),
            "category": arg(request, "category"),
            "revlink": arg(request, "revlink") or "",
            "properties": properties,
            "repository": arg(request, "repository") or "",
            "project": arg(request, "project") or "",
            "codebase": arg(request, "codebase"),
        }
        return [change], None

    @staticmethod
    def _json_arg(request: Any, name: str, default: Any) -> Any:
        text = arg(request, name)
        if not text:
            return default
        try:
            return json.loads(text)
        except ValueError as e:
            raise ValueError(f"invalid JSON in '{name}': {e}") from None


base = BaseHookHandler
