"""Running blocking SQLAlchemy code in threads, one transaction per call.

A DB component builds its query on the reactor thread, then hands a nested
``thd*`` function to `DBThreadPool.do`; the function runs in a pool thread with
a connection of its own and touches nothing but its arguments::

    def getStep(self, stepid):
        tbl = self.db.model.steps
        q = tbl.select().where(tbl.c.id == stepid)

        def thdGetStep(conn):
            return conn.execute(q).fetchone()

        return self.db.pool.do(thdGetStep)

Each call is one transaction: committed when the function returns, rolled back
when it raises, so a call that writes several rows writes all or none.  The
function may commit earlier itself (``conn.commit()``) to split long work.

Errors that say "try again" -- a busy or locked SQLite database, a MySQL
deadlock or lock wait timeout, a PostgreSQL serialization failure or deadlock,
a connection that was dropped -- roll back and re-run the whole function, a
bounded number of times with a growing pause taken in the thread.  A function
that commits part of its work itself must therefore be safe to run again.  Any
other exception reaches the caller unchanged, through the Deferred.

The result of the function must be plain data (rows fetched, ids...), never a
live cursor: the connection is gone when the Deferred fires.
"""

from __future__ import annotations

import collections
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from twisted.internet import defer
from twisted.python import failure, log

from buildbot.db import enginestrategy

T = TypeVar("T")

# SQLite primary result codes (an extended code keeps them in its low byte)
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_TRANSIENT_MESSAGES = ("database is locked", "database table is locked", "database is busy")
# MySQL/MariaDB server errors
_MYSQL_LOCK_WAIT_TIMEOUT = 1205
_MYSQL_DEADLOCK = 1213
# PostgreSQL SQLSTATEs
_PG_TRANSIENT_STATES = ("40001", "40P01")  # serialization_failure, deadlock_detected


def is_transient_error(exc: BaseException) -> bool:
    """Whether re-running the transaction that raised ``exc`` may succeed."""
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig

    sqlite_code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):
        return sqlite_code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)

    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if isinstance(state, str):
        return state in _PG_TRANSIENT_STATES

    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and not isinstance(args[0], bool):
        return args[0] in (_MYSQL_LOCK_WAIT_TIMEOUT, _MYSQL_DEADLOCK)

    # an sqlite3 error built without its result code
    message = str(orig).lower()
    return any(m in message for m in _SQLITE_TRANSIENT_MESSAGES)


class DBThreadPool:
    """``max_threads`` threads sharing ``engine``, each taking calls from one queue.

    The threads start when the reactor runs (at once if it already does) and
    stop at reactor shutdown or on `shutdown`.  Calls made before the start
    wait in the queue.  SQLite always gets a single thread, which keeps its
    connection open between transactions; the other back-ends take one from
    the engine's pool per transaction (the pool recycles and checks them).

    The threads are plain ones reading a `queue.SimpleQueue`: handing a call
    to Twisted's thread pool and back cost as much as the SQL of a small
    transaction.
    """

    #: how many times a transaction is re-run after a transient error
    max_retries = 5
    #: pause before the first re-run, in seconds; doubled before each next one
    retry_backoff = 0.05
    #: longest pause between two runs, in seconds
    max_retry_backoff = 2.0

    def __init__(
        self,
        engine: Engine,
        reactor=None,
        max_threads: int | None = None,
        *,
        max_retries: int | None = None,
        retry_backoff: float | None = None,
        verbose: bool = False,
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor as global_reactor

            reactor = global_reactor
        self.engine = engine
        self.reactor = reactor
        self.verbose = verbose
        if max_retries is not None:
            self.max_retries = max_retries
        if retry_backoff is not None:
            self.retry_backoff = retry_backoff

        if max_threads is None:
            max_threads = enginestrategy.thread_pool_size(engine)
        self._keep_connection = engine.dialect.name == "sqlite"
        if self._keep_connection:
            max_threads = 1
        self.max_threads = max(1, max_threads)

        # (deferred, kind, callable, args, kwargs) of waiting calls; None stops a thread
        self._queue: queue.SimpleQueue[tuple | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._shutdown_d: defer.Deferred | None = None
        self._shutdown_trigger = None
        # (deferred, ok, result) of finished calls, appended by the pool threads
        self._results: collections.deque[tuple[defer.Deferred, bool, Any]] = collections.deque()
        self._wake_pending = False
        reactor.callWhenRunning(self._start)

    # --- life cycle ---------------------------------------------------------

    @property
    def running(self) -> bool:
        return bool(self._threads) and self._shutdown_d is None

    def _start(self) -> None:
        if self._shutdown_d is not None or self._threads:
            return
        self._start_threads()
        self._shutdown_trigger = self.reactor.addSystemEventTrigger(
            "during", "shutdown", self._on_reactor_shutdown
        )

    def _start_threads(self) -> None:
        for i in range(self.max_threads):
            t = threading.Thread(
                target=self._thd_work, name=f"PoolThread-DBThreadPool-{i}", daemon=True
            )
            t.start()
            self._threads.append(t)

    def _on_reactor_shutdown(self) -> defer.Deferred:
        self._shutdown_trigger = None
        return self.shutdown()

    def shutdown(self) -> defer.Deferred:
        """Finish the queued calls, stop the threads, close the connections.

        Calls made afterwards fail at once.  Safe to call more than once.
        """
        if self._shutdown_d is not None:
            return _chain(self._shutdown_d)
        self._shutdown_d = d = defer.Deferred()
        if self._shutdown_trigger is not None:
            self.reactor.removeSystemEventTrigger(self._shutdown_trigger)
            self._shutdown_trigger = None

        if not self._threads:
            self._start_threads()  # so that calls queued before the start still run
        threads_ = list(self._threads)
        for _ in threads_:
            self._queue.put(None)  # behind every queued call
        engine = self.engine
        reactor = self.reactor

        def thd_stop() -> None:
            try:
                for t in threads_:
                    t.join()
                engine.dispose()
            except Exception:
                log.err(None, "DBThreadPool: error while shutting down")
            reactor.callFromThread(d.callback, None)

        threading.Thread(target=thd_stop, name="DBThreadPool-shutdown", daemon=True).start()
        return _chain(d)

    # --- running work -------------------------------------------------------

    def do(self, callable: Callable[..., T], *args: Any, **kwargs: Any) -> defer.Deferred[T]:
        """Run ``callable(conn, *args, **kwargs)`` in a pool thread, in one transaction."""
        return self._submit(True, callable, args, kwargs)

    def do_with_engine(
        self, callable: Callable[..., T], *args: Any, **kwargs: Any
    ) -> defer.Deferred[T]:
        """Run ``callable(engine, *args, **kwargs)`` in a pool thread, as it is.

        For work that manages its own connections and transactions (schema
        creation, migrations); nothing is retried.
        """
        return self._submit(False, callable, args, kwargs)

    def _submit(
        self, in_transaction: bool, callable: Callable[..., T], args: tuple, kwargs: dict
    ) -> defer.Deferred[T]:
        if self._shutdown_d is not None:
            return defer.fail(RuntimeError("the database thread pool is shut down"))
        d: defer.Deferred[T] = defer.Deferred()
        self._queue.put((d, in_transaction, callable, args, kwargs))
        return d

    # Results go back to the reactor through one queue, with one wake-up for all the
    # results that arrive before the reactor drains it: every wake-up is a write to
    # the reactor's waker pipe, during which the DB thread gives up the GIL and then
    # waits for it, while the busy reactor thread holds it for up to a switch interval.
    # One wake-up per transaction made a busy master's DB thread wait more than it ran.

    def _thd_deliver(self, d: defer.Deferred, ok: bool, result: Any) -> None:
        self._results.append((d, ok, result))
        if not self._wake_pending:
            self._wake_pending = True
            self.reactor.callFromThread(self._deliver)

    def _deliver(self) -> None:
        self._wake_pending = False
        results = self._results
        while results:
            d, ok, result = results.popleft()
            if d.called:  # cancelled by its caller meanwhile
                continue
            if ok:
                d.callback(result)
            else:
                d.errback(result)

    def _thd_work(self) -> None:
        """One pool thread: run calls until told to stop, with its own connection."""
        holder = _ConnectionHolder(self.engine, keep=self._keep_connection)
        try:
            while True:
                job = self._queue.get()
                if job is None:
                    return
                d, in_transaction, fn, args, kwargs = job
                try:
                    if in_transaction:
                        result = self._thd_transaction(holder, fn, args, kwargs)
                    else:
                        result = fn(self.engine, *args, **kwargs)
                except BaseException:
                    self._thd_deliver(d, False, failure.Failure())
                else:
                    self._thd_deliver(d, True, result)
        finally:
            holder.close()

    def _thd_transaction(
        self, holder: _ConnectionHolder, fn: Callable[..., T], args: tuple, kwargs: dict
    ) -> T:
        attempt = 0
        while True:
            started = time.monotonic() if self.verbose else 0.0
            try:
                conn = holder.get()
                try:
                    result = fn(conn, *args, **kwargs)
                    conn.commit()
                except BaseException:
                    holder.rollback()
                    raise
                finally:
                    holder.release()
            except sa.exc.DBAPIError as e:
                if attempt >= self.max_retries or not is_transient_error(e):
                    raise
                attempt += 1
                pause = min(self.retry_backoff * 2 ** (attempt - 1), self.max_retry_backoff)
                log.msg(
                    f"DBThreadPool: {_name(fn)} hit a transient database error "
                    f"({_short(e)}); retry {attempt}/{self.max_retries} in {pause:.2f}s"
                )
                time.sleep(pause)
                continue
            if self.verbose:
                log.msg(f"DBThreadPool: {_name(fn)} took {time.monotonic() - started:.3f}s")
            return result


class _ConnectionHolder:
    """The connection of one pool thread: kept between transactions (``keep``), or
    taken from the engine for each one and given back after it."""

    def __init__(self, engine: Engine, keep: bool) -> None:
        self.engine = engine
        self.keep = keep
        self.conn: sa.Connection | None = None

    def get(self) -> sa.Connection:
        if self.conn is None:
            self.conn = self.engine.connect()
        return self.conn

    def rollback(self) -> None:
        conn = self.conn
        if conn is None:
            return
        try:
            conn.rollback()
        except Exception:
            # a connection that cannot even roll back is not used again
            self.conn = None
            try:
                conn.invalidate()
                conn.close()
            except Exception:
                pass

    def release(self) -> None:
        conn = self.conn
        if conn is None:
            return
        if not self.keep or conn.invalidated:
            self.conn = None
            conn.close()

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                log.err(None, "DBThreadPool: error while closing a connection")


def _chain(d: defer.Deferred) -> defer.Deferred:
    """A new Deferred firing with ``d``'s result (``d`` never fails)."""
    out: defer.Deferred = defer.Deferred()

    def relay(result):
        out.callback(result)
        return result

    d.addCallback(relay)
    return out


def _name(fn: Callable) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


def _short(exc: BaseException, limit: int = 200) -> str:
    lines = str(getattr(exc, "orig", None) or exc).splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= limit else text[:limit] + "..."
