"""`sesmail templates`: validate, preview, push with a diff, history, rollback (S3 in moto)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws

from sesmail.cli import main
from sesmail.templates.preview import find_chromium, write_preview
from sesmail.templates.publish import plan_push, push
from sesmail.templates.revisions import Restore, history, plan_rollback, rollback
from sesmail.templates.validate import validate_template

STARTERS = Path(__file__).resolve().parents[1] / "templates"
BUCKET = "templates-bucket"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of the starter templates to edit."""
    folder = tmp_path / "templates"
    shutil.copytree(STARTERS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def write_template(root: Path, name: str, html: str, text: str | None = None, **meta) -> None:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "template.html").write_text(html)
    if text is not None:
        (folder / "template.txt").write_text(text)
    meta.setdefault("subject", "Hello")
    (folder / "metadata.json").write_text(json.dumps(meta))


# --- validate ------------------------------------------------------------------------------


def test_a_variable_used_but_not_declared_is_rejected(root: Path):
    write_template(
        root, "promo", "{{ name }} {{ coupon }}", "{{ name }}", requiredVariables=["name"],
        sampleData={"name": "Ada"},
    )  # fmt: skip
    problems = validate_template(root, "promo").problems
    assert problems == [
        "uses 'coupon', which is in neither requiredVariables nor optionalVariables",
        "does not render with its sampleData: promo: missing variable: coupon",
    ]


def test_a_variable_declared_but_never_used_is_rejected(root: Path):
    write_template(
        root, "promo", "{{ name }}", "{{ name }}", requiredVariables=["name"],
        optionalVariables=["coupon"], sampleData={"name": "Ada"},
    )  # fmt: skip
    assert validate_template(root, "promo").problems == ["declares 'coupon' but never uses it"]


def test_variables_used_by_a_layout_count_and_engine_variables_need_no_declaration(root: Path):
    (root / "_layouts" / "promo.html").write_text(
        "{{ brand.name }} {{ currentYear }} {{ campaign }}{% block content %}{% endblock %}"
    )
    write_template(
        root, "promo", '{% extends "_layouts/promo.html" %}{% block content %}x{% endblock %}',
        "x", sampleData={"campaign": "spring"},
    )  # fmt: skip
    problems = validate_template(root, "promo").problems
    assert problems[0] == (
        "uses 'campaign', which is in neither requiredVariables nor optionalVariables"
    )


def test_a_template_that_fails_with_its_own_sample_data_is_rejected(root: Path):
    write_template(
        root, "promo", "{{ price / 0 }}", "x", requiredVariables=["price"],
        sampleData={"price": 3},
    )  # fmt: skip
    [problem] = validate_template(root, "promo").problems
    assert problem.startswith("does not render with its sampleData")
    assert "ZeroDivisionError" in problem


def test_metadata_is_checked_against_its_schema(root: Path):
    write_template(
        root, "promo", "x", "x", category="spam", requiredVariable=["x"], sampleData={"a": 1}
    )
    problems = validate_template(root, "promo").problems
    assert "metadata.json requiredVariable: unknown key" in problems
    assert any(p.startswith("metadata.json category:") for p in problems)


def test_a_missing_layout_and_missing_sample_data_are_reported(root: Path):
    write_template(root, "promo", '{% extends "_layouts/nope.html" %}', "x")
    problems = validate_template(root, "promo").problems
    assert any("shared file '_layouts/nope.html' not found" in p for p in problems)


def test_validate_command_exits_1_and_names_each_problem(root: Path):
    write_template(root, "promo", "{{ x }}", "x", sampleData={"y": 1})
    result = CliRunner().invoke(main, ["templates", "validate", "--dir", str(root)])
    assert result.exit_code == 1
    assert "ok    welcome" in result.output
    assert "FAIL  promo" in result.output
    assert "uses 'x'" in result.output


# --- preview -------------------------------------------------------------------------------


def test_preview_writes_the_rendered_html_and_text(root: Path, tmp_path: Path):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["templates", "preview", "welcome", "--dir", str(root), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    html = (out / "welcome.html").read_text()
    assert "Welcome, Ada!" in html and 'style="' in html
    assert (out / "welcome.txt").read_text().startswith("Subject: Welcome to Example, Ada!")


def test_png_without_chromium_says_how_to_install_it(root, tmp_path, monkeypatch):
    monkeypatch.setattr("sesmail.cli.templates.find_chromium", lambda: None)
    result = CliRunner().invoke(
        main,
        ["templates", "preview", "welcome", "--png", "--dir", str(root), "--out", str(tmp_path)],
    )
    assert result.exit_code == 0
    assert "apt-get install chromium" in result.output
    assert (tmp_path / "welcome.html").is_file()
    assert not list(tmp_path.glob("*.png"))


@pytest.mark.browser  # renders in headless Chromium (`make builds`)
@pytest.mark.skipif(find_chromium() is None, reason="headless Chromium is not installed")
def test_png_screenshots_at_desktop_and_mobile_width(root: Path, tmp_path: Path):
    files = write_preview(root, "login-code", tmp_path, png=True)
    sizes = {}
    for shot in files.screenshots:
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        sizes[shot.name] = int.from_bytes(data[16:20], "big")  # IHDR width
    assert sizes == {"login-code-desktop.png": 1024, "login-code-mobile.png": 375}


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")  # IHDR


@pytest.mark.browser  # renders in headless Chromium (`make builds`)
@pytest.mark.skipif(find_chromium() is None, reason="headless Chromium is not installed")
def test_png_captures_the_whole_of_a_long_email(root: Path, tmp_path: Path):
    # GIVEN a newsletter with twelve articles, far longer than one screen
    sample = json.loads((root / "newsletter" / "metadata.json").read_text())["sampleData"]
    article = {"title": "A story", "summary": "What happened.", "url": "https://x.example/a"}
    data = {**sample, "articles": [article] * 12}
    # WHEN it is previewed as PNG
    files = write_preview(root, "newsletter", tmp_path, data, png=True)
    # THEN each screenshot is as tall as the page, down to the footer
    heights = {shot.name: png_size(shot)[1] for shot in files.screenshots}
    assert all(height > 1600 for height in heights.values()), heights


@pytest.mark.browser  # renders in headless Chromium (`make builds`)
@pytest.mark.skipif(find_chromium() is None, reason="headless Chromium is not installed")
def test_png_of_a_short_email_is_not_padded_to_a_fixed_height(root: Path, tmp_path: Path):
    files = write_preview(root, "login-code", tmp_path, png=True)
    desktop = next(shot for shot in files.screenshots if shot.name.endswith("-desktop.png"))
    assert 400 < png_size(desktop)[1] < 1600


# --- push, history, rollback ---------------------------------------------------------------


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield client


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"templateBucketName": BUCKET}))
    return path


def cli(outputs: Path, *args: str, input: str | None = None):
    return CliRunner().invoke(main, ["--outputs", str(outputs), "templates", *args], input=input)


def body(s3, key: str) -> str:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()


def test_push_uploads_a_template_with_the_shared_files(s3, root: Path):
    plan = plan_push(s3, BUCKET, root, ["welcome"])
    assert {c.key for c in plan.pending} >= {
        "templates/welcome/template.html",
        "templates/welcome/metadata.json",
        "templates/_layouts/base.html",
        "templates/_partials/footer.html",
    }
    assert all(c.kind == "added" for c in plan.pending)
    push(s3, plan)
    head = s3.head_object(Bucket=BUCKET, Key="templates/welcome/template.html")
    assert head["ContentType"] == "text/html; charset=utf-8"
    assert plan_push(s3, BUCKET, root, ["welcome"]).pending == []


def test_push_shows_the_diff_before_uploading(s3, root: Path, outputs: Path):
    assert cli(outputs, "push", "welcome", "--dir", str(root), "--yes").exit_code == 0
    html = root / "welcome" / "template.html"
    html.write_text(html.read_text().replace("Welcome, {{ firstName }}!", "Hello {{ firstName }}!"))
    # WHEN the user pushes and declines at the prompt
    result = cli(outputs, "push", "welcome", "--dir", str(root), input="n\n")
    # THEN the diff was shown and nothing was uploaded
    assert "changed templates/welcome/template.html" in result.output
    assert "-<h1>Welcome, {{ firstName }}!</h1>" in result.output
    assert "+<h1>Hello {{ firstName }}!</h1>" in result.output
    assert result.exit_code == 1
    assert "Welcome, {{ firstName }}!" in body(s3, "templates/welcome/template.html")
    # ... and accepting uploads it
    result = cli(outputs, "push", "welcome", "--dir", str(root), input="y\n")
    assert result.exit_code == 0, result.output
    assert "Hello {{ firstName }}!" in body(s3, "templates/welcome/template.html")


def test_push_refuses_an_invalid_template(s3, root: Path, outputs: Path):
    write_template(root, "promo", "{{ x }}", "x", sampleData={"y": 1})
    result = cli(outputs, "push", "promo", "--dir", str(root), "--yes")
    assert result.exit_code == 1
    assert "fix the templates above" in result.output
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)


def test_history_lists_one_revision_per_push(s3, root: Path, outputs: Path):
    cli(outputs, "push", "welcome", "--dir", str(root), "--yes")
    (root / "welcome" / "template.txt").write_text(
        (root / "welcome" / "template.txt").read_text() + "\nP.S. hello\n"
    )
    cli(outputs, "push", "welcome", "--dir", str(root), "--yes")
    revisions = history(s3, BUCKET, "welcome")
    assert [r.number for r in revisions] == [1, 2]
    assert [v.key.rsplit("/", 1)[1] for v in revisions[0].files] == [
        "metadata.json",
        "template.html",
        "template.txt",
    ]
    assert [v.key for v in revisions[1].files] == ["templates/welcome/template.txt"]
    result = cli(outputs, "history", "welcome")
    assert result.exit_code == 0
    assert "  2  " in result.output and "template.txt  (current)" in result.output


def test_rollback_restores_an_earlier_revision_as_a_new_version(s3, root: Path, outputs: Path):
    cli(outputs, "push", "welcome", "--dir", str(root), "--yes")
    original = body(s3, "templates/welcome/template.html")
    (root / "welcome" / "template.html").write_text(original.replace("Welcome,", "Hey,"))
    cli(outputs, "push", "welcome", "--dir", str(root), "--yes")
    assert "Hey," in body(s3, "templates/welcome/template.html")
    # WHEN rolled back to revision 1
    result = cli(outputs, "rollback", "welcome", "--to", "1", "--yes")
    # THEN the file is as it was, written as a new version (so it shows in history)
    assert result.exit_code == 0, result.output
    assert body(s3, "templates/welcome/template.html") == original
    revisions = history(s3, BUCKET, "welcome")
    assert len(revisions) == 3
    assert [v.key for v in revisions[2].files] == ["templates/welcome/template.html"]


def test_rollback_deletes_a_file_that_did_not_exist_then(s3, root: Path):
    (root / "welcome" / "template.txt").unlink()
    push(s3, plan_push(s3, BUCKET, root, ["welcome"]))
    (root / "welcome" / "template.txt").write_text("Welcome {{ firstName }}")
    push(s3, plan_push(s3, BUCKET, root, ["welcome"]))
    revisions = history(s3, BUCKET, "welcome")
    restores = plan_rollback(revisions, revisions[0])
    assert restores == [Restore("templates/welcome/template.txt", None)]
    rollback(s3, BUCKET, restores)
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="templates/welcome/")["Contents"]
    assert "templates/welcome/template.txt" not in {item["Key"] for item in listed}


def test_rollback_to_an_unknown_revision_is_refused(s3, root: Path, outputs: Path):
    cli(outputs, "push", "welcome", "--dir", str(root), "--yes")
    result = cli(outputs, "rollback", "welcome", "--to", "9", "--yes")
    assert result.exit_code == 1
    assert "no revision '9'; this template has revisions 1" in result.output
