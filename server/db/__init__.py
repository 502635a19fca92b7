"""The database: SQLAlchemy models (models.py), the store the server writes through (store.py), and
Alembic migrations applied on start (migrate.py)."""
