"""Editing a stored taxonomy (library and CLI), outline import, and per-project prompt templates."""

import json

import pytest

from lumina import prompts
from lumina.projects import samples
from lumina.taxonomy import edit as taxonomy_edit
from lumina.web import queries as ui_queries
from lumina.taxonomy import tree as tx
from lumina.taxonomy import ops
from lumina.config import examples_dir
from lumina.errors import InvalidInputError, NotFoundError
from lumina.taxonomy.outline import parse_outline
from lumina.projects import create_project, get
from lumina.records import NewSample
from lumina.store import connect
from tests.helpers import lumina

TEACHER = "transformers:smollm2-135m-instruct"
SEP = tx.SEP


def names(nodes, depth=0):
    out = []
    for n in nodes:
        out.append("  " * depth + n.name)
        out += names(n.children, depth + 1)
    return out


@pytest.mark.parametrize("text, expected", [
    ("- Physics\n  - Optics\n  - Mechanics\n    - Forces\n- Biology\n", 
     ["Physics", "  Optics", "  Mechanics", "    Forces", "Biology"]),
    ("Physics\n\tOptics\n\tMechanics\nBiology\n    Cells\n", ["Physics", "  Optics", "  Mechanics", "Biology", "  Cells"]),
    ("# Python\n## Data types\n- strings\n  - f-strings\n## Control flow\n# Tools\n- pip\n",
     ["Python", "  Data types", "    strings", "      f-strings", "  Control flow", "Tools", "  pip"]),
    ("Contents\n1. Introduction ........ 1\n1.1 What is Python ...... 2\n1.2 Installing\t5\n"
     "2. Syntax .... 10\n2.1 Variables .... 11\n2.1.1 Names .... 12\n3. Chapter 3: Functions ..... 20\n",
     ["Introduction", "  What is Python", "  Installing", "Syntax", "  Variables", "    Names", "Functions"]),
    ("* A\n* A\n  * x\n* a\n  * y\n", ["A", "  x", "  y"]),  # same-named siblings merge
    ("1. Intro\n1.1 Basics\n    - detail\n        - deeper\n1.2 Next\n2. Two\n",  # bullets under numbers nest
     ["Intro", "  Basics", "    detail", "      deeper", "  Next", "Two"]),
])
def test_outline_formats(text, expected):
    assert names(parse_outline(text)) == expected


def test_outline_rejects_junk():
    with pytest.raises(InvalidInputError, match="no outline lines"):
        parse_outline("\n\n   \n")
    with pytest.raises(InvalidInputError, match="line 2.*longer than"):
        parse_outline("Physics\n" + "word " * 60)
    with pytest.raises(InvalidInputError, match="line 1"):
        parse_outline("Physics > Optics\n")


def test_tree_operations_validate():
    t = tx.load(examples_dir() / "everyday-science.yaml")
    new = ops.add(t, "Physics", "Acoustics", "sound", 2)
    assert new == f"Physics{SEP}Acoustics" and ops.find(t, new).weight == 2
    with pytest.raises(InvalidInputError, match="already a node 'Acoustics'"):
        ops.add(t, "Physics", "acoustics")
    with pytest.raises(InvalidInputError, match="may not contain"):
        ops.add(t, None, "A > B")
    with pytest.raises(InvalidInputError, match="number >= 0"):
        ops.add(t, None, "Neg", weight=-1)
    with pytest.raises(InvalidInputError, match="own subtree"):
        ops.move(t, "Physics", f"Physics{SEP}Acoustics")
    with pytest.raises(NotFoundError):
        ops.rename(t, "Nope", "x")
    assert ops.move(t, f"Physics{SEP}Acoustics", "Biology", position=0) == f"Biology{SEP}Acoustics"
    assert ops.find(t, "Biology").children[0].name == "Acoustics"
    assert ops.delete(t, "Biology") >= 2
    with pytest.raises(NotFoundError):
        ops.find(t, "Biology")


def _sample(pid, node):
    with connect() as con:
        samples.write(con, pid, NewSample(mode="taxonomy", instruction="Why is the sky blue?", response="Rayleigh.",
                                          messages=[{"role": "user", "content": "Why is the sky blue?"},
                                                    {"role": "assistant", "content": "Rayleigh."}],
                                          node_path=node))


def test_stored_edits_carry_samples_along():
    p = create_project("sci", examples_dir() / "everyday-science.yaml", teacher=TEACHER)
    _sample(p.id, f"Physics{SEP}Optics")
    assert taxonomy_edit.rename_node("sci", "Physics", "Physical science") == "Physical science"
    counts = {r["path"]: r["generated"] for r in ui_queries.node_table("sci")}
    assert counts["Physical science"] == 1 and counts[f"Physical science{SEP}Optics"] == 1
    assert taxonomy_edit.move_node("sci", f"Physical science{SEP}Optics", "Biology") == f"Biology{SEP}Optics"
    assert samples.list_for("sci")[0].node_path == f"Biology{SEP}Optics"
    taxonomy_edit.update_node("sci", f"Biology{SEP}Optics", description="light", weight=3)
    node = ops.find(taxonomy_edit.load("sci"), f"Biology{SEP}Optics")
    assert (node.description, node.weight) == ("light", 3)
    taxonomy_edit.delete_node("sci", f"Biology{SEP}Optics")
    counts = {r["path"]: r["generated"] for r in ui_queries.node_table("sci")}
    assert counts["Biology"] == 1 and f"Biology{SEP}Optics" not in counts  # the sample is kept, not lost
    taxonomy_edit.delete_node("sci", "Biology")
    rows = ui_queries.node_table("sci")
    assert rows[-1]["path"] == ui_queries.OUTSIDE_TAXONOMY and rows[-1]["generated"] == 1
    with pytest.raises(InvalidInputError):  # a failed edit changes nothing
        taxonomy_edit.add_node("sci", "Chemistry", "Materials")
    assert taxonomy_edit.load("sci").flat() == tx.from_store(get("sci").taxonomy, _nodes("sci")).flat()


def _nodes(name):
    from lumina.store import projects as store_projects

    with connect() as con:
        return store_projects.nodes(con, get(name).id)


def test_outline_import_into_an_empty_project_gets_default_lists():
    create_project("blank", teacher=TEACHER)
    assert taxonomy_edit.import_outline("blank", "- Cooking\n  - Baking\n  - Grilling\n") == 3
    tree = taxonomy_edit.load("blank")
    assert [leaf[0] for leaf in tree.leaves()] == [f"Cooking{SEP}Baking", f"Cooking{SEP}Grilling"]
    assert tree.task_types == taxonomy_edit.DEFAULT_TASK_TYPES and tree.difficulty
    assert taxonomy_edit.import_outline("blank", "- Sauces\n", under="Cooking") == 1
    taxonomy_edit.set_details("blank", task_types=["recipe", " recipe ", "", "tip"], personas=["a chef"])
    tree = taxonomy_edit.load("blank")
    assert tree.task_types == ["recipe", "tip"] and tree.personas == ["a chef"]
    assert taxonomy_edit.import_outline("blank", "- Drinks\n", replace=True) == 1
    assert [n.name for n in taxonomy_edit.load("blank").nodes] == ["Drinks"]


def test_taxonomy_cli(tmp_path):
    lumina("project", "create", "cli", "--teacher", TEACHER, check=True)
    (tmp_path / "toc.md").write_text("# Kitchen\n- Knives\n- Pans\n", encoding="utf-8")
    assert "added 3 nodes" in lumina("taxonomy", "import", "cli", str(tmp_path / "toc.md"), check=True).stdout
    lumina("taxonomy", "add", "cli", "Whisks", "--under", "Kitchen", "--description", "balloon, flat", check=True)
    lumina("taxonomy", "rename", "cli", f"Kitchen{SEP}Pans", "Pots and pans", check=True)
    lumina("taxonomy", "move", "cli", f"Kitchen{SEP}Knives", check=True)
    lumina("taxonomy", "set", "cli", "Knives", "--weight", "2", check=True)
    lumina("taxonomy", "details", "cli", "--task-types", "how-to,comparison", check=True)
    rows = [json.loads(x) for x in lumina("taxonomy", "show", "cli", "--json", check=True).stdout.splitlines()]
    assert [r["path"] for r in rows] == ["Kitchen", f"Kitchen{SEP}Pots and pans", f"Kitchen{SEP}Whisks", "Knives"]
    assert "task_types:\n- how-to\n- comparison" in lumina("taxonomy", "show", "cli", "--yaml", check=True).stdout
    bad = lumina("taxonomy", "rename", "cli", "Nope", "x")
    assert bad.returncode == 2 and bad.stderr.startswith("error: No taxonomy node 'Nope'")
    (tmp_path / "bad.yaml").write_text("nodes: [unclosed", encoding="utf-8")
    bad = lumina("taxonomy", "import", "cli", str(tmp_path / "bad.yaml"))
    assert bad.returncode == 2 and "not valid YAML" in bad.stderr and "Traceback" not in bad.stderr
    assert lumina("taxonomy", "delete", "cli", "Kitchen", check=True).stdout.startswith("deleted 3")


def test_prompt_overrides_are_checked_versioned_and_used(tmp_path):
    p = create_project("tpl", teacher=TEACHER)
    builtin = prompts.for_project(p.id, "taxonomy", "instruction")
    assert builtin.ref == "taxonomy/instruction@v1"
    with pytest.raises(InvalidInputError, match="syntax error at line 1"):
        prompts.save_override("tpl", "taxonomy", "instruction", "Write about {{ topic ")
    with pytest.raises(InvalidInputError, match="'nonsense' is undefined.*variables this step provides"):
        prompts.save_override("tpl", "taxonomy", "instruction", "About {{ nonsense }}")
    t1 = prompts.save_override("tpl", "taxonomy", "instruction", "One {{ task_type }} about {{ topic }}. JSON.")
    assert t1.ref == "taxonomy/instruction@p1"
    assert prompts.for_project(p.id, "taxonomy", "instruction").source.startswith("One {{ task_type }}")
    assert prompts.for_project(None, "taxonomy", "instruction").ref == "taxonomy/instruction@v1"
    assert prompts.reset_override("tpl", "taxonomy", "instruction").ref == "taxonomy/instruction@v1"
    assert prompts.for_project(p.id, "taxonomy", "instruction").ref == "taxonomy/instruction@v1"
    assert prompts.resolve_ref(p.id, "taxonomy/instruction@p1").source == t1.source  # history is kept
    assert [v for v, *_ in prompts.override_history("tpl", "taxonomy", "instruction")] == [2, 1]
    (tmp_path / "t.jinja").write_text("Answer at a {{ difficulty }} level.", encoding="utf-8")
    out = lumina("templates", "set", "tpl", "taxonomy/answer", str(tmp_path / "t.jinja"), check=True).stdout
    assert "taxonomy/answer@p1" in out
    assert "taxonomy/answer@p1" in lumina("templates", "list", "--project", "tpl", check=True).stdout
    assert "{{ difficulty }} level" in lumina("templates", "show", "taxonomy/answer", "--project", "tpl",
                                              check=True).stdout


def test_every_template_has_an_example_context_and_renders_with_it():
    for t in prompts.all_templates():
        assert t.key in prompts.EXAMPLE_CONTEXT, f"{t.key} needs an entry in prompts.EXAMPLE_CONTEXT"
        prompts.check(t.mode, t.step, t.source)


def test_an_outline_grafted_onto_a_tree_obeys_the_node_limit(monkeypatch):
    create_project("capped", teacher="transformers:smollm2-135m-instruct", check_reachable=False)
    monkeypatch.setattr(tx, "MAX_NODES", 50)
    taxonomy_edit.import_outline("capped", "".join(f"- A{i}\n" for i in range(40)))
    with pytest.raises(InvalidInputError, match="more than 50"):
        taxonomy_edit.import_outline("capped", "".join(f"- B{i}\n" for i in range(40)))
    assert len(taxonomy_edit.load("capped").flat()) == 40
