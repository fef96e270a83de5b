"""``embedlab train``, ``embedlab evaluate`` and ``embedlab info``: the commands that make
and read model bundles."""

from __future__ import annotations

import contextlib
import json
import time
import tomllib
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer

from embedlab.cli._app import app
from embedlab.cli._load_options import (
    FeedbackOpt,
    PositiveThresholdOpt,
    WeightOpt,
    load_feedback,
    load_table,
    split_table_options,
    with_load_options,
)
from embedlab.cli._options import JsonOpt, QuietOpt, VerboseOpt, output
from embedlab.cli._paths import check_output
from embedlab.cli._settings_options import (
    cli_message,
    cli_values,
    model_flag,
    with_model_options,
)
from embedlab.exceptions import (
    DataError,
    DataWarning,
    EmbedlabError,
    SettingsError,
    UnknownIDError,
)
from embedlab.io import LAYOUT_METHODS

MODELS = {
    "mf": "MatrixFactorization",
    "neural": "NeuralEmbeddingModel",
    "implicit": "ImplicitMatrixFactorization",
}
#: The model class of a bundle trained on implicit feedback.
IMPLICIT_MODEL = MODELS["implicit"]


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


def _model_class(name: str, implicit: bool = False) -> Any:
    """The estimator class of ``--model mf|neural`` (``"implicit"``: ``--feedback implicit``'s)."""
    import embedlab.models as models

    if name not in MODELS or (name == "implicit" and not implicit):
        raise DataError(
            f"--model {name!r}: expected 'mf' or 'neural' (for implicit feedback: "
            "--feedback implicit, no --model)"
        )
    return getattr(models, MODELS[name])


def _implicit_model(model: str | None, settings: dict[str, Any], config: Path | None) -> str:
    """``"implicit"``, after refusing a rating model named with ``--feedback implicit``.

    Raises:
        DataError: ``--model`` (or the config's ``model``) with ``--feedback implicit``.
    """
    named = model if model is not None else settings.get("model")
    if named is None:
        return "implicit"
    where = f"--model {named}" if model is not None else f"--config {config}: model = {named!r}"
    raise DataError(
        f"{where}: --feedback implicit trains ImplicitMatrixFactorization (mf and neural learn "
        "from ratings); leave the model out, or drop --feedback implicit"
    )


def _config_params(path: Path, table: Any, cls: Any, name: str) -> dict[str, Any]:
    """The checked ``[params]`` of a ``--config`` file (names of older releases translated,
    with a one-line warning)."""
    where = f"--config {path}"
    if not isinstance(table, dict):
        raise DataError(f"{where}: params must be a table ([params]), not {type(table).__name__}")
    settings_class = cls.settings_class
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FutureWarning)
        params = settings_class.translate(dict(table), where)
    for warning in caught:
        typer.echo(f"warning: {warning.message}", err=True)
    names = settings_class.names()
    wrong = [k for k in params if k not in names]
    if wrong:
        raise SettingsError(
            f"{where}: [params] {', '.join(wrong)} {'does' if len(wrong) == 1 else 'do'} not "
            f"apply to {model_flag(name)}; its parameters are {', '.join(names)}"
        )
    checks = {f.name: f.metadata["check"] for f in settings_class.fields()}
    out = {}
    for key, value in params.items():
        value = tuple(value) if isinstance(value, list) else value
        try:
            checks[key](key, value)
        except SettingsError as exc:
            raise SettingsError(f"{where}: [params] {exc}") from None
        out[key] = value
    return out


def _spark_reads(data: str) -> bool:
    """Whether ``--engine spark`` hands ``data`` to Spark to read (a table file, a folder
    of Parquet/CSV parts, a URI) rather than to embedlab's loader (MovieLens folders, zips)."""
    from embedlab.data import detect_movielens

    if "://" in data or data.startswith("file:"):
        return True
    path = Path(data).expanduser()
    if not path.exists():
        return False  # the loader's "not found" message
    if path.is_dir():
        return detect_movielens(path) is None
    return path.suffix.lower() != ".zip"


def _side_table_options(
    side: str,
    path: Path | None,
    key: str | None,
    label: str | None,
    sep: str | None,
    encoding: str | None,
) -> dict[str, Any] | None:
    """The ``read_side_table`` arguments of ``--items`` (or ``--users``) and its options;
    None when no side table was given.

    Raises:
        DataError: An option of the side table given without the table itself.
    """
    flags = {
        f"--{side}-key": key,
        f"--{side}-label": label,
        f"--{side}s-sep": sep,
        f"--{side}s-encoding": encoding,
    }
    if path is None:
        given = [flag for flag, value in flags.items() if value is not None]
        if given:
            raise DataError(
                f"{', '.join(given)}: describe{'s' if len(given) == 1 else ''} the side table "
                f"of --{side}s, which was not given; add --{side}s FILE"
            )
        return None
    return {"path": path, "key": key, "label": label, "sep": sep, "encoding": encoding}


def _attach_side_table(dataset: Any, side: str, given: dict[str, Any]) -> Any:
    """``dataset`` with the side table of ``--items``/``--users`` attached
    (:func:`embedlab.data.read_side_table`, then ``with_item_metadata``/``with_user_metadata``).

    Raises:
        DataError: The table cannot be read, or does not match the ratings; the
            loader's suggestions (``key=``, ``label=``, ``sep=``) name the flags.
    """
    from embedlab import data as data_module

    read = getattr(data_module, "read_side_table", None)
    if read is None:
        raise DataError(
            f"--{side}s: this version of embedlab cannot read side tables yet "
            "(embedlab.data.read_side_table is missing)"
        )
    args = {k: v for k, v in given.items() if k != "path"}
    try:
        frame = read(given["path"], **args)
        return getattr(dataset, f"with_{side}_metadata")(frame)
    except DataError as exc:
        raise DataError(_side_message(str(exc), side)) from None


def _side_message(message: str, side: str) -> str:
    """A side-table message with its Python arguments as the flags of ``--items``/``--users``."""
    import re

    flags = {
        "path": f"--{side}s",
        "key": f"--{side}-key",
        "label": f"--{side}-label",
        "sep": f"--{side}s-sep",
        "encoding": f"--{side}s-encoding",
    }

    def flag(match: re.Match[str]) -> str:
        value = match.group(2)
        if value is None:
            return flags[match.group(1)]
        if value in ("'<column>'", "<column>"):
            value = "COLUMN"
        elif len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1] or "''"
        return f"{flags[match.group(1)]} {value}"

    pattern = (
        r"(?<![\w.-])(path|key|label|sep|encoding)="
        r"('(?:[^'\\]|\\.)*'|\"[^\"]*\"|<[^<>]*>|[\w.+-]+)?"
    )
    return re.sub(pattern, flag, message)


def _checkpoint_seed(folder: Path) -> int | None:
    """The seed the checkpoint in ``folder`` was trained with (None: no readable checkpoint).

    A run without ``--random-state`` draws a fresh seed, which a checkpoint then records;
    ``--resume`` without ``--random-state`` continues with that one instead of drawing
    another (which the checkpoint would refuse as "other settings").
    """
    try:
        pointer = json.loads((folder / "latest.json").read_text(encoding="utf-8"))
        state = json.loads((folder / pointer["dir"] / "state.json").read_text(encoding="utf-8"))
        seed = state["config"]["random_state"]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no checkpoint yet (a fresh start), or one the trainer will report on
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


def _checkpoint_message(message: str) -> str:
    """A message of ``fit`` (checkpoints, the validation split) with its Python arguments
    as the flags."""
    for python, flag in (
        ("pass resume=True", "pass --resume"),
        ("resume=True", "--resume"),
        ("checkpoint_dir=", "--checkpoint-dir "),
        ("validation_split=", "--validation-split "),
    ):
        message = message.replace(python, flag)
    return message


def _rows(implicit: bool) -> str:
    """What a row of the data is called."""
    return "interactions" if implicit else "ratings"


def _refuse_rating_options(
    validation_split: float | None,
    settings: dict[str, Any],
    config: Path | None,
    checkpoint_dir: Path | None,
    resume: bool,
) -> None:
    """One line for an option of the rating models given with ``--feedback implicit``.

    Raises:
        DataError: ``--validation-split`` (or the config's), ``--checkpoint-dir``,
            ``--resume``.
    """
    if validation_split is not None or "validation_split" in settings:
        where = (
            f"--validation-split {validation_split}"
            if validation_split is not None
            else f"--config {config}: validation_split"
        )
        raise DataError(
            f"{where}: does not apply to --feedback implicit (there is no rating to validate); "
            "drop it, and score held-out interactions with embedlab evaluate (--protocol user)"
        )
    if checkpoint_dir is not None or resume:
        flag = "--checkpoint-dir" if checkpoint_dir is not None else "--resume"
        raise DataError(
            f"{flag}: ImplicitMatrixFactorization does not write checkpoints (an ALS fit "
            "takes seconds to minutes); drop it"
        )


def _num(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


METHOD_NAMES = {"tsne": "t-SNE", "pca": "PCA", "umap": "UMAP"}


def _item_layout(estimator: Any, layout: str, say: Any) -> Any:
    """The map to store with the model (``--layout``): a frame of ``viz.project``, or None."""
    n_items = len(estimator.items_)
    if layout == "none" or n_items < 3:  # a map needs three points
        return None
    from embedlab.viz import default_method, project

    method = default_method(n_items) if layout == "auto" else layout

    started = time.perf_counter()
    try:
        frame = project(estimator, method=method)
    except ImportError as exc:
        raise DataError(f"--layout {method}: {exc}") from None
    say.detail(f"{method} map of {n_items:,} items in {time.perf_counter() - started:.1f} s")
    return frame


@app.command("train")
@with_load_options(after="data")
@with_model_options(after="config")
def train(
    data: Annotated[
        str,
        typer.Argument(
            help="A MovieLens folder or zip, or a CSV/TSV/Parquet ratings file "
            "(with --engine spark also a folder of parts or a Spark URI: hdfs://, s3a://...)."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the model bundle to.")],
    feedback: FeedbackOpt = "explicit",
    weight: WeightOpt = None,
    positive_threshold: PositiveThresholdOpt = None,
    model: Annotated[
        str | None, typer.Option(help="mf (matrix factorization) or neural. Default: mf.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="TOML file: model, validation_split, [params].")
    ] = None,
    validation_split: Annotated[
        float | None,
        typer.Option(
            help="Hold out the last fraction of the rows for validation "
            "(when Spark reads the file: a fraction chosen by a hash of each pair)."
        ),
    ] = None,
    items: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Side table of item attributes (CSV/TSV/Parquet): one row per item, keyed by "
            "--item-key; its columns are kept in the bundle.",
            rich_help_panel="Side tables",
        ),
    ] = None,
    item_key: Annotated[
        str | None,
        typer.Option(
            metavar="COLUMN",
            help="--items: the column of item IDs. Default: detected.",
            rich_help_panel="Side tables",
        ),
    ] = None,
    item_label: Annotated[
        str | None,
        typer.Option(
            metavar="COLUMN",
            help="--items: the column that names items (titles). Default: none (IDs).",
            rich_help_panel="Side tables",
        ),
    ] = None,
    items_sep: Annotated[
        str | None,
        typer.Option(
            metavar="SEP",
            help="--items: field separator. Default: sniffed.",
            rich_help_panel="Side tables",
        ),
    ] = None,
    items_encoding: Annotated[
        str | None,
        typer.Option(
            metavar="ENCODING",
            help="--items: text encoding. Default: utf-8.",
            rich_help_panel="Side tables",
        ),
    ] = None,
    users: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Side table of user attributes, keyed by --user-key; columns kept.",
            rich_help_panel="Side tables",
        ),
    ] = None,
    user_key: Annotated[
        str | None,
        typer.Option(
            metavar="COLUMN",
            help="--users: the column of user IDs. Default: detected.",
            rich_help_panel="Side tables",
        ),
    ] = None,
    user_label: Annotated[
        str | None,
        typer.Option(
            metavar="COLUMN",
            help="--users: the column that names users. Default: none (IDs).",
            rich_help_panel="Side tables",
        ),
    ] = None,
    users_sep: Annotated[
        str | None,
        typer.Option(
            metavar="SEP",
            help="--users: field separator. Default: sniffed.",
            rich_help_panel="Side tables",
        ),
    ] = None,
    users_encoding: Annotated[
        str | None,
        typer.Option(
            metavar="ENCODING",
            help="--users: text encoding. Default: utf-8.",
            rich_help_panel="Side tables",
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
    checkpoint_dir: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint-dir",
            metavar="DIR",
            help="Save a checkpoint (weights, optimizer and random state) after every epoch "
            "in DIR; a killed run continues with --resume. Trains with the torch engine "
            "(mf) or an engine that checkpoints (neural).",
            rich_help_panel="Checkpoints",
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue from the last checkpoint in --checkpoint-dir (same data and "
            "settings; --epochs may grow): the result equals an uninterrupted run. "
            "Without --random-state the checkpoint's seed is used.",
            rich_help_panel="Checkpoints",
        ),
    ] = False,
    layout: Annotated[
        str,
        typer.Option(
            "--layout",
            metavar="METHOD",
            help="The 2-D map of the items stored in the bundle, so that embedlab serve shows "
            "it at once: tsne, pca, umap or none. Default auto: t-SNE up to "
            "20,000 items, PCA above.",
        ),
    ] = "auto",
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    as_json: JsonOpt = False,
    **options: Any,
) -> None:
    """Train a model and save it as a bundle.

    Table options (--user to --name) are the arguments of embedlab.load_ratings, for a CSV/TSV/Parquet file. --items and --users attach a side table (labels and any columns, kept in the bundle). Model options (--embedding-dim to --device) are the Python parameters of the same name; one left out keeps the model's default. A TOML --config gives values that options override.

    --feedback implicit trains an ImplicitMatrixFactorization on interactions without ratings (clicks, plays, purchases), read as embedlab.load_interactions does: --weight names a column of counts or play time, --duplicates sums repeated pairs by default; --positive-threshold T keeps the ratings >= T of a rating table (a MovieLens folder) as positives. Its scores rank items; they are not ratings.

    Example: embedlab train ~/data/ml-100k --model mf --embedding-dim 32 --out runs/mf32

    Example: embedlab train scores.csv --user customer_id --item product_code --rating score --sep ";" --encoding latin-1 --out runs/scores

    Example: embedlab train purchases.csv --feedback implicit --user customer --item product --weight quantity --out runs/purchases

    Example: embedlab train ~/data/ml-100k --feedback implicit --positive-threshold 4 --out runs/ml100k-positives

    Example: embedlab train ~/data/ml-100k --epochs 20 --checkpoint-dir runs/ckpt --out runs/mf

    Example: embedlab train ~/data/ml-100k --epochs 20 --checkpoint-dir runs/ckpt --resume --out runs/mf
    """
    say = output(quiet, verbose, as_json)
    check_output(out, "bundle", "--out")
    if layout not in ("auto", "none", *LAYOUT_METHODS):
        raise DataError(
            f"--layout {layout!r}: expected auto, tsne, pca, umap or none (the map stored "
            "with the model)"
        )
    if checkpoint_dir is not None:
        check_output(checkpoint_dir, "folder", "--checkpoint-dir")
        ckpt, bundle = checkpoint_dir.resolve(), out.resolve()
        if ckpt == bundle or bundle in ckpt.parents:
            raise DataError(
                f"--checkpoint-dir {checkpoint_dir}: lies in --out {out}, which the saved model "
                "replaces; put the checkpoints beside the bundle, e.g. --checkpoint-dir "
                f"{out.parent / (out.name + '-checkpoints')}"
            )
    elif resume:
        raise DataError("--resume continues from --checkpoint-dir DIR, which was not given; add it")
    table = split_table_options(options)
    sides = {
        side: _side_table_options(side, *given)
        for side, given in (
            ("item", (items, item_key, item_label, items_sep, items_encoding)),
            ("user", (users, user_key, user_label, users_sep, users_encoding)),
        )
    }
    sides = {side: given for side, given in sides.items() if given is not None}
    settings: dict[str, Any] = _read_config(config) if config is not None else {}
    implicit = feedback == "implicit"
    if implicit:
        name = _implicit_model(model, settings, config)
        _refuse_rating_options(validation_split, settings, config, checkpoint_dir, resume)
    else:
        name = model or settings.get("model", "mf")
    cls = _model_class(name, implicit)
    params = (
        _config_params(config, settings.get("params", {}), cls, name) if config is not None else {}
    )
    params.update(cli_values(name, options))
    if resume and params.get("random_state") is None:
        seed = _checkpoint_seed(checkpoint_dir)  # type: ignore[arg-type]
        if seed is not None:
            params["random_state"] = seed
    split = validation_split if validation_split is not None else settings.get("validation_split")
    on_spark = params.get("engine") == "spark"
    if spark_master is not None and not on_spark:
        raise DataError(
            f"--spark-master {spark_master}: applies only to --engine spark "
            f"(engine is {params.get('engine', 'auto')!r}); add --engine spark"
        )
    say.settings(
        model=name,
        validation_split=split,
        config=config,
        spark_master=spark_master,
        checkpoint_dir=checkpoint_dir,
        resume=resume,
        feedback=feedback,
        weight=weight,
        positive_threshold=positive_threshold,
        **table,
        **params,
    )
    try:
        cls.settings_class(**params)  # the checks that involve several options, before loading
        estimator = cls(**params)
        if on_spark and checkpoint_dir is not None:
            raise DataError(
                "--checkpoint-dir: the Spark engine does not write checkpoints; leave it out "
                "or choose another --engine"
            )
        if on_spark and not implicit and _spark_reads(data):
            if table or sides:
                flags = ", ".join(
                    [f"--{k.replace('_', '-')}" for k in table] + [f"--{s}s" for s in sides]
                )
                raise DataError(
                    f"{flags}: Spark reads {data} itself, with its own column detection; "
                    "leave the table and side-table options out, or pass a MovieLens folder"
                )
            from embedlab.models import fit_spark_als

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
            dataset = load_feedback(
                data, table, feedback=feedback, weight=weight, threshold=positive_threshold
            )
            for side, given in sides.items():
                dataset = _attach_side_table(dataset, side, given)
                say.detail(f"attached {given['path']} to the {side}s")
            n_ratings = len(dataset)
            say.detail(f"loaded {n_ratings:,} {_rows(implicit)} from {data}")
            extra = {"spark_master": spark_master} if on_spark else {}
            if checkpoint_dir is not None:
                extra |= {"checkpoint_dir": checkpoint_dir, "resume": resume}
            if not implicit:
                extra["validation_split"] = split
            made = checkpoint_dir is not None and not checkpoint_dir.exists()
            try:
                estimator.fit(dataset, progress=say.progress, **extra)
            except BaseException:
                if made:  # a run that fails before its first checkpoint leaves no folder
                    with contextlib.suppress(OSError):
                        checkpoint_dir.rmdir()  # type: ignore[union-attr]
                raise
    except SettingsError as exc:
        raise SettingsError(_checkpoint_message(cli_message(str(exc)))) from None
    except ImportError as exc:
        raise DataError(str(exc)) from None
    except (TypeError, ValueError) as exc:
        if isinstance(exc, EmbedlabError):
            raise
        raise DataError(_checkpoint_message(cli_message(str(exc)))) from None
    from embedlab.training import is_main_process

    if not is_main_process():  # under torchrun every rank holds the same model: rank 0 saves
        return
    if verbose and not say.progress:  # with progress shown, the epochs were printed already
        for row in estimator.history_:
            shown = ", ".join(f"{k} {_num(v)}" for k, v in row.items() if k != "epoch")
            say.detail(f"epoch {row['epoch']}: {shown}")
    path = estimator.save(out, layout=_item_layout(estimator, layout, say))
    say.done("trained and saved")
    last = estimator.history_[-1] if len(estimator.history_) else {}
    result = {
        "model": MODELS[name],
        "feedback": "implicit" if implicit else "explicit",
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
        f"trained {result['model']} on {n_ratings:,} {_rows(implicit)} for {result['epochs']} "
        f"epochs{metrics}"
    )
    say.wrote(path, f"saved to {path}")


@app.command("evaluate")
@with_load_options(after="data")
def evaluate(
    model_dir: Annotated[
        Path, typer.Argument(help="A model bundle written by embedlab train or model.save().")
    ],
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            help="Ratings (or, for a model of implicit feedback, interactions) to score: "
            "MovieLens folder/zip or a table.",
        ),
    ],
    weight: WeightOpt = None,
    positive_threshold: PositiveThresholdOpt = None,
    fallback: Annotated[
        bool,
        typer.Option(
            "--fallback", help="Score unknown users/items with the biases instead of failing."
        ),
    ] = False,
    metrics: Annotated[
        str | None,
        typer.Option(
            "--metrics",
            metavar="NAME@K,...",
            help="Implicit feedback: the ranking metrics, as embedlab.evaluation names them: "
            "ndcg, recall, precision, map, mrr, hit, coverage, popularity or arp, each @k. "
            "Default: ndcg@10,recall@10,recall@20,map@10,coverage@10,popularity@10.",
            rich_help_panel="Implicit feedback",
        ),
    ] = None,
    protocol: Annotated[
        str | None,
        typer.Option(
            "--protocol",
            metavar="PROTOCOL",
            help="Implicit feedback: instead of scoring the saved model on --data, split "
            "--data by a top-N protocol of embedlab.evaluation.cross_validate (user: a "
            "random --test-size of each user's interactions, one fold per seed of --seeds; "
            "repeated-user: one per seed; user-temporal: each user's latest), train a fresh "
            "model with the bundle's settings and seed on each training part and score it "
            "on the held-out part.",
            rich_help_panel="Implicit feedback",
        ),
    ] = None,
    test_size: Annotated[
        float | None,
        typer.Option(
            "--test-size",
            metavar="FRACTION",
            help="--protocol: the fraction of each user's interactions held out. Default: "
            "0.1 (as cross_validate).",
            rich_help_panel="Implicit feedback",
        ),
    ] = None,
    seeds: Annotated[
        str | None,
        typer.Option(
            "--seeds",
            metavar="N,N,...",
            help="--protocol: the split seeds (user uses the first, repeated-user all). "
            "Default: 0,1,2 (as cross_validate).",
            rich_help_panel="Implicit feedback",
        ),
    ] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    **options: Any,
) -> None:
    """Print the RMSE and MAE of a saved model on a ratings file; for a model of
    implicit feedback, the ranking metrics of its top-N lists.

    Table options (--user to --name) read --data as embedlab.load_ratings does.

    A model trained with --feedback implicit reads --data as implicit feedback
    (--weight, --positive-threshold as for train): each test user the model knows
    gets a top-k list without the items of their training interactions, and every
    test interaction is a relevant item. Reported: NDCG, recall, MAP at k (users with
    a test interaction), catalogue coverage and the mean popularity percentile of the
    lists (1: the most popular item). --protocol user evaluates the bundle's settings
    by cross-validation on --data instead.

    Example: embedlab evaluate runs/mf32 --data ~/data/ml-100k/u1.test

    Example: embedlab evaluate runs/purchases --data purchases-march.csv --weight quantity

    Example: embedlab evaluate runs/ml100k-positives --data ~/data/ml-100k --positive-threshold 4 --protocol user --test-size 0.2 --seeds 0
    """
    from embedlab.models import load as load_model

    say = output(quiet, verbose, as_json)
    table = split_table_options(options)
    say.settings(
        model_dir=model_dir,
        data=data,
        weight=weight,
        positive_threshold=positive_threshold,
        fallback=fallback,
        metrics=metrics,
        protocol=protocol,
        test_size=test_size,
        seeds=seeds,
        **table,
    )
    estimator = load_model(str(model_dir))
    if type(estimator).__name__ == IMPLICIT_MODEL:
        _evaluate_implicit(
            estimator,
            data,
            table,
            say,
            weight=weight,
            threshold=positive_threshold,
            fallback=fallback,
            metrics=metrics,
            protocol=protocol,
            test_size=test_size,
            seeds=seeds,
        )
        return
    given = [
        flag
        for flag, value in (
            ("--weight", weight),
            ("--positive-threshold", positive_threshold),
            ("--metrics", metrics),
            ("--protocol", protocol),
            ("--test-size", test_size),
            ("--seeds", seeds),
        )
        if value is not None
    ]
    if given:
        raise DataError(
            f"{', '.join(given)}: appl{'ies' if len(given) == 1 else 'y'} to a model of implicit "
            f"feedback (embedlab train --feedback implicit); {model_dir} holds a "
            f"{type(estimator).__name__} of ratings, scored by RMSE and MAE: drop "
            f"{'it' if len(given) == 1 else 'them'}"
        )
    dataset = load_table(data, table)
    say.detail(f"loaded {type(estimator).__name__} and {len(dataset):,} ratings")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DataWarning)
            scores = estimator.evaluate(dataset, unknown="fallback" if fallback else "error")
    except UnknownIDError as exc:
        raise DataError(str(exc).replace("pass unknown='fallback'", "pass --fallback")) from None
    for warning in caught:  # e.g. "80% of the evaluated ratings were in the training data"
        if issubclass(warning.category, DataWarning):
            typer.echo(f"warning: {' '.join(str(warning.message).split())}", err=True)
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    say.done("evaluated")
    if as_json:
        say.result(json.dumps(scores, indent=2))
    else:
        say.result(
            f"RMSE {scores['rmse']:.4f}  MAE {scores['mae']:.4f}  ({len(dataset):,} ratings)"
        )


#: The protocols of ``embedlab evaluate --protocol`` (the top-N protocols).
TOP_N_PROTOCOLS = ("user", "repeated-user", "user-temporal")


def _metric_names(text: str | None) -> tuple[tuple[str, str, int], ...]:
    """``--metrics`` as ``(name as given, metric, k)``; the default: ``IMPLICIT_METRICS``.

    Raises:
        DataError: A name that is not ``<metric>@<k>`` of a ranking or list metric.
    """
    import re

    from embedlab.evaluation import IMPLICIT_METRICS, LIST_METRICS, RANKING_METRICS

    names = IMPLICIT_METRICS if text is None else [m.strip() for m in text.split(",") if m.strip()]
    known = sorted({*RANKING_METRICS, *LIST_METRICS})
    out = []
    for name in names:
        match = re.fullmatch(r"([a-z_]+)@(\d+)", name.lower())
        if match is None or match.group(1) not in known or int(match.group(2)) < 1:
            raise DataError(
                f"--metrics {text}: {name!r} is not a ranking metric; expected NAME@K with K >= 1 "
                f"and NAME one of {', '.join(known)}, e.g. --metrics ndcg@10,recall@20"
            )
        out.append((name.lower(), match.group(1), int(match.group(2))))
    if not out:
        raise DataError(f"--metrics {text!r}: no metric; e.g. --metrics ndcg@10,recall@20")
    if len({n for n, _, _ in out}) != len(out):
        raise DataError(f"--metrics {text}: a metric repeats; name each once")
    return tuple(out)


def _seed_list(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        values = ()
    if not values or any(v < 0 for v in values) or len(set(values)) != len(values):
        raise DataError(
            f"--seeds {text}: expected distinct integers >= 0, comma separated, e.g. --seeds 0,1,2"
        )
    return values


def _bundle_scores(
    estimator: Any, test: Any, names: tuple[tuple[str, str, int], ...]
) -> tuple[dict[str, float], dict[str, int]]:
    """The ranking and list metrics of a saved model's top-k lists on ``test`` (implicit),
    as :func:`embedlab.evaluation.cross_validate` computes them on a fold: test users the
    model does not know (no training interaction) skipped, their training items left out
    of the lists, every test interaction (weight > 0) relevant; and the counts."""
    import numpy as np
    import pandas as pd

    from embedlab.evaluation import (
        RANKING_METRICS,
        catalog_coverage,
        popularity_percentile,
        ranking_metrics,
        recommended_popularity,
    )

    frame = test.to_pandas()[["user", "item", "rating"]]
    frame = frame[frame["rating"] > 0].assign(rating=1.0)
    trained = estimator.users_.ids()[np.diff(estimator.seen_.indptr) > 0]
    known = frame["user"].isin(pd.Index(trained)).to_numpy()
    users = pd.unique(frame.loc[known, "user"].to_numpy())
    user_rows = pd.Index(estimator.users_.ids()).get_indexer(frame["user"].to_numpy())
    item_rows = pd.Index(estimator.items_.ids()).get_indexer(frame["item"].to_numpy())
    seen = int(estimator.seen_.contains(user_rows, item_rows).sum())
    counts = {
        "n_users": int(users.size),
        "n_test": len(frame),
        "unknown_users": int(pd.unique(frame.loc[~known, "user"].to_numpy()).size),
        "training_pairs": seen,
    }
    top = max(k for _, _, k in names)
    recs = (
        estimator.recommend_batch(users, n=top)
        if users.size
        else pd.DataFrame({"user": [], "rank": [], "item": []})
    )
    popularity = pd.Series(estimator.item_counts_, index=estimator.items_.ids())
    n_items = max(len(estimator.items_), 1)
    cut: dict[int, dict[str, float]] = {}
    scores = {}
    for name, metric, k in names:
        if k not in cut:
            lists = recs[recs["rank"] <= k]
            cut[k] = ranking_metrics(lists, frame[known], k=k, threshold=1.0)
            cut[k][f"coverage@{k}"] = catalog_coverage(lists, n_items, k=k)
            cut[k][f"popularity@{k}"] = popularity_percentile(lists, popularity, k=k)
            cut[k][f"arp@{k}"] = recommended_popularity(lists, popularity, k=k)["mean"]
        scores[name] = float(cut[k][f"{RANKING_METRICS.get(metric, metric)}@{k}"])
    return scores, counts


def _evaluate_implicit(
    estimator: Any,
    data: Path,
    table: dict[str, Any],
    say: Any,
    *,
    weight: str | None,
    threshold: float | None,
    fallback: bool,
    metrics: str | None,
    protocol: str | None,
    test_size: float | None,
    seeds: str | None,
) -> None:
    """``embedlab evaluate`` of an :class:`~embedlab.ImplicitMatrixFactorization`."""
    if fallback:
        raise DataError(
            "--fallback: applies to models of ratings; the ranking metrics of a model of "
            "implicit feedback skip test users it does not know: drop --fallback"
        )
    if protocol is None:
        given = [f for f, v in (("--test-size", test_size), ("--seeds", seeds)) if v is not None]
        if given:
            raise DataError(
                f"{' and '.join(given)}: appl{'ies' if len(given) == 1 else 'y'} to --protocol, "
                f"which was not given; add --protocol user (or drop {'it' if len(given) == 1 else 'them'})"
            )
    elif protocol not in TOP_N_PROTOCOLS:
        raise DataError(
            f"--protocol {protocol}: expected {', '.join(TOP_N_PROTOCOLS[:-1])} or "
            f"{TOP_N_PROTOCOLS[-1]} (the top-N protocols of implicit feedback)"
        )
    names = _metric_names(metrics)
    split_seeds = _seed_list(seeds)
    dataset = load_feedback(
        data, table, feedback="implicit", weight=weight, threshold=threshold, warn=False
    )
    say.detail(f"loaded {IMPLICIT_MODEL} and {len(dataset):,} interactions")
    if protocol is None:
        scores, counts = _bundle_scores(estimator, dataset, names)
        say.done("evaluated")
        if counts["unknown_users"]:
            typer.echo(
                f"warning: {counts['unknown_users']:,} test users have no training interaction "
                "in the model and were skipped",
                err=True,
            )
        if counts["training_pairs"]:
            share = counts["training_pairs"] / max(counts["n_test"], 1)
            typer.echo(
                f"warning: {share:.0%} of the test interactions ({counts['training_pairs']:,}) "
                "are training interactions of the model, which its lists leave out, so they "
                "can never be hit; evaluate on held-out interactions (or --protocol user)",
                err=True,
            )
        if say.as_json:
            say.result(json.dumps({**scores, **counts}, indent=2))
            return
        shown = "  ".join(f"{name} {_num(value)}" for name, value in scores.items())
        say.result(
            f"{shown}  ({counts['n_users']:,} users, {counts['n_test']:,} test interactions)"
        )
        return
    from embedlab.evaluation import cross_validate

    params = estimator.get_params()
    if params.get("random_state") is None:  # the seed the bundle was trained with
        params["random_state"] = estimator.settings_.random_state
    cls = type(estimator)
    kwargs: dict[str, Any] = {"metrics": [n for n, _, _ in names]}
    if test_size is not None:
        kwargs["test_size"] = test_size
    if split_seeds is not None:
        kwargs["seeds"] = split_seeds
    try:
        frame = cross_validate(lambda: cls(**params), dataset, protocol, **kwargs)
    except SettingsError as exc:
        raise SettingsError(cli_message(str(exc))) from None
    except (TypeError, ValueError) as exc:  # DataError too: the splits' messages in flags
        raise DataError(_protocol_message(str(exc))) from None
    say.done("cross-validated")
    described = frame.attrs.get("protocol", {})
    columns = [n for n, _, _ in names]
    means = {m: float(frame[m].mean()) for m in columns}
    if say.as_json:
        folds = json.loads(frame.to_json(orient="records"))
        say.result(json.dumps({**means, "protocol": described, "folds": folds}, indent=2))
        return
    several = len(frame) > 1
    shown = "  ".join(
        f"{m} {means[m]:.4f}" + (f" ± {float(frame[m].std(ddof=1)):.4f}" if several else "")
        for m in columns
    )
    where = f"protocol {protocol}"
    if "test_size" in described:
        where += f", test size {described['test_size']:g}"
    if described.get("seeds"):
        where += f", seed{'s' if len(described['seeds']) > 1 else ''} " + ",".join(
            map(str, described["seeds"])
        )
    n_test = int(frame["n_test"].sum())
    folds_text = f"{len(frame)} folds, " if several else ""
    mean_text = "mean ± std over folds; " if several else ""
    say.result(f"{shown}  ({mean_text}{where}; {folds_text}{n_test:,} held-out interactions)")


def _protocol_message(message: str) -> str:
    """A message of the protocols in flags."""
    for python, flag in (
        ("test_size=", "--test-size "),
        ("seeds=", "--seeds "),
        ("protocol=", "--protocol "),
        ("metrics", "--metrics"),
    ):
        message = message.replace(python, flag)
    return message


def bundle_summary(doc: dict[str, Any]) -> dict[str, Any]:
    """How a bundle's model was made, from its ``model.json`` (:func:`embedlab.io.bundle_info`).

    Keys a bundle does not record (those of releases before 0.2 lack the resolved
    settings, engine, seed, versions and training time) are left out.
    """
    config = doc.get("config", {})
    vocab = doc.get("vocab", {})
    data = dict(config.get("data") or {})
    if not data:  # older bundles: the vocabularies' sizes and the fingerprint
        for key, side in (("n_users", "users"), ("n_items", "items")):
            size = vocab.get(side, {}).get("size")
            if size is not None:
                data[key] = size
        if doc.get("data_fingerprint"):
            data["fingerprint"] = doc["data_fingerprint"]
    history = doc.get("history") or []
    summary: dict[str, Any] = {
        "path": doc.get("path"),
        "model": doc.get("model_class"),
        "created": doc.get("created"),
        "format": doc.get("format"),
        "library_version": doc.get("library_version") or config.get("embedlab_version"),
        "engine": config.get("engine"),
        "seed": config.get("seed"),
        "training_seconds": config.get("training_seconds"),
        "epochs": history[-1].get("epoch", len(history)) if history else None,
        "metrics": doc.get("metrics") or None,
        "data": data or None,
        "versions": config.get("versions"),
        "settings": config.get("settings"),
        "pretrain_settings": config.get("pretrain_settings"),
        "adaptive": config.get("adaptive"),
        "layout": config.get("layout"),
        "params": config.get("params"),
        "global_mean": config.get("global_mean"),
        "rating_scale": config.get("rating_scale"),
    }
    return {k: v for k, v in summary.items() if v is not None}


def _value(value: Any) -> str:
    if isinstance(value, list):
        return "(" + ", ".join(map(_value, value)) + ("," if len(value) == 1 else "") + ")"
    return str(value)


def _print_summary(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    top = Table(title=f"{summary.get('model', 'model')} {summary.get('path', '')}".strip())
    top.show_header = False
    top.title_justify = "left"
    top.add_column("what", style="bold")
    top.add_column("value", overflow="fold")
    if "created" in summary:
        by = f" by embedlab {summary['library_version']}" if "library_version" in summary else ""
        top.add_row("saved", f"{summary['created']}{by}")
    for key in ("engine", "seed"):
        if key in summary:
            top.add_row(key, str(summary[key]))
    data = summary.get("data", {})
    implicit = summary.get("model") == IMPLICIT_MODEL
    rows = "interactions" if implicit else "ratings"
    shape = [
        f"{data[key]:,} {label}"
        for key, label in (("n_users", "users"), ("n_items", "items"), ("n_ratings", rows))
        if key in data
    ]
    if shape:
        top.add_row("data", ", ".join(shape))
    if implicit:
        top.add_row("feedback", "implicit: scores rank items (preference scores, not ratings)")
    if "fingerprint" in data:
        top.add_row("fingerprint", data["fingerprint"])
    trained = []
    if "training_seconds" in summary:
        trained.append(f"{summary['training_seconds']:.2f} s")
    if "epochs" in summary:
        trained.append(f"{summary['epochs']} epochs")
    if trained:
        top.add_row("training", ", ".join(trained))
    adaptive = summary.get("adaptive")
    if adaptive and not adaptive.get("skipped"):
        chosen = adaptive["chosen"]
        tried = ", ".join(
            f"{c['epochs']} ep L2 {c['l2_user']:.3g}: {c['holdout_rmse']:.4f}"
            for c in adaptive["candidates"]
        )
        verdict = (
            f"factors (RMSE {adaptive['factors_rmse']:.4f}"
            + (
                f" vs biases only {adaptive['biases_rmse']:.4f})"
                if adaptive.get("biases_rmse") is not None
                else ")"
            )
            if adaptive["factors_used"]
            else f"biases only (RMSE {adaptive['biases_rmse']:.4f} vs factors "
            f"{adaptive['factors_rmse']:.4f})"
        )
        top.add_row(
            "held-out check",
            f"{adaptive['holdout']:,} ratings; tried {tried}; chose {chosen['epochs']} epochs, "
            f"L2 {chosen['l2_user']:.3g} (best epoch {chosen['best_epoch']}); predicts with {verdict}",
        )
    elif adaptive:
        top.add_row("held-out check", f"skipped: {adaptive['skipped']}")
    if "layout" in summary:
        method = summary["layout"].get("method")
        top.add_row("map", f"{METHOD_NAMES.get(method, method)}, stored (embedlab serve shows it)")
    if "metrics" in summary:
        top.add_row("metrics", ", ".join(f"{k} {_num(v)}" for k, v in summary["metrics"].items()))
    if "versions" in summary:
        top.add_row("versions", ", ".join(f"{k} {v}" for k, v in summary["versions"].items()))
    console = Console()
    console.print(top)
    tables = [
        ("settings", "settings (resolved: every value used)"),
        ("pretrain_settings", "pre-training settings (matrix factorization)"),
    ]
    if "settings" not in summary and "params" in summary:  # a bundle of an older release
        tables.append(("params", "parameters (as given; this bundle records no resolved settings)"))
    for key, title in tables:
        if key not in summary:
            continue
        table = Table(title=title, show_header=False, title_justify="left")
        table.add_column("name", style="bold")
        table.add_column("value", overflow="fold")
        for name, value in summary[key].items():
            table.add_row(name, _value(value))
        console.print(table)


@app.command("info")
def info(
    bundle: Annotated[
        Path, typer.Argument(help="A model bundle written by embedlab train or model.save().")
    ],
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Print how a saved model was made: settings, engine, seed, data, versions, training time.

    Checks the bundle as loading does, then prints what model.json records (for the
    matrix factorization also the held-out check: what was tried, what was chosen and
    whether it predicts with the factors). Bundles of older releases show what they
    recorded.

    Example: embedlab info runs/mf32
    """
    from embedlab.io import bundle_info

    say = output(quiet, verbose, as_json)
    say.settings(bundle=bundle)
    summary = bundle_summary(bundle_info(bundle))
    say.done("read")
    if as_json:
        say.result(json.dumps(summary, indent=2))
    else:
        _print_summary(summary)
