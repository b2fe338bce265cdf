"""`pulumi up` warns when the stack uploads marketing templates but sets no postal address, which
the sender needs before it sends them."""

from __future__ import annotations

import logging

import pytest


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]


def test_a_stack_with_the_newsletter_and_no_brand_address_is_warned(run_stack, caplog):
    # GIVEN the dev stack without brandAddress, uploading the starters (the newsletter is marketing)
    caplog.set_level(logging.WARNING)
    # WHEN the program runs
    run_stack("dev", brandAddress=None)
    # THEN `pulumi up` warns, naming the setting and the templates the sender will refuse
    [warning] = [text for text in warnings(caplog) if "brandAddress" in text]
    assert "newsletter" in warning and "refuses" in warning


@pytest.mark.parametrize(
    "overrides",
    [{}, {"brandAddress": None, "uploadStarterTemplates": "false"}],
    ids=["dev with its address", "no starter templates uploaded"],
)
def test_no_warning_when_there_is_an_address_or_no_marketing_template(run_stack, caplog, overrides):
    caplog.set_level(logging.WARNING)
    run_stack("dev", **overrides)
    assert [text for text in warnings(caplog) if "brandAddress" in text] == []
