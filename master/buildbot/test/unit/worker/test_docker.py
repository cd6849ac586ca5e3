"""DockerLatentWorker against a fake docker-py APIClient pinning the calls."""

from unittest import mock

from twisted.trial import unittest

from buildbot import config
from buildbot.process.properties import Interpolate
from buildbot.test.fake import fakemaster
from buildbot.test.reactor import TestReactorMixin
from buildbot.worker import docker as dockerworker
from buildbot.worker.latent import LatentWorkerCannotSubstantiate


class FakeClient:
    calls: list = []
    images_present = {"img:1"}
    containers_listed: list = []
    state = {"Running": True}

    def __init__(self, **kwargs):
        FakeClient.calls.append(("client", kwargs))

    def images(self, name=None):
        return [{"Id": name}] if name in self.images_present else []

    def pull(self, image):
        self.calls.append(("pull", image))
        raise dockerworker.docker_errors.APIError("no registry")

    def build(self, **kwargs):
        self.calls.append(("build", kwargs["tag"]))
        return iter([{"stream": "ok"}])

    def create_host_config(self, **kwargs):
        return dict(kwargs)

    def create_container(self, image, command, **kwargs):
        self.calls.append(("create", image, command, kwargs))
        return {"Id": "c0ffee" * 8}

    def start(self, container):
        self.calls.append(("start", container))

    def inspect_container(self, cid):
        return {"State": self.state}

    def logs(self, cid, tail=None):
        return b"boom\n"

    def stop(self, cid, timeout=None):
        self.calls.append(("stop", cid))

    def remove_container(self, cid, v=False, force=False):
        self.calls.append(("remove", cid))

    def containers(self, all=False, filters=None):
        self.calls.append(("containers", filters))
        return list(self.containers_listed)


class TestDockerConfig(unittest.TestCase):
    def test_image_or_dockerfile_required(self):
        with config.capture_config_errors() as errors:
            dockerworker.DockerLatentWorker("d", None, docker_host="unix://x")
        self.assertEqual(len(errors.errors), 1)
        self.assertIn("image or a dockerfile", errors.errors[0])

    def test_bad_volume(self):
        with config.capture_config_errors() as errors:
            dockerworker.DockerLatentWorker("d", "p", "unix://x", image="i", volumes=["novol"])
        self.assertEqual(len(errors.errors), 1)


class TestDocker(TestReactorMixin, unittest.TestCase):
    def setUp(self):
        self.setup_test_reactor()
        FakeClient.calls = []
        FakeClient.containers_listed = []
        FakeClient.state = {"Running": True}
        self.patch(dockerworker.docker, "APIClient", FakeClient)
        # docker-py runs in threads: run them inline here
        self.patch(dockerworker.threads, "deferToThread", self._inline)
        self.master = fakemaster.make_master(self, wantDb=True, wantMq=True, wantData=True)

    @staticmethod
    def _inline(fn, *args):
        from twisted.internet import defer

        return defer.maybeDeferred(fn, *args)

    async def make(self, **kwargs):
        kwargs.setdefault("image", "img:1")
        w = dockerworker.DockerLatentWorker(
            "d1", None, "unix:///docker.sock", masterFQDN="master.example:9999", **kwargs
        )
        await w.setServiceParent(self.master)
        await self.master.startService()
        self.addCleanup(self.master.stopService)
        return w

    def build(self):
        builder = mock.Mock()
        builder.name = "b1"
        return mock.Mock(requests=[], builder=builder)

    async def test_start_passes_environment_labels_and_volumes(self):
        w = await self.make(
            volumes=["/h:/c:ro"], hostconfig={"network_mode": "host"},
            command=Interpolate("run %(prop:workername)s"),
        )  # fmt: skip
        self.assertEqual(w.build_wait_timeout, 0)
        self.assertEqual(len(w.password), 32)
        await w.start_instance(self.build())
        (create,) = [c for c in FakeClient.calls if c[0] == "create"]
        _, image, command, kw = create
        self.assertEqual((image, command), ("img:1", "run d1"))
        self.assertEqual(
            kw["environment"],
            {"BUILDMASTER": "master.example", "BUILDMASTER_PORT": "9999", "WORKERNAME": "d1",
             "WORKERPASS": w.password, "BUILDMASTER_PROTOCOL": "pb"},
        )  # fmt: skip
        self.assertEqual(kw["labels"], w.labels())
        self.assertEqual(kw["volumes"], ["/c"])
        self.assertEqual(kw["host_config"], {"network_mode": "host", "binds": ["/h:/c:ro"]})
        self.assertIn(("start", "c0ffee" * 8), FakeClient.calls)
        self.assertEqual(await w.check_instance(), (True, ""))
        FakeClient.state = {"Running": False, "ExitCode": 3}
        alive, why = await w.check_instance()
        self.assertFalse(alive)
        self.assertIn("exited with code 3", why)
        self.assertIn("boom", why)
        await w.stop_instance(fast=False)
        self.assertEqual(FakeClient.calls[-2:], [("stop", "c0ffee" * 8), ("remove", "c0ffee" * 8)])
        self.assertIsNone(w.instance)

    async def test_missing_image(self):
        w = await self.make(image="nope", autopull=True)
        with self.assertRaises(LatentWorkerCannotSubstantiate) as cm:
            await w.start_instance(self.build())
        self.assertIn("'nope' not found", str(cm.exception))
        self.assertFalse([c for c in FakeClient.calls if c[0] == "create"])

    async def test_dockerfile_builds_image(self):
        w = await self.make(image=None, dockerfile="FROM x\n")
        await w.start_instance(self.build())
        (b,) = [c for c in FakeClient.calls if c[0] == "build"]
        self.assertTrue(b[1].startswith("buildbot-d1-"))

    async def test_orphans_removed_at_start(self):
        FakeClient.containers_listed = [{"Id": "old" * 10}]
        w = await self.make()
        self.assertIn(("remove", "old" * 10), FakeClient.calls)
        (listing,) = [c for c in FakeClient.calls if c[0] == "containers"]
        self.assertEqual(
            sorted(listing[1]["label"]),
            sorted(f"{k}={v}" for k, v in w.labels().items()),
        )
