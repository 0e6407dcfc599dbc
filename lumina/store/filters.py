"""The WHERE clause of every sample list, queue and bulk action (one place, so a filter means the
same thing on the Samples page, in the review table and in `lumina review --filter`)."""

from __future__ import annotations

from typing import Any

from lumina.records import SampleFilter
from lumina.taxonomy.tree import SEP  # joins node names into paths

# ILIKE treats % and _ in the pattern as wildcards: a search for "_" would match every sample
# (and `review reject --all-matching --search _` reject them all), so user text is escaped.
SEARCH_SQL = "({a}instruction ILIKE ? ESCAPE '\\' OR {a}response ILIKE ? ESCAPE '\\')"


def contains(text: str) -> str:
    """The ILIKE pattern (with SEARCH_SQL's escape character) matching ``text`` literally, anywhere."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def where(project_id: int, f: SampleFilter, alias: str = "") -> tuple[str, list[Any]]:
    a = f"{alias}." if alias else ""
    sql = f"{a}project_id = ?"
    params: list[Any] = [project_id]
    if f.status:
        sql += f" AND {a}status = ?"
        params.append(f.status)
    if f.node:
        sql += f" AND ({a}node_path = ? OR starts_with({a}node_path, ?))"
        params += [f.node, f.node + SEP]  # the node and its subtree
    if f.search and f.search.strip():
        sql += " AND " + SEARCH_SQL.format(a=a)
        params += [contains(f.search.strip())] * 2
    if f.flags:
        sql += f" AND {a}id IN (SELECT sample_id FROM flags WHERE flag IN (SELECT unnest(?)))"
        params.append(list(f.flags))
    if f.without_flags:
        sql += f" AND {a}id NOT IN (SELECT sample_id FROM flags)"
    for metric, low, high in f.score_ranges:
        scorer, _, name = metric.partition(".")
        cond = "scorer = ? AND metric = ? AND value IS NOT NULL"
        extra: list[Any] = [scorer, name]
        if low is not None:
            cond += " AND value >= ?"
            extra.append(low)
        if high is not None:
            cond += " AND value <= ?"
            extra.append(high)
        sql += f" AND {a}id IN (SELECT sample_id FROM scores WHERE {cond})"
        params += extra
    if f.ids is not None:
        sql += f" AND {a}id IN (SELECT unnest(?))"
        params.append(list(f.ids))
    return sql, params
