"""Feedback processor Lambda: SES events from SNS in; tracking, suppression and status events out.

Wired as ``handlers.feedback_processor.handler``, subscribed to the SES event topic; the work
lives in :mod:`.feedback`. Logger and Metrics take their service and namespace from the
environment the infrastructure sets (:class:`~.core.environment.FeedbackEnvironment`). A failed
record makes the invocation raise, so Lambda retries it and then the DLQ keeps it.
"""

import os

from aws_lambda_powertools import Logger, Metrics

from .core.environment import FeedbackEnvironment
from .feedback import process_event

powertools = FeedbackEnvironment.powertools(os.environ)
logger = Logger(service=powertools.service_name)
metrics = Metrics(namespace=powertools.metrics_namespace)
metrics.set_default_dimensions(**powertools.metric_dimensions)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: object) -> dict:
    return process_event(event, context, metrics)
