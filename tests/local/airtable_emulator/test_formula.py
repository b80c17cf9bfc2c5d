"""filterByFormula: the parser and evaluator on their own, then through list records over HTTP."""

from typing import Any

import pytest

from airtable_emulator.emulator import Emulator
from airtable_emulator.formula import FormulaError, compile_formula, parse, truthy
from airtable_emulator.model import Base
from tests.local.airtable_emulator.http_support import Client, error_type

FIELDS = {"Name": "fldName", "Count": "fldCount", "Done": "fldDone", "Notes": "fldNotes", "Due": "fldDue"}


def resolve(name_or_id: str) -> str | None:
    return FIELDS.get(name_or_id) or (name_or_id if name_or_id in FIELDS.values() else None)


def evaluate(text: str, cells: dict[str, Any] | None = None, record_id: str = "recAAAAAAAAAAAAAA") -> Any:
    values = cells or {}
    formula = compile_formula(text, resolve)
    return formula.evaluate(record_id, values.get)


def matches(text: str, cells: dict[str, Any] | None = None, record_id: str = "recAAAAAAAAAAAAAA") -> bool:
    values = cells or {}
    return compile_formula(text, resolve).matches(record_id, values.get)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("-2 + 5", 3),
        ("7 / 2", 3.5),
        ("'a' & \"b\" & 1", "ab1"),
        ("'it\\'s'", "it's"),
        ("1 = 1", True),
        ("1 != 1", False),
        ("1 <> 2", True),
        ("2 >= 2", True),
        ("'b' > 'a'", True),
        ("'10' = 10", True),
        ("TRUE() = 1", True),
        ("AND(1, 'x', TRUE())", True),
        ("AND(1, '')", False),
        ("OR(0, FALSE(), 'y')", True),
        ("NOT(0)", True),
        ("IF(1 > 2, 'yes', 'no')", "no"),
        ("IF(FALSE(), 'yes')", None),
        ("FIND('lo', 'hello')", 4),
        ("FIND('z', 'hello')", 0),
        ("SEARCH('LL', 'hello')", 3),
        ("LOWER('AbC') & UPPER('dE')", "abcDE"),
        ("LEN('four')", 4),
        ("TRIM('  x ')", "x"),
        ("CONCATENATE('a', 2, TRUE())", "a21"),
        ("BLANK() = ''", True),
        ("BLANK() = 0", True),
        ("and(true(), not(false()))", True),
        ("RECORD_ID()", "recAAAAAAAAAAAAAA"),
    ],
)
def test_expressions_evaluate_like_airtable(text: str, expected: Any) -> None:
    assert evaluate(text) == expected


def test_field_references_by_braces_bare_name_and_id() -> None:
    cells = {"fldName": "Ada", "fldCount": 3}
    assert evaluate("{Name} & '-' & Count", cells) == "Ada-3"
    assert evaluate("{fldCount} * 2", cells) == 6


def test_blank_cells_compare_as_empty_values() -> None:
    assert matches("{Notes} = ''")
    assert matches("{Notes} = BLANK()")
    assert not matches("{Notes}")
    assert matches("NOT({Done})")
    assert not matches("NOT({Done})", {"fldDone": True})


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        *[
            (0, False),
            (0.0, False),
            (float("nan"), False),
            ("", False),
            ([], False),
            (None, False),
            (False, False),
        ],
        *[(1, True), (-1, True), ("0", True), (["x"], True), (True, True)],
    ],
)
def test_truthiness_follows_the_filter_rule(value: Any, kept: bool) -> None:
    assert truthy(value) is kept


def test_runtime_errors_drop_the_record_instead_of_failing() -> None:
    assert not matches("1 / 0")
    assert not matches("{Name} + 1", {"fldName": "not a number"})
    with pytest.raises(ArithmeticError):
        evaluate("1 / 0")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("AND(1,", "expected"),
        ("1 +", "unexpected"),
        ("{Name} = 'x' )", "unexpected"),
        ("'unterminated", "unexpected character"),
        ("NOW()", "unknown function NOW()"),
        ("DATETIME_DIFF({Due}, TODAY(), 'days')", "unknown function"),
        ("NOT(1, 2)", "wrong number of arguments"),
        ("IF(1)", "wrong number of arguments"),
        ("{Missing} = 1", "Unknown field names: Missing"),
        ("AND(Ghost, {Other})", "Unknown field names: Ghost, Other"),
        ("1 # 2", "unexpected character"),
        ("(" * 500 + "1" + ")" * 500, "nested too deeply"),
        ("NOT(" * 100 + "1" + ")" * 100, "nested too deeply"),
        ("-" * 1000 + "1", "nested too deeply"),
        ("+".join(["1"] * 1000), "nested too deeply"),
    ],
)
def test_what_is_not_understood_is_an_error_never_a_match_all(text: str, message: str) -> None:
    with pytest.raises(FormulaError, match=message):
        compile_formula(text, resolve)


def test_parse_gives_a_tree() -> None:
    tree = parse("AND({A} = 1, B)")
    assert type(tree).__name__ == "Call"


def test_record_id_or_chain_is_exact() -> None:
    ids = [f"rec{index:014d}" for index in range(100)]
    text = "OR(" + ", ".join(f"RECORD_ID()='{record_id}'" for record_id in ids) + ")"
    formula = compile_formula(text, resolve)
    assert all(formula.matches(record_id, lambda _field: None) for record_id in ids)
    assert not formula.matches("recZZZZZZZZZZZZZZ", lambda _field: None)
    mixed = compile_formula("OR(RECORD_ID()='recA', {Count} > 1)", resolve)
    assert mixed.matches("recB", lambda field: 2 if field == "fldCount" else None)


# --- through HTTP -------------------------------------------------------------------------------


def _seed(emulator: Emulator, base: Base) -> list[str]:
    records = emulator.state.create_records(
        base.id,
        "Items",
        [
            {"Name": "apple", "Count": 3, "Color": "red", "Tags": ["a", "b"], "Due": "2025-01-02"},
            {"Name": "banana", "Count": 10, "Done": True, "Color": "green"},
            {"Name": "cherry", "Count": 0, "Notes": "small and red"},
            {"Name": "Apple pie", "Count": 7, "Tags": ["c"]},
        ],
    )
    return [record.id for record in records]


def _names(http: Client, base: Base, formula: str) -> list[str]:
    response = http.get(f"/v0/{base.id}/Items", params={"filterByFormula": formula})
    assert response.status_code == 200, response.text
    return [record["fields"]["Name"] for record in response.json()["records"]]


@pytest.mark.parametrize(
    ("formula", "names"),
    [
        ("{Name} = 'apple'", ["apple"]),
        ("{Count} > 5", ["banana", "Apple pie"]),
        ("AND({Count} >= 3, NOT({Done}))", ["apple", "Apple pie"]),
        ("OR({Color} = 'red', {Color} = 'green')", ["apple", "banana"]),
        ("FIND('red', {Notes})", ["cherry"]),
        ("FIND('a', Tags)", ["apple"]),
        ("LOWER(LEFT_PAD) = 1", None),
        ("SEARCH('apple', {Name})", ["apple", "Apple pie"]),
        ("LEN({Name}) > 6", ["Apple pie"]),
        ("{Count}", ["apple", "banana", "Apple pie"]),
        ("{Due} = '2025-01-02'", ["apple"]),
        ("IF({Done}, 0, 1)", ["apple", "cherry", "Apple pie"]),
        ("{Name} & '' = 'banana'", ["banana"]),
        ("''", []),
    ],
)
def test_filter_by_formula_over_http(
    emulator: Emulator, items_base: Base, http: Client, formula: str, names: list[str] | None
) -> None:
    _seed(emulator, items_base)
    if names is None:
        response = http.get(f"/v0/{items_base.id}/Items", params={"filterByFormula": formula})
        assert response.status_code == 422
        assert error_type(response) == "INVALID_FILTER_BY_FORMULA"
    else:
        assert _names(http, items_base, formula) == names


def test_record_id_formula_with_a_hundred_terms(emulator: Emulator, items_base: Base, http: Client) -> None:
    ids = _seed(emulator, items_base)
    fake = [f"rec{index:014d}" for index in range(98)]
    formula = "OR(" + ",".join(f"RECORD_ID()='{record_id}'" for record_id in [*fake, ids[0], ids[2]]) + ")"
    assert _names(http, items_base, formula) == ["apple", "cherry"]


def test_unsupported_formulas_get_422_with_a_message(items_base: Base, http: Client) -> None:
    response = http.get(f"/v0/{items_base.id}/Items", params={"filterByFormula": "{Nope} = 1"})
    assert response.status_code == 422
    assert response.json() == {
        "error": {
            "type": "INVALID_FILTER_BY_FORMULA",
            "message": "The formula for filtering records is invalid: Unknown field names: Nope",
        }
    }
    response = http.get(f"/v0/{items_base.id}/Items", params={"filterByFormula": "IS_AFTER({Due}, NOW())"})
    assert response.status_code == 422
    assert "unknown function IS_AFTER()" in response.json()["error"]["message"]


def test_linked_records_compare_by_their_primary_value(
    emulator: Emulator, items_base: Base, http: Client
) -> None:
    (owner,) = emulator.state.create_records(items_base.id, "Owners", [{"Name": "Grace"}])
    emulator.state.create_records(
        items_base.id, "Items", [{"Name": "owned", "Owner": [owner.id]}, {"Name": "orphan"}]
    )
    assert _names(http, items_base, "{Owner} = 'Grace'") == ["owned"]
