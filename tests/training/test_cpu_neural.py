"""The compiled epoch of the neural model: the torch loop's arithmetic, its own dropout."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from embedlab import NeuralEmbeddingModel
from embedlab.data import synthetic_ratings
from embedlab.nn import MFModule, NeuralModule
from embedlab.training import Trainer, evaluate
from embedlab.training._cpu_neural_kernels import _keep


def _data(n_users: int = 60, n_items: int = 45, n: int = 3000, seed: int = 0):
    rng = np.random.default_rng(seed)
    u = rng.integers(0, n_users, n)
    i = rng.integers(0, n_items, n)
    r = rng.uniform(1, 5, n).astype(np.float32)
    return u, i, r


def _module(n_users: int = 60, n_items: int = 45, **options) -> NeuralModule:
    m = NeuralModule(n_users, n_items, 8, 8, generator=torch.Generator().manual_seed(0), **options)
    if m.global_bias is not None:
        with torch.no_grad():
            m.global_bias.fill_(3.0)
    return m


def _fit(
    module: torch.nn.Module, engine: str, data, *, checkpoint_dir=None, resume=False, **options
) -> Trainer:
    opts = {
        "epochs": 3,
        "batch_size": 700,
        "learning_rate": 0.01,
        "l2_user": 0.1,
        "l2_item": 0.05,
        "l2_bias": 0.02,
        "progress": False,
        "random_state": 0,
        **options,
    }
    trainer = Trainer(engine=engine, **opts)
    trainer.fit(module, data, checkpoint_dir=checkpoint_dir, resume=resume)
    return trainer


def _max_diff(a: torch.nn.Module, b: torch.nn.Module) -> float:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    return max(float((sa[k] - sb[k]).abs().max()) for k in sa)


# Every structural option of NeuralModule that changes the arithmetic of a step.
VARIANTS = [
    {},
    {"dot": True, "user_bias": True},
    {"hidden": (), "dot": True},
    {"hidden": (16, 8, 4)},
    {"squash": (1.0, 5.0), "user_bias": True, "hidden": (8,)},
    {"global_bias": False, "item_bias": False},
]


@pytest.mark.parametrize("options", VARIANTS, ids=lambda o: json.dumps(o) if o else "course")
def test_without_dropout_the_compiled_epoch_equals_the_torch_loop(options, tmp_path) -> None:
    """Same data order, same loss, L2, lazy Adam and Adam: the weights agree to float rounding.

    Two float32 implementations sum each pre-activation in their own order, so one that
    lies within rounding of 0 can fall on either side of a ReLU, and the runs part from
    there (seed 0's data has one, -1e-8, in the course network's third step). Seed 1's
    data has none in these epochs; a real error moves every parameter (a wrong
    gradient buffer showed 0.13 here)."""
    data = _data(seed=1)
    start = _module(**options)
    ref, fast = copy.deepcopy(start), copy.deepcopy(start)
    t_ref = _fit(ref, "torch", data)
    t_fast = _fit(fast, "compiled", data, checkpoint_dir=tmp_path)
    assert (t_ref.engine_, t_fast.engine_) == ("torch", "compiled")
    assert _max_diff(ref, fast) < 1e-5
    assert _max_diff(start, fast) > 1e-3  # it did train
    loss_ref = t_ref.history_.column("train_loss")
    loss_fast = t_fast.history_.column("train_loss")
    assert loss_fast == pytest.approx(loss_ref, rel=1e-5)
    # The optimizers' state is the torch optimizers' own, step counts included.
    state = load_file(str(tmp_path / "epoch-0003" / "optimizer.safetensors"))
    steps = {float(v) for k, v in state.items() if k.endswith(".step")}
    assert steps == {3.0 * 5}  # 3 epochs of ceil(3000 / 700) steps


def test_untouched_rows_and_their_moments_stay_put() -> None:
    m = _module()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    users, items = np.array([0, 1, 2, 3]), np.array([0, 1, 1, 2])
    ratings = np.array([4.0, 3.0, 5.0, 1.0], dtype=np.float32)
    _fit(m, "compiled", (users, items, ratings), epochs=1, batch_size=4)
    after = m.state_dict()
    for table, touched in (
        ("user_embedding.weight", [0, 1, 2, 3]),
        ("item_embedding.weight", [0, 1, 2]),
    ):
        untouched = [r for r in range(before[table].shape[0]) if r not in touched]
        assert torch.equal(after[table][untouched], before[table][untouched]), table
        assert not torch.equal(after[table][touched], before[table][touched]), table


def test_dropout_masks_are_seeded_and_independent_of_the_thread_count() -> None:
    data = _data()
    runs = []
    for threads in (1, 2, 2):
        m = _module(dropout=0.3)
        _fit(m, "compiled", data, n_threads=threads)
        runs.append(m.state_dict())
    for other in runs[1:]:
        assert all(torch.equal(runs[0][k], other[k]) for k in runs[0])
    m = _module(dropout=0.3)
    _fit(m, "compiled", data, random_state=1)
    assert not torch.equal(m.mlp[0].weight, runs[0]["mlp.0.weight"])


def test_dropout_keeps_units_at_the_rate_asked() -> None:
    seed = np.uint64(12345)
    for p in (0.1, 0.3, 0.5):
        threshold = np.uint64(p * 16777216.0)
        kept = np.mean([_keep(seed, np.uint64(c), threshold) for c in range(40_000)])
        assert kept == pytest.approx(1 - p, abs=0.01)


def test_dropout_changes_training_and_is_off_at_prediction() -> None:
    data = _data()
    plain, dropped = _module(), _module(dropout=0.5)
    _fit(plain, "compiled", data)
    _fit(dropped, "compiled", data)
    diff = (plain.item_embedding.weight - dropped.item_embedding.weight).detach()
    assert float(diff.abs().max()) > 1e-3
    u, i, r = data
    first = evaluate(dropped, (u, i, r))
    assert evaluate(dropped, (u, i, r)) == first  # no masks outside training


def test_resume_from_checkpoint_equals_an_uninterrupted_run(tmp_path) -> None:
    data = _data()
    opts = {"random_state": 3, "patience": 3}
    val = _data(seed=1)

    def run(module, epochs, **extra):
        t = Trainer(
            engine="compiled",
            epochs=epochs,
            batch_size=500,
            learning_rate=0.01,
            progress=False,
            **opts,
        )
        t.fit(module, data, validation=val, **extra)
        return t

    straight = _module(dropout=0.2)
    t_straight = run(straight, 4)
    run(_module(dropout=0.2), 2, checkpoint_dir=tmp_path)
    resumed = _module(dropout=0.2)
    t_resumed = run(resumed, 4, checkpoint_dir=tmp_path, resume=True)
    assert _max_diff(straight, resumed) == 0.0
    assert t_resumed.history_.column("val_rmse") == t_straight.history_.column("val_rmse")


def test_a_torch_checkpoint_resumes_on_the_compiled_engine(tmp_path) -> None:
    """The optimizer state is shared: two epochs in torch then two compiled (no dropout)."""
    data = _data()
    straight = _module()
    _fit(straight, "torch", data, epochs=4)
    mixed = _module()
    _fit(mixed, "torch", data, epochs=2, checkpoint_dir=tmp_path)
    again = _module()
    _fit(again, "compiled", data, epochs=4, checkpoint_dir=tmp_path, resume=True)
    assert _max_diff(straight, again) < 1e-5


@pytest.mark.parametrize(
    ("module", "options", "reason"),
    [
        (lambda: _module(), {"optimizer": "adagrad"}, "optimizer='adam' only"),
        (lambda: _module(), {"l2_mode": "table"}, "l2_mode='batch' only"),
        (lambda: MFModule(60, 45, 8), {}, "NeuralModule only"),
        (lambda: _module(sparse=False), {}, "sparse tables"),
    ],
    ids=["adagrad", "table-l2", "mf-module", "dense-tables"],
)
def test_auto_falls_back_and_compiled_says_why(module, options, reason) -> None:
    data = _data()
    assert _fit(module(), "auto", data, epochs=1, **options).engine_ == "torch"
    with pytest.raises(ValueError, match=f"engine='compiled' cannot train this model: .*{reason}"):
        _fit(module(), "compiled", data, epochs=1, **options)


def test_auto_picks_the_compiled_engine_on_the_cpu_and_bad_names_fail() -> None:
    assert _fit(_module(), "auto", _data(), epochs=1).engine_ == "compiled"
    with pytest.raises(
        ValueError, match="engine='numba': expected one of 'auto', 'torch', 'compiled'"
    ):
        Trainer(engine="numba")


def test_estimator_engine_parameter() -> None:
    ds, _ = synthetic_ratings(120, 70, 4000, embedding_dim=4, random_state=1, timestamps=False)
    train, test = ds.split("random", test_size=0.2, random_state=0)
    opts = {"embedding_dim": 8, "epochs": 3, "batch_size": 500, "random_state": 0}
    fast = NeuralEmbeddingModel(**opts).fit(train, progress=False)
    slow = NeuralEmbeddingModel(engine="torch", **opts).fit(train, progress=False)
    assert (fast.engine_, slow.engine_) == ("compiled", "torch")
    assert fast.get_params()["engine"] == "auto"
    # Different dropout masks, the same model quality.
    a, b = fast.evaluate(test)["rmse"], slow.evaluate(test)["rmse"]
    assert a != b and a == pytest.approx(b, rel=0.03)


@pytest.fixture
def lock_free(monkeypatch):
    """Every fit runs the lock-free epoch (on any number of threads, one included)."""
    from embedlab.training._cpu_neural import CompiledNeuralEpochs

    monkeypatch.setattr(CompiledNeuralEpochs, "hogwild", lambda self, n: True)


@pytest.mark.parametrize("options", VARIANTS, ids=lambda o: json.dumps(o) if o else "course")
def test_the_lock_free_epoch_on_one_thread_equals_the_torch_loop(options, lock_free) -> None:
    """On one thread the lock-free kernel takes the batches in order: plain Adam steps."""
    data = _data(seed=1)
    start = _module(**options)
    ref, fast = copy.deepcopy(start), copy.deepcopy(start)
    _fit(ref, "torch", data)
    t_fast = _fit(fast, "compiled", data, n_threads=1)
    assert t_fast.engine_ == "compiled"
    assert _max_diff(ref, fast) < 1e-5
    assert _max_diff(start, fast) > 1e-3


def test_lock_free_threads_train_as_well_as_one(lock_free) -> None:
    """Two threads updating shared weights without locks reach the one-thread model's
    error on held-out ratings of a planted low-rank matrix."""
    rng = np.random.default_rng(0)
    n_users, n_items = 300, 200
    P, Q = rng.normal(size=(n_users, 3)), rng.normal(size=(n_items, 3))
    u = rng.integers(0, n_users, 40_000)
    i = rng.integers(0, n_items, 40_000)
    r = (3 + (P[u] * Q[i]).sum(1) + rng.normal(0, 0.3, u.size)).astype(np.float32)
    train, test = slice(0, 36_000), slice(36_000, None)
    errors = []
    for threads in (1, 2):
        m = _module(n_users, n_items, dot=True, dropout=0.1)
        _fit(m, "compiled", (u[train], i[train], r[train]), epochs=8, batch_size=256,
             n_threads=threads)  # fmt: skip
        with torch.no_grad():
            m.eval()
            pred = m(torch.as_tensor(u[test]), torch.as_tensor(i[test])).numpy()
        errors.append(float(np.sqrt(np.mean((pred - r[test]) ** 2))))
    assert errors[0] < 0.6  # it learned the planted factors (their spread is ~1.7)
    assert errors[1] == pytest.approx(errors[0], abs=0.03)


def test_large_data_on_several_threads_runs_lock_free() -> None:
    from embedlab.training._cpu_neural import HOGWILD_FROM, CompiledNeuralEpochs

    m = _module()
    opt = torch.optim.Adam([torch.zeros(1)])
    kernel = CompiledNeuralEpochs(m, opt, None, l2_user=0, l2_item=0, l2_bias=0,
                                  batch_size=8, num_threads=2)  # fmt: skip
    assert kernel.hogwild(HOGWILD_FROM)
    assert not kernel.hogwild(HOGWILD_FROM - 1)
    kernel.num_threads = 1
    assert not kernel.hogwild(HOGWILD_FROM)
