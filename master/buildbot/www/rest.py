"""The REST API: `/api` (versions) and `/api/v2/...` reads and JSON-RPC controls.

The resources read their settings (`allowed_origins`, `json_cache_seconds`...)
from the web service on every request, so a reconfig applies without rebuilding
them. Reads and controls go through `master.data`; data API errors become HTTP
errors here and nowhere else.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable
from typing import Any

from twisted.internet import defer, interfaces
from twisted.python import log
from twisted.web import http, resource, server
from zope.interface import implementer

from buildbot.data.exceptions import (
    InvalidControlArguments,
    InvalidControlException,
    InvalidPathError,
    InvalidQueryParameter,
)
from buildbot.www import jsonenc
from buildbot.www.auth import AuthError, current_user, get_authz, owner_of
from buildbot.www.authz import Forbidden
from buildbot.www.cors import PREFLIGHT_METHODS
from buildbot.www.query import BadRequest, result_spec_from_args

API_VERSION = 2

TEXT_PLAIN = b"text/plain; charset=utf-8"
APPLICATION_JSON = b"application/json; charset=utf-8"
JSONRPC_TYPE = b"application/json"

# JSON-RPC 2.0 error codes
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603


@implementer(interfaces.IPushProducer)
class _WriteGate:
    """A push producer for a streamed body: the transport pauses it when its buffer
    is full, and `wait()` holds the writer until it resumes."""

    def __init__(self) -> None:
        self.stopped = False
        self._paused: defer.Deferred[None] | None = None

    def wait(self) -> defer.Deferred[None]:
        if self._paused is None:
            return defer.succeed(None)
        d: defer.Deferred[None] = defer.Deferred()
        self._paused.addBoth(lambda _: d.callback(None))
        return d

    def pauseProducing(self) -> None:
        if self._paused is None and not self.stopped:
            self._paused = defer.Deferred()

    def resumeProducing(self) -> None:
        paused, self._paused = self._paused, None
        if paused is not None:
            paused.callback(None)

    def stopProducing(self) -> None:
        self.stopped = True
        self.resumeProducing()


class _Reply:
    """One request's answer; knows whether the client is still there to receive it."""

    def __init__(self, request: server.Request) -> None:
        self.request = request
        self.gone = False
        request.notifyFinish().addErrback(self._lost)

    def _lost(self, _: Any) -> None:
        self.gone = True

    def header(self, name: str, value: str | bytes) -> None:
        self.request.setHeader(name.encode("ascii"), value)

    def send(self, code: int, body: bytes, content_type: bytes | None) -> None:
        if self.gone:
            return
        request = self.request
        request.setResponseCode(code)
        if content_type is not None:
            request.setHeader(b"content-type", content_type)
        request.setHeader(b"content-length", b"%d" % len(body))
        request.write(body)  # dropped by twisted for HEAD, after the headers
        request.finish()

    def error(self, code: int, message: Any) -> None:
        self.send(code, json.dumps({"error": message}).encode("utf-8"), TEXT_PLAIN)

    def jsonrpc_error(
        self, code: int, rpc_code: int, message: Any, rpc_id: Any = None, with_id: bool = False
    ) -> None:
        body: dict[str, Any] = {"jsonrpc": "2.0"}
        if with_id:
            body["id"] = rpc_id
        body["error"] = {"code": rpc_code, "message": message}
        self.send(code, json.dumps(body, default=jsonenc.default).encode("utf-8"), JSONRPC_TYPE)


class _BadJsonRpc(Exception):
    def __init__(self, message: str, rpc_code: int = INVALID_REQUEST) -> None:
        super().__init__(message)
        self.message = message
        self.rpc_code = rpc_code


def _check_jsonrpc(body: Any) -> tuple[str, dict[str, Any], Any]:
    """(method, params, id) of a JSON-RPC 2.0 request object."""
    if isinstance(body, list):
        raise _BadJsonRpc("JSONRPC batch requests are not supported")
    if not isinstance(body, dict):
        raise _BadJsonRpc("JSONRPC root object must be an object")
    for key in ("jsonrpc", "method", "params", "id"):
        if key not in body:
            raise _BadJsonRpc(f"missing key '{key}'")
    if body["jsonrpc"] != "2.0":
        raise _BadJsonRpc("only JSONRPC 2.0 is supported")
    if not isinstance(body["method"], str):
        raise _BadJsonRpc("'method' must be a string")
    rpc_id = body["id"]
    if isinstance(rpc_id, bool) or not isinstance(rpc_id, (str, int, type(None))):
        raise _BadJsonRpc("'id' must be a string, number, or null")
    if not isinstance(body["params"], dict):
        raise _BadJsonRpc("'params' must be an object")
    return body["method"], body["params"], rpc_id


def method_name(request: server.Request) -> str:
    return request.method.decode("ascii", "replace")


class V2RootResource(resource.Resource):
    """`/api/v2` and everything below it (a leaf: the path is the data API path)."""

    isLeaf = True

    def __init__(self, www: Any) -> None:
        super().__init__()
        self.www = www

    @property
    def data(self) -> Any:
        return self.www.master.data

    # --- dispatch ---------------------------------------------------------------------

    def render(self, request: server.Request) -> Any:
        reply = _Reply(request)
        d = defer.ensureDeferred(self._dispatch(request, reply))
        d.addErrback(self._last_resort, reply)
        return server.NOT_DONE_YET

    def _last_resort(self, f: Any, reply: _Reply) -> None:
        log.err(f, "while answering a REST request")
        if not reply.gone and not reply.request.startedWriting:
            reply.error(500, repr(f.value))

    async def _dispatch(self, request: server.Request, reply: _Reply) -> None:
        method = request.method
        origin = request.getHeader(b"origin")
        if origin is not None:
            if not self.www.origin_allowed(origin.decode("latin-1")):
                if method == b"POST":
                    body = json.dumps({"error": {"message": "invalid origin"}}).encode()
                    reply.send(400, body, JSONRPC_TYPE)
                else:
                    reply.error(400, "invalid origin")
                return
            reply.header("Access-Control-Allow-Origin", origin)
            reply.header("Access-Control-Allow-Headers", b"Content-Type")
            reply.header("Access-Control-Max-Age", b"3600")
            if method == b"OPTIONS":
                wanted = request.getHeader(b"access-control-request-method") or b""
                if wanted.decode("latin-1") in PREFLIGHT_METHODS:
                    reply.send(200, b"", None)
                else:
                    reply.error(400, "invalid method")
                return
        if method in (b"GET", b"HEAD"):
            await self._read(request, reply)
        elif method == b"POST":
            await self._control(request, reply)
        else:
            reply.error(400, "invalid HTTP method")

    @staticmethod
    def _path(request: server.Request) -> tuple[str, ...]:
        return tuple(e.decode("utf-8", "replace") for e in request.postpath)

    # --- reads ------------------------------------------------------------------------

    async def _read(self, request: server.Request, reply: _Reply) -> None:
        path = self._path(request)
        args = {
            k.decode("utf-8", "replace"): [v.decode("utf-8", "replace") for v in vs]
            for k, vs in request.args.items()
        }
        try:
            endpoint, kwargs = self.data.getEndpoint(path)
        except InvalidPathError as e:
            reply.error(404, str(e))
            return
        try:
            user = await current_user(self.www, request)
            await get_authz(self.www).assertUserAllowed(path, method_name(request), kwargs, user)
        except (AuthError, Forbidden) as e:
            reply.error(getattr(e, "code", 403), e.message)
            return
        plural, fields = endpoint.rtype.plural, endpoint.rtype.fields
        try:
            spec = result_spec_from_args(args, fields, endpoint.isCollection)
        except BadRequest as e:
            reply.error(400, str(e))
            return
        # the spec as asked, for the not-found message (endpoints consume parts of it)
        asked = repr(spec)
        try:
            result = await self.data.getFromEndpoint(endpoint, dict(kwargs), spec)
        except InvalidQueryParameter as e:
            reply.error(400, str(e))
            return
        except InvalidPathError as e:
            reply.error(404, str(e))
            return
        except Exception as e:
            log.err(None, f"while reading {'/'.join(path)}")
            reply.error(500, repr(e))
            return
        if result is None:
            reply.error(
                404,
                f"not found while getting from {endpoint!r} with arguments {asked} and {kwargs}",
            )
            return
        self._cache_headers(reply)
        if endpoint.isRaw:
            await self._send_raw(reply, result)
            return
        if endpoint.isCollection:
            total = getattr(result, "total", None)
            envelope = {plural: result, "meta": {"total": len(result) if total is None else total}}
        else:
            envelope = {plural: [result], "meta": {}}
        accept = request.getHeader(b"accept") or b""
        compact = b"application/json" in accept
        body = jsonenc.dumps(envelope, compact=compact)
        reply.send(200, body, APPLICATION_JSON if compact else TEXT_PLAIN)

    def _cache_headers(self, reply: _Reply) -> None:
        seconds = self.www.json_cache_seconds
        if seconds:
            expires = self.www.reactor.seconds() + seconds
            reply.header("Expires", http.datetimeToString(expires))
            reply.header("Pragma", b"no-cache")

    async def _send_raw(self, reply: _Reply, result: dict[str, Any]) -> None:
        mime = result.get("mime-type") or "text/plain"
        reply.header("Content-Type", f"{mime}; charset=utf-8".encode())
        if result.get("filename"):
            reply.header(
                "Content-Disposition", f"attachment; filename={result['filename']}".encode()
            )
        raw = result.get("raw")
        if raw is None:
            raw = b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        if isinstance(raw, (bytes, bytearray, memoryview)):
            reply.send(200, bytes(raw), None)
            return
        await self._stream(reply, raw)

    @staticmethod
    async def _stream(reply: _Reply, chunks: AsyncIterable[Any]) -> None:
        """Chunked transfer of an async iterable of str/bytes.  The next chunk is only
        asked for once the transport has taken the last one, so memory stays about one
        chunk whatever the client's speed."""
        request = reply.request
        request.setResponseCode(200)
        gate = _WriteGate()
        request.registerProducer(gate, True)
        try:
            async for chunk in chunks:
                if reply.gone or gate.stopped:
                    return
                request.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
                await gate.wait()
        finally:
            if not reply.gone:
                request.unregisterProducer()
        if not reply.gone:
            request.finish()

    # --- JSON-RPC controls ------------------------------------------------------------

    async def _control(self, request: server.Request, reply: _Reply) -> None:
        ctype = (request.getHeader(b"content-type") or b"").decode("latin-1")
        if ctype.split(";")[0].strip().lower() != "application/json":
            reply.jsonrpc_error(400, INVALID_REQUEST, "Invalid content-type (use application/json)")
            return
        try:
            body = json.loads(request.content.read())
        except ValueError as e:
            reply.jsonrpc_error(400, PARSE_ERROR, f"JSON parse error: {e}")
            return
        try:
            method, params, rpc_id = _check_jsonrpc(body)
        except _BadJsonRpc as e:
            reply.jsonrpc_error(400, e.rpc_code, e.message)
            return

        def fail(code: int, rpc_code: int, message: Any) -> None:
            reply.jsonrpc_error(code, rpc_code, message, rpc_id, with_id=True)

        path = self._path(request)
        try:
            user = await current_user(self.www, request)
            await get_authz(self.www).assertUserAllowed(path, method, params, user)
        except (AuthError, Forbidden) as e:
            fail(getattr(e, "code", 403), INVALID_REQUEST, e.message)
            return
        params = dict(params)
        params["owner"] = owner_of(user)
        try:
            result = await self.data.control(method, params, path)
        except InvalidControlException as e:
            fail(501, METHOD_NOT_FOUND, str(e))
        except InvalidPathError as e:
            fail(404, INVALID_REQUEST, str(e))
        except InvalidQueryParameter as e:
            fail(400, INVALID_PARAMS, e.args[0] if e.args else str(e))
        except InvalidControlArguments as e:
            # e.g. a force naming no builder of the scheduler: the reference answers 500
            # there, but the request is what is wrong
            fail(400, INVALID_PARAMS, e.message)
        except Exception as e:
            log.err(None, f"while calling {method} on {'/'.join(path)}")
            fail(500, INTERNAL_ERROR, repr(e))
        else:
            out = {"id": rpc_id, "jsonrpc": "2.0", "result": result}
            reply.send(200, jsonenc.dumps(out, compact=True), JSONRPC_TYPE)


class RestRootResource(resource.Resource):
    """`/api`: the list of API versions, with `v2` and `latest` below it."""

    def __init__(self, www: Any) -> None:
        super().__init__()
        self.www = www
        self.v2 = V2RootResource(www)

    def _versions(self) -> dict[str, str]:
        if self.www.rest_minimum_version > API_VERSION:
            return {}
        return {f"v{API_VERSION}": f"{self.www.buildbotURL}api/v{API_VERSION}"}

    def getChild(self, path: bytes, request: server.Request) -> resource.Resource:
        if path in (b"v2", b"latest") and self._versions():
            return self.v2
        return resource.NoResource()

    def render_GET(self, request: server.Request) -> bytes:
        request.setHeader(b"content-type", APPLICATION_JSON)
        return jsonenc.dumps({"api_versions": self._versions()})
