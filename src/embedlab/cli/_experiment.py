"""``embedlab experiment``: the course's experiments (embedding size, biases, L2, obscure
recommendations) on a dataset.

Every command loads ``DATA`` with :func:`embedlab.data.load` (the table options of
:mod:`embedlab.cli._load_options` passed on), holds out a random
validation fraction, runs one function of :mod:`embedlab.evaluation` and prints a
summary table (final and best validation RMSE per setting), or the per-epoch rows as
JSON. ``--out`` writes the per-epoch rows as CSV. A new experiment is one more command
built on :func:`_prepare` and :func:`_report`. ``obscurity`` prints its own two tables
(one row per model; a few users' lists) or JSON.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer

from embedlab.cli._app import app
from embedlab.cli._load_options import load_table, load_values, with_load_options
from embedlab.cli._options import (
    Output,
    QuietOpt,
    SeedAliasOpt,
    VerboseOpt,
    output,
    renamed_option,
)
from embedlab.cli._paths import check_output, write_error, write_staged
from embedlab.cli._settings_options import cli_message
from embedlab.exceptions import DataError

experiment_app = typer.Typer(
    help="Run the course's experiments: embedding size, biases, L2 strength, obscure recs.",
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
RandomStateOpt = Annotated[
    int, typer.Option("--random-state", help="Seed of the split and of every fit.")
]
EmbeddingDimOpt = Annotated[
    int | None,
    typer.Option("--embedding-dim", help="Embedding size (default: the model's)."),
]
#: ``--size``, the old name of ``--embedding-dim`` (hidden; warns; removed in the next release).
SizeAliasOpt = Annotated[
    int | None, typer.Option("--size", hidden=True, help="Deprecated: use --embedding-dim.")
]
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


def _start(quiet: bool, verbose: bool, as_json: bool, **settings: Any) -> Output:
    """The command's output, with its settings printed under ``--verbose``; ``--out``
    (``settings["out"]``) checked before any work."""
    if settings.get("out") is not None:
        check_output(settings["out"], "file", "--out")
    say = output(quiet, verbose, as_json)
    say.settings(**settings)
    return say


def _prepare(
    data: Path, fraction: float, random_state: int, say: Output, table: dict[str, Any]
) -> tuple[Any, Any]:
    """Load ``data`` (with the table options given) and split off a random validation
    fraction."""
    if not (0 < fraction < 1):
        raise DataError(f"--validation-fraction {fraction}: expected a fraction in (0, 1)")
    dataset = load_table(data, load_values(table))
    train, validation = dataset.split("random", test_size=fraction, random_state=random_state)
    say.detail(f"{len(train):,} training and {len(validation):,} validation ratings from {data}")
    return train, validation


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run an experiment; turn bad options into a user error."""
    try:
        return fn(*args, **kwargs)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(cli_message(str(exc))) from None


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
    say: Output,
) -> None:
    """Write ``--out``, then print JSON or a table (one row per setting, or per epoch)."""
    say.done(f"{title}: {len(curves):,} per-epoch rows")
    from embedlab.evaluation import curve_summary

    if out is not None:
        try:
            write_staged(out, lambda path: curves.to_csv(path, index=False))
        except OSError as exc:
            raise write_error("--out", out, exc) from None
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
        say.info(f"per-epoch rows written to {out}")


@experiment_app.command("size-sweep")
@with_load_options(after="data")
def size_sweep(
    ctx: typer.Context,
    data: DataArg,
    embedding_dims: Annotated[
        str, typer.Option("--embedding-dims", help="Embedding sizes, comma separated.")
    ] = "2,4,8,16,32,64,128",
    model: ModelOpt = "mf",
    epochs: EpochsOpt = None,
    validation_fraction: FractionOpt = 0.1,
    random_state: RandomStateOpt = 0,
    as_json: JsonOpt = False,
    out: OutOpt = None,
    per_epoch: PerEpochOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    sizes: Annotated[
        str | None,
        typer.Option("--sizes", hidden=True, help="Deprecated: use --embedding-dims."),
    ] = None,
    seed: SeedAliasOpt = None,
    **table: Any,
) -> None:
    """Validation error against embedding size: where capacity turns into overfitting.

    Example: embedlab experiment size-sweep ~/data/ml-100k --embedding-dims 2,8,32 --epochs 20
    """
    from embedlab import evaluation

    embedding_dims = renamed_option(ctx, "embedding_dims", embedding_dims, sizes, "--sizes")
    random_state = renamed_option(ctx, "random_state", random_state, seed, "--seed")
    say = _start(
        quiet,
        verbose,
        as_json,
        data=data,
        embedding_dims=embedding_dims,
        model=model,
        epochs=epochs,
        validation_fraction=validation_fraction,
        random_state=random_state,
        out=out,
    )
    values = _numbers(embedding_dims, "--embedding-dims", int)
    train, validation = _prepare(data, validation_fraction, random_state, say, table)
    curves = _call(
        evaluation.size_sweep,
        train,
        validation,
        values,
        model=model,
        epochs=epochs,
        random_state=random_state,
        progress=say.progress,
    )
    _report(
        curves,
        "size",
        f"size sweep ({model})",
        as_json=as_json,
        out=out,
        per_epoch=per_epoch,
        say=say,
    )


@experiment_app.command("biases")
@with_load_options(after="data")
def biases(
    ctx: typer.Context,
    data: DataArg,
    variants: Annotated[
        str, typer.Option("--variants", help="Any of on, off, global; comma separated.")
    ] = "on,off",
    embedding_dim: EmbeddingDimOpt = None,
    model: ModelOpt = "mf",
    epochs: EpochsOpt = None,
    validation_fraction: FractionOpt = 0.1,
    random_state: RandomStateOpt = 0,
    as_json: JsonOpt = False,
    out: OutOpt = None,
    per_epoch: PerEpochOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    size: SizeAliasOpt = None,
    seed: SeedAliasOpt = None,
    **table: Any,
) -> None:
    """Validation error with biases (μ + b_u + b_i) on against off (plain dot product).

    Example: embedlab experiment biases ~/data/ml-100k --embedding-dim 32 --epochs 20
    """
    from embedlab import evaluation

    embedding_dim = renamed_option(ctx, "embedding_dim", embedding_dim, size, "--size")
    random_state = renamed_option(ctx, "random_state", random_state, seed, "--seed")
    say = _start(
        quiet,
        verbose,
        as_json,
        data=data,
        variants=variants,
        embedding_dim=embedding_dim,
        model=model,
        epochs=epochs,
        validation_fraction=validation_fraction,
        random_state=random_state,
        out=out,
    )
    names = [v.strip() for v in variants.split(",") if v.strip()]
    train, validation = _prepare(data, validation_fraction, random_state, say, table)
    curves = _call(
        evaluation.bias_experiment,
        train,
        validation,
        names,
        model=model,
        epochs=epochs,
        random_state=random_state,
        progress=say.progress,
        **_dim_kwargs(embedding_dim),
    )
    _report(
        curves,
        "biases",
        f"biases on/off ({model})",
        as_json=as_json,
        out=out,
        per_epoch=per_epoch,
        say=say,
    )


@experiment_app.command("l2")
@with_load_options(after="data")
def l2(
    ctx: typer.Context,
    data: DataArg,
    strengths: Annotated[
        str, typer.Option("--strengths", help="L2 strengths, comma separated.")
    ] = "0,0.001,0.01,0.03,0.06,0.1,0.3",
    embedding_dim: EmbeddingDimOpt = None,
    model: ModelOpt = "mf",
    epochs: EpochsOpt = None,
    validation_fraction: FractionOpt = 0.1,
    random_state: RandomStateOpt = 0,
    as_json: JsonOpt = False,
    out: OutOpt = None,
    per_epoch: PerEpochOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    size: SizeAliasOpt = None,
    seed: SeedAliasOpt = None,
    **table: Any,
) -> None:
    """Validation error against the L2 strength on user and item vectors.

    Example: embedlab experiment l2 ~/data/ml-100k --strengths 0,0.01,0.1 --embedding-dim 32
    """
    from embedlab import evaluation

    embedding_dim = renamed_option(ctx, "embedding_dim", embedding_dim, size, "--size")
    random_state = renamed_option(ctx, "random_state", random_state, seed, "--seed")
    say = _start(
        quiet,
        verbose,
        as_json,
        data=data,
        strengths=strengths,
        embedding_dim=embedding_dim,
        model=model,
        epochs=epochs,
        validation_fraction=validation_fraction,
        random_state=random_state,
        out=out,
    )
    values = _numbers(strengths, "--strengths", float)
    train, validation = _prepare(data, validation_fraction, random_state, say, table)
    curves = _call(
        evaluation.l2_sweep,
        train,
        validation,
        values,
        model=model,
        epochs=epochs,
        random_state=random_state,
        per_epoch=True,
        progress=say.progress,
        **_dim_kwargs(embedding_dim),
    )
    _report(
        curves,
        "l2",
        f"L2 sweep ({model})",
        as_json=as_json,
        out=out,
        per_epoch=per_epoch,
        say=say,
    )


def _dim_kwargs(embedding_dim: int | None) -> dict[str, int]:
    if embedding_dim is None:
        return {}
    if embedding_dim < 1:
        raise DataError(f"--embedding-dim {embedding_dim}: expected an integer >= 1")
    return {"embedding_dim": embedding_dim}


#: Seconds of ``experiment obscurity`` per 100,000 training ratings, measured on 2 idle
#: cores (ML-100K's 90 %: 13.4 s in all on 2026-12-07); for the up-front estimate.
OBSCURITY_SECONDS_PER_100K = 15.0


def _duration(minutes: float) -> str:
    if minutes < 1.5:
        return f"{max(5, round(minutes * 60, -1)):.0f} s"
    return f"{minutes:.0f} minutes"


@experiment_app.command("obscurity")
@with_load_options(after="data")
def obscurity(
    ctx: typer.Context,
    data: DataArg,
    test_fraction: Annotated[
        float,
        typer.Option(
            "--test-fraction", help="Random share of the ratings held out for RMSE (0: none)."
        ),
    ] = 0.1,
    random_state: RandomStateOpt = 0,
    n: Annotated[int, typer.Option("--n", help="Recommendations per user.")] = 10,
    min_count: Annotated[
        int,
        typer.Option("--min-count", help="Items with fewer training ratings are obscure."),
    ] = 10,
    filter_min_count: Annotated[
        int,
        typer.Option(
            "--filter-min-count", help="Minimum rating count of the filtered model's items."
        ),
    ] = 100,
    sample_users: Annotated[
        int, typer.Option("--sample-users", help="Users whose lists are shown.")
    ] = 3,
    embedding_dim: EmbeddingDimOpt = None,
    epochs: EpochsOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary and the sample lists as JSON.")
    ] = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    size: SizeAliasOpt = None,
    seed: SeedAliasOpt = None,
    **table: Any,
) -> None:
    """Do the models recommend obscure items? Unregularized MF (trained by SGD, and by
    Adam as in the course), default (L2) MF, and the unregularized MF with a
    minimum-rating-count filter, compared on every user's top n.

    Example: embedlab experiment obscurity ~/data/ml-100k --test-fraction 0.1 --n 10
    """
    from embedlab import evaluation

    embedding_dim = renamed_option(ctx, "embedding_dim", embedding_dim, size, "--size")
    random_state = renamed_option(ctx, "random_state", random_state, seed, "--seed")
    say = _start(
        quiet,
        verbose,
        as_json,
        data=data,
        test_fraction=test_fraction,
        random_state=random_state,
        n=n,
        min_count=min_count,
        filter_min_count=filter_min_count,
        sample_users=sample_users,
        embedding_dim=embedding_dim,
        epochs=epochs,
    )
    if not (0 <= test_fraction < 1):
        raise DataError(f"--test-fraction {test_fraction}: expected a fraction in [0, 1)")
    dataset = load_table(data, load_values(table))
    if test_fraction > 0:
        train, test = dataset.split("random", test_size=test_fraction, random_state=random_state)
    else:
        train, test = dataset, None
    kwargs: dict[str, Any] = dict(_dim_kwargs(embedding_dim))
    if epochs is not None:
        if epochs < 1:
            raise DataError(f"--epochs {epochs}: expected an integer >= 1")
        kwargs["epochs"] = epochs
    # Said up front: the Adam arm (torch, 512 dimensions) is most of the time.
    minutes = len(train) / 100_000 * OBSCURITY_SECONDS_PER_100K / 60

    def note(line: str) -> None:  # progress on stderr: stdout holds the tables
        if not quiet:
            typer.echo(line, err=True)

    note(
        f"3 fits on {len(train):,} ratings; about {_duration(minutes)} on 2 idle cores "
        "(the Adam fit is most of it)"
    )
    result = _call(
        evaluation.obscurity_experiment,
        train,
        test,
        n=n,
        min_count=min_count,
        filter_min_count=filter_min_count,
        sample_users=sample_users,
        random_state=random_state,
        model_kwargs=kwargs,
        progress=say.progress,
        log=note,
    )
    say.done("obscurity experiment")
    if as_json:
        payload = {
            "experiment": "obscurity",
            "settings": {**result.settings, "test_fraction": test_fraction},
            "summary": json.loads(result.summary.to_json(orient="records")),
            "samples": json.loads(result.samples.to_json(orient="records")),
        }
        typer.echo(json.dumps(payload, indent=2, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(
        title=f"obscure recommendations (top {n}; obscure: < {min_count} training ratings)",
        title_justify="left",
    )
    headers = {
        "min_count_filter": "filter ≥",
        "n_users": "users",
        "n_recommendations": "recs",
        "mean_n_ratings": "mean #ratings",
        "median_n_ratings": "median #ratings",
        "obscure_share": "obscure",
        "coverage": "coverage",
        "rmse": "test RMSE",
        "fit_seconds": "fit s",
    }
    for column in result.summary.columns:
        table.add_column(
            headers.get(column, column), justify="left" if column == "model" else "right"
        )
    for row in result.summary.to_dict("records"):
        cells = []
        for column, value in row.items():
            if column in ("obscure_share", "coverage") and not math.isnan(value):
                cells.append(f"{value:.1%}")
            elif column == "min_count_filter":
                cells.append("–" if math.isnan(value) else f"{value:g}")
            else:
                cells.append(_fmt(value))
        table.add_row(*cells)
    console.print(table)
    if len(result.samples):
        lists = Table(title="sample users' lists", title_justify="left")
        for column in ("user", "model", "rank", "item", "label", "n_ratings"):
            lists.add_column(column, justify="right" if column in ("rank", "n_ratings") else "left")
        for row in result.samples.to_dict("records"):
            label = row["label"] if row["label"] is not None else "–"
            lists.add_row(
                str(row["user"]),
                row["model"],
                str(row["rank"]),
                str(row["item"]),
                str(label),
                str(row["n_ratings"]),
            )
        console.print(lists)
