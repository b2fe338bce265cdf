"""Email sender Lambda: SQS batches of ``Email Request`` events in, sent and tracked email out.

Wired as ``handlers.email_sender.handler`` with ``ReportBatchItemFailures``; the work lives in
:mod:`.batch`. Logger and Metrics take their service and namespace from the environment the
infrastructure sets (:class:`~.core.environment.SenderEnvironment`).
"""

import os

from aws_lambda_powertools import Logger, Metrics

from .batch import process_event
from .core.environment import SenderEnvironment

powertools = SenderEnvironment.powertools(os.environ)
logger = Logger(service=powertools.service_name)
metrics = Metrics(namespace=powertools.metrics_namespace)
metrics.set_default_dimensions(**powertools.metric_dimensions)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: object) -> dict:
    return process_event(event, context, metrics)
