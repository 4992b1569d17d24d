"""Every value transform, on import (outside -> entity) and export (entity -> outside), and its errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from visitorhub.integration.templates import transforms
from visitorhub.integration.templates.spec import FieldMap
from visitorhub.integration.templates.transforms import Pipeline, TransformFailed, get_path


def run(
    name: str, value: Any, export: bool = False, context: dict[str, Any] | None = None, **args: Any
) -> Any:
    return Pipeline([(name, args)])(value, context or {}, export=export)


class TestCase:
    @pytest.mark.parametrize("export", [False, True])
    def test_trim_lower_upper(self, export: bool) -> None:
        assert run("trim", "  Ann Lee \t", export) == "Ann Lee"
        assert run("lower", "Ann@Example.COM", export) == "ann@example.com"
        assert run("upper", "fr", export) == "FR"

    @pytest.mark.parametrize("name", ["trim", "lower", "upper"])
    @pytest.mark.parametrize("value", [None, 12, True])
    def test_non_text_passes_through(self, name: str, value: Any) -> None:
        assert run(name, value) == value


class TestDate:
    def test_import_parses_with_the_format_as_utc(self) -> None:
        assert run("date", "31/12/2023", format="%d/%m/%Y") == datetime(2023, 12, 31, tzinfo=UTC)

    def test_import_keeps_an_explicit_offset(self) -> None:
        parsed = run("date", "2023-12-31 10:00 +0200", format="%Y-%m-%d %H:%M %z")
        assert parsed == datetime(2023, 12, 31, 8, 0, tzinfo=UTC)
        assert parsed.utcoffset() == timedelta(hours=2)

    def test_import_strips_surrounding_spaces(self) -> None:
        assert run("date", " 2023-01-02 ", format="%Y-%m-%d") == datetime(2023, 1, 2, tzinfo=UTC)

    def test_import_of_a_date_time_is_kept(self) -> None:
        value = datetime(2023, 1, 2, 3, 4, tzinfo=UTC)
        assert run("date", value, format="%d/%m/%Y") is value

    @pytest.mark.parametrize("export", [False, True])
    @pytest.mark.parametrize("value", [None, ""])
    def test_empty_is_none(self, value: Any, export: bool) -> None:
        assert run("date", value, export, format="%d/%m/%Y") is None

    def test_import_error_names_value_and_format(self) -> None:
        with pytest.raises(TransformFailed, match=r"'2023-12-31' is not a date in the format %d/%m/%Y"):
            run("date", "2023-12-31", format="%d/%m/%Y")

    def test_export_formats_an_iso_text(self) -> None:
        # What a record's API representation holds (model_dump(mode="json")).
        assert run("date", "2024-01-02T10:30:00Z", export=True, format="%d/%m/%Y %H:%M") == "02/01/2024 10:30"

    def test_export_formats_a_date_time(self) -> None:
        value = datetime(2024, 1, 2, 10, 30, tzinfo=timezone(timedelta(hours=1)))
        assert run("date", value, export=True, format="%Y%m%d%H%M%S") == "20240102103000"

    def test_export_then_import_round_trips(self) -> None:
        fmt = "%Y-%m-%d %H:%M:%S"
        text = run("date", "2024-03-04T05:06:07+00:00", export=True, format=fmt)
        assert run("date", text, format=fmt) == datetime(2024, 3, 4, 5, 6, 7, tzinfo=UTC)


class TestMap:
    TABLE = {"M": "m", "F": "f", "1": "m"}

    @pytest.mark.parametrize("export", [False, True])
    def test_replaces_by_table_entry(self, export: bool) -> None:
        assert run("map", "F", export, table=self.TABLE) == "f"

    def test_non_text_values_are_looked_up_as_text(self) -> None:
        assert run("map", 1, table=self.TABLE) == "m"

    def test_unknown_value_is_an_error_listing_the_choices(self) -> None:
        with pytest.raises(TransformFailed, match=r"'X' is not one of M, F, 1"):
            run("map", "X", table=self.TABLE)

    def test_unknown_value_takes_the_default(self) -> None:
        assert run("map", "X", table=self.TABLE, default="u") == "u"

    def test_a_null_default_is_a_default(self) -> None:
        assert run("map", "X", table=self.TABLE, default=None) is None

    @pytest.mark.parametrize("value", [None, ""])
    def test_empty_stays_empty(self, value: Any) -> None:
        assert run("map", value, table=self.TABLE) is None
        assert run("map", value, table=self.TABLE, default="u") is None

    def test_empty_uses_an_explicit_empty_entry(self) -> None:
        assert run("map", None, table={"": "u"}) == "u"


class TestConcat:
    @staticmethod
    def concat(
        value: Any, context: dict[str, Any], others: list[str], export: bool = False, **args: Any
    ) -> Any:
        return Pipeline([("concat", {"with": others, **args})])(value, context, export=export)

    def test_joins_the_value_and_other_outside_names(self) -> None:
        row = {"first": "Ann", "contact": {"last": "Lee"}}
        assert self.concat("Dr", row, ["first", "contact.last"]) == "Dr Ann Lee"

    def test_skips_empty_parts_and_uses_the_separator(self) -> None:
        row = {"a": "", "b": None, "c": " x "}
        assert self.concat("v", row, ["a", "b", "c", "missing"], separator="-") == "v-x"

    def test_all_empty_is_none(self) -> None:
        assert self.concat(None, {"a": " "}, ["a"]) is None

    def test_export_reads_api_fields_of_the_record(self) -> None:
        record = {"firstName": "Ann", "lastName": "Lee"}
        assert self.concat("Ann", record, ["lastName"], export=True) == "Ann Lee"


class TestSplit:
    def test_keeps_one_part(self) -> None:
        assert run("split", "Ann Lee") == "Ann"
        assert run("split", "Ann Marie Lee", index=-1) == "Lee"
        assert run("split", "1985-04-12", separator="-", index=1) == "04"

    def test_parts_are_trimmed(self) -> None:
        assert run("split", "Lee , Ann", separator=",", index=1) == "Ann"

    def test_missing_part_is_none(self) -> None:
        assert run("split", "Ann", index=2) is None

    @pytest.mark.parametrize("value", [None, 12])
    def test_non_text_passes_through(self, value: Any) -> None:
        assert run("split", value) == value

    def test_export(self) -> None:
        assert run("split", "FR-SC-123", export=True, separator="-", index=0) == "FR"


def test_pipeline_runs_steps_in_order() -> None:
    pipeline = Pipeline([("trim", {}), ("split", {"separator": "@", "index": 1}), ("upper", {})])
    assert pipeline("  ann@example.com ", {}) == "EXAMPLE.COM"


@pytest.mark.parametrize(
    ("name", "args", "fragment"),
    [
        ("reverse", {}, "unknown transform 'reverse'; known: trim, lower, upper, date, map, concat, split"),
        ("trim", {"chars": "x"}, "invalid arguments for 'trim': chars: Extra inputs are not permitted"),
        ("date", {}, "invalid arguments for 'date': format: Field required"),
        ("date", {"format": ""}, "invalid arguments for 'date': format: String should have at least 1"),
        ("map", {}, "invalid arguments for 'map': table: Field required"),
        ("map", {"table": ["a"]}, "invalid arguments for 'map': table: Input should be a valid dictionary"),
        ("concat", {"with": []}, "invalid arguments for 'concat': with: List should have at least 1 item"),
        ("concat", {"separator": "-"}, "invalid arguments for 'concat': with: Field required"),
        (
            "split",
            {"index": "first"},
            "invalid arguments for 'split': index: Input should be a valid integer",
        ),
        (
            "split",
            {"separator": ""},
            "invalid arguments for 'split': separator: String should have at least 1",
        ),
    ],
)
def test_check_names_the_problem(name: str, args: dict[str, Any], fragment: str) -> None:
    problem = transforms.check(name, args)
    assert problem is not None
    assert fragment in problem


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("trim", {}),
        ("lower", {}),
        ("upper", {}),
        ("date", {"format": "%d/%m/%Y"}),
        ("map", {"table": {"a": 1}, "default": None}),
        ("concat", {"with": ["x"], "separator": ", "}),
        ("split", {"separator": "-", "index": -1}),
    ],
)
def test_check_accepts_valid_arguments(name: str, args: dict[str, Any]) -> None:
    assert transforms.check(name, args) is None


class TestGetPath:
    def test_dotted_path_into_nested_objects(self) -> None:
        assert get_path({"contact": {"email": "a@b.c"}}, "contact.email") == "a@b.c"

    def test_exact_key_wins_over_the_path(self) -> None:
        # A CSV header may contain a dot.
        assert get_path({"contact.email": "flat", "contact": {"email": "nested"}}, "contact.email") == "flat"

    @pytest.mark.parametrize("data", [{}, {"contact": None}, {"contact": "text"}, {"contact": {}}])
    def test_missing_is_none(self, data: dict[str, Any]) -> None:
        assert get_path(data, "contact.email") is None


class TestShortForms:
    def test_name_only_and_name_with_args(self) -> None:
        fmap = FieldMap.model_validate(
            {
                "source": "d",
                "field": "lastVisitDate",
                "transforms": [
                    "trim",
                    {"date": {"format": "%d/%m/%Y"}},
                    {"name": "map", "args": {"table": {}}},
                    {"lower": None},
                ],
            }
        )
        assert [(t.name, t.args) for t in fmap.transforms] == [
            ("trim", {}),
            ("date", {"format": "%d/%m/%Y"}),
            ("map", {"table": {}}),
            ("lower", {}),
        ]
