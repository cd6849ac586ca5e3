from __future__ import annotations

import os

from twisted.trial import unittest

from buildbot import config
from buildbot.secrets.providers.file import SecretFilePermissionError, SecretInAFile


class SecretInAFileTests(unittest.TestCase):
    def setUp(self):
        self.dir = os.path.abspath(self.mktemp())
        os.makedirs(self.dir)

    def write(self, name, content, mode=0o600):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(content.encode())
        os.chmod(path, mode)
        return path

    async def provider(self, **kwargs):
        p = SecretInAFile(self.dir, **kwargs)
        await p.startService()  # applies the configuration
        self.addCleanup(p.stopService)
        return p

    def test_missing_directory_is_a_config_error(self):
        with self.assertRaises(config.ConfigErrors) as cm:
            SecretInAFile(os.path.join(self.dir, "nope"))
        self.assertIn("does not exist", str(cm.exception))

    def test_bad_suffixes_are_a_config_error(self):
        with self.assertRaises(config.ConfigErrors):
            SecretInAFile(self.dir, suffixes=".txt")

    async def test_reads_and_strips_line_ends_only(self):
        self.write("token", "  s3cr3t \r\n\n")
        self.write("ml", "line1\nline2\n")
        p = await self.provider()
        self.assertEqual(await p.get("token"), "  s3cr3t ")
        self.assertEqual(await p.get("ml"), "line1\nline2")
        self.assertIsNone(await p.get("missing"))

    async def test_no_strip(self):
        self.write("token", "s3cr3t\n")
        p = await self.provider(strip=False)
        self.assertEqual(await p.get("token"), "s3cr3t\n")

    async def test_suffixes(self):
        self.write("a.txt", "from-txt")
        self.write("b.pw", "from-pw")
        self.write("c", "bare")
        p = await self.provider(suffixes=[".txt", ".pw"])
        self.assertEqual(await p.get("a"), "from-txt")
        self.assertEqual(await p.get("b"), "from-pw")
        self.assertIsNone(await p.get("c"))  # '' is not among the suffixes

    async def test_group_may_read_others_may_not(self):
        self.write("grp", "ok", mode=0o640)
        self.write("open", "leaky", mode=0o604)
        p = await self.provider()
        self.assertEqual(await p.get("grp"), "ok")
        with self.assertRaises(SecretFilePermissionError) as cm:
            await p.get("open")
        self.assertIn("open", str(cm.exception))

    async def test_never_leaves_the_directory(self):
        outside = os.path.join(os.path.dirname(self.dir), "outside")
        with open(outside, "w") as f:
            f.write("x")
        os.chmod(outside, 0o600)
        os.makedirs(os.path.join(self.dir, "sub"))
        p = await self.provider()
        for name in ("../outside", "..", ".", "", "sub"):
            self.assertIsNone(await p.get(name), name)

    async def test_reconfig_takes_a_new_directory(self):
        p = await self.provider()
        other = os.path.abspath(self.mktemp())
        os.makedirs(other)
        with open(os.path.join(other, "k"), "w") as f:
            f.write("v2")
        os.chmod(os.path.join(other, "k"), 0o600)
        await p.reconfigServiceWithSibling(SecretInAFile(other))
        self.assertEqual(await p.get("k"), "v2")
