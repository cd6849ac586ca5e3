"""Web authentication: who the user of a request is.

`c['www']['auth']` is one of the classes below (or an OAuth2 one from
`buildbot.www.oauth2`). Logging in stores the user's info (`username`, `email`,
`full_name`, `groups`, ...) in the session cookie (`buildbot.www.session`);
`RemoteUserAuth` instead trusts a header set by a reverse proxy on every request.

`make_auth_resource(www)` serves `/auth/login` and `/auth/logout` of whatever
auth is configured at the time of the request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import warnings
from typing import Any

from twisted.internet import defer, threads
from twisted.python import log
from twisted.web import resource, server

from buildbot.www.authz.authz import Authz
from buildbot.www.session import anonymous, sessions_for


class HttpError(Exception):
    """A request answered with an HTTP error code and a JSON message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class AuthError(HttpError):
    """A request the auth plugin refuses (the HTTP code and message to answer)."""


# --- the configured plugins and the request's user ------------------------------------

# c['www'] without 'authz' allows everything: one shared rule-less Authz will do
_default_authz = Authz()


def get_auth(www: Any) -> AuthBase:
    auth = www.config.get("auth")
    if auth is None:
        auth = _default_auth
    if auth.master is not www.master:
        auth.setMaster(www.master)
    return auth


def get_authz(www: Any) -> Authz:
    authz = www.config.get("authz")
    if authz is None:
        return _default_authz
    if authz.master is not www.master:
        authz.setMaster(www.master)
    return authz


async def current_user(www: Any, request: Any) -> dict[str, Any]:
    """The user info of the request (`{'anonymous': True}` when nobody is logged in).
    Raises AuthError when the auth plugin refuses the request outright."""
    user = await get_auth(www).maybeAutoLogin(www, request)
    if user is not None:
        return user
    return await sessions_for(www).get_user_info(request)


async def user_config(www: Any, request: Any) -> dict[str, Any]:
    """The `auth`, `authz` and `user` entries of the configuration served to the UI."""
    try:
        user = await current_user(www, request)
    except AuthError:
        user = anonymous()
    return {
        "auth": get_auth(www).getConfigDict(),
        "authz": get_authz(www).getConfigDict(),
        "user": user,
    }


def owner_of(user: dict[str, Any]) -> str:
    """Who a control is done for, as recorded in `params['owner']`."""
    for key in ("email", "username", "full_name"):
        if user.get(key):
            return str(user[key])
    return "anonymous"


# --- user info providers ------------------------------------------------------------


class UserInfoProviderBase:
    """Extra user info (email, full name, groups...) looked up after login."""

    name = "noinfo"

    def getUserInfo(self, username: str) -> defer.Deferred[dict[str, Any]]:
        return defer.succeed({"email": username})


# --- auth plugins -------------------------------------------------------------------


class AuthBase:
    name = "auth"

    def __init__(self, userInfoProvider: UserInfoProviderBase | None = None) -> None:
        self.userInfoProvider = userInfoProvider
        self.master: Any = None

    def setMaster(self, master: Any) -> None:
        self.master = master

    def reconfigAuth(self, master: Any, new_config: Any) -> None:
        self.setMaster(master)

    async def maybeAutoLogin(self, www: Any, request: Any) -> dict[str, Any] | None:
        """The user of a request that carries its identity itself (else None)."""
        return None

    async def updateUserInfo(self, user_info: dict[str, Any]) -> dict[str, Any]:
        """`user_info` completed by the user info provider, if any."""
        info = dict(user_info)
        if self.userInfoProvider is not None and "username" in info:
            extra = await self.userInfoProvider.getUserInfo(info["username"])
            info.update(extra or {})
        return info

    def getLoginResource(self, www: Any) -> resource.Resource:
        return _ErrorResource(501, "not implemented")

    def getLogoutResource(self, www: Any) -> resource.Resource:
        return LogoutResource(www)

    def getConfigDict(self) -> dict[str, Any]:
        return {"name": type(self).__name__}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class NoAuth(AuthBase):
    name = "NoAuth"


class BasicLoginAuth(AuthBase):
    """Login with user and password through HTTP basic authentication."""

    def check_credentials(self, username: str, password: str) -> Any:
        """True if the password is right (may be a Deferred)."""
        raise NotImplementedError

    def getLoginResource(self, www: Any) -> resource.Resource:
        return BasicLoginResource(www, self)


class UserPasswordAuth(BasicLoginAuth):
    name = "UserPasswordAuth"

    def __init__(self, users: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        pairs = users.items() if isinstance(users, dict) else users
        self.users = {_text(user): _bytes(pw) for user, pw in pairs}

    def check_credentials(self, username: str, password: str) -> bool:
        expected = self.users.get(username)
        return expected is not None and hmac.compare_digest(expected, _bytes(password))


class CustomAuth(BasicLoginAuth):
    """Subclass and implement `check_credentials(user, password)`."""

    name = "CustomAuth"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)


class HTPasswdAuth(BasicLoginAuth):
    """Users of an Apache htpasswd file, read at each login (so edits apply at once)."""

    name = "HTPasswdAuth"

    def __init__(self, passwdFile: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.passwdFile = passwdFile

    def check_credentials(self, username: str, password: str) -> defer.Deferred[bool]:
        # file reading and hashing (bcrypt is slow on purpose) stay off the reactor
        return threads.deferToThread(self._check, username, _bytes(password))

    def _check(self, username: str, password: bytes) -> bool:
        with open(self.passwdFile, encoding="utf-8") as f:
            for line in f:
                user, sep, hashed = line.rstrip("\r\n").partition(":")
                if sep and user == username:
                    return verify_htpasswd(hashed, password)
        return False


class RemoteUserAuth(AuthBase):
    """The user named by a header a trusted reverse proxy sets (`REMOTE_USER`)."""

    name = "RemoteUserAuth"
    header = b"REMOTE_USER"
    headerRegex = re.compile(rb"(?P<username>[^ @]+)@(?P<realm>[^ @]+)")

    def __init__(self, header: Any = None, headerRegex: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if header is not None:
            self.header = _bytes(header)
        if headerRegex is not None:
            self.headerRegex = re.compile(_bytes(headerRegex))

    async def maybeAutoLogin(self, www: Any, request: Any) -> dict[str, Any] | None:
        value = request.getHeader(self.header)
        if value is None:
            raise AuthError(
                403, f"missing http header {_text(self.header)}. Check your reverse proxy config!"
            )
        m = self.headerRegex.search(value)
        if m is None:
            raise AuthError(
                403,
                f"http header does not match regex! {_text(value)!r} not matching "
                f"{_text(self.headerRegex.pattern)!r}",
            )
        info = {k: _text(v) for k, v in m.groupdict().items() if v is not None}
        return await self.updateUserInfo(info)

    def getLoginResource(self, www: Any) -> resource.Resource:
        return RemoteUserLoginResource(www, self)


_default_auth = NoAuth()


def _bytes(value: Any) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


# --- htpasswd hashes ----------------------------------------------------------------

_ITOA64 = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _to64(value: int, n: int) -> bytes:
    out = bytearray()
    for _ in range(n):
        out.append(_ITOA64[value & 0x3F])
        value >>= 6
    return bytes(out)


def md5_crypt(password: bytes, salt: bytes, magic: bytes = b"$apr1$") -> bytes:
    """The MD5-based crypt of Apache (`$apr1$`) and of glibc (`$1$`)."""
    salt = salt[:8]
    alt = hashlib.md5(password + salt + password).digest()
    ctx = password + magic + salt
    for n in range(len(password), 0, -16):
        ctx += alt[: min(16, n)]
    i = len(password)
    while i:
        ctx += b"\0" if i & 1 else password[:1]
        i >>= 1
    final = hashlib.md5(ctx).digest()
    for i in range(1000):
        c = password if i & 1 else final
        if i % 3:
            c += salt
        if i % 7:
            c += password
        c += final if i & 1 else password
        final = hashlib.md5(c).digest()
    out = b"".join(
        _to64((final[a] << 16) | (final[b] << 8) | final[c], 4)
        for a, b, c in ((0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5))
    )
    return magic + salt + b"$" + out + _to64(final[11], 2)


def _system_crypt(password: bytes, hashed: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt  # gone in Python 3.13
    except ImportError:  # pragma: no cover - depends on the Python version
        log.msg("HTPasswdAuth: this Python cannot check crypt() hashes")
        return False
    computed = crypt.crypt(password.decode("utf-8", "replace"), hashed)
    return computed is not None and hmac.compare_digest(computed, hashed)


def verify_htpasswd(hashed: str, password: bytes) -> bool:
    if hashed.startswith("{SHA}"):
        digest = base64.b64encode(hashlib.sha1(password).digest()).decode("ascii")
        return hmac.compare_digest(digest, hashed[5:])
    for magic in ("$apr1$", "$1$"):
        if hashed.startswith(magic):
            salt = hashed[len(magic) :].split("$", 1)[0].encode("ascii")
            computed = md5_crypt(password, salt, magic.encode("ascii")).decode("ascii")
            return hmac.compare_digest(computed, hashed)
    if hashed.startswith(("$2a$", "$2b$", "$2y$")):
        try:
            import bcrypt
        except ImportError:
            return _system_crypt(password, hashed)
        # the 2y variant is 2b under another name
        return bcrypt.checkpw(password, ("$2b$" + hashed[4:]).encode("ascii"))
    if hashed.startswith("$") or len(hashed) == 13:
        return _system_crypt(password, hashed)
    return hmac.compare_digest(_bytes(hashed), password)


# --- resources ----------------------------------------------------------------------


class AsyncResource(resource.Resource):
    """A leaf rendering GET with `async def render_async(request) -> bytes` (which
    sets its own headers): an `HttpError` is answered with its code and a JSON
    message, anything else is logged and answered 500; nothing is written to a
    client that went away."""

    isLeaf = True

    def render_GET(self, request: server.Request) -> Any:
        d = defer.ensureDeferred(self.render_async(request))

        def done(body: bytes | None) -> None:
            if not request._disconnected and not request.finished:
                if body:
                    request.write(body)
                request.finish()

        def failed(f: Any) -> None:
            if request._disconnected or request.finished:
                return
            if f.check(HttpError):
                send_error(request, f.value.code, f.value.message)
            else:
                log.err(f, f"while answering {request.uri!r}")
                send_error(request, 500, repr(f.value))
            request.finish()

        d.addCallbacks(done, failed)
        return server.NOT_DONE_YET

    async def render_async(self, request: server.Request) -> bytes | None:
        raise NotImplementedError


def send_error(request: Any, code: int, message: str) -> None:
    request.setResponseCode(code)
    request.setHeader(b"content-type", b"application/json")
    request.write(json.dumps({"error": message}).encode("utf-8"))


class _ErrorResource(AsyncResource):
    def __init__(self, code: int, message: str) -> None:
        super().__init__()
        self.code, self.message = code, message

    async def render_async(self, request: server.Request) -> bytes | None:
        raise AuthError(self.code, self.message)


class LoginResourceBase(AsyncResource):
    def __init__(self, www: Any, auth: AuthBase) -> None:
        super().__init__()
        self.www = www
        self.auth = auth

    async def login(self, request: server.Request, user_info: dict[str, Any]) -> None:
        info = await self.auth.updateUserInfo(user_info)
        await sessions_for(self.www).set_user_info(request, info)


class BasicLoginResource(LoginResourceBase):
    auth: BasicLoginAuth

    async def render_async(self, request: server.Request) -> bytes | None:
        username = request.getUser().decode("utf-8", "replace")
        password = request.getPassword().decode("utf-8", "replace")
        ok = bool(username) and await defer.maybeDeferred(
            self.auth.check_credentials, username, password
        )
        if not ok:
            request.setHeader(b"www-authenticate", b'Basic realm="buildbot"')
            raise AuthError(401, "unauthorized")
        await self.login(request, {"username": username})
        return b""


class RemoteUserLoginResource(LoginResourceBase):
    async def render_async(self, request: server.Request) -> bytes | None:
        info = await self.auth.maybeAutoLogin(self.www, request)
        await sessions_for(self.www).set_user_info(request, info or anonymous())
        return b""


class LogoutResource(AsyncResource):
    def __init__(self, www: Any) -> None:
        super().__init__()
        self.www = www

    async def render_async(self, request: server.Request) -> bytes | None:
        sessions_for(self.www).clear(request)
        request.redirect((self.www.buildbotURL + "#/").encode("utf-8"))
        return b""


class AuthRootResource(resource.Resource):
    """`/auth`: login and logout of the auth plugin configured now."""

    def __init__(self, www: Any) -> None:
        super().__init__()
        self.www = www

    def getChild(self, path: bytes, request: server.Request) -> resource.Resource:
        auth = get_auth(self.www)
        if path == b"login":
            return auth.getLoginResource(self.www)
        if path == b"logout":
            return auth.getLogoutResource(self.www)
        return resource.NoResource()


def make_auth_resource(www: Any) -> resource.Resource:
    return AuthRootResource(www)


__all__ = [
    "AuthBase",
    "AuthError",
    "HttpError",
    "CustomAuth",
    "HTPasswdAuth",
    "NoAuth",
    "RemoteUserAuth",
    "UserInfoProviderBase",
    "UserPasswordAuth",
    "current_user",
    "get_auth",
    "get_authz",
    "make_auth_resource",
    "owner_of",
    "user_config",
]
