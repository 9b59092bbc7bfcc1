"""Persistence with SQLAlchemy 2: typed models, the unit of work, migrations."""
