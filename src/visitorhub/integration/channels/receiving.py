"""Receiving a payload: a JSON array of records checked whole, stored once per source id, applied once.

A payload is refused whole (4xx, nothing stored) when it is not a JSON array of objects, holds more than
the channel's maxRecords, or a record lacks a usable source id. Otherwise, in one transaction (with the
payloads of the same channel group-committed with it, in arrival order: committer.py):

1. every record is upserted on (channel, source id) with INSERT ... ON CONFLICT DO UPDATE: a new source id
   is inserted, a new content replaces the stored one, the same content only counts as received again.
   The conflict is resolved by the database, so two copies of a payload received at once store and apply
   each record once: on PostgreSQL the second waits on the first's uncommitted rows, then sees them as
   duplicates; SQLite lets one writer in at a time. Rows are upserted in source-id order, so two payloads
   sharing records lock them in the same order and cannot deadlock.
2. the channel's counters are updated, provided that its row is still as the payload was checked against
   it (enabled, at this path, not changed since: StaleChannel otherwise, and the payload is checked again
   against the channel as it is now); on PostgreSQL this row lock also serialises the applies of one
   channel, so two payloads that map different records to the same visitor meet as an update, not as a
   unique-key clash;
3. the records that are new or changed go through the channel's `in` template into the one write path
   (`run_import`, hence `WriteBatch` and the change log), in payload order; a record the template cannot
   map is quarantined with its error, the others are applied;
4. statuses are written. The caller commits, and answers 200 only once the commit returned.

A record that occurs several times in a payload (or in payloads of the same group) is taken in order: each
occurrence is compared with the one before it (a repeat is a duplicate, a new content is stored and
applied after the previous one).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Table, bindparam, select, true, update
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from visitorhub.core.db import int_array_text, utcnow
from visitorhub.core.service import WriteContext
from visitorhub.errors import AppError, BadRequest, InvalidInput, PayloadTooLarge, ValidationErrors
from visitorhub.integration.channels.service import (
    APPLIED,
    QUARANTINED,
    STORED,
    InboundChannel,
    channel_version,
)
from visitorhub.integration.templates import service as templates
from visitorhub.integration.templates.execution import ImportOptions, run_import
from visitorhub.integration.templates.spec import Template
from visitorhub.integration.templates.transforms import get_path
from visitorhub.models.channel import Channel, ChannelRecord

# The status of a row this transaction inserted or changed, until step 4 replaces it: never committed.
_NEW = "new"
MAX_SOURCE_ID = 200
MAX_ERROR = 1000
SHOWN_ERRORS = 10

CHANNELS: Table = Channel.__table__  # type: ignore[assignment]
RECORDS: Table = ChannelRecord.__table__  # type: ignore[assignment]


class StaleChannel(Exception):
    """The channel was changed (or disabled, or deleted) since `channel` was read: the payload must be
    checked again against the channel as it is now (endpoints.receive_payload does)."""

    def __init__(self, channel: InboundChannel) -> None:
        super().__init__(f"The channel at /inbound/{channel.path} changed since it was read.")
        self.channel = channel


class Incoming(NamedTuple):
    """One record of a payload, checked: its source id, content hash, JSON text and value (a tuple: made
    for every record received)."""

    source_id: str
    content_hash: str
    body: str
    value: dict[str, Any]


@dataclass
class Outcome:
    """What a payload (or a reapply) came to."""

    accepted: int = 0
    duplicates: int = 0
    applied: int = 0
    quarantined: int = 0
    # (record id, source id, error) of the records quarantined, in order.
    errors: list[tuple[int, str, str]] = field(default_factory=list)


# Checking ------------------------------------------------------------------------------------------------


def _source_id(value: Any) -> str | None:
    """A record's source id as text: a non-empty string or an integer (booleans and fractions are not)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    return None


def parse_payload(body: bytes, channel: InboundChannel) -> list[Incoming]:
    """The payload's records, or the 4xx that says why it is refused whole."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}.", code="malformed_json") from None
    if not isinstance(data, list):
        raise InvalidInput(
            f"The body must be a JSON array of objects ([{{...}}, ...]), not {_kind(data)}.",
            code="not_an_array",
        )
    if len(data) > channel.max_records:
        raise PayloadTooLarge(
            f"The payload holds {len(data):,} records; this channel takes at most {channel.max_records:,} "
            "a payload (maxRecords). Send smaller batches.",
            code="too_many_records",
        )
    records: list[Incoming] = []
    problems: list[tuple[str | None, str, str]] = []
    id_field = channel.id_field
    sha256, dumps, sort_keys = hashlib.sha256, orjson.dumps, orjson.OPT_SORT_KEYS
    for index, value in enumerate(data):
        if not isinstance(value, dict):
            problems.append(
                (f"[{index}]", "not_an_object", f"record {index} is {_kind(value)}, not an object")
            )
            continue
        raw = value[id_field] if id_field in value else get_path(value, id_field)
        # The common case (a non-empty string id) without a call; _source_id says what else is taken.
        source_id = raw if type(raw) is str and raw.strip() else _source_id(raw)
        if source_id is None or len(source_id) > MAX_SOURCE_ID:
            problems.append(_id_problem(index, id_field, raw, source_id))
            continue
        records.append(
            Incoming(
                source_id, sha256(dumps(value, option=sort_keys)).hexdigest(), dumps(value).decode(), value
            )
        )
    if problems:
        shown = problems[:SHOWN_ERRORS]
        if len(problems) > SHOWN_ERRORS:
            shown.append((None, "more", f"... and {len(problems) - SHOWN_ERRORS} more records like these"))
        raise ValidationErrors([*shown, (None, "refused", "Nothing of this payload was stored.")])
    return records


def _id_problem(index: int, id_field: str, raw: Any, source_id: str | None) -> tuple[str, str, str]:
    if source_id is None:
        problem = "has no" if raw is None else f"has {_kind(raw)} as"
        return (
            f"[{index}].{id_field}",
            "missing_id",
            f"record {index} {problem} '{id_field}' (the channel's idField: a non-empty string or an integer)",
        )
    return (
        f"[{index}].{id_field}",
        "too_long",
        f"record {index}: '{id_field}' is longer than {MAX_SOURCE_ID} characters",
    )


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    return names.get(type(value), "a number")


# Statements ----------------------------------------------------------------------------------------------


UPSERT_CHUNK = 1000  # rows a statement: 3 parameters each, far below SQLite's and PostgreSQL's limits


@lru_cache(maxsize=64)
def _upsert_sql(dialect: str, rows: int) -> str:
    """Insert `rows` records of one channel, or update the stored one of each (channel, source id): replaced
    when its content changed (status back to _NEW), otherwise only counted as received again. RETURNING
    says which.

    Driver-level SQL: each record brings three parameters (source id, hash, body), the channel and the
    instant are bound once; SQLAlchemy's executemany processed ten per record through their column types,
    which cost more than the database's insert itself (bench/README.md, channels)."""

    def param(name: str) -> str:
        return f"%({name})s" if dialect == "postgresql" else f":{name}"

    table = RECORDS.name
    values = ", ".join(
        f"({param('c')}, {param(f's{i}')}, {param(f'h{i}')}, {param(f'b{i}')}, '{_NEW}', NULL, "
        f"{param('now')}, {param('now')}, 1, NULL)"
        for i in range(rows)
    )
    same = f"{table}.content_hash = excluded.content_hash"
    return (
        f"INSERT INTO {table} (channel_id, source_id, content_hash, body, status, error, first_received_at, "
        f"last_received_at, times_received, applied_at) VALUES {values} "
        "ON CONFLICT (channel_id, source_id) DO UPDATE SET content_hash = excluded.content_hash, "
        f"body = CASE WHEN {same} THEN {table}.body ELSE excluded.body END, "
        f"status = CASE WHEN {same} THEN {table}.status ELSE excluded.status END, "
        f"error = CASE WHEN {same} THEN {table}.error ELSE NULL END, "
        f"last_received_at = excluded.last_received_at, times_received = {table}.times_received + 1 "
        "RETURNING id, source_id, status"
    )


def _statements() -> dict[str, Any]:
    c, r = CHANNELS.c, RECORDS.c
    return {
        # The first update of a payload's transaction: on PostgreSQL it locks the channel's row.
        "received": update(CHANNELS)
        .where(
            c.id == bindparam("channel_id"),
            c.path == bindparam("at_path"),
            c.enabled == true(),
            channel_version == bindparam("at_version", type_=NullType()),
        )
        .values(
            payloads_received=c.payloads_received + bindparam("payloads"),
            records_received=c.records_received + bindparam("records"),
            duplicates=c.duplicates + bindparam("duplicates"),
            last_received_at=bindparam("now", type_=c.last_received_at.type),
        ),
        "outcomes": update(CHANNELS)
        .where(c.id == bindparam("channel_id"))
        .values(
            records_applied=c.records_applied + bindparam("applied"),
            records_quarantined=c.records_quarantined + bindparam("quarantined"),
        ),
        "quarantined": update(RECORDS)
        .where(r.id == bindparam("record_id"))
        .values(status=QUARANTINED, error=bindparam("new_error"), applied_at=None),
    }


STATEMENTS = _statements()


@lru_cache(maxsize=8)
def _status_sql(dialect: str, applied: bool) -> str:
    """Set the status (applied: and applied_at) of the records whose ids are one parameter, an array's
    text: PostgreSQL `id = ANY('{1,2}'::bigint[])`, SQLite `id IN (SELECT value FROM json_each('[1,2]'))`,
    both answered by the primary key. Driver-level SQL, as the upsert: for a group's 200 ids an expanding
    IN cost 1.2 us a value more on SQLite and 6.5 more on PostgreSQL, where psycopg would also check each
    item of a list it sends as an array (docs/channels.md)."""
    if dialect == "postgresql":
        match, when = "id = ANY(CAST(%(ids)s AS BIGINT[]))", "%(when)s"
    else:
        match, when = "id IN (SELECT value FROM json_each(:ids))", ":when"
    sets = f"status = '{APPLIED}', applied_at = {when}" if applied else f"status = '{STORED}'"
    return f"UPDATE {RECORDS.name} SET {sets} WHERE {match}"


def _set_status(session: Session, ids: list[int], applied: bool) -> None:
    """The records `ids` applied (now) or, without a template, stored."""
    connection = session.connection()
    dialect = connection.dialect
    params: dict[str, Any] = {"ids": int_array_text(ids, dialect.name)}
    if applied:
        bind = RECORDS.c.applied_at.type._cached_bind_processor(dialect)
        params["when"] = bind(utcnow()) if bind is not None else utcnow()
    connection.exec_driver_sql(_status_sql(dialect.name, applied), params)


# Storing and applying ------------------------------------------------------------------------------------


def _rounds(records: Sequence[Incoming]) -> list[list[tuple[int, Incoming]]]:
    """The records by occurrence of their source id: round 0 holds each id's first occurrence, round 1
    the second ones... (one upsert may touch a row only once); each round in source-id order."""
    if len({record.source_id for record in records}) == len(records):  # the common case: one round
        return [sorted(enumerate(records), key=lambda item: item[1].source_id)]
    rounds: list[list[tuple[int, Incoming]]] = []
    seen: dict[str, int] = {}
    for index, record in enumerate(records):
        occurrence = seen.get(record.source_id, 0)
        seen[record.source_id] = occurrence + 1
        if occurrence == len(rounds):
            rounds.append([])
        rounds[occurrence].append((index, record))
    for round_ in rounds:
        round_.sort(key=lambda item: item[1].source_id)
    return rounds


@dataclass(frozen=True)
class Fresh:
    """A record new or changed by this transaction: its position in the records given, its row."""

    position: int
    record_id: int
    record: Incoming


def _store(session: Session, channel_id: int, records: Sequence[Incoming]) -> list[Fresh]:
    """Upsert the records; those new or changed, in the order given."""
    if not records:
        return []
    connection = session.connection()
    dialect = connection.dialect
    # The instant as its column type binds it (SQLite: UTC text), once for every row.
    bind = RECORDS.c.last_received_at.type._cached_bind_processor(dialect)
    now = bind(utcnow()) if bind is not None else utcnow()
    fresh: list[Fresh] = []
    previous: dict[str, str] = {}  # source id -> hash of its previous occurrence in `records`
    for number, round_ in enumerate(_rounds(records)):
        ids: dict[str, tuple[int, str]] = {}
        for start in range(0, len(round_), UPSERT_CHUNK):
            chunk = round_[start : start + UPSERT_CHUNK]
            params: dict[str, Any] = {"c": channel_id, "now": now}
            for i, (_index, record) in enumerate(chunk):
                params[f"s{i}"] = record.source_id
                params[f"h{i}"] = record.content_hash
                params[f"b{i}"] = record.body
            sql = _upsert_sql(dialect.name, len(chunk))
            for row_id, source_id, status in connection.exec_driver_sql(sql, params).all():
                ids[source_id] = (row_id, status)
        for index, record in round_:
            record_id, status = ids[record.source_id]
            # A later occurrence is compared with the one before it (which this transaction stored).
            changed = status == _NEW if number == 0 else previous[record.source_id] != record.content_hash
            previous[record.source_id] = record.content_hash
            if changed:
                fresh.append(Fresh(index, record_id, record))
    fresh.sort(key=lambda item: item.position)
    return fresh


def resolve_template(session: Session, name: str) -> Template | str:
    """The channel's template, or why it cannot be used (its records are then quarantined with it). Read
    for every group: a template changed by any process holds from the next group on (resolve_current keeps
    the validated template while its stored text is unchanged)."""
    try:
        template = templates.resolve_current(session, name)
    except AppError as exc:
        return f"template: {exc.message}"
    if template.direction != "in":
        return f"template: '{name}' is an export (out) template"
    return template


def apply_records(
    session: Session,
    channel_id: int,
    template_name: str | None,
    records: Sequence[tuple[int, dict[str, Any]]],
    ctx: WriteContext,
) -> list[str | None]:
    """Put (record id, value) pairs through the channel's template, in order, and write their statuses and
    the channel's counters; without a template they are only stored. Each record's error (None: applied or
    stored), in order."""
    if not records:
        return []
    if template_name is None:
        _set_status(session, [record_id for record_id, _value in records], applied=False)
        return [None] * len(records)
    template = resolve_template(session, template_name)
    if isinstance(template, str):
        failures = dict.fromkeys(range(len(records)), template)
    else:
        # Only new and changed records come here (_store: the channel's own hash per source id finds the
        # repeats): no content hash looked up before applying them, nor written.
        options = ImportOptions(chunk_size=len(records), content_hashes=False)
        report = run_import(session, template, [value for _id, value in records], options, ctx)
        failures = {error.index: error.message for error in report.errors}
    # A record whose several versions came in at once ends with the last version's outcome.
    last: dict[int, str | None] = {}
    for index, (record_id, _value) in enumerate(records):
        last[record_id] = failures.get(index)
    applied = [record_id for record_id, error in last.items() if error is None]
    if applied:  # one statement for them all: the common case
        _set_status(session, applied, applied=True)
    quarantined = [
        {"record_id": record_id, "new_error": error[:MAX_ERROR]}
        for record_id, error in last.items()
        if error is not None
    ]
    if quarantined:
        session.connection().execute(STATEMENTS["quarantined"], quarantined)
    session.connection().execute(
        STATEMENTS["outcomes"],
        {"channel_id": channel_id, "applied": len(records) - len(failures), "quarantined": len(failures)},
    )
    return [failures.get(index) for index in range(len(records))]


def receive(
    session: Session, channel: InboundChannel, payloads: Sequence[Sequence[Incoming]], ctx: WriteContext
) -> list[Outcome]:
    """Store and apply checked payloads of one channel, in order, in the session's transaction (the caller
    commits): one outcome per payload, as if each had come alone after the one before it."""
    owners = [owner for owner, records in enumerate(payloads) for _record in records]
    flat = [record for records in payloads for record in records]
    fresh = _store(session, channel.id, flat)
    outcomes = [Outcome(accepted=len(records)) for records in payloads]
    changed = [0] * len(payloads)
    for item in fresh:
        changed[owners[item.position]] += 1
    for outcome, count in zip(outcomes, changed, strict=True):
        outcome.duplicates = outcome.accepted - count
    found = session.connection().execute(
        STATEMENTS["received"],
        {
            "channel_id": channel.id,
            "payloads": len(payloads),
            "records": len(flat),
            "duplicates": len(flat) - len(fresh),
            "now": utcnow(),
            "at_path": channel.path,
            "at_version": channel.version,
        },
    )
    if found.rowcount == 0:
        raise StaleChannel(channel)
    errors = apply_records(
        session, channel.id, channel.template, [(item.record_id, item.record.value) for item in fresh], ctx
    )
    if channel.template is None:
        return outcomes
    for item, error in zip(fresh, errors, strict=True):
        outcome = outcomes[owners[item.position]]
        if error is None:
            outcome.applied += 1
        else:
            outcome.quarantined += 1
            outcome.errors.append((item.record_id, item.record.source_id, error))
    return outcomes


# Reapplying ----------------------------------------------------------------------------------------------

REAPPLY_CHUNK = 500
MAX_REPORTED_ERRORS = 100


def reapply_chunk(
    session: Session, channel: Channel, status: str, after: str | None, ctx: WriteContext, outcome: Outcome
) -> str | None:
    """Apply the next chunk of the channel's records in `status` (source ids after `after`) again; the last
    source id taken, or None when there were none. Records are locked before the channel, in source-id
    order, as receiving does."""
    r = RECORDS.c
    stmt = select(r.id, r.source_id, r.body).where(r.channel_id == channel.id, r.status == status)
    if after is not None:
        stmt = stmt.where(r.source_id > after)
    rows = session.execute(stmt.order_by(r.source_id).limit(REAPPLY_CHUNK).with_for_update()).all()
    if not rows:
        return None
    session.execute(
        update(CHANNELS).where(CHANNELS.c.id == channel.id).values(update_date=CHANNELS.c.update_date)
    )
    errors = apply_records(
        session, channel.id, channel.template, [(row.id, orjson.loads(row.body)) for row in rows], ctx
    )
    outcome.accepted += len(rows)
    for row, error in zip(rows, errors, strict=True):
        if error is None:
            outcome.applied += 1
        else:
            outcome.quarantined += 1
            if len(outcome.errors) < MAX_REPORTED_ERRORS:
                outcome.errors.append((row.id, row.source_id, error))
    return str(rows[-1].source_id)
