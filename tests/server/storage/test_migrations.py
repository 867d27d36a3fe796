"""The migrations build exactly the schema of schema.py, on a new SQLite file and a new
PostgreSQL database, and the comparison itself fails on each kind of drift."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, ForeignKeyConstraint, Index, Integer, MetaData, String, Table
from sqlalchemy import inspect as inspect_db
from typer.testing import CliRunner

from tests.support.postgres import throwaway_database
from ztd.cli.main import app as ztd_app
from ztd.server.settings import normalize_database_url
from ztd.server.storage import migrate
from ztd.server.storage.database import Database
from ztd.server.storage.schema import metadata


@pytest.fixture
def new_database(backend: str, tmp_path: Path) -> Iterator[Database]:
    """An empty database of ``backend``, of this test alone (no other test's tables)."""
    if backend == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'new.sqlite3'}")
        yield database
        database.dispose()
        return
    with throwaway_database("ztd_migrations") as url:
        database = Database(normalize_database_url(url))
        yield database
        database.dispose()


def differences(db: Database, target: MetaData) -> list[Any]:
    """What Alembic finds between the database and ``target``: tables, columns, types,
    nullability, indexes, unique constraints and foreign keys."""
    with db.read() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, target))


def partial_index_predicates(db: Database) -> dict[str, str]:
    """Index name -> its WHERE clause, as the database reports it (Alembic ignores these)."""
    found: dict[str, str] = {}
    inspector = inspect_db(db.read_engine)
    key = f"{db.read_engine.dialect.name}_where"
    for table in metadata.tables:
        for index in inspector.get_indexes(table):
            where = index.get("dialect_options", {}).get(key)
            if where is not None:
                found[str(index["name"])] = str(where)
    return found


def test_the_migrations_build_the_schema_of_schema_py(new_database: Database) -> None:
    migrate.upgrade(new_database)
    assert migrate.current_revision(new_database) == migrate.head_revision(new_database)
    assert differences(new_database, metadata) == []
    dialect = new_database.write_engine.dialect.name
    expected = {
        str(index.name): str(index.dialect_options[dialect]["where"])
        for table in metadata.tables.values()
        for index in table.indexes
        if index.dialect_options[dialect]["where"] is not None
    }
    assert expected  # schema.py has partial indexes: they must exist as partial ones
    found = partial_index_predicates(new_database)
    assert set(found) == set(expected)
    for name, predicate in expected.items():
        assert found[name].replace("(", "").replace(")", "") == predicate, name


def _copy() -> MetaData:
    variant = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(variant)
    return variant


def _nullable(variant: MetaData) -> None:
    variant.tables["devices"].c.serial_number.nullable = False


def _wider(variant: MetaData) -> None:
    variant.tables["partners"].c.name.type = String(300)


def _column_added(variant: MetaData) -> None:
    variant.tables["partners"].append_column(Column("region", String(16), nullable=True))


def _column_missing(variant: MetaData) -> None:
    table = variant.tables["customers"]
    table._columns.remove(table.c.domain)


def _index_missing(variant: MetaData) -> None:
    table = variant.tables["job_chunks"]
    table.indexes = {i for i in table.indexes if i.name != "ix_job_chunks_status_pk"}


def _index_added(variant: MetaData) -> None:
    Index("ix_devices_manufacturer", variant.tables["devices"].c.manufacturer)


def _unique_missing(variant: MetaData) -> None:
    table = variant.tables["signing_keys"]
    table.c.kid.unique = False
    for constraint in [c for c in table.constraints if c.name == "uq_signing_keys_kid"]:
        table.constraints.remove(constraint)


def _foreign_key_missing(variant: MetaData) -> None:
    table = variant.tables["applications"]
    for constraint in [c for c in table.constraints if isinstance(c, ForeignKeyConstraint)]:
        table.constraints.remove(constraint)
    for column in table.columns:
        column.foreign_keys.clear()
    table.foreign_keys.clear()


def _table_added(variant: MetaData) -> None:
    Table("webhooks", variant, Column("id", Integer, primary_key=True))


def _table_missing(variant: MetaData) -> None:
    variant.remove(variant.tables["emulator_throttling"])


DRIFTS: dict[str, tuple[Callable[[MetaData], None], str]] = {
    "nullability": (_nullable, "modify_nullable"),
    "type": (_wider, "modify_type"),
    "column added": (_column_added, "add_column"),
    "column missing": (_column_missing, "remove_column"),
    "index missing": (_index_missing, "remove_index"),
    "index added": (_index_added, "add_index"),
    "unique missing": (_unique_missing, "remove_constraint"),
    "foreign key missing": (_foreign_key_missing, "remove_fk"),
    "table added": (_table_added, "add_table"),
    "table missing": (_table_missing, "remove_table"),
}


@pytest.mark.parametrize("drift", DRIFTS)
def test_the_comparison_sees_each_kind_of_drift(new_database: Database, drift: str) -> None:
    """The schema test above can fail: a schema.py that differs from the migrations in one
    column, index, constraint or table is reported, with the kind of difference."""
    migrate.upgrade(new_database)
    change, kind = DRIFTS[drift]
    variant = _copy()
    change(variant)
    found = differences(new_database, variant)
    flat = [d for group in found for d in (group if isinstance(group, list) else [group])]
    assert [d[0] for d in flat] == [kind], found


def test_a_partial_index_made_whole_is_seen_though_alembic_misses_it(
    new_database: Database,
) -> None:
    """Alembic compares an index's columns, not its WHERE clause: the predicate check of
    the schema test is what catches a migration that builds the index over every row."""
    migrate.upgrade(new_database)
    with new_database.write() as conn:
        conn.exec_driver_sql("DROP INDEX ix_devices_policy_id")
        conn.exec_driver_sql("CREATE INDEX ix_devices_policy_id ON devices (policy_id)")
    assert differences(new_database, metadata) == []
    assert "ix_devices_policy_id" not in partial_index_predicates(new_database)


def test_downgrading_to_nothing_and_back(new_database: Database) -> None:
    migrate.upgrade(new_database)
    command.downgrade(migrate.alembic_config(new_database), "base")
    assert migrate.current_revision(new_database) is None
    assert set(inspect_db(new_database.read_engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(new_database)
    assert differences(new_database, metadata) == []


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_database_of_a_pre_release_revision_is_refused_untouched(
    new_database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    """Pre-release revisions were squashed into 0001: a database stamped with one of them
    (or with a newer ztd's) is not migrated; the error says why and what to do."""
    with new_database.write() as conn:
        conn.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        conn.exec_driver_sql("INSERT INTO alembic_version VALUES ('0014')")
    with pytest.raises(migrate.UnknownRevisionError, match=r"'0014'.*pre-release") as raised:
        migrate.upgrade(new_database)
    assert raised.value.revision == "0014"
    with pytest.raises(migrate.UnknownRevisionError):
        migrate.is_current(new_database)
    assert inspect_db(new_database.read_engine).get_table_names() == ["alembic_version"]

    monkeypatch.setenv("ZTD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ZTD_DATABASE_URL", str(new_database.write_engine.url))
    result = CliRunner().invoke(ztd_app, ["db", "upgrade"], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "schema revision '0014'" in result.stderr and "Traceback" not in result.output
