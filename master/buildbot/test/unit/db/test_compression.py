"""Log chunk compression methods and their stored codes."""

import bz2
import struct
import zlib
from unittest import mock

import brotli
import lz4.block
import zstandard
from twisted.trial import unittest

from buildbot.db import compression

TEXT = b"".join(b"line %d: compiling module_%d.c with -O2 -Wall\n" % (i, i % 7) for i in range(500))


class Tests(unittest.TestCase):
    def test_codes(self):
        self.assertEqual(
            compression.CODES, {"raw": 0, "gz": 1, "bz2": 2, "lz4": 3, "zstd": 4, "br": 5}
        )

    def test_round_trip_every_method(self):
        for method, code in compression.CODES.items():
            stored_code, stored = compression.compress(method, TEXT)
            self.assertEqual(stored_code, code, method)
            if code:
                self.assertLess(len(stored), len(TEXT), method)
            self.assertEqual(compression.decompress(stored_code, stored), TEXT, method)

    def test_formats_readable_by_the_libraries(self):
        # what others (Buildbot 4.3) wrote and read: check against the libraries directly
        self.assertEqual(zlib.decompress(compression.compress("gz", TEXT)[1]), TEXT)
        self.assertEqual(bz2.decompress(compression.compress("bz2", TEXT)[1]), TEXT)
        packed = compression.compress("lz4", TEXT)[1]
        self.assertEqual(struct.unpack("<I", packed[:4])[0], len(TEXT))
        self.assertEqual(lz4.block.decompress(packed), TEXT)
        self.assertEqual(
            zstandard.ZstdDecompressor().decompress(compression.compress("zstd", TEXT)[1]), TEXT
        )
        self.assertEqual(brotli.decompress(compression.compress("br", TEXT)[1]), TEXT)

    def test_reads_foreign_data(self):
        self.assertEqual(compression.decompress(1, zlib.compress(TEXT, 1)), TEXT)
        self.assertEqual(compression.decompress(2, bz2.compress(TEXT, 1)), TEXT)
        self.assertEqual(compression.decompress(3, lz4.block.compress(TEXT)), TEXT)
        # a zstd frame without its content size
        cctx = zstandard.ZstdCompressor(write_content_size=False)
        self.assertEqual(compression.decompress(4, cctx.compress(TEXT)), TEXT)
        self.assertEqual(compression.decompress(5, brotli.compress(TEXT)), TEXT)
        self.assertEqual(compression.decompress(0, memoryview(TEXT)), TEXT)

    def test_incompressible_stored_raw(self):
        data = bytes(range(7))
        for method in compression.CODES:
            self.assertEqual(compression.compress(method, data), (0, data), method)
        self.assertEqual(compression.compress("gz", b""), (0, b""))

    def test_unknown_method(self):
        with self.assertRaisesRegex(ValueError, "unknown log compression method 'lzma'"):
            compression.compress("lzma", TEXT)
        with self.assertRaises(ValueError):
            compression.method_code("GZ")

    def test_unknown_code(self):
        with self.assertRaisesRegex(ValueError, "unknown log compression code 9"):
            compression.decompress(9, b"x")

    def test_default_method(self):
        self.assertEqual(compression.default_method(), "zstd")
        with mock.patch.object(compression, "zstandard", None):
            self.assertEqual(compression.default_method(), "gz")

    def test_missing_library(self):
        with mock.patch.object(compression, "lz4_block", None):
            self.assertNotIn("lz4", compression.available_methods())
            with self.assertRaisesRegex(RuntimeError, "'lz4' package"):
                compression.compress("lz4", TEXT)
            with self.assertRaisesRegex(RuntimeError, "'lz4' package"):
                compression.decompress(3, b"xxxx")
        self.assertEqual(compression.available_methods(), list(compression.CODES))
