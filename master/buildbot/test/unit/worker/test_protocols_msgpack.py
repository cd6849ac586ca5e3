"""The master's msgpack transport: argument translation, the framing of the WebSocket
protocol (requests, responses, authentication), and the connection's routing of the
worker's requests to commands, writers and readers."""

from __future__ import annotations

import base64
from typing import Any

import msgpack
from autobahn.websocket.types import ConnectionDeny
from twisted.internet import defer, error, task
from twisted.trial import unittest

from buildbot.process.remotecommand import RemoteCommand, isConnectionLost
from buildbot.process.remotetransfer import StringFileReader
from buildbot.test.fake.remotelog import InMemoryLog
from buildbot.worker.protocols import msgpack as mp
from buildbot.worker.protocols.base import KEEPALIVE_INTERVAL
from buildbot.worker.protocols.manager.msgpack import (
    Dispatcher,
    MsgpackServerProtocol,
    RemoteWorkerError,
    decode_basic_authorization,
)
from buildbot.worker.protocols.msgpack_args import WorkerPaths, translate, update_value

POSIX = WorkerPaths("/w", "posix", {"HOME": "/home/u"})


class TranslateTest(unittest.TestCase):
    def check(self, command: str, args: dict, name: str, wire: dict, paths=POSIX) -> Any:
        result = translate(command, args, paths, "bdir")
        self.assertEqual((result.name, result.args), (name, wire))
        return result

    def test_shell(self) -> None:
        self.check(
            "shell",
            {"workdir": "build", "command": ["ls"], "want_stdout": 1, "want_stderr": 0},
            "shell",
            {"workdir": "/w/bdir/build", "command": ["ls"], "want_stdout": True,
             "want_stderr": False},
        )  # fmt: skip
        wire = translate("shell", {"workdir": "x", "want_stdout": "yes"}, POSIX, "b").args
        self.assertIs(wire["want_stdout"], False)

    def test_transfers_keep_writer_and_reader_on_the_master(self) -> None:
        writer, reader = object(), object()
        args = {"workdir": "build", "workersrc": "out.txt", "writer": writer,
                "maxsize": None, "blocksize": 16, "keepstamp": True}  # fmt: skip
        result = self.check(
            "uploadFile",
            args,
            "upload_file",
            {"workdir": "build", "workersrc": "out.txt", "maxsize": None, "blocksize": 16,
             "keepstamp": True, "path": "/w/bdir/build/out.txt"},
        )  # fmt: skip
        self.assertIs(result.writer, writer)
        self.assertIn("writer", args)  # the caller's dict is left alone
        result = self.check(
            "uploadDirectory",
            {"workdir": "build", "workersrc": "~/tree", "writer": writer, "compress": None},
            "upload_directory",
            {"workdir": "build", "workersrc": "~/tree", "compress": None,
             "path": "/home/u/tree"},
        )  # fmt: skip
        result = self.check(
            "downloadFile",
            {"workdir": "build", "workerdest": "a/b", "reader": reader, "mode": None},
            "download_file",
            {"workdir": "build", "workerdest": "a/b", "mode": None, "path": "/w/bdir/build/a/b"},
        )
        self.assertIs(result.reader, reader)
        self.assertIsNone(result.writer)

    def test_file_system_commands(self) -> None:
        self.check("mkdir", {"dir": "build/x", "logEnviron": False}, "mkdir",
                   {"paths": ["/w/bdir/build/x"], "logEnviron": False})  # fmt: skip
        self.check("rmdir", {"dir": ["a", "/abs"], "timeout": 5}, "rmdir",
                   {"paths": ["/w/bdir/a", "/abs"], "timeout": 5})  # fmt: skip
        self.check("cpdir", {"fromdir": "a", "todir": "b", "maxTime": 3}, "cpdir",
                   {"from_path": "/w/bdir/a", "to_path": "/w/bdir/b", "maxTime": 3})  # fmt: skip
        self.check("stat", {"file": "f", "workdir": "build"}, "stat",
                   {"workdir": "build", "path": "/w/bdir/build/f"})  # fmt: skip
        self.check("stat", {"file": "f"}, "stat", {"path": "/w/bdir/f"})
        self.check("glob", {"path": "build/*.o"}, "glob", {"path": "/w/bdir/build/*.o"})
        self.check("listdir", {"dir": "build"}, "listdir", {"path": "/w/bdir/build"})
        self.check("rmfile", {"path": "~"}, "rmfile", {"path": "/home/u"})

    def test_windows_worker(self) -> None:
        paths = WorkerPaths("C:\\w", "nt", {"USERPROFILE": "C:\\Users\\u"})
        self.check("listdir", {"dir": "build"}, "listdir", {"path": "C:\\w\\bdir\\build"}, paths)
        self.check("rmfile", {"path": "~\\f"}, "rmfile", {"path": "C:\\Users\\u\\f"}, paths)

    def test_without_builder_paths_are_below_the_base_directory(self) -> None:
        self.assertEqual(translate("listdir", {"dir": "/w"}, POSIX, None).args, {"path": "/w"})
        self.assertEqual(translate("mkdir", {"dir": "x"}, POSIX, None).args, {"paths": ["/w/x"]})

    def test_update_values(self) -> None:
        self.assertEqual(update_value("stdout", ["a\nb\n", [1, 3], [0.5, 0.5]]), "a\nb\n")
        self.assertEqual(update_value("log", ["side", ["x\n", [1], [0.1]]]), ("side", "x\n"))
        self.assertEqual(update_value("rc", 3), 3)
        self.assertEqual(update_value("stat", [1, 2, 3]), (1, 2, 3))


class AuthorizationHeaderTest(unittest.TestCase):
    def test_decode(self) -> None:
        header = "Basic " + base64.b64encode(b"w1:pa:ss").decode()
        self.assertEqual(decode_basic_authorization(header), ("w1", "pa:ss"))
        for bad in ("Bearer x", "Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode()):
            with self.assertRaises(ValueError):
                decode_basic_authorization(bad)


class RecordingProtocol(MsgpackServerProtocol):
    """The server protocol with its frames captured instead of sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict[str, Any]] = []

    def sendMessage(self, payload: bytes, isBinary: bool = False, **kw: Any) -> None:
        assert isBinary
        self.sent.append(msgpack.unpackb(payload, raw=False))

    def receive(self, message: dict[str, Any]) -> None:
        self.onMessage(msgpack.packb(message, use_bin_type=True), True)


class Handlers:
    accepting_requests = True

    def __init__(self) -> None:
        self.lost = False

    def requestHandler(self, op: str) -> Any:
        if op == "echo":
            return lambda message: message["value"]
        if op == "later":
            return lambda message: defer.succeed(b"\x00bytes")
        if op == "broken":
            return lambda message: message["missing"]
        return None

    def connectionLost(self) -> None:
        self.lost = True


class FramingTest(unittest.TestCase):
    def setUp(self) -> None:
        self.proto = RecordingProtocol()

    def test_requests_are_numbered_and_answered(self) -> None:
        d0 = self.proto.get_message_result({"op": "print", "message": "hi"})
        d1 = self.proto.get_message_result({"op": "keepalive"})
        self.assertEqual(
            self.proto.sent,
            [{"op": "print", "message": "hi", "seq_number": 0},
             {"op": "keepalive", "seq_number": 1}],
        )  # fmt: skip
        self.proto.receive({"op": "response", "seq_number": 1, "result": None})
        self.proto.receive({"op": "response", "seq_number": 0, "result": "x",
                            "is_exception": True})  # fmt: skip
        self.assertIsNone(self.successResultOf(d1))
        f = self.failureResultOf(d0, RemoteWorkerError)
        self.assertEqual(str(f.value), "x")

    def test_close_fails_what_is_waiting(self) -> None:
        self.proto.connection = handlers = Handlers()
        d = self.proto.get_message_result({"op": "print", "message": "hi"})
        self.proto.onClose(False, 1006, "gone")
        f = self.failureResultOf(d, error.ConnectionLost)
        self.assertTrue(isConnectionLost(f))
        self.assertTrue(handlers.lost)
        self.failureResultOf(self.proto.get_message_result({"op": "x"}), error.ConnectionLost)

    def test_worker_requests(self) -> None:
        self.proto.receive({"op": "echo", "seq_number": 0, "value": 1})
        self.proto.connection = Handlers()
        self.proto.receive({"op": "echo", "seq_number": 1, "value": [1, "a"]})
        self.proto.receive({"op": "later", "seq_number": 2})
        self.proto.receive({"op": "nope", "seq_number": 3})
        self.proto.receive({"op": "broken", "seq_number": 4})
        self.proto.receive({"op": "echo", "value": 1})  # no seq_number: dropped
        self.proto.onMessage(b"text", False)  # text frames: ignored
        self.assertEqual(
            self.proto.sent,
            [
                {"op": "response", "seq_number": 0, "result": "Worker not authenticated.",
                 "is_exception": True},
                {"op": "response", "seq_number": 1, "result": [1, "a"]},
                {"op": "response", "seq_number": 2, "result": b"\x00bytes"},
                {"op": "response", "seq_number": 3, "result": "Command nope does not exist.",
                 "is_exception": True},
                {"op": "response", "seq_number": 4, "result": "'missing'",
                 "is_exception": True},
            ],
        )  # fmt: skip


class AuthenticationTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dispatcher = Dispatcher("tcp:0")
        self.dispatcher.users["w1"] = ("secret", lambda proto, name: None)
        self.proto = RecordingProtocol()
        self.proto.factory = self.dispatcher.factory

    async def status(self, header: str | None) -> int | None:
        headers = {} if header is None else {"authorization": header}
        try:
            await self.proto._authenticate(headers)
        except ConnectionDeny as e:
            return e.code
        return None

    async def test_credentials(self) -> None:
        def basic(text: str) -> str:
            return "Basic " + base64.b64encode(text.encode()).decode()

        self.assertEqual(await self.status(None), 401)
        self.assertEqual(await self.status("Basic %%%"), 400)
        self.assertEqual(await self.status(basic("w1:wrong")), 401)
        self.assertEqual(await self.status(basic("w2:secret")), 401)
        self.assertIsNone(self.proto.username)
        self.assertIsNone(await self.status(basic("w1:secret")))
        self.assertEqual(self.proto.username, "w1")


class FakeProtocol:
    """Records the connection's requests; the test answers them."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, Any], defer.Deferred[Any]]] = []
        self.aborted = False

    def get_message_result(self, message: dict[str, Any]) -> defer.Deferred[Any]:
        d: defer.Deferred[Any] = defer.Deferred()
        self.requests.append((message, d))
        return d

    def abort(self) -> None:
        self.aborted = True

    def take(self) -> tuple[dict[str, Any], defer.Deferred[Any]]:
        return self.requests.pop(0)


class FakeWorker:
    workername = "w1"

    def __init__(self) -> None:
        self.received = 0

    def messageReceivedFromWorker(self) -> None:
        self.received += 1


class RecordingWriter:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def remote_write(self, data: bytes) -> None:
        self.calls.append(("write", data))

    def remote_utime(self, times: tuple) -> None:
        self.calls.append(("utime", times))

    def remote_close(self) -> None:
        self.calls.append(("close",))

    def remote_unpack(self) -> None:
        self.calls.append(("unpack",))


class ConnectionTest(unittest.TestCase):
    def setUp(self) -> None:
        self.clock = task.Clock()
        self.master = type("M", (), {"reactor": self.clock})()
        self.proto = FakeProtocol()
        self.worker = FakeWorker()
        self.conn = mp.Connection(self.master, self.worker, self.proto)

    def serve(self, op: str, **message: Any) -> defer.Deferred[Any]:
        return defer.maybeDeferred(self.conn.requestHandler(op), message)

    def attach_info(self, **extra: Any) -> None:
        d = self.conn.remoteGetWorkerInfo()
        message, answer = self.proto.take()
        self.assertEqual(message, {"op": "get_worker_info"})
        info = {"basedir": "/w", "system": "posix", "environ": {}, **extra}
        answer.callback(info)
        self.assertEqual(self.successResultOf(d)["basedir"], "/w")
        self.assertTrue(self.conn.accepting_requests)

    def finish_command(self, name: str, updates: list, wire_args: dict) -> None:
        message, answer = self.proto.take()
        self.assertEqual(
            (message["op"], message["command_name"], message["args"]),
            ("start_command", name, wire_args),
        )
        self.assertNotIn("builder_name", message)
        cid = message["command_id"]
        answer.callback(None)
        self.successResultOf(self.serve("update", command_id=cid, args=updates))
        self.successResultOf(self.serve("complete", command_id=cid, args=None))

    def test_builder_list_makes_the_missing_directories(self) -> None:
        self.attach_info()
        d = self.conn.remoteSetBuilderList([("b1", "b1dir"), ("b2", "b2dir")])
        message, answer = self.proto.take()
        self.assertEqual(message["op"], "set_worker_settings")
        self.assertEqual(set(message["args"]), set(mp.WORKER_SETTINGS))
        answer.callback(None)
        self.finish_command(
            "listdir", [["files", ["b1dir", "info", "old"]], ["rc", 0]], {"path": "/w"}
        )
        self.finish_command("mkdir", [["rc", 0]], {"paths": ["/w/b2dir"]})
        self.assertEqual(self.successResultOf(d), {"b1": "b1dir", "b2": "b2dir"})
        self.assertEqual(self.conn.builders, {"b1": "b1dir", "b2": "b2dir"})
        self.assertEqual(self.proto.requests, [])

    def test_builder_list_deletes_leftovers_when_asked(self) -> None:
        self.attach_info(delete_leftover_dirs=1)
        d = self.conn.remoteSetBuilderList([("b1", "b1dir")])
        self.proto.take()[1].callback(None)
        self.finish_command(
            "listdir", [["files", ["b1dir", "info", "old", "f"]], ["rc", 0]], {"path": "/w"}
        )
        self.finish_command("stat", [["stat", [0o40755] + [0] * 9], ["rc", 0]], {"path": "/w/f"})
        self.finish_command("stat", [["stat", [0o40755] + [0] * 9], ["rc", 0]], {"path": "/w/old"})
        self.finish_command("rmdir", [["rc", 0]], {"paths": ["/w/f", "/w/old"]})
        self.successResultOf(d)

    def test_failed_listing_attaches_no_builders(self) -> None:
        self.attach_info()
        d = self.conn.remoteSetBuilderList([("b1", "b1dir")])
        self.proto.take()[1].callback(None)
        self.finish_command("listdir", [["rc", 2]], {"path": "/w"})
        self.failureResultOf(d, RuntimeError)
        self.assertEqual(self.conn.builders, {})

    def start(self, cmd: RemoteCommand) -> tuple[defer.Deferred[Any], str, InMemoryLog]:
        stdio = InMemoryLog("stdio")
        cmd.useLog(stdio, closeWhenFinished=True)
        d = cmd.run(None, self.conn, "b1")
        message, answer = self.proto.take()
        self.assertEqual(message["builder_name"], "b1")
        answer.callback(None)
        return d, message["command_id"], stdio

    async def test_command_updates_and_transfers(self) -> None:
        self.attach_info()
        self.conn.builders = {"b1": "b1dir"}
        writer = RecordingWriter()
        args = {"workdir": "build", "workersrc": "f", "writer": writer,
                "maxsize": None, "blocksize": 4, "keepstamp": True}  # fmt: skip
        d, cid, stdio = self.start(RemoteCommand("uploadFile", args))
        self.assertEqual(await self.serve("update_upload_file_write", command_id=cid, args=b"ab"),
                         None)  # fmt: skip
        await self.serve("update_upload_file_close", command_id=cid)
        await self.serve("update_upload_file_utime", command_id=cid, access_time=1.0,
                         modified_time=2.0)  # fmt: skip
        await self.serve("update", command_id=cid,
                         args=[["header", ["sending f\n", [9], [0.0]]], ["rc", 0],
                               ["elapsed", 0.1]])  # fmt: skip
        await self.serve("complete", command_id=cid, args=None)
        cmd = await d
        self.assertEqual(writer.calls, [("write", b"ab"), ("close",), ("utime", (1.0, 2.0))])
        self.assertEqual(cmd.rc, 0)
        self.assertEqual(cmd.elapsed, 0.1)
        self.assertIn("sending f\n", stdio.header)
        self.assertTrue(stdio.finished)
        # the command is forgotten once complete
        with self.assertRaises(KeyError) as caught:
            await self.serve("update_upload_file_write", command_id=cid, args=b"x")
        self.assertEqual(str(caught.exception), "'unknown \"command_id\"'")
        self.assertGreater(self.worker.received, 0)

    async def test_downloads_answer_the_data(self) -> None:
        self.attach_info()
        self.conn.builders = {"b1": "b1dir"}
        reader = StringFileReader(b"0123456789")
        args = {"workdir": "build", "workerdest": "f", "reader": reader,
                "maxsize": None, "blocksize": 4, "mode": None}  # fmt: skip
        d, cid, _ = self.start(RemoteCommand("downloadFile", args))
        self.assertEqual(await self.serve("update_read_file", command_id=cid, length=4), b"0123")
        self.assertEqual(await self.serve("update_read_file", command_id=cid, length=99),
                         b"456789")  # fmt: skip
        self.assertEqual(await self.serve("update_read_file", command_id=cid, length=4), b"")
        await self.serve("update_read_file_close", command_id=cid)
        with self.assertRaises(KeyError):
            await self.serve("update_read_file", command_id=cid)
        await self.serve("complete", command_id=cid, args="boom")
        with self.assertRaises(RuntimeError) as caught:
            await d
        self.assertEqual(str(caught.exception), "boom")

    def test_output_streams_and_interrupt(self) -> None:
        self.attach_info()
        self.conn.builders = {"b1": "b1dir"}
        cmd = RemoteCommand("shell", {"workdir": "build", "command": "ls"}, collectStdout=True)
        cmd.useLog(InMemoryLog("side"), closeWhenFinished=True, logfileName="side")
        d, cid, stdio = self.start(cmd)
        self.serve("update", command_id=cid, args=[
            ["stdout", ["a\nb\n", [1, 3], [0.0, 0.0]]], ["stderr", ["e\n", [1], [0.0]]],
            ["log", ["side", ["s\n", [1], [0.0]]]], ["stdout", ["c\n", [1], [0.0]]]])  # fmt: skip
        self.conn.remoteInterruptCommand("b1", cid, "because")
        message, answer = self.proto.take()
        self.assertEqual(message, {"op": "interrupt_command", "command_id": cid,
                                   "why": "because", "builder_name": "b1"})  # fmt: skip
        answer.callback(None)
        self.serve("update", command_id=cid, args=[["rc", -1]])
        self.serve("complete", command_id=cid, args=None)
        self.successResultOf(d)
        self.assertEqual(cmd.stdout, "a\nb\nc\n")
        self.assertEqual(stdio.chunks[:3], [("o", "a\nb\n"), ("e", "e\n"), ("o", "c\n")])
        self.assertEqual(cmd.logs["side"].stdout, "s\n")
        self.assertEqual(cmd.rc, -1)

    def test_refused_start_and_unknown_builder(self) -> None:
        self.attach_info()
        self.conn.builders = {"b1": "b1dir"}
        cmd = RemoteCommand("nope", {})
        d = cmd.run(None, self.conn, "b1")
        message, answer = self.proto.take()
        answer.errback(RemoteWorkerError("unrecognized WorkerCommand 'nope'"))
        self.failureResultOf(d, RemoteWorkerError)
        self.assertEqual(self.conn._commands, {})
        d = RemoteCommand("stat", {"file": "x"}).run(None, self.conn, "b9")
        self.failureResultOf(d, KeyError)
        self.assertEqual(self.proto.requests, [])

    def test_connection_lost_ends_the_command(self) -> None:
        self.attach_info()
        self.conn.builders = {"b1": "b1dir"}
        d, cid, _ = self.start(RemoteCommand("stat", {"file": "x"}))
        self.conn.connectionLost()
        f = self.failureResultOf(d)
        self.assertTrue(isConnectionLost(f))
        self.assertTrue(self.conn.disconnected)

    def test_keepalive_and_shutdown(self) -> None:
        self.conn.attached()
        self.clock.advance(KEEPALIVE_INTERVAL - 1)
        self.assertEqual(self.proto.requests, [])
        self.clock.advance(1)
        message, answer = self.proto.take()
        self.assertEqual(message, {"op": "keepalive"})
        answer.callback(None)
        d = self.conn.remoteShutdown()
        message, answer = self.proto.take()
        self.assertEqual(message, {"op": "shutdown"})
        answer.errback(error.ConnectionLost())
        self.assertIsNone(self.successResultOf(d))
        self.conn.loseConnection()
        self.assertTrue(self.proto.aborted)
        self.clock.advance(KEEPALIVE_INTERVAL)
        self.assertEqual(self.proto.requests, [])

    def test_requests_refresh_the_worker_and_missing_keys_are_named(self) -> None:
        self.attach_info()
        f = self.failureResultOf(self.serve("update", args=[]), KeyError)
        self.assertEqual(str(f.value), "'message did not contain obligatory \"command_id\" key'")
        self.assertEqual(self.worker.received, 1)
        self.assertIsNone(self.conn.requestHandler("print"))
