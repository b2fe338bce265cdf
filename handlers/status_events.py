"""Status-events Lambda: the EmailTracking table's stream in, ``Email Status Changed`` events out.

Wired as ``handlers.status_events.handler`` to the table's DynamoDB stream (new and old images)
with ``ReportBatchItemFailures``; the work lives in :mod:`.status_stream`. Logger and Metrics
take their service and namespace from the environment the infrastructure sets
(:class:`~.core.environment.StatusEventsEnvironment`).
"""

import os

from aws_lambda_powertools import Logger, Metrics

from .core.environment import StatusEventsEnvironment
from .status_stream import process_event

powertools = StatusEventsEnvironment.powertools(os.environ)
logger = Logger(service=powertools.service_name)
metrics = Metrics(namespace=powertools.metrics_namespace)
metrics.set_default_dimensions(**powertools.metric_dimensions)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: object) -> dict:
    return process_event(event, context, metrics)
