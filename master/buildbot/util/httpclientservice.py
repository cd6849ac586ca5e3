"""Shared HTTP client sessions for the master, on top of treq or txrequests.

Components ask `HTTPClientService.getService(master, base_url, ...)` for a client;
every component passing the same arguments gets the same started instance, so
connections to one remote service are pooled together. A lighter-weight
`HTTPSession(http, base_url, ...)` carries per-caller settings (base URL,
authentication, headers) and sends its requests through any `HTTPClientService`.

Two back ends do the network work:

- treq (the default, and a hard dependency): requests run on the reactor, over a
  persistent connection pool owned by the service;
- txrequests (optional): a `requests` session whose blocking calls run in its
  own thread pool. It is used when `PREFER_TREQ` is false, or when a session
  needs a `requests`-only feature (an authentication object that is not a
  (user, password) tuple). If it is not installed, treq is used instead when
  possible, and that is logged.

Whatever the back end, a request returns a Deferred firing with an
`IHTTPResponse` whose body has already been read; HTTP error codes are
returned, not raised. Bodies are read eagerly so that a caller looking only at
`code` never leaves a connection half-used.
"""

from __future__ import annotations

import datetime
import importlib.util
import json as jsonmodule
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

from twisted.internet import defer, threads
from twisted.python import log
from zope.interface import Attribute, Interface, implementer

from buildbot import util
from buildbot.util import service

# txrequests (and with it `requests`, urllib3...) is imported on first use: most
# masters never need it, and it would cost each of them several MB of memory.
# Until then this is True when it is installed, None when it is not.
txrequests: Any = True if importlib.util.find_spec("txrequests") is not None else None


def _txrequests() -> Any:
    global txrequests
    if txrequests is True:
        import txrequests as module

        txrequests = module
    return txrequests


# seconds a request may take, from sending it to having read the whole response,
# when the caller gives no `timeout`
DEFAULT_TIMEOUT = 30.0

_METHODS = ("get", "post", "put", "patch", "delete")


class IHTTPResponse(Interface):
    """What every back end (and the fake) answers a request with."""

    code = Attribute("the HTTP status code, an int")
    url = Attribute("the URL that answered (after redirects), a str")
    headers = Attribute("the response headers: a case-insensitive mapping of str to str")

    def content():
        """The raw body (bytes), via Deferred."""

    def json(**kwargs):
        """The body decoded as JSON, via Deferred; fails if it is not JSON."""

    def text(encoding=None):
        """The body decoded to str (by default with the response's charset, else
        UTF-8), via Deferred."""


class ResponseHeaders(Mapping):
    """Response headers: a case-insensitive, read-only mapping of name to value.

    A header received several times maps to its values joined with ", ".
    `getRawHeaders` gives the separate values, like Twisted's `Headers` does.
    """

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        # lower-case name -> (name as first received, [values])
        self._fields: dict[str, tuple[str, list[str]]] = {}
        for name, value in pairs:
            name = util.bytes2unicode(name, "latin-1")
            value = util.bytes2unicode(value, "latin-1")
            entry = self._fields.setdefault(name.lower(), (name, []))
            entry[1].append(value)

    def __getitem__(self, name: str) -> str:
        return ", ".join(self._fields[util.bytes2unicode(name, "latin-1").lower()][1])

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._fields.values())

    def __len__(self) -> int:
        return len(self._fields)

    def getRawHeaders(self, name: str | bytes, default: Any = None) -> Any:
        key = util.bytes2unicode(name, "latin-1").lower()
        if key not in self._fields:
            return default
        values = list(self._fields[key][1])
        if isinstance(name, bytes):
            return [v.encode("latin-1") for v in values]
        return values

    def __repr__(self) -> str:
        return f"ResponseHeaders({dict(self.items())!r})"


def _charset_of(content_type: str | None) -> str | None:
    if not content_type:
        return None
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "charset" and value:
            return value.strip().strip('"')
    return None


@implementer(IHTTPResponse)
class BufferedResponse:
    """A response whose body is already in memory; used by both back ends and
    by the fake, so that callers see one behaviour."""

    def __init__(self, code: int, url: str, headers: ResponseHeaders | None, body: bytes) -> None:
        self.code = code
        self.url = url
        self.headers = headers if headers is not None else ResponseHeaders()
        self._body = body

    def content(self) -> defer.Deferred[bytes]:
        return defer.succeed(self._body)

    def json(self, **kwargs: Any) -> defer.Deferred[Any]:
        return defer.maybeDeferred(jsonmodule.loads, self._body, **kwargs)

    def text(self, encoding: str | None = None) -> defer.Deferred[str]:
        if encoding is None:
            encoding = _charset_of(self.headers.get("content-type")) or "utf-8"
        return defer.maybeDeferred(self._body.decode, encoding)

    def __repr__(self) -> str:
        return f"<BufferedResponse {self.code} {self.url} ({len(self._body)} bytes)>"


def join_url(base_url: str, ep: str) -> str:
    """The URL for endpoint `ep` of `base_url`.

    An absolute `ep` (http:// or https://) is used as it is; otherwise exactly
    one "/" separates the two, whatever slashes either side brings. An empty
    `ep` is the base URL itself.
    """
    if ep.startswith(("http://", "https://")) or not base_url:
        return ep
    if not ep:
        return base_url
    return base_url.rstrip("/") + "/" + ep.lstrip("/")


def url_with_params(url: str, params: Any) -> str:
    """`url` with `params` (a mapping or pairs; list values repeat) added to its query."""
    if not params:
        return url
    query = urlencode(params, doseq=True)
    return url + ("&" if "?" in url else "?") + query


def json_default(obj: Any) -> Any:
    """`json.dumps` fallback for the values Buildbot's data carries: datetimes are
    sent as epoch seconds, like the data API does."""
    if isinstance(obj, datetime.datetime):
        return util.datetime2epoch(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def encode_json_body(value: Any) -> bytes:
    return jsonmodule.dumps(value, default=json_default).encode("utf-8")


def _canonical_headers(headers: Mapping[str, Any] | None) -> tuple:
    if not headers:
        return ()
    return tuple(sorted((str(k).lower(), str(v)) for k, v in headers.items()))


def canonical_config(
    base_url: str,
    auth: Any = None,
    headers: Mapping[str, Any] | None = None,
    debug: Any = False,
    verify: Any = None,
    skipEncoding: bool = False,
) -> tuple:
    """The identity of an `HTTPClientService` configuration: two argument sets
    meaning the same thing (debug None/False, verify None/True, header names in
    another case or order) give equal tuples."""
    if isinstance(auth, list):
        auth = tuple(auth)
    return (
        base_url,
        auth,
        _canonical_headers(headers),
        bool(debug),
        True if verify is None else verify,
        bool(skipEncoding),
    )


def _merge_headers(*layers: Mapping[str, Any] | None) -> dict[str, str]:
    """Later layers win, header names compared without case; values become str."""
    merged: dict[str, tuple[str, str]] = {}
    for layer in layers:
        for name, value in (layer or {}).items():
            merged[str(name).lower()] = (str(name), util.bytes2unicode(value, "latin-1"))
    return dict(merged.values())


def _has_header(headers: Mapping[str, str], name: str) -> bool:
    return any(k.lower() == name.lower() for k in headers)


class HTTPSession:
    """Per-caller settings for requests sent through an `HTTPClientService`.

    `http` is the service doing the network work (or the test fake); the
    session only adds its base URL, authentication, headers, TLS settings and
    debug flag to each request. It holds no connection and needs no cleanup.
    """

    def __init__(
        self,
        http: Any,
        base_url: str,
        auth: Any = None,
        headers: Mapping[str, Any] | None = None,
        debug: Any = None,
        verify: Any = None,
        cert: Any = None,
        skip_encoding: bool = False,
    ) -> None:
        self.http = http
        self.base_url = base_url
        self.auth = tuple(auth) if isinstance(auth, list) else auth
        self.headers = _merge_headers(headers)
        self.debug = bool(debug)
        self.verify = verify
        self.cert = cert
        self.skip_encoding = skip_encoding

    def update_headers(self, headers: Mapping[str, Any]) -> None:
        """Add or replace session headers for the following requests."""
        self.headers = _merge_headers(self.headers, headers)

    def _request(
        self,
        method: str,
        ep: str,
        params: Any = None,
        data: Any = None,
        json: Any = None,
        headers: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> defer.Deferred[Any]:
        if data is not None and json is not None:
            return defer.fail(ValueError("a request cannot carry both 'data' and 'json'"))
        if self.http is None:
            return defer.fail(RuntimeError("this HTTPSession has no HTTP service to use"))
        return defer.maybeDeferred(
            self.http._do_request,
            self,
            method,
            ep,
            params=params,
            data=data,
            json=json,
            headers=headers,
            timeout=timeout,
        )

    def get(self, ep: str, **kwargs: Any) -> defer.Deferred[Any]:
        return self._request("get", ep, **kwargs)

    def post(self, ep: str, **kwargs: Any) -> defer.Deferred[Any]:
        return self._request("post", ep, **kwargs)

    def put(self, ep: str, **kwargs: Any) -> defer.Deferred[Any]:
        return self._request("put", ep, **kwargs)

    def patch(self, ep: str, **kwargs: Any) -> defer.Deferred[Any]:
        return self._request("patch", ep, **kwargs)

    def delete(self, ep: str, **kwargs: Any) -> defer.Deferred[Any]:
        return self._request("delete", ep, **kwargs)

    def __repr__(self) -> str:
        return f"<HTTPSession {self.base_url!r}>"


# --- TLS settings for treq -------------------------------------------------------


def _client_pem(cert: Any) -> tuple[str, str]:
    """(certificate file, key file) from `requests`' `cert` forms: one path
    holding both, or a (certificate, key) pair."""
    if isinstance(cert, (tuple, list)):
        return cert[0], cert[1]
    return cert, cert


def _make_unverified_creator(hostname: str, cert: Any) -> Any:
    from OpenSSL import SSL
    from twisted.internet.abstract import isIPAddress, isIPv6Address
    from twisted.internet.interfaces import IOpenSSLClientConnectionCreator

    context = SSL.Context(SSL.TLS_METHOD)
    context.set_verify(SSL.VERIFY_NONE, lambda *args: True)
    if cert is not None:
        cert_file, key_file = _client_pem(cert)
        context.use_certificate_chain_file(cert_file)
        context.use_privatekey_file(key_file)
    server_name = None
    if not (isIPAddress(hostname) or isIPv6Address(hostname)):
        server_name = hostname.encode("idna")

    @implementer(IOpenSSLClientConnectionCreator)
    class _UnverifiedCreator:
        def clientConnectionForTLS(self, tlsProtocol: Any) -> Any:
            connection = SSL.Connection(context, None)
            if server_name is not None:
                connection.set_tlsext_host_name(server_name)
            return connection

    return _UnverifiedCreator()


def _make_pem_file_trust(path: str) -> Any:
    """A Twisted trust root: the CA certificates in the PEM file at `path`."""
    from twisted.internet import ssl

    class _PEMFileTrust(ssl.OpenSSLDefaultPaths):
        # OpenSSL reads the file itself: every certificate in it is trusted
        def _addCACertsToContext(self, context: Any) -> None:
            context.load_verify_locations(path)

    return _PEMFileTrust()


def _load_client_identity(cert: Any) -> dict[str, Any]:
    """CertificateOptions arguments presenting the client certificate `cert`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert_file, key_file = _client_pem(cert)
    with open(cert_file, "rb") as f:
        pem = f.read()
    if key_file != cert_file:
        with open(key_file, "rb") as f:
            pem += b"\n" + f.read()
    chain = x509.load_pem_x509_certificates(pem)
    options: dict[str, Any] = {
        "certificate": chain[0],
        "privateKey": serialization.load_pem_private_key(pem, password=None),
    }
    if chain[1:]:
        options["extraCertChain"] = chain[1:]
    return options


def _make_tls_policy(verify: Any, cert: Any) -> Any:
    """An `IPolicyForHTTPS` honouring `requests`-style `verify` (None/True: check
    against the platform's trust store, False: no check, a path: check against
    the certificates in that PEM file) and `cert` (a client certificate)."""
    from twisted.web.iweb import IPolicyForHTTPS

    @implementer(IPolicyForHTTPS)
    class _Policy:
        def creatorForNetloc(self, hostname: bytes, port: int) -> Any:
            from twisted.internet import ssl

            host = hostname.decode("ascii")
            if verify is False:
                return _make_unverified_creator(host, cert)
            trust_root = _make_pem_file_trust(verify) if isinstance(verify, str) else None
            extra = _load_client_identity(cert) if cert is not None else None
            return ssl.optionsForClientTLS(
                host, trustRoot=trust_root, extraCertificateOptions=extra
            )

    return _Policy()


# --- back ends -------------------------------------------------------------------


class _TreqBackend:
    """Requests sent by treq over persistent pools (one per TLS setting, so that a
    connection opened without certificate checks is never reused by a session
    that wants them)."""

    name = "treq"

    def __init__(self, reactor: Any) -> None:
        self._reactor = reactor
        self._clients: dict[tuple, tuple[Any, Any]] = {}

    def _client(self, verify: Any, cert: Any) -> Any:
        from treq.client import HTTPClient
        from twisted.web.client import Agent, HTTPConnectionPool

        key = (True if verify is None else verify, tuple(cert) if isinstance(cert, list) else cert)
        if key not in self._clients:
            pool = HTTPConnectionPool(self._reactor, persistent=True)
            if verify is None and cert is None:
                agent = Agent(self._reactor, pool=pool)
            else:
                agent = Agent(
                    self._reactor, contextFactory=_make_tls_policy(verify, cert), pool=pool
                )
            self._clients[key] = (pool, HTTPClient(agent))
        return self._clients[key][1]

    async def _exchange(self, method: str, url: str, kwargs: dict[str, Any]) -> BufferedResponse:
        client = self._client(kwargs.pop("verify"), kwargs.pop("cert"))
        response = await client.request(method.upper(), url, reactor=self._reactor, **kwargs)
        body = await response.content()
        # treq decodes gzip bodies and leaves an empty Content-Encoding behind
        headers = ResponseHeaders(
            (name, value)
            for name, values in response.headers.getAllRawHeaders()
            for value in values
            if value or name.lower() != b"content-encoding"
        )
        final_url = util.bytes2unicode(response.request.absoluteURI, "ascii")
        return BufferedResponse(response.code, final_url, headers, body)

    def request(
        self, method: str, url: str, timeout: float, **kwargs: Any
    ) -> defer.Deferred[BufferedResponse]:
        d = defer.ensureDeferred(self._exchange(method, url, kwargs))
        return _bounded(d, timeout, self._reactor, f"{method.upper()} {url}")

    def close(self) -> defer.Deferred[Any]:
        pools = [pool for pool, _ in self._clients.values()]
        self._clients = {}
        return defer.gatherResults(
            [pool.closeCachedConnections() for pool in pools], consumeErrors=True
        )


def _bounded(d: defer.Deferred, timeout: float, reactor: Any, what: str) -> defer.Deferred:
    """`d`, cancelled and failed with TimeoutError if it has not fired within
    `timeout` seconds (whatever error the cancellation itself produced)."""
    timed_out = []

    def expire() -> None:
        timed_out.append(True)
        d.cancel()

    call = reactor.callLater(timeout, expire)

    def done(result: Any) -> Any:
        if call.active():
            call.cancel()
        if timed_out:
            raise defer.TimeoutError(f"{what}: no complete response within {timeout} s")
        return result

    return d.addBoth(done)


class _TxRequestsBackend:
    """Requests sent by a txrequests session (a `requests` session run in its own
    thread pool; it calls back through the global reactor)."""

    name = "txrequests"

    def __init__(self) -> None:
        self._session = _txrequests().Session()

    async def _exchange(
        self, method: str, url: str, timeout: float, kwargs: dict[str, Any]
    ) -> BufferedResponse:
        import requests

        verify = kwargs.pop("verify")
        if verify is None:
            verify = True
        try:
            response = await self._session.request(
                method.upper(), url, timeout=timeout, verify=verify, **kwargs
            )
        except requests.exceptions.Timeout as e:
            raise defer.TimeoutError(f"{method.upper()} {url}: {e}") from e
        headers = ResponseHeaders(response.headers.items())
        return BufferedResponse(response.status_code, response.url, headers, response.content)

    def request(
        self, method: str, url: str, timeout: float, **kwargs: Any
    ) -> defer.Deferred[BufferedResponse]:
        return defer.ensureDeferred(self._exchange(method, url, timeout, kwargs))

    def close(self) -> defer.Deferred[Any]:
        # closing stops (and joins) the session's thread pool: not on the reactor thread
        from twisted.internet import reactor

        return threads.deferToThreadPool(reactor, reactor.getThreadPool(), self._session.close)


# --- the service -----------------------------------------------------------------


class SessionMethodsMixin:
    """`get`/`post`/... of a service, sent through its own `HTTPSession` (``_session``).

    Shared by the real service and its test fake, so they cannot drift apart.
    """

    _session: HTTPSession

    def get(self, ep: str, **kwargs: Any) -> defer.Deferred[Any]:
        return self._session.get(ep, **kwargs)

    def post(self, ep: str, **kwargs: Any) -> defer.Deferred[Any]:
        return self._session.post(ep, **kwargs)

    def put(self, ep: str, **kwargs: Any) -> defer.Deferred[Any]:
        return self._session.put(ep, **kwargs)

    def patch(self, ep: str, **kwargs: Any) -> defer.Deferred[Any]:
        return self._session.patch(ep, **kwargs)

    def delete(self, ep: str, **kwargs: Any) -> defer.Deferred[Any]:
        return self._session.delete(ep, **kwargs)

    def update_headers(self, headers: Mapping[str, Any]) -> None:
        self._session.update_headers(headers)


class HTTPClientService(SessionMethodsMixin, service.SharedService):
    """A shared HTTP client for one base URL and set of credentials/headers.

    Get it with `getService`; its `get`/`post`/`put`/`patch`/`delete` return
    Deferreds firing with `IHTTPResponse`s. It also serves any `HTTPSession`
    built on it (`HTTPSession(service, other_base_url, ...)`).
    """

    # use treq unless told otherwise; set to False (on the class or a subclass)
    # to prefer txrequests when it is installed
    PREFER_TREQ = True

    def __init__(
        self,
        base_url: str,
        auth: Any = None,
        headers: Mapping[str, Any] | None = None,
        debug: Any = False,
        verify: Any = None,
        skipEncoding: bool = False,
    ) -> None:
        super().__init__()
        self._base_url = base_url
        self._session = HTTPSession(
            self,
            base_url,
            auth=auth,
            headers=headers,
            debug=debug,
            verify=verify,
            skip_encoding=skipEncoding,
        )
        self._backends: dict[str, Any] = {}
        self._fallback_logged = False

    @classmethod
    def getName(cls, *args: Any, **kwargs: Any) -> str:
        config = canonical_config(*args, **kwargs)
        return service.SharedService.getName.__func__(cls, config)

    @classmethod
    def getService(
        cls,
        master: Any,
        base_url: str,
        auth: Any = None,
        headers: Mapping[str, Any] | None = None,
        debug: Any = False,
        verify: Any = None,
        skipEncoding: bool = False,
    ) -> defer.Deferred[Any]:
        kwargs = {
            "auth": auth,
            "headers": headers,
            "debug": debug,
            "verify": verify,
            "skipEncoding": skipEncoding,
        }
        # A test that registered a fake on this master answers every request for an
        # HTTP client there (see buildbot.test.fake.httpclientservice): no real
        # client may be created behind its back.
        for svc in list(master.namedServices.values()):
            hook = getattr(svc, "_replace_real_http_client_service", None)
            if hook is not None:
                return hook(cls, master, base_url, **kwargs)
        return super().getService(master, base_url, **kwargs)

    @property
    def base_url(self) -> str:
        return self._base_url

    def _network_reactor(self) -> Any:
        reactor = self.reactor
        if reactor is None:
            from twisted.internet import reactor
        return reactor

    def _backend_for(self, session: HTTPSession) -> Any:
        needs_requests = session.auth is not None and not isinstance(session.auth, tuple)
        wants_requests = needs_requests or not self.PREFER_TREQ
        name = "treq"
        if wants_requests:
            if txrequests is not None:
                name = "txrequests"
            elif needs_requests:
                raise RuntimeError(
                    f"authentication {session.auth!r} needs txrequests, which is not installed"
                )
            elif not self._fallback_logged:
                self._fallback_logged = True
                log.msg("HTTPClientService: txrequests is not installed, using treq instead")
        backend = self._backends.get(name)
        if backend is None:
            if name == "txrequests":
                backend = _TxRequestsBackend()
            else:
                backend = _TreqBackend(self._network_reactor())
            self._backends[name] = backend
        return backend

    def _prepare(
        self, session: HTTPSession, data: Any, json: Any, headers: Mapping[str, Any] | None
    ) -> tuple[dict[str, str], dict[str, Any]]:
        """The headers and body arguments for a back end."""
        merged = _merge_headers(session.headers, headers)
        body: dict[str, Any] = {}
        if json is not None:
            if session.skip_encoding:
                body["json"] = json
            else:
                body["data"] = encode_json_body(json)
                if not _has_header(merged, "Content-Type"):
                    merged["Content-Type"] = "application/json"
        elif isinstance(data, str):
            body["data"] = data.encode("utf-8")
        elif data is not None:
            body["data"] = data
        return merged, body

    def _do_request(
        self,
        session: HTTPSession,
        method: str,
        ep: str,
        params: Any = None,
        data: Any = None,
        json: Any = None,
        headers: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> defer.Deferred[Any]:
        if not self.running:
            raise RuntimeError(f"{self!r} is not running: cannot send a request")
        if method not in _METHODS:
            raise ValueError(f"unsupported HTTP method {method!r}")
        url = join_url(session.base_url, ep)
        merged, body = self._prepare(session, data, json, headers)
        backend = self._backend_for(session)
        auth = session.auth
        if isinstance(auth, tuple):
            # requests would encode str credentials as latin-1 and treq as UTF-8:
            # give both the UTF-8 bytes (what RFC 7617 recommends)
            auth = tuple(util.unicode2bytes(part) for part in auth)
        if session.debug:
            log.msg(f"HTTP request: {method.upper()} {url_with_params(url, params)}")
        d = backend.request(
            method,
            url,
            timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
            params=params,
            headers=merged,
            auth=auth,
            verify=session.verify,
            cert=session.cert,
            **body,
        )
        if session.debug:

            def log_response(response: Any) -> Any:
                log.msg(f"HTTP response: {method.upper()} {response.url} -> {response.code}")
                return response

            d.addCallback(log_response)
        return d

    def stopService(self) -> defer.Deferred[None]:
        return defer.ensureDeferred(self._stop())

    async def _stop(self) -> None:
        try:
            await super().stopService()
        finally:
            # requests arriving from now on are refused (we no longer run), so the
            # back ends can be closed for good: cached connections, thread pool
            backends = list(self._backends.values())
            self._backends = {}
            for backend in backends:
                await backend.close()

    def __repr__(self) -> str:
        return f"<HTTPClientService {self._base_url!r}>"
