"""Stuck-email sweep Lambda: run by an EventBridge Scheduler schedule, reports (and under the
``hold`` policy resolves) emails stuck in ``processing``.

Wired as ``handlers.stuck_sweep.handler``; the work lives in :mod:`.sweep`. Run it now with
`aws lambda invoke --function-name <stuckSweepFunctionName> out.json`.
"""

import os

from aws_lambda_powertools import Logger, Metrics

from .core.environment import SweepEnvironment
from .sweep import process_event

powertools = SweepEnvironment.powertools(os.environ)
logger = Logger(service=powertools.service_name)
metrics = Metrics(namespace=powertools.metrics_namespace)
metrics.set_default_dimensions(**powertools.metric_dimensions)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: object) -> dict:
    return process_event(event, context, metrics)
