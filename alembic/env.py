"""Alembic environment.

tplog runs migrations on its own connection (config.attributes["connection"]); a developer
running `alembic` from the repository gets a connection to TPLOG_DB (or the default database).
"""

from alembic import context

from tplog.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    import os

    from tplog import db

    engine = db.make_engine(db.locate(os.environ.get("TPLOG_DB")), foreign_keys=False)
    with engine.connect() as new_connection:
        run_migrations(new_connection)
        new_connection.commit()
    engine.dispose()
