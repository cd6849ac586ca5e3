"""WWWService: listening on the configured port, reconfig, stop, access log."""

import os
from types import SimpleNamespace

import treq
from twisted.internet import error, reactor
from twisted.trial import unittest
from twisted.web.client import HTTPConnectionPool

from buildbot.test.fake import fakemaster
from buildbot.www.service import WWWService

LOCAL = "tcp:0:interface=127.0.0.1"


def config(buildbotURL="http://localhost:8080/", **www):
    return SimpleNamespace(www={"port": None, "logfileName": None, **www}, buildbotURL=buildbotURL)


class WWWServiceTests(unittest.TestCase):
    async def setUp(self):
        self.master = fakemaster.make_master(self, reactor=reactor)
        self.www = WWWService()
        await self.www.setServiceParent(self.master)
        self.pool = HTTPConnectionPool(reactor)
        self.addCleanup(self.stop)

    async def stop(self):
        await self.pool.closeCachedConnections()
        if self.www.running:
            await self.www.stopService()

    async def get_api(self, port=None):
        if port is not None:  # a cached connection would hide a closed port
            await self.pool.closeCachedConnections()
        port = port or self.www.getPortnum()
        res = await treq.get(f"http://127.0.0.1:{port}/api", pool=self.pool)
        return res.code, await treq.json_content(res)

    async def test_listens_after_start_and_reconfig(self):
        self.assertEqual(self.www.name, "www")
        await self.www.startService()
        self.assertIsNone(self.www.getPortnum())  # no config yet, as at master start
        await self.www.reconfigServiceWithBuildbotConfig(
            config(port=LOCAL, buildbotURL="http://bb.example.org/ci")
        )
        self.assertIsNotNone(self.www.site)
        code, body = await self.get_api()
        self.assertEqual(code, 200)
        self.assertEqual(body, {"api_versions": {"v2": "http://bb.example.org/ci/api/v2"}})

    async def test_configured_before_start(self):
        await self.www.reconfigServiceWithBuildbotConfig(config(port=LOCAL))
        self.assertIsNone(self.www.getPortnum())
        await self.www.startService()
        self.assertEqual((await self.get_api())[0], 200)

    async def test_int_port(self):
        await self.www.startService()
        await self.www.reconfigServiceWithBuildbotConfig(config(port=0))
        self.assertGreater(self.www.getPortnum(), 0)
        self.assertEqual((await self.get_api())[0], 200)

    async def test_no_port_no_listener(self):
        await self.www.startService()
        await self.www.reconfigServiceWithBuildbotConfig(config())
        self.assertIsNone(self.www.getPortnum())

    async def test_reconfig_restarts_only_on_port_change(self):
        await self.www.startService()
        await self.www.reconfigServiceWithBuildbotConfig(config(port=LOCAL))
        first = self.www.getPortnum()
        site = self.www.site
        await self.www.reconfigServiceWithBuildbotConfig(config(port=LOCAL, json_cache_seconds=5))
        self.assertEqual(self.www.getPortnum(), first)
        self.assertIs(self.www.site, site)
        self.assertEqual(self.www.json_cache_seconds, 5)

        await self.www.reconfigServiceWithBuildbotConfig(config(port=LOCAL + ":backlog=10"))
        second = self.www.getPortnum()
        self.assertNotEqual(second, first)
        self.assertEqual((await self.get_api())[0], 200)
        with self.assertRaises(error.ConnectError):
            await self.get_api(first)

        await self.www.reconfigServiceWithBuildbotConfig(config())
        self.assertIsNone(self.www.getPortnum())
        with self.assertRaises(error.ConnectError):
            await self.get_api(second)

    async def test_stop_closes_listener_and_connections(self):
        await self.www.reconfigServiceWithBuildbotConfig(config(port=LOCAL))
        await self.www.startService()
        port = self.www.getPortnum()
        await self.get_api()  # leaves a persistent connection open
        self.assertEqual(len(self.www.site.connections), 1)
        await self.www.stopService()
        self.assertEqual(self.www.site.connections, set())
        self.assertIsNone(self.www.getPortnum())
        with self.assertRaises(error.ConnectError):
            await self.get_api(port)
        # restart: listens again on the configured port
        await self.www.startService()
        self.assertEqual((await self.get_api())[0], 200)

    async def test_access_log(self):
        os.makedirs(self.master.basedir)
        await self.www.reconfigServiceWithBuildbotConfig(config(port=LOCAL, logfileName="http.log"))
        await self.www.startService()
        await self.get_api()
        await self.stop()
        with open(os.path.join(self.master.basedir, "http.log")) as f:
            self.assertIn('"GET /api HTTP/1.1" 200', f.read())

    async def test_no_access_log_without_name(self):
        os.makedirs(self.master.basedir)
        await self.www.reconfigServiceWithBuildbotConfig(config(port=LOCAL))
        await self.www.startService()
        await self.get_api()
        self.assertEqual(os.listdir(self.master.basedir), [])
