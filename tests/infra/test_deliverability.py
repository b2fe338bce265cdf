"""Deliverability resources under Pulumi mocks: the unsubscribe endpoint and its signing key,
brand settings on the sender, and DKIM / MAIL FROM / DMARC records."""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pytest
from sesmailengine.handlers.core.unsubscribe_tokens import NO_PREVIOUS_KEY
from sesmailengine.testing import ResourceGraph

FUNCTION = "aws:lambda/function:Function"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
TABLE = "aws:dynamodb/table:Table"
PARAMETER = "aws:ssm/parameter:Parameter"
PASSWORD = "random:index/randomPassword:RandomPassword"
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
PERMISSION = "aws:lambda/permission:Permission"
RECORD = "aws:route53/record:Record"
MAIL_FROM = "aws:sesv2/emailIdentityMailFromAttributes:EmailIdentityMailFromAttributes"
ZONE = "Z0123456789ABCDEFGHIJ"


def secret_value(value):
    """Pulumi wraps secret inputs; the mocks record the wrapper."""
    if isinstance(value, dict) and "value" in value:
        return value["value"]
    return value


def policy(graph: ResourceGraph, name: str) -> dict[str, dict]:
    statements = graph.one(ROLE_POLICY, name).json_input("policy")["Statement"]
    return {statement["Sid"]: statement for statement in statements}


def env(graph: ResourceGraph, name: str) -> dict[str, str]:
    return graph.one(FUNCTION, name).inputs["environment"]["variables"]


# --- Unsubscribe ----------------------------------------------------------------------------


CURRENT_KEY = "unsubscribe-signing-key-parameter"
PREVIOUS_KEY = "unsubscribe-signing-key-previous-parameter"


def key_source(graph: ResourceGraph, parameter: str) -> str | None:
    """The RandomPassword whose result a key parameter holds (None: it holds no key)."""
    value = secret_value(graph.one(PARAMETER, parameter).inputs["value"])
    found = [p.name for p in graph.of_type(PASSWORD) if p.outputs["result"] == value]
    return found[0] if found else None


def keepers(graph: ResourceGraph) -> dict[str, dict | None]:
    """Each signing-key RandomPassword's keepers: what makes Pulumi generate it anew."""
    return {p.name: p.inputs.get("keepers") for p in graph.of_type(PASSWORD)}


def test_the_signing_key_is_generated_by_pulumi_and_stored_as_a_secure_string(dev):
    password = dev.one(PASSWORD, "unsubscribe-signing-key")
    assert password.inputs["length"] >= 32
    assert password.inputs["special"] is False
    parameter = dev.one(PARAMETER, CURRENT_KEY).inputs
    assert parameter["type"] == "SecureString"
    assert parameter["name"] == "/sesmailengine-dev/unsubscribe-signing-key"
    assert secret_value(parameter["value"]) == password.outputs["result"]


def test_before_any_rotation_the_previous_key_parameter_holds_no_key(dev):
    # GIVEN a stack that never rotated (unsubscribeKeyRotation 1, the default)
    previous = dev.one(PARAMETER, PREVIOUS_KEY).inputs
    # THEN the previous-key parameter exists, secret, with the placeholder the endpoint skips
    assert previous["type"] == "SecureString"
    assert previous["name"] == "/sesmailengine-dev/unsubscribe-signing-key-previous"
    assert secret_value(previous["value"]) == NO_PREVIOUS_KEY
    # AND the one key is the pre-rotation resource, without keepers: upgrading replaces nothing
    assert keepers(dev) == {"sesmailengine-unsubscribe-signing-key": None}


@pytest.fixture(scope="module")
def at_rotation(run_stack) -> Callable[[int], ResourceGraph]:
    """The dev stack's graph at a key generation, each run once: the tests compare pairs."""
    graphs: dict[int, ResourceGraph] = {}

    def graph(rotation: int) -> ResourceGraph:
        if rotation not in graphs:
            graphs[rotation] = run_stack("dev", unsubscribeKeyRotation=str(rotation))
        return graphs[rotation]

    return graph


@pytest.mark.parametrize("rotation", [1, 2, 3, 4])
def test_one_rotation_makes_a_new_key_current_and_keeps_the_old_one_as_previous(
    at_rotation, rotation
):
    # GIVEN a stack at some key generation
    before = at_rotation(rotation)
    # WHEN the generation is raised by one
    after = at_rotation(rotation + 1)
    # THEN the old current key becomes the previous one, its keepers unchanged (same value)
    old = key_source(before, CURRENT_KEY)
    assert key_source(after, PREVIOUS_KEY) == old
    assert keepers(after)[old] == keepers(before)[old]
    # AND the new current key comes from the other slot, whose keepers changed (a new value)
    new = key_source(after, CURRENT_KEY)
    assert new != old
    assert keepers(after)[new] != keepers(before).get(new, "absent")


def test_raising_the_rotation_by_two_regenerates_both_keys(at_rotation):
    # GIVEN a rotated stack  WHEN the generation is raised by two (a leaked key)
    before = at_rotation(2)
    after = at_rotation(4)
    # THEN both keys get new keepers: no link signed before verifies any more
    assert set(keepers(after)) == set(keepers(before))
    for name, kept in keepers(after).items():
        assert kept != keepers(before)[name], name


def test_the_endpoint_is_a_public_function_url_guarded_by_the_token(dev):
    function = dev.one(FUNCTION, "unsubscribe-endpoint")
    assert function.inputs["handler"] == "handlers.unsubscribe.handler"
    url = dev.one(FUNCTION_URL, "unsubscribe")
    # NONE: the provider adds the URL-only public grants itself (see
    # test_deploy_realism_unsubscribe.py); the program declares no plain public invoke.
    assert url.inputs["authorizationType"] == "NONE"
    assert url.inputs["functionName"] == function.outputs["name"]
    assert not [p for p in dev.of_type(PERMISSION) if "unsubscribe" in p.name]
    assert dev.outputs["unsubscribeUrl"] == url.outputs["functionUrl"]


def test_the_endpoint_may_only_add_suppressions_and_read_its_key(dev):
    statements = policy(dev, "unsubscribe-endpoint")
    assert statements["WriteUnsubscribeSuppressions"] == {
        "Sid": "WriteUnsubscribeSuppressions",
        "Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
        "Resource": dev.one(TABLE, "suppression").outputs["arn"],
    }
    parameter_arn = dev.one(PARAMETER, CURRENT_KEY).outputs["arn"]
    assert parameter_arn.endswith(":parameter/sesmailengine-dev/unsubscribe-signing-key")
    previous_arn = dev.one(PARAMETER, PREVIOUS_KEY).outputs["arn"]
    assert previous_arn.endswith(":parameter/sesmailengine-dev/unsubscribe-signing-key-previous")
    # Both keys verify: links signed before the last rotation keep working.
    assert statements["ReadSigningKeys"]["Action"] == "ssm:GetParameter"
    assert statements["ReadSigningKeys"]["Resource"] == [parameter_arn, previous_arn]
    assert set(statements) == {"WriteOwnLogs", "WriteUnsubscribeSuppressions", "ReadSigningKeys"}
    variables = env(dev, "unsubscribe-endpoint")
    assert variables["SUPPRESSION_TABLE"] == dev.one(TABLE, "suppression").outputs["name"]
    assert variables["UNSUBSCRIBE_KEY_PARAMETER"] == "/sesmailengine-dev/unsubscribe-signing-key"
    assert (
        variables["UNSUBSCRIBE_PREVIOUS_KEY_PARAMETER"]
        == "/sesmailengine-dev/unsubscribe-signing-key-previous"
    )
    # The page offers the topics of the marketing templates `pulumi up` uploads.
    assert variables["MARKETING_TOPICS"] == "newsletter"


def test_the_sender_signs_links_for_the_endpoint_with_the_same_key(dev, run_stack):
    variables = env(dev, "sender")
    assert variables["UNSUBSCRIBE_URL"] == dev.one(FUNCTION_URL).outputs["functionUrl"]
    assert variables["UNSUBSCRIBE_URL"].startswith("https://")
    assert variables["UNSUBSCRIBE_KEY_PARAMETER"] == "/sesmailengine-dev/unsubscribe-signing-key"
    assert variables["UNSUBSCRIBE_TOKEN_DAYS"] == "365"
    assert "UNSUBSCRIBE_MAILTO" not in variables
    # The sender signs with the current key only: it never reads the previous one.
    assert (
        policy(dev, "sender")["ReadUnsubscribeSigningKey"]["Resource"]
        == (dev.one(PARAMETER, CURRENT_KEY).outputs["arn"])
    )
    assert "UNSUBSCRIBE_PREVIOUS_KEY_PARAMETER" not in variables
    tuned = run_stack(
        "dev", unsubscribeMailto="unsubscribe@dev.example.com", unsubscribeLinkDays="90"
    )
    assert env(tuned, "sender")["UNSUBSCRIBE_MAILTO"] == "unsubscribe@dev.example.com"
    assert env(tuned, "sender")["UNSUBSCRIBE_TOKEN_DAYS"] == "90"


# --- Brand ----------------------------------------------------------------------------------


def test_brand_settings_reach_the_sender_with_defaults(dev, run_stack):
    variables = env(dev, "sender")
    assert variables["BRAND_NAME"] == "Example (dev)"  # defaultSenderName
    assert variables["BRAND_PRIMARY_COLOR"] == "#2563eb"
    assert "BRAND_LOGO_URL" not in variables
    branded = run_stack(
        "dev",
        brandName="Acme",
        brandUrl="https://acme.example",
        brandLogoUrl="https://acme.example/logo.png",
        brandAddress="1 Road, Town",
        brandPrimaryColor="#FF5500",
    )
    variables = env(branded, "sender")
    assert variables["BRAND_NAME"] == "Acme"
    assert variables["BRAND_URL"] == "https://acme.example"
    assert variables["BRAND_LOGO_URL"] == "https://acme.example/logo.png"
    assert variables["BRAND_ADDRESS"] == "1 Road, Town"
    assert variables["BRAND_PRIMARY_COLOR"] == "#ff5500"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("brandPrimaryColor", "red", "use a hex colour"),
        ("brandPrimaryColor", "#12345", "use a hex colour"),
        ("brandLogoUrl", "http://acme.example/logo.png", "use an https:// URL"),
        ("brandUrl", 'https://x" onload="', "use an https:// URL"),
        ("unsubscribeLinkDays", "7", "greater than or equal to 30"),
        ("unsubscribeKeyRotation", "0", "greater than or equal to 1"),
        ("unsubscribeMailto", "nope", "not a valid email address"),
        ("dmarcPolicy", "strict", "'none', 'quarantine' or 'reject'"),
        ("mailFromSubdomain", "a.b", "one DNS label"),
        ("hostedZoneId", "zone-1", "hosted zone id"),
    ],
)
def test_invalid_deliverability_settings_are_refused(run_stack, key, value, expected):
    with pytest.raises(pulumi.RunError) as raised:
        run_stack("prod", **{key: value})
    assert f"sesmailengine:{key}" in str(raised.value)
    assert expected in str(raised.value)


def test_a_hosted_zone_without_a_sending_domain_is_refused(run_stack):
    with pytest.raises(pulumi.RunError, match="hostedZoneId is set without sendingDomain"):
        run_stack("dev", hostedZoneId=ZONE)


# --- Domain authentication ------------------------------------------------------------------


@pytest.fixture(scope="module")
def authenticated(run_stack) -> ResourceGraph:
    return run_stack(
        "prod", hostedZoneId=ZONE, dmarcPolicy="quarantine", dmarcReportEmail="dmarc@example.com"
    )


def records(graph: ResourceGraph) -> dict[tuple[str, str], list[str]]:
    return {
        (r.inputs["name"], r.inputs["type"]): r.inputs["records"] for r in graph.of_type(RECORD)
    }


def test_without_a_hosted_zone_no_dns_records_are_created(dev, prod):
    assert dev.of_type(RECORD) == [] and prod.of_type(RECORD) == []
    assert prod.of_type(MAIL_FROM) == []


def test_easy_dkim_publishes_one_cname_per_token(authenticated):
    found = records(authenticated)
    for token in authenticated.outputs["dkimTokens"]:
        assert found[(f"{token}._domainkey.mail.example.com", "CNAME")] == [
            f"{token}.dkim.amazonses.com"
        ]
    assert sum(1 for _, kind in found if kind == "CNAME") == 3
    for record in authenticated.of_type(RECORD):
        assert record.inputs["zoneId"] == ZONE
        assert record.parent_type == "sesmailengine:index:Sending"


def test_a_custom_mail_from_domain_has_its_mx_and_spf_records(authenticated):
    mail_from = authenticated.one(MAIL_FROM).inputs
    assert mail_from["emailIdentity"] == "mail.example.com"
    assert mail_from["mailFromDomain"] == "bounce.mail.example.com"
    assert mail_from["behaviorOnMxFailure"] == "USE_DEFAULT_VALUE"
    found = records(authenticated)
    assert found[("bounce.mail.example.com", "MX")] == ["10 feedback-smtp.us-east-1.amazonses.com"]
    assert found[("bounce.mail.example.com", "TXT")] == ["v=spf1 include:amazonses.com ~all"]
    assert authenticated.outputs["mailFromDomain"] == "bounce.mail.example.com"


def test_dmarc_is_published_with_the_configured_policy(authenticated, run_stack):
    assert records(authenticated)[("_dmarc.mail.example.com", "TXT")] == [
        "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com"
    ]
    default = run_stack("prod", hostedZoneId=ZONE)
    assert records(default)[("_dmarc.mail.example.com", "TXT")] == ["v=DMARC1; p=none"]
