"""Model abilities are declared on the base classes, parameters are typed and bounded, and every
accepted parameter does what it says."""

from __future__ import annotations

import ast
import re
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from recsys_tui.models.base import EmbeddingModel, ParamError, Recommender, top_k
from recsys_tui.models.registry import MODEL_NAMES, create, model_class

from recsys_tui.cli import main
from tests.events import logged

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"als": {"factors": 8, "iterations": 3, "regularization": 0.5},
         "hybrid": {"factors": 8, "iterations": 3, "regularization": 0.5,
                    "candidates": 15}, "ease": {"l2": 5.0}}


def _ratings(seed: int = 0, users: int = 40, items: int = 30) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = np.where(rng.random((users, items)) < 0.3, rng.integers(1, 6, (users, items)), 0)
    dense[:, 0] = 5  # every user has a positive rating
    return sp.csr_matrix(dense.astype(np.float32))


# -- no probes ------------------------------------------------------------------------------------

PROBES = [
    (re.compile(r"\b(hasattr|getattr)\(\s*[\w.]*model\b"), "hasattr/getattr probe of a model"),
    (re.compile(r"\bissubclass\("), "issubclass fork on a model class"),
    (re.compile(r"\.name\s+(not\s+)?in\s*\(\s*[\"'](popularity|random)"), "check on the model's name"),
    (re.compile(r"\bmodel\.(_values|gram|B)\b"), "reading a model's internals"),
]
SOURCE_ROOMS = ("core", "training", "tui", "recsys_tui", "models", "data", "common")


def _sources() -> list[Path]:
    return [p for room in SOURCE_ROOMS for p in sorted((ROOT / room).rglob("*.py"))]


def test_no_code_probes_what_a_model_can_do():
    """A model says what it can do (``Recommender``); nothing asks with hasattr/getattr/issubclass."""
    found = []
    for path in _sources():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for pattern, what in PROBES:
                if pattern.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{n}: {what}: {line.strip()}")
    assert _sources(), "no sources found: the grep would pass vacuously"
    assert not found, "\n".join(found)


def test_the_probe_grep_catches_a_probe():
    lines = ['if hasattr(self.model, "rerank"):', "issubclass(model_class(m), ALSRecommender)",
             'self.model.name not in ("popularity", "random")', "values = model._values(r)",
             'getattr(engine.model, "item_factors", None)']
    for line in lines:
        assert any(p.search(line) for p, _ in PROBES), line


def test_abilities_are_declared_for_every_model():
    x = _ratings()
    items, ratings = x[3].indices, x[3].data
    for name in MODEL_NAMES:
        model = create(name, **SMALL.get(name, {})).fit(x, np.full(x.nnz, -1))
        assert isinstance(model.weighs_online_recency, bool) and isinstance(model.personal, bool)
        assert model.candidates(5) >= 5
        cand = np.arange(20)
        got, scores = model.rerank(items, ratings, cand, 5, np.linspace(1, 0, 20))
        assert len(got) == len(scores) == 5
        contrib = model.contributions(items, ratings, np.arange(4), None)
        assert model.personal == (contrib is not None), name
        if contrib is not None:
            assert contrib.shape == (len(items), 4)


def test_ease_contributions_sum_to_its_score():
    x = _ratings(1)
    ease = create("ease", l2=5.0, scheme="rating", negative_below=1.0).fit(x)
    items, ratings = x[5].indices, x[5].data
    targets = np.arange(x.shape[1])
    np.testing.assert_allclose(ease.contributions(items, ratings, targets).sum(axis=0),
                               ease.score_history(items, ratings), rtol=1e-4, atol=1e-5)


def test_reasons_ask_the_model_for_its_contributions():
    from recsys_tui.core.reasons import top_contributors

    x = _ratings(2)
    items, ratings = x[7].indices, x[7].data
    for name in MODEL_NAMES:
        model = create(name, **SMALL.get(name, {})).fit(x)
        best = top_contributors(model, items, ratings, np.arange(5))
        expected = model.contributions(items, ratings, np.arange(5))
        if expected is None:
            assert best is None
        else:
            top = np.argmax(expected, axis=0)
            assert [b if b >= 0 else t for b, t in zip(best, top, strict=True)] == top.tolist()


# -- typed, bounded parameters --------------------------------------------------------------------

def test_every_parameter_field_has_a_docstring():
    """Each Params dataclass field is followed by a string literal (LensKit-style field docs)."""
    for name in MODEL_NAMES:
        cls = model_class(name).Params
        for klass in cls.__mro__:
            if klass is object or not hasattr(klass, "__dataclass_fields__"):
                continue
            tree = ast.parse(Path(__import__(klass.__module__, fromlist=["_"]).__file__).read_text())
            node = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == klass.__name__)
            body = node.body
            for n, stmt in enumerate(body):
                if isinstance(stmt, ast.AnnAssign):
                    doc = body[n + 1] if n + 1 < len(body) else None
                    assert isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant) \
                        and isinstance(doc.value.value, str), f"{klass.__name__}.{stmt.target.id}"
        assert {f.name for f in fields(cls)} == set(model_class(name).defaults)


BAD_PARAMS = [
    ("als", {"factors": 100000}, "factors"),
    ("als", {"regularization": float("nan")}, "regularization"),
    ("als", {"regularization": float("inf")}, "regularization"),
    ("als", {"random_state": -1}, "random_state"),
    ("als", {"iterations": 100000000}, "iterations"),
    ("als", {"factors": 8.5}, "factors"),
    ("als", {"factors": True}, "factors"),
    ("als", {"user_idf": 1}, "user_idf"),
    ("als", {"scheme": "stars"}, "scheme"),
    ("als", {"online_decay": 0.0}, "online_decay"),
    ("als", {"online_weight": 0.5}, "online_weight"),
    ("als", {"alpha": 0.0}, "alpha"),
    ("als", {"l2": 5.0}, "l2"),
    ("ease", {"l2": 1e-300}, "l2"),
    ("ease", {"l2": "big"}, "l2"),
    ("ease", {"online_weight": 64.0}, "online_weight"),
    ("hybrid", {"candidates": 0}, "candidates"),
    ("hybrid", {"ease_l2": float("nan")}, "ease_l2"),
    ("random", {"seed": -3}, "seed"),
    ("popularity", {"seed": 1}, "seed"),
]


@pytest.mark.parametrize(("name", "params", "word"), BAD_PARAMS,
                         ids=[f"{n}-{next(iter(p))}={next(iter(p.values()))}" for n, p, _ in BAD_PARAMS])
def test_bad_parameters_are_refused_with_one_line(name, params, word):
    with pytest.raises(ParamError) as info:
        create(name, **params)
    assert word in str(info.value) and "\n" not in str(info.value)
    assert info.value.exit_code == 2


def test_accepted_values_are_converted_to_their_type():
    model = create("als", factors=16.0, regularization=3)
    assert model.params["factors"] == 16 and isinstance(model.params["factors"], int)
    assert isinstance(model.params["regularization"], float)


CLI_BAD = [
    ["train", "-p", "factors=100000"],
    ["train", "-p", "regularization=NaN"],
    ["train", "-p", "random_state=-1"],
    ["train", "--model", "ease", "-p", "l2=1e-300"],
    ["train", "-p", "iterations=100000000"],
    ["train", "-p", "no_such=1"],
    ["train", "-p", "factors=many"],
    ["train", "--model", "hybrid", "-p", "candidates=0.5"],
    ["replay", "--model", "als", "-p", "regularization=-1"],
]


@pytest.mark.parametrize("args", CLI_BAD, ids=[" ".join(a) for a in CLI_BAD])
def test_cli_refuses_bad_parameters_before_any_work(capsys, tmp_path, args):
    root = tmp_path / "fresh-home"
    rc = main(["--home", str(root), *args])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.startswith("recsys-tui: error: ") and err.count("\n") == 1, err
    assert not root.exists()  # refused before the home (or a download, or a fit) was touched


def test_cli_bad_parameter_leaves_an_existing_home_untouched(capsys, home):
    before = sorted(p.name for p in home.artifacts.iterdir())
    assert main(["--home", str(home.root), "train", "-p", "factors=0"]) == 2
    assert sorted(p.name for p in home.artifacts.iterdir()) == before
    assert logged(home) == 0


# -- every accepted parameter does what it says ---------------------------------------------------

@pytest.mark.parametrize("name", ["als", "hybrid"])
def test_online_weighting_changes_the_fold_in(name):
    """``online_weight``/``online_decay`` are accepted by als and hybrid, so both must use them
    (the hybrid used to fold in identically at ×1 and ×64)."""
    x = _ratings(3)
    items, ratings = x[2].indices, x[2].data
    recency = np.full(len(items), -1)
    recency[-2:] = [1, 0]  # the last two entries were given online
    vectors = {}
    for weight in (1.0, 64.0):
        model = create(name, **SMALL[name], online_weight=weight, online_decay=0.7).fit(x)
        vectors[weight] = model.fold_in(items, ratings, recency)
        batch = model.fold_in(items, ratings, np.full(len(items), -1))
        np.testing.assert_array_equal(batch, model.fold_in(items, ratings))  # batch: no weighting
    assert not np.allclose(vectors[1.0], vectors[64.0])


def test_hybrid_recency_reaches_scores_reasons_and_rerank():
    x = _ratings(4)
    items, ratings = x[9].indices, x[9].data
    recency = np.full(len(items), -1)
    recency[0] = 0
    model = create("hybrid", **SMALL["hybrid"]).fit(x)
    with_r = model.score_history(items, ratings, recency)
    assert not np.allclose(with_r, model.score_history(items, ratings))
    # stage 1 as the engine runs it (retrieval by the recency-weighted fold-in), then stage 2
    cand = top_k(model.item_factors @ model.fold_in(items, ratings, recency), 15, exclude=items)
    head = model.rerank(items, ratings, cand, 5, None, recency)[0]
    assert head.tolist() == top_k(with_r, 5, exclude=items).tolist()
    assert not np.allclose(model.contributions(items, ratings, cand, recency),
                           model.contributions(items, ratings, cand))


@pytest.mark.parametrize("name", ["als", "hybrid"])
def test_a_retrain_weighs_logged_ratings_as_the_fold_in_does(name):
    """``fit(ratings, recency)``: a stored user vector equals that user's fold-in with recency."""
    x = _ratings(5)
    recency = np.full(x.nnz, -1)
    lo, hi = x.indptr[4], x.indptr[5]
    recency[lo] = 0  # column 0, rated 5 by everybody: a positive entry given online
    model = create(name, **SMALL[name]).fit(x, recency)
    assert isinstance(model, EmbeddingModel)
    np.testing.assert_allclose(model.user_factors[4],
                               model.fold_in(x.indices[lo:hi], x.data[lo:hi], recency[lo:hi]),
                               rtol=1e-5, atol=1e-6)
    plain = create(name, **SMALL[name]).fit(x)
    assert not np.allclose(plain.user_factors[4], model.user_factors[4])


def test_base_class_declares_the_defaults():
    class Tiny(Recommender):
        name = "tiny"

        def fit(self, ratings, recency=None):
            self.n_items = ratings.shape[1]
            return self

        def score_history(self, items, ratings, recency=None):
            return np.zeros(self.n_items, np.float32)

        def arrays(self):
            return {}

        def load_arrays(self, arrays):
            return None

    tiny = Tiny().fit(_ratings())
    assert tiny.defaults == {} and not tiny.weighs_online_recency and tiny.personal
    assert tiny.contributions(np.array([1]), np.array([5.0]), np.array([2])) is None
    assert tiny.candidates(10) == 10
    cand, scores = tiny.rerank(np.array([1]), np.array([5.0]), np.arange(8), 3, np.arange(8.0))
    assert cand.tolist() == [0, 1, 2] and scores.tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(ParamError):
        Tiny(anything=1)


def test_parameters_doc_matches_the_code():
    from recsys_tui.models.params import parameters_markdown

    expected = parameters_markdown({n: model_class(n).Params for n in MODEL_NAMES})
    assert (ROOT / "docs" / "PARAMETERS.md").read_text(encoding="utf-8") == expected, (
        "regenerate docs/PARAMETERS.md with recsys_tui.models.params.parameters_markdown")


def test_a_stored_model_with_refused_parameters_is_an_unusable_artifact(tmp_path):
    import json

    from recsys_tui.models.base import ModelError
    from recsys_tui.models.bundle import TrainedModel

    from tests.test_models import _interactions

    trained = TrainedModel.fit("ease", _interactions(), l2=5.0)
    trained.save(tmp_path)
    meta = json.loads((tmp_path / "model.json").read_text())
    meta["params"]["l2"] = 1e-300
    (tmp_path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError) as info:
        TrainedModel.load(tmp_path)
    assert info.value.exit_code == 1 and "l2" in str(info.value)
