"""``Trainer.fit_epochs``: a caller's own epochs (runner, optimizer, validator) through the
trainer's loop, with values known by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from embedlab.exceptions import TrainingDivergedError
from embedlab.training import History, Trainer


class _Rate:
    """An optimizer as the loop sees it: it records each epoch's rate."""

    def __init__(self) -> None:
        self.rates: list[float] = []

    def set_learning_rate(self, lr: float) -> None:
        self.rates.append(lr)


class _Runner:
    """One gradient step per epoch on ``(w - 1)²`` (two rows): w goes 0 -> lr -> ..."""

    engine = "custom"
    n_batches = 1
    advice = "check the planted runner"

    def __init__(self, module: torch.nn.Linear, losses: list[float] | None = None) -> None:
        self.module, self.losses = module, losses
        self.weights: list[float] = []

    def run_epoch(self, epoch: int, lr: float, advance) -> float:
        w = self.module.weight
        loss = (w - 1.0).square().sum()
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
            w.grad = None
        self.weights.append(float(w.detach()))
        advance(1)
        if self.losses is not None:
            return self.losses[epoch]
        return 2.0 * float(loss.detach())  # the two rows' summed loss


class _Planted:
    """Validation losses given in advance, one per epoch."""

    names = ("val_loss", "val_other")
    label = "loss"

    def __init__(self, values: list[float]) -> None:
        self.values, self.calls = values, 0

    def score(self) -> dict[str, float]:
        v = self.values[self.calls]
        self.calls += 1
        return {"val_loss": v, "val_other": -v}


def _module() -> torch.nn.Linear:
    m = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        m.weight.zero_()
    return m


def test_history_and_rates_by_hand() -> None:
    m, opt = _module(), _Rate()
    runner = _Runner(m)
    t = Trainer(epochs=3, learning_rate=0.25, schedule="step", lr_step_size=1, progress=False)
    history = t.fit_epochs(m, runner, optimizer=opt, n_train=2)
    # w: 0 -> 0.5 (lr 0.25, gradient -2) -> 0.625 (lr 0.125, gradient -1) -> ...
    assert opt.rates == [0.25, 0.125, 0.0625]
    assert runner.weights == pytest.approx([0.5, 0.625, 0.671875])
    # the loss before each step, (w - 1)², summed over two rows and divided by them
    assert [r["train_loss"] for r in history] == pytest.approx([1.0, 0.25, 0.140625])
    assert [r["learning_rate"] for r in history] == [0.25, 0.125, 0.0625]
    # without a validator, the rating fit's columns (the metrics None)
    assert list(history.to_pandas().columns) == list(History.COLUMNS)
    assert history[0]["val_rmse"] is None and history[0]["val_mae"] is None
    assert t.engine_ == "custom" and t.best_epoch_ is None and not t.stopped_early_


def test_early_stopping_on_the_validators_first_metric_restores_its_epoch() -> None:
    m = _module()
    runner, validator = _Runner(m), _Planted([3.0, 2.0, 2.5, 2.6, 1.0])
    seen: list[dict] = []
    t = Trainer(
        epochs=5,
        learning_rate=0.25,
        patience=2,
        progress=False,
        callbacks=lambda epoch, logs: seen.append(logs),
    )
    history = t.fit_epochs(m, runner, optimizer=_Rate(), n_train=2, validator=validator)
    assert len(history) == 4 and t.stopped_early_ and t.best_epoch_ == 2
    assert float(m.weight.detach()) == runner.weights[1]  # epoch 2's weight is back
    assert [r["val_loss"] for r in history] == [3.0, 2.0, 2.5, 2.6]
    assert [r["val_other"] for r in history] == [-3.0, -2.0, -2.5, -2.6]
    assert "val_rmse" not in history[0] and seen[1]["val_loss"] == 2.0
    assert list(history.to_pandas().columns)[:4] == ["epoch", "train_loss", "val_loss", "val_other"]


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_a_non_finite_loss_names_the_runners_advice(bad: float) -> None:
    m = _module()
    t = Trainer(epochs=3, learning_rate=0.1, progress=False)
    with pytest.raises(TrainingDivergedError, match=r"epoch 2 .*check the planted runner"):
        t.fit_epochs(m, _Runner(m, [1.0, bad, 1.0]), optimizer=_Rate(), n_train=1)


def test_a_non_finite_validation_value_is_named() -> None:
    m = _module()
    t = Trainer(epochs=3, learning_rate=0.1, progress=False)
    with pytest.raises(TrainingDivergedError, match="validation loss became nan in epoch 1"):
        t.fit_epochs(m, _Runner(m), optimizer=_Rate(), n_train=2, validator=_Planted([np.nan]))


def test_patience_needs_a_validator() -> None:
    m = _module()
    with pytest.raises(ValueError, match="patience=2 needs validation data"):
        Trainer(epochs=3, patience=2, progress=False).fit_epochs(
            m, _Runner(m), optimizer=_Rate(), n_train=2
        )


def test_progress_shows_the_watched_metric(capsys) -> None:
    m = _module()
    Trainer(epochs=1, learning_rate=0.1, progress=True).fit_epochs(
        m, _Runner(m), optimizer=_Rate(), n_train=2, validator=_Planted([0.5])
    )
    assert "val_loss 0.5000" in capsys.readouterr().err
