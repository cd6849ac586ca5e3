from __future__ import annotations

import random

from twisted.internet import defer
from twisted.trial import unittest

from buildbot.locks import MasterLock, WorkerLock
from buildbot.process.locks import (
    LockRegistry,
    RealLock,
    RealMasterLock,
    RealWorkerLock,
    _wakeups,
    acquire_locks,
    release_locks,
)


class Owner:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<Owner {self.name}>"


def excl(lockid=None):
    return (lockid or MasterLock("l", maxCount=5)).access("exclusive")


def counting(count=1, lockid=None):
    return (lockid or MasterLock("l", maxCount=5)).access("counting", count)


class TestRealLock(unittest.TestCase):
    def test_counting_limit(self):
        lock = RealLock("l", maxCount=2)
        a, b, c = Owner("a"), Owner("b"), Owner("c")
        lock.claim(a, counting())
        lock.claim(b, counting())
        self.assertFalse(lock.isAvailable(c, counting()))
        with self.assertRaises(RuntimeError):
            lock.claim(c, counting())
        lock.release(a, counting())
        self.assertTrue(lock.isAvailable(c, counting()))
        self.assertEqual(lock.holders(), [(b, counting())])

    def test_exclusive_against_counting(self):
        lock = RealLock("l", maxCount=3)
        a, b = Owner("a"), Owner("b")
        lock.claim(a, excl())
        self.assertFalse(lock.isAvailable(b, counting()))
        self.assertFalse(lock.isAvailable(b, excl()))
        lock.release(a, excl())
        lock.claim(a, counting())
        self.assertFalse(lock.isAvailable(b, excl()))
        self.assertTrue(lock.isAvailable(b, counting()))

    def test_count_weights(self):
        lock = RealLock("l", maxCount=3)
        a, b = Owner("a"), Owner("b")
        lock.claim(a, counting(2))
        self.assertFalse(lock.isAvailable(b, counting(2)))
        self.assertTrue(lock.isAvailable(b, counting(1)))
        lock.claim(b, counting(1))
        self.assertFalse(lock.isAvailable(Owner("c"), counting(1)))

    def test_count_larger_than_max_takes_whole_lock(self):
        lock = RealLock("l", maxCount=2)
        a = Owner("a")
        self.assertTrue(lock.isAvailable(a, counting(4)))
        lock.claim(a, counting(4))
        self.assertFalse(lock.isAvailable(Owner("b"), counting(1)))

    def test_release_of_unheld_lock_fails(self):
        lock = RealLock("l")
        with self.assertRaises(RuntimeError):
            lock.release(Owner("a"), excl())

    def test_wait_fires_at_once_when_available(self):
        lock = RealLock("l")
        d = lock.waitUntilMaybeAvailable(Owner("a"), excl())
        self.assertTrue(d.called)
        self.assertEqual(lock.waiters(), [])

    def test_fifo_exclusive_not_starved_by_counting(self):
        lock = RealLock("l", maxCount=2)
        a, e, c = Owner("a"), Owner("e"), Owner("c")
        lock.claim(a, counting())
        d_e = lock.waitUntilMaybeAvailable(e, excl())
        # there is room for c, but the exclusive waiter came first
        self.assertFalse(lock.isAvailable(c, counting()))
        d_c = lock.waitUntilMaybeAvailable(c, counting())
        self.assertEqual(lock.waiters(), [e, c])
        lock.release(a, counting())
        self.assertTrue(d_e.called)
        self.assertFalse(d_c.called)
        lock.claim(e, excl())
        self.assertFalse(lock.isAvailable(c, counting()))
        lock.release(e, excl())
        self.assertTrue(d_c.called)
        lock.claim(c, counting())
        self.assertEqual(lock.waiters(), [])

    def test_wakes_every_waiter_that_fits(self):
        lock = RealLock("l", maxCount=3)
        h = Owner("h")
        lock.claim(h, excl())
        owners = [Owner(str(i)) for i in range(4)]
        ds = [lock.waitUntilMaybeAvailable(o, counting()) for o in owners]
        lock.release(h, excl())
        self.assertEqual([d.called for d in ds], [True, True, True, False])

    def test_stop_waiting_wakes_those_behind(self):
        lock = RealLock("l", maxCount=2)
        a, e, c = Owner("a"), Owner("e"), Owner("c")
        lock.claim(a, counting())
        d_e = lock.waitUntilMaybeAvailable(e, excl())
        d_c = lock.waitUntilMaybeAvailable(c, counting())
        lock.stopWaitingUntilAvailable(e, excl(), d_e)
        self.assertTrue(d_c.called)
        self.assertFalse(d_e.called)
        self.assertEqual(lock.waiters(), [c])

    def test_waiting_twice_is_an_error(self):
        lock = RealLock("l")
        lock.claim(Owner("h"), excl())
        a = Owner("a")
        lock.waitUntilMaybeAvailable(a, excl())
        with self.assertRaises(RuntimeError):
            lock.waitUntilMaybeAvailable(a, excl())

    def test_raising_max_count_wakes_waiters(self):
        lock = RealLock("l", maxCount=1)
        lock.claim(Owner("a"), counting())
        d = lock.waitUntilMaybeAvailable(Owner("b"), counting())
        self.assertFalse(d.called)
        lock.setMaxCount(2)
        self.assertTrue(d.called)

    def test_lowering_max_count_keeps_holders(self):
        lock = RealLock("l", maxCount=3)
        a, b = Owner("a"), Owner("b")
        lock.claim(a, counting(2))
        lock.setMaxCount(1)
        self.assertTrue(lock.isOwner(a, counting(2)))
        self.assertFalse(lock.isAvailable(b, counting()))
        lock.release(a, counting(2))
        self.assertTrue(lock.isAvailable(b, counting()))


class TestRegistry(unittest.TestCase):
    def test_one_real_lock_per_name(self):
        reg = LockRegistry()
        lock = reg.getLockByID(MasterLock("m"), 1)
        self.assertIsInstance(lock, RealMasterLock)
        self.assertIs(reg.getLockByID(MasterLock("m"), 1), lock)
        self.assertIsNot(reg.getLockByID(MasterLock("n"), 1), lock)
        self.assertIsInstance(reg.getLockByID(WorkerLock("m"), 1), RealWorkerLock)
        self.assertIs(lock.getLockForWorker("w1"), lock)
        self.assertIs(reg.getLockFromLockAccess(MasterLock("m").access("exclusive"), 1), lock)

    def test_reconfig_updates_in_place(self):
        reg = LockRegistry()
        lock = reg.getLockByID(MasterLock("m", maxCount=1), 1)
        lock.claim(Owner("a"), counting())
        d = lock.waitUntilMaybeAvailable(Owner("b"), counting())
        # the same config version does not change the lock
        self.assertIs(reg.getLockByID(MasterLock("m", maxCount=2), 1), lock)
        self.assertEqual(lock.maxCount, 1)
        self.assertIs(reg.getLockByID(MasterLock("m", maxCount=2), 2), lock)
        self.assertEqual(lock.maxCount, 2)
        self.assertTrue(d.called)

    def test_worker_lock_per_worker(self):
        reg = LockRegistry()
        wlock = reg.getLockByID(WorkerLock("w", maxCount=1, maxCountForWorker={"big": 3}), 1)
        w1, w2, big = (wlock.getLockForWorker(n) for n in ("w1", "w2", "big"))
        self.assertIs(wlock.getLockForWorker("w1"), w1)
        self.assertIsNot(w1, w2)
        self.assertEqual((w1.maxCount, w2.maxCount, big.maxCount), (1, 1, 3))
        self.assertEqual(w1.description, "w on w1")
        a, b = Owner("a"), Owner("b")
        w1.claim(a, excl())
        self.assertTrue(w2.isAvailable(b, excl()))

    def test_worker_lock_reconfig(self):
        reg = LockRegistry()
        wlock = reg.getLockByID(WorkerLock("w", maxCount=1, maxCountForWorker={"big": 3}), 1)
        w1, big = wlock.getLockForWorker("w1"), wlock.getLockForWorker("big")
        reg.getLockByID(WorkerLock("w", maxCount=2), 2)
        self.assertEqual((w1.maxCount, big.maxCount), (2, 2))
        self.assertEqual(wlock.getLockForWorker("new").maxCount, 2)

    def test_resolve(self):
        reg = LockRegistry()
        mlock, wlock = MasterLock("m", maxCount=2), WorkerLock("w")
        pairs = reg.resolve([mlock.access("exclusive"), wlock], "w1", 1)
        self.assertEqual(
            pairs,
            [
                (reg.getLockByID(mlock, 1), mlock.access("exclusive")),
                (reg.getLockByID(wlock, 1).getLockForWorker("w1"), wlock.defaultAccess()),
            ],
        )


class TestAcquireLocks(unittest.TestCase):
    def setUp(self):
        self.a, self.b = RealLock("A"), RealLock("B")

    def test_all_available(self):
        owner = Owner("o")
        locks = [(self.a, excl()), (self.b, counting())]
        d = acquire_locks(owner, locks)
        self.assertTrue(d.called)
        self.assertTrue(self.a.isOwner(owner, excl()))
        self.assertTrue(self.b.isOwner(owner, counting()))
        release_locks(owner, locks)
        self.assertEqual((self.a.holders(), self.b.holders()), ([], []))

    def test_all_or_nothing_and_reports_waits(self):
        h, owner = Owner("h"), Owner("o")
        self.b.claim(h, excl())
        waits = []
        d = acquire_locks(
            owner, [(self.a, excl()), (self.b, excl())], lambda lock, _: waits.append(lock.name)
        )
        self.assertFalse(d.called)
        self.assertEqual(waits, ["B"])
        self.assertEqual(self.a.holders(), [])  # nothing held while waiting
        self.assertEqual(self.a.waiters(), [owner])  # but a place is kept
        self.b.release(h, excl())
        self.assertTrue(d.called)
        self.assertTrue(self.a.isOwner(owner, excl()) and self.b.isOwner(owner, excl()))

    def test_waits_again_on_the_next_lock(self):
        h1, h2, owner = Owner("h1"), Owner("h2"), Owner("o")
        self.a.claim(h1, excl())
        self.b.claim(h2, excl())
        waits = []
        d = acquire_locks(
            owner, [(self.a, excl()), (self.b, excl())], lambda lock, _: waits.append(lock.name)
        )
        self.a.release(h1, excl())
        self.assertEqual(waits, ["A", "B"])
        self.assertFalse(d.called)
        self.b.release(h2, excl())
        self.assertTrue(d.called)

    def test_cancel_while_waiting(self):
        h, owner, later = Owner("h"), Owner("o"), Owner("later")
        self.a.claim(h, excl())
        d = acquire_locks(owner, [(self.a, excl()), (self.b, excl())])
        d_later = acquire_locks(later, [(self.b, counting())])
        self.assertFalse(d_later.called)  # owner's place on B comes first
        d.cancel()
        self.failureResultOf(d, defer.CancelledError)
        self.assertEqual(self.a.waiters(), [])
        self.assertTrue(d_later.called)
        self.a.release(h, excl())
        self.assertFalse(self.a.isOwner(owner, excl()))
        self.assertEqual(self.a.holders(), [])

    def test_cancel_after_wakeup_was_queued(self):
        # the owner is woken, but stopped before its wake-up ran: it must claim nothing
        h, owner = Owner("h"), Owner("o")
        self.a.claim(h, excl())
        d = acquire_locks(owner, [(self.a, excl())])
        other = Owner("other")
        self.b.claim(other, excl())
        d_other = acquire_locks(Owner("x"), [(self.b, excl())])
        d_other.addCallback(lambda _: d.cancel())
        # one batch: the wake-up of x (which cancels o) runs first, then o's
        with _wakeups.batch():
            self.b.release(other, excl())
            self.a.release(h, excl())
        self.failureResultOf(d, defer.CancelledError)
        self.assertEqual(self.a.holders(), [])

    def test_duplicate_lock_is_rejected(self):
        with self.assertRaises(ValueError):
            acquire_locks(Owner("o"), [(self.a, excl()), (self.a, counting())])

    def test_error_in_on_wait_fails_and_leaves_queues(self):
        self.a.claim(Owner("h"), excl())

        def on_wait(lock, access):
            raise ValueError("boom")

        d = acquire_locks(Owner("o"), [(self.a, excl()), (self.b, excl())], on_wait)
        self.failureResultOf(d, ValueError)
        self.assertEqual((self.a.waiters(), self.b.waiters()), ([], []))

    def test_release_locks_only_releases_held(self):
        owner = Owner("o")
        self.a.claim(owner, excl())
        release_locks(owner, [(self.a, excl()), (self.b, excl())])
        self.assertEqual(self.a.holders(), [])

    def test_release_locks_wakes_once_whole_set_released(self):
        owner, waiter = Owner("o"), Owner("w")
        locks = [(self.a, excl()), (self.b, excl())]
        acquire_locks(owner, locks)
        waits = []
        d = acquire_locks(waiter, locks, lambda lock, _: waits.append(lock.name))
        release_locks(owner, locks)
        self.assertTrue(d.called)
        self.assertEqual(waits, ["A"])  # never seen waiting on B

    def test_long_synchronous_chain_does_not_recurse(self):
        lock = RealLock("l")
        owners = [Owner(str(i)) for i in range(3000)]
        done = []
        first = owners[0]
        acquire_locks(first, [(lock, excl())])
        for o in owners[1:]:
            d = acquire_locks(o, [(lock, excl())])

            @d.addCallback
            def run(_, o=o):
                done.append(o)
                release_locks(o, [(lock, excl())])

        release_locks(first, [(lock, excl())])
        self.assertEqual(done, owners[1:])
        self.assertEqual(lock.holders(), [])

    def two_builds_two_locks(self, order1, order2, release_first):
        a, b = self.a, self.b
        locks = {"A": a, "B": b}
        h1, h2 = Owner("h1"), Owner("h2")
        a.claim(h1, excl())
        b.claim(h2, excl())
        b1, b2 = Owner("b1"), Owner("b2")
        set1 = [(locks[n], excl()) for n in order1]
        set2 = [(locks[n], excl()) for n in order2]
        d1 = acquire_locks(b1, set1)
        d2 = acquire_locks(b2, set2)
        holders = {"A": (h1, a), "B": (h2, b)}
        for name in release_first:
            owner, lock = holders[name]
            lock.release(owner, excl())
        # first come, first served: b1 runs, b2 waits holding nothing
        self.assertTrue(d1.called)
        self.assertFalse(d2.called)
        self.assertEqual([o for o, _ in a.holders() + b.holders()], [b1, b1])
        release_locks(b1, set1)
        self.assertTrue(d2.called)
        self.assertEqual([o for o, _ in a.holders() + b.holders()], [b2, b2])

    def test_two_builds_two_locks_both_orders(self):
        for order1, order2 in [("AB", "BA"), ("BA", "AB"), ("AB", "AB")]:
            for release_first in ("AB", "BA"):
                with self.subTest(order1=order1, order2=order2, release=release_first):
                    self.setUp()
                    self.two_builds_two_locks(order1, order2, release_first)

    def test_two_builds_two_locks_free_locks(self):
        b1, b2 = Owner("b1"), Owner("b2")
        set1 = [(self.a, excl()), (self.b, excl())]
        set2 = [(self.b, excl()), (self.a, excl())]
        d1 = acquire_locks(b1, set1)
        d2 = acquire_locks(b2, set2)
        self.assertTrue(d1.called)
        self.assertFalse(d2.called)
        release_locks(b1, set1)
        self.assertTrue(d2.called)


class _Build:
    def __init__(self, number, accesses, worker):
        self.number = number
        self.accesses = accesses
        self.worker = worker
        self.state = "pending"
        self.locks = []
        self.d = None

    def __repr__(self) -> str:
        return f"<Build {self.number} {self.state}>"


class TestRandomInterleavings(unittest.TestCase):
    """Many builds, each taking a random set of locks, started, finished, cancelled
    and reconfigured in a seeded random order: the counts always hold, a waiting build
    holds nothing, and whenever no build runs, no build waits (no deadlock)."""

    def check_lock(self, lock):
        holders = lock.holders()
        if any(a.mode == "exclusive" for _, a in holders):
            self.assertEqual(len(holders), 1, lock)
        else:
            used = sum(min(a.count, lock.maxCount) for _, a in holders)
            self.assertLessEqual(used, lock.maxCount, lock)

    def simulate(self, seed):
        rng = random.Random(seed)
        reg = LockRegistry()
        version = 1
        lockids = [MasterLock(f"m{i}", maxCount=rng.randint(1, 3)) for i in range(3)]
        lockids.append(WorkerLock("w", maxCount=rng.randint(1, 2), maxCountForWorker={"w1": 3}))
        builds = []
        for number in range(rng.randint(5, 25)):
            accesses = []
            for lockid in rng.sample(lockids, rng.randint(1, len(lockids))):
                if rng.random() < 0.4:
                    accesses.append(lockid.access("exclusive"))
                else:
                    accesses.append(
                        lockid.access("counting", rng.randint(1, lockid.largestCount()))
                    )
            builds.append(_Build(number, accesses, rng.choice(["w1", "w2"])))

        def started(_, build):
            self.assertEqual(build.state, "waiting")
            build.state = "running"
            for lock, access in build.locks:
                self.assertTrue(lock.isOwner(build, access))
                self.check_lock(lock)

        def by_state(state):
            return [b for b in builds if b.state == state]

        started_order = []
        while by_state("pending") or by_state("waiting") or by_state("running"):
            actions = []
            if by_state("pending"):
                actions += ["start"] * 3
            if by_state("running"):
                actions += ["finish"] * 3
            if by_state("waiting"):
                actions.append("cancel")
            actions.append("reconfig")
            action = rng.choice(actions)
            if action == "start":
                build = rng.choice(by_state("pending"))
                build.state = "waiting"
                build.locks = reg.resolve(build.accesses, build.worker, version)
                build.d = acquire_locks(build, build.locks)
                build.d.addCallback(started, build)
                started_order.append(build)
            elif action == "finish":
                build = rng.choice(by_state("running"))
                build.state = "done"
                release_locks(build, build.locks)
            elif action == "cancel":
                build = rng.choice(by_state("waiting"))
                build.state = "cancelled"
                build.d.cancel()
                self.failureResultOf(build.d, defer.CancelledError)
            else:
                version += 1
                i = rng.randrange(len(lockids))
                old = lockids[i]
                if isinstance(old, WorkerLock):
                    new = WorkerLock(old.name, rng.randint(1, 2), old.maxCountForWorker)
                else:
                    new = MasterLock(old.name, maxCount=rng.randint(1, 3))
                reg.getLockByID(new, version)
            for build in by_state("waiting") + by_state("cancelled") + by_state("done"):
                for lock, access in build.locks:
                    self.assertFalse(lock.isOwner(build, access), build)
            if by_state("waiting"):
                self.assertTrue(by_state("running"), f"deadlock, seed {seed}: {builds}")
        self.assertTrue(all(b.state in ("done", "cancelled") for b in builds))
        # the registry's queues are empty at the end
        for lockid in lockids:
            real = reg.getLockByID(lockid, version)
            for lock in [real.getLockForWorker(w) for w in ("w1", "w2")]:
                self.assertEqual((lock.holders(), lock.waiters()), ([], []))

    def test_random_interleavings(self):
        for seed in range(300):
            self.simulate(seed)
