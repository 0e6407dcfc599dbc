from collections import Counter

import pytest

from lumina.taxonomy import tree as tx
from lumina.config import examples_dir
from lumina.errors import InvalidInputError, NotFoundError


@pytest.mark.parametrize("name", ["everyday-science.yaml", "python-exam-prep.yaml"])
def test_example_taxonomies_load_and_round_trip(name):
    t = tx.load(examples_dir() / name)
    assert t.leaves() and t.task_types and t.difficulty
    again = tx.loads(t.to_yaml())
    assert again.flat() == t.flat()
    assert tx.from_store(t.meta(), t.flat()).flat() == t.flat()


def test_plan_covers_every_combination_before_repeating():
    t = tx.loads("""
task_types: [a, b]
difficulty: [easy]
nodes: [{name: X, children: [{name: x1}, {name: x2}]}, {name: Y}]
""")
    combos = tx.plan(t, 6, seed=1)
    first_round = Counter((c.node_path, c.task_type) for c in combos[:6])
    assert len(first_round) == 6  # 3 leaves x 2 task types, each once
    assert tx.plan(t, 6, seed=1) == combos  # deterministic for a seed


def test_plan_follows_weights():
    t = tx.loads("""
task_types: [t]
difficulty: [d]
nodes: [{name: Heavy, weight: 9}, {name: Light, weight: 1}, {name: Never, weight: 0}]
""")
    first = Counter(tx.plan(t, 200, seed=3)[i].node_path for i in range(0, 200, 2))
    assert "Never" not in first
    # Each round of 2 holds both live leaves; Heavy comes first far more often.
    leads = Counter(c.node_path for c in tx.plan(t, 400, seed=3)[0::2])
    assert leads["Heavy"] > 3 * leads["Light"]


@pytest.mark.parametrize("text,needle", [
    ("nodes: [a\n  b: :", "not valid YAML"),
    ("task_types: [a]\ndifficulty: [b]\n", "'nodes'"),
    ("nodes: [{name: A}]\ndifficulty: [b]\n", "task_types"),
    ("nodes: [{name: A, weight: heavy}]\ntask_types: [a]\ndifficulty: [b]\n", "not a number"),
    ("nodes: [{name: A}, {name: B, children: [{name: c}, {name: c}]}]\ntask_types: [a]\ndifficulty: [b]\n", "duplicate"),
    ("nodes: [{name: 'A > B'}]\ntask_types: [a]\ndifficulty: [b]\n", "may not contain"),
    ("- just\n- a list\n", "mapping"),
])
def test_malformed_taxonomies_are_explained(text, needle):
    with pytest.raises(InvalidInputError) as exc:
        tx.loads(text)
    assert needle in str(exc.value)


def test_missing_and_non_utf8_files(tmp_path):
    with pytest.raises(NotFoundError):
        tx.load(tmp_path / "nope.yaml")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(InvalidInputError, match="not UTF-8"):
        tx.load(bad)
