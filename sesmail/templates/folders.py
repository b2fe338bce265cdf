"""Reading a templates folder: one template's files, the template names, and every file a push
uploads (a template with the shared `_layouts/` and `_partials/` it extends)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sesmailengine.handlers.core.compiling import (
    SHARED_FOLDER_PREFIX,
    SharedFileLoader,
    TemplateEnvironments,
)
from sesmailengine.template_files import TEMPLATE_PREFIX, is_template_file

from .errors import TemplateToolError


@dataclass(frozen=True)
class TemplateFolder:
    """One template's files as read from disk."""

    name: str
    html: str
    text: str | None
    metadata_json: str

    @classmethod
    def read(cls, root: Path, name: str) -> TemplateFolder:
        folder = root / name
        if name.startswith(SHARED_FOLDER_PREFIX):
            raise TemplateToolError(f"{name}: folders starting with '_' hold shared files")
        if not folder.is_dir():
            raise TemplateToolError(f"no template {name!r} in {root}")
        missing = [f for f in ("template.html", "metadata.json") if not (folder / f).is_file()]
        if missing:
            raise TemplateToolError(f"{name}: {', '.join(missing)} missing")
        text_file = folder / "template.txt"
        return cls(
            name=name,
            html=(folder / "template.html").read_text(encoding="utf-8"),
            text=text_file.read_text(encoding="utf-8") if text_file.is_file() else None,
            metadata_json=(folder / "metadata.json").read_text(encoding="utf-8"),
        )


def template_names(root: Path) -> list[str]:
    """Every template folder under `root` (those holding a `metadata.json`), sorted."""
    return sorted(
        path.parent.name
        for path in root.glob("*/metadata.json")
        if not path.parent.name.startswith((SHARED_FOLDER_PREFIX, "."))
    )


def local_environments(root: Path) -> TemplateEnvironments:
    """Jinja environments whose shared files come from `root` (never cached)."""

    def fetch(path: str) -> str | None:
        file = root / path
        return file.read_text(encoding="utf-8") if file.is_file() else None

    return TemplateEnvironments(SharedFileLoader(fetch, ttl_seconds=0, clock=lambda: 0.0))


def local_files(root: Path, names: Iterable[str] | None = None) -> dict[str, Path]:
    """Bucket key → local file, for the named templates (all when None) and every shared file
    (a template is not complete without the layouts it extends)."""
    wanted = list(names) if names else template_names(root)
    files: dict[str, Path] = {}
    folders = [root / name for name in wanted] + [
        path
        for path in sorted(root.iterdir())
        if path.is_dir()
        and path.name.startswith(SHARED_FOLDER_PREFIX)
        and path.name != "__pycache__"
    ]
    for folder in folders:
        if not folder.is_dir():
            raise TemplateToolError(f"no template folder {folder}")
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(root)
            if path.is_file() and is_template_file(relative):
                files[TEMPLATE_PREFIX + relative.as_posix()] = path
    return files
