"""Each function's environment is written by its component through the model its handler reads
it with (`sesmailengine.handlers.core.environment`), so the two sides cannot drift apart."""

from __future__ import annotations

import pytest
from sesmailengine.handlers.core.environment import (
    BrakeEnvironment,
    FeedbackEnvironment,
    FunctionEnvironment,
    SenderEnvironment,
    StatusEventsEnvironment,
    SweepEnvironment,
    UnsubscribeEnvironment,
)
from sesmailengine.testing import ResourceGraph

FUNCTION = "aws:lambda/function:Function"
MODELS: dict[str, type[FunctionEnvironment]] = {
    "handlers.email_sender.handler": SenderEnvironment,
    "handlers.feedback_processor.handler": FeedbackEnvironment,
    "handlers.unsubscribe.handler": UnsubscribeEnvironment,
    "handlers.sending_brake.handler": BrakeEnvironment,
    "handlers.status_events.handler": StatusEventsEnvironment,
    "handlers.stuck_sweep.handler": SweepEnvironment,
}


def environments(graph: ResourceGraph) -> dict[str, dict[str, str]]:
    """Handler → the environment variables its function is deployed with."""
    return {
        function.inputs["handler"]: function.inputs["environment"]["variables"]
        for function in graph.of_type(FUNCTION)
    }


def test_prod_deploys_every_function_the_handlers_define_an_environment_for(prod):
    # GIVEN prod, which turns the sending brake on
    # THEN every handler with an environment model runs as a function, and no other
    assert set(environments(prod)) == set(MODELS)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_function_environment_reads_back_unchanged_through_its_handlers_model(stack, request):
    graph: ResourceGraph = request.getfixturevalue(stack)
    for handler, variables in environments(graph).items():
        # WHEN the handler reads its environment with its model
        read = MODELS[handler].from_env(variables)
        # THEN every variable is one the model knows, and it writes back the same text
        assert read.variables() == variables, handler


def test_each_function_names_its_own_powertools_service(prod):
    # THEN the metrics' `service` dimension is the one the handler's model declares
    for handler, variables in environments(prod).items():
        assert variables["POWERTOOLS_SERVICE_NAME"] == MODELS[handler].SERVICE, handler
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "SESMailEngine", handler


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_function_names_its_engine_the_same_way(stack, request):
    graph: ResourceGraph = request.getfixturevalue(stack)
    # THEN every function carries the engine's `<name>-<stack>`, its metrics' `engine` dimension
    names = {variables.get("ENGINE_NAME") for variables in environments(graph).values()}
    assert names == {f"sesmailengine-{stack}"}
