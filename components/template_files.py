"""Which files of a templates folder go to the bucket, under which key and with which Content-Type.

One set of rules for both writers of the template bucket: the Storage component uploading the
starter templates on `pulumi up`, and `sesmail templates push`/`rollback`. Pure Python, so the
command-line tools can import it without building anything.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path, PurePath, PurePosixPath

from .handlers.core.compiling import SHARED_FOLDER_PREFIX, TemplateMetadata
from .handlers.core.statuses import Category

TEMPLATE_PREFIX = "templates/"
"""Every template file lives under this bucket prefix: `templates/<name>/<file>`, and the shared
`templates/_layouts/...` and `templates/_partials/...`."""

_HIDDEN_PREFIXES = (".", "__")


def is_template_file(relative_path: PurePath) -> bool:
    """False for anything inside or named like a hidden or tool folder (`.git`, `.DS_Store`,
    `__pycache__`), given a path relative to the templates folder."""
    return not any(part.startswith(_HIDDEN_PREFIXES) for part in relative_path.parts)


def content_type(name: str) -> str:
    """The Content-Type to store a template file with, from its file name or bucket key; text
    types say UTF-8, the encoding the sender reads them in."""
    guessed, _ = mimetypes.guess_type(PurePosixPath(name).name)
    text = guessed or "application/octet-stream"
    return f"{text}; charset=utf-8" if text.startswith("text/") else text


def marketing_templates(folder: Path) -> dict[str, TemplateMetadata]:
    """The templates in `folder` that are marketing mail: name → metadata, sorted by name."""
    found = {}
    for metadata_file in sorted(folder.glob("*/metadata.json")):
        name = metadata_file.parent.name
        if name.startswith(SHARED_FOLDER_PREFIX) or not is_template_file(PurePath(name)):
            continue
        metadata = TemplateMetadata.model_validate_json(metadata_file.read_text(encoding="utf-8"))
        if metadata.category is Category.MARKETING:
            found[name] = metadata
    return found
