"""Engine factory, declarative base and the unit of work: the only place that commits."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

import orjson
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    any_,
    bindparam,
    cast,
    create_engine,
    event,
    func,
    insert,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import NullType, TypeDecorator
from uuid_utils.compat import uuid7

from visitorhub.errors import NotFound

READONLY_OPTION = "visitorhub_readonly"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_uuid() -> UUID:
    """A new key's UUID, time-ordered (RFC 9562 version 7: milliseconds since the epoch, then 74 random
    bits; monotonic within the process). Keys made one after another land side by side in the primary-key
    index, so a group of inserts dirties its last pages instead of one random leaf page each: on SQLite
    that cut an inbound channel's commit by a third (bench/README.md, channels). The creation time it
    shows is the record's creationDate anyway."""
    return uuid7()


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken as UTC already (SQLite stores no offset)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso_utc(value: datetime | None) -> str | None:
    """How the API writes an instant: ISO 8601 in UTC with a Z ("2026-12-01T10:15:02.123456Z")."""
    return as_utc(value).isoformat().replace("+00:00", "Z") if value is not None else None


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite stores no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return as_utc(value) if value is not None else None


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime()}


class TimestampMixin:
    """creationDate / updateDate, managed by the server on every record."""

    creation_date: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    update_date: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ContentHashMixin:
    """Records a template import writes: a hash of the values the import last wrote to the record.

    A re-import of the same values compares hashes (one narrow query per entity and chunk) instead of
    loading and diffing records, and writes nothing. Every other write through the write path clears it
    (core.service), so a hash always means "the record holds exactly these values"."""

    content_hash: Mapped[int | None] = mapped_column(BigInteger, default=None)


def content_hash_index(table: str) -> Index:
    """The index a re-import finds unchanged records by (their content hash), on the records an import
    wrote only (the others hold none): in the __table_args__ of every ContentHashMixin model."""
    only_hashed = text("content_hash IS NOT NULL")
    return Index(
        f"ix_{table}_content_hash", "content_hash", sqlite_where=only_hashed, postgresql_where=only_hashed
    )


# SQLite settings for a bulk writer's connection (template imports), set for the duration of the import
# only (core.batch.bulk_pragmas) and measured in bench/README.md: a page cache that holds the hot index pages
# of a large import (random keys: ids, e-mails, barcodes), temporary b-trees in memory.
BULK_PRAGMAS = ("cache_size=-65536", "temp_store=MEMORY")


def unicode_lower(value: Any) -> Any:
    """SQLite's lower(), as every connection of ours defines it: every letter folded, as PostgreSQL's
    lower() and Python's str.lower (which the services compare with) fold them. SQLite's own folds ASCII
    only, so its `lower(email)` unique index told `Émile@...` from `émile@...` where PostgreSQL does not.
    Migration 0014 rebuilt the indexes over lower() with it."""
    return value.lower() if isinstance(value, str) else value


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite opens transactions lazily and never for SAVEPOINT; take over BEGIN so that savepoints
    # (rollback-per-test, nested transactions) behave. See SQLAlchemy's pysqlite dialect docs,
    # "Serializable isolation / Savepoints / Transactional DDL".
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        # Deterministic: SQLite may then use it in the indexes over lower() (uq_visitor_email_lower...).
        dbapi_connection.create_function("lower", 1, unicode_lower, deterministic=True)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Checkpoint the WAL every ~40 MB instead of every ~4 MB: bulk imports commit every few hundred
        # rows, and each checkpoint rewrites the same index pages and fsyncs; ten times fewer of them
        # cut a million-row import by about a tenth. Readers are unaffected (the WAL index is in memory).
        cursor.execute("PRAGMA wal_autocheckpoint=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A writing transaction takes the write lock up front (IMMEDIATE), so concurrent writers queue
        # on busy_timeout instead of failing when a reader upgrades to a writer; reads stay DEFERRED so
        # that, with WAL, they never wait for a writer.
        readonly = conn.get_execution_options().get(READONLY_OPTION, False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


class JsonText(str):
    """A value already encoded as JSON text (the change log's representations, core.changelog): a JSON
    column writes it as it is."""

    __slots__ = ()


def json_dumps(value: Any) -> str:
    """JSON columns (the change log's representations) as compact orjson text: smaller and faster to
    write than json.dumps' default, and read back by any JSON parser. JsonText is written as it is."""
    if isinstance(value, JsonText):
        return value
    return orjson.dumps(value).decode()


def int_array_text(values: Iterable[int], dialect: str) -> str:
    """Integers as one parameter's text: PostgreSQL's array literal (`{1,2}`, cast to BIGINT[]), elsewhere a
    JSON array (`[1,2]`, SQLite's json_each). psycopg would check each item of a list it sends as an array
    for quoting; this is one join."""
    items = ",".join(map(str, values))
    return f"{{{items}}}" if dialect == "postgresql" else f"[{items}]"


def one_of(column: ColumnElement[Any], values: Sequence[Any], session: Session) -> ColumnElement[bool]:
    """`column IN values` for a batch's lookups (hundreds of values), as one parameter: an IN list of 500 is
    rendered, cast and converted by SQLAlchemy value by value (1 to 3 us of the client's CPU each), and on
    PostgreSQL re-parsed by psycopg for every statement. PostgreSQL: `column = ANY(array)`. SQLite: `column IN
    (SELECT value FROM json_each(json array))`, the values as the column stores them (its bind processing).
    Both are answered by the column's index as IN is. A column of no known type (an untyped SQL function) on
    PostgreSQL, and values JSON cannot hold, take the IN list."""
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql" and not isinstance(column.type, NullType):
        array_type = postgresql.ARRAY(column.type)
        if all(type(value) is int for value in values):
            # Integers (content hashes) as the array's text (int_array_text): psycopg's check of each item
            # of a list was a third of a re-import's lookup on the client.
            items = int_array_text(values, dialect.name)
            return column == any_(cast(bindparam(None, items, type_=String()), array_type))
        return column == any_(bindparam(None, list(values), type_=array_type))
    if dialect.name == "sqlite":
        process = column.type._cached_bind_processor(dialect)
        stored = [process(value) for value in values] if process is not None else list(values)
        try:
            array = orjson.dumps(stored).decode()
        except TypeError:
            return column.in_(values)
        each = func.json_each(bindparam(None, array, type_=String()))
        return column.in_(select(literal_column("value")).select_from(each).scalar_subquery())
    return column.in_(values)


def make_engine(url: str, echo: bool = False) -> Engine:
    json_codec = {"json_serializer": json_dumps, "json_deserializer": orjson.loads}
    if url.startswith("sqlite"):
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}, **json_codec
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20, **json_codec)


def make_session_factory(bind: Any, readonly: bool = False) -> sessionmaker[Session]:
    """Sessions on `bind`; `readonly` ones open SQLite transactions without taking the write lock.

    Bound to a Connection (tests), sessions join its transaction through savepoints, so their commits
    are real but the test's final rollback still undoes everything.
    """
    if isinstance(bind, Connection):
        return sessionmaker(
            bind=bind, expire_on_commit=False, autoflush=False, join_transaction_mode="create_savepoint"
        )
    if readonly:
        bind = bind.execution_options(**{READONLY_OPTION: True})
    return sessionmaker(bind=bind, expire_on_commit=False, autoflush=False)


def checkpoint(session: Session) -> None:
    """Commit the unit of work so far and go on in a new transaction: for long commands (an import of
    millions of rows commits chunk by chunk) and for requests that hand over to work committing on
    sessions of its own (on SQLite an open writing transaction would hold the lock they wait for)."""
    session.commit()


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit when the block ends normally, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def never_reuse_ids(metadata: MetaData) -> None:
    """Every table whose integer key the database numbers is AUTOINCREMENT on SQLite, which otherwise hands
    out the largest key again once its row is deleted (PostgreSQL's sequences never do)."""
    for table in metadata.tables.values():
        if table.autoincrement_column is not None:
            table.dialect_options["sqlite"]["autoincrement"] = True


# int64 ids; SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


# (value, text) of the last two datetimes _sqlite_text wrote, the latest first.
_LAST_TEXTS: tuple[tuple[datetime | None, str | None], ...] = ((None, None), (None, None))


def _sqlite_text(value: datetime | None) -> str | None:
    """UtcDateTime's bind processing on SQLite in one step: UTC, naive, SQLAlchemy's DATETIME storage format
    ("2026-12-01 10:15:02.123456", the same text its own processors write). The records of a batch share
    one timestamp object (core.batch.WriteBatch): its text is made once, and kept while each record's own
    dates (a registration date) are written in between."""
    global _LAST_TEXTS
    if value is None:
        return None
    latest, previous = _LAST_TEXTS  # one tuple, replaced whole: threads never see a value with another's text
    if value is latest[0]:
        return latest[1]
    if value is previous[0]:
        _LAST_TEXTS = (previous, latest)
        return previous[1]
    stored = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value
    text = stored.isoformat(" ", "microseconds")
    _LAST_TEXTS = ((value, text), latest)
    return text


def _sqlite_bind_processor(type_: Any, dialect: Any) -> Any:
    if isinstance(type_, UtcDateTime):
        return _sqlite_text
    return type_._cached_bind_processor(dialect)


_RAW_INSERTS: dict[tuple[str, tuple[str, ...]], tuple[str, list[tuple[int, Any]], list[int] | None]] = {}


def insert_rows(
    connection: Connection, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """INSERT `rows` (values in the order of `columns`) into `table` with one executemany.

    On SQLite the rows go to the driver's executemany as they are (exec_driver_sql), each value through its
    column type's bind processor (what SQLAlchemy would apply), the statement compiled once: SQLAlchemy's
    per-row parameter handling costs more than SQLite's insert itself. On PostgreSQL with psycopg, COPY
    (measured in bench/README.md: twice the rows/s of insertmanyvalues, a third of the client's CPU);
    elsewhere through SQLAlchemy Core."""
    if not rows:
        return
    dialect = connection.dialect
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        _copy_rows(connection, table, columns, rows)
        return
    if dialect.name != "sqlite":
        connection.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    key = (table.name, tuple(columns))
    prepared = _RAW_INSERTS.get(key)
    if prepared is None:
        compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
        # The statement's parameters come in the table's column order: where the caller's differs, each
        # row is put in that order.
        positions = [list(columns).index(name) for name in compiled.positiontup or ()]
        assert sorted(positions) == list(range(len(columns))), (table.name, columns, compiled.positiontup)
        processors = [
            (position, processor)
            for position, name in enumerate(columns)
            if (processor := _sqlite_bind_processor(table.c[name].type, dialect)) is not None
        ]
        prepared = (str(compiled), processors, None if positions == sorted(positions) else positions)
        _RAW_INSERTS[key] = prepared
    sql, processors, order = prepared
    if processors or order is not None:
        converted: list[Any] = []
        for row in rows:
            values = list(row)
            for position, processor in processors:
                values[position] = processor(values[position])
            converted.append(tuple(values) if order is None else tuple([values[i] for i in order]))
        rows = converted
    # A driver-level statement: events fire and errors are wrapped (IntegrityError...) as for any other.
    connection.exec_driver_sql(sql, rows)


def _copy_rows(
    connection: Connection, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """PostgreSQL: COPY ... FROM STDIN in the connection's transaction, each value through its column type's
    bind processor; a database error is raised as SQLAlchemy's (IntegrityError...), as an INSERT's would be."""
    dialect = connection.dialect
    processors = [
        (position, processor)
        for position, name in enumerate(columns)
        if (processor := table.c[name].type._cached_bind_processor(dialect)) is not None
    ]
    names = ", ".join(dialect.identifier_preparer.quote(name) for name in columns)
    statement = f"COPY {dialect.identifier_preparer.format_table(table)} ({names}) FROM STDIN"
    driver = connection.connection.driver_connection
    assert driver is not None
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                if processors:
                    values = list(row)
                    for position, processor in processors:
                        values[position] = processor(values[position])
                    copy.write_row(values)
                else:
                    copy.write_row(row)
    except dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(statement, None, exc, dialect.loaded_dbapi.Error, dialect=dialect) from exc


RowT = TypeVar("RowT")


def get_or_404(
    session: Session, model: type[RowT], key: Any, *, what: str, field: str, **options: Any
) -> RowT:
    """The row with this primary key (`options` as for Session.get, e.g. with_for_update), or a 404 saying
    "<what> does not exist." and naming the path field."""
    row = session.get(model, key, **options)
    if row is None:
        raise NotFound(f"{what} does not exist.", field=field)
    return row
