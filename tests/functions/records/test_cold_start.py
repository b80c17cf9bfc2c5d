"""What a cold start of the records function loads: its import leaves out whatever a request does not
need, and the first data request loads the rest. (The time it takes is `make bench`'s to show.)"""

import json
import os
import subprocess
import sys
from importlib import import_module
from pathlib import Path
from typing import Any

from airtable_mirror import repository

ROOT = Path(__file__).resolve().parents[3]

NOT_LOADED_BY_THE_IMPORT = (
    "airtable_mirror.airtable",  # the function never calls Airtable
    "airtable_mirror.api.airtable_errors",
    "airtable_mirror.sync",
    "airtable_mirror.webhooks",
    "airtable_mirror.repository.sync_runs",
    "airtable_mirror.repository.rate_slots",
    "airtable_mirror.repository.webhooks",
    "airtable_mirror.records_api.service",  # loads with the first request that reads the mirror
    "airtable_mirror.repository.records",
    "aws_lambda_powertools.event_handler.openapi.models",  # loads with the first /docs request
    "airtable_mirror.api.openapi_docs",
    "airtable_mirror.api.tables_models",  # loads with the first /tables request (or /docs)
    "aws_lambda_powertools.utilities.parameters",  # the cursor secret is read with the shared client
    "aws_xray_sdk",
)


def in_fresh_interpreter(code: str) -> Any:
    """What `code`, run in a new interpreter, printed last (as JSON)."""
    environment = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(ROOT / "layers" / "common"), str(ROOT)]),
        POWERTOOLS_SERVICE_NAME="airtable-mirror",
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def modules_loaded_by(statement: str) -> set[str]:
    loaded: list[str] = in_fresh_interpreter(
        f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    )
    return set(loaded)


def test_importing_the_handler_leaves_out_what_no_request_or_only_a_data_request_needs() -> None:
    loaded = modules_loaded_by("import functions.records.app")

    assert "functions.records.app" in loaded
    unexpected = {name for name in NOT_LOADED_BY_THE_IMPORT if name in loaded}
    assert not unexpected, f"importing the records handler loads {sorted(unexpected)}"


def test_a_listing_request_builds_the_record_models_and_no_other() -> None:
    """The error body is only documented, and the /tables models only serve /tables: a /records
    request (here one that fails validation, which needs no database) builds neither."""
    answer = in_fresh_interpreter(
        """
import json, sys
from functions.records import app
from airtable_mirror.api import records_models
event = json.load(open("events/records_list.json"))
event["rawQueryString"] = "table_name=tasks&limit=0"
event["queryStringParameters"] = {"table_name": "tasks", "limit": "0"}
status = app.app.resolve(event, None)["statusCode"]
built = [name for name in ("RecordPageView", "RecordView", "TableRef", "MirrorMetadata", "ErrorBody",
    "ErrorDetail") if getattr(records_models, name).__pydantic_complete__]
print(json.dumps([status, built, "airtable_mirror.api.tables_models" in sys.modules]))
"""
    )

    assert answer == [400, ["RecordPageView", "RecordView", "TableRef", "MirrorMetadata"], False]


def test_the_repository_package_loads_each_name_from_its_module_on_first_use() -> None:
    loaded = modules_loaded_by("from airtable_mirror.repository import RecordRepository")

    assert {"airtable_mirror.repository.records", "airtable_mirror.repository.models"} <= loaded
    assert not {"airtable_mirror.repository.sync_runs", "airtable_mirror.repository.rate_slots"} & loaded


def test_every_public_name_of_the_repository_package_resolves_to_its_definition() -> None:
    module_of = repository._MODULE_OF

    assert sorted(module_of) == sorted(repository.__all__)
    for name, module in module_of.items():
        defined = getattr(import_module(f"airtable_mirror.repository.{module}"), name)
        assert getattr(repository, name) is defined, name
    assert set(repository.__all__) <= set(dir(repository))
