"""Table schemas: field names by id, newer views win, last sync kept (moto and dynalite)."""

from airtable_mirror.repository.table_schemas import LastSync, StoredField, TableSchemaRepository
from tests.support.dynamodb import DynamoTable

BASE = "appBASE0000000001"
TABLE = "tblTABLE000000001"
FIELDS = [
    StoredField("fldNAME0000000001", "Name", "singleLineText"),
    StoredField("fldDONE0000000001", "Done", "checkbox"),
]


def test_a_stored_schema_maps_field_ids_to_names(dynamodb_table: DynamoTable) -> None:
    schemas = TableSchemaRepository(dynamodb_table.client, dynamodb_table.name)

    assert schemas.put_table(BASE, TABLE, "Tasks", FIELDS[0].id, FIELDS, version=10)

    stored = schemas.get_table(BASE, TABLE)
    assert stored is not None
    assert stored.field_names() == {"fldNAME0000000001": "Name", "fldDONE0000000001": "Done"}
    assert stored.last_sync is None
    assert [t.table_id for t in schemas.list_tables(BASE)] == [TABLE]
    assert schemas.list_tables("appOTHER000000001") == []


def test_an_older_schema_never_replaces_a_newer_one(dynamodb_table: DynamoTable) -> None:
    schemas = TableSchemaRepository(dynamodb_table.client, dynamodb_table.name)
    renamed = [StoredField(FIELDS[0].id, "Title", "singleLineText"), FIELDS[1]]
    schemas.put_table(BASE, TABLE, "Tasks", FIELDS[0].id, renamed, version=20)

    assert not schemas.put_table(BASE, TABLE, "Tasks", FIELDS[0].id, FIELDS, version=10)

    stored = schemas.get_table(BASE, TABLE)
    assert stored is not None and stored.field_names()[FIELDS[0].id] == "Title"


def test_the_last_sync_survives_a_schema_update(dynamodb_table: DynamoTable) -> None:
    schemas = TableSchemaRepository(dynamodb_table.client, dynamodb_table.name)
    schemas.put_table(BASE, TABLE, "Tasks", FIELDS[0].id, FIELDS, version=10)
    schemas.record_sync(
        BASE, TABLE, LastSync("run_1", "succeeded", "2026-11-26T07:00:00.000Z", {"written": 4})
    )

    schemas.put_table(BASE, TABLE, "Tasks v2", FIELDS[0].id, FIELDS, version=11)

    stored = schemas.get_table(BASE, TABLE)
    assert stored is not None and stored.name == "Tasks v2"
    assert stored.last_sync == LastSync("run_1", "succeeded", "2026-11-26T07:00:00.000Z", {"written": 4})
