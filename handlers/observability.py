"""The Logger and Metrics every entry point builds, configured from its function's environment
(service name, metrics namespace, and the `engine` dimension that keeps engines apart)."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics

from .core.environment import FunctionEnvironment

_BUILT: dict[type[FunctionEnvironment], Metrics] = {}


def observability(model: type[FunctionEnvironment]) -> tuple[Logger, Metrics]:
    """A module-level Logger and Metrics for the function whose environment `model` reads."""
    powertools = model.powertools(os.environ)
    logger = Logger(service=powertools.service_name)
    metrics = Metrics(namespace=powertools.metrics_namespace)
    metrics.set_default_dimensions(**powertools.metric_dimensions)
    _BUILT[model] = metrics
    return logger, metrics


def new_container() -> None:
    """Set the entry points' default dimensions again from the environment, as their import
    in a new container does. Lambda imports a module once per container; local mode and the
    tests run the functions of several engines (several containers) in one process."""
    for model, metrics in _BUILT.items():
        metrics.set_default_dimensions(**model.powertools(os.environ).metric_dimensions)
