"""`sesmail demo`, the README's first command, through its entry point."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from sesmail.cli import main

PROJECT_DIR = Path(__file__).resolve().parents[2]


def test_the_demo_sends_every_template_and_simulator_case_and_ends_clean(
    tmp_path, monkeypatch
) -> None:
    # GIVEN a fresh working folder, no Pulumi program in it
    monkeypatch.chdir(tmp_path)
    report = tmp_path / "report.html"
    # WHEN the demo runs there
    result = CliRunner().invoke(main, ["demo", "--report", str(report), "--json"])
    # THEN it runs the packaged program, and says so in one line
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("No __main__.py here: running the packaged program")
    assert result.stderr.count("\n") == 1
    # AND it succeeds, every email ended where the simulator says, nothing is dead-lettered
    outcome = json.loads(result.stdout[: result.stdout.rindex("}") + 1])
    assert outcome["ok"] is True
    assert outcome["deadLetters"] == {"rule-dlq": 0, "email-dlq": 0, "feedback-dlq": 0}
    templates = {p.parent.name for p in (PROJECT_DIR / "templates").glob("[!_]*/metadata.json")}
    delivered = {e["template"] for e in outcome["emails"] if e["to"].startswith("success@")}
    assert delivered == templates
    assert [e["email_id"] for e in outcome["emails"] if e["status"] != e["expected"]] == []
    assert {s["reason"] for s in outcome["suppression"]} == {
        "hard_bounce",
        "complaint",
        "soft_bounce",
    }
    # AND the outbox and the report are there for a person to open
    assert len(outcome["outbox"]) == len(templates) + 7  # 4 simulator boxes + 3 soft bounces
    assert "All done" in report.read_text()
