"""Template tooling: what `sesmail templates validate|preview|push|history|rollback` runs.

The functions take folders, names and an S3 client, and print nothing. Rendering uses the
sender's own code (`sesmailengine.handlers.core`): the same Jinja2 sandbox, the same shared-file
loader (reading `_layouts/` and `_partials/` from the local folder instead of S3), the same CSS
inlining, so a preview is what a recipient gets.

A template folder is `templates/<name>/` with `template.html`, `template.txt` (optional) and
`metadata.json`; top-level folders whose name starts with `_` hold shared files and are not
templates. In the bucket everything lives under `templates/` (`sesmailengine.template_files`,
the rules the Storage component uploads the starter templates by).

One module per job, each importing only the ones above it:

    errors.py     TemplateToolError
    folders.py    reading a templates folder: TemplateFolder, template_names, local_files
    preview.py    render_template (as the sender would), write_preview, Chromium screenshots
    validate.py   validate_template / validate_all: schema, variables, shared files, sampleData
    revisions.py  history, resolve_revision, plan_rollback / rollback, the revision stamp
    publish.py    plan_push (a diff against the bucket) / push

The names below are the documented library surface (docs/templates.md); the command line and
the tests import from the modules themselves.
"""

from .errors import TemplateToolError
from .preview import render_template, write_preview
from .publish import plan_push, push
from .revisions import history, plan_rollback, rollback
from .validate import validate_template

__all__ = [
    "TemplateToolError",
    "history",
    "plan_push",
    "plan_rollback",
    "push",
    "render_template",
    "rollback",
    "validate_template",
    "write_preview",
]
