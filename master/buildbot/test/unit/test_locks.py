from __future__ import annotations

from twisted.trial import unittest

from buildbot import interfaces
from buildbot.config.errors import ConfigErrors, capture_config_errors
from buildbot.locks import LockAccess, MasterLock, WorkerLock


class TestLocks(unittest.TestCase):
    def errors_of(self, fn, *args, **kw) -> list[str]:
        with capture_config_errors() as errors:
            fn(*args, **kw)
        return errors.errors

    def test_master_lock(self):
        lock = MasterLock("l", maxCount=3)
        self.assertEqual((lock.name, lock.maxCount), ("l", 3))
        self.assertEqual(MasterLock("l"), MasterLock("l"))
        self.assertNotEqual(MasterLock("l"), MasterLock("l", maxCount=2))
        self.assertNotEqual(MasterLock("l"), WorkerLock("l"))

    def test_bad_lock_args(self):
        self.assertIn("name must be a non-empty string", self.errors_of(MasterLock, "")[0])
        self.assertIn("maxCount must be a positive integer", self.errors_of(MasterLock, "l", 0)[0])
        self.assertIn("maxCount", self.errors_of(WorkerLock, "l", maxCount="2")[0])
        self.assertIn("maxCountForWorker must be a dict", self.errors_of(WorkerLock, "l", 1, [])[0])
        self.assertIn("maxCountForWorker['w']", self.errors_of(WorkerLock, "l", 1, {"w": -1})[0])

    def test_error_outside_loading_raises(self):
        with self.assertRaises(ConfigErrors):
            MasterLock("l", maxCount=-1)

    def test_worker_lock(self):
        lock = WorkerLock("l", maxCount=2, maxCountForWorker={"big": 5})
        self.assertEqual(lock.maxCountForWorker, {"big": 5})
        self.assertEqual(lock, WorkerLock("l", 2, {"big": 5}))
        self.assertNotEqual(lock, WorkerLock("l", 2, {"big": 4}))
        self.assertEqual(WorkerLock("l").maxCountForWorker, {})

    def test_access(self):
        lock = MasterLock("l", maxCount=3)
        access = lock.access("counting", count=2)
        self.assertIsInstance(access, LockAccess)
        self.assertTrue(interfaces.ILockAccess.providedBy(access))
        self.assertEqual((access.lockid, access.mode, access.count), (lock, "counting", 2))
        self.assertEqual(lock.access("exclusive"), LockAccess(lock, "exclusive", 1))
        # a bare lock in a locks= list means exclusive access (config.md §9)
        self.assertEqual(lock.defaultAccess(), LockAccess(lock, "exclusive", 1))

    def test_bad_access(self):
        lock = MasterLock("l", maxCount=2)
        self.assertIn("'counting' or 'exclusive'", self.errors_of(lock.access, "shared")[0])
        self.assertIn("positive integer", self.errors_of(lock.access, "counting", 0)[0])
        self.assertIn("positive integer", self.errors_of(lock.access, "counting", "1")[0])
        self.assertIn(
            "larger than the lock's maxCount 2", self.errors_of(lock.access, "counting", 3)[0]
        )
        self.assertIn("count of 1", self.errors_of(lock.access, "exclusive", 2)[0])
        self.assertIn("MasterLock or WorkerLock", self.errors_of(LockAccess, "l", "counting")[0])

    def test_worker_lock_access_up_to_largest_worker_count(self):
        lock = WorkerLock("l", maxCount=1, maxCountForWorker={"big": 4})
        self.assertEqual(self.errors_of(lock.access, "counting", 4), [])
        self.assertEqual(len(self.errors_of(lock.access, "counting", 5)), 1)
