"""The records API fuzzed from its own OpenAPI document with schemathesis: no server error, and every
answer (status, content type, body) is one the document declares.

The handler runs in-process: schemathesis's WSGI transport calls `wsgi_app` (http_events.py), which
turns each request into the API Gateway HTTP API event the deployed function receives, and the
document is the one the API serves at /docs?format=json. Bounded for CI: EXAMPLES_PER_OPERATION
cases per operation and generation mode, derandomized (the same cases every run).

Every check runs but one, positive_data_acceptance (a schema-valid request must not get 400): the
API rightly refuses some requests no schema can tell from good ones (a well-formed cursor this
deployment did not sign, a filter on a field the table does not have, skip with a filter), and
declares that 400.
"""

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.functions.conftest import Stack
from tests.functions.records.http_events import wsgi_app
from tests.functions.records.test_app import mirror_tables

EXAMPLES_PER_OPERATION = 50


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_generated_requests_get_declared_answers_and_never_a_server_error(
    stack: Stack, mode: GenerationMode, subtests: pytest.Subtests
) -> None:
    mirror_tables(stack, tasks=30, people=3)
    schema = schemathesis.openapi.from_wsgi("/docs?format=json", wsgi_app)
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    assert {operation.path for operation in operations} == {
        "/records",
        "/records/{record_id}",
        "/people",
        "/tasks",
        "/tables",
    }
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not list(operation.iter_parameters()):
            continue  # nothing to get wrong in GET /tables

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def answers_as_declared(case: Case[Any]) -> None:
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        with subtests.test(operation=operation.label):
            answers_as_declared()
