"""``embedlab experiment``: the course's experiments (embedding size, biases, L2) on a dataset.

Every command loads ``DATA`` with :func:`embedlab.data.load`, holds out a random
validation fraction, runs one function of :mod:`embedlab.evaluation` and prints a
summary table (final and best validation RMSE per setting), or the per-epoch rows as
JSON. ``--out`` writes the per-epoch rows as CSV. A new experiment is one more command
built on :func:`_prepare` and :func:`_report`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer

from embedlab.cli._app import app
from embedlab.exceptions import DataError

experiment_app = typer.Typer(
    help="Run the course's experiments: embedding size, biases, L2 strength.",
    no_args_is_help=True,
)
app.add_typer(experiment_app, name="experiment")

DataArg = Annotated[
    Path, typer.Argument(help="A MovieLens folder or zip, or a CSV/TSV/Parquet ratings file.")
]
ModelOpt = Annotated[str, typer.Option("--model", help="mf (matrix factorization) or neural.")]
FractionOpt = Annotated[
    float,
    typer.Option("--validation-fraction", help="Random share of the ratings held out."),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the split and of every fit.")]
EpochsOpt = Annotated[
    int | None, typer.Option("--epochs", help="Passes over the data (default: the model's).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the per-epoch rows as JSON.")]
OutOpt = Annotated[
    Path | None, typer.Option("--out", help="Also write the per-epoch rows to this CSV file.")
]
PerEpochOpt = Annotated[
    bool, typer.Option("--per-epoch", help="Print every epoch, not one row per setting.")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]


def _numbers(text: str, option: str, cast: Any) -> list[Any]:
    try:
        values = [cast(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise DataError(
            f"{option} {text!r}: expected numbers separated by commas, e.g. {option} 2,4,8"
        ) from None
    if not values:
        raise DataError(f"{option} {text!r}: give at least one value")
    return values


def _prepare(data: Path, fraction: float, seed: int) -> tuple[Any, Any]:
    """Load ``data`` and split off a random validation fraction."""
    from embedlab.data import load

    if not (0 < fraction < 1):
        raise DataError(f"--validation-fraction {fraction}: expected a fraction in (0, 1)")
    dataset = load(data)
    train, validation = dataset.split("random", test_size=fraction, seed=seed)
    return train, validation


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run an experiment; turn bad options into a user error."""
    try:
        return fn(*args, **kwargs)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(str(exc)) from None


_HEADERS = {
    "train_loss": "train loss",
    "val_rmse": "val RMSE",
    "val_mae": "val MAE",
    "final_train_loss": "train loss",
    "final_val_rmse": "val RMSE",
    "final_val_mae": "val MAE",
    "best_val_rmse": "best RMSE",
    "best_epoch": "at epoch",
    "seconds": "s",
}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.4g}" if value >= 10 else f"{value:.4f}"
    return str(value)


def _report(
    curves: Any,
    by: str,
    title: str,
    *,
    as_json: bool,
    out: Path | None,
    per_epoch: bool,
) -> None:
    """Write ``--out``, then print JSON or a table (one row per setting, or per epoch)."""
    from embedlab.evaluation import curve_summary

    if out is not None:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            curves.to_csv(out, index=False)
        except OSError as exc:
            raise DataError(f"--out {out}: cannot write ({exc.strerror or exc})") from None
    if as_json:
        records = json.loads(curves.to_json(orient="records"))
        typer.echo(json.dumps({"experiment": title, "by": by, "rows": records}, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    frame = curves if per_epoch else curve_summary(curves, by)
    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        header = _HEADERS.get(column, column)
        table.add_column(header, justify="left" if column == by else "right")
    best = None
    if not per_epoch and frame["best_val_rmse"].notna().any():
        best = int(frame["best_val_rmse"].to_numpy().argmin())
    for i, row in enumerate(frame.to_dict("records")):
        cells = [_fmt(v) for v in row.values()]
        table.add_row(*cells, style="bold green" if i == best else None)
    Console().print(table)
    if out is not None:
        typer.echo(f"per-epoch rows written to {out}")


@experiment_app.command("size-sweep")
def size_sweep(
    data: DataArg,
    sizes: Annotated[
        str, typer.Option("--sizes", help="Embedding sizes, comma separated.")
    ] = "2,4,8,16,32,64,128",
    model: ModelOpt = "mf",
    epochs: EpochsOpt = None,
    validation_fraction: FractionOpt = 0.1,
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
    out: OutOpt = None,
    per_epoch: PerEpochOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Validation error against embedding size: where capacity turns into overfitting.

    Example: embedlab experiment size-sweep ~/data/ml-100k --sizes 2,8,32 --epochs 20
    """
    from embedlab import evaluation

    values = _numbers(sizes, "--sizes", int)
    train, validation = _prepare(data, validation_fraction, seed)
    curves = _call(
        evaluation.size_sweep,
        train,
        validation,
        values,
        model=model,
        epochs=epochs,
        random_state=seed,
        progress=not (quiet or as_json),
    )
    _report(
        curves,
        "size",
        f"size sweep ({model})",
        as_json=as_json,
        out=out,
        per_epoch=per_epoch,
    )


@experiment_app.command("biases")
def biases(
    data: DataArg,
    variants: Annotated[
        str, typer.Option("--variants", help="Any of on, off, global; comma separated.")
    ] = "on,off",
    size: Annotated[
        int | None, typer.Option("--size", help="Embedding size (default: the model's).")
    ] = None,
    model: ModelOpt = "mf",
    epochs: EpochsOpt = None,
    validation_fraction: FractionOpt = 0.1,
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
    out: OutOpt = None,
    per_epoch: PerEpochOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Validation error with biases (μ + b_u + b_i) on against off (plain dot product).

    Example: embedlab experiment biases ~/data/ml-100k --size 32 --epochs 20
    """
    from embedlab import evaluation

    names = [v.strip() for v in variants.split(",") if v.strip()]
    train, validation = _prepare(data, validation_fraction, seed)
    curves = _call(
        evaluation.bias_experiment,
        train,
        validation,
        names,
        model=model,
        epochs=epochs,
        random_state=seed,
        progress=not (quiet or as_json),
        **_size_kwargs(model, size),
    )
    _report(
        curves,
        "biases",
        f"biases on/off ({model})",
        as_json=as_json,
        out=out,
        per_epoch=per_epoch,
    )


@experiment_app.command("l2")
def l2(
    data: DataArg,
    strengths: Annotated[
        str, typer.Option("--strengths", help="L2 strengths, comma separated.")
    ] = "0,0.001,0.01,0.03,0.06,0.1,0.3",
    size: Annotated[
        int | None, typer.Option("--size", help="Embedding size (default: the model's).")
    ] = None,
    model: ModelOpt = "mf",
    epochs: EpochsOpt = None,
    validation_fraction: FractionOpt = 0.1,
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
    out: OutOpt = None,
    per_epoch: PerEpochOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Validation error against the L2 strength on user and item vectors.

    Example: embedlab experiment l2 ~/data/ml-100k --strengths 0,0.01,0.1 --size 32
    """
    from embedlab import evaluation

    values = _numbers(strengths, "--strengths", float)
    train, validation = _prepare(data, validation_fraction, seed)
    curves = _call(
        evaluation.l2_sweep,
        train,
        validation,
        values,
        model=model,
        epochs=epochs,
        random_state=seed,
        per_epoch=True,
        progress=not (quiet or as_json),
        **_size_kwargs(model, size),
    )
    _report(
        curves,
        "l2",
        f"L2 sweep ({model})",
        as_json=as_json,
        out=out,
        per_epoch=per_epoch,
    )


def _size_kwargs(model: str, size: int | None) -> dict[str, int]:
    if size is None:
        return {}
    if size < 1:
        raise DataError(f"--size {size}: expected an integer >= 1")
    return {"user_dim": size, "item_dim": size} if model == "neural" else {"embedding_dim": size}
