"""What the UI's builders and home pages show for every builder at once: its latest
builds, how many run and how many requests wait. Three queries in one thread hop,
whatever the number of builders.

A function taking the connector (not a component): it reads the tables of several
components and serves only `ui-api` in the web server.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
from twisted.internet import defer

from buildbot.db.builds import BuildModel, model_from_mapping


@dataclasses.dataclass
class BuilderSummary:
    recent_builds: list[BuildModel] = dataclasses.field(default_factory=list)
    running: int = 0
    pending: int = 0


def get_builders_summary(
    db: Any, builds_per_builder: int
) -> defer.Deferred[dict[int, BuilderSummary]]:
    """{builderid: BuilderSummary} for the builders that have builds or requests; the
    recent builds (at most `builds_per_builder`) newest first."""
    model = db.model
    b = model.builds
    # ROW_NUMBER() needs SQLite >= 3.25, PostgreSQL, MySQL >= 8 or MariaDB >= 10.2
    rank = (
        sa.func.row_number().over(partition_by=b.c.builderid, order_by=b.c.id.desc()).label("rank")
    )
    ranked = sa.select(b, rank).subquery()
    recent_q = (
        sa.select(*(ranked.c[col.name] for col in b.c))
        .where(ranked.c.rank <= builds_per_builder)
        .order_by(ranked.c.builderid, ranked.c.id.desc())
    )
    running_q = (
        sa.select(b.c.builderid, sa.func.count())
        .where(b.c.complete_at.is_(None))
        .group_by(b.c.builderid)
    )
    br, claims = model.buildrequests, model.buildrequest_claims
    pending_q = (
        sa.select(br.c.builderid, sa.func.count())
        .select_from(br.outerjoin(claims, claims.c.brid == br.c.id))
        .where(claims.c.brid.is_(None), br.c.complete == 0)
        .group_by(br.c.builderid)
    )

    def thd(conn: sa.Connection) -> dict[int, BuilderSummary]:
        out: dict[int, BuilderSummary] = {}

        def of(builderid: int) -> BuilderSummary:
            s = out.get(builderid)
            if s is None:
                s = out[builderid] = BuilderSummary()
            return s

        if builds_per_builder > 0:
            for row in conn.execute(recent_q):
                of(row.builderid).recent_builds.append(model_from_mapping(row._mapping))
        for builderid, count in conn.execute(running_q):
            of(builderid).running = count
        for builderid, count in conn.execute(pending_q):
            of(builderid).pending = count
        return out

    return db.pool.do(thd)
