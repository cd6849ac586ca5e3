"""`/avatar?email=&username=&size=`: a picture for a user, from the configured methods.

`c['www']['avatar_methods']` is one method or a list, asked in order. A method's
`getUserAvatar(email, username, size, defaultAvatarUrl)` answers (maybe through a
Deferred) with a URL to redirect to, a `(content_type, bytes)` image, or None when
it knows no picture; raising `Redirect(url)` redirects too. When no method knows
one, the answer redirects to the UI's `img/nobody.png`, as Buildbot does.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote, urlencode

from twisted.internet import defer
from twisted.python import log
from twisted.web import server

from buildbot.config.errors import error
from buildbot.www.auth import AsyncResource

DEFAULT_SIZE = 32
DEFAULT_AVATAR_URL = "img/nobody.png"
GITHUB_API = "https://api.github.com"
COMMIT_SEARCH_ACCEPT = "application/vnd.github.v3+json,application/vnd.github.cloak-preview"


class Redirect(Exception):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


class AvatarBase:
    name = "noavatar"
    master: Any = None

    def getConfigDict(self) -> dict[str, Any]:
        return {"name": self.name}

    def getUserAvatar(
        self, email: str | None, username: str | None, size: int, defaultAvatarUrl: str
    ) -> Any:
        return None


class AvatarGravatar(AvatarBase):
    name = "gravatar"
    default = "retro"

    def getUserAvatar(
        self, email: str | None, username: str | None, size: int, defaultAvatarUrl: str
    ) -> str:
        digest = hashlib.md5((email or "").strip().lower().encode("utf-8")).hexdigest()
        return f"//www.gravatar.com/avatar/{digest}?{urlencode({'d': self.default, 's': size})}"


class AvatarGitHub(AvatarBase):
    """The picture of a GitHub account: by user name, else by the email of the account,
    else by the author of the latest commit with that email."""

    name = "github"

    def __init__(
        self,
        github_api_endpoint: str | None = None,
        token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        debug: bool = False,
        verify: bool = True,
    ) -> None:
        self.github_api_endpoint = (github_api_endpoint or GITHUB_API).rstrip("/")
        if token is not None and (client_id is not None or client_secret is not None):
            error("client_id and client_secret must not be provided when token is")
        if (client_id is None) != (client_secret is None):
            error("client_id and client_secret must be both provided or none")
        self.token = token
        self.client_id = client_id
        self.client_secret = client_secret
        self.debug = debug
        self.verify = verify

    async def _http(self) -> Any:
        headers = {"User-Agent": "Buildbot", "Accept": "application/vnd.github.v3+json"}
        if self.token is not None:
            headers["Authorization"] = f"token {self.token}"
        auth = None
        if self.client_id is not None:
            auth = (self.client_id, self.client_secret)
        # the HTTP client stack is loaded only by masters that use this method
        from buildbot.util.httpclientservice import HTTPClientService

        return await HTTPClientService.getService(
            self.master,
            self.github_api_endpoint,
            auth=auth,
            headers=headers,
            debug=self.debug,
            verify=self.verify,
        )

    async def _get_json(self, http: Any, ep: str, **kwargs: Any) -> Any:
        res = await http.get(ep, **kwargs)
        if res.code != 200:
            if self.debug:
                log.msg(f"AvatarGitHub: {ep} answered {res.code}: {await res.content()!r}")
            return None
        return await res.json()

    async def _by_username(self, http: Any, username: str) -> str | None:
        body = await self._get_json(http, f"/users/{quote(username, safe='')}")
        return body.get("avatar_url") if isinstance(body, dict) else None

    async def _by_email(self, http: Any, email: str) -> str | None:
        body = await self._get_json(http, "/search/users", params={"q": f"{email} in:email"})
        for item in (body or {}).get("items") or []:
            if item.get("avatar_url"):
                return item["avatar_url"]
        # an account hiding its email may still have authored commits with it
        body = await self._get_json(
            http,
            "/search/commits",
            params={"q": f"author-email:{email}", "sort": "committer-date", "per_page": "1"},
            headers={"Accept": COMMIT_SEARCH_ACCEPT},
        )
        for item in (body or {}).get("items") or []:
            author = item.get("author") or {}
            if author.get("avatar_url"):
                return author["avatar_url"]
        return None

    async def _lookup(self, email: str | None, username: str | None, size: int) -> str | None:
        http = await self._http()
        url = None
        if username:
            url = await self._by_username(http, username)
        if url is None and email:
            url = await self._by_email(http, email)
        if url is None:
            return None
        return f"{url}{'&' if '?' in url else '?'}s={size}"

    def getUserAvatar(
        self, email: str | None, username: str | None, size: int, defaultAvatarUrl: str
    ) -> defer.Deferred[str | None]:
        return defer.ensureDeferred(self._lookup(email, username, size))


def avatar_methods(www_config: dict[str, Any]) -> list[Any]:
    methods = www_config.get("avatar_methods")
    if methods is None:
        return [_default_method]
    return list(methods) if isinstance(methods, (list, tuple)) else [methods]


_default_method = AvatarGravatar()


def _arg(request: server.Request, name: bytes) -> str | None:
    values = request.args.get(name)
    return values[0].decode("utf-8", "replace") if values else None


def _size(request: server.Request) -> int:
    try:
        size = int(_arg(request, b"size") or DEFAULT_SIZE)
    except ValueError:
        return DEFAULT_SIZE
    return size if size > 0 else DEFAULT_SIZE


class AvatarResource(AsyncResource):
    def __init__(self, www: Any) -> None:
        super().__init__()
        self.www = www

    async def _find(self, email: str | None, username: str | None, size: int) -> Any:
        for method in avatar_methods(self.www.config):
            if getattr(method, "master", None) is not self.www.master:
                method.master = self.www.master
            try:
                result = await defer.maybeDeferred(
                    method.getUserAvatar, email, username, size, DEFAULT_AVATAR_URL
                )
            except Redirect as r:
                return r.url
            except Exception:
                # a broken or unreachable service must not hide the next method's answer
                log.err(None, f"avatar method {getattr(method, 'name', method)!r} failed")
                continue
            if result:
                return result
        return DEFAULT_AVATAR_URL

    async def render_async(self, request: server.Request) -> bytes:
        email, username = _arg(request, b"email"), _arg(request, b"username")
        result = await self._find(email or None, username or None, _size(request))
        if isinstance(result, tuple):
            content_type, data = result
            request.setHeader(b"content-type", content_type.encode("ascii"))
            request.setHeader(b"cache-control", b"public, max-age=86400")
            return data
        request.redirect(result.encode("utf-8"))
        return b""
