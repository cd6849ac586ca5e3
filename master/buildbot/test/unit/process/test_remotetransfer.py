import io
import os
import tarfile

from twisted.trial import unittest

from buildbot.process import remotetransfer


class TestTransfers(unittest.TestCase):
    # real threads: the file I/O runs in the reactor's pool
    def setUp(self):
        self.dir = os.path.abspath(self.mktemp())
        os.makedirs(self.dir)

    async def test_file_writer_renames_on_close_and_truncates(self):
        dest = os.path.join(self.dir, "sub", "f.bin")
        w = remotetransfer.FileWriter(dest, 5, 0o600)
        await w.remote_write(b"abc")
        self.assertFalse(os.path.exists(dest))
        await w.remote_write(b"defgh")
        await w.remote_close()
        await w.remote_utime((1000.0, 2000.0))
        with open(dest, "rb") as f:
            self.assertEqual(f.read(), b"abcde")
        self.assertEqual(os.stat(dest).st_mode & 0o777, 0o600)
        self.assertEqual(int(os.stat(dest).st_mtime), 2000)
        self.assertEqual(os.listdir(os.path.dirname(dest)), ["f.bin"])

    async def test_file_writer_cancel_leaves_nothing(self):
        dest = os.path.join(self.dir, "f.bin")
        w = remotetransfer.FileWriter(dest, None, None)
        await w.remote_write(b"abc")
        await w.cancel()
        self.assertEqual(os.listdir(self.dir), [])

    async def test_directory_writer_unpacks(self):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            info = tarfile.TarInfo("a/b.txt")
            info.size = 2
            tar.addfile(info, io.BytesIO(b"hi"))
        dest = os.path.join(self.dir, "tree")
        w = remotetransfer.DirectoryWriter(dest, None, "gz", None)
        data = buf.getvalue()
        for i in range(0, len(data), 7):
            await w.remote_write(data[i : i + 7])
        await w.remote_unpack()
        with open(os.path.join(dest, "a", "b.txt")) as f:
            self.assertEqual(f.read(), "hi")
        self.assertIsNone(w.tmpname)

    async def test_readers(self):
        path = os.path.join(self.dir, "src")
        with open(path, "wb") as f:
            f.write(b"0123456789")
        r = remotetransfer.FileReader(open(path, "rb"))
        self.assertEqual(await r.remote_read(4), b"0123")
        self.assertEqual(await r.remote_read(100), b"456789")
        self.assertEqual(await r.remote_read(100), b"")
        await r.remote_close()
        self.assertEqual(await r.remote_read(100), b"")
        s = remotetransfer.StringFileReader("héllo")
        self.assertEqual(await s.remote_read(100), "héllo".encode())
        w = remotetransfer.StringFileWriter()
        w.remote_write(b"ab")
        w.remote_write(b"c")
        self.assertEqual(w.buffer, b"abc")
