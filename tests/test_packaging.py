"""The project installs as a wheel that another Pulumi program can import."""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from sesmailengine import EmailEngine
from wheel_support import PROJECT_DIR, build_wheel, venv_with_wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.mark.build  # builds the wheel (`make builds`)
def test_wheel_carries_every_component_handler_and_starter_template(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {
        "components": "sesmailengine",
        "handlers": "sesmailengine/handlers",
        "templates": "sesmailengine/templates",
        "sesmail": "sesmail",
    }
    for folder, package in sources.items():
        files = [
            p
            for p in (PROJECT_DIR / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
        ]
        assert files, folder
        for path in files:
            relative = path.relative_to(PROJECT_DIR / folder).as_posix()
            assert f"{package}/{relative}" in names, relative


@pytest.mark.build  # builds the wheel (`make builds`)
def test_installed_wheel_imports_the_engine_and_finds_its_lambda_code(wheel, tmp_path):
    # GIVEN a fresh venv holding only the wheel (dependencies come from the test environment)
    fresh = venv_with_wheel(wheel, tmp_path / "venv")
    python, site = fresh.python, fresh.site

    # WHEN another program imports it, from a folder that has no source tree
    probe = """
import json
from sesmailengine import EmailEngine, EngineSettings
from sesmailengine.artifact import HANDLERS_PACKAGE, TEMPLATES_PACKAGE, package_folder
import sesmailengine.handlers.email_sender as sender
from sesmail.client import EmailClient
handlers, templates = package_folder(HANDLERS_PACKAGE), package_folder(TEMPLATES_PACKAGE)
print(json.dumps({
    "engine": EmailEngine.__module__,
    "root": str(handlers.parent),
    "sender": sender.__file__,
    "welcome": (templates / "welcome" / "metadata.json").is_file(),
    "requirements": (handlers / "requirements.txt").is_file(),
    "settings": EngineSettings(default_sender_email="a@example.com").batch_size,
    "models": EmailClient.__init__.__globals__["EmailRequest"].__module__,
}))
"""
    result = subprocess.run(
        [str(python), "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=False
    )

    # THEN it loads from the venv and finds handlers, their lock file and the templates
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["engine"] == "sesmailengine.engine"
    assert found["root"].startswith(str(site))
    assert found["sender"].startswith(str(site))
    assert found["welcome"] is True
    assert found["requirements"] is True
    assert found["settings"] == 10
    # The command's code finds the handlers under their installed name.
    assert found["models"] == "sesmailengine.handlers.core.models"


def test_the_readme_names_every_attribute_of_the_engine():
    # GIVEN the attributes the README's import section lists
    readme = (PROJECT_DIR / "README.md").read_text()
    section = readme.split("- **Attributes.**", 1)[1].split("\n- **", 1)[0]
    documented = set(re.findall(r"`([a-z][a-z0-9_]*)`", section))

    # WHEN they are compared with the outputs EmailEngine declares
    declared = {
        name
        for name, annotation in EmailEngine.__annotations__.items()
        if "Output" in str(annotation)
    }

    # THEN each is documented, and nothing else is
    assert documented == declared
