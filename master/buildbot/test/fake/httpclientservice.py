"""A fake `HTTPClientService` answering from a list of expected requests.

A test registers it on the master before the code under test asks for a client:

    self.http = await fakehttpclientservice.HTTPClientService.getFakeService(
        self.master, self, "https://api.example.com", headers={"Authorization": "token x"})
    self.http.expect("post", "/repos/o/r/statuses/abc", json={"state": "pending"})

From then on `buildbot.util.httpclientservice.HTTPClientService.getService(master, ...)`
returns this fake when called with equivalent arguments, and fails (the call and
the test) when called with other ones: no real client is ever created on a
master carrying a fake. `HTTPSession`s built on the fake (it also becomes
`master.httpservice`) send their requests to it too.

Requests must come in the order expected. An unexpected request, one that
differs from the next expectation, or an expectation left unused when the test
ends fails the test, even if the code under test swallows the error it gets.
"""

from __future__ import annotations

import json as jsonmodule
from collections.abc import Mapping
from typing import Any

from twisted.internet import defer
from twisted.python import log

from buildbot.util import httpclientservice, service

_REAL = httpclientservice.HTTPClientService


def _norm_headers(headers: Mapping[str, Any] | None) -> dict[str, str] | None:
    if not headers:
        return None
    return {str(k).lower(): str(v) for k, v in headers.items()}


class _Expectation:
    def __init__(
        self,
        method: str,
        ep: str,
        params: Any,
        headers: Any,
        data: Any,
        json: Any,
        code: int,
        body: bytes,
        content_type: str | None,
        files: Any,
        verify: Any,
        cert: Any,
        processing_delay_s: float | None,
    ) -> None:
        self.method = method.lower()
        self.ep = ep
        self.params = params
        self.headers = headers
        self.data = data
        self.json = json
        self.code = code
        self.body = body
        self.content_type = content_type
        self.files = files
        self.verify = verify
        self.cert = cert
        self.processing_delay_s = processing_delay_s

    def describe(self) -> str:
        return _describe(self.method, self.ep, self.params, self.data, self.json, self.headers)


def _describe(method: str, ep: str, params: Any, data: Any, json: Any, headers: Any) -> str:
    text = f"{method.upper()} {ep}"
    for name, value in (("params", params), ("data", data), ("json", json), ("headers", headers)):
        if value is not None:
            text += f" {name}={value!r}"
    return text


class HTTPClientService(httpclientservice.SessionMethodsMixin, service.SharedService):
    """The fake; see the module docstring."""

    # lets the real HTTPClientService.getService find and defer to us
    _is_fake_http_client_service = True

    def __init__(
        self,
        case: Any,
        base_url: str,
        auth: Any = None,
        headers: Mapping[str, Any] | None = None,
        debug: Any = False,
        verify: Any = None,
        skipEncoding: bool = False,
    ) -> None:
        super().__init__()
        self._case = case
        self._base_url = base_url
        self._config = httpclientservice.canonical_config(
            base_url, auth, headers, debug, verify, skipEncoding
        )
        self._session = httpclientservice.HTTPSession(
            self,
            base_url,
            auth=auth,
            headers=headers,
            debug=debug,
            verify=verify,
            skip_encoding=skipEncoding,
        )
        self._expected: list[_Expectation] = []
        self._problems: list[str] = []
        case.addCleanup(self._check_at_end)

    # --- registration ----------------------------------------------------------

    @classmethod
    def getName(cls, case: Any, *args: Any, **kwargs: Any) -> str:
        # the name the real service would get: code asking the master for that
        # name finds us, and equal arguments give the same fake
        return _REAL.getName(*args, **kwargs)

    @classmethod
    def getFakeService(
        cls,
        master: Any,
        case: Any,
        base_url: str,
        auth: Any = None,
        headers: Mapping[str, Any] | None = None,
        debug: Any = False,
        verify: Any = None,
        skipEncoding: bool = False,
    ) -> defer.Deferred[HTTPClientService]:
        """Register (or find) the fake for these arguments on `master`; fires with it."""
        d = super().getService(
            master,
            case,
            base_url,
            auth=auth,
            headers=headers,
            debug=debug,
            verify=verify,
            skipEncoding=skipEncoding,
        )

        def install(fake: HTTPClientService) -> HTTPClientService:
            if not getattr(
                getattr(master, "httpservice", None), "_is_fake_http_client_service", False
            ):
                master.httpservice = fake
            return fake

        return d.addCallback(install)

    @classmethod
    def getService(cls, master: Any, case: Any, *args: Any, **kwargs: Any) -> defer.Deferred[Any]:
        """Same as `getFakeService` (the name newer tests use)."""
        return cls.getFakeService(master, case, *args, **kwargs)

    def _replace_real_http_client_service(
        self, real_cls: type, master: Any, base_url: str, **kwargs: Any
    ) -> defer.Deferred[Any]:
        """Called by the real `getService` when a fake lives on `master`."""
        wanted = httpclientservice.canonical_config(base_url, **kwargs)
        fakes = [
            s
            for s in master.namedServices.values()
            if getattr(s, "_is_fake_http_client_service", False)
        ]
        for fake in fakes:
            if fake._config == wanted:
                return defer.succeed(fake)
        same_url = [f for f in fakes if f._base_url == base_url]
        if same_url:
            registered = same_url[0]
            message = (
                f"{real_cls.__name__}.getService({base_url!r}) was called with other arguments "
                f"than the fake was registered with:\n"
                f"  registered: {self._describe_config(registered._config)}\n"
                f"  requested:  {self._describe_config(wanted)}"
            )
        else:
            registered = fakes[0]
            message = (
                f"{real_cls.__name__}.getService({base_url!r}): no fake is registered for "
                f"this base URL (fakes exist for {sorted(f._base_url for f in fakes)!r})"
            )
        return defer.fail(registered._problem(message))

    @staticmethod
    def _describe_config(config: tuple) -> str:
        base_url, auth, headers, debug, verify, skip = config
        return (
            f"base_url={base_url!r} auth={auth!r} headers={dict(headers)!r} "
            f"debug={debug!r} verify={verify!r} skipEncoding={skip!r}"
        )

    # --- expectations ----------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._base_url

    def expect(
        self,
        method: str,
        ep: str,
        params: Any = None,
        headers: Mapping[str, Any] | None = None,
        data: Any = None,
        json: Any = None,
        code: int = 200,
        content: str | bytes | None = None,
        content_json: Any = None,
        files: Any = None,
        verify: Any = None,
        cert: Any = None,
        processing_delay_s: float | None = None,
    ) -> None:
        """Queue the next request the code under test must make, and its answer.

        `headers` are compared with the headers of that one call (not the
        session's); `verify` and `cert`, when given, with the session's settings;
        `files` must be None (no request carries files). The answer has status
        `code` and a body from `content` (str or bytes) or `content_json` (any
        JSON value); with `processing_delay_s` it comes that many seconds later
        on the master's reactor.
        """
        if content is not None and content_json is not None:
            raise ValueError("give either content or content_json, not both")
        content_type = None
        if content_json is not None:
            body = jsonmodule.dumps(content_json).encode("utf-8")
            content_type = "application/json"
        elif isinstance(content, str):
            body = content.encode("utf-8")
        else:
            body = content or b""
        self._expected.append(
            _Expectation(
                method,
                ep,
                params,
                headers,
                data,
                json,
                code,
                body,
                content_type,
                files,
                verify,
                cert,
                processing_delay_s,
            )
        )

    def assert_all_consumed(self) -> None:
        """Fail now if some expected request has not been made."""
        if self._expected:
            missing, self._expected = self._expected, []
            remaining = "\n  ".join(e.describe() for e in missing)
            raise self._case.failureException(
                f"{len(missing)} expected HTTP request(s) were not made:\n  {remaining}"
            )

    def _problem(self, message: str) -> Exception:
        """Record a failure for the end of the test and return it, to be raised now."""
        self._problems.append(message)
        return self._case.failureException(message)

    def _check_at_end(self) -> None:
        if self._problems:
            problems = self._problems
            self._problems = []
            raise self._case.failureException("HTTP client fake: " + "\n---\n".join(problems))
        self.assert_all_consumed()

    # --- requests ----------------------------------------------------------------

    def _do_request(
        self,
        session: Any,
        method: str,
        ep: str,
        params: Any = None,
        data: Any = None,
        json: Any = None,
        headers: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> defer.Deferred[Any]:
        url = httpclientservice.join_url(session.base_url, ep)
        got = _describe(method, ep, params, data, json, headers)
        if session.debug:
            log.msg(f"HTTP request: {method.upper()} {url} (fake)")
        if not self._expected:
            return defer.fail(self._problem(f"unexpected HTTP request: {got}"))
        expected = self._expected.pop(0)
        differences = self._differences(expected, session, method, url, params, data, json, headers)
        if differences:
            return defer.fail(
                self._problem(
                    f"HTTP request does not match the expectation ({', '.join(differences)}):\n"
                    f"  expected: {expected.describe()}\n"
                    f"  got:      {got}"
                )
            )
        response_headers = httpclientservice.ResponseHeaders(
            [("Content-Type", expected.content_type)] if expected.content_type else []
        )
        response = httpclientservice.BufferedResponse(
            expected.code,
            httpclientservice.url_with_params(url, params),
            response_headers,
            expected.body,
        )
        if session.debug:
            log.msg(f"HTTP response: {method.upper()} {response.url} -> {response.code} (fake)")
        if expected.processing_delay_s is None:
            return defer.succeed(response)
        from twisted.internet import task

        reactor = self.reactor
        if reactor is None:
            from twisted.internet import reactor
        return task.deferLater(reactor, expected.processing_delay_s, lambda: response)

    def _differences(
        self,
        expected: _Expectation,
        session: Any,
        method: str,
        url: str,
        params: Any,
        data: Any,
        json: Any,
        headers: Any,
    ) -> list[str]:
        found = []
        if expected.method != method.lower():
            found.append("method")
        if httpclientservice.join_url(self._base_url, expected.ep) != url:
            found.append("url")
        if (expected.params or None) != (params or None):
            found.append("params")
        if expected.data != data:
            found.append("data")
        if expected.json != json:
            found.append("json")
        if _norm_headers(expected.headers) != _norm_headers(headers):
            found.append("headers")
        if expected.files is not None:
            found.append("files")
        if expected.verify is not None and expected.verify != (
            True if session.verify is None else session.verify
        ):
            found.append("verify")
        if expected.cert is not None and expected.cert != session.cert:
            found.append("cert")
        return found

    def __repr__(self) -> str:
        return f"<fake HTTPClientService {self._base_url!r}>"
