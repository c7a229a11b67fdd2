"""Persistent store: SQLAlchemy 2 schema, Alembic migrations and the session factory."""
