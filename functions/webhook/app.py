"""Webhook receiver, behind a Lambda function URL with AuthType NONE: the MAC is the authentication.

POST (any path) with an Airtable notification ping → 200 with an empty body, the drain queued for the
worker; with a push in the seed format → applied at once, 200 with counts. Every other answer, and
why: ``airtable_mirror.webhooks.receiver``.
"""

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.utilities.data_classes import LambdaFunctionUrlEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from airtable_mirror import runtime
from airtable_mirror.observability import logger, metrics, tracer
from airtable_mirror.settings import ConfigurationError
from airtable_mirror.webhooks.function_url import MalformedEventError, event_response, request_from_event
from airtable_mirror.webhooks.receiver import ReceiverResponse, error_response


def respond(event: dict[str, Any]) -> ReceiverResponse:
    try:
        request = request_from_event(event)
    except MalformedEventError as error:
        return error.response
    try:
        return runtime.ping_receiver().receive(request)
    except ConfigurationError as error:
        logger.error("configuration error", reason=str(error))
        return error_response(HTTPStatus.SERVICE_UNAVAILABLE, "SERVICE_MISCONFIGURED", "try again later")
    except Exception:
        # DynamoDB or Secrets Manager failing: a 503 makes Airtable send the same ping again later.
        logger.exception("webhook request failed")
        return error_response(HTTPStatus.SERVICE_UNAVAILABLE, "TEMPORARILY_UNAVAILABLE", "try again later")


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
@event_source(data_class=LambdaFunctionUrlEvent)
def lambda_handler(event: LambdaFunctionUrlEvent, context: LambdaContext) -> dict[str, Any]:
    response = respond(event.raw_event)
    logger.info("webhook request", status=int(response.status), outcome=response.outcome)
    metrics.add_metric(name="WebhookRequests", unit="Count", value=1)
    if response.outcome == "queued":
        metrics.add_metric(name="WebhookPingsQueued", unit="Count", value=1)
    elif response.status == HTTPStatus.UNAUTHORIZED:
        metrics.add_metric(name="WebhookRequestsUnauthorized", unit="Count", value=1)
    return event_response(response)
