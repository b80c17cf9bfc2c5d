"""The records handler, fed HTTP API events shaped like events/records_*.json (as `sam local invoke`
would)."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from airtable_mirror import runtime
from airtable_mirror.records_api.cursor import DEVELOPMENT_SIGNING_KEY, CursorCodec
from airtable_mirror.records_api.errors import InvalidQueryError
from airtable_mirror.repository import RecordObservation
from airtable_mirror.repository.table_schemas import LastSync, StoredField
from tests.functions.conftest import EVENTS, Stack, load_event
from tests.functions.records.http_events import Answer, get, invoke

ROOT = Path(__file__).resolve().parents[3]
VERSION = 1_714_564_800_000_000
PEOPLE_ID = "tblPeople00000001"
TASKS_ID = "tblTasks000000001"
TASK_FIELDS = (
    StoredField("fldTitle000000001", "Title", "singleLineText"),
    StoredField("fldStatus00000001", "Status", "singleSelect"),
    StoredField("fldDone0000000001", "Done", "checkbox"),
)
STATUSES = ("Todo", "Done", "Blocked")


def task_id(number: int) -> str:
    return f"recTask{number:010d}"


def person_id(number: int) -> str:
    return f"recPers{number:010d}"


def mirror_tables(stack: Stack, tasks: int = 60, people: int = 5) -> None:
    """People and Tasks written straight into the mirror (faster than a sync; one test syncs)."""
    schemas, records = runtime.table_schema_repository(), runtime.record_repository()
    base = stack.base.id
    schemas.put_table(base, TASKS_ID, "Tasks", TASK_FIELDS[0].id, TASK_FIELDS, VERSION)
    schemas.put_table(
        base,
        PEOPLE_ID,
        "People",
        "fldName0000000001",
        [StoredField("fldName0000000001", "Name", "singleLineText")],
        VERSION,
    )
    observations = [
        RecordObservation(
            base_id=base,
            table_id=TASKS_ID,
            record_id=task_id(n),
            created_time=f"2025-01-01T00:{n // 60:02d}:{n % 60:02d}.000Z",
            cells={"fldTitle000000001": f"Task {n}", "fldStatus00000001": STATUSES[n % 3]}
            | ({"fldDone0000000001": True} if n % 3 == 1 else {}),
            version=VERSION + (n * 7 % tasks + 1) * 1_000_000,
        )
        for n in range(tasks)
    ] + [
        RecordObservation(
            base_id=base,
            table_id=PEOPLE_ID,
            record_id=person_id(n),
            created_time="2025-01-01T00:00:00.000Z",
            cells={"fldName0000000001": f"Person {n}"},
            version=VERSION,
        )
        for n in range(people)
    ]
    records.upsert_many(observations)


@pytest.fixture
def mirrored(stack: Stack) -> Iterator[Stack]:
    mirror_tables(stack)
    yield stack


def walk(path: str, query: dict[str, str]) -> tuple[list[str], list[dict[str, Any]]]:
    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        answer = get(path, query | ({"cursor": cursor} if cursor else {}))
        assert answer.status == 200, answer.text
        pages.append(answer.json())
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            return [record["id"] for page in pages for record in page["records"]], pages
        assert len(pages) < 100


def error(answer: Answer) -> dict[str, Any]:
    body = answer.json()
    assert set(body) == {"error"}, body
    detail: dict[str, Any] = body["error"]
    return detail


# The sample events, after a real sync of the emulator's demo base


def test_the_sample_events_answer_after_a_sync_of_the_demo_base(stack: Stack) -> None:
    for table in ("People", "Tasks"):
        run = runtime.sync_service().start_run(table).run
        runtime.sync_engine().run_slice(stack.base.id, run.run_id, should_hand_over=lambda: False)
    tasks = stack.base.table("Tasks")

    listing = invoke(load_event("records_list.json"))
    assert listing.status == 200
    page = listing.json()
    assert (page["table"]["name"], page["count"], page["sort_order"]) == ("Tasks", 100, "desc")
    created = [record["createdTime"] for record in page["records"]]
    assert created == sorted(created, reverse=True)
    first = page["records"][0]
    stored = next(record for record in tasks.records.values() if record.id == first["id"])
    assert first["fields"]["Title"] == stored.cells[tasks.field("Title").id]
    assert set(first["mirror"]) == {"changed_at", "synced_at", "version"}

    done = invoke(load_event("records_tasks.json")).json()
    assert done["count"] == 20 and {r["fields"]["Status"] for r in done["records"]} == {"Done"}
    assert invoke(load_event("records_people.json")).json()["table"]["name"] == "People"

    tables = {t["name"]: t for t in invoke(load_event("records_tables.json")).json()["tables"]}
    assert tables["Tasks"]["record_count"] == len(tasks.records)
    assert tables["People"]["record_count"] == len(stack.base.table("People").records)
    assert tables["Tasks"]["last_sync"]["status"] == "succeeded"

    unknown = invoke(load_event("records_get.json"))
    assert (unknown.status, error(unknown)["code"]) == (404, "RECORD_NOT_FOUND")
    one = get(f"/records/{first['id']}")
    assert (one.status, one.json()) == (200, first)


def test_every_sample_event_is_for_a_route_of_the_template() -> None:
    from tests.support.dynamodb import load_template

    function = load_template()["Resources"]["RecordsFunction"]["Properties"]
    routes = {f"{e['Properties']['Method']} {e['Properties']['Path']}" for e in function["Events"].values()}
    samples = sorted(EVENTS.glob("records_*.json"))
    assert {json.loads(sample.read_text())["routeKey"] for sample in samples} == routes


# Pages, cursors, orders


def test_cursors_walk_every_record_once_in_both_orders_and_directions(mirrored: Stack) -> None:
    orders = {"created_at": lambda n: n, "changed_at": lambda n: n * 7 % 60}
    for sort_by, position in orders.items():
        for sort_order in ("asc", "desc"):
            query = {"table_name": "tasks", "limit": "17", "sort_by": sort_by, "sort_order": sort_order}

            walked, pages = walk("/records", query)

            expected = [task_id(n) for n in sorted(range(60), key=position)]
            assert walked == (expected if sort_order == "asc" else expected[::-1]), query
            assert [page["count"] for page in pages[:3]] == [17, 17, 17]


def test_the_seeds_parameters_work_as_written(mirrored: Stack) -> None:
    answer = get(
        "/records",
        {"table_name": "tasks", "skip": "10", "limit": "5", "sort_by": "created_at", "sort_order": "desc"},
    )

    assert answer.status == 200
    assert [r["id"] for r in answer.json()["records"]] == [task_id(n) for n in range(49, 44, -1)]


def test_people_and_tasks_are_served_through_their_aliases(mirrored: Stack) -> None:
    assert [r["id"] for r in get("/people").json()["records"]] == [person_id(n) for n in range(5)]
    assert get("/tasks", {"limit": "3"}).json()["table"] == {"id": TASKS_ID, "name": "Tasks"}


def test_an_alias_may_name_a_table_id_and_an_unconfigured_alias_is_404(
    mirrored: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TABLE_ALIASES", f"tasks={TASKS_ID}")
    runtime.reset()

    assert get("/tasks", {"limit": "1"}).json()["table"]["name"] == "Tasks"
    people = get("/people")
    assert (people.status, error(people)["code"]) == (404, "TABLE_NOT_FOUND")
    assert "people" in error(people)["message"]


def test_filters_on_fields_and_created_time(mirrored: Stack) -> None:
    walked, _ = walk(
        "/records", {"table_name": "Tasks", "limit": "10", "filter[Status]": "Done", "filter[Done]": "true"}
    )
    assert walked == [task_id(n) for n in range(60) if n % 3 == 1]

    ranged = get(
        "/tasks",
        {
            "created_after": "2025-01-01T00:00:10Z",
            "created_before": "2025-01-01T01:00:14+01:00",
            "limit": "50",
        },
    ).json()
    assert [r["id"] for r in ranged["records"]] == [task_id(n) for n in range(11, 14)]


def test_a_cursor_goes_with_its_table_and_query(mirrored: Stack) -> None:
    cursor = get("/tasks", {"limit": "5"}).json()["next_cursor"]
    people_cursor = get("/people", {"limit": "2"}).json()["next_cursor"]
    tampered = cursor[:10] + ("A" if cursor[10] != "A" else "B") + cursor[11:]

    for query, reason in [
        ({"cursor": tampered}, "altered"),
        ({"cursor": cursor[:-3]}, ""),
        ({"cursor": cursor + "AA"}, ""),
        ({"cursor": people_cursor}, "another table"),
        ({"cursor": cursor, "sort_order": "desc"}, "sort_order"),
        ({"cursor": cursor, "filter[Status]": "Done"}, "filters"),
    ]:
        answer = get("/tasks", query)
        assert answer.status == 400, query
        assert error(answer)["parameter"] == "cursor"
        assert reason in error(answer)["message"]


def test_as_deployed_cursors_are_signed_with_the_key_in_the_cursor_secret(
    mirrored: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "a-cursor-signing-secret-of-some-length"
    boto3.client("secretsmanager").create_secret(Name="records-cursor", SecretString=key)
    monkeypatch.setenv("CURSOR_SIGNING_SECRET", "records-cursor")
    runtime.reset()

    walked, pages = walk("/tasks", {"limit": "25"})

    assert walked == [task_id(n) for n in range(60)]
    cursor = pages[0]["next_cursor"]
    assert CursorCodec(mirrored.base.id, key.encode).decode(cursor).table_id == TASKS_ID
    with pytest.raises(InvalidQueryError):
        CursorCodec(mirrored.base.id, DEVELOPMENT_SIGNING_KEY.encode).decode(cursor)


def test_an_unreadable_cursor_secret_is_503_not_500(mirrored: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURSOR_SIGNING_SECRET", "no-such-secret")
    runtime.reset()

    answer = get("/tasks", {"limit": "5"})

    assert (answer.status, error(answer)["code"]) == (503, "SERVICE_MISCONFIGURED")
    assert "cursor signing secret" in error(answer)["message"]


# Bad input: each parameter's refusal, and the not-founds

BAD_REQUESTS: list[tuple[str, dict[str, str], int, str, str]] = [
    # path, query, status, code, what the message must name
    ("/records", {}, 400, "INVALID_REQUEST", "table_name"),
    ("/records", {"table_name": ""}, 400, "INVALID_REQUEST", "table_name"),
    ("/records", {"table_name": "   "}, 400, "INVALID_REQUEST", "table_name"),
    ("/records", {"table_name": "x" * 256}, 400, "INVALID_REQUEST", "table_name"),
    ("/records", {"table_name": "Nope"}, 404, "TABLE_NOT_FOUND", "Nope"),
    ("/records", {"table_name": "tasks", "limit": "0"}, 400, "INVALID_REQUEST", "limit"),
    ("/records", {"table_name": "tasks", "limit": "101"}, 400, "INVALID_REQUEST", "limit"),
    ("/records", {"table_name": "tasks", "limit": "ten"}, 400, "INVALID_REQUEST", "limit"),
    ("/records", {"table_name": "tasks", "skip": "-1"}, 400, "INVALID_REQUEST", "skip"),
    ("/records", {"table_name": "tasks", "skip": "1001"}, 400, "INVALID_REQUEST", "skip"),
    (
        "/records",
        {"table_name": "tasks", "sort_by": "title"},
        400,
        "INVALID_REQUEST",
        "'created_at' or 'changed_at'",
    ),
    ("/records", {"table_name": "tasks", "sort_order": "up"}, 400, "INVALID_REQUEST", "sort_order"),
    ("/records", {"table_name": "tasks", "cursor": "garbage"}, 400, "INVALID_REQUEST", "cursor"),
    ("/records", {"table_name": "tasks", "cursor": "x" * 3000}, 400, "INVALID_REQUEST", "cursor"),
    ("/records", {"table_name": "tasks", "filter[Owner]": "Ada"}, 400, "INVALID_REQUEST", "filter[Owner]"),
    ("/records", {"table_name": "tasks", "filter": "Done"}, 400, "INVALID_REQUEST", "filter"),
    ("/records", {"table_name": "tasks", "filter[Status": "Done"}, 400, "INVALID_REQUEST", "filter[Status"),
    (
        "/records",
        {"table_name": "tasks", "created_after": "yesterday"},
        400,
        "INVALID_REQUEST",
        "created_after",
    ),
    (
        "/records",
        {"table_name": "tasks", "created_before": "2025-01-01T00:00:00"},
        400,
        "INVALID_REQUEST",
        "created_before",
    ),
    (
        "/records",
        {"table_name": "tasks", "skip": "5", "filter[Status]": "Done"},
        400,
        "INVALID_REQUEST",
        "skip",
    ),
    ("/tasks", {"limit": "500"}, 400, "INVALID_REQUEST", "limit"),
    ("/people", {"sort_by": "Name"}, 400, "INVALID_REQUEST", "sort_by"),
    ("/records/recShort", {}, 400, "INVALID_REQUEST", "record_id"),
    ("/records/tblTasks000000001", {}, 400, "INVALID_REQUEST", "record_id"),
    ("/records/recTask9999999999", {}, 404, "RECORD_NOT_FOUND", "recTask9999999999"),
    ("/records/recTask0000000001/extra", {}, 404, "NOT_FOUND", "/records/recTask0000000001/extra"),
    ("/nowhere", {}, 404, "NOT_FOUND", "/nowhere"),
]


def test_bad_input_is_refused_with_a_status_and_a_message_naming_it(
    mirrored: Stack, subtests: pytest.Subtests
) -> None:
    for path, query, status, code, named in BAD_REQUESTS:
        with subtests.test(path=path, query=query):
            answer = get(path, query)

            assert answer.status == status, answer.text
            assert error(answer)["code"] == code
            assert named in error(answer)["message"]


def test_repeated_parameters_are_refused(mirrored: Stack) -> None:
    for pairs in (
        [("table_name", "tasks"), ("limit", "1"), ("limit", "2")],
        [("table_name", "a"), ("table_name", "b")],
    ):
        assert get("/records", pairs).status == 400


def test_a_deleted_record_is_404_and_leaves_the_listing(mirrored: Stack) -> None:
    assert get(f"/records/{task_id(4)}").status == 200
    runtime.record_repository().delete(mirrored.base.id, TASKS_ID, task_id(4), VERSION + 10**9)

    answer = get(f"/records/{task_id(4)}")
    assert (answer.status, error(answer)["code"]) == (404, "RECORD_NOT_FOUND")
    walked, _ = walk("/tasks", {"limit": "100"})
    assert task_id(4) not in walked and len(walked) == 59


def test_a_renamed_field_shows_its_new_name_with_no_record_rewritten(mirrored: Stack) -> None:
    before = runtime.record_repository().get(mirrored.base.id, task_id(1))
    renamed = [StoredField(f.id, "State" if f.name == "Status" else f.name, f.type) for f in TASK_FIELDS]
    runtime.table_schema_repository().put_table(
        mirrored.base.id, TASKS_ID, "Tasks", TASK_FIELDS[0].id, renamed, VERSION + 1
    )

    fields = get(f"/records/{task_id(1)}").json()["fields"]

    assert fields == {"Title": "Task 1", "State": "Done", "Done": True}
    assert runtime.record_repository().get(mirrored.base.id, task_id(1)) == before


def test_tables_show_counts_and_last_sync(mirrored: Stack) -> None:
    runtime.table_schema_repository().record_sync(
        mirrored.base.id, TASKS_ID, LastSync("run_x", "succeeded", "2025-01-02T00:00:00Z", {"fetched": 60})
    )

    tables = get("/tables").json()["tables"]

    assert [(t["name"], t["record_count"]) for t in tables] == [("People", None), ("Tasks", 60)]
    assert tables[1]["last_sync"] == {
        "run_id": "run_x",
        "status": "succeeded",
        "finished_at": "2025-01-02T00:00:00Z",
    }
    assert [f["name"] for f in tables[1]["fields"]] == ["Title", "Status", "Done"]


def test_a_database_failure_is_503_not_500(mirrored: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIRROR_TABLE_NAME", "no-such-table")
    runtime.reset()

    answer = get("/tasks")

    assert (answer.status, error(answer)["code"]) == (503, "DATABASE_UNAVAILABLE")


# Swagger UI and the OpenAPI document


def test_swagger_ui_and_the_document_it_shows_are_served(stack: Stack) -> None:
    page = get("/docs")
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "swagger-ui" in page.text.lower()

    document = invoke(load_event("records_docs.json"))
    assert document.status == 200
    assert document.json() == json.loads((ROOT / "docs" / "openapi.json").read_text())
