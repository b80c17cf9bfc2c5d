"""GET /webhooks (IAM-authorized, like every route of the HTTP API): each webhook's expiry, cursor,
last ping and health, and the full syncs still pending."""

import time
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from airtable_mirror import runtime
from airtable_mirror.api.errors import register_error_handlers
from airtable_mirror.api.webhook_models import PendingFullSyncView, WebhooksView, WebhookView
from airtable_mirror.observability import logger, metrics, tracer

app = APIGatewayHttpResolver(enable_validation=True)
register_error_handlers(app)


@app.get("/webhooks", summary="Show the webhooks' expiry, cursor, last ping and health", tags=["webhooks"])
def list_webhooks() -> WebhooksView:
    base_id = runtime.settings().airtable_base_id
    repository = runtime.webhook_repository()
    now = time.time()
    states = sorted(repository.list_webhooks(base_id), key=lambda state: state.created_at, reverse=True)
    return WebhooksView(
        base_id=base_id,
        webhooks=[WebhookView.from_state(state, now) for state in states],
        pending_full_syncs=[
            PendingFullSyncView.from_pending(pending) for pending in repository.pending_full_syncs(base_id)
        ],
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
