"""Build statuses on Bitbucket Cloud
(``POST {base_url}/:owner/:repo/commit/:sha/statuses/build``).

Authentication is either OAuth client credentials (`oauth_key`/`oauth_secret`: an
access token is requested from `oauth_url` for each report) or an app password
(`auth=(user, app_password)`, sent as basic authentication). The status `key` is the
SHA-1 of the rendered `status_key` (Bitbucket limits keys to 40 characters).
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlparse

from twisted.python import log

from buildbot import config
from buildbot.process.properties import Interpolate
from buildbot.reporters.base import ReporterBase
from buildbot.reporters.bitbucketserver import basic_auth, bitbucket_state
from buildbot.reporters.forge import (
    USER_AGENT,
    check_renderable,
    check_url,
    properties_for,
    push,
    start_end_generators,
)
from buildbot.util import httpclientservice, unicode2bytes

_BASE_URL = "https://api.bitbucket.org/2.0/repositories"
_OAUTH_URL = "https://bitbucket.org/site/oauth2/access_token"
_GET_TOKEN_DATA = {"grant_type": "client_credentials"}


def key_hash(key: Any) -> str:
    return hashlib.sha1(unicode2bytes(str(key))).hexdigest()


class BitbucketStatusPush(ReporterBase):
    name: str | None = "BitbucketStatusPush"  # type: ignore[assignment]

    def checkConfig(
        self,
        oauth_key: Any = None,
        oauth_secret: Any = None,
        auth: Any = None,
        base_url: str = _BASE_URL,
        oauth_url: str = _OAUTH_URL,
        debug: Any = None,
        verify: Any = None,
        status_key: Any = None,
        status_name: Any = None,
        generators: list[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        where = type(self).__name__
        if auth is not None:
            if oauth_key is not None or oauth_secret is not None:
                config.error(f"{where}: give either auth (app password) or OAuth, not both")
            elif not isinstance(auth, (tuple, list)) or len(auth) != 2:
                config.error(f"{where}: auth must be a (user, app password) pair")
        elif oauth_key is None or oauth_secret is None:
            config.error(f"{where}: oauth_key and oauth_secret (or auth) are required")
        check_renderable(where, "oauth_key", oauth_key)
        check_renderable(where, "oauth_secret", oauth_secret)
        check_url(where, "base_url", base_url)
        check_url(where, "oauth_url", oauth_url)
        check_renderable(where, "status_key", status_key)
        check_renderable(where, "status_name", status_name)
        if generators is None:
            generators = self._create_default_generators()
        super().checkConfig(generators=generators, **kwargs)

    async def reconfigService(  # type: ignore[override]
        self,
        oauth_key: Any = None,
        oauth_secret: Any = None,
        auth: Any = None,
        base_url: str = _BASE_URL,
        oauth_url: str = _OAUTH_URL,
        debug: Any = None,
        verify: Any = None,
        status_key: Any = None,
        status_name: Any = None,
        generators: list[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if generators is None:
            generators = self._create_default_generators()
        self.oauth_key = oauth_key
        self.oauth_secret = oauth_secret
        self.auth = tuple(auth) if auth is not None else None
        self.base_url = base_url.rstrip("/")
        self.oauth_url = oauth_url
        self.debug = debug
        self.status_key = status_key or Interpolate("%(prop:buildername)s")
        self.status_name = status_name or Interpolate("%(prop:buildername)s")
        self._http = await httpclientservice.HTTPClientService.getService(
            self.master,
            self.base_url,
            headers={"User-Agent": USER_AGENT},
            debug=debug,
            verify=verify,
        )
        await super().reconfigService(generators=generators, **kwargs)

    def _create_default_generators(self) -> list[Any]:
        return start_end_generators(False, "Build started.", "Build done.")

    def get_owner_and_repo(self, repourl: str) -> tuple[str, str] | None:
        """(owner, repo) of an https, ssh or scp-like (git@host:owner/repo.git) URL."""
        parsed = urlparse(repourl)
        base_path = urlparse(self.base_url).path
        if parsed.scheme and base_path and parsed.path.startswith(base_path + "/"):
            path = parsed.path[len(base_path) :]  # an API URL of the repository
        elif parsed.scheme:
            path = parsed.path
        else:
            path = repourl.split(":", 1)[-1]
        path = path.strip("/")
        if path.endswith(".git"):
            path = path[: -len(".git")]
        parts = path.split("/")
        if len(parts) != 2 or not all(parts):
            return None
        return parts[0], parts[1]

    async def _auth_headers(self, props: Any) -> dict[str, str] | None:
        if self.auth is not None:
            user, password = await props.render(list(self.auth))
            return {"Authorization": basic_auth(user, password)}
        key = await props.render(self.oauth_key)
        secret = await props.render(self.oauth_secret)
        response = await push(
            self,
            "OAuth token request",
            lambda: self._http.post(
                self.oauth_url,
                data=_GET_TOKEN_DATA,
                headers={"Authorization": basic_auth(key, secret)},
            ),
        )
        if response is None:
            return None
        try:
            token = (await response.json())["access_token"]
        except Exception as e:
            log.msg(f"{self.name}: no access token in the OAuth answer: {e!r}")
            return None
        return {"Authorization": f"Bearer {token}"}

    async def sendMessage(self, reports: list[dict[str, Any]]) -> None:
        report = reports[0]
        if not report.get("builds"):
            return
        build = report["builds"][0]
        props = properties_for(self.master, build)
        state = bitbucket_state(build)
        try:
            body = {
                "state": state,
                "key": key_hash(await props.render(self.status_key)),
                "name": await props.render(self.status_name),
                "description": report.get("body") or report.get("subject") or "",
                "url": build.get("url"),
            }
            headers = await self._auth_headers(props)
        except Exception as e:
            log.msg(f"{self.name}: cannot render the credentials, key or name: {e!r}")
            return
        if headers is None:
            return
        for ss in (build.get("buildset") or {}).get("sourcestamps") or []:
            sha = ss.get("revision")
            repo = self.get_owner_and_repo(ss.get("repository") or "")
            if not sha or repo is None:
                log.msg(
                    f"{self.name}: skipped sourcestamp of {ss.get('repository')!r}: "
                    f"{'no revision' if not sha else 'not a Bitbucket repository URL'}"
                )
                continue
            owner, name = repo
            ep = f"/{owner}/{name}/commit/{sha}/statuses/build"
            if self.debug:
                log.msg(f"{self.name}: POST {self.base_url}{ep}: {body}")
            await push(
                self,
                f'status "{state}" for {owner}/{name} at {sha}',
                lambda ep=ep: self._http.post(ep, json=body, headers=headers),
            )
