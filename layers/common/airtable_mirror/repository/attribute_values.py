"""JSON cell values <-> DynamoDB attribute values, and the canonical JSON the content hash is taken of.

Numbers go to DynamoDB as decimal strings (`str(Decimal(repr(x)))`), never through binary floats,
and come back as `int` when integral and `float` otherwise:

- a non-integral float comes back bit-identical (its shortest repr is an exact decimal, and
  `float(Decimal(...))` rounds that decimal back to the same double);
- ints come back exactly, however long (up to DynamoDB's 38 significant digits);
- an *integral* float (`1.0`, `-0.0`, `1e21`) comes back as an int (`1`, `0`, `10**21`): the int
  its shortest repr names, which converts back to the same float (`9.672028454934598e16` comes back
  as `96720284549345980`, exactly what JavaScript prints for that double). DynamoDB normalises
  numbers (`1.0` is stored as `1`, `-0` as `0`), so the int/float distinction cannot survive; JSON
  from Airtable never carries it either (JavaScript writes `1.0` as `1` and `-0` as `0`).
- `True` stays a BOOL and `1` stays a number.

A value DynamoDB cannot hold natively (a number outside 1E-130..1E+126 or with more than 38
significant digits, nesting deeper than DynamoDB allows, an empty map key) raises
NotNativelyStorableError; the record repository then stores the exact JSON compressed instead.
"""

import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from airtable_mirror.repository.errors import CorruptItemError, InvalidObservationError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

type JsonValue = bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None

# DynamoDB allows 32 levels of nesting counted from the item; `cells` itself is one, keep a margin.
MAX_NATIVE_DEPTH = 30
MAX_SIGNIFICANT_DIGITS = 38
MIN_ADJUSTED_EXPONENT = -130
MAX_ADJUSTED_EXPONENT = 125
_NATIVE_INT_BOUND = 10**MAX_SIGNIFICANT_DIGITS


class NotNativelyStorableError(ValueError):
    """Valid JSON that DynamoDB's native types cannot represent exactly."""


def canonical_json(value: object) -> str:
    """Sorted keys, no whitespace, UTF-8 characters kept as they are; rejects NaN and non-JSON types."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidObservationError(f"cell values are not JSON: {error}") from error


def number_to_dynamodb(value: int | float) -> str:
    """Decimal string DynamoDB stores exactly, or NotNativelyStorableError."""
    if isinstance(value, int) and -_NATIVE_INT_BOUND < value < _NATIVE_INT_BOUND:
        return str(value)  # what the Decimal route below gives an int of at most 38 digits
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidObservationError(f"{value!r} is not a JSON number")
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if number.is_zero():
        return "0"
    # Not Decimal.normalize(): it rounds to the context's 28 digits and would hide long numbers.
    digits = "".join(map(str, number.as_tuple().digits)).rstrip("0")
    adjusted = number.adjusted()
    if len(digits) > MAX_SIGNIFICANT_DIGITS:
        raise NotNativelyStorableError(f"{value!r} has more than {MAX_SIGNIFICANT_DIGITS} significant digits")
    if not MIN_ADJUSTED_EXPONENT <= adjusted <= MAX_ADJUSTED_EXPONENT:
        raise NotNativelyStorableError(f"{value!r} is outside DynamoDB's number range")
    return str(number)


def number_from_dynamodb(text: str) -> int | float:
    number = Decimal(text)
    if number == number.to_integral_value():
        return int(number)
    return float(number)


def to_attribute_value(value: object, depth: int = 1) -> "AttributeValueTypeDef":
    """Convert a JSON value (as json.loads returns it; tuples count as lists)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": number_to_dynamodb(value)}
    if isinstance(value, str):
        return {"S": value}
    if depth > MAX_NATIVE_DEPTH:
        raise NotNativelyStorableError(f"nesting deeper than {MAX_NATIVE_DEPTH} levels")
    if isinstance(value, list | tuple):
        return {"L": [to_attribute_value(element, depth + 1) for element in value]}
    if isinstance(value, Mapping):
        return {"M": map_to_attribute_values(value, depth + 1)}
    raise InvalidObservationError(f"{type(value).__name__} is not a JSON type")


def map_to_attribute_values(
    values: Mapping[Any, object], depth: int = 1
) -> dict[str, "AttributeValueTypeDef"]:
    converted: dict[str, AttributeValueTypeDef] = {}
    for key, element in values.items():
        if not isinstance(key, str):
            raise InvalidObservationError(f"object keys must be strings, got {key!r}")
        if key == "":
            raise NotNativelyStorableError("empty object key")
        converted[key] = to_attribute_value(element, depth)
    return converted


def from_attribute_value(attribute: "AttributeValueTypeDef") -> JsonValue:
    if "S" in attribute:
        return attribute["S"]
    if "N" in attribute:
        return number_from_dynamodb(attribute["N"])
    if "BOOL" in attribute:
        return attribute["BOOL"]
    if "NULL" in attribute:
        return None
    if "M" in attribute:
        return map_from_attribute_values(attribute["M"])
    if "L" in attribute:
        return [from_attribute_value(element) for element in attribute["L"]]
    raise CorruptItemError(f"unexpected attribute type {sorted(attribute)} in stored cells")


def map_from_attribute_values(values: Mapping[str, "AttributeValueTypeDef"]) -> dict[str, JsonValue]:
    return {key: from_attribute_value(element) for key, element in values.items()}
