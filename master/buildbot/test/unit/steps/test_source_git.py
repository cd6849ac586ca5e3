from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from twisted.trial import unittest

from buildbot import config
from buildbot.process.properties import Property
from buildbot.process.results import EXCEPTION, FAILURE, SUCCESS
from buildbot.steps.source.git import Git, GitCommit, GitPush, GitTag
from buildbot.test.steps import StepTestMixin
from buildbot.util import git as gitutil

URL = "http://github.com/buildbot/buildbot.git"
SHA = "f6ad368298bd941e934a41f3babc827b2aa95a1d"
SHA2 = "1234567890123456789012345678901234567890"
BUILDDIR = "/w/builder"
AUTH = "/w/builder/.wkdir.buildbot"


def sourcestamp(**kw: Any) -> SimpleNamespace:
    values = {"branch": None, "revision": None, "codebase": "", "changes": [], "patch": None}
    values.update(kw)
    return SimpleNamespace(**values)


class GitTestMixin(StepTestMixin):
    async def setUp(self) -> None:
        await self.setup_step_test()
        self.use_stamps(sourcestamp())

    def use_stamps(self, *stamps: SimpleNamespace) -> None:
        by_codebase = {ss.codebase: ss for ss in stamps}
        self.build.getSourceStamp = lambda codebase="": by_codebase.get(codebase)

    def git(self, *args: str, workdir: str = "wkdir", rc: int = 0, stdout: str = "", **kw: Any):
        updates = [{"stdout": stdout}] if stdout else []
        expected = {"command": ["git", *args], "workdir": workdir}
        expected.update(kw.pop("extra", {}))
        return self.conn.expect("shell", expected, updates=updates, rc=rc, **kw)

    def version(self, version: str = "2.39.2", workdir: str = "wkdir") -> None:
        self.git("--version", stdout=f"git version {version}\n", workdir=workdir)

    def not_patched(self, workdir: str = "wkdir") -> None:
        self.conn.expect("stat", {"file": f"{workdir}/.buildbot-patched"}, rc=2)

    def listdir(self, files: list[str] | None, workdir: str = "wkdir") -> None:
        if files is None:
            self.conn.expect("listdir", {"dir": workdir}, rc=2)
        else:
            self.conn.expect("listdir", {"dir": workdir}, updates=[{"files": files}])

    def start(self, files: list[str] | None = None, version: str = "2.39.2") -> None:
        self.version(version)
        self.not_patched()
        self.listdir(files)

    def got_revision(self, workdir: str = "wkdir", sha: str = SHA) -> None:
        self.git("rev-parse", "HEAD", stdout=sha + "\n", workdir=workdir)


class GitTests(GitTestMixin, unittest.TestCase):
    # --- incremental ---------------------------------------------------------------

    async def test_incremental_first_clone(self):
        self.setup_step(Git(repourl=URL))
        self.start(files=None)
        self.git("clone", URL, ".", "--progress")
        self.got_revision()
        self.assertEqual(await self.run_step(), SUCCESS)
        self.assertEqual(self.build.getProperty("got_revision"), SHA)
        self.assertEqual(self.build.properties.getPropertySource("got_revision"), "Git")
        row = await self.step_row()
        self.assertEqual((row["name"], row["state_string"]), ("git", "update"))

    async def test_incremental_update(self):
        self.setup_step(Git(repourl=URL, progress=False))
        self.start(files=[".git", "README"])
        self.git("fetch", "-f", URL, "HEAD")
        self.git("checkout", "-f", "FETCH_HEAD")
        self.got_revision()
        self.assertEqual(await self.run_step(), SUCCESS)

    async def test_incremental_branch_and_known_revision(self):
        self.use_stamps(sourcestamp(branch="dev", revision=SHA2))
        self.setup_step(Git(repourl=URL))
        self.start(files=[".git"])
        self.git("cat-file", "-e", SHA2)
        self.git("checkout", "-f", SHA2)
        self.git("checkout", "-B", "dev", rc=1)
        self.got_revision(sha=SHA2)
        self.assertEqual(await self.run_step(), SUCCESS)
        self.assertEqual(self.build.getProperty("got_revision"), SHA2)

    async def test_incremental_unknown_revision_with_tags(self):
        self.use_stamps(sourcestamp(revision=SHA2))
        self.setup_step(Git(repourl=URL, tags=True, branch="main"))
        self.start(files=[".git"])
        self.git("fetch", "-f", "--tags", "--progress", URL, "main")
        self.git("checkout", "-f", SHA2)
        self.git("checkout", "-B", "main")
        self.got_revision()
        self.assertEqual(await self.run_step(), SUCCESS)

    async def test_incremental_fetch_of_missing_revision(self):
        self.use_stamps(sourcestamp(revision=SHA2))
        self.setup_step(Git(repourl=URL))
        self.start(files=[".git"])
        self.git("cat-file", "-e", SHA2, rc=1)
        self.git("fetch", "-f", "--progress", URL, "HEAD")
        self.git("checkout", "-f", SHA2)
        self.got_revision()
        self.assertEqual(await self.run_step(), SUCCESS)

    async def test_incremental_not_a_repository_is_clobbered(self):
        self.setup_step(Git(repourl=URL, branch="main", shallow=3))
        self.start(files=["junk"])
        self.conn.expect("rmdir", {"dir": "wkdir", "timeout": 1200})
        self.git("clone", "--branch", "main", "--depth", "3", URL, ".", "--progress")
        self.got_revision()
        self.assertEqual(await self.run_step(), SUCCESS)

    async def test_incremental_old_worker_without_listdir(self):
        self.conn.info["worker_commands"]["listdir"] = "2.15"
        self.setup_step(Git(repourl=URL))
        self.version()
        self.not_patched()
        self.conn.expect("stat", {"file": "wkdir/.git"})
        self.git("fetch", "-f", "--progress", URL, "HEAD")
        self.git("checkout", "-f", "FETCH_HEAD")
        self.got_revision()
        self.assertEqual(await self.run_step(), SUCCESS)

    async def test_incremental_empty_dir_clones(self):
        del self.conn.info["worker_commands"]["listdir"]
        self.setup_step(Git(repourl=URL))
        self.version()
        self.not_patched()
        self.conn.expect("stat", {"file": "wkdir/.git"}, rc=2)
        self.git("clone", URL, ".", "--progress")
        self.got_revision()
        self.assertEqual(await self.run_step(), SUCCESS)

    async def test_incremental_submodules(self):
        self.setup_step(Git(repourl=URL, submodules=True, remoteSubmodules=True))
        self.start(files=[".git"])
        self.git("fetch", "-f", "--progress", URL, "HEAD")
        self.git("checkout", "-f", "FETCH_HEAD")
        self.git("submodule", "sync")
        self.git("submodule", "update", "--init", "--recursive", "--force", "--checkout",
                 "--remote")  # fmt: skip
        self.got_revision()
        self.assertEqual(await self.run_step(), SUCCESS)

    async def test_clone_with_everything(self):
        self.use_stamps(sourcestamp(revision=SHA2))
        self.setup_step(
            Git(
                repourl=URL,
                submodules=True,
                reference="/ref",
                origin="up",
                filters=["tree:0"],
                config={"core.autocrlf": "false"},
                shallow=True,
            )
        )
        self.start(files=[])
        cfg = ["-c", "core.autocrlf=false"]
        self.git(*cfg, "clone", "--depth", "1", "--reference", "/ref", "--origin", "up",
                 "--filter", "tree:0", URL, ".", "--progress")  # fmt: skip
        self.git(*cfg, "checkout", "-f", SHA2)
        self.git(*cfg, "submodule", "update", "--init", "--recursive", "--depth", "1")
        self.git(*cfg, "rev-parse", "HEAD", stdout=SHA2)
        self.assertEqual(await self.run_step(), SUCCESS)

    async def test_clone_of_a_ref_and_old_git(self):
        self.use_stamps(sourcestamp(branch="refs/pull/1/head"))
        self.setup_step(Git(repourl=URL, filters=["blob:none"]))
        self.start(files=None, version="1.7.0")
        self.git("clone", "--no-checkout", URL, ".")
        self.git("fetch", "-f", URL, "refs/pull/1/head")
        self.git("checkout", "-f", "FETCH_HEAD")
        self.git("checkout", "-B", "refs/pull/1/head")
        self.got_revision()
        self.assertEqual(await self.run_step(), SUCCESS)

    # --- full ------------------------------------------------------------------------

    async def test_full_fresh_is_the_default(self):
        self.setup_step(Git(repourl=URL, mode="full"))
        self.start(files=[".git"])
        self.git("clean", "-f", "-f", "-d", "-x")
        self.git("fetch", "-f", "--progress", URL, "HEAD")
        self.git("checkout", "-f", "FETCH_HEAD")
        self.got_revision()
        self.assertEqual(await self.run_step(), SUCCESS)

    async def test_full_clean_with_submodules(self):
        self.setup_step(Git(repourl=URL, mode="full", method="clean", submodules=True))
        self.start(files=[".git"], version="1.7.5")
        self.git("clean", "-f", "-f", "-d")
        self.git("fetch", "-f", "--progress", URL, "HEAD")
        self.git("checkout", "-f", "FETCH_HEAD")
        self.git("submodule", "sync")
        self.git("submodule", "update", "--init", "--recursive")
        self.git("submodule", "foreach", "--recursive", "git clean -f -f -d")
        self.got_revision()
        self.assertEqual(await self.run_step(), SUCCESS)

    async def test_full_fresh_submodules_clean_ignored_files(self):
        self.setup_step(Git(repourl=URL, mode="full", method="fresh", submodules=True))
        self.start(files=[".git"])
        self.git("clean", "-f", "-f", "-d", "-x")
        self.git("fetch", "-f", "--progress", URL, "HEAD")
        self.git("checkout", "-f", "FETCH_HEAD")
        self.git("submodule", "sync")
        self.git("submodule", "update", "--init", "--recursive", "--force", "--checkout")
        self.git("submodule", "foreach", "--recursive", "git clean -f -f -d -x")
        self.got_revision()
        self.assertEqual(await self.run_step(), SUCCESS)

    async def test_full_fresh_without_checkout_clones(self):
        self.setup_step(Git(repourl=URL, mode="full", method="fresh"))
        self.start(files=None)
        self.git("clone", URL, ".", "--progress")
        self.got_revision()
        self.assertEqual(await self.run_step(), SUCCESS)

    async def test_full_clean_in_a_foreign_directory_clobbers(self):
        self.setup_step(Git(repourl=URL, mode="full", method="clean"))
        self.start(files=["x"])
        self.conn.expect("rmdir", {"dir": "wkdir"})
        self.git("clone", URL, ".", "--progress")
        self.got_revision()
        self.assertEqual(await self.run_step(), SUCCESS)

    async def test_full_clobber(self):
        self.use_stamps(sourcestamp(branch="main", revision=SHA2))
        self.setup_step(Git(repourl=URL, mode="full", method="clobber", progress=False))
        self.version()
        self.not_patched()
        self.conn.expect("rmdir", {"dir": "wkdir", "timeout": 1200})
        self.git("clone", "--branch", "main", URL, ".")
        self.git("checkout", "-f", SHA2)
        self.got_revision(sha=SHA2)
        self.assertEqual(await self.run_step(), SUCCESS)
        row = await self.step_row()
        self.assertEqual(row["state_string"], "update")

    async def test_full_clobber_shallow_failure_ends_the_step(self):
        self.setup_step(Git(repourl=URL, mode="full", method="clobber", shallow=True))
        self.version()
        self.not_patched()
        self.conn.expect("rmdir", {"dir": "wkdir"})
        self.git("clone", "--depth", "1", URL, ".", "--progress", rc=128)
        self.assertEqual(await self.run_step(), FAILURE)

    async def test_full_clobber_clone_failure(self):
        self.setup_step(Git(repourl=URL, mode="full", method="clobber"))
        self.version()
        self.not_patched()
        self.conn.expect("rmdir", {"dir": "wkdir"})
        self.git("clone", URL, ".", "--progress", rc=128)
        self.assertEqual(await self.run_step(), FAILURE)

    async def test_full_clobber_rmdir_failure(self):
        self.setup_step(Git(repourl=URL, mode="full", method="clobber"))
        self.version()
        self.not_patched()
        self.conn.expect("rmdir", {"dir": "wkdir"}, rc=1)
        self.assertEqual(await self.run_step(), FAILURE)

    async def test_full_copy(self):
        self.setup_step(Git(repourl=URL, mode="full", method="copy"))
        self.version()
        self.not_patched()
        self.conn.expect("rmdir", {"dir": "wkdir", "timeout": 1200})
        self.listdir([".git"], workdir="source")
        self.git("fetch", "-f", "--progress", URL, "HEAD", workdir="source")
        self.git("checkout", "-f", "FETCH_HEAD", workdir="source")
        self.conn.expect("cpdir", {"fromdir": "source", "todir": "wkdir", "timeout": 1200})
        self.got_revision()
        self.assertEqual(await self.run_step(), SUCCESS)

    async def test_full_copy_failure(self):
        self.setup_step(Git(repourl=URL, mode="full", method="copy"))
        self.version()
        self.not_patched()
        self.conn.expect("rmdir", {"dir": "wkdir"}, rc=1)
        self.listdir(None, workdir="source")
        self.git("clone", URL, ".", "--progress", workdir="source")
        self.conn.expect("cpdir", {"fromdir": "source", "todir": "wkdir"}, rc=1)
        self.assertEqual(await self.run_step(), FAILURE)
        self.assertEqual(self.step.workdir, "wkdir")

    # --- failures and retries --------------------------------------------------------

    async def test_fetch_failure_fails(self):
        self.setup_step(Git(repourl=URL))
        self.start(files=[".git"])
        self.git("fetch", "-f", "--progress", URL, "HEAD", rc=1)
        self.assertEqual(await self.run_step(), FAILURE)

    async def test_retry_fetch(self):
        self.setup_step(Git(repourl=URL, retryFetch=True))
        self.start(files=[".git"])
        self.git("fetch", "-f", "--progress", URL, "HEAD", rc=1)
        self.git("fetch", "-f", "--progress", URL, "HEAD")
        self.git("checkout", "-f", "FETCH_HEAD")
        self.got_revision()
        self.assertEqual(await self.run_step(), SUCCESS)

    async def test_retry_fetch_checkout_failure_fails(self):
        self.setup_step(Git(repourl=URL, retryFetch=True))
        self.start(files=[".git"])
        self.git("fetch", "-f", "--progress", URL, "HEAD")
        self.git("checkout", "-f", "FETCH_HEAD", rc=1)
        self.git("fetch", "-f", "--progress", URL, "HEAD")
        self.git("checkout", "-f", "FETCH_HEAD", rc=1)
        self.assertEqual(await self.run_step(), FAILURE)

    async def test_clobber_on_fetch_failure(self):
        self.setup_step(Git(repourl=URL, clobberOnFailure=True))
        self.start(files=[".git"])
        self.git("fetch", "-f", "--progress", URL, "HEAD", rc=1)
        self.conn.expect("rmdir", {"dir": "wkdir"})
        self.git("clone", URL, ".", "--progress")
        self.got_revision()
        self.assertEqual(await self.run_step(), SUCCESS)

    async def test_clobber_on_clone_failure(self):
        self.use_stamps(sourcestamp(revision=SHA2))
        self.setup_step(Git(repourl=URL, clobberOnFailure=True))
        self.start(files=None)
        self.git("clone", URL, ".", "--progress")
        self.git("checkout", "-f", SHA2, rc=1)
        self.conn.expect("rmdir", {"dir": "wkdir"})
        self.git("clone", URL, ".", "--progress")
        self.git("checkout", "-f", SHA2)
        self.got_revision()
        self.assertEqual(await self.run_step(), SUCCESS)

    async def test_clone_failure_without_fallback(self):
        self.setup_step(Git(repourl=URL))
        self.start(files=None)
        self.git("clone", URL, ".", "--progress", rc=128)
        self.assertEqual(await self.run_step(), FAILURE)

    async def test_clone_retry(self):
        self.setup_step(Git(repourl=URL, retry=(30, 2)))
        self.start(files=None)
        self.git("clone", URL, ".", "--progress", rc=128)
        self.conn.expect("rmdir", {"dir": "wkdir"})
        self.git("clone", URL, ".", "--progress", rc=128)
        self.conn.expect("rmdir", {"dir": "wkdir"})
        self.git("clone", URL, ".", "--progress")
        self.got_revision()
        start = self.reactor.seconds()
        self.assertEqual(await self.run_step(advance=5), SUCCESS)
        self.assertGreaterEqual(self.reactor.seconds() - start, 60)

    async def test_clone_retries_exhausted(self):
        self.setup_step(Git(repourl=URL, retry=(1, 1), mode="full", method="clobber"))
        self.version()
        self.not_patched()
        self.conn.expect("rmdir", {"dir": "wkdir"})
        self.git("clone", URL, ".", "--progress", rc=128)
        self.conn.expect("rmdir", {"dir": "wkdir"})
        self.git("clone", URL, ".", "--progress", rc=128)
        self.assertEqual(await self.run_step(), FAILURE)

    async def test_bad_revision_output(self):
        self.setup_step(Git(repourl=URL))
        self.start(files=None)
        self.git("clone", URL, ".", "--progress")
        self.git("rev-parse", "HEAD", stdout="not a sha\n")
        self.assertEqual(await self.run_step(), FAILURE)

    async def test_no_git_on_worker(self):
        self.setup_step(Git(repourl=URL))
        self.git("--version", rc=127)
        self.assertEqual(await self.run_step(), EXCEPTION)
        self.assertIn("git is not installed", await self.log_text("err.text"))
        self.flushLoggedErrors()

    async def test_unparseable_version(self):
        self.setup_step(Git(repourl=URL))
        self.git("--version", stdout="what?\n")
        self.assertEqual(await self.run_step(), EXCEPTION)
        self.flushLoggedErrors()

    # --- patches, properties, description --------------------------------------------

    async def test_patched_tree_is_cleaned_and_patch_applied(self):
        self.use_stamps(sourcestamp(patch=(1, b"diff body", None)))
        self.setup_step(Git(repourl=URL))
        self.version()
        self.conn.expect("stat", {"file": "wkdir/.buildbot-patched"})
        self.git("clean", "-f", "-f", "-d", "-x")
        self.listdir([".git"])
        self.git("fetch", "-f", "--progress", URL, "HEAD")
        self.git("checkout", "-f", "FETCH_HEAD")
        self.conn.expect("downloadFile", {"workerdest": ".buildbot-diff"})
        self.conn.expect("downloadFile", {"workerdest": ".buildbot-patched"})
        self.git("update-index", "-q", "--refresh")
        self.git("apply", "--index", "-p1", ".buildbot-diff")
        self.conn.expect("rmfile", {"path": "wkdir/.buildbot-diff"})
        self.got_revision()
        self.assertEqual(await self.run_step(), SUCCESS)
        self.assertEqual(await self.log_text("patch"), "diff body\n")

    async def test_patch_that_does_not_apply(self):
        self.use_stamps(sourcestamp(patch=(0, "bad", None)))
        self.setup_step(Git(repourl=URL))
        self.start(files=None)
        self.git("clone", URL, ".", "--progress")
        self.conn.expect("downloadFile", {"workerdest": ".buildbot-diff"})
        self.conn.expect("downloadFile", {"workerdest": ".buildbot-patched"})
        self.git("update-index", "-q", "--refresh", rc=1)
        self.git("apply", "--index", "-p0", ".buildbot-diff", rc=1)
        self.assertEqual(await self.run_step(), FAILURE)

    async def test_codebase_and_description(self):
        self.use_stamps(sourcestamp(codebase="lib", changes=[{"revision": SHA2}]))
        self.setup_step(
            Git(repourl=URL, codebase="lib", getDescription={"tags": True, "match": "v*"})
        )
        self.start(files=[".git"])
        self.git("cat-file", "-e", SHA2)
        self.git("checkout", "-f", SHA2)
        self.got_revision(sha=SHA2)
        self.git("describe", "--tags", "--match", "v*", "HEAD", stdout="v1.0-3-gabc\n")
        self.assertEqual(await self.run_step(), SUCCESS)
        props = self.build.properties
        self.assertEqual(props.getProperty("got_revision"), {"lib": SHA2})
        self.assertEqual(props.getProperty("revision"), {"lib": SHA2})
        self.assertEqual(props.getProperty("commit-description"), {"lib": "v1.0-3-gabc"})
        self.assertEqual((await self.step_row())["name"], "git-lib")

    async def test_description_failure_is_ignored(self):
        self.setup_step(Git(repourl=URL, getDescription=True))
        self.start(files=None)
        self.git("clone", URL, ".", "--progress")
        self.got_revision()
        self.git("describe", "HEAD", rc=128)
        self.assertEqual(await self.run_step(), SUCCESS)
        self.assertFalse(self.build.hasProperty("commit-description"))

    async def test_renderables(self):
        self.build.setProperty("url", URL, "test")
        self.setup_step(Git(repourl=Property("url"), mode=Property("m", default="full"),
                            workdir=Property("wd", default="src")))  # fmt: skip
        self.version(workdir="src")
        self.not_patched(workdir="src")
        self.listdir([".git"], workdir="src")
        self.git("clean", "-f", "-f", "-d", "-x", workdir="src")
        self.git("fetch", "-f", "--progress", URL, "HEAD", workdir="src")
        self.git("checkout", "-f", "FETCH_HEAD", workdir="src")
        self.got_revision(workdir="src")
        self.assertEqual(await self.run_step(), SUCCESS)

    # --- ssh keys and credentials ------------------------------------------------------

    def expect_key_files(self, known_hosts: str | None, wrapper: bool = False) -> dict:
        got: dict[str, Any] = {}

        def keep(args: dict[str, Any]) -> None:
            got[args["workerdest"]] = (args["reader"].fp.getvalue(), args["mode"])

        self.conn.expect("mkdir", {"dir": AUTH})
        self.conn.expect("downloadFile", {"workerdest": f"{AUTH}/ssh-key"}, action=keep)
        if known_hosts is not None:
            self.conn.expect("downloadFile", {"workerdest": f"{AUTH}/ssh-known-hosts"}, action=keep)
        if wrapper:
            self.conn.expect("downloadFile", {"workerdest": f"{AUTH}/ssh-wrapper.sh"}, action=keep)
        return got

    async def test_ssh_key_with_host_key(self):
        self.build.setProperty("builddir", BUILDDIR, "Worker")
        self.setup_step(
            Git(repourl="git@host:repo.git", sshPrivateKey="KEY", sshHostKey="ssh-rsa AAA")
        )
        self.version()
        self.not_patched()
        got = self.expect_key_files(known_hosts="x")
        self.listdir(None)
        ssh = (
            f'ssh -o BatchMode=yes -i "{AUTH}/ssh-key" '
            f'-o "UserKnownHostsFile={AUTH}/ssh-known-hosts"'
        )
        self.git("-c", f"core.sshCommand={ssh}", "clone", "git@host:repo.git", ".", "--progress")
        self.got_revision()
        self.conn.expect("rmdir", {"dir": AUTH})
        self.assertEqual(await self.run_step(), SUCCESS)
        self.assertEqual(
            got,
            {
                f"{AUTH}/ssh-key": (b"KEY\n", 0o400),
                f"{AUTH}/ssh-known-hosts": (b"* ssh-rsa AAA\n", 0o400),
            },
        )

    async def test_ssh_key_removed_after_failure_old_git_env(self):
        self.build.setProperty("builddir", BUILDDIR, "Worker")
        self.setup_step(Git(repourl="git@host:r", sshPrivateKey="KEY\n", sshKnownHosts="h k\n"))
        self.version("2.5.0")
        self.not_patched()
        got = self.expect_key_files(known_hosts="x")
        self.listdir([".git"])
        ssh = gitutil.ssh_command(f"{AUTH}/ssh-key", f"{AUTH}/ssh-known-hosts")
        self.git("fetch", "-f", "--progress", "git@host:r", "HEAD", rc=128,
                 extra={"env": {"GIT_SSH_COMMAND": ssh}})  # fmt: skip
        self.conn.expect("rmdir", {"dir": AUTH})
        self.assertEqual(await self.run_step(), FAILURE)
        self.assertEqual(got[f"{AUTH}/ssh-known-hosts"], (b"h k\n", 0o400))

    async def test_ssh_key_very_old_git_uses_a_wrapper(self):
        self.build.setProperty("builddir", BUILDDIR, "Worker")
        self.setup_step(Git(repourl="git@host:r", sshPrivateKey="KEY"))
        self.version("2.1.0")
        self.not_patched()
        got = self.expect_key_files(known_hosts=None, wrapper=True)
        self.listdir([".git"])
        self.git("fetch", "-f", "--progress", "git@host:r", "HEAD",
                 extra={"env": {"GIT_SSH": f"{AUTH}/ssh-wrapper.sh"}})  # fmt: skip
        self.git("checkout", "-f", "FETCH_HEAD", extra={"env": {}})
        self.got_revision()
        self.conn.expect("rmdir", {"dir": AUTH})
        self.assertEqual(await self.run_step(), SUCCESS)
        script, mode = got[f"{AUTH}/ssh-wrapper.sh"]
        self.assertEqual(mode, 0o700)
        self.assertIn(f'-i "{AUTH}/ssh-key"', script.decode())
        self.assertTrue(script.decode().rstrip().endswith('"$@"'))

    async def test_ssh_key_without_builddir_is_relative(self):
        self.setup_step(Git(repourl="git@host:r", sshPrivateKey="KEY", workdir="a/src"))
        self.version(workdir="a/src")
        self.not_patched(workdir="a/src")
        self.conn.expect("mkdir", {"dir": "a/.src.buildbot"})
        self.conn.expect("downloadFile", {"workerdest": "a/.src.buildbot/ssh-key", "workdir": "."})
        self.listdir(None, workdir="a/src")
        self.git("-c", 'core.sshCommand=ssh -o BatchMode=yes -i "a/.src.buildbot/ssh-key"',
                 "clone", "git@host:r", ".", "--progress", workdir="a/src")  # fmt: skip
        self.got_revision(workdir="a/src")
        self.conn.expect("rmdir", {"dir": "a/.src.buildbot"})
        self.assertEqual(await self.run_step(), SUCCESS)

    async def test_ssh_key_absolute_workdir(self):
        self.setup_step(Git(repourl="git@host:r", sshPrivateKey="KEY", workdir="/abs/src/"))
        self.version(workdir="/abs/src/")
        self.conn.expect("stat", {"file": "/abs/src/.buildbot-patched"}, rc=2)
        self.conn.expect("mkdir", {"dir": "/abs/.src.buildbot"})
        self.conn.expect("downloadFile", {"workerdest": "/abs/.src.buildbot/ssh-key"})
        self.listdir(None, workdir="/abs/src/")
        self.git("-c", 'core.sshCommand=ssh -o BatchMode=yes -i "/abs/.src.buildbot/ssh-key"',
                 "clone", "git@host:r", ".", "--progress", workdir="/abs/src/")  # fmt: skip
        self.got_revision(workdir="/abs/src/")
        self.conn.expect("rmdir", {"dir": "/abs/.src.buildbot"})
        self.assertEqual(await self.run_step(), SUCCESS)

    async def test_auth_credentials(self):
        self.build.setProperty("builddir", BUILDDIR, "Worker")
        self.setup_step(Git(repourl=URL, auth_credentials=("user", "s3cret")))
        self.version()
        self.not_patched()
        self.conn.expect("mkdir", {"dir": AUTH})
        store = gitutil.credential_store_args(f"{AUTH}/git-credentials")
        stdin = f"url={URL}\nusername=user\npassword=s3cret\n\n"
        self.git(*store, "credential", "approve", extra={"initial_stdin": stdin})
        self.listdir(None)
        self.git(*store, "clone", URL, ".", "--progress")
        self.got_revision()
        self.conn.expect("rmdir", {"dir": AUTH})
        self.assertEqual(await self.run_step(), SUCCESS)
        # the password went through stdin only
        commands = [args["command"] for name, args in self.conn.started if name == "shell"]
        self.assertFalse(any("s3cret" in " ".join(c) for c in commands))

    async def test_git_credentials(self):
        self.build.setProperty("builddir", BUILDDIR, "Worker")
        creds = gitutil.GitCredentialOptions(
            credentials=["url=https://a\nusername=u\npassword=p"], use_http_path=True
        )
        self.setup_step(Git(repourl=URL, git_credentials=creds))
        self.version()
        self.not_patched()
        self.conn.expect("mkdir", {"dir": AUTH})
        store = gitutil.credential_store_args(f"{AUTH}/git-credentials")
        self.git(*store, "credential", "approve",
                 extra={"initial_stdin": "url=https://a\nusername=u\npassword=p\n\n"})  # fmt: skip
        self.listdir([".git"])
        with_path = gitutil.credential_store_args(f"{AUTH}/git-credentials", True)
        self.git(*with_path, "fetch", "-f", "--progress", URL, "HEAD")
        self.git("checkout", "-f", "FETCH_HEAD")
        self.got_revision()
        self.conn.expect("rmdir", {"dir": AUTH})
        self.assertEqual(await self.run_step(), SUCCESS)

    # --- configuration -----------------------------------------------------------------

    def test_config_errors(self):
        for kwargs, message in (
            ({}, "must provide repourl"),
            ({"repourl": URL, "mode": "update"}, "mode must be 'incremental' or 'full'"),
            ({"repourl": URL, "mode": "full", "method": "wipe"}, "invalid method"),
            (
                {"repourl": URL, "mode": "full", "method": "fresh", "shallow": True},
                "shallow only possible with method 'clobber'",
            ),  # fmt: skip
            ({"repourl": URL, "method": "clobber", "shallow": 2}, "shallow only possible"),
            ({"repourl": URL, "shallow": -1}, "shallow must be a bool or a depth"),
            ({"repourl": URL, "getDescription": "yes"}, "getDescription must be"),
            ({"repourl": URL, "filters": "tree:0"}, "filters must be a list"),
            ({"repourl": URL, "submodules": "yes"}, "submodules must be a bool"),
            ({"repourl": URL, "sshHostKey": "k"}, "sshPrivateKey must be provided"),
            ({"repourl": URL, "sshKnownHosts": "k"}, "sshPrivateKey must be provided"),
            (
                {"repourl": URL, "sshPrivateKey": "p", "sshHostKey": "k", "sshKnownHosts": "h"},
                "only one of sshKnownHosts and sshHostKey",
            ),  # fmt: skip
            ({"repourl": URL, "auth_credentials": ("u",)}, "(username, password) pair"),
            (
                {
                    "repourl": URL,
                    "auth_credentials": ("u", "p"),
                    "git_credentials": gitutil.GitCredentialOptions(),
                },
                "only one of auth_credentials",
            ),  # fmt: skip
            ({"repourl": URL, "config": ["a=b"]}, "config must be a dict"),
        ):
            with self.assertRaises(config.ConfigErrors, msg=repr(kwargs)) as e:
                Git(**kwargs)
            self.assertIn(message, str(e.exception))
        # valid combinations
        Git(repourl=URL, mode="full", method="clobber", shallow=5)
        Git(repourl=URL, mode="full", shallow=True)
        Git(repourl=URL, shallow=True)
        Git(repourl=URL, mode=Property("m"), method=Property("x"), shallow=True)


class GitPushTagCommitTests(GitTestMixin, unittest.TestCase):
    async def test_push(self):
        self.setup_step(GitPush(workdir="wkdir", repourl=URL, branch="main"))
        self.version()
        self.git("push", URL, "main")
        self.assertEqual(await self.run_step(), SUCCESS)
        self.assertEqual((await self.step_row())["name"], "gitpush")

    async def test_push_force_failure(self):
        self.setup_step(GitPush(workdir="wkdir", repourl=URL, branch="main", force=True))
        self.version()
        self.git("push", URL, "main", "--force", rc=1)
        self.assertEqual(await self.run_step(), FAILURE)

    async def test_push_with_ssh_key(self):
        self.build.setProperty("builddir", BUILDDIR, "Worker")
        self.setup_step(GitPush(workdir="wkdir", repourl="git@h:r", branch="b", sshPrivateKey="K",
                                config={"user.name": "bb"}))  # fmt: skip
        self.version()
        self.conn.expect("mkdir", {"dir": AUTH})
        self.conn.expect("downloadFile", {"workerdest": f"{AUTH}/ssh-key", "mode": 0o400})
        ssh = f'ssh -o BatchMode=yes -i "{AUTH}/ssh-key"'
        self.git("-c", "user.name=bb", "-c", f"core.sshCommand={ssh}", "push", "git@h:r", "b")
        self.conn.expect("rmdir", {"dir": AUTH})
        self.assertEqual(await self.run_step(), SUCCESS)

    async def test_tag(self):
        self.setup_step(GitTag(workdir="wkdir", tagName="v1"))
        self.version()
        self.git("tag", "--", "v1")
        self.assertEqual(await self.run_step(), SUCCESS)

    async def test_annotated_tag_forced(self):
        self.setup_step(GitTag(workdir="wkdir", tagName="v1", annotated=True,
                               messages=["one", "two"], force=True))  # fmt: skip
        self.version()
        self.git("tag", "-a", "-m", "one", "-m", "two", "--force", "--", "v1", rc=128)
        self.assertEqual(await self.run_step(), FAILURE)

    async def test_commit(self):
        self.setup_step(GitCommit(workdir="wkdir", messages=["msg", "body"], paths=["a", "b"]))
        self.version()
        self.git("symbolic-ref", "HEAD", stdout="refs/heads/main\n")
        self.git("add", "--", "a", "b")
        self.git("commit", "-m", "msg", "-m", "body")
        self.assertEqual(await self.run_step(), SUCCESS)

    async def test_commit_detached_head(self):
        self.setup_step(GitCommit(workdir="wkdir", messages=["m"], paths=["."]))
        self.version()
        self.git("symbolic-ref", "HEAD", rc=128)
        self.assertEqual(await self.run_step(), FAILURE)
        self.assertIn("detached HEAD", await self.log_text("stdio"))

    async def test_commit_empty_allowed_no_verify(self):
        self.setup_step(GitCommit(workdir="wkdir", messages=["m"], paths=["."],
                                  emptyCommits="create-empty-commit", no_verify=True))  # fmt: skip
        self.version()
        self.git("symbolic-ref", "HEAD")
        self.git("add", "--", ".")
        self.git("commit", "-m", "m", "--allow-empty", "--no-verify", rc=1)
        self.assertEqual(await self.run_step(), FAILURE)

    async def test_commit_ignore_when_nothing_staged(self):
        self.setup_step(GitCommit(workdir="wkdir", messages=["m"], paths=["."],
                                  emptyCommits="ignore"))  # fmt: skip
        self.version()
        self.git("symbolic-ref", "HEAD")
        self.git("add", "--", ".")
        self.git("status", "--porcelain=v1", stdout=" M unstaged\n?? new\n")
        self.assertEqual(await self.run_step(), SUCCESS)
        self.assertIn("Nothing to commit", await self.log_text("stdio"))

    async def test_commit_ignore_with_staged_changes(self):
        self.setup_step(GitCommit(workdir="wkdir", messages=["m"], paths=["."],
                                  emptyCommits="ignore"))  # fmt: skip
        self.version()
        self.git("symbolic-ref", "HEAD")
        self.git("add", "--", ".")
        self.git("status", "--porcelain=v1", stdout="A  new\n")
        self.git("commit", "-m", "m")
        self.assertEqual(await self.run_step(), SUCCESS)

    def test_config_errors(self):
        for factory, kwargs, message in (
            (GitPush, {"repourl": URL, "branch": "b"}, "workdir must be specified"),
            (GitPush, {"workdir": "w", "repourl": URL}, "must provide branch"),
            (GitPush, {"workdir": "w", "branch": "b"}, "must provide repourl"),
            (
                GitPush,
                {"workdir": "w", "repourl": URL, "branch": "b", "sshHostKey": "k"},
                "sshPrivateKey must be provided",
            ),  # fmt: skip
            (GitTag, {"workdir": "w"}, "tagName must be specified"),
            (
                GitTag,
                {"workdir": "w", "tagName": "t", "messages": "m", "annotated": True},
                "messages must be a list",
            ),  # fmt: skip
            (GitTag, {"workdir": "w", "tagName": "t", "annotated": True}, "need messages"),
            (
                GitTag,
                {"workdir": "w", "tagName": "t", "messages": ["m"]},
                "only used with annotated",
            ),
            (GitCommit, {"workdir": "w", "paths": ["."]}, "messages must be a non-empty list"),
            (GitCommit, {"workdir": "w", "messages": ["m"]}, "paths must be a non-empty list"),
            (
                GitCommit,
                {"workdir": "w", "messages": ["m"], "paths": ["."], "emptyCommits": "no"},
                "emptyCommits must be one of",
            ),  # fmt: skip
            (
                GitCommit,
                {"workdir": "w", "messages": ["m"], "paths": ["."], "config": "x"},
                "config must be a dict",
            ),  # fmt: skip
        ):
            with self.assertRaises(config.ConfigErrors, msg=repr(kwargs)) as e:
                factory(**kwargs)
            self.assertIn(message, str(e.exception))
        # positional arguments follow the documented order
        self.assertEqual(GitCommit("w", ["m"], ["p"]).paths, ["p"])
        self.assertEqual(GitPush("w", URL, "b").branch, "b")
        self.assertEqual(GitTag("w", "t").tagName, "t")


class GitUtilTests(unittest.TestCase):
    def test_parse_git_version(self):
        self.assertEqual(gitutil.parse_git_version("git version 2.39.2\n"), (2, 39, 2))
        self.assertEqual(gitutil.parse_git_version("git version 2.45.1.windows.1"), (2, 45, 1))
        self.assertEqual(
            gitutil.parse_git_version("git version 2.39.3 (Apple Git-145)"), (2, 39, 3)
        )
        self.assertRaises(ValueError, gitutil.parse_git_version, "bash: git: not found")

    def test_features(self):
        old = gitutil.GitFeatures((1, 6, 0))
        new = gitutil.GitFeatures((2, 39))
        for name in ("progress", "clone_branch", "ssh_command_env", "ssh_command_config",
                     "submodule_force", "submodule_checkout", "filters"):  # fmt: skip
            self.assertFalse(getattr(old, name), name)
            self.assertTrue(getattr(new, name), name)

    def test_ssh(self):
        self.assertEqual(gitutil.ssh_command("/k"), 'ssh -o BatchMode=yes -i "/k"')
        self.assertEqual(
            gitutil.ssh_command('/a b/$k"', "/h"),
            'ssh -o BatchMode=yes -i "/a b/\\$k\\"" -o "UserKnownHostsFile=/h"',
        )
        self.assertEqual(gitutil.known_hosts_contents("ssh-rsa AAA\n"), "* ssh-rsa AAA\n")
        new, mid, old = (gitutil.GitFeatures(v) for v in ((2, 10), (2, 3), (2, 2)))
        self.assertEqual(gitutil.ssh_config_args(mid, "/k"), [])
        self.assertEqual(gitutil.ssh_env(new, "/k"), {})
        self.assertEqual(gitutil.ssh_env(mid, "/k"), {"GIT_SSH_COMMAND": gitutil.ssh_command("/k")})
        self.assertEqual(gitutil.ssh_env(old, "/k", wrapper_path="/w"), {"GIT_SSH": "/w"})
        self.assertRaises(ValueError, gitutil.ssh_env, old, "/k")

    def test_credential_store_args(self):
        self.assertEqual(
            gitutil.credential_store_args("/s", False)[-2:], ["-c", "credential.useHttpPath=false"]
        )

    def test_helpers(self):
        self.assertTrue(gitutil.is_sha(SHA))
        self.assertFalse(gitutil.is_sha("abc"))
        self.assertEqual(
            gitutil.parse_ls_remote(
                f"{SHA}\tHEAD\n{SHA2}\trefs/tags/v1\n{SHA}\trefs/tags/v1^{{}}\nbad\n"
            ),
            {"HEAD": SHA, "refs/tags/v1": SHA},
        )
        self.assertEqual(gitutil.ref_for_branch("main"), "refs/heads/main")
        self.assertEqual(gitutil.ref_for_branch("HEAD"), "HEAD")
        self.assertEqual(gitutil.ref_for_branch("refs/tags/x"), "refs/tags/x")

    def test_describe_args(self):
        self.assertIsNone(gitutil.describe_args(False))
        self.assertEqual(gitutil.describe_args(True), ["describe", "HEAD"])
        self.assertEqual(gitutil.describe_args({}), ["describe", "HEAD"])
        self.assertEqual(
            gitutil.describe_args(
                {
                    "abbrev": 7,
                    "tags": True,
                    "all": None,
                    "match": ["v*", "r*"],
                    "dirty": "-d",
                    "zz": "1",
                    "long": False,
                }  # fmt: skip
            ),
            [
                "describe",
                "--tags",
                "--dirty=-d",
                "--match",
                "v*",
                "--match",
                "r*",
                "--abbrev=7",
                "--zz=1",
                "HEAD",
            ],  # fmt: skip
        )
