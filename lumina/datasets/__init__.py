"""Dataset versions: freeze approved samples into an immutable, content-hashed version with a
train/eval split stratified by taxonomy node, optionally mixed with a general SFT dataset; diff
two versions; export them (with a dataset card) in the formats trainers read.

A version copies each row's text when it is frozen, so later edits and reviews never change it.
LuminaSFT found synthetic data alone did worse than a general SFT set and helped mixed with one;
``mix_ratio`` is the share of the *train* split that comes from the general set (eval stays
in-domain: the forgetting check uses an imported eval set instead).

The package root is its API: versions.py, diff.py, export.py, card.py, hub.py.
"""

from lumina.datasets.versions import (
    NAME_RE,
    SPLITS,
    row_hash,
    content_hash,
    check_name,
    stratified_split,
    MixSource,
    freeze,
    list_versions,
    get_version,
    version_rows,
    training_rows,
)
from lumina.datasets.diff import (
    VersionDiff,
    diff,
)
from lumina.datasets.export import (
    EXPORT_FORMATS,
    export_version,
    save_general_upload,
    export_folder,
    zip_folder,
)
from lumina.datasets.card import (
    card_facts,
    card,
)
from lumina.datasets.hub import (
    push_to_hub,
)

__all__ = [
    "NAME_RE",
    "SPLITS",
    "row_hash",
    "content_hash",
    "check_name",
    "stratified_split",
    "MixSource",
    "freeze",
    "list_versions",
    "get_version",
    "version_rows",
    "training_rows",
    "VersionDiff",
    "diff",
    "EXPORT_FORMATS",
    "export_version",
    "save_general_upload",
    "export_folder",
    "zip_folder",
    "card_facts",
    "card",
    "push_to_hub",
]
