"""The Logger and Metrics every entry point builds, configured from its function's environment
(service name, metrics namespace, and the `engine` dimension that keeps engines apart)."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics

from .core.environment import FunctionEnvironment


def observability(model: type[FunctionEnvironment]) -> tuple[Logger, Metrics]:
    """A module-level Logger and Metrics for the function whose environment `model` reads."""
    powertools = model.powertools(os.environ)
    logger = Logger(service=powertools.service_name)
    metrics = Metrics(namespace=powertools.metrics_namespace)
    metrics.set_default_dimensions(**powertools.metric_dimensions)
    return logger, metrics
