"""GitPoller against real git repositories made in the test's directory.

Git runs for real (on the real reactor); the poller's timers run on the test clock,
so the tests call `poll()` (or `force()`) themselves.
"""

import os
import stat
import subprocess
import textwrap

from twisted.trial import unittest

from buildbot import config
from buildbot.changes.gitpoller import GitError, GitPoller, _process_reactor, parse_log_records
from buildbot.test import fakedb
from buildbot.test.fake import fakemaster
from buildbot.test.reactor import TestReactorMixin
from buildbot.util import git as gitutil

T0 = 1700000000


class Upstream:
    """A bare repository and a clone of it to commit and push from."""

    def __init__(self, root):
        self.root = root
        self.bare = os.path.join(root, "upstream.git")
        self.work = os.path.join(root, "work")
        self.url = "file://" + self.bare
        self.time = T0
        self.env = dict(
            os.environ,
            GIT_AUTHOR_NAME="Ann Author",
            GIT_AUTHOR_EMAIL="ann@example.com",
            GIT_COMMITTER_NAME="Carl Committer",
            GIT_COMMITTER_EMAIL="carl@example.com",
            GIT_CONFIG_GLOBAL=os.devnull,
            GIT_CONFIG_NOSYSTEM="1",
        )
        os.makedirs(root, exist_ok=True)
        self.git("-c", "init.defaultBranch=main", "init", "-q", "--bare", self.bare, cwd=root)
        self.git("-c", "init.defaultBranch=main", "init", "-q", self.work, cwd=root)
        self.git("remote", "add", "origin", self.bare)

    def git(self, *args, cwd=None):
        result = subprocess.run(
            ["git", *args],
            cwd=cwd or self.work,
            env=self.env,
            capture_output=True,
            check=True,
            text=True,
        )
        return result.stdout.strip()

    def commit(self, message, files=None, push=True):
        """Commit `files` ({name: content}) on the current branch; its sha."""
        self.time += 60
        for name, content in (files or {f"file{self.time}": message}).items():
            path = os.path.join(self.work, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(content)
            self.git("add", name)
        date = f"{self.time} +0000"
        self.env["GIT_AUTHOR_DATE"] = self.env["GIT_COMMITTER_DATE"] = date
        self.git("commit", "-q", "--allow-empty", "-m", message)
        if push:
            self.push()
        return self.git("rev-parse", "HEAD")

    def branch(self):
        return self.git("rev-parse", "--abbrev-ref", "HEAD")

    def push(self, *refs, force=False):
        self.git("push", "-q", *(["-f"] if force else []), "origin", *(refs or [self.branch()]))

    def checkout(self, *args):
        self.git("checkout", "-q", *args)


class GitPollerTest(TestReactorMixin, unittest.TestCase):
    timeout = 60

    async def setUp(self):
        self.setup_test_reactor()
        self.upstream = Upstream(os.path.abspath(self.mktemp()))
        self.master = fakemaster.make_master(
            self, wantDb=True, wantData=True, wantMq=True, masterid=1
        )
        await self.master.db.insert_test_data([fakedb.Master(id=1, name="m")])
        await self.master.startService()
        self.addCleanup(self.master.stopService)

    async def start(self, repourl=None, **kwargs):
        poller = GitPoller(repourl or self.upstream.url, **kwargs)
        await poller.setServiceParent(self.master)
        self.assertTrue(poller.isActive())
        return poller

    def changes(self):
        return self.master.data.updates.callsTo("addChange")

    def summary(self):
        return [(c["branch"], c["comments"]) for c in self.changes()]

    async def state(self, poller):
        objectid = await self.master.db.state.getObjectId(poller.name, "GitPoller")
        return await self.master.db.state.getState(objectid, "lastRev", None)


class TestPolling(GitPollerTest):
    async def test_first_poll_records_heads_without_changes(self):
        head = self.upstream.commit("one")
        poller = await self.start()
        await poller.poll()
        self.assertEqual(self.changes(), [])
        self.assertEqual(await self.state(poller), {"refs/heads/main": head})
        self.assertTrue(os.path.exists(os.path.join(self.master.basedir, "gitpoller-work", "HEAD")))

    async def test_new_commits_become_changes_oldest_first(self):
        self.upstream.commit("one")
        poller = await self.start(project="proj")
        await poller.poll()
        second = self.upstream.commit("two\n\nthe body", files={"a.txt": "a", "d/b c.txt": "b"})
        third = self.upstream.commit("three", files={"a.txt": "changed"})
        await poller.poll()
        first, last = self.changes()
        self.assertEqual(
            first,
            {
                "files": ["a.txt", "d/b c.txt"],
                # subject and body, as %s%n%b gives them
                "comments": "two\nthe body",
                "author": "Ann Author <ann@example.com>",
                "committer": "Carl Committer <carl@example.com>",
                "revision": second,
                "when_timestamp": T0 + 120,
                "branch": "main",
                "category": None,
                "revlink": "",
                "properties": None,
                "repository": self.upstream.url,
                "codebase": None,
                "project": "proj",
                "src": "git",
            },
        )
        self.assertEqual((last["revision"], last["files"]), (third, ["a.txt"]))
        self.assertEqual(await self.state(poller), {"refs/heads/main": third})
        # the changes reached the DB
        stored = await self.master.data.get(("changes",))
        self.assertEqual([c["revision"] for c in stored], [second, third])
        # nothing new, nothing reported
        await poller.poll()
        self.assertEqual(len(self.changes()), 2)

    async def test_no_timestamps(self):
        self.upstream.commit("one")
        poller = await self.start(usetimestamps=False)
        await poller.poll()
        self.upstream.commit("two")
        await poller.poll()
        [change] = self.changes()
        self.assertIsNone(change["when_timestamp"])

    async def test_merge_reports_files_against_first_parent(self):
        self.upstream.commit("base", files={"base": "0"})
        poller = await self.start()
        await poller.poll()
        self.upstream.checkout("-b", "topic")
        self.upstream.commit("on topic", files={"topic.txt": "t"}, push=False)
        self.upstream.checkout("main")
        self.upstream.commit("on main", files={"main.txt": "m"}, push=False)
        self.upstream.git("merge", "-q", "--no-ff", "topic", "-m", "merge topic")
        self.upstream.push()
        await poller.poll()
        by_comment = {c["comments"]: c["files"] for c in self.changes()}
        self.assertEqual(
            by_comment,
            {"on topic": ["topic.txt"], "on main": ["main.txt"], "merge topic": ["topic.txt"]},
        )
        self.assertEqual(self.changes()[-1]["comments"], "merge topic")

    async def test_default_branch_follows_remote_head(self):
        self.upstream.checkout("-b", "trunk")
        self.upstream.commit("one")
        self.upstream.git("symbolic-ref", "HEAD", "refs/heads/trunk", cwd=self.upstream.bare)
        poller = await self.start()
        await poller.poll()
        self.upstream.commit("two")
        await poller.poll()
        self.assertEqual(self.summary(), [("trunk", "two")])

    async def test_empty_remote(self):
        poller = await self.start(pollAtLaunch=False)
        await poller.poll()
        self.assertEqual(self.changes(), [])
        self.assertEqual(await self.state(poller), {})
        # the first push is news (its head: there is no history worth reporting)
        self.upstream.commit("one", push=False)
        self.upstream.commit("two")
        await poller.poll()
        self.upstream.commit("three")
        await poller.poll()
        self.assertEqual(self.summary(), [("main", "two"), ("main", "three")])

    async def test_branch_list(self):
        self.upstream.commit("one")
        self.upstream.checkout("-b", "dev")
        self.upstream.commit("dev one")
        self.upstream.checkout("-b", "other")
        self.upstream.commit("other one")
        poller = await self.start(branches=["main", "refs/heads/dev", "missing"])
        await poller.poll()
        self.assertEqual(sorted(await self.state(poller)), ["refs/heads/dev", "refs/heads/main"])
        self.upstream.commit("other two")
        self.upstream.checkout("dev")
        self.upstream.commit("dev two")
        await poller.poll()
        self.assertEqual(self.summary(), [("dev", "dev two")])

    async def test_single_branch(self):
        self.upstream.commit("one")
        self.upstream.checkout("-b", "dev")
        self.upstream.commit("dev one")
        poller = await self.start(branch="dev")
        await poller.poll()
        self.upstream.commit("dev two")
        self.upstream.checkout("main")
        self.upstream.commit("main two")
        await poller.poll()
        self.assertEqual(self.summary(), [("dev", "dev two")])

    async def test_all_branches_and_a_new_branch(self):
        self.upstream.commit("one")
        poller = await self.start(branches=True)
        await poller.poll()
        self.upstream.checkout("-b", "feature")
        self.upstream.commit("feature one", push=False)
        self.upstream.commit("feature two")
        self.upstream.checkout("main")
        self.upstream.commit("main two")
        await poller.poll()
        self.assertEqual(
            self.summary(),
            [("feature", "feature one"), ("feature", "feature two"), ("main", "main two")],
        )
        # merging it into main reports only the merge commit
        self.upstream.git("merge", "-q", "--no-ff", "feature", "-m", "merge feature")
        self.upstream.push()
        await poller.poll()
        self.assertEqual(self.summary()[-1], ("main", "merge feature"))
        self.assertEqual(len(self.changes()), 4)

    async def test_branch_filter(self):
        self.upstream.commit("one")
        seen = []

        def wanted(ref):
            seen.append(ref)
            return ref.startswith("refs/heads/release/")

        poller = await self.start(branches=wanted)
        await poller.poll()
        self.assertIn("refs/heads/main", seen)
        self.upstream.checkout("-b", "release/1.0")
        self.upstream.commit("release commit")
        self.upstream.checkout("main")
        self.upstream.commit("main commit")
        # nothing was tracked yet: the first branch to appear is reported by its head
        await poller.poll()
        self.assertEqual(self.summary(), [("release/1.0", "release commit")])
        self.upstream.checkout("release/1.0")
        self.upstream.checkout("-b", "release/2.0")
        self.upstream.commit("release 2 commit")
        self.upstream.checkout("release/1.0")
        self.upstream.commit("release fix")
        await poller.poll()
        self.assertEqual(
            self.summary()[1:],
            [("release/1.0", "release fix"), ("release/2.0", "release 2 commit")],
        )

    async def test_deleted_branch_is_forgotten(self):
        self.upstream.commit("one")
        self.upstream.git("push", "-q", "origin", "main:gone")
        poller = await self.start(branches=True)
        await poller.poll()
        self.assertIn("refs/heads/gone", await self.state(poller))
        self.upstream.git("push", "-q", "origin", ":gone")
        await poller.poll()
        self.assertEqual(list(await self.state(poller)), ["refs/heads/main"])
        self.assertEqual(self.changes(), [])

    async def test_tags(self):
        self.upstream.commit("one")
        self.upstream.git("tag", "v0")
        self.upstream.push("v0")
        poller = await self.start(only_tags=True)
        await poller.poll()
        self.assertEqual(list(await self.state(poller)), ["refs/tags/v0"])
        tagged = self.upstream.commit("two")
        self.upstream.commit("untagged")
        self.upstream.git("tag", "-a", "v1", "-m", "release 1", tagged)
        self.upstream.push("v1")
        await poller.poll()
        [change] = self.changes()
        self.assertEqual((change["branch"], change["revision"]), ("refs/tags/v1", tagged))
        # a tag object resolves to its commit
        self.assertEqual((await self.state(poller))["refs/tags/v1"], tagged)

    async def test_first_tag_of_a_repository(self):
        self.upstream.commit("one")
        poller = await self.start(only_tags=True)
        await poller.poll()
        self.assertEqual(await self.state(poller), {})
        self.upstream.commit("two")
        tagged = self.upstream.commit("three")
        self.upstream.git("tag", "v1.0")
        self.upstream.push("v1.0")
        await poller.poll()
        self.assertEqual(
            [(c["branch"], c["revision"]) for c in self.changes()], [("refs/tags/v1.0", tagged)]
        )

    async def test_push_with_no_commits(self):
        head = self.upstream.commit("one")
        poller = await self.start(branches=True, buildPushesWithNoCommits=True)
        await poller.poll()
        self.upstream.git("push", "-q", "origin", "main:copy")
        await poller.poll()
        [change] = self.changes()
        self.assertEqual((change["branch"], change["revision"]), ("copy", head))
        # a known branch moved back to a known commit
        self.upstream.commit("two")
        await poller.poll()
        self.upstream.git("push", "-q", "-f", "origin", f"{head}:main")
        await poller.poll()
        self.assertEqual(self.summary()[-2:], [("main", "two"), ("main", "one")])

    async def test_push_with_no_commits_is_ignored_by_default(self):
        self.upstream.commit("one")
        poller = await self.start(branches=True)
        await poller.poll()
        self.upstream.git("push", "-q", "origin", "main:copy")
        await poller.poll()
        self.assertEqual(self.changes(), [])
        self.assertIn("refs/heads/copy", await self.state(poller))

    async def test_force_push(self):
        self.upstream.commit("one")
        self.upstream.commit("two")
        poller = await self.start()
        await poller.poll()
        self.upstream.git("reset", "-q", "--hard", "HEAD~1")
        rewritten = self.upstream.commit("two rewritten", push=False)
        self.upstream.push(force=True)
        await poller.poll()
        self.assertEqual([c["revision"] for c in self.changes()], [rewritten])

    async def test_category_and_callable_category(self):
        self.upstream.commit("one")
        poller = await self.start(category="cat")
        await poller.poll()
        self.upstream.commit("two")
        await poller.poll()
        self.assertEqual(self.changes()[-1]["category"], "cat")
        await poller.disownServiceParent()

        seen = []

        def categorize(change):
            seen.append(change)
            return "big" if "big" in change["comments"] else "small"

        poller = await self.start(category=categorize, name="other")
        await poller.poll()
        self.upstream.commit("a big one")
        self.upstream.commit("a tiny one")
        await poller.poll()
        self.assertEqual([c["category"] for c in self.changes()[-2:]], ["big", "small"])
        self.assertEqual(seen[0]["branch"], "main")
        self.assertEqual(seen[0]["repository"], self.upstream.url)

    async def test_two_pollers_share_a_workdir(self):
        other = Upstream(os.path.abspath(self.mktemp()))
        self.upstream.commit("one")
        other.commit("other one")
        first = await self.start(workdir="shared")
        second = await self.start(repourl=other.url, workdir="shared")
        await first.poll()
        await second.poll()
        self.upstream.commit("two")
        other.commit("other two")
        await first.poll()
        await second.poll()
        self.assertEqual(
            [(c["repository"], c["comments"]) for c in self.changes()],
            [(self.upstream.url, "two"), (other.url, "other two")],
        )

    def test_processes_run_on_a_real_reactor(self):
        from twisted.internet import reactor

        self.assertIs(_process_reactor(self.reactor), reactor)
        self.assertIs(_process_reactor(None), reactor)
        real = object.__new__(type(reactor))
        self.assertIs(_process_reactor(real), real)

    def test_parse_log_records_ignores_noise(self):
        self.assertEqual(parse_log_records(b"", "utf-8"), [])
        sha = "a" * 40
        out = b"junk\0\x01" + sha.encode() + b"\x00100\x00A\x00C\x00msg\n\x00\x00\nf\xc3\xa9\x00"
        [commit] = parse_log_records(out, "utf-8")
        self.assertEqual((commit["revision"], commit["files"]), (sha, ["f\u00e9"]))


class TestRestartAndFailures(GitPollerTest):
    async def test_restart_neither_loses_nor_repeats(self):
        self.upstream.commit("one")
        poller = await self.start()
        await poller.poll()
        self.upstream.commit("two")
        await poller.poll()
        await poller.disownServiceParent()
        # pushed while the master was down
        self.upstream.commit("three")
        poller = await self.start()
        await poller.poll()
        await poller.poll()
        self.assertEqual(self.summary(), [("main", "two"), ("main", "three")])

    async def test_restart_with_a_fresh_workdir(self):
        self.upstream.commit("one")
        poller = await self.start(workdir="first")
        await poller.poll()
        await poller.disownServiceParent()
        self.upstream.commit("two")
        poller = await self.start(workdir="second")
        await poller.poll()
        self.assertEqual(self.summary(), [("main", "two")])

    async def test_state_saved_only_after_changes_are_added(self):
        self.upstream.commit("one")
        poller = await self.start()
        await poller.poll()
        before = await self.state(poller)
        self.upstream.commit("two")

        def broken(**kwargs):
            raise RuntimeError("db down")

        self.master.data.updates.override("addChange", broken)
        await poller.force()
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertEqual(await self.state(poller), before)
        self.assertEqual(await self.master.data.get(("changes",)), [])

        real = self.master.data.updates._real["addChange"]
        self.master.data.updates.override("addChange", real)
        await poller.poll()
        stored = await self.master.data.get(("changes",))
        self.assertEqual([c["comments"] for c in stored], ["two"])

    async def test_legacy_short_state_keys(self):
        head = self.upstream.commit("one")
        poller = GitPoller(self.upstream.url)
        objectid = await self.master.db.state.getObjectId(poller.name, "GitPoller")
        await self.master.db.state.setState(objectid, "lastRev", {"main": head})
        await poller.setServiceParent(self.master)
        self.upstream.commit("two")
        await poller.poll()
        self.assertEqual(self.summary(), [("main", "two")])

    async def test_git_failure_is_logged_with_stderr_and_recovers(self):
        missing = os.path.join(self.upstream.root, "later.git")
        poller = await self.start(repourl="file://" + missing)
        await poller.force()
        [failure] = self.flushLoggedErrors(GitError)
        self.assertIn("ls-remote", str(failure.value))
        self.assertIn("does not appear to be a git repository", str(failure.value))
        self.assertEqual(failure.value.rc, 128)
        # the repository appears
        os.rename(self.upstream.bare, missing)
        self.upstream.git("remote", "set-url", "origin", missing)
        self.upstream.commit("one")
        await poller.force()
        self.upstream.commit("two")
        await poller.force()
        self.assertEqual(self.summary(), [("main", "two")])
        self.assertEqual(self.flushLoggedErrors(GitError), [])

    async def test_missing_git_binary(self):
        poller = await self.start(gitbin=os.path.join(self.upstream.root, "no-such-git"))
        with self.assertRaises(GitError):
            await poller.poll()

    async def test_scheduled_poll_runs_git(self):
        self.upstream.commit("one")
        poller = await self.start(pollInterval=30, pollAtLaunch=True)
        # the poll at launch is running real git; wait for it through force()
        await poller.force()
        self.upstream.commit("two")
        self.reactor.advance(30)
        await poller.force()  # joins the scheduled poll, then polls again
        self.assertEqual(self.summary(), [("main", "two")])


class TestSecrets(GitPollerTest):
    """ssh keys and credentials reach git through private files that exist only
    while it runs; a wrapper around git records what it saw."""

    def make_wrapper(self):
        log = os.path.join(self.upstream.root, "wrapper.log")
        wrapper = os.path.join(self.upstream.root, "git-wrapper")
        with open(wrapper, "w") as f:
            f.write(
                textwrap.dedent(f"""\
                #!/bin/sh
                {{
                  echo "ARGS: $*"
                  [ -n "$GIT_SSH" ] && echo "GIT_SSH: $(cat "$GIT_SSH")"
                  for a in "$@"; do
                    case "$a" in
                      core.sshCommand=*)
                        key=$(echo "$a" | sed -e 's/.* -i "\\([^"]*\\)".*/\\1/')
                        echo "KEY: $(cat "$key") MODE: $(stat -c %a "$key")"
                        hosts=$(echo "$a" | sed -n -e 's/.*UserKnownHostsFile=\\([^"]*\\)".*/\\1/p')
                        [ -n "$hosts" ] && echo "HOSTS: $(cat "$hosts")"
                        ;;
                      credential.helper=store*)
                        store=$(echo "$a" | sed -e 's/.*--file="\\([^"]*\\)".*/\\1/')
                        echo "STORE: $(cat "$store" 2>/dev/null)"
                        ;;
                    esac
                  done
                }} >> {log}
                exec git "$@"
                """)
            )
        os.chmod(wrapper, 0o755)
        return wrapper, log

    def read_log(self, log):
        with open(log) as f:
            return f.read()

    def private_dirs(self):
        workdir = os.path.join(self.master.basedir, "gitpoller-work")
        return [n for n in os.listdir(workdir) if n.startswith(".buildbot-")]

    async def test_ssh_key_and_host_key(self):
        wrapper, log = self.make_wrapper()
        self.upstream.commit("one")
        poller = await self.start(
            gitbin=wrapper, sshPrivateKey="THE-KEY", sshHostKey="ssh-rsa AAAAHOST"
        )
        await poller.poll()
        output = self.read_log(log)
        self.assertIn("KEY: THE-KEY MODE: 600", output)
        self.assertIn("HOSTS: * ssh-rsa AAAAHOST", output)
        self.assertEqual(self.private_dirs(), [])
        # the key is used by the commands that reach the remote only
        key_lines = [line for line in output.splitlines() if "sshCommand" in line]
        self.assertEqual(len(key_lines), 2)
        self.assertTrue(all("ls-remote" in line or " fetch " in line for line in key_lines))

    async def test_ssh_wrapper_for_old_git(self):
        wrapper, log = self.make_wrapper()
        self.upstream.commit("one")
        poller = await self.start(gitbin=wrapper, sshPrivateKey="K")
        poller._features = gitutil.GitFeatures((2, 2))
        await poller.poll()
        output = self.read_log(log)
        self.assertIn('GIT_SSH: #!/bin/sh\nssh -o BatchMode=yes -i "', output)
        self.assertNotIn("sshCommand", output)
        self.assertEqual(self.private_dirs(), [])

    async def test_ssh_known_hosts(self):
        wrapper, log = self.make_wrapper()
        self.upstream.commit("one")
        poller = await self.start(
            gitbin=wrapper, sshPrivateKey="K", sshKnownHosts="example.com ssh-ed25519 AAAA"
        )
        await poller.poll()
        self.assertIn("HOSTS: example.com ssh-ed25519 AAAA", self.read_log(log))

    async def test_auth_credentials(self):
        wrapper, log = self.make_wrapper()
        self.upstream.commit("one")
        poller = await self.start(gitbin=wrapper, auth_credentials=("user", "s3cret"))
        await poller.poll()
        output = self.read_log(log)
        # stored by `git credential approve` before the remote commands run
        self.assertIn("credential approve", output)
        self.assertRegex(output, r"ARGS: .* ls-remote .*\nSTORE: file://user:s3cret@")
        self.assertNotIn("s3cret", "".join(line for line in output.splitlines() if "ARGS" in line))
        self.assertEqual(self.private_dirs(), [])

    async def test_git_credentials(self):
        wrapper, log = self.make_wrapper()
        self.upstream.commit("one")
        options = gitutil.GitCredentialOptions(
            credentials=["url=https://example.com/repo\nusername=bob\npassword=pw\n"],
            use_http_path=True,
        )
        poller = await self.start(gitbin=wrapper, git_credentials=options)
        await poller.poll()
        output = self.read_log(log)
        self.assertIn("STORE: https://bob:pw@example.com/repo", output)
        self.assertIn("credential.useHttpPath=true", output)

    async def test_failing_remote_command_cleans_up(self):
        poller = await self.start(
            repourl="file://" + os.path.join(self.upstream.root, "nothing.git"),
            sshPrivateKey="K",
        )
        with self.assertRaises(GitError):
            await poller.poll()
        self.assertEqual(self.private_dirs(), [])


class TestConfig(TestReactorMixin, unittest.TestCase):
    def errors(self, *args, **kwargs):
        with config.capture_config_errors() as errors:
            GitPoller(*args, **kwargs)
        return errors.errors

    def assertError(self, text, *args, **kwargs):
        errors = self.errors(*args, **kwargs)
        self.assertTrue(any(text in e for e in errors), errors)

    def test_valid(self):
        self.assertEqual(self.errors("git@example.com:repo.git", branches=["a"]), [])
        self.assertEqual(self.errors("u", branches=True, category=lambda c: "x"), [])
        self.assertEqual(self.errors("u", only_tags=True, sshPrivateKey="k", sshHostKey="h"), [])

    def test_fetch_refspec(self):
        self.assertError("no longer supported", "u", fetch_refspec="+refs/*:refs/*")

    def test_branch_combinations(self):
        self.assertError("both branch and branches", "u", branch="a", branches=["b"])
        self.assertError("only_tags", "u", only_tags=True, branch="a")
        self.assertError("only_tags", "u", only_tags=True, branches=True)
        self.assertError("branches must be", "u", branches="main")
        self.assertError("branches must be", "u", branches=False)
        self.assertError("branch must be", "u", branch=3)

    def test_other_arguments(self):
        self.assertError("repourl", "")
        self.assertError("category", "u", category=3)
        self.assertError("codebase", "u", codebase="cb")
        self.assertError("project", "u", project=1)
        self.assertError("workdir", "u", workdir=1)
        self.assertError("encoding", "u", encoding="no-such-encoding")
        self.assertError("pollRandomDelayMax", "u", pollInterval=10, pollRandomDelayMax=20)

    def test_ssh_and_credentials(self):
        self.assertError("sshPrivateKey must be provided", "u", sshHostKey="h")
        self.assertError("sshPrivateKey must be provided", "u", sshKnownHosts="h")
        self.assertError("only one of", "u", sshPrivateKey="k", sshHostKey="h", sshKnownHosts="x")
        self.assertError(
            "only one of",
            "u",
            auth_credentials=("a", "b"),
            git_credentials=gitutil.GitCredentialOptions(),
        )

    def test_keyword_only(self):
        with self.assertRaises(TypeError):
            GitPoller("u", ["main"])

    def test_name_defaults_to_repourl(self):
        self.assertEqual(GitPoller("file:///r").name, "file:///r")
        self.assertEqual(GitPoller("file:///r", name="n").name, "n")

    async def test_workdir_and_describe(self):
        self.setup_test_reactor()
        master = fakemaster.make_master(self, wantDb=True, wantData=True, wantMq=True)
        cases = [
            ({}, os.path.join(master.basedir, "gitpoller-work"), "the default branch"),
            ({"workdir": "rel", "branches": True}, os.path.join(master.basedir, "rel"), "all"),
            ({"workdir": "/abs/dir", "only_tags": True}, "/abs/dir", "tags"),
            ({"branches": ["a", "b"]}, None, "branches a, b"),
            ({"branches": lambda ref: True}, None, "filter"),
        ]
        for i, (kwargs, workdir, description) in enumerate(cases):
            poller = GitPoller("file:///r", name=f"p{i}", **kwargs)
            poller.master = master
            await poller.configureService()
            if workdir is not None:
                self.assertEqual(poller.workdir, workdir)
            self.assertIn(description, poller.describe())
            self.assertIn("file:///r", poller.describe())
        self.assertTrue(stat.S_ISDIR(os.stat("/").st_mode))  # (sanity of the import)
