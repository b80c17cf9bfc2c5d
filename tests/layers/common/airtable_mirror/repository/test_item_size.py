"""Item size estimates: exact for strings and binaries, never below what DynamoDB (dynalite) bills."""

import math
import random
import string
from typing import TYPE_CHECKING

import pytest

from airtable_mirror.repository.item_size import WRITE_UNIT_BYTES, item_size, write_units
from tests.support.dynamodb import DynamoTable, consumed_capacity

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef


def test_names_strings_and_binaries_count_their_bytes() -> None:
    assert item_size({"pk": {"S": "abc"}}) == 5
    assert item_size({"é": {"S": "日本"}}) == 2 + 6
    assert item_size({"b": {"B": bytes(10)}, "t": {"BOOL": True}, "n": {"NULL": True}}) == 11 + 2 + 2


def test_containers_count_their_overhead() -> None:
    # map: 3 + per entry (1 + name + value); list: 3 + per element (1 + value)
    assert item_size({"m": {"M": {"ab": {"S": "xyz"}}}}) == 1 + 3 + 1 + 2 + 3
    assert item_size({"l": {"L": [{"S": "x"}, {"S": "yz"}]}}) == 1 + 3 + 2 + 3


def test_numbers_count_about_one_byte_per_two_digits() -> None:
    assert item_size({"n": {"N": "7"}}) == 1 + 3
    assert item_size({"n": {"N": "12345678901234567890"}}) == 1 + 12
    assert item_size({"n": {"N": "1000000"}}) == item_size({"n": {"N": "1"}})
    assert write_units({"n": {"N": "1"}}) == 1


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("0", 1),
        ("-0", 1),
        ("7", 1),
        ("-120", 2),
        ("1200", 2),
        ("00012", 2),
        ("12345678901234567890", 19),
        ("0.5", 1),
        ("-3.25", 3),
        ("1E-7", 1),
        ("1.0E+2", 1),
    ],
)
def test_a_number_counts_its_significant_digits_written_as_an_int_or_not(text: str, digits: int) -> None:
    assert item_size({"n": {"N": text}}) == 1 + 2 + math.ceil(digits / 2)


def _random_item(rng: random.Random, target: int) -> "dict[str, AttributeValueTypeDef]":
    item: dict[str, AttributeValueTypeDef] = {"pk": {"S": f"item-{rng.random()}"}, "sk": {"S": "X"}}
    while item_size(item) < target:
        name = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(1, 8)))
        kind = rng.choice("SNBML")
        if kind == "S":
            item[name] = {"S": "".join(rng.choices("aé日𝄞", k=rng.randint(0, 30)))}
        elif kind == "N":
            item[name] = {"N": str(rng.choice([rng.randint(-(10**12), 10**12), rng.random() * 1e6]))}
        elif kind == "B":
            item[name] = {"B": rng.randbytes(rng.randint(0, 40))}
        elif kind == "M":
            item[name] = {"M": {"k": {"N": str(rng.randint(0, 999))}, "s": {"S": "v" * rng.randint(0, 9)}}}
        else:
            item[name] = {"L": [{"BOOL": True}, {"NULL": True}, {"N": "0.5"}]}
    return item


def test_items_estimated_within_one_write_unit_cost_one_on_dynalite(dynalite_only_table: DynamoTable) -> None:
    # Given items from well below to just above 1 KB by our estimate
    rng = random.Random(5)
    items = [_random_item(rng, rng.randint(850, 1100)) for _ in range(40)]

    # When each is written to a fresh key
    with consumed_capacity(dynalite_only_table.client, "PutItem") as units:
        for item in items:
            dynalite_only_table.client.put_item(TableName=dynalite_only_table.name, Item=item)

    # Then every item we estimate at one write unit costs exactly one
    assert len(units) == len(items)
    estimated_single = [
        unit for item, unit in zip(items, units, strict=True) if item_size(item) <= WRITE_UNIT_BYTES
    ]
    assert estimated_single
    assert set(estimated_single) == {1.0}
