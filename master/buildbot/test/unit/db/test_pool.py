"""DBThreadPool, with real threads and the real reactor, on SQLite files."""

from __future__ import annotations

import os
import sqlite3
import threading
import time

import sqlalchemy as sa
from twisted.internet import defer, reactor, task
from twisted.trial import unittest

from buildbot.db import enginestrategy, pool

metadata = sa.MetaData()
items = sa.Table(
    "items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(20), nullable=False, unique=True),
)


def busy_error(message="database is locked"):
    return sa.exc.OperationalError("INSERT INTO items", {}, sqlite3.OperationalError(message))


class FakeDriverError(Exception):
    """Stands for a DB-API error of another driver, with its code attributes."""

    def __init__(self, *args, sqlstate=None):
        super().__init__(*args)
        if sqlstate is not None:
            self.sqlstate = sqlstate


class TestIsTransientError(unittest.TestCase):
    def check(self, exc, expected):
        self.assertEqual(pool.is_transient_error(exc), expected, repr(exc))

    def wrap(self, orig, cls=sa.exc.OperationalError, **kw):
        return cls("stmt", {}, orig, **kw)

    def test_sqlite(self):
        self.check(busy_error(), True)
        self.check(busy_error("database table is locked"), True)
        self.check(busy_error("no such table: items"), False)

    def test_sqlite_result_codes(self):
        def coded(code):
            e = sqlite3.OperationalError("some message")
            e.sqlite_errorcode = code
            return self.wrap(e)

        self.check(coded(5), True)  # SQLITE_BUSY
        self.check(coded(517), True)  # SQLITE_BUSY_SNAPSHOT
        self.check(coded(6), True)  # SQLITE_LOCKED
        self.check(coded(1), False)  # SQLITE_ERROR
        self.check(coded(19), False)  # SQLITE_CONSTRAINT

    def test_mysql(self):
        self.check(self.wrap(FakeDriverError(1213, "Deadlock found")), True)
        self.check(self.wrap(FakeDriverError(1205, "Lock wait timeout exceeded")), True)
        self.check(
            self.wrap(FakeDriverError(1062, "Duplicate entry"), sa.exc.IntegrityError), False
        )

    def test_postgresql(self):
        self.check(self.wrap(FakeDriverError("could not serialize", sqlstate="40001")), True)
        self.check(self.wrap(FakeDriverError("deadlock detected", sqlstate="40P01")), True)
        self.check(
            self.wrap(FakeDriverError("duplicate key", sqlstate="23505"), sa.exc.IntegrityError),
            False,
        )

    def test_dropped_connection(self):
        self.check(
            self.wrap(FakeDriverError("server closed the connection"), connection_invalidated=True),
            True,
        )

    def test_not_database_errors(self):
        self.check(ValueError("database is locked"), False)
        self.check(sa.exc.InvalidRequestError("x"), False)


class PoolTestMixin:
    def setUp(self):
        self.basedir = os.path.abspath(self.mktemp())
        os.makedirs(self.basedir)
        self.db_path = os.path.join(self.basedir, "state.sqlite")

    def make_pool(self, engine_kwargs=None, **pool_kwargs):
        engine = enginestrategy.create_engine(
            "sqlite:///state.sqlite", self.basedir, **(engine_kwargs or {})
        )
        with engine.begin() as conn:
            metadata.create_all(conn)
        pool_kwargs.setdefault("retry_backoff", 0.001)
        p = pool.DBThreadPool(engine, reactor, **pool_kwargs)
        self.addCleanup(p.shutdown)
        return p

    @staticmethod
    def thd_names(conn):
        return conn.execute(sa.select(items.c.name).order_by(items.c.id)).scalars().all()


class TestDBThreadPool(PoolTestMixin, unittest.TestCase):
    @defer.inlineCallbacks
    def test_do_commits(self):
        p = self.make_pool()

        def thd_insert(conn, *names, suffix=""):
            for name in names:
                conn.execute(items.insert().values(name=name + suffix))
            return threading.current_thread().name

        thread_name = yield p.do(thd_insert, "a", "b", suffix="!")
        self.assertNotEqual(thread_name, threading.current_thread().name)
        self.assertEqual((yield p.do(self.thd_names)), ["a!", "b!"])
        # visible to an unrelated connection, so it was committed
        with sqlite3.connect(self.db_path) as other:
            self.assertEqual(other.execute("SELECT count(*) FROM items").fetchone(), (2,))

    @defer.inlineCallbacks
    def test_error_rolls_back_and_propagates_unchanged(self):
        p = self.make_pool()
        error = ValueError("boom")

        def thd_half_write(conn):
            conn.execute(items.insert().values(name="first"))
            conn.execute(items.insert().values(name="second"))
            raise error

        with self.assertRaises(ValueError) as cm:
            yield p.do(thd_half_write)
        self.assertIs(cm.exception, error)
        self.assertEqual((yield p.do(self.thd_names)), [])

    @defer.inlineCallbacks
    def test_integrity_error_rolls_back_without_retry(self):
        p = self.make_pool()
        calls = []
        yield p.do(lambda conn: conn.execute(items.insert().values(name="dup")))

        def thd_write(conn):
            calls.append(1)
            conn.execute(items.insert().values(name="fresh"))
            conn.execute(items.insert().values(name="dup"))

        with self.assertRaises(sa.exc.IntegrityError):
            yield p.do(thd_write)
        self.assertEqual(len(calls), 1)
        self.assertEqual((yield p.do(self.thd_names)), ["dup"])

    @defer.inlineCallbacks
    def test_transient_error_is_retried(self):
        p = self.make_pool(max_retries=5)
        calls = []

        def thd_flaky(conn):
            calls.append(1)
            conn.execute(items.insert().values(name=f"try{len(calls)}"))
            if len(calls) < 3:
                raise busy_error()
            return len(calls)

        self.assertEqual((yield p.do(thd_flaky)), 3)
        # the failed tries were rolled back
        self.assertEqual((yield p.do(self.thd_names)), ["try3"])

    @defer.inlineCallbacks
    def test_gives_up_after_the_bound(self):
        p = self.make_pool(max_retries=2)
        calls = []

        def thd_always_busy(conn):
            calls.append(1)
            raise busy_error()

        with self.assertRaises(sa.exc.OperationalError) as cm:
            yield p.do(thd_always_busy)
        self.assertIn("database is locked", str(cm.exception))
        self.assertEqual(len(calls), 3)  # the first run and two retries

    @defer.inlineCallbacks
    def test_real_lock_is_waited_out(self):
        """Another process holds the write lock for a while; the write gets through."""
        p = self.make_pool(engine_kwargs={"connect_args": {"timeout": 0.05}}, max_retries=8)
        p.retry_backoff = 0.05
        holder = sqlite3.connect(self.db_path, isolation_level=None)
        self.addCleanup(holder.close)
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("INSERT INTO items (name) VALUES ('holder')")

        d = p.do(lambda conn: conn.execute(items.insert().values(name="pool")))
        yield task.deferLater(reactor, 0.2, lambda: None)
        self.assertFalse(d.called)
        holder.execute("COMMIT")
        yield d
        self.assertEqual((yield p.do(self.thd_names)), ["holder", "pool"])

    @defer.inlineCallbacks
    def test_real_lock_gives_up(self):
        p = self.make_pool(engine_kwargs={"connect_args": {"timeout": 0.01}}, max_retries=1)
        holder = sqlite3.connect(self.db_path, isolation_level=None)
        self.addCleanup(holder.close)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with self.assertRaises(sa.exc.OperationalError):
                yield p.do(lambda conn: conn.execute(items.insert().values(name="pool")))
        finally:
            holder.execute("ROLLBACK")

    @defer.inlineCallbacks
    def test_function_may_commit_itself(self):
        p = self.make_pool()

        def thd_two_steps(conn):
            conn.execute(items.insert().values(name="kept"))
            conn.commit()
            conn.execute(items.insert().values(name="lost"))
            raise RuntimeError("second step fails")

        with self.assertRaises(RuntimeError):
            yield p.do(thd_two_steps)
        self.assertEqual((yield p.do(self.thd_names)), ["kept"])

    @defer.inlineCallbacks
    def test_do_with_engine(self):
        p = self.make_pool()

        def thd_with_engine(engine, name):
            with engine.begin() as conn:
                conn.execute(items.insert().values(name=name))
            return engine

        engine = yield p.do_with_engine(thd_with_engine, "e")
        self.assertIs(engine, p.engine)
        self.assertEqual((yield p.do(self.thd_names)), ["e"])

    @defer.inlineCallbacks
    def test_sqlite_uses_one_thread(self):
        p = self.make_pool(max_threads=4)
        self.assertEqual(p.max_threads, 1)
        seen = yield defer.gatherResults(
            [p.do(lambda conn: threading.current_thread().ident) for _ in range(10)]
        )
        self.assertEqual(len(set(seen)), 1)

    @defer.inlineCallbacks
    def test_sqlite_keeps_its_connection_between_transactions(self):
        p = self.make_pool()

        # the connection objects themselves, held so that none is freed and replaced
        conns = []

        def thd_insert(conn, name):
            conns.append(conn)
            conn.execute(items.insert().values(name=name))

        yield p.do(thd_insert, "x")
        yield p.do(thd_insert, "y")
        self.assertIs(conns[0], conns[1])
        self.assertEqual((yield p.do(self.thd_names)), ["x", "y"])

    @defer.inlineCallbacks
    def test_a_broken_connection_is_replaced_and_its_transaction_lost(self):
        p = self.make_pool()

        def thd_write_then_break(conn):
            conn.execute(items.insert().values(name="lost"))
            conn.invalidate()
            raise ValueError("connection broke")

        with self.assertRaises(ValueError):
            yield p.do(thd_write_then_break)
        yield p.do(lambda conn: conn.execute(items.insert().values(name="kept")))
        self.assertEqual((yield p.do(self.thd_names)), ["kept"])

    @defer.inlineCallbacks
    def test_results_of_a_burst_come_back_in_order_with_one_wake_up(self):
        p = self.make_pool()
        yield p.do(self.thd_names)  # started
        wakeups = []
        real = reactor.callFromThread

        def counting(fn, *args, **kwargs):
            wakeups.append(fn)
            return real(fn, *args, **kwargs)

        self.patch(reactor, "callFromThread", counting)
        gate = threading.Event()
        order = []

        def thd_wait(conn):
            gate.wait(10)
            return "first"

        ds = [p.do(thd_wait)] + [p.do(lambda conn, i=i: i) for i in range(20)]
        for d in ds:
            d.addCallback(order.append)
        # the reactor thread is busy here, so all 21 results queue up behind one wake-up
        gate.set()
        deadline = time.monotonic() + 10
        while len(p._results) < 21 and time.monotonic() < deadline:
            time.sleep(0.001)
        yield defer.gatherResults(ds)
        self.assertEqual(order, ["first", *range(20)])
        self.assertEqual([fn for fn in wakeups if fn == p._deliver], [p._deliver])

    @defer.inlineCallbacks
    def test_cancelled_call_does_not_stop_the_others(self):
        p = self.make_pool()
        yield p.do(self.thd_names)
        gate = threading.Event()
        first = p.do(lambda conn: gate.wait(10))
        second = p.do(lambda conn: "second")
        first.cancel()
        gate.set()
        self.assertEqual((yield second), "second")
        with self.assertRaises(defer.CancelledError):
            yield first

    @defer.inlineCallbacks
    def test_shutdown(self):
        p = self.make_pool()
        yield p.do(self.thd_names)  # the reactor has run: the pool started
        self.assertTrue(p.running)
        d = p.do(lambda conn: conn.execute(items.insert().values(name="queued")))
        yield p.shutdown()
        yield d  # queued work is finished first
        self.assertFalse(p.running)
        with self.assertRaises(RuntimeError):
            yield p.do(self.thd_names)
        with self.assertRaises(RuntimeError):
            yield p.do_with_engine(lambda engine: None)
        yield p.shutdown()  # again: fine


class LifeCycleReactor:
    """Just enough reactor to watch the pool start and stop with it."""

    def __init__(self):
        self.when_running = []
        self.triggers = {}

    def callWhenRunning(self, fn, *args):
        self.when_running.append((fn, args))

    def run(self):
        for fn, args in self.when_running:
            fn(*args)

    def addSystemEventTrigger(self, phase, event, fn, *args):
        trigger_id = (phase, event, fn)
        self.triggers[trigger_id] = args
        return trigger_id

    def removeSystemEventTrigger(self, trigger_id):
        del self.triggers[trigger_id]

    def fire_shutdown(self):
        fired, self.triggers = self.triggers, {}  # a fired trigger is gone
        return defer.gatherResults([fn(*args) for (_, _, fn), args in fired.items()])

    def callFromThread(self, fn, *args, **kwargs):
        reactor.callFromThread(fn, *args, **kwargs)


class TestLifeCycle(PoolTestMixin, unittest.TestCase):
    @defer.inlineCallbacks
    def test_starts_with_reactor_and_stops_at_shutdown(self):
        fake = LifeCycleReactor()
        engine = enginestrategy.create_engine("sqlite:///state.sqlite", self.basedir)
        with engine.begin() as conn:
            metadata.create_all(conn)
        p = pool.DBThreadPool(engine, fake)

        d = p.do(lambda conn: conn.execute(items.insert().values(name="early")))
        self.assertFalse(p.running)
        self.assertEqual(fake.triggers, {})

        fake.run()
        self.assertTrue(p.running)
        self.assertEqual([key[:2] for key in fake.triggers], [("during", "shutdown")])
        yield d  # the call queued before the start ran

        yield fake.fire_shutdown()
        self.assertFalse(p.running)
        self.assertEqual(fake.triggers, {})
        with self.assertRaises(RuntimeError):
            yield p.do(self.thd_names)

    @defer.inlineCallbacks
    def test_explicit_shutdown_removes_trigger(self):
        fake = LifeCycleReactor()
        engine = enginestrategy.create_engine("sqlite:///state.sqlite", self.basedir)
        p = pool.DBThreadPool(engine, fake)
        fake.run()
        yield p.shutdown()
        self.assertEqual(fake.triggers, {})

    @defer.inlineCallbacks
    def test_shutdown_before_start(self):
        fake = LifeCycleReactor()
        engine = enginestrategy.create_engine("sqlite:///state.sqlite", self.basedir)
        with engine.begin() as conn:
            metadata.create_all(conn)
        p = pool.DBThreadPool(engine, fake)
        d = p.do(lambda conn: conn.execute(items.insert().values(name="queued")))
        yield p.shutdown()
        yield d  # queued before the start: still run
        fake.run()  # too late: stays stopped
        self.assertFalse(p.running)
        self.assertEqual(fake.triggers, {})
