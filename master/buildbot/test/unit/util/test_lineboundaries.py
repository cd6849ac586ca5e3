from twisted.trial import unittest

from buildbot.util.lineboundaries import LineBoundaryFinder


class LineBoundaryFinderTests(unittest.TestCase):
    def setUp(self) -> None:
        self.finder = LineBoundaryFinder()

    def feed(self, *pieces: str) -> list[str | None]:
        return [self.finder.append(p) for p in pieces]

    def test_whole_lines(self):
        self.assertEqual(self.feed("a\nb\n"), ["a\nb\n"])
        self.assertEqual(self.finder.flush(), None)

    def test_partial_line_kept(self):
        self.assertEqual(self.feed("ab", "c", "d\ne"), [None, None, "abcd\n"])
        self.assertEqual(self.finder.partial, "e")
        self.assertEqual(self.feed("f\n"), ["ef\n"])
        self.assertEqual(self.finder.partial, "")

    def test_empty(self):
        self.assertEqual(self.feed(""), [None])
        self.assertEqual(self.finder.flush(), None)

    def test_empty_lines(self):
        self.assertEqual(self.feed("\n\nx\n"), ["\n\nx\n"])

    def test_crlf(self):
        self.assertEqual(self.feed("a\r\nb\r\n"), ["a\nb\n"])

    def test_crlf_split_between_pieces(self):
        self.assertEqual(self.feed("a\r", "\nb\r", "\n"), [None, "a\n", "b\n"])

    def test_lone_cr_is_a_line_end(self):
        self.assertEqual(self.feed("10%\r20%\r30%\n"), ["10%\n20%\n30%\n"])

    def test_held_cr_then_text(self):
        self.assertEqual(self.feed("10%\r", "20%\r", "x"), [None, "10%\n", "20%\n"])
        self.assertEqual(self.finder.partial, "x")

    def test_cr_alone_pieces(self):
        self.assertEqual(self.feed("\r", "\r", "\n"), [None, "\n", "\n"])

    def test_flush(self):
        self.feed("a\nbc")
        self.assertEqual(self.finder.flush(), "bc\n")
        self.assertEqual(self.finder.flush(), None)

    def test_flush_held_cr(self):
        self.feed("bc\r")
        self.assertEqual(self.finder.flush(), "bc\n")

    def test_many_small_pieces(self):
        out = [self.finder.append(c) for c in "x" * 10000 + "\n"]
        self.assertEqual(out[-1], "x" * 10000 + "\n")
        self.assertEqual(set(out[:-1]), {None})
