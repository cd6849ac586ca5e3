"""`/change_hook/<dialect>`: webhooks that become changes.

`c['www']['change_hook_dialects']` enables dialects by name (`{'github': {...},
'base': True}`); `/change_hook` alone is the `base` dialect. A dialect's handler
comes from the `buildbot.webhooks` plugins (or the `custom_class` option), made
once per configuration with `cls(master, options)`; its `getChanges(request)`
gives `(change_dicts, src)` and each change goes to `data.updates.addChange`.

Answers: 200 with `{"changeids": [...]}`; 400 (`ValueError`) or 403
(`HookForbidden`) with the handler's message and nothing stored; 404 for a
dialect that is not enabled; 401 when `change_hook_auth` is set and the request's
basic auth does not pass it.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from twisted.cred import checkers, credentials, error
from twisted.internet import defer
from twisted.python import log
from twisted.web import resource, server

from buildbot.util import bytes2unicode
from buildbot.www.hooks.base import HookForbidden

DEFAULT_DIALECT = "base"
REALM = "Protected area"


def _send(request: Any, code: int, body: bytes, content_type: bytes) -> None:
    if request.finished or request._disconnected:
        return
    request.setResponseCode(code)
    request.setHeader(b"Content-Type", content_type)
    request.setHeader(b"Content-Length", str(len(body)).encode())
    request.write(body)
    request.finish()


def not_whitelisted(dialect: str) -> str:
    """Buildbot's message for a dialect that is not enabled (or does not exist)."""
    return f"The dialect specified, '{dialect}', wasn't whitelisted in change_hook"


def _send_error(request: Any, code: int, message: str) -> None:
    _send(request, code, message.encode("utf-8") + b"\n", b"text/plain; charset=utf-8")


def _plugin(name: str) -> Any:
    from buildbot.plugins import webhooks

    try:
        return getattr(webhooks, name)
    except AttributeError:
        return None


def check_changes(changes: Any) -> None:
    """Refuse (ValueError) what addChange would fail on, before any change is stored."""
    if not isinstance(changes, (list, tuple)):
        raise ValueError("the dialect gave no list of changes")
    for chdict in changes:
        if not isinstance(chdict, dict):
            raise ValueError(f"not a change: {chdict!r}")
        if not chdict.get("author"):
            raise ValueError("a change needs an author")


class ChangeHookResource(resource.Resource):
    """The hooks of one `change_hook_dialects` setting; the dialect is the first
    path segment left to render."""

    isLeaf = True

    def __init__(self, dialects: dict[str, Any] | None = None, master: Any = None) -> None:
        super().__init__()
        self.dialects = dict(dialects or {})
        self.master = master
        self._handlers: dict[str, Any] = {}

    def render_POST(self, request: server.Request) -> Any:
        d = defer.ensureDeferred(self._handle(request))
        d.addErrback(self._last_resort, request)
        return server.NOT_DONE_YET

    render_GET = render_POST

    def _last_resort(self, f: Any, request: Any) -> None:
        log.err(f, "change hook")
        _send_error(request, 500, "Error processing changes.")

    def dialect_of(self, request: Any) -> str:
        path = [bytes2unicode(p) for p in request.postpath if p]
        if len(path) > 1:
            raise KeyError("/".join(path))
        return path[0] if path else DEFAULT_DIALECT

    def handler_for(self, dialect: str) -> Any:
        """The handler object of `dialect`, made on first use (KeyError if unknown)."""
        if dialect in self._handlers:
            return self._handlers[dialect]
        if dialect not in self.dialects:
            raise KeyError(dialect)
        options = self.dialects[dialect]
        cls = None
        if isinstance(options, dict) and options.get("custom_class") is not None:
            cls = options["custom_class"]
            options = {k: v for k, v in options.items() if k != "custom_class"}
        if cls is None:
            cls = _plugin(dialect)
        if cls is None:
            raise KeyError(dialect)
        handler = self._handlers[dialect] = cls(self.master, options)
        return handler

    async def _handle(self, request: Any) -> None:
        try:
            dialect = self.dialect_of(request)
            handler = self.handler_for(dialect)
        except KeyError as e:
            _send_error(request, 400, not_whitelisted(e.args[0]))
            return
        except Exception as e:
            log.err(None, f"change hook {dialect}: cannot make the handler")
            _send_error(request, 500, f"change hook {dialect!r} is misconfigured: {e}")
            return
        try:
            changes, src = await defer.maybeDeferred(handler.getChanges, request)
            check_changes(changes)
        except HookForbidden as e:
            log.msg(f"change hook {dialect}: refused: {e}")
            _send_error(request, 403, str(e))
            return
        except (ValueError, KeyError, TypeError) as e:
            # KeyError/TypeError: a payload missing a field the dialect needs
            message = str(e) if isinstance(e, ValueError) else f"malformed payload: {e!r}"
            log.msg(f"change hook {dialect}: bad request: {message}")
            _send_error(request, 400, message)
            return
        ids = await self.submit_changes(changes, src, dialect)
        body = json.dumps({"changeids": ids}).encode()
        _send(request, 200, body, b"application/json")

    async def submit_changes(self, changes: list[dict[str, Any]], src: Any, dialect: str) -> list:
        ids = []
        for chdict in changes:
            chdict = dict(chdict)
            change_src = chdict.pop("src", src)
            changeid = await self.master.data.updates.addChange(
                src=bytes2unicode(change_src), **chdict
            )
            ids.append(changeid)
        if ids:
            log.msg(f"change hook {dialect}: added changes {ids}")
        return ids


# --- change_hook_auth -------------------------------------------------------------------


def make_checkers(auth: Any) -> list[Any]:
    """`change_hook_auth` as credential checkers. Entries may be `ICredentialsChecker`s,
    strcred strings (`'file:changehook.passwd'`, `'memory:user:pass'`), (user, password)
    pairs; a dict of users to passwords also works."""
    if isinstance(auth, dict):
        auth = list(auth.items())
    out = []
    pairs = []
    for item in auth or []:
        if isinstance(item, str):
            # strcred loads Twisted's plugin system: only when such a string is used
            from twisted.cred import strcred

            out.append(strcred.makeChecker(item))
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            pairs.append(item)
        elif checkers.ICredentialsChecker.providedBy(item):
            out.append(item)
        else:
            raise ValueError(f"change_hook_auth: not a credentials checker: {item!r}")
    if pairs:
        db = checkers.InMemoryUsernamePasswordDatabaseDontUse()
        for user, password in pairs:
            db.addUser(_as_bytes(user), _as_bytes(password))
        out.append(db)
    return out


def _as_bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def basic_credentials(request: Any) -> credentials.UsernamePassword | None:
    header = request.getHeader(b"authorization")
    if not header:
        return None
    scheme, _, token = header.partition(b" ")
    if scheme.lower() != b"basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(b":")
    if not sep:
        return None
    return credentials.UsernamePassword(user, password)


async def check_basic_auth(request: Any, cred_checkers: list[Any]) -> bool:
    creds = basic_credentials(request)
    if creds is None:
        return False
    for checker in cred_checkers:
        if not any(i.providedBy(creds) for i in checker.credentialInterfaces):
            continue
        try:
            await defer.maybeDeferred(checker.requestAvatarId, creds)
        except (error.UnauthorizedLogin, error.UnhandledCredentials):
            continue
        return True
    return False


class ConfiguredChangeHookResource(resource.Resource):
    """`/change_hook` of the web service: the dialects and auth of its current config."""

    isLeaf = True

    def __init__(self, www: Any) -> None:
        super().__init__()
        self.www = www
        self._hooks: ChangeHookResource | None = None
        self._auth_setting: Any = None
        self._checkers: list[Any] = []

    def current_hooks(self) -> ChangeHookResource | None:
        dialects = self.www.config.get("change_hook_dialects")
        if not dialects:
            return None
        master = self.www.master
        hooks = self._hooks
        # a reconfig with other options makes new handlers; an equal one keeps them
        if hooks is None or hooks.dialects != dialects or hooks.master is not master:
            hooks = self._hooks = ChangeHookResource(dialects, master)
        return hooks

    def current_checkers(self) -> list[Any]:
        setting = self.www.config.get("change_hook_auth")
        if setting is not self._auth_setting:
            self._checkers = make_checkers(setting)
            self._auth_setting = setting
        return self._checkers

    def render(self, request: server.Request) -> Any:
        d = defer.ensureDeferred(self._render(request))
        d.addErrback(self._last_resort, request)
        return server.NOT_DONE_YET

    def _last_resort(self, f: Any, request: Any) -> None:
        log.err(f, "change hook")
        _send_error(request, 500, "Error processing changes.")

    async def _render(self, request: Any) -> None:
        hooks = self.current_hooks()
        if hooks is None:
            postpath = request.postpath
            dialect = bytes2unicode(postpath[0]) if postpath and postpath[0] else "base"
            _send_error(request, 400, not_whitelisted(dialect))
            return
        cred_checkers = self.current_checkers()
        if cred_checkers and not await check_basic_auth(request, cred_checkers):
            request.setHeader(b"WWW-Authenticate", f'Basic realm="{REALM}"'.encode())
            _send_error(request, 401, "Unauthorized")
            return
        if request.method not in (b"GET", b"POST"):
            request.setHeader(b"Allow", b"GET, POST")
            _send_error(request, 405, "use POST")
            return
        await hooks._handle(request)


def make_change_hook_resource(www: Any) -> resource.Resource:
    """The `/change_hook` child of the web service's root."""
    return ConfiguredChangeHookResource(www)
