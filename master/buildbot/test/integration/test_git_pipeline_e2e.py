"""From a commit to a build with nobody pressing a button: a real bare repository (file://)
watched by `GitPoller`, changes scheduled by `SingleBranchScheduler` / `AnyBranchScheduler`
once their tree-stable timer expires, and built by a real worker with `steps.Git`.
"""

from __future__ import annotations

import os
from typing import Any

from twisted.internet import reactor, task
from twisted.trial import unittest

from buildbot.process.results import SUCCESS
from buildbot.test.integration.test_worker_interop import _installed_worker
from buildbot.test.util import processes
from buildbot.test.util.e2emaster import RealMasterMixin, our_worker_bin

#: seconds without a new change before the `main` scheduler builds; long enough that a
#: restart of the master fits inside it
STABLE = 4

MASTER_CFG = """\
from buildbot.plugins import changes, schedulers, steps, util, worker

REPO = {repo!r}
c = BuildmasterConfig = {{}}
c['db'] = {{'db_url': 'sqlite:///state.sqlite'}}
c['protocols'] = {{'pb': {{'port': 'tcp:{port}:interface=127.0.0.1'}}}}
c['workers'] = [worker.Worker('w1', 'w1-secret')]
c['buildbotURL'] = 'http://localhost:8010/'
c['change_source'] = [
    changes.GitPoller(REPO, branches=True, pollInterval=1, pollAtLaunch=True,
                      workdir='poll-heads'),
    changes.GitPoller(REPO, only_tags=True, name='tags', pollInterval=1, pollAtLaunch=True,
                      workdir='poll-tags'),
]
c['schedulers'] = [
    schedulers.SingleBranchScheduler(
        name='main', change_filter=util.ChangeFilter(branch='main'),
        treeStableTimer={stable}, builderNames=['main']),
    schedulers.SingleBranchScheduler(
        name='feature', change_filter=util.ChangeFilter(branch='feature'),
        treeStableTimer=1, builderNames=['feature']),
    schedulers.AnyBranchScheduler(
        name='tags', change_filter=util.ChangeFilter(branch_re='refs/tags/'),
        builderNames=['tags']),
]

def factory():
    return util.BuildFactory([
        steps.Git(repourl=REPO, mode='incremental'),
        steps.ShellCommand(name='show', command='cat file.txt'),
    ])

c['builders'] = [
    util.BuilderConfig(name=name, workernames=['w1'], factory=factory())
    for name in ('main', 'feature', 'tags')
]
"""

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Dev",
    "GIT_AUTHOR_EMAIL": "dev@example.org",
    "GIT_COMMITTER_NAME": "Dev",
    "GIT_COMMITTER_EMAIL": "dev@example.org",
    "GIT_CONFIG_NOSYSTEM": "1",
}


class GitPipelineMixin(RealMasterMixin):
    def master_cfg(self) -> str:
        return MASTER_CFG.format(repo=self.repourl, port=self.port, stable=STABLE)

    async def setUp(self) -> None:
        # the repository exists, with one commit on main, before the master starts: the
        # pollers' first look records it without making a change of it
        root = os.path.abspath(self.mktemp())
        os.makedirs(root)
        self.bare = os.path.join(root, "repo.git")
        self.wc = os.path.join(root, "wc")
        self.repourl = "file://" + self.bare
        await self.git(root, "init", "-q", "--bare", "-b", "main", self.bare)
        await self.git(root, "clone", "-q", self.repourl, self.wc)
        await self.git(self.wc, "checkout", "-q", "-b", "main")
        self.first = await self.commit("first")
        await self.git(self.wc, "push", "-q", "origin", "main")
        await super().setUp()
        await self.wait_for("the pollers' first look", self.pollers_ready)

    async def git(self, cwd: str, *args: str) -> str:
        env = dict(self.child_env(), **GIT_ENV)
        env["HOME"] = os.path.dirname(self.bare)
        return await processes.run_program(self, ["/usr/bin/env", "git", *args], env, cwd)

    async def commit(self, content: str) -> str:
        with open(os.path.join(self.wc, "file.txt"), "w") as f:
            f.write(content + "\n")
        await self.git(self.wc, "add", "file.txt")
        await self.git(self.wc, "commit", "-q", "-m", f"write {content}")
        return (await self.git(self.wc, "rev-parse", "HEAD")).strip()

    async def poller_state(self, name: str) -> Any:
        state = self.master.db.state
        objectid = await state.getObjectId(name, "GitPoller")
        return await state.getState(objectid, "lastRev", None)

    async def pollers_ready(self) -> bool:
        heads = await self.poller_state(self.repourl)
        tags = await self.poller_state("tags")
        return bool(heads) and tags is not None

    async def builds_on(self, builder: str) -> list[dict[str, Any]]:
        builders = await self.master.data.get(("builders",))
        (builderid,) = [b["builderid"] for b in builders if b["name"] == builder]
        return list(await self.master.data.get(("builders", builderid, "builds")))

    async def finished_build(self, builder: str, limit: float = 60) -> dict[str, Any]:
        async def done() -> Any:
            builds = await self.builds_on(builder)
            return builds[-1] if builds and builds[-1]["complete"] else None

        return await self.wait_for(f"a finished build on {builder}", done, limit)

    async def changes_for(self, revision: str) -> list[dict[str, Any]]:
        return [c for c in await self.master.data.get(("changes",)) if c["revision"] == revision]

    async def check_built(self, builder: str, revision: str, content: str) -> None:
        build = await self.finished_build(builder)
        self.assertEqual(build["results"], SUCCESS, build)
        self.assertEqual((await self.props(build))["got_revision"], revision)
        steps = await self.steps(build)
        self.assertIn(content, await self.log_text(steps["show"]))
        build_changes = await self.master.data.get(("builds", build["buildid"], "changes"))
        self.assertIn(revision, [c["revision"] for c in build_changes])

    async def settle(self, seconds: float) -> None:
        # waiting for something NOT to happen (a second build) takes real time
        await task.deferLater(reactor, seconds, lambda: None)

    # ---- the tests ----------------------------------------------------------------

    async def test_commit_on_main(self) -> None:
        self.assertEqual(await self.master.data.get(("changes",)), [])
        sha = await self.commit("second")
        await self.git(self.wc, "push", "-q", "origin", "main")
        await self.check_built("main", sha, "second")
        (change,) = await self.changes_for(sha)
        self.assertEqual((change["branch"], change["repository"]), ("main", self.repourl))
        self.assertEqual(change["author"], "Dev <dev@example.org>")
        self.assertEqual(change["files"], ["file.txt"])
        self.assertEqual(change["comments"].strip(), "write second")

    async def test_commit_on_another_branch(self) -> None:
        await self.git(self.wc, "checkout", "-q", "-b", "feature")
        sha = await self.commit("on-feature")
        await self.git(self.wc, "push", "-q", "origin", "feature")
        await self.check_built("feature", sha, "on-feature")
        self.assertEqual(await self.builds_on("main"), [])

    async def test_tag(self) -> None:
        sha = await self.commit("tagged")
        await self.git(self.wc, "tag", "v1.0")
        await self.git(self.wc, "push", "-q", "origin", "v1.0")
        await self.check_built("tags", sha, "tagged")
        (change,) = [c for c in await self.changes_for(sha) if c["branch"] != "main"]
        self.assertEqual(change["branch"], "refs/tags/v1.0")

    async def test_restart_between_poll_and_build(self) -> None:
        sha = await self.commit("before-restart")
        await self.git(self.wc, "push", "-q", "origin", "main")
        await self.wait_for("the change", lambda: self.changes_for(sha))
        # the tree-stable timer runs: the master goes down before it fires
        self.assertEqual(await self.builds_on("main"), [])
        await self.restart_master()
        await self.check_built("main", sha, "before-restart")
        await self.settle(STABLE + 2)
        self.assertEqual(len(await self.changes_for(sha)), 1)
        self.assertEqual(len(await self.builds_on("main")), 1)
        scheduler = await self.master.db.schedulers.findSchedulerId("main")
        self.assertEqual(await self.master.db.schedulers.getChangeClassifications(scheduler), {})

    async def test_commit_while_the_master_is_down(self) -> None:
        await self.master.stopService()
        sha = await self.commit("while-down")
        await self.git(self.wc, "push", "-q", "origin", "main")
        self.master = await self.start_master()
        await self.wait_for("the worker to reconnect", self._worker_connected)
        await self.check_built("main", sha, "while-down")
        await self.settle(STABLE + 2)
        self.assertEqual(len(await self.changes_for(sha)), 1)
        self.assertEqual(len(await self.builds_on("main")), 1)


class TestOurWorker(GitPipelineMixin, unittest.TestCase):
    def worker_bin(self) -> str:
        return our_worker_bin()


class TestBuildbot43Worker(GitPipelineMixin, unittest.TestCase):
    def worker_bin(self) -> str:
        return _installed_worker("BUILDBOT43_VENV", "the real buildbot-worker 4.3.0")
