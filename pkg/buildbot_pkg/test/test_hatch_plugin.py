import os
import subprocess
import sys
import textwrap
import zipfile

from twisted.trial import unittest

PYPROJECT = """
[build-system]
requires = ["hatchling", "buildbot-pkg"]
build-backend = "hatchling.build"

[project]
name = "fake-www"
dynamic = ["version"]

[tool.hatch.version]
source = "buildbot"

[tool.hatch.build.targets.wheel]
packages = ["fake_www"]

[tool.hatch.build.targets.wheel.hooks.buildbot-www]
package = "fake_www"
install-command = {install}
build-command = {build}
"""


class TestWwwBuildHook(unittest.TestCase):
    def make_project(self, build_script):
        root = os.path.abspath(self.mktemp())
        os.makedirs(os.path.join(root, "fake_www"))
        with open(os.path.join(root, "fake_www", "__init__.py"), "w") as f:
            f.write("")
        with open(os.path.join(root, "build.py"), "w") as f:
            f.write(textwrap.dedent(build_script))
        with open(os.path.join(root, "pyproject.toml"), "w") as f:
            f.write(
                PYPROJECT.format(
                    install=f'["{sys.executable}", "-c", "pass"]',
                    build=f'["{sys.executable}", "build.py"]',
                )
            )
        return root

    def build_wheel(self, root, skip=False):
        out = os.path.join(root, "out")
        env = dict(os.environ, BUILDBOT_VERSION="1.2.3")
        if not skip:
            env.pop("BUILDBOT_WWW_SKIP_BUILD", None)
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "-q",
                "--no-deps",
                "--no-build-isolation",
                "-w",
                out,
                root,
            ],
            capture_output=True,
            text=True,
            env=env,
        ), out

    def test_assets_are_built_and_packed(self):
        root = self.make_project(
            """
            import os
            os.makedirs("dist/assets", exist_ok=True)
            open("dist/index.html", "w").write("<html>ui</html>")
            open("dist/assets/app.js", "w").write("console.log(1)")
            """
        )
        proc, out = self.build_wheel(root)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        (wheel,) = os.listdir(out)
        self.assertTrue(wheel.startswith("fake_www-1.2.3-"), wheel)
        with zipfile.ZipFile(os.path.join(out, wheel)) as z:
            names = z.namelist()
            self.assertIn("fake_www/static/index.html", names)
            self.assertIn("fake_www/static/assets/app.js", names)
            self.assertEqual(z.read("fake_www/static/index.html"), b"<html>ui</html>")

    def test_failing_build_fails_the_wheel(self):
        root = self.make_project("raise SystemExit(3)\n")
        proc, out = self.build_wheel(root)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("failed with exit code 3", proc.stdout + proc.stderr)
        self.assertFalse(os.path.exists(out) and os.listdir(out))

    def test_build_that_writes_nothing_fails(self):
        root = self.make_project("pass\n")
        proc, _ = self.build_wheel(root)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("no built assets", proc.stdout + proc.stderr)

    def test_skip_build_packs_existing_assets(self):
        root = self.make_project("raise SystemExit('the build must not run')\n")
        os.makedirs(os.path.join(root, "dist"))
        with open(os.path.join(root, "dist", "index.html"), "w") as f:
            f.write("prebuilt")
        self.patch(os, "environ", dict(os.environ, BUILDBOT_WWW_SKIP_BUILD="1"))
        proc, out = self.build_wheel(root, skip=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        (wheel,) = os.listdir(out)
        with zipfile.ZipFile(os.path.join(out, wheel)) as z:
            self.assertEqual(z.read("fake_www/static/index.html"), b"prebuilt")

    def test_missing_build_tool_is_named(self):
        root = self.make_project("pass\n")
        with open(os.path.join(root, "pyproject.toml")) as f:
            text = f.read()
        with open(os.path.join(root, "pyproject.toml"), "w") as f:
            f.write(
                text.replace(
                    f'build-command = ["{sys.executable}"', 'build-command = ["no-such-npm-xyz"'
                )
            )
        proc, _ = self.build_wheel(root)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("'no-such-npm-xyz' not found", proc.stdout + proc.stderr)
