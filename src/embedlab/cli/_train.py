"""``embedlab train`` and ``embedlab evaluate``."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer

from embedlab.cli._app import app
from embedlab.cli._options import JsonOpt, QuietOpt, VerboseOpt, output
from embedlab.exceptions import DataError, UnknownIDError

MODELS = {"mf": "MatrixFactorization", "neural": "NeuralEmbeddingModel"}


def _read_config(path: Path) -> dict[str, Any]:
    """A TOML config: ``model = "mf"|"neural"``, ``validation_split``, and a ``[params]`` table."""
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"--config {path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"--config {path}: not valid TOML ({exc})") from None
    unknown = set(config) - {"model", "validation_split", "params"}
    if unknown:
        raise DataError(
            f"--config {path}: unknown keys {sorted(unknown)}; expected model, validation_split and a [params] table"
        )
    return config


def _model_class(name: str) -> Any:
    from embedlab.models import MatrixFactorization, NeuralEmbeddingModel

    classes = {"mf": MatrixFactorization, "neural": NeuralEmbeddingModel}
    if name not in classes:
        raise DataError(f"--model {name!r}: expected 'mf' or 'neural'")
    return classes[name]


def _hidden(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise DataError(
            f"--hidden {text!r}: expected layer sizes separated by commas, e.g. 32,4"
        ) from None


def _spark_reads(data: str) -> bool:
    """Whether ``--engine spark`` hands ``data`` to Spark to read (a table file, a folder
    of Parquet/CSV parts, a URI) rather than to embedlab's loader (MovieLens folders, zips)."""
    from embedlab.data._movielens import detect_movielens

    if "://" in data or data.startswith("file:"):
        return True
    path = Path(data).expanduser()
    if not path.exists():
        return False  # the loader's "not found" message
    if path.is_dir():
        return detect_movielens(path) is None
    return path.suffix.lower() != ".zip"


def _num(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


@app.command("train")
def train(
    data: Annotated[
        str,
        typer.Argument(
            help="A MovieLens folder or zip, or a CSV/TSV/Parquet ratings file "
            "(with --engine spark also a folder of parts or a Spark URI: hdfs://, s3a://...)."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the model bundle to.")],
    model: Annotated[
        str | None, typer.Option(help="mf (matrix factorization) or neural. Default: mf.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="TOML file: model, validation_split, [params].")
    ] = None,
    embedding_dim: Annotated[
        int | None, typer.Option(help="mf: width of the user and item vectors.")
    ] = None,
    user_dim: Annotated[int | None, typer.Option(help="neural: width of the user table.")] = None,
    item_dim: Annotated[int | None, typer.Option(help="neural: width of the item table.")] = None,
    hidden: Annotated[
        str | None, typer.Option(help="neural: hidden layer sizes, e.g. 32,4.")
    ] = None,
    dropout: Annotated[
        float | None, typer.Option(help="neural: dropout after each hidden layer.")
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Passes over the data.")] = None,
    learning_rate: Annotated[float | None, typer.Option(help="Step size.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Ratings per step (torch engine).")] = None,
    optimizer: Annotated[
        str | None, typer.Option(help="adam, adagrad or sgd (torch engine).")
    ] = None,
    l2_user: Annotated[float | None, typer.Option(help="L2 strength on user vectors.")] = None,
    l2_item: Annotated[float | None, typer.Option(help="L2 strength on item vectors.")] = None,
    l2_bias: Annotated[float | None, typer.Option(help="L2 strength on the biases.")] = None,
    bias_damping: Annotated[
        float | None,
        typer.Option(
            help="mf, sgd and spark engines: extra per-row L2 on the biases (obscure items)."
        ),
    ] = None,
    l2_mode: Annotated[
        str | None, typer.Option(help="batch (per occurrence) or table (Keras).")
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option(
            help="mf: auto, sgd (compiled CPU SGD), torch, als (compiled CPU ALS) or spark "
            "(pyspark ALS; a CSV/TSV/Parquet file is then read by Spark itself). "
            "neural: auto, compiled (fused CPU kernel) or torch."
        ),
    ] = None,
    spark_master: Annotated[
        str | None,
        typer.Option(
            "--spark-master",
            metavar="URL",
            help="--engine spark: Spark master (local[4], spark://host:7077, yarn...). "
            "Default: $EMBEDLAB_SPARK_MASTER or local[*].",
        ),
    ] = None,
    patience: Annotated[
        int | None, typer.Option(help="Early stopping patience (needs --validation-split).")
    ] = None,
    validation_split: Annotated[
        float | None,
        typer.Option(
            help="Hold out the last fraction of the rows for validation "
            "(when Spark reads the file: a fraction chosen by a hash of each pair)."
        ),
    ] = None,
    random_state: Annotated[int | None, typer.Option(help="Seed.")] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu or cuda.")] = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Train a model and save it as a bundle.

    Options mirror the Python parameters; a TOML --config gives defaults that options override.

    Example: embedlab train ~/data/ml-100k --model mf --embedding-dim 32 --out runs/mf32
    """
    from embedlab.data import load

    say = output(quiet, verbose, as_json)
    settings: dict[str, Any] = _read_config(config) if config is not None else {}
    name = model or settings.get("model", "mf")
    cls = _model_class(name)
    params = dict(settings.get("params", {}))
    given = {
        "embedding_dim": embedding_dim,
        "user_dim": user_dim,
        "item_dim": item_dim,
        "hidden": _hidden(hidden),
        "dropout": dropout,
        "epochs": epochs,
        "learning_rate": learning_rate,
        "batch_size": batch_size,
        "optimizer": optimizer,
        "l2_user": l2_user,
        "l2_item": l2_item,
        "l2_bias": l2_bias,
        "bias_damping": bias_damping,
        "l2_mode": l2_mode,
        "engine": engine,
        "patience": patience,
        "random_state": random_state,
        "device": device,
    }
    params.update({k: v for k, v in given.items() if v is not None})
    allowed = cls._param_names()
    wrong = sorted(set(params) - set(allowed))
    if wrong:
        raise DataError(
            f"--model {name}: {', '.join(wrong)} do not apply; its options are {', '.join(allowed)}"
        )
    if "hidden" in params:
        params["hidden"] = tuple(params["hidden"])
    split = validation_split if validation_split is not None else settings.get("validation_split")
    on_spark = params.get("engine") == "spark"
    if spark_master is not None and not on_spark:
        raise DataError(
            f"--spark-master {spark_master}: applies only to --engine spark "
            f"(engine is {params.get('engine', 'auto')!r}); add --engine spark"
        )
    say.settings(
        model=name, validation_split=split, config=config, spark_master=spark_master, **params
    )
    try:
        estimator = cls(**params)
        if on_spark and _spark_reads(data):
            from embedlab.training import fit_spark_als

            say.detail(f"Spark reads {data} itself")
            estimator = fit_spark_als(
                data,
                model=estimator,
                validation_split=split,
                spark_master=spark_master,
                progress=say.progress,
            )
            n_ratings = int(estimator.item_counts_.sum())
        else:
            dataset = load(data)
            n_ratings = len(dataset)
            say.detail(f"loaded {n_ratings:,} ratings from {data}")
            extra = {"spark_master": spark_master} if on_spark else {}
            estimator.fit(dataset, validation_split=split, progress=say.progress, **extra)
    except ImportError as exc:
        raise DataError(str(exc)) from None
    except (TypeError, ValueError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(str(exc)) from None
    from embedlab.training import is_main_process

    if not is_main_process():  # under torchrun every rank holds the same model: rank 0 saves
        return
    if verbose and not say.progress:  # with progress shown, the epochs were printed already
        for row in estimator.history_:
            shown = ", ".join(f"{k} {_num(v)}" for k, v in row.items() if k != "epoch")
            say.detail(f"epoch {row['epoch']}: {shown}")
    path = estimator.save(out)
    say.done("trained and saved")
    last = estimator.history_[-1] if len(estimator.history_) else {}
    result = {
        "model": MODELS[name],
        "out": str(path),
        "epochs": last.get(
            "epoch", len(estimator.history_)
        ),  # spark: one record, epoch = iterations
        "train_loss": last.get("train_loss"),
        "val_rmse": last.get("val_rmse"),
        "val_mae": last.get("val_mae"),
    }
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    metrics = (
        f", validation RMSE {result['val_rmse']:.4f}, MAE {result['val_mae']:.4f}"
        if result["val_rmse"]
        else ""
    )
    say.info(
        f"trained {result['model']} on {n_ratings:,} ratings for {result['epochs']} epochs{metrics}"
    )
    say.wrote(path, f"saved to {path}")


@app.command("evaluate")
def evaluate(
    model_dir: Annotated[
        Path, typer.Argument(help="A model bundle written by embedlab train or model.save().")
    ],
    data: Annotated[
        Path, typer.Option("--data", help="Ratings to score: MovieLens folder/zip or a table.")
    ],
    fallback: Annotated[
        bool,
        typer.Option(
            "--fallback", help="Score unknown users/items with the biases instead of failing."
        ),
    ] = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Print the RMSE and MAE of a saved model on a ratings file.

    Example: embedlab evaluate runs/mf32 --data ~/data/ml-100k/u1.test
    """
    from embedlab.data import load
    from embedlab.models import load as load_model

    say = output(quiet, verbose, as_json)
    say.settings(model_dir=model_dir, data=data, fallback=fallback)
    estimator = load_model(str(model_dir))
    dataset = load(data)
    say.detail(f"loaded {type(estimator).__name__} and {len(dataset):,} ratings")
    try:
        metrics = estimator.evaluate(dataset, unknown="fallback" if fallback else "error")
    except UnknownIDError as exc:
        raise DataError(str(exc).replace("pass unknown='fallback'", "pass --fallback")) from None
    say.done("evaluated")
    if as_json:
        say.result(json.dumps(metrics, indent=2))
    else:
        say.result(
            f"RMSE {metrics['rmse']:.4f}  MAE {metrics['mae']:.4f}  ({len(dataset):,} ratings)"
        )
