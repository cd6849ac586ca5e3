"""Alembic environment: run by `buildbot.db.migrate` through alembic's commands.

The caller hands over an open connection in ``config.attributes["connection"]``;
migrations run on it, inside its transaction.  Only online mode is supported.
"""

from __future__ import annotations

from alembic import context

from buildbot.db.model import Model


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("buildbot's migrations need a connection: use buildbot.db.migrate")
    context.configure(
        connection=connection,
        target_metadata=Model.metadata,
        # SQLite cannot ALTER most things: let alembic copy tables instead
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("buildbot's migrations cannot run in offline (SQL script) mode")
run_migrations_online()
