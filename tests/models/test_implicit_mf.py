"""ImplicitMatrixFactorization on planted implicit data: users drawn from clusters of
items must give neighbours within the clusters and rank their held-out items high."""

from __future__ import annotations

import numpy as np
import pytest

import embedlab as el
from embedlab.data import Interactions
from embedlab.exceptions import BundleError, DataError, SettingsError

N_CLUSTERS, PER_CLUSTER, N_USERS, PER_USER, HELD = 4, 25, 240, 12, 2


def _planted(seed: int = 0):
    """Each user interacts with PER_USER items of one cluster (user % 4); the last HELD
    of each user's items are held out. Returns (train, held-out pairs)."""
    rng = np.random.default_rng(seed)
    users, items, held = [], [], []
    for u in range(N_USERS):
        chosen = rng.choice(PER_CLUSTER, PER_USER, replace=False) + (u % N_CLUSTERS) * PER_CLUSTER
        users += [f"u{u}"] * (PER_USER - HELD)
        items += [int(i) for i in chosen[:-HELD]]
        held += [(f"u{u}", int(i)) for i in chosen[-HELD:]]
    weights = rng.integers(1, 4, len(users)).astype(np.float32)  # e.g. play counts
    explicit = Interactions.from_ids(np.array(users), np.array(items), weights)
    return _implicit(explicit), held


def _implicit(ds: Interactions, weights=None) -> Interactions:
    return Interactions(
        ds.user_index,
        ds.item_index,
        ds.rating if weights is None else weights,
        ds.users,
        ds.items,
        name="clicks",
        feedback="implicit",
    )


@pytest.fixture(scope="module")
def data():
    return _planted()


@pytest.fixture(scope="module")
def als(data):
    return el.ImplicitMatrixFactorization(random_state=0).fit(data[0], progress=False)


def _cluster(item) -> int:
    return int(item) // PER_CLUSTER


def _neighbour_purity(model) -> float:
    vecs = model.item_embeddings()
    same = []
    for item in range(0, N_CLUSTERS * PER_CLUSTER, 5):
        top = vecs.most_similar(item, topn=5)["key"]
        same += [_cluster(k) == _cluster(item) for k in top]
    return float(np.mean(same))


def _hit_rate(model, held, n=10) -> float:
    recs = model.recommend_batch(n=n)
    top = {u: set(g["item"]) for u, g in recs.groupby("user")}
    return float(np.mean([i in top[u] for u, i in held]))


def test_public_api_and_resolved_settings(als):
    assert el.ImplicitMatrixFactorization is el.models.ImplicitMatrixFactorization
    assert "ImplicitMatrixFactorization" in el.__all__
    s = als.settings_
    assert (s.engine, s.embedding_dim, s.epochs, s.cg_steps, s.alpha) == ("als", 64, 15, 3, 9.0)
    assert (s.l2_user, s.l2_item, s.random_state) == (50.0, 50.0, 0)
    assert als.engine_ == "als" and len(als.history_) == 15


@pytest.mark.parametrize("engine", ["als", "bpr"])
def test_item_neighbours_recover_the_clusters(data, als, engine):
    model = als if engine == "als" else _fit(data[0], engine="bpr")
    assert _neighbour_purity(model) >= 0.9


def _fit(ds, **params):
    return el.ImplicitMatrixFactorization(random_state=0, **params).fit(ds, progress=False)


@pytest.mark.parametrize("engine", ["als", "bpr"])
def test_held_out_items_rank_high(data, als, engine):
    model = als if engine == "als" else _fit(data[0], engine="bpr")
    # random among the 90 unseen items: 10 / 90 = 0.11; the own cluster's 15: 0.67
    assert _hit_rate(model, data[1]) > 0.5


def test_recommend_excludes_seen_items_and_batch_agrees(data, als):
    train = data[0].to_pandas()
    for user in ("u0", "u1", "u7"):
        recs = als.recommend(user, n=10)
        seen = set(train.loc[train["user"] == user, "item"])
        assert not seen & set(recs["item"])
        assert {_cluster(i) for i in recs["item"]} == {int(user[1:]) % N_CLUSTERS}
        batch = als.recommend_batch([user], n=10)
        assert batch["item"].tolist() == recs["item"].tolist()
        np.testing.assert_allclose(batch["score"], recs["score"], rtol=1e-6)
    with_seen = als.recommend("u0", n=PER_CLUSTER, exclude_seen=False)  # the whole cluster
    assert set(train.loc[train["user"] == "u0", "item"]) <= set(with_seen["item"])


def test_scores_are_dot_products_not_ratings(als):
    vec_u = als.user_embeddings()["u0"]
    vec_i = als.item_embeddings()[3]
    got = als.predict(["u0"], [3])
    assert got.dtype == np.float32 and got[0] == pytest.approx(float(vec_u @ vec_i), rel=1e-5)
    assert als.rating_scale_ is None
    assert als.predict(["nobody"], [3], unknown="fallback")[0] == 0.0
    with pytest.raises(TypeError, match=r"ranking|Recall"):
        als.evaluate(None)


def test_explanations_name_the_users_items_from_the_same_cluster(data, als):
    recs = als.recommend("u2", n=5, explain=True)
    reasons = [r for row in recs["because"] for r in row]
    assert reasons and {_cluster(r) for r in reasons} == {2}


def test_a_visitor_gets_the_cluster_of_their_items(als):
    visitor = {50: 1.0, 51: 1.0, 52: 2.0, 53: 1.0}
    recs = als.recommend_for_ratings(visitor, n=8)
    assert {_cluster(i) for i in recs["item"]} == {2}
    assert not set(visitor) & set(recs["item"])
    folded = als.fold_in(visitor)
    assert folded.bias == 0.0 and folded.n_ratings == 4
    with pytest.raises(DataError, match="expected a weight >= 0"):
        als.fold_in({50: -1.0})


def test_save_load_round_trip(tmp_path, als):
    path = als.save(tmp_path / "implicit")
    back = el.load(path)
    assert type(back) is el.ImplicitMatrixFactorization
    assert el.ImplicitMatrixFactorization.load(path).settings_ == als.settings_
    for user in ("u0", "u5"):
        a, b = als.recommend(user, n=10), back.recommend(user, n=10)
        assert a.equals(b)
    np.testing.assert_array_equal(back.item_embeddings().vectors, als.item_embeddings().vectors)
    assert back.engine_ == "als"
    with pytest.raises(BundleError, match="not a MatrixFactorization"):
        el.MatrixFactorization.load(path)


def test_a_bundle_with_a_bias_table_is_refused(tmp_path, als):
    """An edited bundle (checksums resealed) whose tensors do not fit the model's
    layout is refused by the model class's schema check."""
    import json

    from safetensors.numpy import load_file, save_file

    from embedlab.io import _bundle

    path = als.save(tmp_path / "edited")
    tensors = load_file(str(path / "weights.safetensors"))
    tensors["item_bias.weight"] = np.zeros((len(als.items_), 1), np.float32)
    save_file(tensors, str(path / "weights.safetensors"))
    doc = json.loads((path / "model.json").read_text())
    doc["tensors"]["item_bias.weight"] = {"shape": [len(als.items_), 1], "dtype": "float32"}
    for rel in doc["files"]:
        full = path / rel
        doc["files"][rel] = {"sha256": _bundle._sha256(full), "size": full.stat().st_size}
    doc["checksum"] = _bundle._content_checksum(doc)
    (path / "model.json").write_text(json.dumps(doc))
    with pytest.raises(BundleError, match=r"unexpected tensor 'item_bias\.weight'"):
        el.load(path)


def test_seeded_fits_repeat_and_threads_do_not_matter(data):
    one = _fit(data[0], n_threads=1, epochs=4)
    two = _fit(data[0], n_threads=2, epochs=4)
    again = _fit(data[0], n_threads=2, epochs=4)
    other = el.ImplicitMatrixFactorization(random_state=1, epochs=4).fit(data[0], progress=False)
    for name in ("user_embeddings", "item_embeddings"):
        a, b, c = (getattr(m, name)().vectors for m in (one, two, again))
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(b, c)
    assert not np.array_equal(one.item_embeddings().vectors, other.item_embeddings().vectors)
    b1, b2 = (_fit(data[0], engine="bpr", epochs=5) for _ in range(2))
    np.testing.assert_array_equal(b1.item_embeddings().vectors, b2.item_embeddings().vectors)


def test_every_hyperparameter_changes_the_result(data):
    base = _fit(data[0], epochs=3).item_embeddings().vectors
    for change in ({"alpha": 2.0}, {"l2_item": 5.0}, {"cg_steps": 1}, {"init_std": 0.1}):
        other = _fit(data[0], epochs=3, **change).item_embeddings().vectors
        assert not np.array_equal(base, other), change
    assert _fit(data[0], embedding_dim=8, epochs=2).item_embeddings().vectors.shape == (100, 8)


def test_explicit_ratings_are_refused_with_the_fix():
    ds = Interactions.from_ids(["a", "b"], [1, 2], [4.0, 5.0])
    with pytest.raises(DataError, match=r"to_implicit\(threshold=4\)") as info:
        el.ImplicitMatrixFactorization().fit(ds, progress=False)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("weights", "match"),
    [([1.0, -2.0, 1.0], "1 weights are negative"), ([0.0, 0.0, 0.0], "every weight is 0")],
)
def test_bad_weights_are_one_line_errors(weights, match):
    ds = _implicit(
        Interactions.from_ids(["a", "b", "c"], [1, 2, 3], [1.0, 1.0, 1.0]),
        np.array(weights, np.float32),
    )
    with pytest.raises(DataError, match=match) as info:
        el.ImplicitMatrixFactorization().fit(ds, progress=False)
    assert "\n" not in str(info.value)


def test_options_and_settings_that_do_not_apply(data):
    model = el.ImplicitMatrixFactorization()
    with pytest.raises(TypeError, match="no validation= option"):
        model.fit(data[0], validation=data[0], progress=False)
    with pytest.raises(SettingsError, match=r"alpha=2\.0 does not apply to the bpr engine"):
        el.ImplicitMatrixFactorization(engine="bpr", alpha=2.0).fit(data[0], progress=False)
    with pytest.raises(SettingsError, match="learning_rate"):
        el.ImplicitMatrixFactorization(learning_rate=0.1).fit(data[0], progress=False)
    with pytest.raises(SettingsError, match="engine='gpu'"):
        el.ImplicitMatrixFactorization(engine="gpu").get_settings()
    with pytest.raises(TypeError, match=r"must be an embedlab Interactions"):
        model.fit("clicks.csv", progress=False)
