"""The database (SQLAlchemy Core, Alembic migrations): articles, editions, the delivery
ledger, subscribers, runs and leases, the desk.
"""
