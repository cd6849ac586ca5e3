"""Tests of buildbot.util.httpclientservice and of its fake.

The behaviour tests (`BehaviourTests`) run three times: against the fake, and
against the real service talking to a real local server, once with treq and
once with txrequests. Each test states the requests it will make with
`self.expect(...)`. The fake checks them itself; in the real runs the local
server records what arrived on the wire, and the test's cleanup checks those
records against the same expectations. So the fake is held to what the real
service actually does.
"""

from __future__ import annotations

import base64
import datetime
import json as jsonlib
import os
from typing import Any
from urllib.parse import parse_qs, urlsplit

from twisted.internet import defer, task
from twisted.python import log
from twisted.trial import reporter, unittest

from buildbot.test.fake import httpclientservice as fakehttpclientservice
from buildbot.test.util.httpserver import HTTPTestServer
from buildbot.util import httpclientservice, service

FAKE_ROOT = "http://fake.example.test:8010"
UTC = datetime.UTC


def _epoch(obj: Any) -> Any:
    # our own oracle for how datetimes travel in JSON bodies
    if isinstance(obj, datetime.datetime):
        return int(obj.timestamp())
    raise TypeError(obj)


def _as_query(params: Any) -> dict[str, list[str]]:
    query: dict[str, list[str]] = {}
    items = params.items() if isinstance(params, dict) else (params or [])
    for key, value in items:
        values = value if isinstance(value, (list, tuple)) else [value]
        query.setdefault(key, []).extend(str(v) for v in values)
    return query


class _WireExpectation:
    def __init__(
        self, base_url, config, method, ep, params, data, json_body, headers, wire_headers
    ):
        self.base_url = base_url
        self.config = config
        self.method = method
        self.ep = ep
        self.params = params
        self.data = data
        self.json = json_body
        self.headers = headers
        self.wire_headers = wire_headers


class BehaviourTests:
    """The shared suite. Subclasses provide `make_http`, `expect` and `root_url`."""

    root_url: str

    async def make_http(self, path: str = "/api", **config: Any) -> Any:
        raise NotImplementedError

    def expect(self, http: Any, method: str, ep: str, **kwargs: Any) -> None:
        raise NotImplementedError

    # --- requests ------------------------------------------------------------------

    async def test_get_with_params(self):
        http = await self.make_http()
        self.expect(
            http, "get", "/items", params={"a": "1", "b": ["x", "y"]}, content_json={"n": 2}
        )
        res = await http.get("/items", params={"a": "1", "b": ["x", "y"]})
        self.assertEqual(res.code, 200)
        self.assertEqual(await res.json(), {"n": 2})
        split = urlsplit(res.url)
        self.assertEqual(split.path, "/api/items")
        self.assertEqual(parse_qs(split.query), {"a": ["1"], "b": ["x", "y"]})

    async def test_post_json(self):
        http = await self.make_http()
        payload = {"state": "pending", "list": [1, 2.5, None, True], "text": "h\u00e9"}
        self.expect(http, "post", "/statuses/abc", json=payload, code=201, content_json={"id": 7})
        res = await http.post("/statuses/abc", json=payload)
        self.assertEqual(res.code, 201)
        self.assertEqual(await res.json(), {"id": 7})

    async def test_post_json_with_datetime(self):
        http = await self.make_http()
        payload = {"when": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)}
        self.expect(http, "post", "/builds", json=payload)
        res = await http.post("/builds", json=payload)
        self.assertEqual(res.code, 200)

    async def test_post_json_skip_encoding(self):
        http = await self.make_http(skipEncoding=True)
        self.expect(http, "post", "/raw", json=["a", {"b": 1}])
        res = await http.post("/raw", json=["a", {"b": 1}])
        self.assertEqual(res.code, 200)

    async def test_post_form_data(self):
        http = await self.make_http()
        form = {"field": "value", "spaced": "a b&c"}
        self.expect(http, "post", "/form", data=form)
        res = await http.post("/form", data=form)
        self.assertEqual(res.code, 200)

    async def test_post_bytes_data(self):
        http = await self.make_http()
        self.expect(http, "post", "/upload", data=b"\x00raw\xffbytes")
        res = await http.post("/upload", data=b"\x00raw\xffbytes")
        self.assertEqual(res.code, 200)

    async def test_post_str_data(self):
        http = await self.make_http()
        self.expect(http, "post", "/text", data="caf\u00e9")
        res = await http.post("/text", data="caf\u00e9")
        self.assertEqual(res.code, 200)

    async def test_put_patch_delete(self):
        http = await self.make_http()
        self.expect(http, "put", "/things/1", json={"v": 1}, content_json={"put": True})
        self.expect(http, "patch", "/things/1", json={"v": 2}, content_json={"patch": True})
        self.expect(http, "delete", "/things/1", params={"force": "yes"}, code=204)
        res = await http.put("/things/1", json={"v": 1})
        self.assertEqual(await res.json(), {"put": True})
        res = await http.patch("/things/1", json={"v": 2})
        self.assertEqual(await res.json(), {"patch": True})
        res = await http.delete("/things/1", params={"force": "yes"})
        self.assertEqual(res.code, 204)
        self.assertEqual(await res.content(), b"")

    async def test_requests_answered_in_order(self):
        http = await self.make_http()
        for i in range(3):
            self.expect(http, "get", f"/n/{i}", content_json=i)
        for i in range(3):
            res = await http.get(f"/n/{i}")
            self.assertEqual(await res.json(), i)

    async def test_session_and_call_headers_merged(self):
        http = await self.make_http(headers={"X-Session": "s", "X-Override": "session"})
        call_headers = {"x-override": "call", "X-Call": "c"}
        self.expect(http, "get", "/h", headers=call_headers)
        res = await http.get("/h", headers=call_headers)
        self.assertEqual(res.code, 200)

    async def test_basic_auth(self):
        http = await self.make_http(auth=("user", "p\u00e4ss:word"))
        self.expect(http, "get", "/private", content="secret")
        res = await http.get("/private")
        self.assertEqual(await res.content(), b"secret")

    # --- responses -------------------------------------------------------------------

    async def test_error_codes_returned_not_raised(self):
        http = await self.make_http()
        self.expect(http, "get", "/missing", code=404, content="not here")
        self.expect(http, "post", "/broken", json={}, code=500, content_json={"error": "boom"})
        res = await http.get("/missing")
        self.assertEqual(res.code, 404)
        self.assertEqual(await res.content(), b"not here")
        res = await http.post("/broken", json={})
        self.assertEqual(res.code, 500)
        self.assertEqual(await res.json(), {"error": "boom"})

    async def test_content_bytes(self):
        http = await self.make_http()
        self.expect(http, "get", "/bin", content=b"\x00\x01\xfe\xff")
        res = await http.get("/bin")
        self.assertEqual(await res.content(), b"\x00\x01\xfe\xff")
        # the body can be read again, in another form
        self.assertEqual(await res.content(), b"\x00\x01\xfe\xff")

    async def test_text(self):
        http = await self.make_http()
        self.expect(http, "get", "/t", content="h\u00e9llo")
        res = await http.get("/t")
        self.assertEqual(await res.text(), "h\u00e9llo")
        self.assertEqual(await res.text("latin-1"), "h\u00c3\u00a9llo")

    async def test_json_nested_response(self):
        http = await self.make_http()
        value = {"a": [1, {"b": None}], "c": "\u2603", "d": 1.5, "e": False}
        self.expect(http, "get", "/j", content_json=value)
        res = await http.get("/j")
        self.assertEqual(await res.json(), value)

    async def test_invalid_json_response_fails(self):
        http = await self.make_http()
        self.expect(http, "get", "/notjson", content="<html>")
        res = await http.get("/notjson")
        await self.assertFailure(res.json(), ValueError)

    # --- URLs ------------------------------------------------------------------------

    async def test_base_url_joining(self):
        cases = [
            ("/api", "/x", "/api/x"),
            ("/api/", "/x", "/api/x"),
            ("/api", "x", "/api/x"),
            ("/api/", "x/y/", "/api/x/y/"),
            ("/api", "", "/api"),
            ("", "/root", "/root"),
        ]
        for path, ep, expected_path in cases:
            http = await self.make_http(path)
            self.expect(http, "get", ep)
            res = await http.get(ep)
            self.assertEqual(urlsplit(res.url).path, expected_path, (path, ep))

    async def test_absolute_endpoint_used_as_is(self):
        http = await self.make_http("/api")
        url = self.root_url + "/elsewhere/page"
        self.expect(http, "get", url)
        res = await http.get(url)
        self.assertEqual(urlsplit(res.url).path, "/elsewhere/page")

    # --- arguments ---------------------------------------------------------------------

    async def test_data_and_json_together_rejected(self):
        http = await self.make_http()
        await self.assertFailure(http.post("/x", data={"a": "1"}, json={"b": 2}), ValueError)

    # --- sharing -------------------------------------------------------------------------

    async def test_same_arguments_same_instance(self):
        a = await self.make_http("/api", headers={"Authorization": "token t"}, verify=None)
        b = await self.make_http("/api", headers={"authorization": "token t"}, verify=True)
        self.assertIdentical(a, b)

    async def test_debug_none_and_false_share(self):
        a = await self.make_http("/api", debug=None)
        b = await self.make_http("/api", debug=False)
        self.assertIdentical(a, b)

    async def test_different_arguments_different_instances(self):
        a = await self.make_http("/api", headers={"Authorization": "token 1"})
        b = await self.make_http("/api", headers={"Authorization": "token 2"})
        c = await self.make_http("/api", auth=("u", "p"))
        d = await self.make_http("/other")
        self.assertEqual(len({id(a), id(b), id(c), id(d)}), 4)
        self.expect(a, "get", "/who")
        self.expect(b, "get", "/who")
        await a.get("/who")
        await b.get("/who")

    # --- HTTPSession ---------------------------------------------------------------------

    async def test_http_session_on_service(self):
        http = await self.make_http("/api")
        session = httpclientservice.HTTPSession(
            http, self.root_url + "/v2", headers={"X-Session": "1"}
        )
        session.update_headers({"X-Later": "2"})
        wire = {"X-Session": "1", "X-Later": "2", "X-Call": "3"}
        # expectations are written relative to the service's base URL: an absolute
        # endpoint says where the session's request must go
        self.expect(
            http,
            "post",
            self.root_url + "/v2/items",
            json={"i": 1},
            headers={"X-Call": "3"},
            wire_headers=wire,
            content_json=[1],
        )
        res = await session.post("/items", json={"i": 1}, headers={"X-Call": "3"})
        self.assertEqual(await res.json(), [1])
        self.assertEqual(urlsplit(res.url).path, "/v2/items")

    async def test_service_update_headers(self):
        http = await self.make_http("/api", headers={"X-A": "1"})
        http.update_headers({"X-B": "2"})
        self.expect(http, "get", "/u", wire_headers={"X-A": "1", "X-B": "2"})
        res = await http.get("/u")
        self.assertEqual(res.code, 200)

    async def test_session_without_service_fails(self):
        session = httpclientservice.HTTPSession(None, self.root_url)
        await self.assertFailure(session.get("/x"), RuntimeError)


async def _start_master(case: unittest.TestCase, reactor: Any = None) -> service.MasterService:
    master = service.MasterService(reactor)
    await master.startService()
    case.addCleanup(master.stopService)
    return master


class FakeMode:
    """Runs the shared suite against the fake, reached through the real getService."""

    root_url = FAKE_ROOT

    async def setUp(self):
        self.master = await _start_master(self)

    async def make_http(self, path: str = "/api", **config: Any) -> Any:
        base_url = FAKE_ROOT + path
        fake = await fakehttpclientservice.HTTPClientService.getFakeService(
            self.master, self, base_url, **config
        )
        http = await httpclientservice.HTTPClientService.getService(self.master, base_url, **config)
        self.assertIdentical(http, fake)
        return http

    def expect(self, http: Any, method: str, ep: str, wire_headers: Any = None, **kwargs: Any):
        http.expect(method, ep, **kwargs)


class RealMode:
    """Runs the shared suite against the real service and a local server."""

    PREFER_TREQ = True

    async def setUp(self):
        self.patch(httpclientservice.HTTPClientService, "PREFER_TREQ", self.PREFER_TREQ)
        self.server = HTTPTestServer()
        self.server.start()
        self.addCleanup(self.server.stop)
        self.master = await _start_master(self)
        self.root_url = self.server.url
        self._configs: dict[int, dict[str, Any]] = {}
        self._wire: list[_WireExpectation] = []
        self.addCleanup(self._check_wire)

    async def make_http(self, path: str = "/api", **config: Any) -> Any:
        http = await httpclientservice.HTTPClientService.getService(
            self.master, self.server.url + path, **config
        )
        self._configs.setdefault(id(http), config)
        return http

    def expect(
        self,
        http: Any,
        method: str,
        ep: str,
        params: Any = None,
        data: Any = None,
        json: Any = None,
        headers: Any = None,
        wire_headers: Any = None,
        code: int = 200,
        content: Any = None,
        content_json: Any = None,
    ) -> None:
        reply_headers = {}
        if content_json is not None:
            body = jsonlib.dumps(content_json)
            reply_headers["Content-Type"] = "application/json"
        else:
            body = content or b""
        self.server.add_reply(code, body, reply_headers)
        self._wire.append(
            _WireExpectation(
                http.base_url,
                self._configs.get(id(http), {}),
                method,
                ep,
                params,
                data,
                json,
                headers,
                wire_headers,
            )
        )

    def _check_wire(self) -> None:
        received = self.server.requests
        self.assertEqual(
            len(received),
            len(self._wire),
            f"expected {len(self._wire)} requests on the wire, got {len(received)}",
        )
        for record, exp in zip(received, self._wire, strict=True):
            self._check_one(record, exp)

    def _check_one(self, record: Any, exp: _WireExpectation) -> None:
        if exp.ep.startswith(("http://", "https://")):
            url = exp.ep
        elif not exp.ep:
            url = exp.base_url
        else:
            url = exp.base_url.rstrip("/") + "/" + exp.ep.lstrip("/")
        split = urlsplit(url)
        self.assertEqual(record.method, exp.method.upper())
        self.assertEqual(record.path, split.path or "/")
        expected_query = parse_qs(split.query)
        for key, values in _as_query(exp.params).items():
            expected_query.setdefault(key, []).extend(values)
        self.assertEqual(record.query, expected_query)

        content_type = record.headers.get("content-type", "")
        if exp.json is not None:
            self.assertTrue(content_type.startswith("application/json"), content_type)
            expected = jsonlib.loads(jsonlib.dumps(exp.json, default=_epoch))
            self.assertEqual(jsonlib.loads(record.body), expected)
        elif isinstance(exp.data, dict):
            self.assertEqual(content_type, "application/x-www-form-urlencoded")
            self.assertEqual(parse_qs(record.body.decode()), _as_query(exp.data))
        elif isinstance(exp.data, str):
            self.assertEqual(record.body, exp.data.encode("utf-8"))
        elif exp.data is not None:
            self.assertEqual(record.body, exp.data)
        else:
            self.assertEqual(record.body, b"")

        wire_headers = exp.wire_headers
        if wire_headers is None:
            wire_headers = {}
            for layer in (exp.config.get("headers"), exp.headers):
                for name, value in (layer or {}).items():
                    wire_headers = {
                        k: v for k, v in wire_headers.items() if k.lower() != name.lower()
                    }
                    wire_headers[name] = value
        for name, value in wire_headers.items():
            self.assertEqual(record.headers.get(name.lower()), value, name)

        auth = exp.config.get("auth")
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            self.assertEqual(record.headers.get("authorization"), "Basic " + token)


class TestBehaviourFake(FakeMode, BehaviourTests, unittest.TestCase):
    pass


class TestBehaviourTreq(RealMode, BehaviourTests, unittest.TestCase):
    PREFER_TREQ = True


class TestBehaviourTxRequests(RealMode, BehaviourTests, unittest.TestCase):
    PREFER_TREQ = False
    if httpclientservice.txrequests is None:
        skip = "txrequests is not installed"


# --- TLS material, made on the fly -------------------------------------------------------


def _make_certificate(common_name: str, directory: str) -> tuple[str, str]:
    """A self-signed certificate (usable as its own CA) valid for 127.0.0.1;
    returns (certificate path, key path), PEM."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path = os.path.join(directory, common_name + ".crt")
    key_path = os.path.join(directory, common_name + ".key")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return cert_path, key_path


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


try:
    import cryptography  # noqa: F401
    import OpenSSL  # noqa: F401
except ImportError:  # pragma: no cover - depends on the installation
    _NO_TLS = "pyOpenSSL/cryptography are not installed"
else:
    _NO_TLS = None


class RealOnlyTests:
    """Behaviour only the real service has (time, TLS, logs, connections)."""

    async def test_timeout(self):
        http = await self.make_http()
        self.server.hang_paths.add("/api/hang")
        self.expect(http, "get", "/hang")
        started = self.master.reactor.seconds()
        failure = await self.assertFailure(http.get("/hang", timeout=0.2), defer.TimeoutError)
        self.assertIn("/api/hang", str(failure))
        self.assertLess(self.master.reactor.seconds() - started, 5)

    async def test_default_timeout(self):
        self.patch(httpclientservice, "DEFAULT_TIMEOUT", 0.2)
        http = await self.make_http()
        self.server.hang_paths.add("/api/hang")
        self.expect(http, "get", "/hang")
        await self.assertFailure(http.get("/hang"), defer.TimeoutError)

    async def test_debug_logging(self):
        messages: list[str] = []

        def observer(event: dict) -> None:
            messages.append(log.textFromEventDict(event) or "")

        log.addObserver(observer)
        self.addCleanup(log.removeObserver, observer)
        http = await self.make_http(debug=True)
        self.expect(http, "post", "/dbg", params={"x": "1"}, json={}, code=202)
        await http.post("/dbg", params={"x": "1"}, json={})
        url = self.server.url + "/api/dbg?x=1"
        self.assertIn(f"HTTP request: POST {url}", messages)
        self.assertIn(f"HTTP response: POST {url} -> 202", messages)

    async def test_no_logging_without_debug(self):
        messages: list[str] = []

        def observer(event: dict) -> None:
            messages.append(log.textFromEventDict(event) or "")

        log.addObserver(observer)
        self.addCleanup(log.removeObserver, observer)
        http = await self.make_http()
        self.expect(http, "get", "/quiet")
        await http.get("/quiet")
        self.assertEqual([m for m in messages if m.startswith("HTTP ")], [])

    async def test_response_headers(self):
        http = await self.make_http()
        self.server.add_reply(200, b"{}", {"X-Reply": "v1", "Content-Type": "application/json"})
        self._wire.append(
            _WireExpectation(http.base_url, {}, "get", "/hdr", None, None, None, None, None)
        )
        res = await http.get("/hdr")
        self.assertEqual(res.headers["x-reply"], "v1")
        self.assertEqual(res.headers["X-REPLY"], "v1")
        self.assertEqual(res.headers.getRawHeaders("X-Reply"), ["v1"])
        self.assertEqual(res.headers.getRawHeaders(b"x-reply"), [b"v1"])
        self.assertIsNone(res.headers.getRawHeaders("x-absent"))
        self.assertNotIn("x-absent", res.headers)
        self.assertIn("X-Reply", list(res.headers))
        self.assertNotIn("content-encoding", res.headers)

    async def test_backend_on_the_wire(self):
        http = await self.make_http()
        self.expect(http, "get", "/ua")
        await http.get("/ua")
        user_agent = self.server.requests[0].headers.get("user-agent", "")
        self.assertEqual(user_agent.startswith("python-requests/"), not self.PREFER_TREQ)

    async def test_stop_closes_connections(self):
        http = await self.make_http()
        self.expect(http, "get", "/keepalive")
        await http.get("/keepalive")
        self.assertEqual(self.server.open_connections, 1)
        await http.disownServiceParent()
        await self.server.wait_idle().addTimeout(5, self.master.reactor)
        self.assertEqual(self.server.open_connections, 0)
        await self.assertFailure(http.get("/again"), RuntimeError)

    async def test_connections_reused(self):
        http = await self.make_http()
        for i in range(3):
            self.expect(http, "get", f"/r{i}")
            await http.get(f"/r{i}")
        self.assertEqual(self.server.open_connections, 1)

    async def test_connection_refused(self):
        http = await self.make_http()
        port = self.server.url.rsplit(":", 1)[1]
        await self.server.stop()
        # nothing listens there any more: the error is the back end's own
        d = http.get(f"http://127.0.0.1:{port}/gone", timeout=5)
        failure = await self.assertFailure(d, Exception)
        self.assertNotIsInstance(failure, defer.TimeoutError)

    async def test_unserializable_json_fails(self):
        http = await self.make_http()
        await self.assertFailure(http.post("/x", json={"o": object()}), TypeError)


class TLSTests:
    """Real services against a local HTTPS server with a self-signed certificate."""

    if _NO_TLS:
        skip = _NO_TLS

    async def setUp(self):
        from twisted.internet import ssl

        self.patch(httpclientservice.HTTPClientService, "PREFER_TREQ", self.PREFER_TREQ)
        directory = self.mktemp()
        os.makedirs(directory)
        self.server_cert, server_key = _make_certificate("server", directory)
        self.client_cert, self.client_key = _make_certificate("client", directory)
        self.client_combined = os.path.join(directory, "client.pem")
        with open(self.client_combined, "wb") as f:
            f.write(_read(self.client_cert) + _read(self.client_key))
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        options = ssl.CertificateOptions(
            privateKey=serialization.load_pem_private_key(_read(server_key), None),
            certificate=x509.load_pem_x509_certificate(_read(self.server_cert)),
        )
        if getattr(self, "require_client_cert", False):
            from OpenSSL import SSL

            # the (cached) context is the one every connection uses
            context = options.getContext()
            context.load_verify_locations(self.client_cert)
            context.set_verify(
                SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT,
                lambda conn, cert, errno, depth, ok: bool(ok),
            )
        self.server_options = options
        self.server = HTTPTestServer(tls=options)
        self.server.start()
        self.addCleanup(self.server.stop)
        self.master = await _start_master(self)

    def _get(self, **session_args: Any) -> defer.Deferred[Any]:
        async def get() -> Any:
            http = await httpclientservice.HTTPClientService.getService(
                self.master, self.server.url
            )
            session = httpclientservice.HTTPSession(http, self.server.url, **session_args)
            return await session.get("/tls", timeout=5)

        return defer.ensureDeferred(get())


class ServerTLSTests(TLSTests):
    async def test_verify_false_accepts_self_signed(self):
        http = await httpclientservice.HTTPClientService.getService(
            self.master, self.server.url, verify=False
        )
        res = await http.get("/tls", timeout=5)
        self.assertEqual(res.code, 200)
        self.assertTrue(res.url.startswith("https://127.0.0.1:"))

    async def test_server_name_sent(self):
        names: list[Any] = []
        context = self.server_options.getContext()
        context.set_tlsext_servername_callback(lambda conn: names.append(conn.get_servername()))
        url = self.server.url.replace("127.0.0.1", "localhost")
        http = await httpclientservice.HTTPClientService.getService(self.master, url, verify=False)
        res = await http.get("/sni", timeout=5)
        self.assertEqual(res.code, 200)
        self.assertEqual(names, [b"localhost"])

    async def test_verify_default_rejects_self_signed(self):
        http = await httpclientservice.HTTPClientService.getService(self.master, self.server.url)
        failure = await self.assertFailure(http.get("/tls", timeout=5), Exception)
        self.assertNotIsInstance(failure, defer.TimeoutError)
        self.assertEqual(self.server.requests, [])

    async def test_verify_with_ca_file(self):
        res = await self._get(verify=self.server_cert)
        self.assertEqual(res.code, 200)

    async def test_verified_and_unverified_sessions_side_by_side(self):
        res = await self._get(verify=False)
        self.assertEqual(res.code, 200)
        await self.assertFailure(self._get(), Exception)
        res = await self._get(verify=False)
        self.assertEqual(res.code, 200)


class ClientCertificateTests(TLSTests):
    require_client_cert = True

    async def test_client_certificate_pair(self):
        res = await self._get(verify=self.server_cert, cert=(self.client_cert, self.client_key))
        self.assertEqual(res.code, 200)

    async def test_client_certificate_combined_unverified(self):
        res = await self._get(verify=False, cert=self.client_combined)
        self.assertEqual(res.code, 200)

    async def test_client_certificate_with_chain(self):
        # a certificate file may carry the chain after the client's own certificate
        chain = os.path.join(os.path.dirname(self.client_cert), "chain.pem")
        with open(chain, "wb") as f:
            f.write(_read(self.client_cert) + _read(self.server_cert))
        res = await self._get(verify=self.server_cert, cert=(chain, self.client_key))
        self.assertEqual(res.code, 200)

    async def test_client_certificate_missing(self):
        await self.assertFailure(self._get(verify=self.server_cert), Exception)
        self.assertEqual(self.server.requests, [])


class TestRealOnlyTreq(RealMode, RealOnlyTests, unittest.TestCase):
    PREFER_TREQ = True


class TestRealOnlyTxRequests(RealMode, RealOnlyTests, unittest.TestCase):
    PREFER_TREQ = False
    if httpclientservice.txrequests is None:
        skip = "txrequests is not installed"


class TestServerTLSTreq(ServerTLSTests, unittest.TestCase):
    PREFER_TREQ = True


class TestServerTLSTxRequests(ServerTLSTests, unittest.TestCase):
    PREFER_TREQ = False
    if httpclientservice.txrequests is None:
        skip = "txrequests is not installed"


class TestClientCertificateTreq(ClientCertificateTests, unittest.TestCase):
    PREFER_TREQ = True


class TestClientCertificateTxRequests(ClientCertificateTests, unittest.TestCase):
    PREFER_TREQ = False
    if httpclientservice.txrequests is None:
        skip = "txrequests is not installed"


class TestBackendChoice(RealMode, unittest.TestCase):
    """Which back end serves a request, and what happens without txrequests."""

    PREFER_TREQ = True

    def _log(self) -> list[str]:
        messages: list[str] = []

        def observer(event: dict) -> None:
            messages.append(log.textFromEventDict(event) or "")

        log.addObserver(observer)
        self.addCleanup(log.removeObserver, observer)
        return messages

    async def test_missing_txrequests_falls_back_to_treq(self):
        self.patch(httpclientservice, "txrequests", None)
        self.patch(httpclientservice.HTTPClientService, "PREFER_TREQ", False)
        messages = self._log()
        http = await self.make_http()
        self.expect(http, "get", "/one")
        self.expect(http, "get", "/two")
        await http.get("/one")
        await http.get("/two")
        fallbacks = [m for m in messages if "txrequests is not installed" in m]
        self.assertEqual(len(fallbacks), 1)
        self.assertNotIn("user-agent", self.server.requests[0].headers)

    async def test_auth_object_uses_txrequests(self):
        if httpclientservice.txrequests is None:
            raise unittest.SkipTest("txrequests is not installed")
        import requests

        http = await self.make_http()
        session = httpclientservice.HTTPSession(
            http, http.base_url, auth=requests.auth.HTTPBasicAuth("u", "p")
        )
        self.expect(http, "get", "/auth", wire_headers={"Authorization": "Basic dTpw"})
        res = await session.get("/auth")
        self.assertEqual(res.code, 200)
        self.assertTrue(self.server.requests[0].headers["user-agent"].startswith("python-requests"))

    async def test_auth_object_without_txrequests_fails(self):
        self.patch(httpclientservice, "txrequests", None)
        http = await self.make_http()
        session = httpclientservice.HTTPSession(http, http.base_url, auth=object())
        await self.assertFailure(session.get("/auth"), RuntimeError)

    async def test_not_started_service_refuses(self):
        http = httpclientservice.HTTPClientService(self.server.url)
        await self.assertFailure(http.get("/x"), RuntimeError)

    async def test_unknown_method_refused(self):
        http = await self.make_http()
        session = httpclientservice.HTTPSession(http, http.base_url)
        await self.assertFailure(session._request("trace", "/x"), ValueError)

    async def test_without_master_uses_global_reactor(self):
        http = httpclientservice.HTTPClientService(self.server.url + "/api")
        await http.startService()
        self.addCleanup(http.stopService)
        self.expect(http, "get", "/alone")
        res = await http.get("/alone")
        self.assertEqual(res.code, 200)

    async def test_stop_without_requests(self):
        http = await self.make_http()
        await http.disownServiceParent()
        self.assertFalse(http.running)


# --- plain functions ----------------------------------------------------------------------


class TestHelpers(unittest.TestCase):
    def test_join_url(self):
        join = httpclientservice.join_url
        self.assertEqual(join("http://h/api", "/x"), "http://h/api/x")
        self.assertEqual(join("http://h/api/", "/x"), "http://h/api/x")
        self.assertEqual(join("http://h/api//", "x"), "http://h/api/x")
        self.assertEqual(join("http://h/api", ""), "http://h/api")
        self.assertEqual(join("http://h/api", "https://o/y"), "https://o/y")
        self.assertEqual(join("", "http://o/y"), "http://o/y")

    def test_url_with_params(self):
        add = httpclientservice.url_with_params
        self.assertEqual(add("http://h/x", None), "http://h/x")
        self.assertEqual(add("http://h/x", {"a": ["1", "2"]}), "http://h/x?a=1&a=2")
        self.assertEqual(add("http://h/x?z=0", [("b", "c d")]), "http://h/x?z=0&b=c+d")

    def test_canonical_config(self):
        canon = httpclientservice.canonical_config
        self.assertEqual(
            canon("u", ["a", "b"], {"X-A": "1"}, None, None, False),
            canon("u", ("a", "b"), {"x-a": "1"}, False, True, False),
        )
        self.assertNotEqual(canon("u", verify=False), canon("u"))
        self.assertNotEqual(canon("u", headers={"a": "1"}), canon("u", headers={"a": "2"}))

    def test_getName(self):
        cls = httpclientservice.HTTPClientService
        self.assertEqual(
            cls.getName("http://h", headers={"A": "1"}, debug=None),
            cls.getName("http://h", None, {"a": "1"}, False),
        )
        self.assertTrue(cls.getName("http://h").startswith("HTTPClientService_"))
        self.assertNotEqual(cls.getName("http://h"), cls.getName("http://h2"))

    def test_response_headers(self):
        headers = httpclientservice.ResponseHeaders(
            [("Set-Cookie", "a=1"), (b"set-cookie", b"b=2"), ("Content-Type", "text/plain")]
        )
        self.assertEqual(headers["SET-COOKIE"], "a=1, b=2")
        self.assertEqual(headers.getRawHeaders("set-cookie"), ["a=1", "b=2"])
        self.assertEqual(headers.getRawHeaders(b"Set-Cookie"), [b"a=1", b"b=2"])
        self.assertEqual(headers.getRawHeaders("nope", ["d"]), ["d"])
        self.assertEqual(len(headers), 2)
        self.assertEqual(list(headers), ["Set-Cookie", "Content-Type"])
        self.assertEqual(headers.get("content-type"), "text/plain")
        self.assertIn("Set-Cookie", repr(headers))

    def test_buffered_response(self):
        res = httpclientservice.BufferedResponse(
            200,
            "http://h/x",
            httpclientservice.ResponseHeaders([("Content-Type", 'text/plain; charset="latin-1"')]),
            "\u00e9".encode("latin-1"),
        )
        self.assertEqual(self.successResultOf(res.text()), "\u00e9")
        self.assertEqual(self.successResultOf(res.content()), b"\xe9")
        self.failureResultOf(res.json(), ValueError)
        self.assertIn("200", repr(res))
        bare = httpclientservice.BufferedResponse(204, "http://h/x", None, b"")
        self.assertEqual(len(bare.headers), 0)
        self.assertEqual(self.successResultOf(bare.text()), "")

    def test_charset_parsing(self):
        charset = httpclientservice._charset_of
        self.assertIsNone(charset(None))
        self.assertIsNone(charset("text/plain"))
        self.assertIsNone(charset("text/plain; format=flowed"))
        self.assertEqual(charset("text/plain; Charset=UTF-16"), "UTF-16")

    def test_json_default(self):
        when = datetime.datetime(2020, 1, 1, tzinfo=UTC)
        self.assertEqual(httpclientservice.json_default(when), 1577836800)
        with self.assertRaises(TypeError):
            httpclientservice.json_default(object())
        self.assertEqual(httpclientservice.encode_json_body({"t": when}), b'{"t": 1577836800}')

    def test_repr(self):
        self.assertIn("http://h", repr(httpclientservice.HTTPClientService("http://h")))
        self.assertIn("http://h", repr(httpclientservice.HTTPSession(None, "http://h")))


# --- the fake fails tests ------------------------------------------------------------------


def _run_inner(body) -> reporter.TestResult:
    """Run `body(case, master, fake)` as the test method of a throw-away test case,
    with a fake registered for FAKE_ROOT + "/api", and return that test's result."""

    class Inner(unittest.SynchronousTestCase):
        def test_it(self):
            master = service.MasterService(task.Clock())
            self.successResultOf(master.startService())
            self.addCleanup(master.stopService)
            fake = self.successResultOf(
                fakehttpclientservice.HTTPClientService.getFakeService(
                    master, self, FAKE_ROOT + "/api", headers={"X-S": "1"}
                )
            )
            body(self, master, fake)

    result = reporter.TestResult()
    Inner("test_it").run(result)
    return result


class TestFakeFailsTests(unittest.TestCase):
    def assertInnerFails(self, body, *fragments: str) -> None:
        result = _run_inner(body)
        problems = result.failures + result.errors
        self.assertEqual(len(problems), 1, problems)
        text = str(problems[0][1])
        for fragment in fragments:
            self.assertIn(fragment, text)

    def assertInnerPasses(self, body) -> None:
        result = _run_inner(body)
        self.assertTrue(result.wasSuccessful(), result.failures + result.errors)

    def test_control_all_expectations_met(self):
        def body(case, master, fake):
            fake.expect("post", "/x", json={"a": 1}, content_json={"ok": True})
            res = case.successResultOf(fake.post("/x", json={"a": 1}))
            case.assertEqual(case.successResultOf(res.json()), {"ok": True})

        self.assertInnerPasses(body)

    def test_unexpected_request(self):
        def body(case, master, fake):
            # the caller sees the error too
            case.failureResultOf(fake.get("/surprise"), AssertionError)

        self.assertInnerFails(body, "unexpected HTTP request: GET /surprise")

    def test_swallowed_error_still_fails_the_test(self):
        def body(case, master, fake):
            fake.get("/surprise").addErrback(lambda _: None)

        self.assertInnerFails(body, "unexpected HTTP request")

    def test_missing_request(self):
        def body(case, master, fake):
            fake.expect("get", "/never")
            fake.expect("delete", "/never/either")

        self.assertInnerFails(
            body, "2 expected HTTP request(s) were not made", "DELETE /never/either"
        )

    def test_mismatches(self):
        cases = [
            ("method", dict(method="put"), {}),
            ("url", dict(ep="/other"), {}),
            ("params", dict(params={"a": "1"}), {}),
            ("data", dict(data={"f": "1"}), {"data": {"f": "2"}}),
            ("json", dict(json={"a": 1}), {"json": {"a": 2}}),
            ("headers", dict(headers={"X-C": "1"}), {"headers": {"X-C": "2"}}),
            ("files", dict(files={"f": b"x"}), {}),
            ("verify", dict(verify=False), {}),
            ("cert", dict(cert="/c.pem"), {}),
        ]
        for field, expected_kwargs, call_kwargs in cases:

            def body(case, master, fake, expected_kwargs=expected_kwargs, call_kwargs=call_kwargs):
                args = {"method": "post", "ep": "/x"}
                args.update(expected_kwargs)
                fake.expect(**args)
                case.failureResultOf(fake.post("/x", **call_kwargs), AssertionError)

            self.assertInnerFails(body, f"does not match the expectation ({field})")

    def test_matching_ignores_header_case_and_empty_values(self):
        def body(case, master, fake):
            fake.expect("get", "/x", headers={"X-C": "1"}, params={})
            fake.expect("get", "/x", verify=True)
            case.successResultOf(fake.get("/x", headers={"x-c": "1"}))
            case.successResultOf(fake.get("/x"))

        self.assertInnerPasses(body)

    def test_every_problem_reported(self):
        def body(case, master, fake):
            fake.expect("get", "/a")
            fake.get("/b").addErrback(lambda _: None)
            fake.get("/c").addErrback(lambda _: None)

        self.assertInnerFails(body, "GET /b", "GET /c")

    def test_getService_with_other_arguments(self):
        def body(case, master, fake):
            d = httpclientservice.HTTPClientService.getService(
                master, FAKE_ROOT + "/api", headers={"X-S": "2"}
            )
            case.failureResultOf(d, AssertionError)

        self.assertInnerFails(body, "other arguments than the fake was registered with", "'2'")

    def test_getService_for_unknown_base_url(self):
        def body(case, master, fake):
            d = httpclientservice.HTTPClientService.getService(master, "http://elsewhere")
            case.failureResultOf(d, AssertionError)

        self.assertInnerFails(body, "no fake is registered for this base URL")

    def test_getService_with_equivalent_arguments(self):
        def body(case, master, fake):
            d = httpclientservice.HTTPClientService.getService(
                master, FAKE_ROOT + "/api", headers={"x-s": "1"}, debug=None, verify=True
            )
            case.assertIdentical(case.successResultOf(d), fake)

        self.assertInnerPasses(body)

    def test_assert_all_consumed(self):
        def body(case, master, fake):
            fake.expect("get", "/x")
            with case.assertRaises(AssertionError):
                fake.assert_all_consumed()
            fake.assert_all_consumed()  # the list was emptied: no second report

        self.assertInnerPasses(body)


class TestFake(unittest.TestCase):
    async def setUp(self):
        self.clock = task.Clock()
        self.master = await _start_master(self, self.clock)

    async def _fake(self, base_url: str = FAKE_ROOT, **config: Any) -> Any:
        return await fakehttpclientservice.HTTPClientService.getFakeService(
            self.master, self, base_url, **config
        )

    async def test_same_arguments_same_fake(self):
        a = await self._fake(headers={"A": "1"})
        b = await fakehttpclientservice.HTTPClientService.getService(
            self.master, self, FAKE_ROOT, headers={"a": "1"}
        )
        self.assertIdentical(a, b)
        self.assertEqual(a.base_url, FAKE_ROOT)
        self.assertIn(FAKE_ROOT, repr(a))

    async def test_registered_under_the_real_name(self):
        fake = await self._fake(headers={"A": "1"}, debug=True)
        name = httpclientservice.HTTPClientService.getName(FAKE_ROOT, headers={"A": "1"}, debug=1)
        self.assertEqual(fake.name, name)
        self.assertIdentical(self.master.namedServices[name], fake)

    async def test_becomes_master_httpservice(self):
        first = await self._fake()
        second = await self._fake(FAKE_ROOT + "/2")
        self.assertIdentical(self.master.httpservice, first)
        self.assertIsNot(second, first)

    async def test_http_session_through_master_httpservice(self):
        fake = await self._fake("")
        session = httpclientservice.HTTPSession(
            self.master.httpservice, FAKE_ROOT + "/api", headers={"X": "1"}
        )
        fake.expect("get", FAKE_ROOT + "/api/items", content_json=[])
        res = await session.get("/items")
        self.assertEqual(await res.json(), [])
        self.assertEqual(res.headers["content-type"], "application/json")

    async def test_processing_delay(self):
        fake = await self._fake()
        fake.expect("get", "/slow", processing_delay_s=2, content="done")
        d = fake.get("/slow")
        self.assertNoResult(d)
        self.clock.advance(1)
        self.assertNoResult(d)
        self.clock.advance(1)
        res = self.successResultOf(d)
        self.assertEqual(await res.content(), b"done")

    async def test_processing_delay_without_master_reactor(self):
        fake = fakehttpclientservice.HTTPClientService(self, FAKE_ROOT)
        fake.expect("get", "/slow", processing_delay_s=0.01)
        res = await fake.get("/slow")
        self.assertEqual(res.code, 200)

    async def test_content_and_content_json_exclusive(self):
        fake = await self._fake()
        with self.assertRaises(ValueError):
            fake.expect("get", "/x", content="a", content_json="b")

    async def test_update_headers_accepted(self):
        fake = await self._fake()
        fake.update_headers({"X": "1"})
        fake.expect("get", "/x")
        await fake.get("/x")

    async def test_debug_logs(self):
        messages: list[str] = []

        def observer(event: dict) -> None:
            messages.append(log.textFromEventDict(event) or "")

        log.addObserver(observer)
        self.addCleanup(log.removeObserver, observer)
        fake = await self._fake(debug=True)
        fake.expect("get", "/d", code=404)
        await fake.get("/d")
        self.assertIn(f"HTTP request: GET {FAKE_ROOT}/d (fake)", messages)
        self.assertIn(f"HTTP response: GET {FAKE_ROOT}/d -> 404 (fake)", messages)
