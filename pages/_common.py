"""The shared widgets of the web UI under one name (``from pages import _common as ui``).

Each concern lives in its own module; this one re-exports the widgets most pages use (the sample
view and the filter bar are imported from their modules):

- ``_frame``: app.py's frame (``ensure_frame``), the sign-in and acting user, the project picker
- ``_errors``: the error box and one-shot messages
- ``_text``: teacher text shown inert, durations, taxonomy trees
- ``_jobs_panel``: the live job panel
- ``_forms``: pydantic-bounded number inputs, the prompt template editor
- ``_sample_view``: one sample (meta line, body, scores, provenance)
- ``_filters``: the filter bar of sample lists
"""

from __future__ import annotations

from lumina.web.safe_markdown import escape_inline, inline_code, to_safe_markdown
from pages._errors import flash, show_errors, show_flash
from pages._forms import number_field, template_editor
from pages._frame import (
    APP_FILE, NO_PROJECT, PROJECT_KEY, REVIEWER_KEY, app_frame, can, current_actor, current_project,
    current_reviewer, ensure_frame, hide_bugs, logged_in_user, project_picker, require_project,
    select_project, sign_in, signed_in_box,
)
from pages._jobs_panel import ACTIVE, job_panel, live_jobs, status_badge
from pages._text import duration, safe_text, tree_markdown

__all__ = [
    "ACTIVE", "APP_FILE", "NO_PROJECT", "PROJECT_KEY", "REVIEWER_KEY", "app_frame", "can", "current_actor",
    "current_project", "current_reviewer", "duration", "ensure_frame", "escape_inline", "flash",
    "hide_bugs", "inline_code", "job_panel", "live_jobs", "logged_in_user", "number_field", "project_picker",
    "require_project", "safe_text", "select_project", "show_errors", "show_flash", "sign_in",
    "signed_in_box", "status_badge", "template_editor", "to_safe_markdown", "tree_markdown",
]
