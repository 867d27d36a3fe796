"""Alembic environment: runs against the ztd Database handed over in config attributes."""

from alembic import context

from ztd.server.storage.schema import metadata

config = context.config
database = config.attributes["database"]

with database.write() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=database.is_sqlite,  # SQLite can only ALTER through table copies
    )
    context.run_migrations()
