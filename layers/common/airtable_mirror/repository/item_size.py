"""Size of a DynamoDB item as DynamoDB bills and limits it, estimated on the safe (high) side.

Rules from the DynamoDB developer guide ("Item sizes and formats"): names and strings count their
UTF-8 bytes, binaries their bytes, a number about one byte per two significant digits plus one,
NULL and BOOL one byte, a list or map three bytes plus one byte per element. Numbers here count one
byte more than the guide says, so the estimate never falls below what DynamoDB computes.
"""

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

MAX_ITEM_BYTES = 400 * 1024
WRITE_UNIT_BYTES = 1024


def item_size(item: Mapping[str, "AttributeValueTypeDef"]) -> int:
    return sum(len(name.encode("utf-8")) + attribute_size(value) for name, value in item.items())


def attribute_size(value: "AttributeValueTypeDef") -> int:
    if "S" in value:
        return len(value["S"].encode("utf-8"))
    if "N" in value:
        return _number_size(value["N"])
    if "B" in value:
        return len(value["B"])
    if "BOOL" in value or "NULL" in value:
        return 1
    if "M" in value:
        return 3 + sum(
            1 + len(name.encode("utf-8")) + attribute_size(element) for name, element in value["M"].items()
        )
    if "L" in value:
        return 3 + sum(1 + attribute_size(element) for element in value["L"])
    if "SS" in value:
        return sum(len(element.encode("utf-8")) for element in value["SS"])
    if "NS" in value:
        return sum(_number_size(element) for element in value["NS"])
    if "BS" in value:
        return sum(len(element) for element in value["BS"])
    raise ValueError(f"unknown attribute value {sorted(value)}")


def write_units(item: Mapping[str, "AttributeValueTypeDef"]) -> int:
    """Write units one PutItem of `item` costs (standard table class, no transaction)."""
    return max(1, math.ceil(item_size(item) / WRITE_UNIT_BYTES))


def _number_size(text: str) -> int:
    magnitude = text.removeprefix("-")
    if magnitude.isascii() and magnitude.isdigit():  # an integer, as most cells are: its own digits
        digits = magnitude.strip("0")
    else:
        digits = "".join(map(str, Decimal(text).as_tuple().digits)).strip("0")
    return 2 + math.ceil(max(len(digits), 1) / 2)
