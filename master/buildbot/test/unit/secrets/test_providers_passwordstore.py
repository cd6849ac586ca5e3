from __future__ import annotations

import os
import shutil
import stat

from twisted.trial import unittest

from buildbot import config
from buildbot.secrets.providers.passwordstore import SecretInPass

# a stand-in for `pass`: prints the entry file of $PASSWORD_STORE_DIR, and records the
# passphrase options it was given
FAKE_PASS = """#!/bin/sh
f="$PASSWORD_STORE_DIR/$1.txt"
echo "$PASSWORD_STORE_GPG_OPTS" > "$PASSWORD_STORE_DIR/.opts"
if [ -f "$f" ]; then cat "$f"; exit 0; fi
echo "Error: $1 is not in the password store." >&2
exit 1
"""


class SecretInPassTests(unittest.TestCase):
    def setUp(self):
        self.store = os.path.abspath(self.mktemp())
        os.makedirs(self.store)
        if os.environ.get("BUILDBOT_TEST_REAL_PASS") and shutil.which("pass"):
            return  # pragma: no cover - with the real program, set up by the user
        bindir = os.path.abspath(self.mktemp())
        os.makedirs(bindir)
        script = os.path.join(bindir, "pass")
        with open(script, "w") as f:
            f.write(FAKE_PASS)
        os.chmod(script, stat.S_IRWXU)
        old = os.environ.get("PATH", "")
        os.environ["PATH"] = bindir + os.pathsep + old
        self.addCleanup(os.environ.__setitem__, "PATH", old)

    def write(self, name, text):
        with open(os.path.join(self.store, name + ".txt"), "w") as f:
            f.write(text)

    async def provider(self, **kwargs):
        p = SecretInPass(dirname=self.store, **kwargs)
        await p.startService()
        self.addCleanup(p.stopService)
        return p

    async def test_first_line_of_the_entry(self):
        os.makedirs(os.path.join(self.store, "web"))
        self.write("web/token", "s3cr3t\nuser: me\n")  # an entry in a folder
        self.write("empty", "")
        p = await self.provider(gpgPassphrase="pp")
        self.assertEqual(await p.get("web/token"), "s3cr3t")
        self.assertEqual(await p.get("empty"), "")
        self.assertIsNone(await p.get("nope"))
        with open(os.path.join(self.store, ".opts")) as f:
            self.assertIn("--passphrase pp", f.read())

    def test_config_errors(self):
        with self.assertRaises(config.ConfigErrors):
            SecretInPass(dirname=os.path.join(self.store, "nope"))
        os.environ["PATH"] = self.store  # no `pass` there
        with self.assertRaises(config.ConfigErrors) as cm:
            SecretInPass()
        self.assertIn("'pass'", str(cm.exception))

    async def test_program_gone_at_read_time(self):
        p = await self.provider()
        os.environ["PATH"] = self.store
        self.assertIsNone(await p.get("anything"))
