"""Stuck-email sweep Lambda: run by an EventBridge Scheduler schedule, reports (and under the
``hold`` policy resolves) emails stuck in ``processing``.

Wired as ``handlers.stuck_sweep.handler``; the work lives in :mod:`.sweep`. Run it now with
`aws lambda invoke --function-name <stuckSweepFunctionName> out.json`.
"""

from .core.environment import SweepEnvironment
from .observability import observability
from .sweep import process_event

logger, metrics = observability(SweepEnvironment)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: object) -> dict:
    return process_event(event, context, metrics)
