"""JSON <-> DynamoDB attribute values, without a database."""

import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airtable_mirror.repository import InvalidObservationError, JsonValue
from airtable_mirror.repository.attribute_values import (
    NotNativelyStorableError,
    canonical_json,
    from_attribute_value,
    number_from_dynamodb,
    number_to_dynamodb,
    to_attribute_value,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False, min_value=-1e120, max_value=1e120)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(min_size=1), children, max_size=4)
    ),
    max_leaves=20,
)


def _as_dynamodb_returns_it(value: JsonValue) -> JsonValue:
    """What a round trip promises: an integral float becomes the int its shortest repr names (as
    JavaScript would print it: 9.672028454934598e16 -> 96720284549345980, the same double), all else
    is unchanged."""
    if isinstance(value, float) and value.is_integer():
        return int(Decimal(repr(value)))
    if isinstance(value, list):
        return [_as_dynamodb_returns_it(element) for element in value]
    if isinstance(value, dict):
        return {key: _as_dynamodb_returns_it(element) for key, element in value.items()}
    return value


@given(json_values)
def test_every_storable_json_value_round_trips(value: JsonValue) -> None:
    # Given any JSON value DynamoDB can hold natively
    try:
        attribute = to_attribute_value(value)
    except NotNativelyStorableError:
        return  # numbers below 1e-130: covered by the compressed form (test_records)

    # When it comes back
    back = from_attribute_value(attribute)

    # Then it has the same JSON text (floats bit-identical, bools still bools), integral floats
    # written as JavaScript would write them
    assert canonical_json(back) == canonical_json(_as_dynamodb_returns_it(value))


@pytest.mark.parametrize(
    ("number", "stored"),
    [
        (0.1, "0.1"),
        (1e-7, "1E-7"),
        (12345678901234567890, "12345678901234567890"),
        (-0.0, "0"),
        (1.0, "1.0"),
        (10**40, str(10**40)),
        (1 / 3, "0.3333333333333333"),
    ],
)
def test_numbers_go_to_dynamodb_as_exact_decimal_text(number: float, stored: str) -> None:
    assert number_to_dynamodb(number) == stored


@given(st.integers(min_value=-(10**45), max_value=10**45))
def test_ints_go_to_dynamodb_as_their_decimal_text_whatever_their_length(number: int) -> None:
    digits = str(abs(number)).rstrip("0") or "0"
    if len(digits) > 38:
        with pytest.raises(NotNativelyStorableError):
            number_to_dynamodb(number)
    else:
        assert number_to_dynamodb(number) == str(Decimal(number)) == str(number)


@pytest.mark.parametrize(
    ("text", "number"),
    [("0.1", 0.1), ("0.0000001", 1e-7), ("1", 1), ("1.0", 1), ("-0", 0), ("1E+2", 100), ("-1.5", -1.5)],
)
def test_numbers_come_back_as_int_when_integral(text: str, number: float) -> None:
    back = number_from_dynamodb(text)
    assert back == number
    assert type(back) is type(number)


@pytest.mark.parametrize("number", [1e126, 5e-324, 10**40 + 1, -1.7976931348623157e308])
def test_numbers_dynamodb_cannot_hold_are_flagged(number: float) -> None:
    with pytest.raises(NotNativelyStorableError):
        number_to_dynamodb(number)


def test_booleans_are_not_numbers() -> None:
    assert to_attribute_value(True) == {"BOOL": True}
    assert to_attribute_value(1) == {"N": "1"}
    assert from_attribute_value({"BOOL": True}) is True


def test_empty_keys_and_deep_nesting_are_not_stored_natively() -> None:
    with pytest.raises(NotNativelyStorableError):
        to_attribute_value({"": 1})
    deep: JsonValue = "leaf"
    for _ in range(40):
        deep = [deep]
    with pytest.raises(NotNativelyStorableError):
        to_attribute_value(deep)


@pytest.mark.parametrize("value", [math.nan, math.inf, {1: "key is not a string"}, {"set": {1, 2}}, b"bytes"])
def test_values_that_are_not_json_are_refused(value: object) -> None:
    with pytest.raises(InvalidObservationError):
        canonical_json(value)
        to_attribute_value(value)


def test_canonical_json_sorts_keys_and_drops_whitespace() -> None:
    assert canonical_json({"b": [1, 2.5, None], "a": {"é": True}}) == '{"a":{"é":true},"b":[1,2.5,null]}'
