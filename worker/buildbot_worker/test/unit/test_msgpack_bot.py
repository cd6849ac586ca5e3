import os

from twisted.internet import defer, task
from twisted.trial import unittest

from buildbot_worker.outbuffer import Entry, UpdateBuffer
from buildbot_worker.protocols.msgpack_bot import (
    MsgpackBot,
    RequestError,
    encode_entry,
    translate_command,
)

MASTER_NEWLINE_RE = r"(\r\n|\r(?=.)|\033\[u|\033\[[0-9]+;[0-9]+[Hf]|\033\[2J|\x08+)"
SETTINGS = {
    "buffer_size": 65536,
    "buffer_timeout": 5,
    "newline_re": MASTER_NEWLINE_RE,
    "max_line_length": 4096,
}


class TestBatchedBuffer(unittest.TestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.batches = []
        self.buf = UpdateBuffer(
            None,
            self.clock,
            buffer_timeout=2,
            max_line_length=5,
            newline_re=MASTER_NEWLINE_RE,
            send_batch=self.batches.append,
        )

    def test_one_batch_per_flush_with_line_times(self):
        self.buf.add("stdout", "ab\r\ncd\n")
        self.clock.advance(1)
        self.buf.add("stdout", "ef\n")
        self.buf.add("rc", 0)
        self.assertEqual(self.batches, [])
        self.clock.advance(1)
        self.assertEqual(
            self.batches,
            [[Entry("stdout", "ab\ncd\nef\n", None, [0, 0, 1]), Entry("rc", 0, None, [])]],
        )

    def test_settings_split_long_lines(self):
        self.buf.add("log", ("out", "abcdefgh\n"))
        self.buf.finish()
        self.assertEqual(self.batches, [[Entry("log", "abcde\nfgh\n", "out", [0, 0])]])

    def test_empty_flush_sends_nothing(self):
        self.buf.flush()
        self.assertEqual(self.batches, [])


class TestEncoding(unittest.TestCase):
    def test_text_carries_offsets_and_times(self):
        self.assertEqual(
            encode_entry(Entry("stderr", "a\nbc\n", None, [1.0, 2.0])),
            ["stderr", ["a\nbc\n", [1, 4], [1.0, 2.0]]],
        )

    def test_log_and_plain_values(self):
        self.assertEqual(
            encode_entry(Entry("log", "x\n", "out", [3.0])), ["log", ["out", ["x\n", [1], [3.0]]]]
        )
        self.assertEqual(encode_entry(Entry("stat", (1, 2), None, [])), ["stat", [1, 2]])
        self.assertEqual(encode_entry(Entry("rc", 0, None, [])), ["rc", 0])

    def test_translation_to_our_arguments(self):
        def request(op, **kw):
            return defer.succeed(None)

        name, args = translate_command("mkdir", {"paths": ["/a", "/b"]}, request, "1")
        self.assertEqual((name, args), ("mkdir", {"dir": ["/a", "/b"]}))
        name, args = translate_command("stat", {"path": "/f", "workdir": "w"}, request, "1")
        self.assertEqual((name, args), ("stat", {"file": "/f"}))
        name, args = translate_command(
            "cpdir", {"from_path": "/a", "to_path": "/b", "timeout": 5}, request, "1"
        )
        self.assertEqual(args, {"fromdir": "/a", "todir": "/b", "timeout": 5})
        name, args = translate_command(
            "download_file", {"path": "/d", "workerdest": "d"}, request, "1"
        )
        self.assertEqual((name, args["workerdest"]), ("downloadFile", "/d"))
        self.assertEqual(args["reader"].kind, "read_file")
        self.assertEqual(translate_command("shell", {"x": 1}, request, "1"), ("shell", {"x": 1}))


class FakeMaster:
    """Records the worker's requests and answers them from `answers` (default None)."""

    def __init__(self):
        self.requests = []
        self.answers = {}

    def request(self, op, **fields):
        self.requests.append((op, fields))
        answer = self.answers.get(op)
        if callable(answer):
            answer = answer()
        return answer if isinstance(answer, defer.Deferred) else defer.succeed(answer)

    def ops(self):
        return [op for op, _ in self.requests]


class TestMsgpackBot(unittest.TestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.stops = []
        self.basedir = os.path.abspath(self.mktemp())
        os.makedirs(os.path.join(self.basedir, "info"))
        self.bot = MsgpackBot(self.basedir, self.clock, lambda: self.stops.append(1))
        self.master = FakeMaster()
        self.bot.request = self.master.request
        self.bot.handle("set_worker_settings", {"args": dict(SETTINGS)})

    def start(self, command_id, name, args):
        msg = {"command_id": command_id, "command_name": name, "args": args}
        return self.bot.handle("start_command", msg)

    def test_unknown_op_and_missing_keys(self):
        with self.assertRaisesRegex(RequestError, "^Command nope does not exist.$"):
            self.bot.handle("nope", {})
        with self.assertRaisesRegex(RequestError, '^message did not contain obligatory "args"'):
            self.bot.handle("set_worker_settings", {})
        with self.assertRaisesRegex(RequestError, '"newline_re"'):
            args = dict(SETTINGS)
            del args["newline_re"]
            self.bot.handle("set_worker_settings", {"args": args})
        with self.assertRaisesRegex(RequestError, "unrecognized WorkerCommand 'bogus'"):
            self.start("1", "bogus", {})

    def test_worker_info_and_shutdown(self):
        self.bot.delete_leftover_dirs = 1
        info = self.bot.handle("get_worker_info", {})
        self.assertEqual((info["basedir"], info["delete_leftover_dirs"]), (self.basedir, 1))
        self.assertIsNone(self.bot.handle("shutdown", {}))
        self.clock.advance(0.2)
        self.assertEqual(self.stops, [1])

    def test_mkdir_and_listdir_with_absolute_paths(self):
        target = os.path.join(self.basedir, "b1")
        self.start("7", "mkdir", {"paths": [target]})
        self.assertTrue(os.path.isdir(target))
        self.start("8", "listdir", {"path": self.basedir})
        (op1, update1), (op2, complete1), (op3, update2), (op4, _) = self.master.requests
        self.assertEqual([op1, op2, op3, op4], ["update", "complete", "update", "complete"])
        self.assertEqual(update1["command_id"], "7")
        self.assertEqual([k for k, _ in update1["args"]], ["rc", "elapsed"])
        self.assertEqual(update1["args"][0], ["rc", 0])
        self.assertEqual(complete1, {"command_id": "7", "args": None})
        self.assertEqual(sorted(update2["args"][0][1]), ["b1", "info"])
        self.assertEqual(self.bot.commands, {})

    def test_error_header_sent_as_whole_line_at_the_end(self):
        self.start("1", "stat", {"path": os.path.join(self.basedir, "missing")})
        (_, update), (_, complete) = self.master.requests
        keys = [k for k, _ in update["args"]]
        self.assertEqual(keys, ["rc", "elapsed", "header"])
        text, offsets, times = update["args"][2][1]
        self.assertTrue(text.startswith("stat: No such file or directory: "))
        self.assertEqual((offsets, times), ([len(text) - 1], [0]))

    def test_upload_file_requests(self):
        src = os.path.join(self.basedir, "a.txt")
        with open(src, "wb") as f:
            f.write(b"0123456789")
        os.utime(src, (5, 6))
        self.start(
            "3",
            "upload_file",
            {"path": src, "workdir": "build", "workersrc": "a.txt", "maxsize": None,
             "blocksize": 4, "keepstamp": True},
        )  # fmt: skip
        ops = self.master.ops()
        self.assertEqual(
            ops[:5],
            ["update_upload_file_write"] * 3
            + ["update_upload_file_close", "update_upload_file_utime"],
        )
        written = [f["args"] for _, f in self.master.requests[:3]]
        self.assertEqual(written, [b"0123", b"4567", b"89"])
        self.assertEqual(
            self.master.requests[4][1],
            {"command_id": "3", "access_time": 5.0, "modified_time": 6.0},
        )
        self.assertEqual(ops[5:], ["update", "complete"])
        update = dict(self.master.requests[5][1]["args"])
        self.assertEqual(update["rc"], 0)
        self.assertEqual(update["header"][0], f"sending {src}\n")

    def test_download_file_reads_until_empty(self):
        chunks = [b"ab", b"cd", b""]
        self.master.answers["update_read_file"] = lambda: chunks.pop(0)
        dest = os.path.join(self.basedir, "sub", "d.txt")
        self.start(
            "4",
            "download_file",
            {"path": dest, "workdir": "build", "workerdest": "d.txt", "maxsize": None,
             "blocksize": 2, "mode": 0o640},
        )  # fmt: skip
        with open(dest, "rb") as f:
            self.assertEqual(f.read(), b"abcd")
        self.assertEqual(os.stat(dest).st_mode & 0o777, 0o640)
        self.assertEqual(
            self.master.ops(),
            ["update_read_file"] * 3 + ["update_read_file_close", "update", "complete"],
        )
        self.assertEqual(self.master.requests[0][1], {"command_id": "4", "length": 2})

    def test_read_answered_with_none_ends_the_download(self):
        dest = os.path.join(self.basedir, "e.txt")
        self.start(
            "5",
            "download_file",
            {"path": dest, "maxsize": None, "blocksize": 2, "mode": None, "workdir": "b"},
        )
        self.assertEqual(os.path.getsize(dest), 0)
        self.assertEqual(self.master.ops()[-1], "complete")

    def test_interrupt_unknown_command_is_only_logged(self):
        self.assertIsNone(self.bot.handle("interrupt_command", {"command_id": "9", "why": "x"}))

    def test_missing_argument_is_refused_before_start(self):
        with self.assertRaisesRegex(ValueError, "workersrc"):
            self.start("6", "upload_file", {"workdir": "b", "blocksize": 4, "maxsize": None})
        self.assertEqual((self.master.requests, self.bot.commands), ([], {}))

    def test_failed_master_call_completes_with_error_text(self):
        src = os.path.join(self.basedir, "a.txt")
        with open(src, "wb") as f:
            f.write(b"x")
        self.master.answers["update_upload_file_write"] = lambda: defer.fail(OSError("disk full"))
        self.start("6", "upload_file", {"path": src, "blocksize": 4, "maxsize": None})
        op, fields = self.master.requests[-1]
        self.assertEqual(
            (op, fields), ("complete", {"command_id": "6", "args": "OSError: disk full"})
        )
        self.flushLoggedErrors(OSError)

    @defer.inlineCallbacks
    def test_shell_interrupt_and_lost_connection(self):
        from twisted.internet import reactor

        self.bot.reactor = reactor
        self.start(
            "10",
            "shell",
            {"command": ["sleep", "30"], "workdir": self.basedir, "timeout": None,
             "logEnviron": False},
        )  # fmt: skip
        self.assertIn("10", self.bot.commands)
        done = defer.Deferred()
        real_request = self.master.request

        def request(op, **fields):
            d = real_request(op, **fields)
            if op == "complete":
                done.callback(fields)
            return d

        self.bot.request = request
        self.bot.handle("interrupt_command", {"command_id": "10", "why": "stop"})
        fields = yield done
        self.assertEqual(fields, {"command_id": "10", "args": None})
        updates = [dict(f["args"]) for op, f in self.master.requests if op == "update"]
        rcs = [u["rc"] for u in updates if "rc" in u]
        self.assertEqual(rcs, [-1])
        self.assertEqual(self.bot.commands, {})
