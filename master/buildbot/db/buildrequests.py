"""Build requests and their claims by masters.

A master claims a request by inserting its row in `buildrequest_claims`; the
unique index on `brid` makes two masters' claims on one request exclusive,
so a claim needs no lock: the loser's insert fails and its transaction,
with every other claim of the same call, is rolled back.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from twisted.internet import defer

from buildbot.db import base
from buildbot.process.results import RETRY
from buildbot.util import datetime2epoch, epoch2datetime

# ids per IN (...) list, well below every back-end's parameter limit
BATCH_SIZE = 100


class AlreadyClaimedError(Exception):
    """At least one of the requests is claimed already (usually by another master)."""


class NotClaimedError(Exception):
    """At least one of the requests is not claimed by this master, or is complete."""


@dataclasses.dataclass
class BuildRequestModel:
    buildrequestid: int
    buildsetid: int
    builderid: int
    buildername: str | None
    submitted_at: datetime.datetime
    complete_at: datetime.datetime | None = None
    complete: bool = False
    results: int | None = None
    waited_for: bool = False
    priority: int = 0
    claimed_at: datetime.datetime | None = None
    claimed_by_masterid: int | None = None

    @property
    def claimed(self) -> bool:
        return self.claimed_at is not None


def make_model(req: Any, claim: Any, buildername: str | None) -> BuildRequestModel:
    """From mappings: a request row, its claim row (or None) and the builder's name."""
    return BuildRequestModel(
        buildrequestid=req["id"],
        buildsetid=req["buildsetid"],
        builderid=req["builderid"],
        buildername=buildername,
        submitted_at=epoch2datetime(req["submitted_at"]),
        complete_at=epoch2datetime(req["complete_at"]),
        complete=bool(req["complete"]),
        results=req["results"],
        waited_for=bool(req["waited_for"]),
        priority=req["priority"],
        claimed_at=epoch2datetime(claim["claimed_at"]) if claim is not None else None,
        claimed_by_masterid=claim["masterid"] if claim is not None else None,
    )


def batches(ids: Iterable[int], size: int = BATCH_SIZE) -> Iterator[list[int]]:
    ids = list(ids)
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def unique_ids(ids: Iterable[int]) -> list[int]:
    """The ids once each, sorted: concurrent claims then lock rows in one order."""
    return sorted(set(ids))


class BuildRequestsConnectorComponent(base.DBConnectorComponent):
    def _select(self) -> sa.Select:
        model = self.db.model
        reqs, claims, builders = model.buildrequests, model.buildrequest_claims, model.builders
        return sa.select(
            reqs,
            claims.c.claimed_at,
            claims.c.masterid,
            builders.c.name.label("buildername"),
        ).select_from(
            reqs.outerjoin(claims, claims.c.brid == reqs.c.id).outerjoin(
                builders, builders.c.id == reqs.c.builderid
            )
        )

    @staticmethod
    def _model(row: Any) -> BuildRequestModel:
        m = row._mapping
        claim = m if m["claimed_at"] is not None else None
        return make_model(m, claim, m["buildername"])

    def getBuildRequest(self, brid: int) -> defer.Deferred[BuildRequestModel | None]:
        q = self._select().where(self.db.model.buildrequests.c.id == brid)

        def thdGetBuildRequest(conn: sa.Connection) -> BuildRequestModel | None:
            row = conn.execute(q).first()
            return self._model(row) if row is not None else None

        return self.db.pool.do(thdGetBuildRequest)

    def getBuildRequests(
        self,
        builderid: int | None = None,
        complete: bool | None = None,
        claimed: bool | int | None = None,
        bsid: int | None = None,
        branch: str | None = None,
        repository: str | None = None,
        resultSpec: Any = None,
    ) -> defer.Deferred[list[BuildRequestModel]]:
        """Requests by id, filtered.

        `claimed`: True (claimed by anyone), False (unclaimed and incomplete) or
        a masterid (claimed by that master). `branch` / `repository` keep
        requests whose buildset has a matching sourcestamp. (`resultSpec` is
        not applied here.)
        """
        model = self.db.model
        reqs, claims = model.buildrequests, model.buildrequest_claims
        q = self._select()
        if claimed is not None:
            if claimed is True:
                q = q.where(claims.c.brid != sa.null())
            elif claimed is False:
                q = q.where((claims.c.brid == sa.null()) & (reqs.c.complete == 0))
            else:
                q = q.where(claims.c.masterid == claimed)
        if builderid is not None:
            q = q.where(reqs.c.builderid == builderid)
        if complete is not None:
            q = q.where(reqs.c.complete != 0 if complete else reqs.c.complete == 0)
        if bsid is not None:
            q = q.where(reqs.c.buildsetid == bsid)
        if branch is not None or repository is not None:
            bss, ss = model.buildset_sourcestamps, model.sourcestamps
            match = (
                sa.select(bss.c.id)
                .join(ss, ss.c.id == bss.c.sourcestampid)
                .where(bss.c.buildsetid == reqs.c.buildsetid)
            )
            if branch is not None:
                match = match.where(ss.c.branch == branch)
            if repository is not None:
                match = match.where(ss.c.repository == repository)
            q = q.where(match.exists())
        q = q.order_by(reqs.c.id)

        def thdGetBuildRequests(conn: sa.Connection) -> list[BuildRequestModel]:
            return [self._model(row) for row in conn.execute(q)]

        return self.db.pool.do(thdGetBuildRequests)

    def claimBuildRequests(
        self, brids: Iterable[int], claimed_at: datetime.datetime | None = None
    ) -> defer.Deferred[None]:
        """Claim all the requests for this master, or none (AlreadyClaimedError)."""
        at = datetime2epoch(claimed_at) if claimed_at is not None else self._now()
        masterid = self.db.master.masterid
        claims = self.db.model.buildrequest_claims
        # multi-row VALUES statements rather than executemany, which psycopg
        # pipelines (and then complains noisily when one insert fails)
        inserts = [
            claims.insert().values(
                [{"brid": brid, "masterid": masterid, "claimed_at": at} for brid in batch]
            )
            for batch in batches(unique_ids(brids))
        ]

        def thdClaimBuildRequests(conn: sa.Connection) -> None:
            try:
                for q in inserts:
                    conn.execute(q)
            except sa.exc.IntegrityError as e:
                # raising rolls back the claims this call did make
                raise AlreadyClaimedError("some of the build requests are claimed already") from e

        return self.db.pool.do(thdClaimBuildRequests)

    def unclaimBuildRequests(self, brids: Iterable[int]) -> defer.Deferred[None]:
        """Drop this master's claims on the requests (others' claims stay)."""
        claims = self.db.model.buildrequest_claims
        masterid = self.db.master.masterid
        deletes = [
            claims.delete().where(claims.c.brid.in_(batch) & (claims.c.masterid == masterid))
            for batch in batches(unique_ids(brids))
        ]

        def thdUnclaimBuildRequests(conn: sa.Connection) -> None:
            for q in deletes:
                conn.execute(q)

        return self.db.pool.do(thdUnclaimBuildRequests)

    def completeBuildRequests(
        self, brids: Iterable[int], results: int, complete_at: datetime.datetime | None = None
    ) -> defer.Deferred[None]:
        """Complete all the requests or none.

        Each must be incomplete and claimed by this master, else NotClaimedError.
        RETRY is not a result a request can complete with.
        """
        if results == RETRY:
            return defer.fail(ValueError("a build request cannot complete with RETRY"))
        at = datetime2epoch(complete_at) if complete_at is not None else self._now()
        model = self.db.model
        reqs, claims = model.buildrequests, model.buildrequest_claims
        mine = (
            sa.select(claims.c.brid)
            .where((claims.c.brid == reqs.c.id) & (claims.c.masterid == self.db.master.masterid))
            .exists()
        )
        updates = [
            (
                len(batch),
                reqs.update()
                .where(reqs.c.id.in_(batch) & (reqs.c.complete == 0) & mine)
                .values(complete=1, results=results, complete_at=at),
            )
            for batch in batches(unique_ids(brids))
        ]

        def thdCompleteBuildRequests(conn: sa.Connection) -> None:
            for expected, q in updates:
                if conn.execute(q).rowcount != expected:
                    raise NotClaimedError("some build requests are complete or not ours")

        return self.db.pool.do(thdCompleteBuildRequests)

    def set_build_requests_priority(
        self, brids: Iterable[int], priority: int
    ) -> defer.Deferred[None]:
        """Set the priority of all the requests, or of none if one is complete or unknown."""
        reqs = self.db.model.buildrequests
        updates = [
            (
                len(batch),
                reqs.update()
                .where(reqs.c.id.in_(batch) & (reqs.c.complete == 0))
                .values(priority=priority),
            )
            for batch in batches(unique_ids(brids))
        ]

        def thdSetPriority(conn: sa.Connection) -> None:
            for expected, q in updates:
                if conn.execute(q).rowcount != expected:
                    raise NotClaimedError("some build requests are complete or unknown")

        return self.db.pool.do(thdSetPriority)

    def releaseClaimsForMaster(self, masterid: int) -> defer.Deferred[list[int]]:
        """Drop a (dead) master's claims on incomplete requests; return their ids.

        Not in Buildbot 4.3's API: there a dead master's requests are
        unclaimed through its unfinished builds.
        """
        model = self.db.model
        reqs, claims = model.buildrequests, model.buildrequest_claims
        select = (
            sa.select(claims.c.brid)
            .join(reqs, reqs.c.id == claims.c.brid)
            .where((claims.c.masterid == masterid) & (reqs.c.complete == 0))
            .order_by(claims.c.brid)
        )

        def thdRelease(conn: sa.Connection) -> list[int]:
            brids = [r.brid for r in conn.execute(select)]
            for batch in batches(brids):
                conn.execute(
                    claims.delete().where(
                        claims.c.brid.in_(batch) & (claims.c.masterid == masterid)
                    )
                )
            return brids

        return self.db.pool.do(thdRelease)
