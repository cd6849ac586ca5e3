"""The `changes` table and its satellites: files, properties and users of a change."""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from twisted.internet import defer

from buildbot.db import base
from buildbot.db.sourcestamps import thd_find_sourcestamp_id
from buildbot.util import chunkify, datetime2epoch, epoch2datetime

# how many ids go into one IN (...) clause
BATCH = 100

# build result meaning success (buildbot.process.results.SUCCESS)
SUCCESS = 0


@dataclasses.dataclass
class ChangeModel:
    changeid: int
    author: str
    committer: str | None
    comments: str
    branch: str | None
    revision: str | None
    revlink: str | None
    when_timestamp: datetime.datetime
    category: str | None
    sourcestampid: int
    parent_changeids: list[int] = dataclasses.field(default_factory=list)
    repository: str = ""
    codebase: str = ""
    project: str = ""
    files: list[str] = dataclasses.field(default_factory=list)
    properties: dict[str, tuple[Any, str]] = dataclasses.field(default_factory=dict)


def model_from_row(
    row: Any, files: list[str], properties: dict[str, tuple[Any, str]]
) -> ChangeModel:
    return ChangeModel(
        changeid=row.changeid,
        author=row.author,
        committer=row.committer,
        comments=row.comments,
        branch=row.branch,
        revision=row.revision,
        revlink=row.revlink,
        when_timestamp=epoch2datetime(row.when_timestamp),
        category=row.category,
        sourcestampid=row.sourcestampid,
        parent_changeids=[row.parent_changeids] if row.parent_changeids is not None else [],
        repository=row.repository,
        codebase=row.codebase,
        project=row.project,
        files=files,
        properties=properties,
    )


def decode_property(stored: str) -> tuple[Any, str]:
    value, source = json.loads(stored)
    return value, source


def walk_changes_between(
    to_change: ChangeModel, from_changeid: int | None, get_change
) -> Iterable[ChangeModel]:
    """`to_change` and its ancestors newer than `from_changeid` (helper of both twins).

    Parents always have smaller ids, so the walk ends even if `from_changeid`
    is not an ancestor.
    """
    change: ChangeModel | None = to_change
    while change is not None:
        if from_changeid is not None and change.changeid <= from_changeid:
            return
        yield change
        if not change.parent_changeids or from_changeid is None:
            return
        change = get_change(change.parent_changeids[0])


class ChangesConnectorComponent(base.DBConnectorComponent):
    # --- reading, on the pool thread ---

    def _thd_models(self, conn: sa.Connection, rows: list[Any]) -> list[ChangeModel]:
        """Models for change rows, with their files and properties (few queries)."""
        m = self.db.model
        files: dict[int, list[str]] = {r.changeid: [] for r in rows}
        props: dict[int, dict[str, tuple[Any, str]]] = {r.changeid: {} for r in rows}
        for ids in chunkify(list(files), BATCH):
            cf = m.change_files
            q = sa.select(cf.c.changeid, cf.c.filename).where(cf.c.changeid.in_(ids))
            for r in conn.execute(q):
                files[r.changeid].append(r.filename)
            cp = m.change_properties
            q = sa.select(cp).where(cp.c.changeid.in_(ids))
            for r in conn.execute(q):
                props[r.changeid][r.property_name] = decode_property(r.property_value)
        for names in files.values():
            names.sort()
        return [model_from_row(r, files[r.changeid], props[r.changeid]) for r in rows]

    def _thd_get_change(self, conn: sa.Connection, changeid: int) -> ChangeModel | None:
        ch = self.db.model.changes
        row = conn.execute(ch.select().where(ch.c.changeid == changeid)).first()
        return self._thd_models(conn, [row])[0] if row is not None else None

    # --- writing ---

    def addChange(
        self,
        author: str | None = None,
        committer: str | None = None,
        files: list[str] | None = None,
        comments: str | None = None,
        is_dir: Any = None,
        revision: str | None = None,
        when_timestamp: datetime.datetime | None = None,
        branch: str | None = None,
        category: str | None = None,
        revlink: str | None = "",
        properties: dict[str, tuple[Any, str]] | None = None,
        repository: str = "",
        codebase: str = "",
        project: str = "",
        uid: int | None = None,
        _test_changeid: int | None = None,
    ) -> defer.Deferred[int]:
        """Record a change (with its sourcestamp, files, properties and user); its id.

        Its parent is the latest change on the same branch of the same
        repository, project and codebase. `is_dir` is accepted and ignored.
        """
        m = self.db.model
        ch = m.changes
        files = list(files or [])
        properties = dict(properties or {})
        repository, codebase, project = repository or "", codebase or "", project or ""
        when = datetime2epoch(when_timestamp) if when_timestamp is not None else self._now()
        try:
            for column, value in [
                (ch.c.author, author),
                (ch.c.committer, committer),
                (ch.c.branch, branch),
                (ch.c.revision, revision),
                (ch.c.revlink, revlink),
                (ch.c.category, category),
                (ch.c.repository, repository),
                (ch.c.codebase, codebase),
                (ch.c.project, project),
                # the sourcestamp's columns (identical today, but they are its own)
                (m.sourcestamps.c.branch, branch),
                (m.sourcestamps.c.revision, revision),
            ]:
                self.checkLength(column, value)
            for filename in files:
                self.checkLength(m.change_files.c.filename, filename)
            for name in properties:
                self.checkLength(m.change_properties.c.property_name, name)
            encoded_props = [
                {"property_name": name, "property_value": json.dumps([value, source])}
                for name, (value, source) in properties.items()
            ]
        except Exception:
            return defer.fail()
        now = self._now()
        values: dict[str, Any] = {
            "author": author,
            "committer": committer,
            "comments": comments,
            "branch": branch,
            "revision": revision,
            "revlink": revlink,
            "when_timestamp": when,
            "category": category,
            "repository": repository,
            "codebase": codebase,
            "project": project,
        }
        if _test_changeid is not None:
            values["changeid"] = _test_changeid
        parent_q = (
            sa.select(ch.c.changeid)
            .where(
                (ch.c.branch == branch)
                & (ch.c.repository == repository)
                & (ch.c.project == project)
                & (ch.c.codebase == codebase)
            )
            .order_by(ch.c.changeid.desc())
            .limit(1)
        )

        def thdAddChange(conn: sa.Connection) -> int:
            ssid = thd_find_sourcestamp_id(
                conn,
                m,
                now,
                branch=branch,
                revision=revision,
                repository=repository,
                project=project,
                codebase=codebase,
            )
            parent = conn.execute(parent_q).scalar()
            changeid = conn.execute(
                ch.insert().values(sourcestampid=ssid, parent_changeids=parent, **values)
            ).inserted_primary_key[0]
            if files:
                conn.execute(
                    m.change_files.insert(),
                    [{"changeid": changeid, "filename": f} for f in files],
                )
            if encoded_props:
                conn.execute(
                    m.change_properties.insert(),
                    [{"changeid": changeid, **p} for p in encoded_props],
                )
            if uid is not None:
                conn.execute(m.change_users.insert().values(changeid=changeid, uid=uid))
            return changeid

        return self.db.pool.do(thdAddChange)

    # --- reading ---

    def getChange(self, changeid: int) -> defer.Deferred[ChangeModel | None]:
        """The change with that id, or None."""

        def thdGetChange(conn: sa.Connection) -> ChangeModel | None:
            return self._thd_get_change(conn, changeid)

        return self.db.pool.do(thdGetChange)

    def getChangeFromSSid(self, sourcestampid: int) -> defer.Deferred[ChangeModel | None]:
        """The latest change made with that sourcestamp, or None."""
        ch = self.db.model.changes
        q = (
            ch.select()
            .where(ch.c.sourcestampid == sourcestampid)
            .order_by(ch.c.changeid.desc())
            .limit(1)
        )

        def thdGetChangeFromSSid(conn: sa.Connection) -> ChangeModel | None:
            row = conn.execute(q).first()
            return self._thd_models(conn, [row])[0] if row is not None else None

        return self.db.pool.do(thdGetChangeFromSSid)

    def getChangeUids(self, changeid: int) -> defer.Deferred[list[int]]:
        """The users recorded for a change."""
        cu = self.db.model.change_users
        q = sa.select(cu.c.uid).where(cu.c.changeid == changeid).order_by(cu.c.uid)

        def thdGetChangeUids(conn: sa.Connection) -> list[int]:
            return [r.uid for r in conn.execute(q)]

        return self.db.pool.do(thdGetChangeUids)

    def getChanges(
        self, limit: int | None = None, offset: int | None = None
    ) -> defer.Deferred[list[ChangeModel]]:
        """Changes ordered by id (oldest first), optionally one page of them."""
        ch = self.db.model.changes
        q = ch.select().order_by(ch.c.changeid)
        if limit is not None:
            q = q.limit(limit)
        if offset:
            q = q.offset(offset)

        def thdGetChanges(conn: sa.Connection) -> list[ChangeModel]:
            return self._thd_models(conn, list(conn.execute(q)))

        return self.db.pool.do(thdGetChanges)

    def getChangesCount(self) -> defer.Deferred[int]:
        q = sa.select(sa.func.count()).select_from(self.db.model.changes)

        def thdCount(conn: sa.Connection) -> int:
            return conn.execute(q).scalar() or 0

        return self.db.pool.do(thdCount)

    def getLatestChangeid(self) -> defer.Deferred[int | None]:
        """The id of the newest change, or None if there is none."""
        q = sa.select(sa.func.max(self.db.model.changes.c.changeid))

        def thdLatest(conn: sa.Connection) -> int | None:
            return conn.execute(q).scalar()

        return self.db.pool.do(thdLatest)

    def getChangesForBuild(self, buildid: int) -> defer.Deferred[list[ChangeModel]]:
        """The changes a build contains.

        Those of its sourcestamps, and, per codebase, their ancestors back to
        (not including) the change of the previous successful build of the
        same builder on the same branch and repository.
        """
        m = self.db.model
        builds, brs, bss, ss, ch = (
            m.builds,
            m.buildrequests,
            m.buildset_sourcestamps,
            m.sourcestamps,
            m.changes,
        )

        def sourcestamps_q(build_id_expr):
            return (
                sa.select(ss.c.id, ss.c.codebase, ss.c.branch, ss.c.repository)
                .select_from(
                    builds.join(brs, builds.c.buildrequestid == brs.c.id)
                    .join(bss, bss.c.buildsetid == brs.c.buildsetid)
                    .join(ss, ss.c.id == bss.c.sourcestampid)
                )
                .where(builds.c.id == build_id_expr)
                .order_by(ss.c.id)
            )

        def thd_latest_change_row(conn: sa.Connection, ssid: int) -> Any:
            q = (
                ch.select()
                .where(ch.c.sourcestampid == ssid)
                .order_by(ch.c.changeid.desc())
                .limit(1)
            )
            return conn.execute(q).first()

        def thdGetChangesForBuild(conn: sa.Connection) -> list[ChangeModel]:
            build = conn.execute(
                sa.select(builds.c.builderid, builds.c.number).where(builds.c.id == buildid)
            ).first()
            if build is None:
                return []
            stamps = list(conn.execute(sourcestamps_q(buildid)))
            prev = conn.execute(
                sa.select(builds.c.id)
                .where(
                    (builds.c.builderid == build.builderid)
                    & (builds.c.number < build.number)
                    & (builds.c.results == SUCCESS)
                )
                .order_by(builds.c.number.desc())
                .limit(1)
            ).first()
            prev_stamps = list(conn.execute(sourcestamps_q(prev.id))) if prev else []
            result: list[ChangeModel] = []
            for stamp in stamps:
                row = thd_latest_change_row(conn, stamp.id)
                if row is None:
                    continue
                to_change = self._thd_models(conn, [row])[0]
                from_changeid = None
                for p in prev_stamps:
                    if (p.codebase, p.branch, p.repository) == (
                        stamp.codebase,
                        stamp.branch,
                        stamp.repository,
                    ):
                        prev_row = thd_latest_change_row(conn, p.id)
                        if prev_row is not None:
                            from_changeid = prev_row.changeid
                        break
                result.extend(
                    walk_changes_between(
                        to_change, from_changeid, lambda cid: self._thd_get_change(conn, cid)
                    )
                )
            return result

        return self.db.pool.do(thdGetChangesForBuild)

    # --- expiry ---

    def pruneChanges(self, changeHorizon: int | None) -> defer.Deferred[None]:
        """Delete all but the newest `changeHorizon` changes (and what hangs off them)."""
        if not changeHorizon:
            return defer.succeed(None)
        m = self.db.model
        ch = m.changes
        old_ids_q = sa.select(ch.c.changeid).order_by(ch.c.changeid.desc()).offset(changeHorizon)
        # MySQL refuses OFFSET without LIMIT; any bound above the row count will do
        old_ids_q = old_ids_q.limit(2**62)

        def thdPruneChanges(conn: sa.Connection) -> None:
            old_ids = [r.changeid for r in conn.execute(old_ids_q)]
            for ids in chunkify(old_ids, BATCH):
                # SQLite does not enforce the SET NULL of parent_changeids itself
                conn.execute(
                    ch.update().where(ch.c.parent_changeids.in_(ids)).values(parent_changeids=None)
                )
                for table in (
                    m.scheduler_changes,
                    m.change_files,
                    m.change_properties,
                    m.change_users,
                    ch,
                ):
                    conn.execute(table.delete().where(table.c.changeid.in_(ids)))

        return self.db.pool.do(thdPruneChanges)
