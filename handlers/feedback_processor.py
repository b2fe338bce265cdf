"""Feedback processor Lambda: SES events from SNS in; tracking, suppression and status events out.

Wired as ``handlers.feedback_processor.handler``, subscribed to the SES event topic; the work
lives in :mod:`.feedback`. Logger and Metrics take their settings from the environment the
infrastructure sets (``POWERTOOLS_SERVICE_NAME``, ``POWERTOOLS_METRICS_NAMESPACE``). A failed
record makes the invocation raise, so Lambda retries it and then the DLQ keeps it.
"""

import os

from aws_lambda_powertools import Logger, Metrics

from .feedback import process_event

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or "feedback-processor")
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "SESMailEngine")


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: object) -> dict:
    return process_event(event, context, metrics)
