from __future__ import annotations

import io
import json
import os
import stat
import tarfile
from typing import Any

from twisted.trial import unittest

from buildbot import config
from buildbot.process.properties import Interpolate, Property
from buildbot.process.results import CANCELLED, EXCEPTION, FAILURE, RETRY, SKIPPED, SUCCESS
from buildbot.steps import transfer
from buildbot.test.steps import StepTestMixin

FILE_STAT = (stat.S_IFREG | 0o644, 1, 1, 1, 0, 0, 10, 0, 0, 0)
DIR_STAT = (stat.S_IFDIR | 0o755, 1, 1, 1, 0, 0, 10, 0, 0, 0)


def upload(*blocks: bytes, close: bool = True, utime: Any = None) -> Any:
    """An expectation action playing the worker's side of an uploadFile."""

    def action(args: dict[str, Any]) -> None:
        writer = args["writer"]
        for block in blocks:
            writer.remote_write(block)
        if close:
            writer.remote_close()
        if utime is not None:
            writer.remote_utime(utime)

    return action


def tar_of(files: dict[str, bytes], compress: str | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:" + (compress or "")) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def upload_dir(archive: bytes) -> Any:
    def action(args: dict[str, Any]) -> None:
        args["writer"].remote_write(archive)
        args["writer"].remote_unpack()

    return action


class Downloaded:
    """An expectation action reading a download the way the worker does: each read
    answered before the next one is asked (the fake reactor is moved to answer it)."""

    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor
        self.data = b""

    def __call__(self, args: dict[str, Any]) -> None:
        reader = args["reader"]
        while True:
            d = reader.remote_read(args["blocksize"])
            while not d.called:
                self.reactor.advance(0)
            block: list[bytes] = []
            d.addCallback(block.append)
            if not block[0]:
                break
            self.data += block[0]
        reader.remote_close()


class TransferTestCase(StepTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_step_test()
        os.makedirs(self.master.basedir, exist_ok=True)

    def master_file(self, *parts: str) -> str:
        return os.path.join(self.master.basedir, *parts)

    def read(self, *parts: str) -> bytes:
        with open(self.master_file(*parts), "rb") as f:
            return f.read()

    def leftovers(self, *parts: str) -> list[str]:
        folder = self.master_file(*parts)
        return [n for n in os.listdir(folder) if n.startswith(".tmp-upload")]

    async def stdio(self) -> str:
        return await self.log_text("stdio")


class FileUploadTests(TransferTestCase):
    async def test_upload(self):
        self.setup_step(
            transfer.FileUpload(
                "a.txt", Interpolate("out/%(prop:n)s.txt"), mode=0o640, url="http://x/a"
            ),
            n="a",
        )
        self.conn.expect(
            "uploadFile",
            {
                "workersrc": "a.txt",
                "workdir": "wkdir",
                "maxsize": None,
                "blocksize": 262144,
                "keepstamp": False,
            },
            updates=[{"header": "sending a.txt\n"}],
            action=upload(b"hello ", b"world"),
        )
        self.assertEqual(await self.run_step(), SUCCESS)
        self.assertEqual(self.read("out", "a.txt"), b"hello world")
        self.assertEqual(stat.S_IMODE(os.stat(self.master_file("out", "a.txt")).st_mode), 0o640)
        self.assertEqual(self.leftovers("out"), [])
        row = await self.step_row()
        self.assertEqual(row["urls"], [{"name": "a.txt", "url": "http://x/a"}])
        self.assertEqual(row["state_string"], "uploading a.txt")
        self.assertIn("sending a.txt", await self.stdio())

    async def test_keepstamp_and_workdir(self):
        self.setup_step(
            transfer.FileUpload(
                workersrc=Property("src"),
                masterdest="b.txt",
                workdir="other",
                keepstamp=True,
                maxsize=3,
            ),
            src="b.txt",
        )
        self.conn.expect(
            "uploadFile",
            {"workersrc": "b.txt", "workdir": "other", "keepstamp": True, "maxsize": 3},
            action=upload(b"abcdef", utime=(1000.0, 2000.0)),
        )
        self.assertEqual(await self.run_step(), SUCCESS)
        self.assertEqual(self.read("b.txt"), b"abc")
        self.assertEqual(os.stat(self.master_file("b.txt")).st_mtime, 2000.0)

    async def test_keepstamp_old_worker(self):
        self.conn.info["worker_commands"]["uploadFile"] = "2.12"
        self.setup_step(transfer.FileUpload("a", "a", keepstamp=True))
        self.assertEqual(await self.run_step(), EXCEPTION)
        self.flushLoggedErrors()

    async def test_worker_failure(self):
        self.setup_step(transfer.FileUpload("missing.txt", "m.txt"))
        self.conn.expect(
            "uploadFile",
            updates=[{"stderr": "Cannot open file 'missing.txt' for upload"}],
            action=upload(),
            rc=1,
        )
        self.assertEqual(await self.run_step(), FAILURE)
        self.assertIn("Cannot open file", await self.stdio())
        self.assertEqual((await self.step_row())["state_string"], "uploading missing.txt (failure)")

    async def test_command_failure_drops_partial_file(self):
        self.setup_step(transfer.FileUpload("a.txt", "out/a.txt"))
        self.conn.expect(
            "uploadFile",
            action=upload(b"part", close=False),
            failure=RuntimeError("write failed on master"),
            rc=None,
        )
        self.assertEqual(await self.run_step(), FAILURE)
        self.assertFalse(os.path.exists(self.master_file("out", "a.txt")))
        self.assertEqual(self.leftovers("out"), [])
        self.assertIn("uploadFile failed: write failed on master", await self.stdio())

    async def test_interrupt(self):
        self.setup_step(transfer.FileUpload("a.txt", "out/a.txt"))
        self.conn.expect("uploadFile", action=upload(b"part", close=False), hang=True)
        d = self.step.startStep(self.conn)
        self.reactor.advance(1)
        self.assertFalse(d.called)
        await self.step.interrupt("stop it")
        for _ in range(10):
            self.reactor.advance(1)
        self.assertEqual(await d, CANCELLED)
        self.assertEqual(len(self.conn.interrupts), 1)
        self.assertFalse(os.path.exists(self.master_file("out", "a.txt")))
        self.assertEqual(self.leftovers("out"), [])

    async def test_connection_lost(self):
        self.setup_step(transfer.FileUpload("a.txt", "a.txt"))
        self.conn.expect("uploadFile", lose=True)
        self.assertEqual(await self.run_step(), RETRY)

    def test_config_errors(self):
        with self.assertRaises(config.ConfigErrors):
            transfer.FileUpload("a", "b", mode="0644")
        with self.assertRaises(config.ConfigErrors):
            transfer.FileUpload(workersrc="a")
        with self.assertRaises(config.ConfigErrors):
            transfer.DirectoryUpload("a", "b", compress="xz")
        with self.assertRaises(config.ConfigErrors):
            transfer.StringDownload("text")


class DirectoryUploadTests(TransferTestCase):
    async def test_upload(self):
        archive = tar_of({"x.txt": b"x", "sub/y.txt": b"y"}, "gz")
        self.setup_step(
            transfer.DirectoryUpload("dist", "public/dist", compress="gz", url="http://x/d")
        )
        self.conn.expect(
            "uploadDirectory",
            {"workersrc": "dist", "workdir": "wkdir", "compress": "gz", "blocksize": 16384},
            action=upload_dir(archive),
        )
        self.assertEqual(await self.run_step(), SUCCESS)
        self.assertEqual(self.read("public", "dist", "x.txt"), b"x")
        self.assertEqual(self.read("public", "dist", "sub", "y.txt"), b"y")
        row = await self.step_row()
        self.assertEqual(row["urls"], [{"name": "dist", "url": "http://x/d"}])

    async def test_missing_directory(self):
        self.setup_step(transfer.DirectoryUpload("nope", "out"))
        self.conn.expect(
            "uploadDirectory", updates=[{"stderr": "Cannot read directory 'nope'"}], rc=1
        )
        self.assertEqual(await self.run_step(), FAILURE)
        self.assertFalse(os.path.exists(self.master_file("out")))


class MultipleFileUploadTests(TransferTestCase):
    async def test_files_and_directories(self):
        done: list[tuple[int, str]] = []

        class Upload(transfer.MultipleFileUpload):
            def uploadDone(self, result, source, masterdest):
                done.append((result, source))

        self.setup_step(Upload(["a.txt", "docs"], "out", url="http://x/out"))
        self.conn.expect(
            "stat", {"file": "a.txt", "workdir": "wkdir"}, updates=[{"stat": FILE_STAT}]
        )
        self.conn.expect("uploadFile", {"workersrc": "a.txt"}, action=upload(b"A"))
        self.conn.expect("stat", {"file": "docs"}, updates=[{"stat": DIR_STAT}])
        self.conn.expect(
            "uploadDirectory",
            {"workersrc": "docs", "compress": None},
            action=upload_dir(tar_of({"i.html": b"I"})),
        )
        self.assertEqual(await self.run_step(), SUCCESS)
        self.assertEqual(self.read("out", "a.txt"), b"A")
        self.assertEqual(self.read("out", "docs", "i.html"), b"I")
        self.assertEqual(done, [(SUCCESS, "a.txt"), (SUCCESS, "docs")])
        self.assertEqual((await self.step_row())["urls"], [{"name": "out", "url": "http://x/out"}])

    async def test_glob(self):
        self.setup_step(transfer.MultipleFileUpload(["*.log", "*.none"], "logs", glob=True))
        self.conn.expect("glob", {"path": "wkdir/*.log"}, updates=[{"files": ["/w/b/x.log"]}])
        self.conn.expect("glob", {"path": "wkdir/*.none"}, updates=[{"files": []}])
        self.conn.expect("stat", {"file": "/w/b/x.log"}, updates=[{"stat": FILE_STAT}])
        self.conn.expect("uploadFile", {"workersrc": "/w/b/x.log"}, action=upload(b"L"))
        self.assertEqual(await self.run_step(), SUCCESS)
        self.assertEqual(self.read("logs", "x.log"), b"L")
        self.assertIn("no file matches *.none", await self.stdio())

    async def test_nothing_matches(self):
        self.setup_step(transfer.MultipleFileUpload(["*.none"], "logs", glob=True))
        self.conn.expect("glob", updates=[{"files": []}])
        self.assertEqual(await self.run_step(), SKIPPED)

    async def test_missing_source_fails(self):
        self.setup_step(transfer.MultipleFileUpload(["gone", "a.txt"], "out"))
        self.conn.expect("stat", {"file": "gone"}, rc=2)
        self.conn.expect("stat", {"file": "a.txt"}, updates=[{"stat": FILE_STAT}])
        self.conn.expect("uploadFile", action=upload(b"A"))
        self.assertEqual(await self.run_step(), FAILURE)
        self.assertIn("gone not found on the worker", await self.stdio())
        self.assertEqual(self.read("out", "a.txt"), b"A")

    async def test_all_uploads_done(self):
        done: list[tuple[int, list[str], str]] = []

        class Upload(transfer.MultipleFileUpload):
            def allUploadsDone(self, result, sources, masterdest):
                done.append((result, list(sources), masterdest))

        self.setup_step(Upload(["gone", "a.txt"], "out"))
        self.conn.expect("stat", {"file": "gone"}, rc=2)
        self.conn.expect("stat", {"file": "a.txt"}, updates=[{"stat": FILE_STAT}])
        self.conn.expect("uploadFile", action=upload(b"A"))
        self.assertEqual(await self.run_step(), FAILURE)
        self.assertEqual(done, [(FAILURE, ["gone", "a.txt"], self.master_file("out"))])

    async def test_stop_between_uploads(self):
        done: list[str] = []
        all_done: list[list[str]] = []

        class Upload(transfer.MultipleFileUpload):
            def uploadDone(self, result, source, masterdest):
                done.append(source)
                return self.interrupt("stop it")

            def allUploadsDone(self, result, sources, masterdest):
                all_done.append(list(sources))

        self.setup_step(Upload(["a.txt", "b.txt"], "out"))
        # b.txt is never looked at: the step stopped after a.txt
        self.conn.expect("stat", {"file": "a.txt"}, updates=[{"stat": FILE_STAT}])
        self.conn.expect("uploadFile", {"workersrc": "a.txt"}, action=upload(b"A"))
        self.assertEqual(await self.run_step(), EXCEPTION)
        self.assertEqual(done, ["a.txt"])
        self.assertEqual(all_done, [["a.txt", "b.txt"]])
        self.assertEqual(self.read("out", "a.txt"), b"A")
        self.assertFalse(os.path.exists(self.master_file("out", "b.txt")))


class DownloadTests(TransferTestCase):
    async def test_file_download(self):
        with open(self.master_file("src.bin"), "wb") as f:
            f.write(b"0123456789" * 5)
        got = Downloaded(self.reactor)
        self.setup_step(transfer.FileDownload("src.bin", blocksize=16, mode=0o600))
        self.conn.expect(
            "downloadFile",
            {"workerdest": "src.bin", "workdir": "wkdir", "maxsize": None, "mode": 0o600},
            action=got,
        )
        self.assertEqual(await self.run_step(), SUCCESS)
        self.assertEqual(got.data, b"0123456789" * 5)
        self.assertEqual((await self.step_row())["state_string"], "downloading to src.bin")

    async def test_missing_master_file(self):
        self.setup_step(transfer.FileDownload("nope.bin", "dest"))
        self.assertEqual(await self.run_step(), FAILURE)
        self.assertIn("nope.bin' is not available on the master", await self.stdio())

    async def test_worker_cannot_write(self):
        with open(self.master_file("src.bin"), "wb") as f:
            f.write(b"x")
        self.setup_step(transfer.FileDownload("src.bin", "/ro/dest"))
        self.conn.expect("downloadFile", updates=[{"stderr": "Cannot open file"}], rc=1)
        self.assertEqual(await self.run_step(), FAILURE)

    async def test_string_download(self):
        got = Downloaded(self.reactor)
        self.setup_step(
            transfer.StringDownload(Interpolate("v=%(prop:v)s"), "conf/v.txt", "other"), v="7"
        )
        self.conn.expect(
            "downloadFile", {"workerdest": "conf/v.txt", "workdir": "other"}, action=got
        )
        self.assertEqual(await self.run_step(), SUCCESS)
        self.assertEqual(got.data, b"v=7")
        self.assertEqual(self.step.name, "string_download")

    async def test_json_string_download(self):
        got = Downloaded(self.reactor)
        self.setup_step(transfer.JSONStringDownload({"a": [1, Property("p")]}, "o.json"), p="x")
        self.conn.expect("downloadFile", {"workerdest": "o.json"}, action=got)
        self.assertEqual(await self.run_step(), SUCCESS)
        self.assertEqual(json.loads(got.data), {"a": [1, "x"]})

    async def test_json_properties_download(self):
        class Stamp:
            def asDict(self):
                return {"codebase": "", "revision": "abc"}

        self.build.sources = [Stamp()]
        got = Downloaded(self.reactor)
        self.setup_step(transfer.JSONPropertiesDownload("props.json"), p="x")
        self.conn.expect("downloadFile", {"workerdest": "props.json"}, action=got)
        self.assertEqual(await self.run_step(), SUCCESS)
        self.assertEqual(
            json.loads(got.data),
            {"properties": {"p": "x"}, "sourcestamps": [{"codebase": "", "revision": "abc"}]},
        )
