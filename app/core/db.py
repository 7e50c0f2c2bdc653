"""Engine and sessions. The schema is built and changed only by the Alembic revisions in
migrations/."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from app.core.config import Settings, get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent.parent / "migrations"

# What a job's service is given to open its transactions: each `with uow() as session:` block
# commits when it ends (session_scope in a worker; a test may pass its own).
UnitOfWork = Callable[[], AbstractContextManager[Session]]


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    # no pre-ping: it costs a round trip per checkout; a dropped connection invalidates the pool on
    # first use
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800)


@lru_cache
def _engine_for(url: str, pool_size: int) -> Engine:
    return make_engine(url, pool_size=pool_size)


def get_engine(settings: Settings | None = None) -> Engine:
    settings = settings or get_settings()
    return _engine_for(settings.database_url, settings.db_pool_size)


def session_factory(settings: Settings | None = None) -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(settings), expire_on_commit=False)


@contextmanager
def session_scope(settings: Settings | None = None) -> Iterator[Session]:
    """A unit of work: commits on success, rolls back on error (for tasks and the CLI)."""
    session = session_factory(settings)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(
    url: str,
):  # -> alembic.config.Config (imported lazily: alembic is not needed to serve)
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Bring the database at `url` (default: the configured one) to `revision`."""
    from alembic import command

    url = url or get_settings().database_url
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


# --- side effects tied to the fate of a transaction (blob writes and deletes) ---------------------


def on_commit(session: Session, fn: Callable[[], object]) -> None:
    """Run `fn()` after the session's transaction commits (e.g. delete blobs of deleted rows)."""
    session.info.setdefault("after_commit", []).append(fn)


def on_rollback(session: Session, fn: Callable[[], object]) -> None:
    """Run `fn()` if the transaction rolls back (e.g. remove a blob written for a row that never
    landed)."""
    session.info.setdefault("after_rollback", []).append(fn)


def _run_hooks(session: Session, name: str) -> None:
    hooks = session.info.pop(name, [])
    session.info.pop("after_rollback" if name == "after_commit" else "after_commit", None)
    for fn in hooks:
        try:
            fn()
        except Exception:  # a failed cleanup must not mask the outcome
            import logging

            logging.getLogger(__name__).exception("transaction hook failed")


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    _run_hooks(session, "after_commit")


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    if session.in_nested_transaction():
        return
    _run_hooks(session, "after_rollback")


def is_out_of_range(exc: BaseException) -> bool:
    """A number the database cannot hold: SQLite's OverflowError when binding an int beyond 64 bits,
    PostgreSQL's NumericValueOutOfRange (an id beyond its integer column)."""
    if isinstance(exc, OverflowError):
        return "SQLite INTEGER" in str(exc)
    return type(getattr(exc, "orig", None)).__name__ == "NumericValueOutOfRange"
