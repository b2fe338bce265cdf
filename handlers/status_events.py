"""Status-events Lambda: the EmailTracking table's stream in, ``Email Status Changed`` events out.

Wired as ``handlers.status_events.handler`` to the table's DynamoDB stream (new and old images)
with ``ReportBatchItemFailures``; the work lives in :mod:`.status_stream`. Logger and Metrics
take their service and namespace from the environment the infrastructure sets
(:class:`~.core.environment.StatusEventsEnvironment`).
"""

from .core.environment import StatusEventsEnvironment
from .observability import observability
from .status_stream import process_event

logger, metrics = observability(StatusEventsEnvironment)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: object) -> dict:
    return process_event(event, context, metrics)
