"""Read helpers shaped for the web pages (and usable from the CLI): one connection per call,
plain data out. SQL stays in ``lumina.store``; this module only combines its results."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lumina.config import examples_dir
from lumina.records import Project, Sample, SampleFilter
from lumina.store import connect
from lumina.store import projects as store_projects
from lumina.store import samples as store_samples
from lumina.store import ui as store_ui
from lumina.taxonomy.tree import SEP

OUTSIDE_TAXONOMY = "(not in the taxonomy)"


def count_matching(project: str, filt: SampleFilter) -> int:
    """How many samples match a ``SampleFilter`` (``lumina.store.filters``, as every list)."""
    with connect() as con:
        p = store_projects.get(con, project)
        return store_samples.count_filtered(con, p.id, filt)


def sample(project: str, sample_id: int) -> Sample | None:
    """One sample with its scores and flags, if it belongs to ``project``."""
    with connect() as con:
        p = store_projects.get(con, project)
        s = store_samples.get(con, sample_id)
    return s if s and s.project_id == p.id else None


def status_counts(project: str) -> dict[str, int]:
    with connect() as con:
        p = store_projects.get(con, project)
        return store_ui.status_counts(con, p.id)


def flag_counts(project: str) -> dict[str, int]:
    with connect() as con:
        p = store_projects.get(con, project)
        return store_ui.flag_counts(con, p.id)


def node_paths(project: str) -> list[str]:
    """Taxonomy paths in tree order, then any other paths samples carry."""
    with connect() as con:
        p = store_projects.get(con, project)
        return _node_paths(con, p.id)


def _node_paths(con, project_id: int) -> list[str]:
    tree = [n["path"] for n in store_projects.nodes(con, project_id)]
    known = set(tree)
    return tree + [u for u in store_ui.sample_node_paths(con, project_id) if u not in known]


@dataclass
class FilterChoices:
    """What a filter bar offers for one project, read in one connection."""

    statuses: dict[str, int]   # samples per status
    nodes: list[str]           # taxonomy paths in tree order, then other paths samples carry
    flags: dict[str, int]      # samples per flag, most common first
    metrics: list[str]         # 'scorer.metric' names with values


def filter_choices(project: str) -> FilterChoices:
    with connect() as con:
        p = store_projects.get(con, project)
        return FilterChoices(statuses=store_ui.status_counts(con, p.id), nodes=_node_paths(con, p.id),
                             flags=store_ui.flag_counts(con, p.id),
                             metrics=store_samples.metric_names(con, p.id))


def node_table(project: str) -> list[dict[str, Any]]:
    """The taxonomy tree as rows with sample counts; a node counts its descendants' samples too.

    Samples whose node is not in the tree are summed into one extra row.
    """
    with connect() as con:
        p = store_projects.get(con, project)
        nodes = store_projects.nodes(con, p.id)
        counts = store_samples.counts_by_node(con, p.id)
    paths = {n["path"] for n in nodes}
    parents = {n["parent_path"] for n in nodes if n.get("parent_path")}
    rows = []
    for n in nodes:
        path = n["path"]
        gen = appr = 0
        for node_path, c in counts.items():
            if node_path == path or node_path.startswith(path + SEP):
                gen += c["generated"]
                appr += c["approved"]
        rows.append({
            "path": path, "name": n["name"], "depth": path.count(SEP),
            "description": n.get("description"), "weight": n.get("weight"),
            "leaf": path not in parents, "generated": gen, "approved": appr,
        })
    other = [c for node_path, c in counts.items() if node_path not in paths
             and not any(node_path.startswith(q + SEP) for q in paths)]
    if other:
        rows.append({
            "path": OUTSIDE_TAXONOMY, "name": OUTSIDE_TAXONOMY, "depth": 0, "description": None,
            "weight": None, "leaf": True, "generated": sum(c["generated"] for c in other),
            "approved": sum(c["approved"] for c in other),
        })
    return rows


def projects_by_id() -> dict[int, Project]:
    with connect() as con:
        return {p.id: p for p in store_projects.list_all(con)}


def example_taxonomies() -> list[Path]:
    """The example taxonomy files shipped in ``data/examples``."""
    folder = examples_dir()
    return sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")) if folder.is_dir() else []


def filtered_page(project: str, filt: SampleFilter, limit: int = 50, offset: int = 0) -> tuple[list[Sample], int]:
    """One page of samples matching a ``SampleFilter`` (flags and score ranges too), and the total."""
    with connect() as con:
        p = store_projects.get(con, project)
        return (store_samples.list_filtered(con, p.id, filt, limit, offset),
                store_samples.count_filtered(con, p.id, filt))


def metric_names(project: str) -> list[str]:
    with connect() as con:
        p = store_projects.get(con, project)
        return store_samples.metric_names(con, p.id)


def metric_values(project: str) -> dict[str, list[float]]:
    """Every value of every 'scorer.metric' in the project (for distributions)."""
    from lumina.store import quality as store_quality

    with connect() as con:
        p = store_projects.get(con, project)
        return store_quality.all_metric_values(con, p.id)
