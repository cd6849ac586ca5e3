"""A stand-in for the BuildMaster in unit tests: the root of a service tree.

`make_master` gives a master whose reactor is the test's clock, so services
under it schedule on deterministic time. The DB, MQ and data fakes plug in
here as the layers that provide them are built.
"""

from __future__ import annotations

import os
from typing import Any

from buildbot.util import service


class FakeMaster(service.ReconfigurableServiceMixin, service.MasterService):
    def __init__(self, reactor: Any, basedir: str = "basedir", masterid: int = 824) -> None:
        super().__init__(reactor=reactor)
        self.basedir = os.path.abspath(basedir)
        self.masterid = masterid
        # The real master is named "<hostname>:<basedir>".
        self.name = f"fake:{self.basedir}"
        self.db: Any = None
        self.mq: Any = None
        self.data: Any = None
        # the WorkerManager, for tests that give the fake master one
        self.workers: Any = None


def make_master(
    testcase: Any,
    wantDb: bool = False,
    wantMq: bool = False,
    wantData: bool = False,
    reactor: Any = None,
    basedir: str | None = None,
    **kwargs: Any,
) -> FakeMaster:
    """A FakeMaster on `testcase.reactor` (set up by TestReactorMixin), or on `reactor`.

    `wantDb` gives it the fake DB (`buildbot.test.fakedb`), `wantMq` the fake MQ
    (`buildbot.test.fake.fakemq`), which records what is produced, and `wantData`
    the fake data API (`buildbot.test.fake.fakedata`: real reads over the DB,
    recorded updates).

    The master is not started: tests that need running services call
    `startService()` and register `stopService` as a cleanup.
    """
    reactor = reactor if reactor is not None else getattr(testcase, "reactor", None)
    if reactor is None:
        raise RuntimeError(
            "make_master needs a reactor: call self.setup_test_reactor() "
            "(TestReactorMixin) first, or pass reactor="
        )
    if basedir is None:
        basedir = testcase.mktemp()
    master = FakeMaster(reactor, basedir=basedir, **kwargs)
    if wantDb:
        from buildbot.test.fakedb import FakeDBConnector

        master.db = FakeDBConnector(master.basedir)
        master.db.setServiceParent(master)
    if wantMq:
        from buildbot.test.fake import fakemq

        master.mq = fakemq.FakeMQConnector(testcase)
        master.mq.setServiceParent(master)
    if wantData:
        from buildbot.test.fake.fakedata import FakeDataConnector

        if master.db is None:
            raise ValueError("make_master(wantData=True) needs wantDb=True: reads go to the DB")
        master.data = FakeDataConnector(master, testcase)
    return master
