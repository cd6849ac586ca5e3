"""OAuth2 login (authorization-code flow): Google, GitHub, GitLab.

`/auth/login` without a `code` redirects the browser to the provider; the
provider sends it back to `/auth/login?code=...&state=...`, where the code is
exchanged for a token, the user's info is fetched with it, and the session is
opened. Every HTTP call goes through `HTTPClientService` (treq, on the reactor).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

from twisted.web import server

from buildbot.util.httpclientservice import HTTPClientService, HTTPSession
from buildbot.www.auth import AuthBase, AuthError, LoginResourceBase, _text


class OAuth2Auth(AuthBase):
    name = "oauth2"
    faIcon = "fa-sign-in"
    authUri = ""
    tokenUri = ""
    resourceEndpoint = ""
    authUriAdditionalParams: dict[str, str] = {}
    tokenUriAdditionalParams: dict[str, str] = {}

    def __init__(
        self,
        clientId: str,
        clientSecret: str,
        autologin: bool = False,
        ssl_verify: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.clientId = clientId
        self.clientSecret = clientSecret
        self.autologin = autologin
        self.sslVerify = ssl_verify

    def getConfigDict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "oauth2": True,
            "fa_icon": self.faIcon,
            "autologin": self.autologin,
        }

    def getLoginResource(self, www: Any) -> OAuth2LoginResource:
        return OAuth2LoginResource(www, self)

    def redirect_uri(self, www: Any) -> str:
        return www.buildbotURL + "auth/login"

    def getLoginURL(self, www: Any, redirect_url: str | None) -> str:
        params = {
            "client_id": self.clientId,
            "redirect_uri": self.redirect_uri(www),
            "response_type": "code",
            **self.authUriAdditionalParams,
        }
        if redirect_url:
            params["state"] = redirect_url
        return f"{self.authUri}?{urlencode(params)}"

    async def session(self, base_url: str, token: str | None = None) -> HTTPSession:
        http = await HTTPClientService.getService(self.master, base_url)
        headers = {"Accept": "application/json", "User-Agent": "buildbot"}
        if token is not None:
            headers["Authorization"] = f"{self._token_scheme} {token}"
        return HTTPSession(http, base_url, headers=headers, verify=self.sslVerify)

    _token_scheme = "Bearer"

    async def verifyCode(self, www: Any, code: str) -> dict[str, Any]:
        """The user info for an authorization code (AuthError if refused)."""
        s = await self.session(self.tokenUri)
        data = {
            "client_id": self.clientId,
            "client_secret": self.clientSecret,
            "code": code,
            "redirect_uri": self.redirect_uri(www),
            "grant_type": "authorization_code",
            **self.tokenUriAdditionalParams,
        }
        res = await s.post(
            "", data=urlencode(data), headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        text = await res.text()
        if res.code != 200:
            raise AuthError(403, f"OAuth2 token request failed ({res.code}): {text[:200]}")
        try:
            answer = json.loads(text)
        except ValueError:
            answer = dict(parse_qsl(text))
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not token:
            raise AuthError(403, f"OAuth2 login refused: {answer!r}"[:300])
        return await self.getUserInfoFromOAuthClient(token)

    async def getUserInfoFromOAuthClient(self, token: str) -> dict[str, Any]:
        raise NotImplementedError

    async def _get_json(self, token: str, path: str, **kwargs: Any) -> Any:
        s = await self.session(self.resourceEndpoint, token)
        res = await s.get(path, **kwargs)
        if res.code != 200:
            raise AuthError(403, f"OAuth2 user info request {path} failed ({res.code})")
        return await res.json()

    async def _post_json(self, token: str, path: str, body: Any) -> Any:
        s = await self.session(self.resourceEndpoint, token)
        res = await s.post(path, json=body)
        if res.code != 200:
            raise AuthError(403, f"OAuth2 user info request {path} failed ({res.code})")
        return await res.json()


class OAuth2LoginResource(LoginResourceBase):
    auth: OAuth2Auth

    async def render_async(self, request: server.Request) -> bytes | None:
        args = {_text(k): _text(v[0]) for k, v in request.args.items() if v}
        if "error" in args:
            raise AuthError(403, f"OAuth2 login refused: {args['error']}")
        code = args.get("code")
        if not code:
            request.redirect(self.auth.getLoginURL(self.www, args.get("redirect")).encode())
            return b""
        info = await self.auth.verifyCode(self.www, code)
        await self.login(request, info)
        target = self.www.buildbotURL
        state = args.get("state")
        if state:
            target += "#" + state.lstrip("#")
        request.redirect(target.encode("utf-8"))
        return b""


class GoogleAuth(OAuth2Auth):
    name = "Google"
    faIcon = "fa-google-plus"
    resourceEndpoint = "https://www.googleapis.com/oauth2/v1"
    authUri = "https://accounts.google.com/o/oauth2/auth"
    tokenUri = "https://accounts.google.com/o/oauth2/token"
    authUriAdditionalParams = {
        "scope": "https://www.googleapis.com/auth/userinfo.email "
        "https://www.googleapis.com/auth/userinfo.profile"
    }

    async def getUserInfoFromOAuthClient(self, token: str) -> dict[str, Any]:
        data = await self._get_json(token, "userinfo")
        email = data.get("email") or ""
        return {
            "full_name": data.get("name"),
            "email": email,
            "username": email.split("@")[0],
            "avatar_url": data.get("picture"),
        }


class GitHubAuth(OAuth2Auth):
    name = "GitHub"
    faIcon = "fa-github"
    authUriAdditionalParams = {"scope": "user:email read:org"}
    _token_scheme = "token"

    def __init__(
        self,
        clientId: str,
        clientSecret: str,
        serverURL: str | None = None,
        autologin: bool = False,
        apiVersion: int = 3,
        getTeamsMembership: bool = False,
        debug: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(clientId, clientSecret, autologin, **kwargs)
        if apiVersion not in (3, 4):
            raise ValueError(f"GitHubAuth: apiVersion must be 3 or 4, not {apiVersion!r}")
        self.apiVersion = apiVersion
        self.getTeamsMembership = getTeamsMembership
        self.debug = debug
        self.serverURL = (serverURL or "https://github.com").rstrip("/")
        self.authUri = f"{self.serverURL}/login/oauth/authorize"
        self.tokenUri = f"{self.serverURL}/login/oauth/access_token"
        if serverURL is None:
            api = "https://api.github.com"
            self.resourceEndpoint = api if apiVersion == 3 else api + "/graphql"
        else:  # GitHub Enterprise
            self.resourceEndpoint = f"{self.serverURL}/api/" + (
                "v3" if apiVersion == 3 else "graphql"
            )

    async def getUserInfoFromOAuthClient(self, token: str) -> dict[str, Any]:
        if self.apiVersion == 4:
            return await self._user_info_v4(token)
        user = await self._get_json(token, "user")
        emails = await self._get_json(token, "user/emails")
        orgs = await self._get_json(token, "user/orgs")
        email = user.get("email")
        for e in emails:
            if e.get("primary") and e.get("verified", True):
                email = e.get("email")
                break
        groups = [o["login"] for o in orgs]
        if self.getTeamsMembership:
            teams = await self._get_json(token, "user/teams")
            groups += [f"{t['organization']['login']}/{t['slug']}" for t in teams]
        return {
            "full_name": user.get("name"),
            "email": email,
            "username": user.get("login"),
            "groups": groups,
        }

    async def _user_info_v4(self, token: str) -> dict[str, Any]:
        teams = "teams(first: 100) { edges { node { slug } } }" if self.getTeamsMembership else ""
        query = (
            "query { viewer { login email name "
            f"organizations(first: 100) {{ edges {{ node {{ login {teams} }} }} }} }} }}"
        )
        answer = await self._post_json(token, "", {"query": query})
        viewer = (answer.get("data") or {}).get("viewer") or {}
        groups: list[str] = []
        for edge in (viewer.get("organizations") or {}).get("edges", []):
            org = edge["node"]
            groups.append(org["login"])
            for team in (org.get("teams") or {}).get("edges", []):
                groups.append(f"{org['login']}/{team['node']['slug']}")
        return {
            "full_name": viewer.get("name"),
            "email": viewer.get("email"),
            "username": viewer.get("login"),
            "groups": groups,
        }


class GitLabAuth(OAuth2Auth):
    name = "GitLab"
    faIcon = "fa-git"
    authUriAdditionalParams = {"scope": "read_user"}

    def __init__(self, instanceUri: str, clientId: str, clientSecret: str, **kwargs: Any) -> None:
        super().__init__(clientId, clientSecret, **kwargs)
        self.instanceUri = instanceUri.rstrip("/")
        self.authUri = f"{self.instanceUri}/oauth/authorize"
        self.tokenUri = f"{self.instanceUri}/oauth/token"
        self.resourceEndpoint = f"{self.instanceUri}/api/v4"

    async def getUserInfoFromOAuthClient(self, token: str) -> dict[str, Any]:
        user = await self._get_json(token, "user")
        groups = await self._get_json(token, "groups", params={"min_access_level": 10})
        return {
            "full_name": user.get("name"),
            "email": user.get("email"),
            "username": user.get("username"),
            "avatar_url": user.get("avatar_url"),
            "groups": [g["full_path"] if "full_path" in g else g["path"] for g in groups],
        }
