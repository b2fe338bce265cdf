"""The Lambda environments: one model per function, written by the components, read by the
handlers. Pure, without moto."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sesmailengine.handlers.core.environment import (
    BrakeEnvironment,
    FeedbackEnvironment,
    SenderEnvironment,
    StatusEventsEnvironment,
    UnsubscribeEnvironment,
)
from sesmailengine.handlers.core.errors import ConfigurationError

SENDER = {
    "tracking_table": "EmailTracking",
    "suppression_table": "Suppression",
    "template_bucket": "templates",
    "configuration_set": "sesmailengine",
    "event_bus_name": "bus",
    "default_sender_email": "noreply@example.com",
}


def test_what_the_component_writes_is_what_the_handler_reads() -> None:
    # GIVEN a sender environment built from settings, unsubscribe links included
    written = SenderEnvironment(
        **SENDER,
        max_send_rate=14.5,
        brand_name="Acme",
        unsubscribe_url="https://unsubscribe.example.com/",
        unsubscribe_key_parameter="/key",
    )
    # WHEN the handler reads the variables back
    read = SenderEnvironment.from_env(written.variables())
    # THEN it gets the same settings
    assert read == written
    assert read.unsubscribe is not None and read.unsubscribe.token_days == 365
    assert read.brand.name == "Acme"


def test_variables_are_text_named_as_the_contract_says() -> None:
    variables = SenderEnvironment(**SENDER, max_send_rate=14.0).variables()
    assert variables["TRACKING_TABLE"] == "EmailTracking"
    assert variables["MAX_SEND_RATE"] == "14"
    assert variables["TEMPLATE_CACHE_TTL_SECONDS"] == "300"
    assert variables["TRACKING_TTL_DAYS"] == "90"
    assert variables["STATUS_EVENT_SOURCE"] == "sesmailengine"
    assert variables["POWERTOOLS_SERVICE_NAME"] == "email-sender"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "SESMailEngine"


def test_status_events_name_their_bus_and_source_by_default() -> None:
    variables = StatusEventsEnvironment(event_bus_name="bus").variables()
    assert variables["EVENT_BUS_NAME"] == "bus"
    assert variables["STATUS_EVENT_SOURCE"] == "sesmailengine"


def test_unset_optional_values_are_left_out() -> None:
    variables = SenderEnvironment(**SENDER, default_sender_name="", brand_url=None).variables()
    for name in ("DEFAULT_SENDER_NAME", "BRAND_NAME", "BRAND_URL", "UNSUBSCRIBE_URL"):
        assert name not in variables
    assert "UNSUBSCRIBE_TOKEN_DAYS" not in variables  # only with links to sign


def test_every_problem_is_reported_one_line_each_by_variable_name() -> None:
    env = {
        "TRACKING_TABLE": "t",
        "TRACKING_TTL_DAYS": "0",
        "MAX_SEND_RATE": "fast",
        "UNSUBSCRIBE_URL": "http://example.com/",
    }
    with pytest.raises(ConfigurationError) as raised:
        SenderEnvironment.from_env(env)
    lines = str(raised.value).splitlines()[1:]
    assert [line.strip().split(" ", 1)[0].rstrip(":") for line in lines] == [
        "SUPPRESSION_TABLE",
        "TEMPLATE_BUCKET",
        "CONFIGURATION_SET",
        "EVENT_BUS_NAME",
        "TRACKING_TTL_DAYS",
        "MAX_SEND_RATE",
        "UNSUBSCRIBE_URL",
    ]
    assert "  SUPPRESSION_TABLE: missing" in lines
    assert "  UNSUBSCRIBE_URL must be an https:// URL, got 'http://example.com/'" in lines


def test_an_empty_variable_counts_as_missing() -> None:
    env = SenderEnvironment(**SENDER).variables() | {"TRACKING_TABLE": ""}
    with pytest.raises(ConfigurationError, match="TRACKING_TABLE: missing"):
        SenderEnvironment.from_env(env)


def test_unsubscribe_links_need_the_signing_key() -> None:
    env = SenderEnvironment(**SENDER).variables() | {"UNSUBSCRIBE_URL": "https://u.example/"}
    with pytest.raises(ConfigurationError, match="UNSUBSCRIBE_KEY_PARAMETER is not"):
        SenderEnvironment.from_env(env)


def test_the_component_side_reports_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        FeedbackEnvironment(tracking_table="t", suppression_table="s", event_bus="b")


@pytest.mark.parametrize(
    ("model", "service"),
    [
        (SenderEnvironment, "email-sender"),
        (FeedbackEnvironment, "feedback-processor"),
        (UnsubscribeEnvironment, "unsubscribe"),
        (BrakeEnvironment, "sending-brake"),
        (StatusEventsEnvironment, "status-events"),
    ],
)
def test_powertools_settings_default_to_the_functions_service(model, service) -> None:
    assert model.powertools({}).service_name == service
    assert model.powertools({}).metrics_namespace == "SESMailEngine"
    assert model.powertools({"POWERTOOLS_SERVICE_NAME": "x"}).service_name == "x"


def test_the_engine_name_is_every_metrics_engine_dimension() -> None:
    env = {"ENGINE_NAME": "mail-prod"}
    assert SenderEnvironment.powertools(env).metric_dimensions == {"engine": "mail-prod"}
    assert FeedbackEnvironment.powertools(env).engine_name == "mail-prod"
    # unset (a hand-run handler): no engine dimension rather than an empty one
    assert SenderEnvironment.powertools({}).metric_dimensions == {}


def test_the_brake_and_the_endpoint_read_their_own_variables() -> None:
    brake = BrakeEnvironment(configuration_set="c", sender_event_source_mapping_uuid="u")
    assert BrakeEnvironment.from_env(brake.variables()) == brake
    endpoint = UnsubscribeEnvironment(suppression_table="s", unsubscribe_key_parameter="/k")
    assert set(endpoint.variables()) == {
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "SUPPRESSION_TABLE",
        "UNSUBSCRIBE_KEY_PARAMETER",
    }
