"""The verified fake of the DB layer: in-memory tables behind the real component API.

Test data rows (`Builder`, `Build`, ...) work with the fake and the real
database alike; see `buildbot.test.util.db`.
"""

from buildbot.test.fakedb.connector import FakeDBConnector
from buildbot.test.fakedb.rows import *  # noqa: F403
from buildbot.test.fakedb.rows import Row

__all__ = ["FakeDBConnector", "Row"]
