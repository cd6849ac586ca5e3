from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from twisted.trial import unittest

from buildbot import config
from buildbot.process.properties import Interpolate
from buildbot.process.results import FAILURE, SUCCESS
from buildbot.steps.source.base import Source
from buildbot.test.steps import StepTestMixin


def sourcestamp(**kw: Any) -> SimpleNamespace:
    values = {"branch": None, "revision": None, "codebase": "", "changes": [], "patch": None}
    values.update(kw)
    return SimpleNamespace(**values)


class Recording(Source):
    """Records what run_vc was asked for, then sets got_revision."""

    name = "rec"
    branch = "default-branch"

    async def run_vc(self, branch: Any, revision: Any, patch: Any) -> int:
        self.asked = (branch, revision, patch)
        if patch:
            await self.patch(patch)
        self.updateSourceProperty("got_revision", "abc")
        return SUCCESS


class WithChanges(Recording):
    def computeSourceRevision(self, changes: list[Any]) -> Any:
        return changes[-1]["revision"] if changes else None


class SourceTests(StepTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_step_test()

    def use_stamps(self, *stamps: SimpleNamespace) -> None:
        by_codebase = {ss.codebase: ss for ss in stamps}
        self.build.getSourceStamp = lambda codebase="": by_codebase.get(codebase)

    async def test_uses_the_sourcestamp_of_its_codebase(self):
        self.use_stamps(sourcestamp(branch="b", revision="r1"))
        step = self.setup_step(Recording())
        self.assertEqual(await self.run_step(), SUCCESS)
        self.assertEqual(step.asked, ("b", "r1", None))
        self.assertEqual(self.build.getProperty("got_revision"), "abc")
        self.assertEqual(self.build.properties.getPropertySource("got_revision"), "Recording")
        row = await self.step_row()
        self.assertEqual((row["name"], row["state_string"]), ("rec", "update"))

    async def test_default_branch_and_always_use_latest(self):
        self.use_stamps(sourcestamp(revision="r1"))
        step = self.setup_step(Recording())
        await self.run_step()
        self.assertEqual(step.asked, ("default-branch", "r1", None))
        self.use_stamps(sourcestamp(branch="b", revision="r1"))
        step = self.setup_step(Recording(alwaysUseLatest=True))
        await self.run_step()
        self.assertEqual(step.asked, ("default-branch", None, None))

    async def test_always_use_latest_without_sourcestamp(self):
        step = self.setup_step(Recording(alwaysUseLatest=True))
        self.assertEqual(await self.run_step(), SUCCESS)
        self.assertEqual(step.asked, ("default-branch", None, None))

    async def test_missing_sourcestamp_fails(self):
        self.setup_step(Recording(codebase="other"))
        self.assertEqual(await self.run_step(), FAILURE)
        self.assertIn("No sourcestamp found", await self.log_text("log"))
        row = await self.step_row()
        self.assertEqual(row["state_string"], "Codebase other not in build other (failure)")

    async def test_revision_from_changes(self):
        self.use_stamps(sourcestamp(changes=[{"revision": "c1"}, {"revision": "c2"}]))
        step = self.setup_step(WithChanges())
        await self.run_step()
        self.assertEqual(step.asked[1], "c2")
        self.assertEqual(self.build.getProperty("revision"), "c2")

    async def test_codebase_name_and_dict_properties(self):
        self.use_stamps(sourcestamp(codebase="lib", branch="b"), sourcestamp(codebase="app"))
        self.setup_step(Recording(codebase="lib"))
        await self.run_step()
        self.assertEqual((await self.step_row())["name"], "rec-lib")
        self.assertEqual(self.build.getProperty("got_revision"), {"lib": "abc"})
        self.setup_step(Recording(codebase="app", name="src"))
        await self.run_step()
        self.assertEqual((await self.step_row())["name"], "src-app")
        self.assertEqual(self.build.getProperty("got_revision"), {"lib": "abc", "app": "abc"})
        self.assertIsInstance(Recording(codebase="x").name, Interpolate)

    async def test_patch_is_downloaded_applied_and_removed(self):
        body = b"--- a/f\n+++ b/f\n"
        self.use_stamps(sourcestamp(patch=(1, body, None)))
        downloaded = {}

        def keep(args: dict[str, Any]) -> None:
            downloaded[args["workerdest"]] = args["reader"].fp.getvalue()

        self.setup_step(Recording())
        self.conn.expect("downloadFile", {"workerdest": ".buildbot-diff", "workdir": "wkdir"},
                         action=keep)  # fmt: skip
        self.conn.expect("downloadFile", {"workerdest": ".buildbot-patched", "workdir": "wkdir"},
                         action=keep)  # fmt: skip
        command = ["patch", "-p1", "--remove-empty-files", "--force", "--forward", "-i",
                   ".buildbot-diff"]  # fmt: skip
        self.conn.expect("shell", {"command": command, "workdir": "wkdir", "sigtermTime": 1})
        self.conn.expect("rmfile", {"path": "wkdir/.buildbot-diff"})
        self.assertEqual(await self.run_step(), SUCCESS)
        self.assertEqual(downloaded, {".buildbot-diff": body, ".buildbot-patched": b"patched\n"})
        self.assertEqual(await self.log_text("patch"), body.decode())

    async def test_patch_in_subdir_and_old_worker(self):
        del self.conn.info["worker_commands"]["rmfile"]
        self.conn.info["worker_commands"]["shell"] = "2.15"
        self.use_stamps(sourcestamp(patch=(0, "diff", "sub")))
        step = self.setup_step(Recording())
        self.conn.expect("downloadFile", {"workerdest": ".buildbot-diff", "workdir": "wkdir/sub"})
        self.conn.expect("downloadFile", {"workdir": "wkdir/sub"})
        self.conn.expect("shell", {"workdir": "wkdir/sub", "interruptSignal": "TERM"})
        self.conn.expect("rmdir", {"dir": "wkdir/sub/.buildbot-diff"}, rc=1)
        self.assertEqual(await self.run_step(), FAILURE)
        self.assertEqual(step.workdir, "wkdir")

    async def test_patch_outside_the_workdir_is_applied_in_it(self):
        self.conn.info["worker_commands"]["shell"] = "2.14"
        self.use_stamps(sourcestamp(patch=(0, "diff", "../elsewhere")))
        self.setup_step(Recording())
        self.conn.expect("downloadFile", {"workdir": "wkdir"})
        self.conn.expect("downloadFile", {"workdir": "wkdir"})
        self.conn.expect("shell", {"workdir": "wkdir"}, rc=1)
        self.assertEqual(await self.run_step(), FAILURE)
        args = self.conn.started[2][1]
        self.assertNotIn("interruptSignal", args)

    async def test_sourcedir_is_patched(self):
        class Patched(Source):
            async def run_vc(self, branch: Any, revision: Any, patch: Any) -> int:
                self.patched = await self.sourcedirIsPatched()
                return SUCCESS

        self.use_stamps(sourcestamp())
        step = self.setup_step(Patched(workdir="src"))
        self.conn.expect("stat", {"file": "src/.buildbot-patched"})
        await self.run_step()
        self.assertTrue(step.patched)

    async def test_env_merges_build_env(self):
        class Env(Source):
            async def run_vc(self, branch: Any, revision: Any, patch: Any) -> int:
                cmd = await self.runShell(["true"], env={"C": "3"}, abandonOnFailure=False)
                return SUCCESS if cmd.rc == 0 else FAILURE

        self.build.env = {"A": "1", "B": "build"}
        self.use_stamps(sourcestamp())
        self.setup_step(Env(env={"B": "2"}, logEnviron=False, timeout=5))
        self.conn.expect(
            "shell",
            {"env": {"A": "1", "B": "2", "C": "3"}, "logEnviron": False, "timeout": 5},
            rc=1,
        )
        self.assertEqual(await self.run_step(), FAILURE)

    def test_run_vc_is_abstract(self):
        self.assertRaises(NotImplementedError, Source().run_vc, None, None, None)

    def test_descriptions(self):
        step = Source(mode="clobber", codebase="cb")
        self.assertEqual(
            (step.description, step.descriptionDone, step.descriptionSuffix),
            (["checkout"], ["checkout"], ["cb"]),
        )
        self.assertEqual(Source(mode="export").description, ["exporting"])
        self.assertEqual(Source(description="d").description, "d")
        self.assertTrue(Source.haltOnFailure and Source.flunkOnFailure)

    def test_config_errors(self):
        for kwargs, message in (
            ({"retry": 3}, "retry must be a (delay, repeats) pair"),
            ({"retry": (1, "x")}, "retry must be a (delay, repeats) pair"),
            ({"timeout": "long"}, "timeout must be a number"),
            ({"env": ["A=1"]}, "env must be a dict"),
            ({"codebase": 3}, "codebase must be a string"),
            ({"unknown": 1}, "unexpected keyword argument"),
        ):
            with self.assertRaises(config.ConfigErrors) as e:
                Source(**kwargs)
            self.assertIn(message, str(e.exception))
        Source(retry=(10, 2), timeout=None)
