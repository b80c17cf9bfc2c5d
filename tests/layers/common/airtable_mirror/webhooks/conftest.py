"""Most webhook tests need one mirror table, not both backends: moto alone keeps them fast."""

from collections.abc import Iterator

import pytest

from tests.support.dynamodb import DynamoTable, moto_table


@pytest.fixture
def moto_dynamo(aws_credentials: None) -> Iterator[DynamoTable]:
    with moto_table() as table:
        yield table
