"""Email sender Lambda: SQS batches of ``Email Request`` events in, sent and tracked email out.

Wired as ``handlers.email_sender.handler`` with ``ReportBatchItemFailures``; the work lives in
:mod:`.batch`. Logger and Metrics take their service and namespace from the environment the
infrastructure sets (:class:`~.core.environment.SenderEnvironment`).
"""

from .batch import process_event
from .core.environment import SenderEnvironment
from .observability import observability

logger, metrics = observability(SenderEnvironment)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: object) -> dict:
    return process_event(event, context, metrics)
