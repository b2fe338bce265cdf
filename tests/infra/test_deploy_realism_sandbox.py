"""Deploy realism: a stack whose SES account is in the sandbox (`sesSandbox`) keeps to the
sandbox's 1 email/s, and its sender may send to the verified recipients of other domains."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pytest
from sesmailengine.settings import EngineSettings
from sesmailengine.testing import ResourceGraph, stack_config_file

PROJECT_DIR = Path(__file__).resolve().parents[2]
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SANDBOX_SID = "SendToSandboxRecipients"
ANY_IDENTITY = "arn:aws:ses:us-east-1:123456789012:identity/*"


def sender_statements(graph: ResourceGraph) -> dict[str, dict]:
    statements = graph.one(ROLE_POLICY, "sender").json_input("policy")["Statement"]
    return {statement["Sid"]: statement for statement in statements}


def config_error(run_stack, stack: str, **overrides: str | None) -> str:
    with pytest.raises(pulumi.RunError) as raised:
        run_stack(stack, **overrides)
    return str(raised.value)


def test_the_dev_stack_is_in_the_sandbox_and_sends_at_most_one_email_per_second():
    # GIVEN the example dev stack
    settings = EngineSettings.from_config(stack_config_file(PROJECT_DIR, "dev"))
    # THEN it says it is in the sandbox, and all its sender instances together keep to 1/s
    assert settings.ses_sandbox
    assert 0 < settings.maximum_concurrency * settings.max_send_rate <= 1


def test_the_prod_stack_is_out_of_the_sandbox():
    settings = EngineSettings.from_config(stack_config_file(PROJECT_DIR, "prod"))
    assert not settings.ses_sandbox


def test_a_sandbox_stack_whose_senders_together_exceed_one_email_per_second_is_refused(run_stack):
    # GIVEN dev (2 sender instances, in the sandbox) WHEN each may send 1 email/s
    message = config_error(run_stack, "dev", maxSendRate="1")
    # THEN the stack is refused, naming the keys, the product and the rate that would fit
    assert "sesSandbox is true" in message
    assert "maximumConcurrency (2) x maxSendRate (1) = 2 emails/s" in message
    assert "set maxSendRate to at most 0.5" in message


def test_a_sandbox_stack_with_unlimited_senders_is_refused(run_stack):
    message = config_error(run_stack, "dev", maxSendRate="0", maximumConcurrency="4")
    assert "maxSendRate (0) = unlimited" in message
    assert "set maxSendRate to at most 0.25" in message


def test_a_stack_out_of_the_sandbox_may_send_faster():
    settings = EngineSettings.from_config(
        {
            "sesmailengine:defaultSenderEmail": "noreply@dev.example.com",
            "sesmailengine:maximumConcurrency": "2",
            "sesmailengine:maxSendRate": "0",
        }
    )
    assert not settings.ses_sandbox


def test_in_the_sandbox_the_sender_may_send_to_any_identity_but_only_from_its_domain(dev):
    # GIVEN dev, in the sandbox, whose sender's identity is dev.example.com
    # THEN SES may authorize a send against any verified (recipient) identity of the account,
    # as long as the From address is one of the sender's own
    assert sender_statements(dev)[SANDBOX_SID] == {
        "Sid": SANDBOX_SID,
        "Effect": "Allow",
        "Action": "ses:SendEmail",
        "Resource": ANY_IDENTITY,
        "Condition": {"StringLike": {"ses:FromAddress": ["*@dev.example.com"]}},
    }


def test_out_of_the_sandbox_the_sender_may_use_only_its_own_identities(prod, run_stack):
    assert SANDBOX_SID not in sender_statements(prod)
    assert SANDBOX_SID not in sender_statements(run_stack("dev", sesSandbox="false"))


def test_a_sandbox_default_sender_in_a_subdomain_is_allowed_as_a_from_address(run_stack):
    # GIVEN prod in the sandbox, its default sender in a subdomain of its sending domain
    graph = run_stack(
        "prod",
        sesSandbox="true",
        defaultSenderEmail="noreply@news.mail.example.com",
        maxSendRate="0.1",
    )
    # THEN both the sending domain's addresses and the default sender may be the From address
    assert sender_statements(graph)[SANDBOX_SID]["Condition"] == {
        "StringLike": {"ses:FromAddress": ["*@mail.example.com", "noreply@news.mail.example.com"]}
    }
