"""The torch trainer: a step by hand, a known answer, every option, determinism, checkpoints."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from embedlab.data import synthetic_ratings
from embedlab.exceptions import DataError, TrainingDivergedError
from embedlab.nn import MFModule, NeuralModule
from embedlab.training import History, StopAfter, Trainer, evaluate, predict, resolve_device


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def small():
    """A small synthetic split: (train, test, n_users, n_items)."""
    ds, _ = synthetic_ratings(150, 80, 4000, embedding_dim=4, random_state=1, timestamps=False)
    train, test = ds.split("random", test_size=0.2, random_state=0)
    return train, test, ds.n_users, ds.n_items


def _mf(n_users: int, n_items: int, mean: float = 3.5, seed: int = 0, **options) -> MFModule:
    m = MFModule(n_users, n_items, options.pop("embedding_dim", 8), generator=_gen(seed), **options)
    if m.global_bias is not None:
        with torch.no_grad():
            m.global_bias.fill_(mean)
    return m


def _neural(
    n_users: int, n_items: int, mean: float = 3.5, seed: int = 0, **options
) -> NeuralModule:
    m = NeuralModule(n_users, n_items, generator=_gen(seed), **options)
    if m.global_bias is not None:
        with torch.no_grad():
            m.global_bias.fill_(mean)
    return m


def _weights(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# --------------------------------------------------------------------- by hand
def test_one_sgd_step_by_hand() -> None:
    m = MFModule(2, 3, 2)
    with torch.no_grad():
        m.user_embedding.weight.copy_(torch.tensor([[1.0, 2.0], [-1.0, 0.5]]))
        m.item_embedding.weight.copy_(torch.tensor([[0.5, 1.0], [2.0, -1.0], [0.0, 3.0]]))
        m.user_bias.weight.copy_(torch.tensor([[0.1], [-0.2]]))
        m.item_bias.weight.copy_(torch.tensor([[0.3], [0.0], [-0.4]]))
        m.global_bias.fill_(3.5)
    users = np.array([0, 0, 1, 1], dtype=np.int32)
    items = np.array([0, 1, 1, 2], dtype=np.int32)
    ratings = np.array([4.0, 3.0, 2.0, 5.0], dtype=np.float32)
    # r̂ = μ + b_u + b_i + p_u·q_i: 6.4, 3.6, 0.8, 4.4; errors e = r̂ - r: 2.4, 0.6, -1.2, -0.6.
    # Loss mean(e²) over B = 4, so ∂L/∂r̂_k = 2 e_k / 4 = g_k: 1.2, 0.3, -0.6, -0.3; lr = 0.1.
    # μ -= lr Σ g = 0.06;  b_u -= lr Σ_{k∈u} g;  p_u -= lr Σ_{k∈u} g_k q_i(k);  q_i -= lr Σ_{k∈i} g_k p_u(k).
    Trainer(
        epochs=1, batch_size=4, learning_rate=0.1, optimizer="sgd", progress=False, random_state=0
    ).fit(m, (users, items, ratings))
    sd = m.state_dict()
    assert sd["global_bias"].item() == pytest.approx(3.44, abs=1e-6)
    assert sd["user_bias.weight"].flatten().tolist() == pytest.approx([-0.05, -0.11], abs=1e-6)
    assert sd["item_bias.weight"].flatten().tolist() == pytest.approx([0.18, 0.03, -0.37], abs=1e-6)
    assert sd["user_embedding.weight"].tolist() == [
        pytest.approx([0.88, 1.91], abs=1e-6),
        pytest.approx([-0.88, 0.53], abs=1e-6),
    ]
    assert sd["item_embedding.weight"].tolist() == [
        pytest.approx([0.38, 0.76], abs=1e-6),
        pytest.approx([1.91, -1.03], abs=1e-6),
        pytest.approx([-0.03, 3.015], abs=1e-6),
    ]


def test_table_l2_decays_untouched_rows_by_the_keras_gradient() -> None:
    # l2_mode="table": loss + λ‖Q‖², so an item no rating touches moves by -lr·2λ·q.
    m = _mf(3, 4, embedding_dim=2, user_bias=False, item_bias=False, global_bias=False)
    q3 = m.item_embedding.weight[3].detach().clone()
    data = (np.array([0, 1]), np.array([0, 1]), np.array([3.0, 4.0], dtype=np.float32))
    Trainer(
        epochs=1,
        batch_size=2,
        learning_rate=0.1,
        optimizer="sgd",
        l2_item=0.5,
        l2_mode="table",
        progress=False,
    ).fit(m, data)
    assert torch.allclose(m.item_embedding.weight[3], q3 * (1 - 0.1 * 2 * 0.5))


# ------------------------------------------------------------------- known answer
def test_known_answer_rmse_and_item_biases() -> None:
    ds, truth = synthetic_ratings(
        600, 400, 60_000, embedding_dim=8, noise_std=0.7, random_state=0, timestamps=False
    )
    train, test = ds.split("random", test_size=0.1, random_state=0)
    # The best possible RMSE: the noise-free rating (clipped) against the observed,
    # rounded and clipped one. Rounding to whole stars adds variance 1/12, clipping removes some.
    oracle = float(
        np.sqrt(
            np.mean(
                (truth.expected_rating(test.user_index, test.item_index, clip=True) - test.rating)
                ** 2
            )
        )
    )
    assert 0.68 < oracle < 0.76
    m = _mf(ds.n_users, ds.n_items, mean=float(train.rating.mean()), embedding_dim=8)
    trainer = Trainer(
        epochs=8,
        batch_size=2048,
        learning_rate=0.2,
        optimizer="adagrad",
        l2_user=0.05,
        l2_item=0.05,
        patience=2,
        progress=False,
        random_state=0,
    )
    trainer.fit(m, train, validation=test)
    rmse = evaluate(m, test)["rmse"]
    assert rmse <= 1.10 * truth.noise_std
    assert rmse <= 1.10 * oracle
    fitted = m.item_bias.weight.detach().numpy().ravel()
    rho = spearmanr(fitted, truth.item_bias).statistic
    assert rho >= 0.9


def test_known_answer_neural_model_with_the_course_sizes() -> None:
    ds, truth = synthetic_ratings(
        600, 400, 60_000, embedding_dim=8, noise_std=0.7, random_state=0, timestamps=False
    )
    train, test = ds.split("random", test_size=0.1, random_state=0)
    # 8-dim embeddings, hidden (32, 4) as in the course; the per-user bias on.
    m = _neural(ds.n_users, ds.n_items, mean=float(train.rating.mean()), user_bias=True)
    trainer = Trainer(
        epochs=15,
        batch_size=1024,
        learning_rate=0.02,
        l2_user=0.01,
        l2_item=0.01,
        patience=3,
        progress=False,
        random_state=0,
    )
    trainer.fit(m, train, validation=test)
    assert evaluate(m, test)["rmse"] <= 1.10 * truth.noise_std
    fitted = m.item_bias.weight.detach().numpy().ravel()
    assert spearmanr(fitted, truth.item_bias).statistic >= 0.9


# ------------------------------------------------------------- every option counts
BASE_MF = {"embedding_dim": 8, "init": "normal", "init_std": 0.1}
BASE_NEURAL = {"hidden": (8, 4), "dropout": 0.0}
BASE_TRAINER = {
    "epochs": 2,
    "batch_size": 500,
    "learning_rate": 0.01,
    "optimizer": "adam",
    "l2_user": 0.01,
    "l2_item": 0.01,
    "l2_bias": 0.0,
    "l2_mode": "batch",
    "schedule": None,
}
CHANGES = [
    ("mf", {"embedding_dim": 4}, {}),
    ("mf", {"init": "glorot_uniform"}, {}),
    ("mf", {"init_std": 0.2}, {}),
    ("mf", {"user_bias": False}, {}),
    ("mf", {"item_bias": False}, {}),
    ("mf", {"global_bias": False}, {}),
    ("mf", {"squash": (1, 5)}, {}),
    ("mf", {}, {"learning_rate": 0.02}),
    ("mf", {}, {"batch_size": 400}),
    ("mf", {}, {"epochs": 3}),
    ("mf", {}, {"optimizer": "adagrad"}),
    ("mf", {}, {"optimizer": "sgd"}),
    ("mf", {}, {"l2_user": 0.1}),
    ("mf", {}, {"l2_item": 0.1}),
    ("mf", {}, {"l2_bias": 0.1}),
    ("mf", {}, {"l2_mode": "table"}),
    ("mf", {}, {"schedule": "cosine"}),
    ("mf", {}, {"schedule": "exponential", "lr_gamma": 0.5}),
    ("mf", {}, {"schedule": "step", "lr_step_size": 1}),
    ("mf", {}, {"random_state": 1}),
    ("neural", {"dropout": 0.3}, {}),
    ("neural", {"hidden": (16,)}, {}),
    ("neural", {"user_dim": 4}, {}),
    ("neural", {"item_dim": 4}, {}),
    ("neural", {"user_bias": True}, {}),
    ("neural", {"init": "normal"}, {}),
    ("neural", {}, {"l2_item": 0.1}),
]


def _run(small, family: str, module_opts: dict, trainer_opts: dict) -> np.ndarray:
    train, test, n_users, n_items = small
    if family == "mf":
        m = _mf(n_users, n_items, **{**BASE_MF, **module_opts})
    else:
        m = _neural(n_users, n_items, **{**BASE_NEURAL, **module_opts})
    Trainer(**{**BASE_TRAINER, "random_state": 0, "progress": False, **trainer_opts}).fit(m, train)
    return predict(m, test.user_index, test.item_index)


@pytest.fixture(scope="module")
def baselines(small):
    return {family: _run(small, family, {}, {}) for family in ("mf", "neural")}


@pytest.mark.parametrize(("family", "module_opts", "trainer_opts"), CHANGES, ids=lambda v: str(v))
def test_every_hyperparameter_changes_the_result(
    small, baselines, family, module_opts, trainer_opts
) -> None:
    changed = _run(small, family, module_opts, trainer_opts)
    assert np.isfinite(changed).all()
    assert not np.allclose(changed, baselines[family], rtol=0, atol=1e-6)


# ------------------------------------------------------------------ determinism
@pytest.mark.parametrize("family", ["mf", "neural"])
def test_same_random_state_gives_identical_weights(small, family) -> None:
    train, test, n_users, n_items = small

    def once() -> dict[str, torch.Tensor]:
        m = _mf(n_users, n_items) if family == "mf" else _neural(n_users, n_items, dropout=0.2)
        Trainer(
            epochs=2,
            batch_size=300,
            learning_rate=0.01,
            random_state=7,
            progress=False,
            device="auto",
        ).fit(m, train, validation=test)
        return _weights(m)

    assert _same(once(), once())


# ------------------------------------------------------ history, early stopping
def test_history_records_every_epoch(small) -> None:
    train, test, n_users, n_items = small
    m = _mf(n_users, n_items)
    h = Trainer(
        epochs=3,
        batch_size=500,
        learning_rate=0.01,
        schedule="step",
        lr_step_size=2,
        progress=False,
    ).fit(m, train, validation=test)
    assert isinstance(h, History) and len(h) == 3
    df = h.to_pandas()
    assert list(df.columns) == [
        "epoch",
        "train_loss",
        "val_rmse",
        "val_mae",
        "seconds",
        "learning_rate",
    ]
    assert df["epoch"].tolist() == [1, 2, 3]
    assert df["learning_rate"].tolist() == pytest.approx([0.01, 0.01, 0.005])
    assert (df["val_mae"] <= df["val_rmse"]).all() and (df["seconds"] > 0).all()
    json.dumps(h.to_list())
    assert h[-1]["val_rmse"] == pytest.approx(evaluate(m, test)["rmse"], rel=1e-6)


def test_early_stopping_restores_the_best_epoch(small) -> None:
    train, test, n_users, n_items = small
    m = _mf(n_users, n_items, embedding_dim=32)
    trainer = Trainer(
        epochs=30, batch_size=200, learning_rate=0.05, patience=2, progress=False, random_state=0
    )
    h = trainer.fit(m, train, validation=test)
    rmses = h.column("val_rmse")
    best = int(np.argmin(rmses)) + 1
    assert trainer.stopped_early_ and len(h) == best + 2 < 30
    assert trainer.best_epoch_ == best
    assert evaluate(m, test)["rmse"] == pytest.approx(rmses[best - 1], rel=1e-6)
    assert evaluate(m, test)["rmse"] < rmses[-1]


def test_callbacks_can_stop(small) -> None:
    train, test, n_users, n_items = small
    seen = []

    class Stopper:
        def on_epoch_end(self, epoch, logs):
            seen.append((epoch, sorted(logs)))
            return epoch == 2

    t = Trainer(epochs=10, batch_size=500, callbacks=[Stopper()], progress=False)
    assert len(t.fit(_mf(n_users, n_items), train, validation=test)) == 2
    assert seen[0] == (
        1,
        ["epoch", "learning_rate", "seconds", "train_loss", "val_mae", "val_rmse"],
    )
    t = Trainer(epochs=10, batch_size=500, callbacks=lambda epoch, logs: epoch >= 3, progress=False)
    assert len(t.fit(_mf(n_users, n_items), train)) == 3
    t = Trainer(
        epochs=10, batch_size=500, learning_rate=0.01, callbacks=[StopAfter(10.0)], progress=False
    )
    assert len(t.fit(_mf(n_users, n_items), train, validation=test)) == 1


def test_non_finite_loss_raises_with_a_hint(small) -> None:
    train, _, n_users, n_items = small
    t = Trainer(epochs=3, batch_size=500, learning_rate=1e6, optimizer="sgd", progress=False)
    with pytest.raises(TrainingDivergedError, match="lower learning_rate"):
        t.fit(_mf(n_users, n_items), train)


def test_progress_bar_goes_to_stderr(small, capsys) -> None:
    train, _, n_users, n_items = small
    Trainer(epochs=1, batch_size=1000, progress=True).fit(_mf(n_users, n_items), train)
    out = capsys.readouterr()
    assert "epoch 1/1" in out.err and out.out == ""


# ------------------------------------------------------------------ sparse updates
@pytest.mark.parametrize("optimizer", ["adam", "adagrad", "sgd"])
def test_sparse_optimizers_touch_only_batch_rows(optimizer) -> None:
    m = _mf(10, 8, embedding_dim=4)
    before = _weights(m)
    users, items = np.array([0, 1, 2, 3]), np.array([0, 1, 1, 2])
    ratings = np.array([4.0, 3.0, 5.0, 1.0], dtype=np.float32)
    Trainer(
        epochs=1,
        batch_size=4,
        learning_rate=0.05,
        optimizer=optimizer,
        l2_user=0.1,
        l2_item=0.1,
        l2_bias=0.1,
        progress=False,
    ).fit(m, (users, items, ratings))
    after = _weights(m)
    for key, touched in (("user", [0, 1, 2, 3]), ("item", [0, 1, 2])):
        for table in (f"{key}_embedding.weight", f"{key}_bias.weight"):
            untouched = [r for r in range(before[table].shape[0]) if r not in touched]
            assert torch.equal(after[table][untouched], before[table][untouched]), table
            assert not torch.equal(after[table][touched], before[table][touched]), table


def test_table_mode_moves_every_row() -> None:
    m = _mf(10, 8, embedding_dim=4)
    before = _weights(m)
    data = (np.array([0, 1]), np.array([0, 1]), np.array([4.0, 3.0], dtype=np.float32))
    Trainer(
        epochs=1, batch_size=2, learning_rate=0.05, l2_user=0.1, l2_mode="table", progress=False
    ).fit(m, data)
    assert not torch.equal(m.user_embedding.weight[5], before["user_embedding.weight"][5])
    assert torch.equal(
        m.item_embedding.weight[5], before["item_embedding.weight"][5]
    )  # l2_item = 0


# --------------------------------------------------------------------- checkpoints
@pytest.mark.parametrize("family", ["mf", "neural"])
def test_resume_from_checkpoint_equals_an_uninterrupted_run(small, tmp_path, family) -> None:
    train, test, n_users, n_items = small

    def module():
        return _mf(n_users, n_items) if family == "mf" else _neural(n_users, n_items, dropout=0.2)

    opts = {
        "batch_size": 300,
        "learning_rate": 0.01,
        "random_state": 3,
        "progress": False,
        "patience": 3,
    }
    straight = module()
    h_straight = Trainer(epochs=4, **opts).fit(straight, train, validation=test)

    first = module()
    (tmp_path / ".epoch-0001.killed").mkdir(parents=True)  # what a run killed mid-save leaves
    Trainer(epochs=2, **opts).fit(first, train, validation=test, checkpoint_dir=tmp_path)
    assert json.loads((tmp_path / "latest.json").read_text())["epoch"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch-0002", "latest.json"]
    # Tensors in safetensors, the rest in JSON: nothing to unpickle.
    assert sorted(p.name for p in (tmp_path / "epoch-0002").iterdir()) == [
        "best.safetensors",
        "model.safetensors",
        "optimizer.safetensors",
        "state.json",
    ]
    resumed = module()  # fresh weights: everything must come from the checkpoint
    h_resumed = Trainer(epochs=4, **opts).fit(
        resumed, train, validation=test, checkpoint_dir=tmp_path, resume=True
    )
    assert _same(_weights(straight), _weights(resumed))
    assert h_resumed.column("val_rmse") == h_straight.column("val_rmse")


def test_checkpoint_misuse_is_a_clear_error(small, tmp_path) -> None:
    train, _, n_users, n_items = small
    Trainer(epochs=1, batch_size=1000, progress=False).fit(
        _mf(n_users, n_items), train, checkpoint_dir=tmp_path
    )
    with pytest.raises(ValueError, match="resume=True"):
        Trainer(epochs=2, batch_size=1000, progress=False).fit(
            _mf(n_users, n_items), train, checkpoint_dir=tmp_path
        )
    with pytest.raises(ValueError, match="batch_size"):
        Trainer(epochs=2, batch_size=500, progress=False).fit(
            _mf(n_users, n_items), train, checkpoint_dir=tmp_path, resume=True
        )
    with pytest.raises(ValueError, match="checkpoint_dir"):
        Trainer(progress=False).fit(_mf(n_users, n_items), train, resume=True)
    # Resuming from an empty folder simply starts.
    h = Trainer(epochs=1, batch_size=1000, progress=False).fit(
        _mf(n_users, n_items), train, checkpoint_dir=tmp_path / "new", resume=True
    )
    assert len(h) == 1


# ----------------------------------------------------------------- bad arguments
@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"learning_rate": -1}, "learning_rate"),
        ({"optimizer": "rmsprop"}, "optimizer"),
        ({"schedule": "linear"}, "schedule"),
        ({"l2_user": -1e-3}, "l2_user"),
        ({"l2_mode": "keras"}, "l2_mode"),
        ({"patience": 0}, "patience"),
        ({"device": "tpu"}, "device"),
        ({"random_state": -1}, "random_state"),
    ],
)
def test_bad_options(options, match) -> None:
    with pytest.raises(ValueError, match=match):
        Trainer(**options)


def test_bad_data(small) -> None:
    train, _, n_users, n_items = small
    t = Trainer(progress=False)
    with pytest.raises(DataError, match="user indices"):
        t.fit(_mf(n_users - 1, n_items), train)
    with pytest.raises(ValueError, match="validation"):
        Trainer(patience=2, progress=False).fit(_mf(n_users, n_items), train)
    with pytest.raises(DataError, match="tuple"):
        t.fit(_mf(n_users, n_items), "ratings.csv")


def test_num_threads_applies_during_fit_only(small) -> None:
    train, _, n_users, n_items = small
    before = torch.get_num_threads()
    seen = []
    t = Trainer(
        epochs=1,
        batch_size=1000,
        n_threads=1,
        progress=False,
        callbacks=lambda e, logs: seen.append(torch.get_num_threads()),
    )
    t.fit(_mf(n_users, n_items), train)
    assert seen == [1] and torch.get_num_threads() == before


def test_device_auto() -> None:
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            Trainer(device="cuda")


def test_lazy_adam_matches_torch_sparse_adam() -> None:
    from embedlab.training._optim import LazyAdam

    gen = _gen(5)
    w_lazy = torch.nn.Parameter(torch.randn(50, 4, generator=gen))
    w_ref = torch.nn.Parameter(w_lazy.detach().clone())
    lazy, ref = LazyAdam([w_lazy], lr=0.05), torch.optim.SparseAdam([w_ref], lr=0.05)
    with torch.sparse.check_sparse_tensor_invariants(enable=False):
        for _ in range(5):
            idx = torch.randint(0, 30, (40,), generator=gen)  # rows 30..49 never touched
            vals = torch.randn(40, 4, generator=gen)
            for w, opt in ((w_lazy, lazy), (w_ref, ref)):
                w.grad = torch.sparse_coo_tensor(idx[None], vals, (50, 4))
                opt.step()
    assert torch.allclose(w_lazy, w_ref, atol=1e-6)
    assert torch.equal(w_lazy[30:], w_ref[30:])


def test_a_stopped_run_stays_stopped_when_resumed(small, tmp_path) -> None:
    train, test, n_users, n_items = small
    opts = {
        "batch_size": 500,
        "random_state": 0,
        "progress": False,
        "callbacks": lambda e, logs: e == 2,
    }
    m = _mf(n_users, n_items)
    Trainer(epochs=5, **opts).fit(m, train, validation=test, checkpoint_dir=tmp_path)
    done = _weights(m)
    again = _mf(n_users, n_items, seed=9)
    trainer = Trainer(epochs=5, **opts)
    h = trainer.fit(again, train, validation=test, checkpoint_dir=tmp_path, resume=True)
    assert len(h) == 2 and trainer.stopped_early_
    assert _same(done, _weights(again))


@pytest.mark.parametrize("n_rows", [10, 10_000])
def test_distinct_rows_equals_torch_unique(n_rows) -> None:
    from embedlab.training._optim import _distinct_rows

    flat = torch.randint(0, n_rows, (300,), generator=_gen(1))
    rows, inverse = _distinct_rows(flat, n_rows)
    ref_rows, ref_inverse = torch.unique(flat, return_inverse=True)
    assert torch.equal(rows, ref_rows) and torch.equal(inverse, ref_inverse)


def test_batch_and_single_predictions_agree(small) -> None:
    train, test, n_users, n_items = small
    m = _neural(n_users, n_items, dropout=0.3)
    Trainer(epochs=1, batch_size=500, progress=False, random_state=0).fit(m, train)
    u, i = test.user_index[:20], test.item_index[:20]
    whole = predict(m, u, i)
    assert whole.dtype == np.float32 and whole.shape == (20,)
    assert np.allclose(predict(m, u, i, batch_size=3), whole, rtol=0, atol=1e-6)
    single = np.array([predict(m, [a], [b])[0] for a, b in zip(u, i, strict=True)])
    assert np.allclose(single, whole, rtol=0, atol=1e-6)
    assert evaluate(m, (u, i, test.rating[:20]))["rmse"] == pytest.approx(
        float(np.sqrt(np.mean((whole - test.rating[:20]) ** 2))), rel=1e-5
    )


def test_num_threads_is_the_deprecated_name_of_n_threads() -> None:
    with pytest.warns(FutureWarning, match=r"num_threads= is deprecated.*use n_threads="):
        t = Trainer(num_threads=1)
    assert t.n_threads == t.num_threads == 1
    with pytest.raises(ValueError, match="n_threads=0: expected an integer >= 1"):
        Trainer(n_threads=0)
