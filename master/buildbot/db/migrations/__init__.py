"""Alembic migration scripts for the database schema (see `buildbot.db.migrate`)."""
