"""The Alembic migrations build exactly the schema of the models, on SQLite and on
PostgreSQL, and ``init-db`` (``alembic upgrade head``) is idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from admin_app import create_app
from admin_app.db import Base, get_database
from admin_app.migrate import alembic_config, current_revision, head_revision, upgrade
from tests.admin_app.conftest import BACKENDS, base_config

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def empty_db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "postgresql":
        return request.getfixturevalue("pg_server").create_database("upwatch_migrations")
    return f"sqlite:///{tmp_path / 'migrated.db'}"


def test_upgrade_head_matches_the_models(empty_db_url: str, tmp_path: Path) -> None:
    app = create_app(base_config(empty_db_url, tmp_path))
    try:
        assert upgrade(app) == head_revision()
        engine = get_database(app).engine
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
        assert diff == [], f"models and migrations differ; add a revision: {diff}"
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        # init-db twice is harmless
        assert upgrade(app) == head_revision()
    finally:
        get_database(app).dispose()


def test_downgrade_to_base_and_back(empty_db_url: str, tmp_path: Path) -> None:
    from alembic import command

    app = create_app(base_config(empty_db_url, tmp_path))
    try:
        upgrade(app)
        command.downgrade(alembic_config(app), "base")
        assert current_revision(app) is None
        remaining = set(inspect(get_database(app).engine).get_table_names()) - {"alembic_version"}
        assert remaining == set()
        upgrade(app)
        assert current_revision(app) == head_revision()
    finally:
        get_database(app).dispose()
