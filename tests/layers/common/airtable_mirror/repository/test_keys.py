"""Key layout: safe identifiers, and template.yaml defining the table the code expects."""

import pytest

from airtable_mirror.repository import InvalidIdentifierError
from airtable_mirror.repository.keys import (
    CHANGED_KEY,
    CREATED_KEY,
    INDEX_SORT_KEYS,
    PARTITION_KEY,
    SORT_KEY,
    TABLE_KEY,
    TTL_ATTRIBUTE,
    active_run_pk,
    checkpoint_sk,
    index_sort_key,
    lock_pk,
    page_number_from_sk,
    rate_pk,
    record_id_from_pk,
    record_pk,
    run_pk,
    table_key,
)
from tests.support.dynamodb import CloudFormationTag, create_table_kwargs, load_template, table_properties
from tests.support.records import BASE_ID, TABLE_ID


def test_keys_follow_the_documented_layout() -> None:
    assert record_pk(BASE_ID, "recX") == f"B#{BASE_ID}#R#recX"
    assert record_id_from_pk(BASE_ID, record_pk(BASE_ID, "recX")) == "recX"
    assert table_key(BASE_ID, TABLE_ID) == f"B#{BASE_ID}#T#{TABLE_ID}"
    assert index_sort_key("2024-01-01T00:00:00.000Z", "recX") == "2024-01-01T00:00:00.000Z#recX"
    assert run_pk(BASE_ID, "run-1") == f"B#{BASE_ID}#RUN#run-1"
    assert checkpoint_sk(7) == "PAGE#000007"
    assert page_number_from_sk("PAGE#000007") == 7
    assert active_run_pk(BASE_ID, TABLE_ID) == f"B#{BASE_ID}#ACTIVE#{TABLE_ID}"
    assert lock_pk(BASE_ID) == f"B#{BASE_ID}#LOCK"
    assert rate_pk(BASE_ID) == f"B#{BASE_ID}#RATE"


@pytest.mark.parametrize("bad", ["", "app#x", "app x", "a" * 129, "appé", None, 5])
def test_identifiers_that_could_break_a_key_are_refused(bad: object) -> None:
    with pytest.raises(InvalidIdentifierError):
        record_pk(bad, "recX")  # type: ignore[arg-type]


def test_page_numbers_are_bounded() -> None:
    with pytest.raises(ValueError, match="page_number"):
        checkpoint_sk(-1)
    with pytest.raises(ValueError, match="page_number"):
        checkpoint_sk(1_000_000)
    with pytest.raises(TypeError):
        checkpoint_sk(True)


def test_template_defines_the_table_the_repository_expects() -> None:
    # Given the SAM template, short intrinsic tags and all
    template = load_template()
    properties = table_properties(template)

    # Then its keys, indexes, TTL and protections are the ones the code relies on
    assert "AWS::Serverless-2016-10-31" in template["Transform"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["KeySchema"] == [
        {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
        {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
    ]
    indexes = {index["IndexName"]: index for index in properties["GlobalSecondaryIndexes"]}
    assert set(indexes) == set(INDEX_SORT_KEYS)
    for name, sort_key in INDEX_SORT_KEYS.items():
        assert indexes[name]["KeySchema"] == [
            {"AttributeName": TABLE_KEY, "KeyType": "HASH"},
            {"AttributeName": sort_key, "KeyType": "RANGE"},
        ]
        assert indexes[name]["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["version"]}
    assert {definition["AttributeName"] for definition in properties["AttributeDefinitions"]} == {
        PARTITION_KEY,
        SORT_KEY,
        TABLE_KEY,
        CREATED_KEY,
        CHANGED_KEY,
    }
    assert properties["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"] == {"SSEEnabled": True}
    assert properties["Tags"][0]["Value"] == CloudFormationTag(tag="!Ref", value="AWS::StackName")


def test_create_table_arguments_come_from_the_template() -> None:
    kwargs = create_table_kwargs("some-table")
    assert kwargs["TableName"] == "some-table"
    assert set(kwargs) == {
        "TableName",
        "KeySchema",
        "AttributeDefinitions",
        "GlobalSecondaryIndexes",
        "BillingMode",
    }


def test_intrinsics_in_key_properties_are_refused() -> None:
    template = {
        "Resources": {
            "MirrorTable": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {"BillingMode": CloudFormationTag("!Ref", "Billing")},
            }
        }
    }
    with pytest.raises(ValueError, match="intrinsic"):
        create_table_kwargs("t", template)
