"""Publish a version to the Hugging Face Hub (owners only)."""

from __future__ import annotations


from lumina import access
from lumina.datasets.versions import SPLITS, version_rows
from lumina.datasets.export import _export_row
from lumina.datasets.card import card
from lumina.errors import InvalidInputError


@access.requires("owner", action="publish a version")
def push_to_hub(project: str, name: str, repo_id: str, token: str | None = None, private: bool = True) -> str:
    """Upload the version (train/eval splits and the card) to the Hugging Face Hub."""
    import os

    import datasets as hf
    from huggingface_hub import DatasetCard

    if os.environ.get("HF_HUB_OFFLINE") == "1":
        raise InvalidInputError("Pushing needs the network, but HF_HUB_OFFLINE=1 is set here. "
                                "Export the version and upload it from a machine with access.")
    token = token or os.environ.get("HF_TOKEN")
    if not token:
        raise InvalidInputError("Pushing needs a Hugging Face token: pass --token or set HF_TOKEN.")
    rows = version_rows(project, name)
    dd = hf.DatasetDict({s: hf.Dataset.from_list([_export_row(r) for r in rows if r.split == s])
                         for s in SPLITS if any(r.split == s for r in rows)})
    dd.push_to_hub(repo_id, token=token, private=private)
    DatasetCard(card(project, name)).push_to_hub(repo_id, token=token, repo_type="dataset")
    return f"https://huggingface.co/datasets/{repo_id}"
