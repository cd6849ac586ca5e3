"""The Git steps end to end: a real master from a master.cfg, a real worker program and
a real bare repository on disk (file:// URL) made with the git binary.

Builds are submitted as buildsets (so that each can name its branch, revision and
patch) and checked through `master.data` (results, `got_revision`, logs) and, for
GitCommit/GitTag/GitPush, by asking git about the bare repository afterwards.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from twisted.internet import utils
from twisted.trial import unittest

from buildbot.process.results import SUCCESS
from buildbot.test.integration.test_worker_interop import _installed_worker
from buildbot.test.util.e2emaster import RealMasterMixin, our_worker_bin

GIT = shutil.which("git") or "git"
IDENTITY = {
    "GIT_AUTHOR_NAME": "tester",
    "GIT_AUTHOR_EMAIL": "tester@example.org",
    "GIT_COMMITTER_NAME": "tester",
    "GIT_COMMITTER_EMAIL": "tester@example.org",
}

MASTER_CFG = """\
from buildbot.plugins import schedulers, steps, util, worker

URL = {url!r}
IDENTITY = {{'user.name': 'bb', 'user.email': 'bb@example.org'}}

c = BuildmasterConfig = {{}}
c['db'] = {{'db_url': 'sqlite:///state.sqlite'}}
c['protocols'] = {{'pb': {{'port': 'tcp:{port}:interface=127.0.0.1'}}}}
c['workers'] = [worker.Worker('w1', 'w1-secret')]
c['buildbotURL'] = 'http://localhost:8010/'

def checkout(**kw):
    # the tree as the Git step left it, then dirt for the next build to face
    return [
        steps.Git(repourl=URL, **kw),
        steps.ShellCommand(name='tree', command='ls -A | sort; cat a.txt'),
        steps.ShellCommand(name='dirt', command='touch junk.o untracked.txt'),
    ]

builders = {{
    'incremental': checkout(mode='incremental', branch='main'),
    'clean': checkout(mode='full', method='clean', branch='main'),
    'fresh': checkout(mode='full', method='fresh', branch='main'),
    'clobber': checkout(mode='full', method='clobber', branch='main', shallow=True),
    'copy': checkout(mode='full', method='copy', branch='main'),
    'described': [steps.Git(repourl=URL, mode='full', codebase='lib',
                            getDescription={{'tags': True, 'always': True}})],
    'pusher': [
        steps.Git(repourl=URL, mode='full', method='clobber', branch='main'),
        steps.ShellCommand(name='write', command='echo pushed > pushed.txt'),
        steps.GitCommit(workdir='build', messages=['from buildbot', 'second paragraph'],
                        paths=['pushed.txt'], config=IDENTITY),
        steps.GitCommit(name='nothing', workdir='build', messages=['empty'],
                        paths=['pushed.txt'], emptyCommits='ignore', config=IDENTITY),
        steps.GitTag(workdir='build', tagName='bb-tag', annotated=True,
                     messages=['tagged by buildbot'], config=IDENTITY),
        steps.GitPush(workdir='build', repourl=URL, branch='main'),
        steps.GitPush(name='pushtag', workdir='build', repourl=URL, branch='bb-tag'),
    ],
}}
c['builders'] = [
    util.BuilderConfig(name=name, workernames=['w1'], factory=util.BuildFactory(s))
    for name, s in builders.items()
]
c['schedulers'] = [schedulers.ForceScheduler(name='force', builderNames=list(builders))]
"""

PATCH = b"""\
--- a/a.txt
+++ b/a.txt
@@ -1 +1 @@
-two
+patched
"""


class GitStepE2EMixin(RealMasterMixin):
    def master_cfg(self) -> str:
        return MASTER_CFG.format(url=self.url, port=self.port)

    async def setUp(self) -> None:
        base = os.path.abspath(self.mktemp())  # type: ignore[attr-defined]
        os.makedirs(base)
        self.upstream = os.path.join(base, "upstream.git")
        self.url = "file://" + self.upstream
        await self.make_repository(base)
        await super().setUp()

    async def git(self, *args: str, cwd: str | None = None) -> str:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/"), **IDENTITY}
        out, err, code = await utils.getProcessOutputAndValue(GIT, args, env=env, path=cwd)
        if code != 0:
            self.fail(f"git {' '.join(args)} failed ({code}): {err.decode()}")  # type: ignore[attr-defined]
        return out.decode().strip()

    async def make_repository(self, base: str) -> None:
        """main: 'one' (tagged v1), then 'two'; dev: a third commit adding dev.txt."""
        seed = os.path.join(base, "seed")
        await self.git("init", "-q", "--bare", self.upstream)
        await self.git("init", "-q", "-b", "main", seed)
        with open(os.path.join(seed, ".gitignore"), "w") as f:
            f.write("*.o\n")
        await self.write_commit(seed, "one")
        await self.git("tag", "-a", "v1", "-m", "release one", cwd=seed)
        await self.write_commit(seed, "two")
        await self.git("checkout", "-q", "-b", "dev", cwd=seed)
        with open(os.path.join(seed, "dev.txt"), "w") as f:
            f.write("dev\n")
        await self.git("add", "dev.txt", cwd=seed)
        await self.git("commit", "-q", "-m", "dev work", cwd=seed)
        await self.git("push", "-q", self.upstream, "main", "dev", "v1", cwd=seed)
        await self.git("symbolic-ref", "HEAD", "refs/heads/main", cwd=self.upstream)

    async def write_commit(self, repo: str, content: str) -> None:
        with open(os.path.join(repo, "a.txt"), "w") as f:
            f.write(content + "\n")
        await self.git("add", "-A", cwd=repo)
        await self.git("commit", "-q", "-m", f"commit {content}", cwd=repo)

    async def rev(self, ref: str) -> str:
        return await self.git("rev-parse", f"{ref}^{{commit}}", cwd=self.upstream)

    # ---- builds --------------------------------------------------------------------

    async def build(self, builder: str, **sourcestamp: Any) -> dict[str, Any]:
        builders = await self.master.data.get(("builders",))
        (builderid,) = [b["builderid"] for b in builders if b["name"] == builder]
        ss = {"repository": self.url, "project": "", "codebase": "", "branch": None}
        ss.update(sourcestamp)
        _, brids = await self.master.data.updates.addBuildset(
            waited_for=False,
            scheduler="force",
            sourcestamps=[ss],
            reason="e2e",
            builderids=[builderid],
        )
        (brid,) = brids.values()
        await self.finished_request(brid, limit=120)
        (build,) = await self.builds_of(brid)
        return build

    async def check_build(self, build: dict[str, Any], expected_rev: str) -> dict[str, Any]:
        steps = await self.steps(build)
        failed = {n: s["results"] for n, s in steps.items() if s["results"] != SUCCESS}
        if failed:
            logs = {n: await self.log_text(s) for n, s in steps.items() if n in failed}
            self.fail(f"steps failed: {failed}\n{logs}")  # type: ignore[attr-defined]
        self.assertEqual(build["results"], SUCCESS)  # type: ignore[attr-defined]
        props = await self.props(build)
        self.assertEqual(props["got_revision"], expected_rev)  # type: ignore[attr-defined]
        return steps

    async def tree(self, build: dict[str, Any]) -> list[str]:
        text = await self.log_text((await self.steps(build))["tree"])
        return [line[1:] for line in text.splitlines() if line.startswith("o")]

    # ---- the tests -------------------------------------------------------------------

    async def test_modes_and_methods(self) -> None:
        head = await self.rev("main")
        tracked = [".git", ".gitignore", "a.txt"]
        # what the second build of each builder finds after the first one's dirt
        survivors = {
            "incremental": ["junk.o", "untracked.txt"],
            "clean": ["junk.o"],
            "fresh": [],
            "clobber": [],
            "copy": [],
        }
        for builder, left in survivors.items():
            first = await self.build(builder)
            await self.check_build(first, head)
            self.assertEqual(await self.tree(first), [*tracked, "two"])
            second = await self.build(builder)
            await self.check_build(second, head)
            self.assertEqual(await self.tree(second), sorted([*tracked, *left]) + ["two"], builder)
        shallow = os.path.join(self.worker_dir, "clobber", "build", ".git", "shallow")
        self.assertTrue(os.path.exists(shallow), "clobber with shallow=True makes a shallow clone")
        self.assertTrue(os.path.isdir(os.path.join(self.worker_dir, "copy", "source", ".git")))

    async def test_branch_tag_revision_and_patch(self) -> None:
        # another branch
        build = await self.build("incremental", branch="dev")
        await self.check_build(build, await self.rev("dev"))
        self.assertIn("dev.txt", await self.tree(build))
        # a tag, and an older revision
        build = await self.build("fresh", branch="v1")
        await self.check_build(build, await self.rev("v1"))
        self.assertIn("one", await self.tree(build))
        one = await self.rev("v1")
        build = await self.build("clean", branch="main", revision=one)
        await self.check_build(build, one)
        self.assertIn("one", await self.tree(build))
        # a patch on top of the head of main
        head = await self.rev("main")
        build = await self.build("incremental", branch="main", patch_body=PATCH, patch_level=1)
        steps = await self.check_build(build, head)
        self.assertIn("patched", await self.tree(build))
        self.assertIn("+patched", await self.log_text(steps["git"], "patch"))
        # the next build undoes the patch
        build = await self.build("incremental", branch="main")
        await self.check_build(build, head)
        tree = await self.tree(build)
        self.assertIn("two", tree)
        self.assertNotIn(".buildbot-patched", tree)
        self.assertNotIn(".buildbot-diff", tree)
        # getDescription with a codebase
        build = await self.build("described", codebase="lib")
        props = await self.props(build)
        self.assertEqual(build["results"], SUCCESS)
        self.assertEqual(props["got_revision"], {"lib": head})
        self.assertEqual(props["commit-description"], {"lib": "v1-1-g" + head[:7]})
        self.assertEqual(list(await self.steps(build)), ["worker_preparation", "git-lib"])

    async def test_commit_tag_push(self) -> None:
        before = await self.rev("main")
        build = await self.build("pusher", branch="main")
        steps = await self.check_build(build, before)
        self.assertIn("Nothing to commit", await self.log_text(steps["nothing"]))
        after = await self.rev("main")
        self.assertNotEqual(after, before)
        self.assertEqual(await self.git("rev-parse", "main^", cwd=self.upstream), before)
        message = await self.git("log", "-1", "--format=%B", "main", cwd=self.upstream)
        self.assertEqual(message, "from buildbot\n\nsecond paragraph")
        author = await self.git("log", "-1", "--format=%an <%ae>", "main", cwd=self.upstream)
        self.assertEqual(author, "bb <bb@example.org>")
        self.assertEqual(await self.git("show", "main:pushed.txt", cwd=self.upstream), "pushed")
        self.assertEqual(await self.git("cat-file", "-t", "bb-tag", cwd=self.upstream), "tag")
        self.assertEqual(await self.rev("bb-tag"), after)
        tag_message = await self.git(
            "tag", "-l", "--format=%(contents)", "bb-tag", cwd=self.upstream
        )
        self.assertEqual(tag_message, "tagged by buildbot")


class TestOurWorker(GitStepE2EMixin, unittest.TestCase):
    def worker_bin(self) -> str:
        return our_worker_bin()


class TestBuildbot43Worker(GitStepE2EMixin, unittest.TestCase):
    """The real buildbot-worker 4.3.0."""

    def worker_bin(self) -> str:
        return _installed_worker("BUILDBOT43_VENV", "the real buildbot-worker 4.3.0")
