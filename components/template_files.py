"""Which files of a templates folder go to the bucket, under which key and with which Content-Type.

One set of rules for both writers of the template bucket: the Storage component uploading the
starter templates on `pulumi up`, and `sesmail templates push`/`rollback`. Pure Python, so the
command-line tools can import it without building anything.
"""

from __future__ import annotations

import mimetypes
from pathlib import PurePath, PurePosixPath

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
