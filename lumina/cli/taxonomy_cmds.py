"""lumina taxonomy show | add | rename | move | delete | set | details | import | suggest | expand"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from lumina.cli.common import echo_json, err, job_line, wait_and_report

app = typer.Typer(help="A project's taxonomy: edit the tree, import outlines, let the teacher expand it.",
                  no_args_is_help=True)


@app.command("show")
def show(name: str, yaml_out: bool = typer.Option(False, "--yaml", help="print the taxonomy as YAML"),
         json_out: bool = typer.Option(False, "--json", help="one JSON object per node")) -> None:
    """The tree with generated / approved sample counts per node."""
    from lumina.taxonomy import edit as taxonomy_edit
    from lumina.web import queries as ui_queries

    if yaml_out:
        typer.echo(taxonomy_edit.load(name).to_yaml(), nl=False)
        return
    for r in ui_queries.node_table(name):
        if json_out:
            echo_json(r)
        else:
            typer.echo(f"{'  ' * r['depth']}{r['name']}  [{r['generated']} generated, {r['approved']} approved"
                       + (f", weight {r['weight']:g}" if r["weight"] not in (None, 1.0) else "") + "]")


@app.command("add")
def add(name: str, node: str = typer.Argument(..., help="the new node's name"),
        under: Optional[str] = typer.Option(None, help="parent path, e.g. 'Physics > Optics' (default: top level)"),
        description: Optional[str] = typer.Option(None), weight: float = typer.Option(1.0)) -> None:
    """Add a node."""
    from lumina.taxonomy import edit as taxonomy_edit

    typer.echo(f"added {taxonomy_edit.add_node(name, under, node, description, weight)}")


@app.command("rename")
def rename(name: str, path: str, new_name: str) -> None:
    """Rename a node; its subtree and its samples follow."""
    from lumina.taxonomy import edit as taxonomy_edit

    typer.echo(f"renamed to {taxonomy_edit.rename_node(name, path, new_name)}")


@app.command("move")
def move(name: str, path: str,
         under: Optional[str] = typer.Option(None, help="new parent path (default: top level)")) -> None:
    """Move a node (with its subtree) under another node."""
    from lumina.taxonomy import edit as taxonomy_edit

    typer.echo(f"moved to {taxonomy_edit.move_node(name, path, under)}")


@app.command("delete")
def delete(name: str, path: str) -> None:
    """Delete a node and its subtree (its samples stay, outside the taxonomy)."""
    from lumina.taxonomy import edit as taxonomy_edit

    typer.echo(f"deleted {taxonomy_edit.delete_node(name, path)} node(s)")


@app.command("set")
def set_(name: str, path: str, weight: Optional[float] = typer.Option(None),
         description: Optional[str] = typer.Option(None)) -> None:
    """Change a node's weight or description."""
    from lumina.taxonomy import edit as taxonomy_edit

    taxonomy_edit.update_node(name, path, description, weight)
    typer.echo(f"updated {path}")


@app.command("details")
def details(name: str, title: Optional[str] = typer.Option(None, "--name", help="the taxonomy's name"),
            description: Optional[str] = typer.Option(None),
            task_types: Optional[str] = typer.Option(None, help="comma-separated"),
            difficulty: Optional[str] = typer.Option(None, help="comma-separated"),
            personas: Optional[str] = typer.Option(None, help="comma-separated ('' for none)")) -> None:
    """Set the taxonomy's name, description, task types, difficulty levels and personas."""
    from lumina.taxonomy import edit as taxonomy_edit

    def split(v):
        return None if v is None else [x.strip() for x in v.split(",")]

    taxonomy_edit.set_details(name, title, description, split(task_types), split(difficulty), split(personas))
    tree = taxonomy_edit.load(name)
    typer.echo(f"task types: {', '.join(tree.task_types)}; difficulty: {', '.join(tree.difficulty)}; "
               f"personas: {', '.join(tree.personas) or '-'}")


@app.command("import")
def import_(name: str, path: Path,
            outline: bool = typer.Option(False, "--outline", help="a plain outline (markdown list, headings, "
                                                                 "table of contents) rather than YAML"),
            under: Optional[str] = typer.Option(None, help="outline: add below this node"),
            replace: bool = typer.Option(False, "--replace", help="outline: start a new tree")) -> None:
    """Replace the taxonomy with a YAML file, or add an outline's nodes."""
    from lumina.taxonomy import edit as taxonomy_edit
    from lumina.io.textfiles import read_text

    text = read_text(path)
    is_outline = outline or path.suffix.lower() not in (".yaml", ".yml")
    if is_outline:
        n = taxonomy_edit.import_outline(name, text, under=under, replace=replace, where=str(path))
        typer.echo(f"added {n} nodes from {path}")
    else:
        tree = taxonomy_edit.replace_from_yaml(name, text, where=str(path))
        typer.echo(f"taxonomy replaced: {len(tree.leaves())} leaves")


@app.command("suggest")
def suggest(name: str, node: str = typer.Option("", help="the node to propose sub-topics for ('' = top level)"),
            n: int = typer.Option(5, help="how many"), seed: int = typer.Option(0),
            teacher: Optional[str] = typer.Option(None, help="teacher spec (default: the project's)"),
            accept: bool = typer.Option(False, "--accept", help="add every proposal to the tree"),
            json_out: bool = typer.Option(False, "--json")) -> None:
    """The teacher proposes sub-topics for a node; --accept adds them."""
    from lumina import jobs
    from lumina.taxonomy import expand as taxonomy_expand
    from lumina.errors import TeacherError

    out = taxonomy_expand.suggest(name, node, n, seed, teacher)
    if not isinstance(out, taxonomy_expand.Suggestion):
        job = jobs.wait(out.id, on_update=lambda j: err(job_line(j)))
        if job.status != "done" or not job.result:
            raise TeacherError(f"The teacher could not propose sub-topics: {job.error or job.status}")
        out = taxonomy_expand.Suggestion.from_dict(job.result["suggestions"][0])
    if json_out:
        echo_json(out.to_dict())
    else:
        for p in out.proposals:
            typer.echo(f"- {p.name}" + (f": {p.description}" if p.description else ""))
    if out.error:
        err(f"error: {out.error}")
        raise typer.Exit(1)
    if accept:
        typer.echo(f"added {taxonomy_expand.accept(name, node, out.proposals)} nodes under {node or 'the top level'}")


@app.command("expand")
def expand(name: str, depth: int = typer.Option(..., help="grow every leaf until the tree is this deep"),
           n: int = typer.Option(4, help="sub-topics per node"), seed: int = typer.Option(0),
           under: Optional[str] = typer.Option(None, help="only this node's subtree"),
           teacher: Optional[str] = typer.Option(None, help="teacher spec (default: the project's)"),
           wait: bool = typer.Option(False, "--wait"), json_out: bool = typer.Option(False, "--json")) -> None:
    """Expand the whole tree to a depth, as a background job (prints its id)."""
    from lumina.taxonomy import expand as taxonomy_expand

    job = taxonomy_expand.expand_tree(name, depth, n, seed, teacher, under)
    if not wait:
        echo_json(job.to_json()) if json_out else typer.echo(job.id)
        return
    raise typer.Exit(wait_and_report(job.id, json_out))
