"""The unsubscribe endpoint deploys on any account: no concurrency reserved unless asked for,
and one grant per action on its public function URL."""

from __future__ import annotations

from collections import Counter

import pulumi
import pytest
from sesmailengine.testing import ResourceGraph

FUNCTION = "aws:lambda/function:Function"
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
PERMISSION = "aws:lambda/permission:Permission"

# What pulumi-aws (≥ 7.16, the floor is 7.17) adds itself when it creates a function URL with
# `authorization_type` NONE: FunctionURLAllowPublicAccess and FunctionURLAllowInvokeAction.
# See the NOTE on `aws.lambda_.FunctionUrl` and https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html
PROVIDER_ADDED_ON_PUBLIC_URL = ("lambda:InvokeFunctionUrl", "lambda:InvokeFunction")


def public_url_grants(graph: ResourceGraph, function_name: str) -> Counter[str]:
    """Resource-policy statements on the function, by action: the provider's for each public
    URL of the function, plus every `Permission` the program declares for it."""
    grants: Counter[str] = Counter()
    for url in graph.of_type(FUNCTION_URL):
        if (
            url.inputs["functionName"] == function_name
            and url.inputs["authorizationType"] == "NONE"
        ):
            grants.update(PROVIDER_ADDED_ON_PUBLIC_URL)
    for permission in graph.of_type(PERMISSION):
        if permission.inputs["function"] == function_name:
            grants[permission.inputs["action"]] += 1
    return grants


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_endpoint_reserves_no_concurrency_by_default(stack, request):
    # GIVEN a stack without unsubscribeReservedConcurrency
    graph: ResourceGraph = request.getfixturevalue(stack)
    # WHEN the endpoint is declared
    function = graph.one(FUNCTION, "unsubscribe-endpoint")
    # THEN it takes nothing from the account's unreserved pool (a quota of 10 would refuse it)
    assert function.inputs.get("reservedConcurrentExecutions") is None


def test_a_set_reserved_concurrency_reaches_the_endpoint(run_stack):
    # GIVEN an account whose quota leaves 100 unreserved after the cap
    graph = run_stack("dev", unsubscribeReservedConcurrency="5")
    # WHEN the endpoint is declared
    function = graph.one(FUNCTION, "unsubscribe-endpoint")
    # THEN the cap is reserved on it
    assert function.inputs["reservedConcurrentExecutions"] == 5


@pytest.mark.parametrize("value", ["0", "-1"])
def test_a_reserved_concurrency_below_one_is_refused(run_stack, value):
    # GIVEN a reserved concurrency that would block or disable the endpoint
    # WHEN the stack runs
    with pytest.raises(pulumi.RunError, match="unsubscribeReservedConcurrency") as raised:
        run_stack("dev", unsubscribeReservedConcurrency=value)
    # THEN the message names the key and the allowed range
    assert "greater than or equal to 1" in str(raised.value)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_public_url_has_exactly_one_grant_per_action(stack, request):
    # GIVEN the public unsubscribe URL
    graph: ResourceGraph = request.getfixturevalue(stack)
    function = graph.one(FUNCTION, "unsubscribe-endpoint")
    # WHEN its resource policy is counted (provider-added and declared statements)
    grants = public_url_grants(graph, function.outputs["name"])
    # THEN each action the URL needs is granted once: no duplicate pair
    assert grants == Counter({"lambda:InvokeFunctionUrl": 1, "lambda:InvokeFunction": 1})
