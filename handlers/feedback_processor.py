"""Feedback processor Lambda: SES events from SNS in; tracking, suppression and status events out.

Wired as ``handlers.feedback_processor.handler``, subscribed to the SES event topic; the work
lives in :mod:`.feedback`. Logger and Metrics take their service and namespace from the
environment the infrastructure sets (:class:`~.core.environment.FeedbackEnvironment`). A failed
record makes the invocation raise, so Lambda retries it and then the DLQ keeps it.
"""

from .core.environment import FeedbackEnvironment
from .feedback import process_event
from .observability import observability

logger, metrics = observability(FeedbackEnvironment)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: object) -> dict:
    return process_event(event, context, metrics)
