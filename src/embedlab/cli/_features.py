"""``embedlab features``: embeddings of a table's categorical columns as features.

``fit`` trains an :class:`~embedlab.EmbeddingEncoder` on a CSV/TSV/Parquet table and a
target column and saves it as a bundle (optionally writing the training rows' features,
cross-fitted); ``transform`` writes the features of any table with the same columns;
``similar`` and ``export`` explore one column's learned vectors, as ``embedlab similar``
and ``export`` do for a model (``embedlab serve ENCODER --column C`` shows them on the
page). The encoder's options are generated from
:class:`~embedlab.settings.EncoderSettings`, as ``train``'s are from the models'
settings. torch is imported only when a command runs, never for ``--help``.
"""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from embedlab.cli._app import app
from embedlab.cli._options import JsonOpt, Output, QuietOpt, VerboseOpt, output, splice_options
from embedlab.cli._paths import check_output, write_error, write_staged
from embedlab.cli._settings_options import ModelOption, cli_message
from embedlab.exceptions import DataError, SettingsError
from embedlab.settings import EncoderSettings

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from embedlab.embeddings import KeyedEmbeddings
    from embedlab.features import EmbeddingEncoder

__all__ = [
    "EncoderColumnOpt",
    "column_source",
    "encoder_options",
    "features_app",
    "is_encoder_bundle",
    "open_encoder_column",
]

features_app = typer.Typer(
    help=(
        "Learn embeddings of a table's categorical columns (EmbeddingEncoder) and use them "
        "as features of other models, or explore them."
    ),
    no_args_is_help=True,
)
app.add_typer(features_app, name="features")

#: Table formats ``transform`` and ``fit --features`` write, by the file's suffix.
_WRITERS = (".csv", ".tsv", ".parquet")


class EncoderOption(ModelOption):
    """An option of ``features fit``: one field of :class:`EncoderSettings`."""

    @property
    def doc(self) -> str:
        return str(self.fields["encoder"].metadata["doc"])


@functools.cache
def encoder_options() -> tuple[EncoderOption, ...]:
    """The generated options of ``features fit``, one per ``cli=True`` encoder setting."""
    return tuple(
        EncoderOption(f.name, {"encoder": f}) for f in EncoderSettings.fields() if f.metadata["cli"]
    )


#: The encoder's parameter names, which its messages use (``task=...``).
_PYTHON_NAMES = tuple(f.name for f in EncoderSettings.fields())


def _words(message: str) -> str:
    """An encoder message in the command line's words (``task='regression'`` -> ``--task
    regression``, ``columns=[...]`` -> ``--columns``)."""
    message = message.replace("columns=[...]", "--columns a,b,...")
    message = message.replace("interactions pair ", "--interactions ")
    return cli_message(message, _PYTHON_NAMES)


def _encoder_values(given: dict[str, Any]) -> dict[str, Any]:
    options = {o.name: o for o in encoder_options()}
    values = {}
    for name, text in given.items():
        if text is None:
            continue
        try:
            values[name] = options[name].value("encoder", text)
        except SettingsError as exc:
            raise SettingsError(_words(str(exc))) from None
    return values


def _names(text: str | None, flag: str) -> list[str]:
    if text is None:
        return []
    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise DataError(f"{flag} {text!r}: expected column names separated by commas (a,b,c)")
    return names


def _check_columns(frame: pd.DataFrame, names: list[str], flag: str, source: Path) -> None:
    missing = [n for n in names if n not in frame.columns]
    if missing:
        shown = ", ".join(map(repr, list(frame.columns)[:20]))
        raise DataError(
            f"{flag} {','.join(missing)}: not a column of {source} (columns: {shown}); "
            f"pass {flag} with the table's column names"
        )


def _table(path: Path, sep: str | None, encoding: str | None, text: list[str]) -> pd.DataFrame:
    from embedlab.data import read_table

    frame = read_table(path, sep=sep, encoding=encoding, text_columns=text)
    if frame.empty:
        raise DataError(f"TABLE {path}: has a header but no rows; expected one row per example")
    return frame


def _load_encoder(path: Path, say: Output) -> EmbeddingEncoder:
    from embedlab.features import EmbeddingEncoder

    if not path.exists():
        raise DataError(
            f"ENCODER {str(path)!r}: not found; expected the folder embedlab features fit "
            "--out wrote"
        )
    encoder = EmbeddingEncoder.load(path)
    say.detail(f"loaded EmbeddingEncoder from {path}")
    return encoder


def open_encoder_column(path: Path, column: str | None) -> KeyedEmbeddings:
    """The learned vectors of ``column`` of the encoder bundle at ``path`` (None: the
    categorical column with the most levels), for ``serve`` and ``features similar``.

    Raises:
        DataError: ``column`` is not one of the encoder's categorical columns.
    """
    from embedlab.features import EmbeddingEncoder

    encoder = EmbeddingEncoder.load(path)
    return _column(encoder, column, path)


def _column(encoder: EmbeddingEncoder, column: str | None, path: Path) -> KeyedEmbeddings:
    columns = list(encoder.categorical_columns_)
    if column is None:
        sizes = [len(c) for c in encoder.categories_]
        column = columns[sizes.index(max(sizes))]
    match = [c for c in columns if str(c) == column]
    if not match:
        raise DataError(
            f"--column {column!r}: {path} has no embeddings of that column; its categorical "
            f"columns are {', '.join(map(str, columns))}"
        )
    vectors = encoder.column_embeddings(match[0])
    vectors.source_ = f"{path.name}:{column}"  # type: ignore[attr-defined]
    vectors.column_ = match[0]  # type: ignore[attr-defined]
    return vectors


def _write_table(frame: pd.DataFrame, out: Path) -> None:
    suffix = out.suffix.lower()

    def write(path: Path) -> None:
        if suffix == ".parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False, sep="\t" if suffix == ".tsv" else ",")

    try:
        write_staged(out, write)
    except OSError as exc:
        raise write_error("--out", out, exc) from None


def _check_table_out(out: Path, flag: str) -> None:
    if out.suffix.lower() not in _WRITERS:
        raise DataError(
            f"{flag} {out}: unknown table format {out.suffix or '(no suffix)'!r}; "
            f"expected a name ending in {', '.join(_WRITERS)}"
        )
    check_output(out, "file", flag)


def _features_frame(encoder: EmbeddingEncoder, values: Any, keep: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    names = [str(n) for n in encoder.get_feature_names_out()]
    feats = pd.DataFrame(values, columns=names, index=keep.index)
    clash = [c for c in keep.columns if c in feats.columns]
    if clash:
        raise DataError(
            f"--keep {','.join(map(str, clash))}: the features have columns of the same "
            "names; keep other columns or rename them in the table"
        )
    return pd.concat([keep, feats], axis=1)


def _fit_error(exc: Exception) -> DataError:
    return DataError(_words(str(exc).split("\n")[0]))


SepOpt = Annotated[
    str | None,
    typer.Option("--sep", help="Field separator of a text table (default: sniffed)."),
]
EncodingOpt = Annotated[
    str | None, typer.Option("--encoding", help="Text encoding of a text table (default: UTF-8).")
]
KeepOpt = Annotated[
    str | None,
    typer.Option(
        "--keep",
        help="Columns of TABLE to copy before the features (an ID, the target), a,b,...",
    ),
]


@features_app.command("fit")
def fit(
    table: Annotated[
        Path, typer.Argument(help="The training table: CSV/TSV (any separator) or Parquet.")
    ],
    target: Annotated[str, typer.Option("--target", help="The column to predict.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the encoder bundle to.")],
    columns: Annotated[
        str | None,
        typer.Option(
            "--columns",
            help="The categorical columns, a,b,... (default: every text column). Read as "
            "text, so codes such as 007 keep their zeros.",
        ),
    ] = None,
    features: Annotated[
        Path | None,
        typer.Option(
            "--features",
            help="Also write TABLE's features (.csv, .tsv or .parquet), cross-fitted: each "
            "row's from encoders that did not see it (--cv folds), for training another model.",
        ),
    ] = None,
    keep: KeepOpt = None,
    random_state: Annotated[
        int | None,
        typer.Option("--random-state", help="Seed (default: a fresh one each run)."),
    ] = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    **settings: Any,
) -> None:
    """Learn an embedding of each categorical column of TABLE that predicts --target.

    The network (one table per column, a hidden layer, early stopping on a held-out
    slice) needs no tuning; regression or classification comes from the target's type
    (--task overrides). The bundle in --out is what transform, similar, export and
    embedlab serve --column read.

    Example: embedlab features fit flights.csv --target arr_delay --columns carrier,origin,dest,tailnum --out runs/flights-enc

    Example: embedlab features fit train.parquet --target churned --out runs/enc --features train-features.parquet --keep customer_id,churned
    """
    say = output(quiet, verbose, as_json)
    say.settings(
        table=table, target=target, out=out, columns=columns, features=features, **settings
    )
    values = _encoder_values(settings)
    check_output(out, "bundle", "--out")
    if features is not None:
        _check_table_out(features, "--features")
    elif keep is not None:
        raise DataError("--keep applies with --features (the table of features it writes)")
    cats = _names(columns, "--columns")
    kept = _names(keep, "--keep")
    frame = _table(table, sep, encoding, cats)
    _check_columns(frame, [target], "--target", table)
    _check_columns(frame, cats, "--columns", table)
    _check_columns(frame, kept, "--keep", table)
    if target in cats:
        raise DataError(f"--target {target!r} is also in --columns; a column cannot predict itself")
    y = frame[target]
    if y.isna().any():
        first = int(y.isna().to_numpy().argmax())
        raise DataError(
            f"--target {target!r}: {int(y.isna().sum()):,} rows have no value (first at data "
            f"row {first + 1}); drop or fill those rows"
        )
    X = frame.drop(columns=[target])
    from embedlab.features import EmbeddingEncoder

    encoder = EmbeddingEncoder(columns=cats or None, random_state=random_state, **values)
    t0 = time.perf_counter()
    try:
        if features is not None:
            feats = encoder.fit_transform(X, y.to_numpy())
        else:
            encoder.fit(X, y.to_numpy())
    except (ValueError, TypeError) as exc:
        raise _fit_error(exc) from None
    seconds = time.perf_counter() - t0
    say.done("fitted")
    written = encoder.save(out)
    if features is not None:
        _write_table(_features_frame(encoder, feats, frame[kept]), features)
    summary = {
        "out": str(written),
        "task": encoder.task_,
        "rows": len(frame),
        "columns": [
            {
                "column": str(c),
                "levels": len(encoder.categories_[j]),
                "rare_levels": len(encoder.infrequent_categories_[j]),
                "dim": int(encoder.embedding_dims_[j]),
            }
            for j, c in enumerate(encoder.categorical_columns_)
        ],
        "interactions": [[str(a), str(b)] for a, b in encoder.interactions_],
        "epochs": len(encoder.history_),
        "best_epoch": int(encoder.best_epoch_),
        "table_decay": float(encoder.table_decay_),
        "validation_loss": encoder.validation_history_[encoder.best_epoch_ - 1]
        if encoder.validation_history_
        else None,
        "features": len(encoder.get_feature_names_out()),
        "features_out": None if features is None else str(features),
        # transform's networks: the cross-fitting folds' (averaged), or the full fit's
        "fold_networks": len(encoder.fold_modules_),
        "seconds": round(seconds, 2),
    }
    if as_json:
        say.result(json.dumps(summary, indent=2))
        return
    say.info(
        f"{encoder.task_} of {target!r} from {len(frame):,} rows, in {seconds:.1f} s "
        f"({summary['epochs']} epochs, best {summary['best_epoch']}, table decay "
        f"{summary['table_decay']:g})"
    )
    pairs = {
        str(c)
        for c in encoder.categorical_columns_[
            len(encoder.categorical_columns_) - len(encoder.interactions_) :
        ]
    }
    for col in summary["columns"]:
        rare = f", {col['rare_levels']:,} rare in one bucket" if col["rare_levels"] else ""
        pair = " (a pair of columns)" if col["column"] in pairs else ""
        say.info(
            f"  {col['column']}: {col['levels']:,} levels{rare}, {col['dim']}-dim vectors{pair}"
        )
    if features is not None:
        say.info(f"wrote {summary['features']} cross-fitted features of each row to {features}")
    if summary["fold_networks"]:
        say.info(
            f"features transform will average the {summary['fold_networks']} fold networks, "
            "as these rows got theirs"
        )
    say.wrote(written, f"wrote the encoder to {written}")


splice_options(fit, encoder_options(), "columns", "encoder settings")


@features_app.command("transform")
def transform(
    encoder_dir: Annotated[
        Path, typer.Argument(help="An encoder bundle (embedlab features fit --out DIR).")
    ],
    table: Annotated[Path, typer.Argument(help="A table with the encoder's columns.")],
    out: Annotated[
        Path, typer.Option("--out", help="The features table to write: .csv, .tsv or .parquet.")
    ],
    keep: KeepOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Write the features of each row of TABLE: its levels' vectors, effects and the
    network's prediction, in the order of the encoder's feature names.

    Other columns of TABLE (the target among them) are ignored unless --keep copies
    them. Levels the encoder never saw are an error unless it was fit with
    --handle-unknown bucket.

    Example: embedlab features transform runs/flights-enc test.csv --out test-features.parquet --keep arr_delay
    """
    say = output(quiet, verbose, as_json)
    say.settings(encoder=encoder_dir, table=table, out=out, keep=keep)
    _check_table_out(out, "--out")
    kept = _names(keep, "--keep")
    encoder = _load_encoder(encoder_dir, say)
    names = [str(c) for c in getattr(encoder, "feature_names_in_", [])]
    text = [
        str(c)
        for c, kind in zip(encoder.categorical_columns_, encoder.kinds_, strict=True)
        if kind == "str"
    ]
    frame = _table(table, sep, encoding, text)
    _check_columns(frame, names, "TABLE", table)
    _check_columns(frame, kept, "--keep", table)
    try:
        values = encoder.transform(frame[names])
    except (ValueError, TypeError, KeyError) as exc:
        error = _fit_error(exc)
        if "--handle-unknown bucket" in str(error):
            error = DataError(
                f"{error} (a setting of the fit: run embedlab features fit again with it)"
            )
        raise error from None
    result = _features_frame(encoder, values, frame[kept])
    _write_table(result, out)
    say.done("transformed")
    if as_json:
        doc = {"out": str(out), "rows": len(result), "features": values.shape[1]}
        say.result(json.dumps(doc, indent=2))
        return
    say.wrote(out, f"wrote {values.shape[1]} features of {len(result):,} rows to {out}")


ColumnOpt = Annotated[
    str | None,
    typer.Option(
        "--column", help="The categorical column (default: the one with the most levels)."
    ),
]


@features_app.command("similar")
def similar(
    encoder_dir: Annotated[
        Path, typer.Argument(help="An encoder bundle (embedlab features fit --out DIR).")
    ],
    query: Annotated[str, typer.Argument(help="A level of the column, e.g. a carrier code.")],
    column: ColumnOpt = None,
    topn: Annotated[int, typer.Option("--topn", help="How many neighbours.")] = 10,
    min_count: Annotated[
        float | None,
        typer.Option("--min-count", help="Only levels seen in this many training rows."),
    ] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Print the levels of a column nearest to QUERY by cosine of the learned vectors.

    Example: embedlab features similar runs/flights-enc N14228 --column tailnum --topn 5
    """
    from embedlab.cli._explore import check_topn, print_neighbours

    say = output(quiet, verbose, as_json)
    say.settings(encoder=encoder_dir, query=query, column=column, topn=topn, min_count=min_count)
    check_topn(topn)
    vectors = _column(_load_encoder(encoder_dir, say), column, encoder_dir)
    print_neighbours(vectors, query, topn, min_count, say)


@features_app.command("export")
def export(
    encoder_dir: Annotated[
        Path, typer.Argument(help="An encoder bundle (embedlab features fit --out DIR).")
    ],
    fmt: Annotated[
        str, typer.Option("--format", help="gensim, word2vec, projector, parquet or npy.")
    ],
    out: Annotated[Path, typer.Option("--out", help="File (or folder, for projector) to write.")],
    column: ColumnOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Write one column's learned vectors for other tools (the formats of embedlab export).

    Example: embedlab features export runs/flights-enc --column dest --format projector --out dest-projector
    """
    from embedlab.cli._explore import check_export, write_vectors

    say = output(quiet, verbose, as_json)
    say.settings(encoder=encoder_dir, format=fmt, out=out, column=column)
    check_export(fmt, out)
    vectors = _column(_load_encoder(encoder_dir, say), column, encoder_dir)
    write_vectors(vectors, fmt, out, say, what=f"{vectors.source_} level")  # type: ignore[attr-defined]


#: ``--column`` of the commands that also take an encoder bundle (``serve``, ``map``).
EncoderColumnOpt = Annotated[
    str | None,
    typer.Option(
        "--column",
        help="Encoder bundle only (embedlab features fit): the categorical column whose "
        "vectors to explore (default: the one with the most levels).",
    ),
]


def column_source(path: Path, column: str | None, *, bundle: bool) -> KeyedEmbeddings | None:
    """The vectors of ``column`` when ``path`` is an encoder bundle, else None; ``--column``
    given for anything else is a one-line error.

    Raises:
        DataError: ``--column`` with a model bundle or vectors file, or a column the
            encoder does not have.
    """
    if bundle and is_encoder_bundle(path):
        return open_encoder_column(path, column)
    if column is not None:
        raise DataError(
            f"--column applies to an encoder bundle (embedlab features fit --out DIR), but "
            f"{path} is {'a model bundle' if bundle else 'a vectors file'}; drop --column"
        )
    return None


def is_encoder_bundle(path: Path) -> bool:
    """Whether ``path`` is a bundle an :class:`EmbeddingEncoder` wrote (reads model.json)."""
    try:
        doc = json.loads((path / "model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("model_class") == "EmbeddingEncoder"
