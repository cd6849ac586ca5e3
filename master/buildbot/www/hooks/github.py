"""The `github` dialect: push (branches and tags), pull_request and ping events.

Options: `secret` (checks `X-Hub-Signature-256`, or the older sha1
`X-Hub-Signature`, when a signature comes), `strict` (then a signature must come),
`codebase` (a value or a callable of the payload), `class` (the event handler
class, `GitHubEventHandler` or a subclass with more `handle_<event>` methods),
`github_property_whitelist` (fnmatch patterns over the flattened pull request,
prefixed `github.`), `pullrequest_ref` (`merge`, or `head`), `skips` (regexes:
a head commit message matching one is ignored), `token` and `github_api_endpoint`
(for reading a pull request's head commit and files from the GitHub API), `debug`,
`verify`.

Changes: a push to a branch has category None and the branch name; a tag push
category 'tag' and the tag name; a pull request category 'pull' and the branch
`refs/pull/<number>/<pullrequest_ref>`.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import re
from typing import Any

from twisted.internet import defer
from twisted.python import log

from buildbot.util import httpclientservice
from buildbot.www.hooks.base import (
    BaseHookHandler,
    HookForbidden,
    arg,
    codebase_for,
    header,
    json_payload,
    parse_timestamp,
    read_body,
    render_secret,
    whitelisted_properties,
)

DEFAULT_SKIPS = [r"\[ *skip *ci *\]", r"\[ *ci *skip *\]"]
DEFAULT_API = "https://api.github.com"
PR_ACTIONS = ("opened", "reopened", "synchronize")


def _signature_ok(secret: str, body: bytes, signature: str) -> bool:
    algo, _, digest = signature.partition("=")
    hasher = {"sha256": hashlib.sha256, "sha1": hashlib.sha1}.get(algo.strip().lower())
    if hasher is None or not digest:
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hasher).hexdigest()
    return hmac.compare_digest(expected, digest.strip().lower())


class GitHubEventHandler:
    def __init__(
        self,
        secret: Any = None,
        strict: bool = False,
        codebase: Any = None,
        github_property_whitelist: list[str] | None = None,
        master: Any = None,
        skips: list[str] | None = None,
        github_api_endpoint: str | None = None,
        pullrequest_ref: str | None = None,
        token: Any = None,
        debug: bool = False,
        verify: Any = None,
    ) -> None:
        if strict and not secret:
            raise ValueError("strict mode is requested while no secret is provided")
        self._secret = secret
        self._strict = strict
        self._codebase = codebase
        self.github_property_whitelist = list(github_property_whitelist or [])
        self.master = master
        self.skips = [re.compile(s) for s in (DEFAULT_SKIPS if skips is None else skips)]
        self.github_api_endpoint = (github_api_endpoint or DEFAULT_API).rstrip("/")
        self.pullrequest_ref = pullrequest_ref or "merge"
        self._token = token
        self.debug = debug
        self.verify = verify

    # --- the request ------------------------------------------------------------------

    async def process(self, request: Any) -> tuple[list[dict[str, Any]], str]:
        body = read_body(request)
        await self._check_signature(request, body)
        payload = json_payload(request, body)
        event = header(request, "X-GitHub-Event")
        if not event:
            raise ValueError("no X-GitHub-Event header")
        handler = getattr(self, f"handle_{event}", None)
        if handler is None:
            log.msg(f"GitHub hook: ignoring the {event!r} event")
            return [], "git"
        if len(inspect.signature(handler).parameters) >= 2:
            changes, src = await defer.maybeDeferred(handler, payload, event)
        else:  # a subclass's handle_<event>(payload)
            changes, src = await defer.maybeDeferred(handler, payload)
        project = arg(request, "project")
        if project:
            for change in changes:
                change["project"] = project
        log.msg(f"GitHub hook: {len(changes)} change(s) from the {event!r} event")
        return changes, src

    async def _check_signature(self, request: Any, body: bytes) -> None:
        if not self._secret:
            return
        signature = header(request, "X-Hub-Signature-256") or header(request, "X-Hub-Signature")
        if signature is None:
            if self._strict:
                raise HookForbidden("strict mode: the request carries no signature")
            return
        secret = await render_secret(self.master, self._secret)
        if not _signature_ok(secret or "", body, signature):
            raise HookForbidden("the signature does not match the payload")

    # --- events -----------------------------------------------------------------------

    def handle_ping(self, payload: Any, event: str) -> tuple[list, str]:
        return [], "git"

    def handle_push(self, payload: Any, event: str) -> tuple[list, str]:
        ref = payload["ref"]
        match = re.match(r"^refs/(heads|tags)/(.+)$", ref)
        if not match:
            log.msg(f"GitHub hook: ignoring the push to {ref!r}")
            return [], "git"
        if payload.get("deleted"):
            log.msg(f"GitHub hook: {ref!r} was deleted, ignoring")
            return [], "git"
        category = "tag" if match.group(1) == "tags" else None
        branch = match.group(2)
        head = payload.get("head_commit") or {}
        if self._skipped(head.get("message")):
            log.msg(f"GitHub hook: the head commit of {ref!r} asks to skip CI")
            return [], "git"
        commits = payload.get("commits") or []
        if not commits and payload.get("created") and head:
            commits = [head]
        repo = payload["repository"]
        extra = whitelisted_properties(payload, "github", self.github_property_whitelist)
        changes = []
        for commit in commits:
            files = [f for kind in ("added", "removed", "modified") for f in commit.get(kind) or []]
            change = {
                "author": _person(commit.get("author")),
                "committer": _person(commit.get("committer")),
                "files": files,
                "comments": commit.get("message"),
                "revision": commit["id"],
                "when_timestamp": parse_timestamp(commit.get("timestamp")),
                "branch": branch,
                "revlink": commit.get("url"),
                "repository": repo["html_url"],
                "project": repo.get("full_name") or "",
                "category": category,
                "properties": {
                    "github_distinct": commit.get("distinct", True),
                    "event": event,
                    **extra,
                },
            }
            self._add_codebase(change, payload)
            changes.append(change)
        return changes, "git"

    async def handle_pull_request(self, payload: Any, event: str) -> tuple[list, str]:
        pr = payload["pull_request"]
        number = payload.get("number", pr.get("number"))
        action = payload.get("action")
        if action not in PR_ACTIONS:
            log.msg(f"GitHub hook: pull request #{number} {action}, ignoring")
            return [], "git"
        repo_name = payload["repository"]["full_name"]
        head_sha = pr["head"]["sha"]
        if self.skips:
            message = await self._commit_message(repo_name, head_sha)
            if self._skipped(message):
                log.msg(f"GitHub hook: pull request #{number}: head commit asks to skip CI")
                return [], "git"
        files = await self._pr_files(repo_name, number)
        commits = pr.get("commits") or 0
        revlink = (pr.get("_links") or {}).get("html", {}).get("href") or pr.get("html_url")
        change = {
            "revision": head_sha,
            "when_timestamp": parse_timestamp(pr.get("created_at")),
            "branch": f"refs/pull/{number}/{self.pullrequest_ref}",
            "files": files,
            "revlink": revlink,
            "repository": payload["repository"]["html_url"],
            "project": pr["base"]["repo"]["full_name"],
            "category": "pull",
            "author": payload["sender"]["login"],
            "comments": (
                f"GitHub Pull Request #{number} ({commits} commit{'s' if commits != 1 else ''})\n"
                f"{pr.get('title') or ''}\n{pr.get('body') or ''}"
            ),
            "properties": {
                "pullrequesturl": revlink,
                "event": event,
                "basename": pr["base"]["ref"],
                **whitelisted_properties(pr, "github", self.github_property_whitelist),
            },
        }
        self._add_codebase(change, payload)
        return [change], "git"

    # --- helpers ----------------------------------------------------------------------

    def _skipped(self, message: str | None) -> bool:
        return bool(message) and any(p.search(message) for p in self.skips)

    def _add_codebase(self, change: dict[str, Any], payload: Any) -> None:
        codebase = codebase_for(self._codebase, payload)
        if codebase is not None:
            change["codebase"] = codebase

    async def _api(self) -> Any:
        headers = {"User-Agent": "Buildbot"}
        if self._token:
            token = await render_secret(self.master, self._token)
            headers["Authorization"] = f"token {token}"
        return await httpclientservice.HTTPClientService.getService(
            self.master,
            self.github_api_endpoint,
            headers=headers,
            debug=self.debug,
            verify=self.verify,
        )

    async def _api_json(self, path: str) -> Any:
        """A GitHub API answer, or None (logged) when GitHub cannot give it."""
        try:
            http = await self._api()
            res = await http.get(path)
            if res.code != 200:
                log.msg(f"GitHub hook: {path}: HTTP {res.code}: {await res.content()!r}")
                return None
            return await res.json()
        except Exception as e:
            log.msg(f"GitHub hook: {path}: {e}")
            return None

    async def _commit_message(self, repo: str, sha: str) -> str:
        got = await self._api_json(f"/repos/{repo}/commits/{sha}")
        if not isinstance(got, dict):
            return ""
        return (got.get("commit") or {}).get("message") or ""

    async def _pr_files(self, repo: str, number: Any) -> list[str]:
        got = await self._api_json(f"/repos/{repo}/pulls/{number}/files")
        if not isinstance(got, list):
            return []
        return [f["filename"] for f in got if isinstance(f, dict) and "filename" in f]


def _person(who: Any) -> str | None:
    if not who:
        return None
    name, email = who.get("name"), who.get("email")
    if name and email:
        return f"{name} <{email}>"
    return name or email or who.get("username")


class GitHubHandler(BaseHookHandler):
    """The plugin: builds the event handler (`class` option) from the options."""

    def __init__(self, master: Any, options: Any) -> None:
        super().__init__(master, options)
        opts = dict(self.options)
        klass = opts.pop("class", None) or GitHubEventHandler
        self.handler = klass(
            opts.pop("secret", None),
            opts.pop("strict", False),
            opts.pop("codebase", None),
            github_property_whitelist=opts.pop("github_property_whitelist", None),
            master=master,
            skips=opts.pop("skips", None),
            github_api_endpoint=opts.pop("github_api_endpoint", None),
            pullrequest_ref=opts.pop("pullrequest_ref", None),
            token=opts.pop("token", None),
            debug=opts.pop("debug", False),
            verify=opts.pop("verify", None),
        )

    def getChanges(self, request: Any) -> Any:
        return defer.ensureDeferred(self.handler.process(request))


github = GitHubHandler
