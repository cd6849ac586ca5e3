from twisted.internet import task
from twisted.trial import unittest

from buildbot_worker.outbuffer import UpdateBuffer, split_complete_lines


class TestSplitLines(unittest.TestCase):
    def test_partial_line_held_back(self):
        self.assertEqual(split_complete_lines("", "a\nb"), ("a\n", "b"))
        self.assertEqual(split_complete_lines("b", "c\n"), ("bc\n", ""))

    def test_line_ending_lookalikes_become_newlines(self):
        text = "a\r\nb\rc\x1b[2Jd\x1b[1;2He\x08\x08f\n"
        self.assertEqual(split_complete_lines("", text), ("a\nb\nc\nd\ne\nf\n", ""))

    def test_lone_cr_at_end_waits_for_next_chunk(self):
        complete, rest = split_complete_lines("", "x\r")
        self.assertEqual((complete, rest), ("", "x\r"))
        self.assertEqual(split_complete_lines(rest, "\ny\n"), ("x\ny\n", ""))

    def test_long_lines_split(self):
        complete, rest = split_complete_lines("", "a" * 10 + "\n" + "b" * 7, max_len=4)
        self.assertEqual(complete, "aaaa\naaaa\naa\nbbbb\n")
        self.assertEqual(rest, "bbb")


class TestUpdateBuffer(unittest.TestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.sent = []
        self.buf = UpdateBuffer(lambda k, v: self.sent.append((k, v)), self.clock)

    def test_merges_and_waits_for_timer(self):
        self.buf.add("stdout", "a\n")
        self.buf.add("stdout", "b\n")
        self.buf.add("stderr", "e\n")
        self.buf.add("stdout", "c\n")
        self.assertEqual(self.sent, [])
        # trickling output reaches the master within half a second (live logs)
        self.clock.advance(0.49)
        self.assertEqual(self.sent, [])
        self.clock.advance(0.01)
        self.assertEqual(self.sent, [("stdout", "a\nb\n"), ("stderr", "e\n"), ("stdout", "c\n")])

    def test_flushes_when_large(self):
        self.buf.buffer_size = 100
        self.buf.add("stdout", "x" * 60 + "\n")
        self.assertEqual(self.sent, [])
        self.buf.add("stdout", "y" * 60 + "\n")
        self.assertEqual(len(self.sent), 1)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_partial_text_sent_last_with_newline(self):
        self.buf.add("header", "mkdir: No such file: /x")
        self.buf.add("rc", 2)
        self.buf.add("elapsed", 0.5)
        self.buf.finish()
        self.assertEqual(
            self.sent, [("rc", 2), ("elapsed", 0.5), ("header", "mkdir: No such file: /x\n")]
        )

    def test_logfile_text_keeps_name(self):
        self.buf.add("log", ("out", "1\n"))
        self.buf.add("log", ("out", "2\n"))
        self.buf.add("log", ("other", "3\n"))
        self.buf.finish()
        self.assertEqual(self.sent, [("log", ("out", "1\n2\n")), ("log", ("other", "3\n"))])

    def test_close_drops_everything(self):
        self.buf.add("stdout", "a\n")
        self.buf.close()
        self.buf.add("stdout", "b\n")
        self.clock.advance(10)
        self.buf.finish()
        self.assertEqual(self.sent, [])
