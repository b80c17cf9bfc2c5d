"""AirtableClient against a scripted transport: construction, schema and record listing."""

from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import pytest
import requests

from airtable_mirror.airtable import (
    AirtableClient,
    AirtableError,
    IteratorExpired,
    LocalPacer,
    TableNotFound,
    UnexpectedResponse,
)
from airtable_mirror.airtable.client import MAX_URL_LENGTH
from airtable_mirror.airtable.errors import NO_RESPONSE_STATUS
from tests.layers.common.airtable_mirror.airtable import airtable_responses as bodies
from tests.layers.common.airtable_mirror.airtable.conftest import API_URL, BASE_ID, TOKEN, ClientFactory
from tests.layers.common.airtable_mirror.airtable.fake_transport import RecordingPacer, ScriptedTransport

TABLE = bodies.TABLE_ID
RECORDS_PATH = f"/v0/{BASE_ID}/{TABLE}"

# Construction


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"base_id": "Apartments"}, "base_id"),
        ({"base_id": "appShort"}, "base_id"),
        ({"api_url": "api.airtable.com"}, "api_url"),
        ({"api_url": "ftp://api.airtable.com"}, "api_url"),
        ({"timeout": 0}, "timeout"),
        ({"rate_limit_penalty_seconds": -1}, "rate_limit_penalty_seconds"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_rate_limited_responses": 0}, "max_rate_limited_responses"),
    ],
)
def test_constructor_rejects_bad_settings(
    make_client: ClientFactory, overrides: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        make_client(**overrides)


def test_constructor_rejects_a_token_instead_of_a_provider(make_client: ClientFactory) -> None:
    with pytest.raises(TypeError, match="token_provider") as raised:
        make_client(token_provider=TOKEN)
    assert TOKEN not in str(raised.value)


def test_repr_names_the_base_but_not_the_token(client: AirtableClient) -> None:
    assert repr(client) == f"AirtableClient(base_id={BASE_ID!r}, api_url={API_URL!r})"


def test_default_pacer_is_a_local_pacer_and_trailing_slash_is_dropped() -> None:
    client = AirtableClient(base_id=BASE_ID, token_provider=lambda: TOKEN, api_url="http://127.0.0.1:8111/")
    try:
        assert client.api_url == "http://127.0.0.1:8111"
        assert isinstance(client._pacer, LocalPacer)
    finally:
        client.close()


def test_close_leaves_a_session_it_was_given_open(
    transport: ScriptedTransport, make_client: ClientFactory
) -> None:
    session = requests.Session()
    session.mount("https://", transport)
    with make_client(session=session) as client:
        transport.reply_json(200, {"tables": []})
        client.get_base_schema()
    transport.reply_json(200, {"tables": []})
    assert session.get(f"{API_URL}/still-usable").status_code == 200


# Schema


def test_get_base_schema_parses_the_documented_shape(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    transport.reply_json(200, bodies.BASE_SCHEMA)

    schema = client.get_base_schema()

    [sent] = transport.sent
    assert sent.method == "GET"
    assert sent.url == f"{API_URL}/v0/meta/bases/{BASE_ID}/tables"
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.timeout == (30.0, 30.0)
    apartments, districts = schema.tables
    assert (apartments.id, apartments.name, apartments.primary_field_id) == (
        TABLE,
        "Apartments",
        "fld1VnoyuotSTyxW1",
    )
    assert apartments.description == "I was a description"
    name, district, vibe = apartments.fields
    assert (name.type, name.options) == ("singleLineText", None)
    assert district.options is not None
    assert district.options["linkedTableId"] == bodies.OTHER_TABLE_ID
    assert vibe.type == "someFieldTypeFromTheFuture"
    assert [view.name for view in apartments.views] == ["Grid view"]
    assert districts.views == []


def test_get_base_schema_rejects_a_response_without_tables(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    transport.reply_json(200, {"bases": []})

    with pytest.raises(UnexpectedResponse, match="tables"):
        client.get_base_schema()


@pytest.mark.parametrize(
    ("wanted", "expected_id"),
    [
        (TABLE, TABLE),
        ("Apartments", TABLE),
        ("apartments", TABLE),
        ("DISTRICTS", bodies.OTHER_TABLE_ID),
    ],
)
def test_resolve_table_by_id_exact_name_or_unique_name_ignoring_case(
    client: AirtableClient, transport: ScriptedTransport, wanted: str, expected_id: str
) -> None:
    transport.reply_json(200, bodies.BASE_SCHEMA)

    assert client.resolve_table(wanted).id == expected_id


def _schema_with_tables(*names: str) -> dict[str, object]:
    return {
        "tables": [
            {
                "id": f"tbl{index:014d}",
                "name": name,
                "primaryFieldId": "fld1VnoyuotSTyxW1",
                "fields": [],
                "views": [],
            }
            for index, name in enumerate(names)
        ]
    }


def test_resolve_table_prefers_the_exact_case(client: AirtableClient, transport: ScriptedTransport) -> None:
    transport.reply_json(200, _schema_with_tables("Tasks", "tasks"))

    assert client.resolve_table("tasks").id == "tbl00000000000001"


def test_resolve_table_refuses_an_ambiguous_name(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    transport.reply_json(200, _schema_with_tables("Tasks", "tasks"))

    with pytest.raises(TableNotFound, match="several tables match") as raised:
        client.resolve_table("TASKS")
    assert raised.value.available == ["Tasks (tbl00000000000000)", "tasks (tbl00000000000001)"]


def test_resolve_table_names_the_tables_when_nothing_matches(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    transport.reply_json(200, bodies.BASE_SCHEMA)

    with pytest.raises(TableNotFound) as raised:
        client.resolve_table("People")

    message = str(raised.value)
    assert "'People'" in message
    assert BASE_ID in message
    assert f"Apartments ({TABLE})" in message
    assert raised.value.status == 404


def test_resolve_table_with_a_given_schema_sends_nothing(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    transport.reply_json(200, bodies.BASE_SCHEMA)
    schema = client.get_base_schema()

    assert client.resolve_table("Districts", schema=schema).id == bodies.OTHER_TABLE_ID
    assert len(transport.sent) == 1


# One page


def test_list_records_page_encodes_parameters_as_airtable_expects(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    transport.reply_json(200, bodies.page([1, 2], offset="itrSJ1l4jlPyxEG6c/rec00000000000002"))

    result = client.list_records_page(
        TABLE,
        offset="itrPREVIOUSoffset/rec00000000000000",
        page_size=2,
        fields=["fld1VnoyuotSTyxW1", "Name with spaces & symbols"],
        filter_by_formula="{Name} = 'O''Brien'",
    )

    [sent] = transport.sent
    assert sent.method == "GET"
    assert sent.path == RECORDS_PATH
    assert "fields%5B%5D=" in sent.url
    assert sent.query == [
        ("pageSize", "2"),
        ("returnFieldsByFieldId", "true"),
        ("fields[]", "fld1VnoyuotSTyxW1"),
        ("fields[]", "Name with spaces & symbols"),
        ("filterByFormula", "{Name} = 'O''Brien'"),
        ("offset", "itrPREVIOUSoffset/rec00000000000000"),
    ]
    assert [record.id for record in result.records] == [bodies.record_id(1), bodies.record_id(2)]
    assert result.offset == "itrSJ1l4jlPyxEG6c/rec00000000000002"
    assert result.after_restart is False


def test_list_records_page_defaults(client: AirtableClient, transport: ScriptedTransport) -> None:
    transport.reply_json(200, bodies.page([1]))

    result = client.list_records_page(TABLE)

    assert transport.sent[0].query == [("pageSize", "100"), ("returnFieldsByFieldId", "true")]
    assert result.offset is None
    [only] = result.records
    assert only.created_time_iso == "2022-09-12T21:03:01.000Z"
    assert only.created_time == datetime(2022, 9, 12, 21, 3, 1, tzinfo=UTC)
    assert only.fields == {"fld1VnoyuotSTyxW1": "Record 1"}


def test_list_records_page_can_key_fields_by_name(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    transport.reply_json(
        200,
        {"records": [{"id": bodies.record_id(1), "createdTime": "2022-09-12T21:03:48.000Z", "fields": {}}]},
    )

    result = client.list_records_page(TABLE, return_fields_by_field_id=False)

    assert ("returnFieldsByFieldId", "true") not in transport.sent[0].query
    assert result.records[0].fields == {}


def test_table_names_are_escaped_in_the_path(client: AirtableClient, transport: ScriptedTransport) -> None:
    transport.reply_json(200, bodies.page([]))

    client.list_records_page("Flats / Lofts?")

    sent_path = transport.sent[0].path
    assert sent_path == f"/v0/{BASE_ID}/Flats%20%2F%20Lofts%3F"
    assert unquote(sent_path.rsplit("/", 1)[1]) == "Flats / Lofts?"


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"page_size": 0}, ValueError),
        ({"page_size": 101}, ValueError),
        ({"page_size": True}, ValueError),
        ({"fields": "Name"}, TypeError),
        ({"fields": []}, ValueError),
        ({"fields": ["Name", ""]}, ValueError),
        ({"offset": ""}, ValueError),
        ({"filter_by_formula": 1}, TypeError),
    ],
)
def test_list_records_page_rejects_bad_options_before_sending(
    client: AirtableClient, transport: ScriptedTransport, options: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        client.list_records_page(TABLE, **options)  # type: ignore[arg-type]
    assert transport.sent == []


def test_list_records_page_requires_a_table(client: AirtableClient) -> None:
    with pytest.raises(ValueError, match="table"):
        client.list_records_page("")


def _formula_making_the_get_url(client: AirtableClient, length: int) -> str:
    """A formula whose GET URL (with default options) is exactly ``length`` characters long."""
    probe = "X"
    url = (
        requests.Request(
            "GET",
            f"{API_URL}{RECORDS_PATH}",
            params=[("pageSize", "100"), ("returnFieldsByFieldId", "true"), ("filterByFormula", probe)],
        )
        .prepare()
        .url
    )
    assert url is not None
    return probe * (length - len(url) + 1)


def test_list_records_page_stays_on_get_just_under_the_url_limit(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    transport.reply_json(200, bodies.page([1]))

    client.list_records_page(TABLE, filter_by_formula=_formula_making_the_get_url(client, MAX_URL_LENGTH - 1))

    [sent] = transport.sent
    assert sent.method == "GET"
    assert len(sent.url) == MAX_URL_LENGTH - 1


def test_list_records_page_posts_when_the_url_would_reach_16000_characters(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    formula = _formula_making_the_get_url(client, MAX_URL_LENGTH)
    transport.reply_json(200, bodies.page([1], offset="itrNEXT/rec00000000000001"))

    result = client.list_records_page(
        TABLE, filter_by_formula=formula, fields=["fld1VnoyuotSTyxW1"], offset="itrA/rec1"
    )

    [sent] = transport.sent
    assert sent.method == "POST"
    assert sent.url == f"{API_URL}{RECORDS_PATH}/listRecords"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.json() == {
        "pageSize": 100,
        "returnFieldsByFieldId": True,
        "fields": ["fld1VnoyuotSTyxW1"],
        "filterByFormula": formula,
        "offset": "itrA/rec1",
    }
    assert result.offset == "itrNEXT/rec00000000000001"


def test_list_records_page_rejects_a_body_that_is_not_json(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    transport.reply_text(200, "<html>maintenance</html>")

    with pytest.raises(UnexpectedResponse, match="not JSON"):
        client.list_records_page(TABLE)


def test_list_records_page_rejects_records_of_the_wrong_shape(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    transport.reply_json(200, {"records": [{"id": bodies.record_id(1), "fields": {}}]})

    with pytest.raises(UnexpectedResponse, match="created") as raised:
        client.list_records_page(TABLE)
    assert raised.value.path == RECORDS_PATH


# Every page


def test_iter_record_pages_follows_offsets_to_the_last_page(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    transport.reply_json(200, bodies.page(range(1, 3), offset="itrA/rec00000000000002"))
    transport.reply_json(200, bodies.page(range(3, 5), offset="itrA/rec00000000000004"))
    transport.reply_json(200, bodies.page(range(5, 6)))

    pages = list(client.iter_record_pages(TABLE, page_size=2, fields=["fld1VnoyuotSTyxW1"]))

    assert [[record.id for record in page.records] for page in pages] == [
        [bodies.record_id(1), bodies.record_id(2)],
        [bodies.record_id(3), bodies.record_id(4)],
        [bodies.record_id(5)],
    ]
    assert [dict(sent.query).get("offset") for sent in transport.sent] == [
        None,
        "itrA/rec00000000000002",
        "itrA/rec00000000000004",
    ]
    assert all(("fields[]", "fld1VnoyuotSTyxW1") in sent.query for sent in transport.sent)
    assert client.stats.requests == 3
    assert client.stats.listing_restarts == 0


def test_iter_record_pages_resumes_from_a_start_offset(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    transport.reply_json(200, bodies.page([7]))

    pages = list(client.iter_record_pages(TABLE, start_offset="itrSAVED/rec00000000000006"))

    assert len(pages) == 1
    assert dict(transport.sent[0].query)["offset"] == "itrSAVED/rec00000000000006"


def test_iter_record_pages_restarts_from_the_first_page_when_the_iterator_expires(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    transport.reply_json(200, bodies.page([1], offset="itrA/rec00000000000001"))
    transport.reply_json(422, bodies.ITERATOR_EXPIRED)
    transport.reply_json(200, bodies.page([1], offset="itrB/rec00000000000001"))
    transport.reply_json(200, bodies.page([2]))

    pages = list(client.iter_record_pages(TABLE))

    assert [[record.id for record in page.records] for page in pages] == [
        [bodies.record_id(1)],
        [bodies.record_id(1)],
        [bodies.record_id(2)],
    ]
    assert [page.after_restart for page in pages] == [False, True, False]
    assert [dict(sent.query).get("offset") for sent in transport.sent] == [
        None,
        "itrA/rec00000000000001",
        None,
        "itrB/rec00000000000001",
    ]
    assert client.stats.listing_restarts == 1


def test_iter_record_pages_restarts_when_the_start_offset_has_expired(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    transport.reply_json(422, bodies.ITERATOR_EXPIRED)
    transport.reply_json(200, bodies.page([1]))

    pages = list(client.iter_record_pages(TABLE, start_offset="itrOLD/rec00000000000009"))

    assert [page.after_restart for page in pages] == [True]
    assert "offset" not in dict(transport.sent[1].query)
    assert client.stats.listing_restarts == 1


def test_iter_record_pages_gives_up_after_the_restart_cap(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    for _ in range(4):
        transport.reply_json(200, bodies.page([1], offset="itrA/rec00000000000001"))
        transport.reply_json(422, bodies.ITERATOR_EXPIRED)

    pages = client.iter_record_pages(TABLE, max_listing_restarts=3)
    with pytest.raises(IteratorExpired, match="restarted 3 times") as raised:
        list(pages)

    assert raised.value.status == 422
    assert raised.value.error_type == "LIST_RECORDS_ITERATOR_NOT_AVAILABLE"
    assert client.stats.listing_restarts == 3
    assert transport.pending == 0


def test_iter_record_pages_restarts_at_most_five_times_by_default(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    for _ in range(6):
        transport.reply_json(200, bodies.page([1], offset="itrA/rec00000000000001"))
        transport.reply_json(422, bodies.ITERATOR_EXPIRED)

    with pytest.raises(IteratorExpired):
        list(client.iter_record_pages(TABLE))

    assert client.stats.listing_restarts == 5


def test_iter_record_pages_does_not_restart_a_failing_first_page(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    transport.reply_json(422, bodies.ITERATOR_EXPIRED)

    with pytest.raises(IteratorExpired):
        list(client.iter_record_pages(TABLE))

    assert len(transport.sent) == 1
    assert client.stats.listing_restarts == 0


def test_iter_record_pages_stops_when_airtable_repeats_the_offset(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    transport.reply_json(200, bodies.page([1], offset="itrA/rec00000000000001"))
    transport.reply_json(200, bodies.page([2], offset="itrA/rec00000000000001"))

    pages = client.iter_record_pages(TABLE)
    assert next(pages).offset == "itrA/rec00000000000001"
    with pytest.raises(UnexpectedResponse, match="offset"):
        next(pages)


def test_iter_record_pages_checks_its_options_when_called(client: AirtableClient) -> None:
    with pytest.raises(ValueError, match="page_size"):
        client.iter_record_pages(TABLE, page_size=500)
    with pytest.raises(ValueError, match="max_listing_restarts"):
        client.iter_record_pages(TABLE, max_listing_restarts=-1)


def test_iter_record_pages_switches_to_post_for_long_formulas_on_every_page(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    formula = _formula_making_the_get_url(client, MAX_URL_LENGTH + 10)
    transport.reply_json(200, bodies.page([1], offset="itrA/rec00000000000001"))
    transport.reply_json(200, bodies.page([2]))

    pages = list(client.iter_record_pages(TABLE, filter_by_formula=formula))

    assert len(pages) == 2
    assert [sent.method for sent in transport.sent] == ["POST", "POST"]
    assert "offset" not in transport.sent[0].json()
    assert transport.sent[1].json()["offset"] == "itrA/rec00000000000001"


# By id


def test_list_records_by_ids_filters_with_record_id_formulas_per_100_ids(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    wanted = [bodies.record_id(number) for number in range(150, 0, -1)]
    transport.reply_json(200, bodies.page(range(51, 151)))
    transport.reply_json(200, bodies.page(range(2, 51)))  # record 1 no longer exists

    found = client.list_records_by_ids(TABLE, wanted)

    assert [record.id for record in found] == wanted[:-1]
    first, second = (dict(sent.query)["filterByFormula"] for sent in transport.sent)
    assert first == "OR(" + ",".join(f"RECORD_ID()='{record_id}'" for record_id in wanted[:100]) + ")"
    assert second == "OR(" + ",".join(f"RECORD_ID()='{record_id}'" for record_id in wanted[100:]) + ")"
    assert all(
        sent.method == "GET" and ("returnFieldsByFieldId", "true") in sent.query for sent in transport.sent
    )


def test_list_records_by_ids_asks_once_per_distinct_id(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    transport.reply_json(200, bodies.page([1]))

    found = client.list_records_by_ids(TABLE, [bodies.record_id(1), bodies.record_id(1)])

    assert [record.id for record in found] == [bodies.record_id(1)]
    assert dict(transport.sent[0].query)["filterByFormula"] == f"OR(RECORD_ID()='{bodies.record_id(1)}')"


def test_list_records_by_ids_without_ids_sends_nothing(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    assert client.list_records_by_ids(TABLE, []) == []
    assert transport.sent == []


@pytest.mark.parametrize(
    "bad_id",
    [
        "rec00000000000001') ,TRUE(), ('",
        "recShort",
        "rec0000000000000\u0661",  # ARABIC-INDIC DIGIT ONE: a digit, but not an ASCII one
        "tbl00000000000001",
        "rec00000000000001 ",
    ],
)
def test_list_records_by_ids_refuses_anything_but_record_ids(
    client: AirtableClient, transport: ScriptedTransport, bad_id: str
) -> None:
    with pytest.raises(ValueError, match="record ids"):
        client.list_records_by_ids(TABLE, [bodies.record_id(1), bad_id])
    assert transport.sent == []


def test_list_records_by_ids_refuses_a_single_string(client: AirtableClient) -> None:
    with pytest.raises(TypeError):
        client.list_records_by_ids(TABLE, bodies.record_id(1))


# Pacing


def test_every_request_acquires_the_pacer_first(
    client: AirtableClient, transport: ScriptedTransport, pacer: RecordingPacer, events: list[str]
) -> None:
    transport.reply_json(200, bodies.page([1], offset="itrA/rec00000000000001"))
    transport.reply_json(503, bodies.RETRIABLE_ERROR)
    transport.reply_json(429, bodies.RATE_LIMITED)
    transport.raise_error(requests.ConnectTimeout)
    transport.reply_json(200, bodies.page([2]))

    list(client.iter_record_pages(TABLE))

    assert [event for event in events if event != "hold_off"] == ["acquire", "send"] * 5
    assert pacer.acquires == len(transport.sent) == client.stats.requests == 5


class _RecordingSession(requests.Session):
    """Records when the client builds a request and when it hands one over to be sent."""

    def __init__(self, events: list[str]) -> None:
        super().__init__()
        self.events = events
        self.sent_prepared: list[bool] = []

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        self.events.append("prepare")
        return super().prepare_request(request)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.events.append("session.send")
        self.sent_prepared.append(isinstance(request, requests.PreparedRequest))
        return super().send(request, **kwargs)


def test_each_attempt_is_prepared_with_a_fresh_token_before_its_slot_and_sent_right_after(
    make_client: ClientFactory, transport: ScriptedTransport, pacer: RecordingPacer, events: list[str]
) -> None:
    # Given a session and a token provider that record when they are used
    session = _RecordingSession(events)
    session.mount("https://", transport)
    tokens = iter(["patFIRSTtoken", "patROTATEDtoken"])

    def token_provider() -> str:
        events.append("token")
        return next(tokens)

    client = make_client(session=session, token_provider=token_provider)
    transport.reply_json(503, bodies.RETRIABLE_ERROR)
    transport.reply_json(200, bodies.page([1]))

    # When a call needs two attempts
    client.list_records_page(TABLE)

    # Then each attempt built its request and read the token before taking its slot, and nothing
    # happened between the slot and the send but the send of the prepared request
    assert events == ["prepare", "token", "acquire", "session.send", "send"] * 2
    assert session.sent_prepared == [True, True]
    assert [sent.headers["Authorization"] for sent in transport.sent] == [
        "Bearer patFIRSTtoken",
        "Bearer patROTATEDtoken",
    ]
    assert pacer.acquires == client.stats.requests == 2


def test_the_prepared_request_keeps_what_the_session_adds(
    make_client: ClientFactory, transport: ScriptedTransport
) -> None:
    # Given a session with a default header, a cookie and a response hook
    session = requests.Session()
    session.mount("https://", transport)
    session.headers["User-Agent"] = "airtable-mirror/test"
    session.cookies.set("brw", "cookie-value", domain="api.airtable.test")
    hooked: list[int] = []
    session.hooks["response"].append(lambda response, **_: hooked.append(response.status_code))
    client = make_client(session=session)
    transport.reply_json(200, bodies.page([1]))

    # When the client sends a request through it
    client.list_records_page(TABLE)

    # Then the request went out as Session.request would have sent it
    sent = transport.sent[0]
    assert sent.headers["User-Agent"] == "airtable-mirror/test"
    assert sent.headers["Cookie"] == "brw=cookie-value"
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.timeout == (30.0, 30.0)
    assert hooked == [200]


def test_a_request_that_cannot_be_built_takes_no_slot(
    client: AirtableClient, transport: ScriptedTransport, pacer: RecordingPacer
) -> None:
    # NaN is not JSON: requests refuses to encode the body, before anything is sent
    with pytest.raises(AirtableError, match="InvalidJSONError") as raised:
        client.create_webhook(None, {"options": {"weight": float("nan")}})

    assert (raised.value.status, raised.value.error_type) == (NO_RESPONSE_STATUS, "REQUEST_FAILED")
    assert raised.value.__cause__ is None and raised.value.__context__ is None
    assert pacer.acquires == client.stats.requests == 0
    assert transport.sent == []
