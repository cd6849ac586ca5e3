"""The web session: a signed JWT (HS256) in a cookie, holding the user's info.

Nothing is kept on the server but the signing secret, generated once and stored
in the DB state table, so sessions survive a master restart and are shared by
the masters of a cluster. The token's `exp` is the login time plus
`c['www']['cookie_expiration_time']` (one week by default), measured on the
master's reactor clock.
"""

from __future__ import annotations

import datetime
import secrets
import weakref
from typing import Any
from urllib.parse import urlparse

from twisted.python import log
from twisted.web import http

ALGORITHM = "HS256"
DEFAULT_LIFETIME = datetime.timedelta(weeks=1)
ANONYMOUS: dict[str, Any] = {"anonymous": True}

# where the secret lives in the state table
STATE_OBJECT = ("www", "buildbot.www.service.WWWService")
STATE_NAME = "session_secret"


def anonymous() -> dict[str, Any]:
    return dict(ANONYMOUS)


class SessionManager:
    """Reads and writes the session cookie of the site served by one web service."""

    def __init__(self, www: Any) -> None:
        self.www = www
        self._secret: str | None = None
        self._path_of: tuple[str | None, str] = (None, "/")
        self._names: dict[str, tuple[bytes, bytes]] = {}

    async def secret(self) -> str:
        if self._secret is None:
            state = getattr(getattr(self.www.master, "db", None), "state", None)
            if state is None:
                # no database (some tests): sessions last as long as this process
                value = secrets.token_hex(32)
            else:
                objectid = await state.getObjectId(*STATE_OBJECT)
                value = await state.atomicCreateState(
                    objectid, STATE_NAME, lambda: secrets.token_hex(32)
                )
            if self._secret is None:
                self._secret = value
        return self._secret

    def lifetime(self) -> datetime.timedelta:
        return self.www.config.get("cookie_expiration_time") or DEFAULT_LIFETIME

    def _site_path(self) -> str:
        url = self.www.buildbotURL
        if self._path_of[0] != url:
            path = urlparse(url).path or "/"
            self._path_of = (url, path if path.endswith("/") else path + "/")
        return self._path_of[1]

    def cookie_name(self, request: Any) -> bytes:
        # read on every request: made once per buildbotURL
        path = self._site_path()
        names = self._names.get(path)
        if names is None:
            parts = [p for p in path.split("/") if p]
            names = self._names[path] = tuple(
                "_".join([name, *parts]).encode("ascii", "replace")
                for name in ("TWISTED_SESSION", "TWISTED_SECURE_SESSION")
            )
        return names[1] if request.isSecure() else names[0]

    def _now(self) -> float:
        return self.www.reactor.seconds()

    async def encode(self, user_info: dict[str, Any]) -> str:
        import jwt  # only once someone logs in: most masters never need it

        exp = int(self._now() + self.lifetime().total_seconds())
        return jwt.encode({"user_info": user_info, "exp": exp}, await self.secret(), ALGORITHM)

    async def decode(self, token: str | bytes) -> dict[str, Any] | None:
        """The user info in a valid, unexpired token; None for anything else."""
        import jwt

        try:
            claims = jwt.decode(
                token,
                await self.secret(),
                algorithms=[ALGORITHM],
                options={"verify_exp": False, "require": ["exp", "user_info"]},
            )
        except jwt.InvalidTokenError as e:
            log.msg(f"web session: ignoring an invalid session cookie ({e})")
            return None
        # expiry on the reactor's clock (jwt would use the wall clock)
        if not isinstance(claims["exp"], (int, float)) or claims["exp"] <= self._now():
            return None
        info = claims["user_info"]
        return info if isinstance(info, dict) else None

    async def get_user_info(self, request: Any) -> dict[str, Any]:
        token = request.getCookie(self.cookie_name(request))
        if not token:
            return anonymous()
        return await self.decode(token) or anonymous()

    async def set_user_info(self, request: Any, user_info: dict[str, Any]) -> None:
        token = await self.encode(user_info)
        expires = self._now() + self.lifetime().total_seconds()
        self._set_cookie(request, token.encode("ascii"), expires)

    def clear(self, request: Any) -> None:
        self._set_cookie(request, b"", 0)

    def _set_cookie(self, request: Any, value: bytes, expires: float) -> None:
        request.addCookie(
            self.cookie_name(request),
            value,
            path=self._site_path().encode("utf-8"),
            expires=http.datetimeToString(expires),
            secure=request.isSecure(),
            httpOnly=True,
            sameSite="lax",
        )


_managers: weakref.WeakKeyDictionary[Any, SessionManager] = weakref.WeakKeyDictionary()


def sessions_for(www: Any) -> SessionManager:
    """The session manager of a web service (one per service, created on first use)."""
    manager = _managers.get(www)
    if manager is None:
        manager = _managers[www] = SessionManager(www)
    return manager
