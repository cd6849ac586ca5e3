"""Baseline: the schema of Buildbot 4.3 (its alembic head, revision ``067``).

Revision ID: 067
Revises: (none)

Our chain starts here.  An empty database gets `buildbot.db.model` created whole
and is stamped at our head; a database Buildbot 4.3 created or upgraded carries
this revision already.  Older Buildbot revisions are not migrated: see
`buildbot.db.migrate`.

Our own later revisions must not take Buildbot's plain three-digit ids (068,
069...): a database written by a later Buildbot would then pass for ours.
Name them with a prefix of our own, e.g. ``cr001_...`` (revision ``"cr001"``).
"""

revision = "067"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nothing to do: databases reach this revision by being created at it
    pass


def downgrade() -> None:
    raise NotImplementedError("buildbot databases are never downgraded")
