"""The table options (``--user`` ... ``--name``) of every command that reads ratings.

They come from ``load_ratings``'s signature (``embedlab.cli._load_options``); these tests
run them end to end on files the tests write: string IDs, custom column names, latin-1
and a semicolon separator, and check that the loader's suggestions name the flags.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

import embedlab.data
from embedlab.cli import app
from embedlab.cli._load_options import cli_load_message, load_options
from embedlab.data import load_ratings
from movielens_files import tiny_ml100k_files, write_files

runner = CliRunner()

#: Every command that reads a ratings table.
READERS = (
    ("train",),
    ("evaluate",),
    ("data", "info"),
    ("demo",),
    ("experiment", "size-sweep"),
    ("experiment", "biases"),
    ("experiment", "l2"),
    ("experiment", "obscurity"),
)

FLAGS = ["--user", "customer_id", "--item", "product_code", "--rating", "score"]
FLAGS += ["--sep", ";", "--encoding", "latin-1"]


def _command(path: tuple[str, ...]):
    command = get_command(app)
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    return command


@pytest.fixture(scope="module")
def scores_csv(tmp_path_factory) -> Path:
    """``customer_id;product_code;score`` in latin-1: string IDs, two planted tastes."""
    rows = ["customer_id;product_code;score"]
    held_out = list(rows)
    products = [f"chocolat-{i}" for i in range(6)] + [f"thé-{i}" for i in range(6)]
    for u in range(40):
        likes_chocolate = u % 2 == 0
        for j, product in enumerate(products):
            liked = (j < 6) == likes_chocolate
            row = f"cliënt-{u:03d};{product};{5 if liked else 1}"
            (held_out if (u + j) % 3 == 0 else rows).append(row)
    folder = tmp_path_factory.mktemp("own")
    for name, lines in (("scores.csv", rows), ("held_out.csv", held_out)):
        (folder / name).write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    return folder / "scores.csv"


def assert_one_line_error(result, *parts: str) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for part in parts:
        assert part in lines[0], lines[0]
    return lines[0]


# --------------------------------------------------------------------------- one definition


@pytest.mark.parametrize("path", READERS, ids=" ".join)
def test_every_reader_has_every_load_ratings_option(path: tuple[str, ...]) -> None:
    wanted = [p.replace("_", "-") for p in list(inspect.signature(load_ratings).parameters)[1:]]
    params = _command(path).params
    opts = {o for param in params for o in [*param.opts, *param.secondary_opts]}
    for name in wanted:
        assert f"--{name}" in opts, (path, name)
    assert "--no-header" in opts


def test_options_follow_the_signature() -> None:
    names = list(inspect.signature(load_ratings).parameters)[1:]
    assert [o.name for o in load_options()] == names
    assert all(o.help for o in load_options())


@pytest.mark.parametrize(
    ("python", "cli"),
    [
        ("or pass item='<column>'", "or pass --item COLUMN"),
        ("pass encoding='latin-1' (or the file's real encoding)", "pass --encoding latin-1 ("),
        ("pass sep=';' (or the file's separator)", "pass --sep ';' ("),
        ("or pass the right sep=", "or pass the right --sep"),
        ("(user=0, ...) or header=True if", "(--user 0, ...) or --header if"),
        ("pass rating_scale=(low, high) that", "pass --rating-scale low,high that"),
        ("pass duplicates='last', 'first' or 'mean'", "pass --duplicates last, first or mean"),
        ("pass timestamp=False to ignore", "pass --timestamp off to ignore"),
    ],
)
def test_messages_name_the_flags(python: str, cli: str) -> None:
    assert cli in cli_load_message(python)


# --------------------------------------------------------------------------- end to end


def test_train_own_table_latin1_semicolon(scores_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    args = ["train", str(scores_csv), *FLAGS, "--out", str(out), "--epochs", "3", "-q"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (out / "model.json").exists()
    # the bundle knows the string IDs as written, accents included
    similar = runner.invoke(app, ["similar", str(out), "chocolat-0", "--json"])
    assert similar.exit_code == 0, similar.output
    assert "thé" in similar.stdout or "chocolat" in similar.stdout

    # evaluate --data and data info read the same file with the same flags
    held_out = scores_csv.with_name("held_out.csv")
    evaluated = runner.invoke(app, ["evaluate", str(out), "--data", str(held_out), *FLAGS])
    assert evaluated.exit_code == 0, evaluated.output
    assert "RMSE" in evaluated.stdout
    info = runner.invoke(app, ["data", "info", str(scores_csv), *FLAGS, "--json"])
    assert info.exit_code == 0, info.output
    summary = json.loads(info.stdout)
    assert (summary["n_users"], summary["n_items"]) == (40, 12)


def test_experiment_takes_the_table_options(scores_csv: Path) -> None:
    args = ["experiment", "biases", str(scores_csv), *FLAGS, "--epochs", "2", "--json", "-q"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)


def test_wrong_column_names_the_flag(scores_csv: Path, tmp_path: Path) -> None:
    flags = [f if f != "product_code" else "product" for f in FLAGS]
    result = runner.invoke(app, ["train", str(scores_csv), *flags, "--out", str(tmp_path / "m")])
    line = assert_one_line_error(result, "--item", "product_code")
    assert "item=" not in line
    assert not (tmp_path / "m").exists()


def test_undetected_column_suggests_the_flag(scores_csv: Path, tmp_path: Path) -> None:
    args = ["data", "info", str(scores_csv), "--sep", ";", "--encoding", "latin-1"]
    # customer_id is detected as the user column; product_code is not an item name
    line = assert_one_line_error(runner.invoke(app, args), "no item column", "--item COLUMN")
    assert "item=" not in line


def test_wrong_encoding_suggests_the_flag(scores_csv: Path) -> None:
    args = ["data", "info", str(scores_csv), *FLAGS[:-2]]  # utf-8, the default
    line = assert_one_line_error(runner.invoke(app, args), "--encoding latin-1")
    assert "encoding=" not in line


def test_evaluate_wrong_column_names_the_flag(scores_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    trained = runner.invoke(
        app, ["train", str(scores_csv), *FLAGS, "--out", str(out), "--epochs", "1", "-q"]
    )
    assert trained.exit_code == 0, trained.output
    flags = [f if f != "score" else "points" for f in FLAGS]
    result = runner.invoke(app, ["evaluate", str(out), "--data", str(scores_csv), *flags])
    assert_one_line_error(result, "--rating", "points")


def test_bad_rating_scale_is_one_line(scores_csv: Path) -> None:
    args = ["data", "info", str(scores_csv), *FLAGS, "--rating-scale", "five"]
    assert_one_line_error(runner.invoke(app, args), "--rating-scale five", "LOW,HIGH")


def test_table_options_on_movielens_name_the_flag(tmp_path: Path) -> None:
    folder = write_files(tmp_path / "ml-100k", tiny_ml100k_files())
    result = runner.invoke(app, ["data", "info", str(folder), "--sep", ";"])
    line = assert_one_line_error(result, "is a MovieLens dataset", "--sep")
    assert "sep=" not in line


def test_demo_table_options_without_a_table_are_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--item", "x", "--out", str(tmp_path / "d")])
    assert_one_line_error(result, "--item", "MovieLens 100K")


def test_embedlab_data_may_be_the_release_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_files(tmp_path / "data" / "ml-100k", tiny_ml100k_files())
    monkeypatch.setenv("EMBEDLAB_DATA", str(folder))  # the release folder, as --data takes it
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path / "cache"))
    result = runner.invoke(app, ["data", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["ml-100k"]["path"] == str(folder)


def test_embedlab_data_not_found_lists_the_paths_tried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = tmp_path / "nothing-here"
    env.mkdir()
    monkeypatch.setenv("EMBEDLAB_DATA", str(env))
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path / "cache"))
    from embedlab import datasets
    from embedlab.exceptions import DatasetNotFoundError

    with pytest.raises(DatasetNotFoundError) as info:
        datasets.movielens("ml-100k", download=False)
    assert str(env / "ml-100k" / "u.data") in str(info.value)


# --------------------------------------------------------------------------- side tables


@pytest.mark.skipif(
    not hasattr(embedlab.data, "read_side_table"), reason="waiting for read_side_table"
)
def test_train_with_an_item_side_table(scores_csv: Path, tmp_path: Path) -> None:
    items = tmp_path / "items.csv"
    lines = ["id,name,kind,price"]
    for i in range(6):
        lines.append(f"chocolat-{i},Chocolate bar {i},chocolate,{2 + i}")
        lines.append(f"thé-{i},Green tea {i},tea,{4 + i}")
    items.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "model"
    args = ["train", str(scores_csv), *FLAGS, "--items", str(items), "--item-key", "id"]
    args += ["--item-label", "name", "--out", str(out), "--epochs", "2", "-q"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    from embedlab.models import load as load_model

    kv = load_model(str(out)).item_embeddings()
    assert "Chocolate bar 0" in set(kv.labels)
    assert {"kind", "price"} <= set(kv.metadata.columns)


@pytest.mark.skipif(
    not hasattr(embedlab.data, "read_side_table"), reason="waiting for read_side_table"
)
def test_side_table_wrong_key_names_the_flag(scores_csv: Path, tmp_path: Path) -> None:
    items = tmp_path / "items.csv"
    items.write_text("id,name\nchocolat-0,Chocolate\n", encoding="utf-8")
    args = ["train", str(scores_csv), *FLAGS, "--items", str(items), "--item-key", "code"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "m")])
    line = assert_one_line_error(result, "--item-key code", "--item-key COLUMN")
    assert "key=" not in line


def test_side_table_options_without_the_table(scores_csv: Path, tmp_path: Path) -> None:
    args = ["train", str(scores_csv), *FLAGS, "--item-key", "id", "--out", str(tmp_path / "m")]
    assert_one_line_error(runner.invoke(app, args), "--item-key", "add --items FILE")
