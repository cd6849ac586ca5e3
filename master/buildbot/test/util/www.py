"""Test helpers for the web server: a real WWWService on 127.0.0.1, asked over HTTP.

    class Tests(www.WwwMixin, db.SQLiteDBMixin, unittest.TestCase):
        async def test_something(self):
            await self.insert_test_data([fakedb.Master(id=1)])
            res = await self.get("masters/1")
            self.assertEqual(res.json()["masters"][0]["masterid"], 1)

The master has the real DataConnector over the DB of the DB mixin and the fake
MQ (`self.mq`); requests go through treq and a real TCP connection on the real
reactor, and every connection is closed in the test's cleanup.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import treq
from twisted.internet import reactor
from twisted.web.client import HTTPConnectionPool

from buildbot.test.util import dataapi
from buildbot.www.service import WWWService

URL = "http://bb.example.org:8010/"


@dataclass
class Response:
    code: int
    headers: Any  # twisted.web.http_headers.Headers
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.headers.getRawHeaders(name.encode("latin-1"))
        return values[0].decode("latin-1") if values else None

    def json(self) -> Any:
        return json.loads(self.body)


class WwwMixin(dataapi.DataMixin):
    """Put on top of a DB mixin (buildbot.test.util.db). `www_config` is c['www']."""

    www_config: dict[str, Any] = {}

    async def setUp(self) -> None:
        await super().setUp()
        self.www = WWWService()
        await self.www.setServiceParent(self.master)
        await self.reconfig_www()
        await self.www.startService()
        self.addCleanup(self.www.stopService)
        self.pool = HTTPConnectionPool(reactor)
        self.addCleanup(self.pool.closeCachedConnections)

    def reconfig_www(self, buildbotURL: str = URL, **www: Any) -> Any:
        www = {"port": "tcp:0:interface=127.0.0.1", **self.www_config, **www}
        return self.www.reconfigServiceWithBuildbotConfig(
            SimpleNamespace(www=www, buildbotURL=buildbotURL)
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.www.getPortnum()}"

    async def request(
        self,
        method: str,
        path: str,
        params: Any = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> Response:
        """`path` is under the server root (e.g. 'api/v2/builds'), already URL-quoted."""
        res = await treq.request(
            method,
            f"{self.base_url}/{path}",
            params=params,
            headers=headers,
            data=body,
            pool=self.pool,
        )
        content = await treq.content(res)
        return Response(res.code, res.headers, content)

    def get(self, path: str, params: Any = None, **headers: str) -> Response:
        """GET /api/v2/<path>, asking for compact JSON unless `Accept` is given."""
        headers.setdefault("Accept", "application/json")
        return self.request("GET", f"api/v2/{path}" if path else "api/v2", params, headers)

    def rpc(self, path: str, method: str, params: Any = None, rpc_id: Any = 1) -> Response:
        body = {"jsonrpc": "2.0", "method": method, "params": params or {}, "id": rpc_id}
        return self.request(
            "POST",
            f"api/v2/{path}",
            headers={"Content-Type": "application/json"},
            body=json.dumps(body).encode(),
        )
