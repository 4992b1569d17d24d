"""The batch helpers of the write path (used by template imports) give the same results as the per-record path:
the unique lookups of CrudService.batch (and the visitors' barcodes), CrudService.insert_many, the fast paths
of apply_create and represent."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import event, func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from visitorhub.core.db import one_of
from visitorhub.core.service import WriteContext, written
from visitorhub.domains.vehicles.resources import vehicles
from visitorhub.domains.visitors.resources import visitor_service
from visitorhub.errors import Conflict
from visitorhub.models import Vehicle, Visitor

_n = itertools.count(1)


def _visitor_values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "email": f"batch{next(_n)}@example.com",
        "first_name": "Ann",
        "last_name": "Lee",
        "gender": "f",
        "country_code": "FR",
        "acquisition_pc_code": "FR-SC-101",
    }
    values.update(overrides)
    return values


def _visitor(session: Session, **overrides: Any) -> Visitor:
    return visitor_service.create(session, _visitor_values(**overrides), WriteContext())


class _Statements:
    def __init__(self, session: Session) -> None:
        self.count = 0
        event.listen(session.get_bind(), "before_cursor_execute", self._seen)
        self.session = session

    def _seen(self, *_args: Any) -> None:
        self.count += 1

    def close(self) -> None:
        event.remove(self.session.get_bind(), "before_cursor_execute", self._seen)


def _email_taken(session: Session, email: str) -> bool:
    """The declared unique rule on e-mails, checked as a create would."""
    try:
        visitor_service.check_unique(session, {"email": email})
    except Conflict:
        return True
    return False


class TestVisitorBatch:
    def test_answers_the_email_check_like_the_per_visitor_query(self, session: Session) -> None:
        taken = _visitor(session, email="Mixed.Case@Example.com")
        free = _visitor_values()
        with visitor_service.batch(session, [{"email": "mixed.case@example.com"}, free]):
            statements = _Statements(session)
            try:
                assert _email_taken(session, "MIXED.case@example.com")
                assert not _email_taken(session, free["email"])
                with pytest.raises(Conflict):
                    visitor_service.plan_create(session, _visitor_values(email=taken.email), WriteContext())
                planned = visitor_service.plan_create(session, free, WriteContext())
            finally:
                statements.close()
            assert statements.count == 0  # all answered from the batch's lookups
        assert len(planned["barcode"]) == 13
        # Outside the batch, the same answers come from the per-visitor queries.
        assert _email_taken(session, "mixed.case@example.com")
        assert not _email_taken(session, free["email"])

    def test_barcodes_are_distinct_and_unused(self, session: Session) -> None:
        existing = _visitor(session)
        with visitor_service.batch(session, [_visitor_values() for _ in range(50)]):
            codes = [visitor_service.new_barcode(session) for _ in range(50)]
        assert len(set(codes)) == 50
        assert existing.barcode not in codes
        assert session.scalar(select(func.count()).where(Visitor.barcode.in_(codes))) == 0

    def test_a_flush_drops_the_preloaded_answers(self, session: Session) -> None:
        values = _visitor_values()
        with visitor_service.batch(session, [values]):
            assert not _email_taken(session, values["email"])
            _visitor(session, email=values["email"])  # create() flushes: the answer no longer holds
            assert _email_taken(session, values["email"])

    def test_an_email_not_in_the_batch_is_queried(self, session: Session) -> None:
        other = _visitor(session)
        with visitor_service.batch(session, [_visitor_values()]):
            assert _email_taken(session, other.email)


def _new_vehicles(session: Session, visitor: Visitor, plates: list[str]) -> list[Vehicle]:
    return [
        vehicles.service.new_record(
            vehicles.service.plan_create(
                session, {"visitor_id": visitor.visitor_id, "license_plate": plate}, WriteContext()
            )
        )
        for plate in plates
    ]


def _row(session: Session, model: type[Visitor] | type[Vehicle], key: Any) -> dict[str, Any]:
    """A stored row, read back as a fresh instance's column values."""
    session.expire_all()
    obj = session.get(model, key)
    assert obj is not None
    return {attr.key: getattr(obj, attr.key) for attr in sa_inspect(model).column_attrs}


class TestInsertMany:
    def test_numbers_integer_keys_in_order(self, session: Session) -> None:
        visitor = _visitor(session)
        first = vehicles.service.create(
            session, {"visitor_id": visitor.visitor_id, "license_plate": "AA-001-AA"}, WriteContext()
        )
        new = _new_vehicles(session, visitor, [f"AA-{i:03d}-AB" for i in range(3)])
        session.flush()  # the change records create() added
        statements = _Statements(session)
        try:
            vehicles.service.insert_many(session, new)
        finally:
            statements.close()
        ids = [v.vehicle_id for v in new]
        assert ids == sorted(ids)
        assert ids[0] > first.vehicle_id
        # numbered as the database would (SQLite: the largest key + 1, ...; PostgreSQL: the table's sequence)
        assert ids == [first.vehicle_id + 1, first.vehicle_id + 2, first.vehicle_id + 3]
        if session.get_bind().dialect.name == "sqlite":
            assert statements.count == 2  # the largest key ever handed out, and the INSERT
        else:  # the keys from the sequence in one query; then COPY, on the driver's own cursor
            assert statements.count == 1
        stored = session.scalars(
            select(Vehicle.license_plate)
            .where(Vehicle.vehicle_id > first.vehicle_id)
            .order_by(Vehicle.vehicle_id)
        )
        assert list(stored) == ["AA-000-AB", "AA-001-AB", "AA-002-AB"]
        later = vehicles.service.create(
            session, {"visitor_id": visitor.visitor_id, "license_plate": "AA-009-AA"}, WriteContext()
        )
        assert later.vehicle_id > ids[-1]  # the database's own numbering moved past them

    def test_writes_the_row_a_flush_writes_and_the_record_shows_it(self, session: Session) -> None:
        visitor = _visitor(session)
        flushed = vehicles.service.apply_create(
            session,
            vehicles.service.plan_create(
                session, {"visitor_id": visitor.visitor_id, "license_plate": "bb-1"}, WriteContext()
            ),
        )
        session.flush()
        (inserted,) = _new_vehicles(session, visitor, ["bb-2"])
        inserted.creation_date = inserted.update_date = flushed.creation_date
        vehicles.service.insert_many(session, [inserted])
        assert sa_inspect(inserted).transient  # the writer drops it with the batch
        represented = vehicles.service.represent(inserted)
        flushed_row = _row(session, Vehicle, flushed.vehicle_id)
        inserted_row = _row(session, Vehicle, inserted.vehicle_id)
        for row in (flushed_row, inserted_row):
            row.pop("vehicle_id"), row.pop("license_plate"), row.pop("license_plate_normalized")
        assert inserted_row == flushed_row
        stored = session.get(Vehicle, inserted.vehicle_id)
        assert represented == vehicles.service.represent(stored)

    def test_column_defaults_fill_unset_columns(self, session: Session) -> None:
        values = visitor_service.plan_create(session, _visitor_values(), WriteContext())
        visitor = visitor_service.new_record(values)
        assert "email_verified" not in visitor.__dict__
        visitor_service.insert_many(session, [visitor])
        assert visitor.email_verified is False
        assert visitor.phone is None
        assert _row(session, Visitor, visitor.visitor_id)["email_verified"] is False

    def test_dates_written_in_between_keep_their_own_values(self, session: Session) -> None:
        """The batch's instant and each visitor's own date alternate (the SQLite bind processing keeps the
        text of the last two): every stored date is its own."""
        now = datetime(2026, 12, 6, 10, 0, 0, 123456, tzinfo=UTC)
        own = [now + timedelta(seconds=n, microseconds=n) for n in range(1, 4)]
        records = []
        for when in own:
            values = visitor_service.plan_create(
                session, _visitor_values(registration_date=when), WriteContext()
            )
            records.append(visitor_service.new_record(values, now))
        visitor_service.insert_many(session, records)
        session.expire_all()
        for record, when in zip(records, own, strict=True):
            stored = session.get(Visitor, record.visitor_id)
            assert stored is not None
            assert (stored.creation_date, stored.update_date, stored.registration_date) == (now, now, when)

    def test_client_side_keys_are_kept(self, session: Session) -> None:
        chosen = uuid.uuid4()
        values = visitor_service.plan_create(session, _visitor_values(visitor_id=chosen), WriteContext())
        visitor = visitor_service.new_record(values)
        visitor_service.insert_many(session, [visitor])
        assert visitor.visitor_id == chosen
        assert session.get(Visitor, chosen) is not None

    def test_records_that_need_the_unit_of_work_are_flushed(self, session: Session) -> None:
        visitor = _visitor(session)
        visitor.first_name = "Changed"  # pending in the session: flushed first
        written(session, visitor)  # (these mechanics are the write path's own: the guard lets them pass)
        now = visitor.creation_date
        linked = Vehicle(visitor=visitor, license_plate="CC-1", license_plate_normalized="CC1")
        linked.creation_date = linked.update_date = now
        written(session, linked)
        undated = vehicles.service.new_record(
            {"visitor_id": visitor.visitor_id, "license_plate": "CC-2", "license_plate_normalized": "CC2"}
        )
        del undated.__dict__["creation_date"]  # a default the database side would compute
        vehicles.service.insert_many(session, [linked, undated])
        assert linked in session
        assert undated in session
        assert linked.visitor_id == visitor.visitor_id
        assert undated.creation_date is not None
        assert _row(session, Visitor, visitor.visitor_id)["first_name"] == "Changed"

    def test_new_visitors_drop_the_preloaded_answers(self, session: Session) -> None:
        values = _visitor_values()
        with visitor_service.batch(session, [values]):
            assert not _email_taken(session, values["email"])
            planned = visitor_service.plan_create(session, values, WriteContext())
            visitor_service.insert_many(session, [visitor_service.new_record(planned)])
            assert _email_taken(session, values["email"])


class TestApplyCreateAndRepresent:
    def test_the_fast_constructor_makes_the_same_record(self, session: Session) -> None:
        values = visitor_service.plan_create(session, _visitor_values(phone=None), WriteContext())
        fast = visitor_service.apply_create(session, values)
        slow = Visitor(**{**values, "visitor_id": uuid.uuid4(), "email": "slow." + values["email"]})
        # A different barcode (unique): change the first digit, whatever it was.
        slow.barcode = ("1" if values["barcode"][0] == "0" else "0") + values["barcode"][1:]
        slow.creation_date = slow.update_date = fast.creation_date
        session.add(slow)
        written(session, slow)
        session.flush()
        session.expire_all()
        a, b = visitor_service.represent(fast), visitor_service.represent(slow)
        for key in ("visitorId", "email", "barcode"):
            a.pop(key), b.pop(key)
        assert a == b

    def test_unknown_names_are_refused(self, session: Session) -> None:
        with pytest.raises(TypeError):
            vehicles.service.apply_create(session, {"license_plate": "X", "no_such_column": 1})

    @pytest.mark.parametrize("state", ["pending", "flushed", "expired"])
    def test_represent_equals_validation_from_the_attributes(self, session: Session, state: str) -> None:
        values = visitor_service.plan_create(session, _visitor_values(), WriteContext())
        visitor = visitor_service.apply_create(session, values)
        if state != "pending":
            session.flush()
        if state == "expired":
            session.expire(visitor)

        def outcome(represent: Any) -> Any:
            try:
                return represent()
            except ValidationError as exc:  # pending: column defaults (emailVerified...) come at flush
                return [(e["loc"], e["type"]) for e in exc.errors()]

        expected = outcome(
            lambda: visitor_service.read.model_validate(visitor).model_dump(mode="json", by_alias=True)
        )
        got = outcome(lambda: visitor_service.represent(visitor))
        assert got == expected
        if isinstance(expected, dict):
            assert list(got) == list(expected)


class TestOneOf:
    """core.db.one_of: a batch's lookups of hundreds of values, as each database takes them best."""

    def test_finds_the_same_records_as_in(self, session: Session) -> None:
        visitors = [_visitor(session) for _ in range(3)]
        session.flush()
        wanted = [v.visitor_id for v in visitors[:2]] + [uuid.uuid4()]
        column = Visitor.__table__.c.visitor_id
        found = set(session.scalars(select(column).where(one_of(column, wanted, session))))
        assert found == {v.visitor_id for v in visitors[:2]}

    def test_the_values_are_one_parameter(self, session: Session) -> None:
        column = Visitor.__table__.c.email
        compiled = select(column).where(one_of(column, ["a", "b", "c"], session)).compile(session.get_bind())
        if session.get_bind().dialect.name == "postgresql":
            assert "= ANY" in str(compiled)
            assert list(compiled.params.values()) == [["a", "b", "c"]]
        else:
            assert "json_each" in str(compiled)
            assert list(compiled.params.values()) == ['["a","b","c"]']

    def test_integers_to_the_ends_of_int64(self, session: Session) -> None:
        """Integers (content hashes) go to PostgreSQL as one array text: signed, up to int64's ends."""
        visitors = [_visitor(session) for _ in range(4)]
        hashes = [-(2**63), 2**63 - 1, -1, 0]
        session.flush()
        table = Visitor.__table__
        for visitor, content_hash in zip(visitors, hashes, strict=True):  # as an import writes them
            where = table.c.visitor_id == visitor.visitor_id
            session.execute(table.update().where(where).values(content_hash=content_hash))
        column = table.c.content_hash
        wanted = [*hashes[:3], 12345]
        statement = select(column).where(one_of(column, wanted, session))
        assert set(session.scalars(statement)) == set(hashes[:3])
        if session.get_bind().dialect.name == "postgresql":
            params = list(statement.compile(session.get_bind()).params.values())
            assert params == ["{-9223372036854775808,9223372036854775807,-1,12345}"]

    def test_values_as_the_column_stores_them(self, session: Session) -> None:
        """SQLite: a UUID is looked up as the hex text SQLAlchemy stores (the column's bind processing)."""
        visitor = _visitor(session)
        session.flush()
        column = Visitor.__table__.c.visitor_id
        found = session.scalars(select(column).where(one_of(column, [visitor.visitor_id], session))).all()
        assert found == [visitor.visitor_id]

    def test_an_untyped_expression_is_compared_with_in(self, session: Session) -> None:
        expression = func.lower(Visitor.__table__.c.email)  # no type: an ARRAY of it cannot be cast
        assert " IN " in str(
            select(expression).where(one_of(expression, ["a"], session)).compile(session.get_bind())
        )

    def test_values_json_cannot_hold_take_the_in_list(self, session: Session) -> None:
        column = Visitor.__table__.c.last_name
        compiled = select(column).where(one_of(column, [object()], session)).compile(session.get_bind())
        assert "json_each" not in str(compiled)
