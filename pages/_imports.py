"""The upload box pages share: pick a file (or several documents), import it into the project."""

from __future__ import annotations

import streamlit as st

from lumina import jobs
from lumina.config import settings
from lumina.io.uploads import submit_uploads
from pages import _common as ui

TYPES = {
    "samples": ["jsonl", "ndjson", "json", "csv", "tsv", "parquet"],
    "seeds": ["jsonl", "ndjson", "json", "csv", "tsv", "parquet"],
    "prompts": ["jsonl", "ndjson", "json", "csv", "tsv", "parquet"],
    "documents": ["txt", "md", "markdown", "rst", "pdf"],
    "evalset": ["jsonl", "ndjson", "json", "csv", "tsv", "parquet"],
}
HELP = {
    "samples": "Rows with a `messages` (or ShareGPT `conversations`) column, or instruction/response columns.",
    "seeds": "Seed tasks: an instruction column (instruction / prompt / question), optionally a response.",
    "prompts": "Prompts to answer anew: a `messages` column (multi-turn chats keep their user turns) or a prompt column.",
    "documents": "Text, Markdown or PDF files; they are cut into passages the teacher asks questions about.",
    "evalset": "A benchmark or held-out set: question/answer columns, multiple choice (choices + answer), "
               "chat messages or plain text. It is named after the file.",
}


def upload_limit_mb() -> int:
    """The one limit a browser upload meets, shown by every upload box: Lumina's own
    (LUMINA_MAX_UPLOAD_MB, which the library enforces on what it receives), capped by the server's
    ``server.maxUploadSize`` (which ``lumina serve`` sets to the same value). Streamlit shows its
    server's setting unless told, and that is 200 MB when the app starts without the repo's config."""
    return max(1, min(settings().max_upload_mb, int(st.get_option("server.maxUploadSize"))))


def import_box(project_name: str, kind: str, key: str) -> None:
    """An uploader with optional column names (or passage sizes) and an Import button."""
    round_key = f"{key}_round"  # a new uploader after each import, so the imported file is cleared
    with st.container(border=True):
        files = st.file_uploader(f"Import {kind}", type=TYPES[kind],
                                 key=f"{key}_file_{st.session_state.get(round_key, 0)}",
                                 accept_multiple_files=kind == "documents", help=HELP[kind],
                                 max_upload_size=upload_limit_mb())
        columns: dict[str, str] = {}
        chunk_chars = overlap = None
        if kind == "documents":
            c1, c2 = st.columns(2)
            chunk_chars = c1.number_input("Passage size (characters)", 200, 20_000, 1200, step=100,
                                          key=f"{key}_chunk")
            overlap = c2.number_input("Overlap (characters)", 0, 5_000, 150, step=50, key=f"{key}_overlap",
                                      help="Neighbouring passages share this much text, so no fact is cut in two.")
        else:
            with st.expander("Column names (only when Lumina does not find them)"):
                c = st.columns(4)
                for i, role in enumerate(("instruction", "response", "context", "messages")):
                    value = c[i].text_input(role.capitalize(), key=f"{key}_col_{role}", placeholder="auto")
                    if value.strip():
                        columns[role] = value.strip()
        chosen = files if isinstance(files, list) else ([files] if files else [])
        job_key = f"{key}_job::{project_name}"
        if st.button("Import", key=f"{key}_go", icon=":material/upload:", disabled=not chosen):
            with ui.show_errors():
                # A worker reads the files: a large PDF or table never occupies the web server.
                job = submit_uploads(project_name, kind, [(f.name, f.getvalue()) for f in chosen],
                                     columns=columns or None, chunk_chars=chunk_chars, overlap=overlap)
                st.session_state[job_key] = job.id
                st.session_state[round_key] = st.session_state.get(round_key, 0) + 1
                st.rerun()
        _import_outcome(job_key)


def _import_outcome(job_key: str) -> None:
    """The running import's panel; once it ends, its outcome beside the box (then forgotten)."""
    job_id = st.session_state.get(job_key)
    if job_id is None:
        return
    with ui.show_errors():
        job = jobs.get(job_id)
        if job.status in ui.ACTIVE:
            ui.live_jobs(lambda: [jobs.get(job_id)])
            return
        del st.session_state[job_key]
        result = job.result or {}
        if job.status == "done" and result:
            note = f" Skipped: {'; '.join(result['skipped'])}" if result.get("skipped") else ""
            st.success(ui.escape_inline(result["message"] + note), icon=":material/check_circle:")
        else:
            st.error(ui.escape_inline(job.error or f"The import {job.status}."), icon=":material/error:")
