"""The diversity map and metrics on real MiniLM embeddings of three clearly different topics.

UMAP compiles with numba on first use; the numba cache is kept in .cache/numba between runs
(like the prepared test models in .cache/test-models), so only the very first run pays ~20 s.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO / ".cache" / "numba"))  # before anything imports numba

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402

from lumina.errors import InvalidInputError, NotFoundError  # noqa: E402
from lumina import diversity  # noqa: E402
from lumina.diversity import Projection  # noqa: E402
from lumina.diversity.embeddings import get_embedder  # noqa: E402

TOPICS = {
    "cooking": {
        "subjects": ["a risotto", "sourdough bread", "a beef stew", "pancakes", "a tomato sauce", "roast chicken",
                     "a lemon tart", "fried rice", "a vegetable curry", "chocolate brownies"],
        "templates": ["How long should I bake {s} in the oven?", "What spices go well in {s}?",
                      "Give me a recipe for {s} that serves four people.", "How do I stop {s} from burning in the pan?",
                      "Can I make {s} without butter or eggs?", "What is the secret to a really tasty {s}?",
                      "Which wine would you serve with {s} for dinner?", "How do I store leftover {s} in the fridge?",
                      "What kitchen tools do I need to cook {s}?", "Why did my {s} turn out dry and bland?"],
    },
    "astronomy": {
        "subjects": ["Jupiter", "a black hole", "the Andromeda galaxy", "a neutron star", "Saturn's rings",
                     "the Moon", "a supernova", "Mars", "a comet", "the Milky Way"],
        "templates": ["How far from Earth is {s} in light years?", "What would a telescope show me of {s}?",
                      "How did astronomers discover {s}?", "What is the gravity like near {s}?",
                      "Could a space probe ever reach {s}?", "How old is {s} according to astrophysicists?",
                      "What is {s} made of, and how do we know?", "Why does {s} matter for cosmology?",
                      "When is the best night to observe {s} in the sky?", "How does {s} emit light and radiation?"],
    },
    "programming": {
        "subjects": ["a Python list", "a SQL join", "a JavaScript promise", "a Rust borrow checker error",
                     "a Git merge conflict", "a recursive function", "a REST API endpoint", "a unit test",
                     "a memory leak in C", "a Docker container"],
        "templates": ["How do I debug {s} in my code?", "What is the fastest way to write {s}?",
                      "Explain {s} to a junior developer with a code example.", "Why does {s} throw an exception?",
                      "How do I refactor {s} to be more readable?", "Which library helps me work with {s}?",
                      "How should I document {s} for my team?", "What are common bugs involving {s}?",
                      "How do I profile the performance of {s}?", "Can you review {s} for security issues?"],
    },
}


def corpus() -> tuple[list[str], np.ndarray]:
    """300 questions, 100 per topic (every template with every subject), and topic labels."""
    texts, labels = [], []
    for label, t in enumerate(TOPICS.values()):
        for tpl in t["templates"]:
            for s in t["subjects"]:
                texts.append(tpl.format(s=s))
                labels.append(label)
    return texts, np.array(labels)


@pytest.fixture(scope="module")
def embedded():
    texts, labels = corpus()
    rng = random.Random(0)
    held = set(rng.sample(range(len(texts)), 15))  # new points for transform
    fit_idx = [i for i in range(len(texts)) if i not in held]
    new_idx = sorted(held)
    vecs = get_embedder().encode(texts)
    return {"texts": texts, "labels": labels, "vecs": vecs, "fit": fit_idx, "new": new_idx}


@pytest.fixture(scope="module")
def projection(embedded):
    return Projection.fit(embedded["vecs"][embedded["fit"]], n_neighbors=15, min_dist=0.1, random_state=0)


def test_umap_map_recovers_the_topics(embedded, projection):
    assert projection.method == "umap" and projection.coords.shape == (len(embedded["fit"]), 2)
    assert projection.coords.dtype == np.float32
    truth = embedded["labels"][embedded["fit"]]
    km = diversity.cluster(projection.coords, "kmeans")  # k chosen by silhouette
    assert adjusted_rand_score(truth, km) > 0.8
    assert len(set(km.tolist())) == 3
    hd = diversity.cluster(projection.coords, "hdbscan")
    assert adjusted_rand_score(truth, hd) > 0.5
    fixed = diversity.cluster(embedded["vecs"][embedded["fit"]], "kmeans", k=3)  # raw vectors work too
    assert adjusted_rand_score(truth, fixed) > 0.8


def test_new_points_land_near_their_topic(embedded, projection):
    new = projection.transform(embedded["vecs"][embedded["new"]])
    assert new.shape == (len(embedded["new"]), 2)
    truth = embedded["labels"][embedded["fit"]]
    centroids = np.stack([projection.coords[truth == k].mean(axis=0) for k in range(3)])
    nearest = np.argmin(((new[:, None, :] - centroids[None]) ** 2).sum(-1), axis=1)
    hits = (nearest == embedded["labels"][embedded["new"]]).mean()
    assert hits >= 0.9, hits


def test_save_load_round_trip(embedded, projection, tmp_path):
    path = projection.save(tmp_path / "maps" / "p.lumina-projection")
    again = Projection.load(path)
    assert again.method == "umap" and again.dim == 384 and again.n_fit == projection.n_fit
    assert np.array_equal(again.coords, projection.coords)
    probe = embedded["vecs"][embedded["new"][:5]]
    assert np.allclose(again.transform(probe), projection.transform(probe), atol=1e-3)
    with pytest.raises(NotFoundError):
        Projection.load(tmp_path / "missing.pkl")
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle")
    with pytest.raises(InvalidInputError):
        Projection.load(tmp_path / "junk.pkl")


def test_a_saved_map_is_never_unpickled(tmp_path):
    """A projection file is data: a pickle planted where a map lives must not run."""
    import pickle

    marker = tmp_path / "ran"

    class Boom:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    for name, blob in (("p.pkl", pickle.dumps(Boom())),
                       ("p.npz", None)):
        path = tmp_path / name
        if blob is None:  # an .npz whose array is an object array (pickled inside)
            np.savez(path, header=np.array([Boom()], dtype=object), coords=np.zeros((1, 2)))
        else:
            path.write_bytes(blob)
        with pytest.raises(InvalidInputError):
            Projection.load(path)
    assert not marker.exists()


def test_tiny_sets_fall_back_to_pca(embedded, tmp_path):
    few = embedded["vecs"][:5]
    p = Projection.fit(few)
    assert p.method == "pca" and p.coords.shape == (5, 2) and np.isfinite(p.coords).all()
    assert p.transform(embedded["vecs"][5:8]).shape == (3, 2)
    one = Projection.fit(embedded["vecs"][:1])
    assert one.coords.shape == (1, 2) and one.transform(embedded["vecs"][1:3]).shape == (2, 2)
    assert Projection.load(p.save(tmp_path / "pca.bin")).method == "pca"
    with pytest.raises(InvalidInputError):
        Projection.fit(np.zeros((0, 384)))
    with pytest.raises(InvalidInputError):
        p.transform(np.zeros((2, 10)))


def test_warm_up_compiles_ahead(embedded):
    assert diversity.warm_up(large=False) > 0  # the small-data path; the test fixture has warmed it


def test_cluster_labels_name_the_topics(embedded):
    texts, truth = embedded["texts"], embedded["labels"]
    names = diversity.label_clusters(texts, truth.tolist(), top_n=3)
    assert set(names) == {0, 1, 2}
    assert all(len(n.split(", ")) == 3 for n in names.values())
    words = {k: set(n.split(", ")) for k, n in names.items()}
    assert words[0] & {"cook", "recipe", "bake", "kitchen", "spices", "tasty", "wine", "pan", "dinner",
                       "fridge", "butter", "eggs"}, names
    assert words[1] & {"light", "earth", "telescope", "astronomers", "sky", "gravity", "space", "probe",
                       "cosmology", "astrophysicists", "radiation", "years"}, names
    assert words[2] & {"code", "debug", "developer", "library", "bugs", "team", "exception", "refactor",
                       "security", "performance", "profile", "document"}, names
    noisy = diversity.label_clusters(["stars and galaxies", "more stars", "bread"], [0, 0, -1])
    assert noisy[-1] == "unclustered" and "stars" in noisy[0]


def test_cluster_shares():
    assert diversity.cluster_shares([2, 2, 0, -1]) == {2: 0.5, 0: 0.25, -1: 0.25}
    assert list(diversity.cluster_shares([1, 0, 0])) == [0, 1]  # largest first
    assert diversity.cluster_shares([]) == {}


def test_vendi_score():
    d = 384
    rng = np.random.default_rng(0)
    v = rng.normal(size=d)
    assert diversity.vendi_score(np.tile(v, (50, 1))) == pytest.approx(1.0, abs=1e-6)
    for k in (2, 5, 10):
        basis = np.eye(d)[:k]
        assert diversity.vendi_score(np.repeat(basis, 7, axis=0)) == pytest.approx(k, rel=1e-6)
    # The d x d Gram trick gives the same value as the n x n kernel.
    x = rng.normal(size=(60, 16))
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    lam = np.clip(np.linalg.eigvalsh(xn @ xn.T / 60), 0, None)
    lam = lam[lam > 1e-12]
    assert diversity.vendi_score(x) == pytest.approx(float(np.exp(-(lam * np.log(lam)).sum())), rel=1e-6)


def test_vendi_scales_to_100k_rows():
    x = np.random.default_rng(1).standard_normal((100_000, 384), dtype=np.float32)
    score = diversity.vendi_score(x)
    assert 300 < score <= 384  # near-isotropic noise uses almost every dimension


def test_vendi_of_topics_is_between_one_and_n(embedded):
    one_topic = embedded["vecs"][embedded["labels"] == 0]
    all_topics = embedded["vecs"]
    assert 1 < diversity.vendi_score(one_topic) < diversity.vendi_score(all_topics) < len(all_topics)


def test_mean_pairwise_cosine_distance():
    x = np.random.default_rng(2).normal(size=(40, 8))
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    sims = xn @ xn.T
    brute = 1 - (sims.sum() - np.trace(sims)) / (40 * 39)
    assert diversity.mean_pairwise_cosine_distance(x) == pytest.approx(brute, rel=1e-9)
    assert diversity.mean_pairwise_cosine_distance(np.ones((5, 3))) == pytest.approx(0.0, abs=1e-9)
    assert diversity.mean_pairwise_cosine_distance(x, sample=20) == pytest.approx(brute, abs=0.15)


def test_distinct_n():
    assert diversity.distinct_n(["the cat sat", "the cat sat"], 2) == 0.5
    assert diversity.distinct_n(["the cat sat", "a dog ran"], 1) == 1.0
    assert diversity.distinct_n(["one"], 2) == 1.0  # no bigrams at all
    assert diversity.distinct_n(["Go go GO go"], 1) == 0.25
    with pytest.raises(InvalidInputError):
        diversity.distinct_n(["x"], 0)


def test_coverage():
    leaves = ["Physics > Optics", "Physics > Mechanics", "Biology > Cells", "Biology > Genetics"]
    paths = ["Physics > Optics", "Physics > Optics", "Biology > Cells", None, "Chemistry > Acids"]
    cov = diversity.coverage(paths, leaves)
    assert cov["total"] == 5 and cov["unassigned"] == 1 and cov["outside_taxonomy"] == 1
    assert cov["share"]["Physics"] == pytest.approx(0.4)
    assert cov["share"]["Physics > Optics"] == pytest.approx(0.4)
    assert cov["counts"]["Biology"] == 1
    assert cov["empty_leaves"] == ["Physics > Mechanics", "Biology > Genetics"]
    assert cov["leaf_coverage"] == 0.5
    empty = diversity.coverage([], leaves)
    assert empty["share"] == {} and empty["leaf_coverage"] == 0.0
