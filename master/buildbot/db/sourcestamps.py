"""The `sourcestamps` and `patches` tables: one row per distinct version of a codebase."""

from __future__ import annotations

import base64
import dataclasses
import datetime
from typing import Any

import sqlalchemy as sa
from twisted.internet import defer

from buildbot.db import base
from buildbot.util import epoch2datetime


@dataclasses.dataclass
class PatchModel:
    patchid: int
    body: bytes
    level: int
    author: str
    comment: str
    subdir: str | None = None


@dataclasses.dataclass
class SourceStampModel:
    ssid: int
    branch: str | None
    revision: str | None
    repository: str
    created_at: datetime.datetime | None
    codebase: str = ""
    project: str = ""
    patch: PatchModel | None = None


def encode_patch_body(body: bytes | str) -> str:
    if isinstance(body, str):
        body = body.encode("utf-8")
    return base64.b64encode(body).decode("ascii")


def decode_patch_body(stored: str) -> bytes:
    return base64.b64decode(stored)


def model_from_row(row: Any) -> SourceStampModel:
    """A model from a sourcestamps row outer-joined with its patch (`patch_*` labels)."""
    patch = None
    if row.patchid is not None:
        patch = PatchModel(
            patchid=row.patchid,
            body=decode_patch_body(row.patch_base64),
            level=row.patchlevel,
            author=row.patch_author,
            comment=row.patch_comment,
            subdir=row.patch_subdir,
        )
    return SourceStampModel(
        ssid=row.id,
        branch=row.branch,
        revision=row.revision,
        repository=row.repository,
        created_at=epoch2datetime(row.created_at),
        codebase=row.codebase,
        project=row.project,
        patch=patch,
    )


def sourcestamp_select(db_model: Any) -> sa.Select:
    """Sourcestamp columns with their patch's, ready for `model_from_row`."""
    ss, p = db_model.sourcestamps, db_model.patches
    return sa.select(
        ss,
        p.c.patchlevel,
        p.c.patch_base64,
        p.c.patch_author,
        p.c.patch_comment,
        p.c.subdir.label("patch_subdir"),
    ).select_from(ss.outerjoin(p, ss.c.patchid == p.c.id))


def thd_find_sourcestamp_id(
    conn: sa.Connection,
    db_model: Any,
    now: int,
    *,
    branch: str | None,
    revision: str | None,
    repository: str,
    project: str,
    codebase: str,
    patch: dict[str, Any] | None = None,
) -> int:
    """Find or create a sourcestamp inside the caller's transaction.

    A patch gets a new `patches` row, and since its id is part of the hash, a
    new sourcestamp: equal patches are never deduplicated.
    """
    ss = db_model.sourcestamps
    patchid = None
    if patch is not None:
        patchid = conn.execute(db_model.patches.insert().values(**patch)).inserted_primary_key[0]
    ss_hash = base.hash_columns(branch, revision, repository, project, codebase, patchid)
    select = sa.select(ss.c.id).where(ss.c.ss_hash == ss_hash)
    row = conn.execute(select).first()
    if row is not None:
        return row.id
    insert = ss.insert().values(
        ss_hash=ss_hash,
        branch=branch,
        revision=revision,
        patchid=patchid,
        repository=repository,
        codebase=codebase,
        project=project,
        created_at=now,
    )
    try:
        with conn.begin_nested():
            return conn.execute(insert).inserted_primary_key[0]
    except sa.exc.IntegrityError:
        # another master created the same sourcestamp meanwhile
        row = base.thd_reread(conn, select)
        if row is None:
            raise
        return row.id


class SourceStampsConnectorComponent(base.DBConnectorComponent):
    def _check_and_normalize(
        self,
        branch: str | None,
        revision: str | None,
        repository: str | None,
        project: str | None,
        codebase: str | None,
    ) -> dict[str, Any]:
        ss = self.db.model.sourcestamps
        values = {
            "branch": branch,
            "revision": revision,
            # NOT NULL columns: None means the empty string
            "repository": repository or "",
            "project": project or "",
            "codebase": codebase or "",
        }
        for name, value in values.items():
            self.checkLength(ss.c[name], value)
        return values

    def findSourceStampId(
        self,
        branch: str | None = None,
        revision: str | None = None,
        repository: str | None = None,
        project: str | None = None,
        codebase: str | None = None,
        patch_body: bytes | None = None,
        patch_level: int | None = None,
        patch_author: str | None = None,
        patch_comment: str | None = None,
        patch_subdir: str | None = None,
    ) -> defer.Deferred[int]:
        """The id of the sourcestamp with these attributes, created if new."""
        try:
            values = self._check_and_normalize(branch, revision, repository, project, codebase)
        except Exception:
            return defer.fail()
        patch = None
        if patch_body is not None:
            patch = {
                "patchlevel": patch_level or 0,
                "patch_base64": encode_patch_body(patch_body),
                "patch_author": patch_author or "",
                "patch_comment": patch_comment or "",
                "subdir": patch_subdir,
            }
        db_model = self.db.model
        now = self._now()

        def thdFindSourceStampId(conn: sa.Connection) -> int:
            return thd_find_sourcestamp_id(conn, db_model, now, patch=patch, **values)

        return self.db.pool.do(thdFindSourceStampId)

    def _get_many(self, q: sa.Select) -> defer.Deferred[list[SourceStampModel]]:
        def thdGetMany(conn: sa.Connection) -> list[SourceStampModel]:
            return [model_from_row(row) for row in conn.execute(q)]

        return self.db.pool.do(thdGetMany)

    def getSourceStamp(self, ssid: int) -> defer.Deferred[SourceStampModel | None]:
        """The sourcestamp with that id (patch included), or None."""
        ss = self.db.model.sourcestamps
        q = sourcestamp_select(self.db.model).where(ss.c.id == ssid)

        def thdGetSourceStamp(conn: sa.Connection) -> SourceStampModel | None:
            row = conn.execute(q).first()
            return model_from_row(row) if row is not None else None

        return self.db.pool.do(thdGetSourceStamp)

    def getSourceStamps(self) -> defer.Deferred[list[SourceStampModel]]:
        """Every sourcestamp, ordered by id."""
        ss = self.db.model.sourcestamps
        return self._get_many(sourcestamp_select(self.db.model).order_by(ss.c.id))

    def get_sourcestamps_for_buildset(
        self, buildsetid: int
    ) -> defer.Deferred[list[SourceStampModel]]:
        """The sourcestamps of a buildset, ordered by id."""
        ss, bss = self.db.model.sourcestamps, self.db.model.buildset_sourcestamps
        q = (
            sourcestamp_select(self.db.model)
            .join(bss, bss.c.sourcestampid == ss.c.id)
            .where(bss.c.buildsetid == buildsetid)
            .order_by(ss.c.id)
        )
        return self._get_many(q)

    def getSourceStampsForBuild(self, buildid: int) -> defer.Deferred[list[SourceStampModel]]:
        """The sourcestamps a build was made from (those of its request's buildset)."""
        m = self.db.model
        ss, bss = m.sourcestamps, m.buildset_sourcestamps
        q = (
            sourcestamp_select(m)
            .join(bss, bss.c.sourcestampid == ss.c.id)
            .join(m.buildrequests, m.buildrequests.c.buildsetid == bss.c.buildsetid)
            .join(m.builds, m.builds.c.buildrequestid == m.buildrequests.c.id)
            .where(m.builds.c.id == buildid)
            .order_by(ss.c.id)
        )
        return self._get_many(q)
