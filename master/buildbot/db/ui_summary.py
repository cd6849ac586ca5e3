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
    recent_q = _recent_builds_query(model, builds_per_builder)
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
        recent = recent_q(conn.dialect.name)
        out: dict[int, BuilderSummary] = {}

        def of(builderid: int) -> BuilderSummary:
            s = out.get(builderid)
            if s is None:
                s = out[builderid] = BuilderSummary()
            return s

        if builds_per_builder > 0:
            for row in conn.execute(recent):
                of(row.builderid).recent_builds.append(model_from_mapping(row._mapping))
        for builderid, count in conn.execute(running_q):
            of(builderid).running = count
        for builderid, count in conn.execute(pending_q):
            of(builderid).pending = count
        return out

    return db.pool.do(thd)


def _recent_builds_query(model: Any, n: int) -> Any:
    """The query of each builder's `n` latest builds, newest first, by dialect.

    Each builder's builds are read through the (builderid, number) index, a few ms for
    200 builders and 10,000 builds, where ranking every build with ROW_NUMBER() takes
    ten times longer: a LATERAL join on PostgreSQL, a correlated `IN (... LIMIT n)`
    on SQLite (which has no LATERAL). MySQL/MariaDB refuse LIMIT there and MariaDB
    has no LATERAL, so they rank with the window query (MySQL >= 8, MariaDB >= 10.2).
    """
    b, builders = model.builds, model.builders
    order = (b.c.builderid, b.c.id.desc())

    def query(dialect: str) -> Any:
        if dialect == "mysql":
            rank = sa.func.row_number().over(partition_by=b.c.builderid, order_by=b.c.id.desc())
            ranked = sa.select(b, rank.label("rank")).subquery()
            return (
                sa.select(*(ranked.c[col.name] for col in b.c))
                .where(ranked.c.rank <= n)
                .order_by(ranked.c.builderid, ranked.c.id.desc())
            )
        latest = (
            sa.select(b).where(b.c.builderid == builders.c.id).order_by(b.c.number.desc()).limit(n)
        )
        if dialect == "postgresql":
            lat = latest.lateral("latest")
            return (
                sa.select(*(lat.c[col.name] for col in b.c))
                .select_from(builders.join(lat, sa.true()))
                .order_by(lat.c.builderid, lat.c.id.desc())
            )
        inner = b.alias("latest")
        ids = (
            sa.select(inner.c.id)
            .where(inner.c.builderid == builders.c.id)
            .order_by(inner.c.number.desc())
            .limit(n)
            .correlate(builders)
            .scalar_subquery()
        )
        # builders drive the loop (the join has no condition to plan around), and each
        # one's builds are then fetched by primary key
        return (
            sa.select(b)
            .select_from(builders.join(b, sa.true()))
            .where(b.c.id.in_(ids))
            .order_by(*order)
        )

    return query
