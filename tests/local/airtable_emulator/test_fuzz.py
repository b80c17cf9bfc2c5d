"""Random requests: every answer is JSON with data or an ``error``, never a 500, and the server lives on."""

import json
from typing import Any
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airtable_emulator.emulator import Emulator
from airtable_emulator.model import Base
from tests.local.airtable_emulator.http_support import Client

ALLOWED_STATUSES = {200, 400, 401, 403, 404, 410, 413, 414, 422}
FIELD_NAMES = ["Name", "Count", "Done", "Color", "Tags", "Notes", "Due", "Files", "Owner", "Nope"]
PARAM_NAMES = [
    "pageSize", "maxRecords", "offset", "view", "filterByFormula", "cellFormat", "fields[]", "sort[0][field]",
    "sort[0][direction]", "sort[1][field]", "returnFieldsByFieldId", "recordMetadata[]", "timeZone",
    "userLocale", "records[]", "include", "cursor", "limit", "typecast",
]  # fmt: skip
FORMULA_TOKENS = [
    "{Name}", "{Count}", "Count", "{Nope}", "1", "0", "'a'", '"b"', "AND(", "OR(", "NOT(", "IF(", "FIND(",
    "LEN(", "RECORD_ID()", "BLANK()", "TRUE()", ")", "(", ",", "=", "!=", "<", ">=", "&", "+", "-", "*", "/",
]  # fmt: skip

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
formulas = st.lists(st.sampled_from(FORMULA_TOKENS), max_size=12).map(" ".join) | st.text(max_size=30)
field_maps = st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=4)
structured_bodies = st.one_of(
    st.fixed_dictionaries({"fields": field_maps}, optional={"typecast": st.booleans()}),
    st.fixed_dictionaries(
        {
            "records": st.lists(
                st.fixed_dictionaries({"fields": field_maps}, optional={"id": st.text(max_size=17)})
            )
        },
        optional={
            "performUpsert": st.fixed_dictionaries(
                {"fieldsToMergeOn": st.lists(st.sampled_from(FIELD_NAMES))}
            )
        },
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "pageSize": st.integers(-5, 120),
            "filterByFormula": formulas,
            "sort": st.lists(st.fixed_dictionaries({"field": st.sampled_from(FIELD_NAMES)})),
            "fields": st.lists(st.sampled_from(FIELD_NAMES)),
            "offset": st.text(max_size=40),
        },
    ),
    st.fixed_dictionaries({"specification": json_values}),
)


@st.composite
def requests_to_send(draw: st.DrawFn, base_id: str, record_id: str) -> dict[str, Any]:
    segment = st.one_of(
        st.sampled_from(
            ["v0", "meta", "bases", "webhooks", "listRecords", "payloads", "Items", "Owners", "tables"]
        ),
        st.sampled_from([base_id, record_id, "appAAAAAAAAAAAAAA", "recAAAAAAAAAAAAAA"]),
        st.text(max_size=12).map(lambda text: quote(text, safe="")),
    )
    routes = [
        ["v0", base_id, "Items"],
        ["v0", base_id, "Owners"],
        ["v0", base_id, "Items", "listRecords"],
        ["v0", base_id, "Items", record_id],
        ["v0", "meta", "bases"],
        ["v0", "meta", "bases", base_id, "tables"],
        ["v0", "bases", base_id, "webhooks"],
    ]
    if draw(st.booleans()):
        segments = draw(st.sampled_from(routes))
    else:
        segments = draw(st.lists(segment, min_size=0, max_size=6))
        if draw(st.booleans()):
            segments = ["v0", *segments]
    query = draw(
        st.lists(
            st.tuples(st.sampled_from(PARAM_NAMES) | st.text(max_size=8), formulas | st.integers().map(str)),
            max_size=5,
        )
    )
    body_kind = draw(st.sampled_from(["none", "json", "structured", "bytes"]))
    body: bytes | None = None
    if body_kind == "json":
        body = json.dumps(draw(json_values)).encode()
    elif body_kind == "structured":
        body = json.dumps(draw(structured_bodies)).encode()
    elif body_kind == "bytes":
        body = draw(st.binary(max_size=40))
    return {
        "method": draw(st.sampled_from(["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"])),
        "path": "/" + "/".join(segments),
        "query": query,
        "body": body,
        "authorized": draw(st.integers(0, 9)) > 0,
    }


def _check(response: requests.Response) -> None:
    assert response.status_code in ALLOWED_STATUSES, (response.status_code, response.text[:300])
    if response.request.url and "/attachments/" in response.request.url and response.status_code == 200:
        return
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    if not response.content:
        assert response.status_code == 200
        return
    body = response.json()
    if response.status_code >= 400:
        assert isinstance(body, dict) and "error" in body
        error = body["error"]
        assert isinstance(error, str) or (isinstance(error, dict) and isinstance(error.get("type"), str))
    else:
        assert isinstance(body, dict) and "error" not in body


@pytest.fixture
def fuzz_target(emulator: Emulator, items_base: Base) -> tuple[Emulator, Base, str]:
    (record,) = emulator.state.create_records(items_base.id, "Items", [{"Name": "seed", "Count": 1}])
    return emulator, items_base, record.id


def test_random_requests_never_break_the_server(fuzz_target: tuple[Emulator, Base, str]) -> None:
    emulator, base, record_id = fuzz_target
    authorized = Client(emulator)
    anonymous = Client(emulator, token="wrong")

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(requests_to_send(base.id, record_id))
    def send(request: dict[str, Any]) -> None:
        client = authorized if request["authorized"] else anonymous
        response = client.request(
            request["method"],
            request["path"],
            params=request["query"],
            data=request["body"],
            headers={"Content-Type": "application/json"} if request["body"] is not None else {},
        )
        _check(response)

    send()
    assert authorized.get(f"/v0/{base.id}/Items").status_code == 200
    assert authorized.get("/v0/meta/bases").status_code == 200
