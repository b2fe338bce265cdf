"""Stack config validation: bad values stop `pulumi up` early, naming the key and the range."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pytest
from sesmailengine.settings import EngineSettings, SettingsError


def config_error(run_stack, stack: str = "dev", **overrides: str | None) -> str:
    with pytest.raises(pulumi.RunError) as raised:
        run_stack(stack, **overrides)
    return str(raised.value)


@pytest.mark.parametrize("value", ["1", "1001"])
def test_maximum_concurrency_outside_what_aws_allows_is_refused(run_stack, value):
    message = config_error(run_stack, maximumConcurrency=value)
    assert "sesmailengine:maximumConcurrency" in message
    assert "from 2 to 1000" in message
    assert value in message


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("batchSize", "11", "less than or equal to 10"),
        ("batchSize", "0", "greater than or equal to 1"),
        ("senderTimeoutSeconds", "901", "less than or equal to 900"),
        ("senderMemoryMb", "64", "greater than or equal to 128"),
        ("trackingTtlDays", "0", "greater than or equal to 1"),
        ("templateCacheSeconds", "-1", "greater than or equal to 0"),
        ("softBounceThreshold", "0", "greater than or equal to 1"),
        ("bounceRateAlarmPercent", "5", "less than 5"),
        ("complaintRateAlarmPercent", "0.1", "less than 0.1"),
        ("logRetentionDays", "8", "CloudWatch accepts only 1, 3, 5, 7"),
        ("lambdaArchitecture", "sparc", "'arm64' or 'x86_64'"),
        ("maxSendRate", "-1", "greater than or equal to 0"),
        ("batchSize", "ten", "valid integer"),
        ("adminEmail", "not-an-address", "not a valid email address"),
        ("allowedSourceAccounts", '["12345"]', "account ids are 12 digits; not 12345"),
        ("allowedSourceAccounts", "111122223333", "a list of account ids, or a map of"),
        ("allowedSourceAccounts", '{"12345": ["a.b"]}', "account ids are 12 digits; not 12345"),
        ("allowedSourceAccounts", '{"111122223333": []}', "111122223333 may use no source"),
        ("allowedSourceAccounts", '{"111122223333": ["a b"]}', "'a b' is not an event source"),
        ("archiveRetentionDays", "-1", "greater than or equal to 0"),
        ("statusEventSource", "aws.ses", "do not start with 'aws.'"),
        ("eventBusName", "has spaces", "letters, digits"),
    ],
)
def test_invalid_values_are_refused_with_key_and_allowed_range(run_stack, key, value, expected):
    message = config_error(run_stack, **{key: value})
    assert f"sesmailengine:{key}" in message
    assert expected in message


def test_a_missing_default_sender_is_reported(run_stack):
    message = config_error(run_stack, defaultSenderEmail=None)
    assert "sesmailengine:defaultSenderEmail: required, and not set" in message


def test_a_misspelt_key_is_reported_not_ignored(run_stack):
    message = config_error(run_stack, batchSzie="5")
    assert "sesmailengine:batchSzie: unknown setting" in message
    assert "batchSize" in message


def test_a_sender_outside_the_sending_domain_is_refused(run_stack):
    message = config_error(run_stack, "prod", defaultSenderEmail="noreply@other.example.org")
    assert "is not in sendingDomain 'mail.example.com'" in message


def test_every_problem_is_reported_at_once(run_stack):
    message = config_error(run_stack, batchSize="11", maximumConcurrency="1", logRetentionDays="2")
    for key in ("batchSize", "maximumConcurrency", "logRetentionDays"):
        assert f"sesmailengine:{key}" in message


def test_other_namespaces_are_left_to_their_owners():
    settings = EngineSettings.from_config(
        {"aws:region": "eu-west-1", "sesmailengine:defaultSenderEmail": "a@example.com"}
    )
    assert settings.default_sender_email == "a@example.com"


def test_config_text_is_converted_to_typed_values():
    settings = EngineSettings.from_config(
        {
            "sesmailengine:defaultSenderEmail": "noreply@example.com",
            "sesmailengine:batchSize": "4",
            "sesmailengine:protectData": "true",
            "sesmailengine:maxSendRate": "2.5",
            "sesmailengine:allowedSources": '["com.example.shop"]',
        }
    )
    assert settings.batch_size == 4
    assert settings.protect_data is True
    assert settings.max_send_rate == 2.5
    assert settings.allowed_sources == ["com.example.shop"]


def test_defaults_are_the_documented_ones():
    settings = EngineSettings(default_sender_email="noreply@example.com")
    assert settings.tracking_ttl_days == 90
    assert settings.template_cache_seconds == 300
    assert settings.soft_bounce_threshold == 3
    assert settings.bounce_rate_alarm_percent == 3.0
    assert settings.complaint_rate_alarm_percent == 0.05
    assert settings.sender_memory_mb == 512
    assert settings.lambda_architecture == "arm64"
    assert settings.queue_visibility_timeout_seconds == 6 * settings.sender_timeout_seconds


def test_settings_built_in_code_raise_a_settings_error_with_one_line_per_problem():
    # GIVEN a program that builds its settings in code, with two bad values
    # WHEN they are built
    with pytest.raises(SettingsError) as raised:
        EngineSettings(
            default_sender_email="noreply@example.com", maximum_concurrency=1, max_send_rate=-1
        )

    # THEN the error is not pydantic's: each problem is one line naming the config key
    assert raised.value.problems == (
        "sesmailengine:maximumConcurrency: AWS requires SQS maximum concurrency from 2 to "
        "1000, got 1",
        "sesmailengine:maxSendRate: Input should be greater than or equal to 0",
    )
    assert str(raised.value).splitlines()[1:] == [
        f"  {problem}" for problem in raised.value.problems
    ]
    assert "pydantic" not in str(raised.value)


@pytest.mark.parametrize(
    ("in_code", "in_stack_config"),
    [
        ({"max_send_rate": -1}, {"maxSendRate": "-1"}),
        (
            {"maximumConcurrency": 1, "batch_size": 11},
            {"maximumConcurrency": "1", "batchSize": "11"},
        ),
        ({"batch_size": "ten"}, {"batchSize": "ten"}),
        ({"allowed_source_accounts": ["12345"]}, {"allowedSourceAccounts": '["12345"]'}),
        ({"sending_domain": "other.example"}, {"sendingDomain": "other.example"}),
        ({"batchSzie": 5, "log_retention_days": 2}, {"batchSzie": "5", "logRetentionDays": "2"}),
    ],
)
def test_settings_built_in_code_and_from_stack_config_report_identical_problems(
    in_code, in_stack_config
):
    # GIVEN the same mistakes made in code (Python or config names) and in stack config
    with pytest.raises(SettingsError) as from_code:
        EngineSettings(default_sender_email="noreply@example.com", **in_code)
    with pytest.raises(SettingsError) as from_config:
        settings_with(**in_stack_config)

    # WHEN their problems are compared
    # THEN they are the same lines
    assert from_code.value.problems == from_config.value.problems
    assert from_code.value.problems


def test_settings_built_in_code_without_the_required_sender_say_so():
    with pytest.raises(SettingsError) as raised:
        EngineSettings()
    assert raised.value.problems == ("sesmailengine:defaultSenderEmail: required, and not set",)


def test_readme_documents_every_config_key_with_its_default():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    rows = {
        line.split("|")[1].strip().strip("`"): line.split("|")[2].strip()
        for line in readme.splitlines()
        if line.startswith("| `")
    }
    for key, field in EngineSettings.config_keys().items():
        assert key in rows, f"README's config table lacks {key}"
        default = EngineSettings.model_fields[field].default
        if isinstance(default, bool):
            assert rows[key] == f"`{str(default).lower()}`", key
        elif isinstance(default, (int, float, str)):
            assert rows[key] == f"`{default}`", key


def settings_with(**values: str) -> EngineSettings:
    return EngineSettings.from_config(
        {"sesmailengine:defaultSenderEmail": "noreply@example.com"}
        | {f"sesmailengine:{key}": value for key, value in values.items()}
    )


def test_a_claim_timeout_at_most_the_visibility_timeout_is_refused_with_the_reason():
    # GIVEN a sender timeout of 60 s, so EmailQueue's visibility timeout is 360 s
    # WHEN the claim timeout is no longer than that
    with pytest.raises(SettingsError) as raised:
        settings_with(senderTimeoutSeconds="60", claimTimeoutSeconds="360")
    # THEN the error names both values and why a redelivery needs the live claim
    message = str(raised.value)
    assert (
        "claimTimeoutSeconds (360) must be longer than EmailQueue's visibility timeout" in message
    )
    assert "(360 s" in message
    assert "send again" in message


def test_the_claim_timeout_defaults_to_half_an_hour_or_twice_a_longer_visibility_timeout():
    assert settings_with().claim_timeout == 1800
    # 6 x 300 s = 1800 s of visibility timeout: twice that
    assert settings_with(senderTimeoutSeconds="300").claim_timeout == 3600


def test_stuck_emails_are_those_older_than_twice_the_claim_timeout_unless_set():
    assert settings_with().stuck_after == 60
    assert settings_with(claimTimeoutSeconds="3000").stuck_after == 100
    assert settings_with(stuckAfterMinutes="45").stuck_after == 45


def test_a_stuck_age_within_the_claim_timeout_is_refused():
    with pytest.raises(SettingsError, match=r"stuckAfterMinutes \(30\) must be longer than"):
        settings_with(stuckAfterMinutes="30")


def test_a_stuck_age_beyond_the_sweeps_two_day_window_is_refused():
    with pytest.raises(SettingsError, match="sesmailengine:stuckAfterMinutes"):
        settings_with(stuckAfterMinutes="1441")


def test_the_ambiguous_send_policy_is_resend_or_hold():
    assert settings_with().ambiguous_send_policy == "resend"
    assert settings_with(ambiguousSendPolicy="hold").ambiguous_send_policy == "hold"
    with pytest.raises(
        SettingsError, match=r"sesmailengine:ambiguousSendPolicy.*'resend' or 'hold'"
    ):
        settings_with(ambiguousSendPolicy="maybe")


def test_listed_source_accounts_may_use_every_allowed_source():
    settings = EngineSettings.from_config(
        {
            "defaultSenderEmail": "noreply@example.com",
            "allowedSources": '["com.example.shop", "com.example.crm"]',
            "allowedSourceAccounts": '["111122223333"]',
        }
    )
    assert settings.source_accounts == {"111122223333": ("com.example.shop", "com.example.crm")}


def test_mapped_source_accounts_may_use_only_their_own_sources():
    settings = EngineSettings.from_config(
        {
            "defaultSenderEmail": "noreply@example.com",
            "allowedSources": '["com.example.shop", "com.example.crm"]',
            "allowedSourceAccounts": '{"111122223333": ["com.example.shop"]}',
        }
    )
    assert settings.source_accounts == {"111122223333": ("com.example.shop",)}


def test_an_account_source_that_the_rule_would_not_route_is_refused():
    with pytest.raises(SettingsError) as raised:
        EngineSettings.from_config(
            {
                "defaultSenderEmail": "noreply@example.com",
                "allowedSources": '["com.example.shop"]',
                "allowedSourceAccounts": '{"111122223333": ["com.example.crm"]}',
            }
        )
    assert "allowedSourceAccounts gives 111122223333 'com.example.crm'" in str(raised.value)
    assert "allowedSources does not list" in str(raised.value)
