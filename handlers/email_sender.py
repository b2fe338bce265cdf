"""Email sender Lambda: SQS batches of ``Email Request`` events in, sent and tracked email out.

Wired as ``handlers.email_sender.handler`` with ``ReportBatchItemFailures``; the work lives in
:mod:`.batch`. Logger and Metrics take their settings from the environment the infrastructure
sets (``POWERTOOLS_SERVICE_NAME``, ``POWERTOOLS_METRICS_NAMESPACE``).
"""

import os

from aws_lambda_powertools import Logger, Metrics

from .batch import process_event

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or "email-sender")
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "SESMailEngine")


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: object) -> dict:
    return process_event(event, context, metrics)
