import os
import subprocess

from twisted.trial import unittest

from buildbot_pkg import version


def git(cwd, *args):
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.invalid",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.invalid",
    )
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


class TestDescribe(unittest.TestCase):
    def test_on_a_tag(self):
        self.assertEqual(version.version_from_describe("v4.3.0-0-gabc1234"), "4.3.0")

    def test_after_a_tag(self):
        self.assertEqual(version.version_from_describe("v4.3.0-7-gabc1234"), "4.3.1.dev7+gabc1234")
        self.assertEqual(version.version_from_describe("v5.1-2-g0f"), "5.1.1.dev2+g0f")

    def test_not_a_version_tag(self):
        self.assertIsNone(version.version_from_describe("release-3-gabc"))


class TestComputeVersion(unittest.TestCase):
    def setUp(self):
        self.root = os.path.abspath(self.mktemp())
        os.makedirs(self.root)
        # The temp dir may sit inside a git checkout: make git stop looking at it.
        saved = os.environ.get("GIT_CEILING_DIRECTORIES")
        os.environ["GIT_CEILING_DIRECTORIES"] = os.path.dirname(self.root)

        def restore():
            if saved is None:
                del os.environ["GIT_CEILING_DIRECTORIES"]
            else:
                os.environ["GIT_CEILING_DIRECTORIES"] = saved

        self.addCleanup(restore)

    def test_environment_wins(self):
        self.assertEqual(version.compute_version(self.root, {"BUILDBOT_VERSION": "9.9.9"}), "9.9.9")

    def test_pkg_info_of_an_sdist(self):
        with open(os.path.join(self.root, "PKG-INFO"), "w") as f:
            f.write("Metadata-Version: 2.1\nName: buildbot\nVersion: 4.5.6\n")
        self.assertEqual(version.compute_version(self.root, {}), "4.5.6")

    def test_no_git_no_metadata(self):
        self.assertEqual(version.compute_version(self.root, {}), "4.3.1.dev0")

    def test_git_without_tags_counts_commits(self):
        git(self.root, "init", "-q")
        for i in range(3):
            git(self.root, "commit", "-q", "--allow-empty", "-m", f"c{i}")
        sha = git(self.root, "rev-parse", "--short", "HEAD")
        self.assertEqual(version.compute_version(self.root, {}), f"4.3.1.dev3+g{sha}")

    def test_git_tags(self):
        git(self.root, "init", "-q")
        git(self.root, "commit", "-q", "--allow-empty", "-m", "first")
        git(self.root, "tag", "v5.0.0")
        self.assertEqual(version.compute_version(self.root, {}), "5.0.0")
        git(self.root, "commit", "-q", "--allow-empty", "-m", "second")
        sha = git(self.root, "rev-parse", "--short", "HEAD")
        self.assertEqual(version.compute_version(self.root, {}), f"5.0.1.dev1+g{sha}")

    def test_installed_distributions_agree(self):
        from importlib import metadata

        self.assertEqual(metadata.version("buildbot"), metadata.version("buildbot-worker"))
