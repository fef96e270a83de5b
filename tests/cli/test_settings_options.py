"""The model options of `embedlab train` are generated from the settings classes: one per
field, same names, defaults and help; the docs' table is what the code renders; the CLI
and Python train the same model; a bad value is one line naming the flag; `embedlab info`
shows how a bundle was made."""

from __future__ import annotations

import json
import typing
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

import embedlab as el
from embedlab.cli import app
from embedlab.cli._settings_options import model_options, options_markdown
from embedlab.io import bundle_info
from embedlab.settings import (
    ENGINE_DEFAULTS,
    IMPLICIT_ENGINE_DEFAULTS,
    ImplicitMFSettings,
    MFSettings,
    NeuralSettings,
)

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]
MODELS = {"mf": MFSettings, "neural": NeuralSettings, "implicit": ImplicitMFSettings}
#: The per-engine defaults of the models whose fields may be None ("the engine's").
PER_ENGINE = {"mf": ENGINE_DEFAULTS, "implicit": IMPLICIT_ENGINE_DEFAULTS}


def _train_params() -> dict[str, Any]:
    command = typer.main.get_command(app).commands["train"]
    return {p.name: p for p in command.params}


def _cli_fields() -> dict[str, dict[str, Any]]:
    """field name -> {model: field} for every field with cli=True."""
    out: dict[str, dict[str, Any]] = {}
    for model, cls in MODELS.items():
        for f in cls.fields():
            if f.metadata["cli"]:
                out.setdefault(f.name, {})[model] = f
    return out


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return ",".join(map(_shown, value)) if value else "off"
    return str(value)


# ------------------------------------------------------------------ (a) one option per field
def test_every_cli_field_is_exactly_one_train_option() -> None:
    params = _train_params()
    fields = _cli_fields()
    names = [o for p in params.values() for o in (*p.opts, *p.secondary_opts)]
    repeated = [n for n, k in Counter(names).items() if k > 1]
    assert not repeated
    for name, by_model in fields.items():
        flag = "--" + name.replace("_", "-")
        param = params[name]
        assert param.opts == [flag]
        assert param.default is None  # left out: the model's default holds
        assert not param.required
        kinds = {f.metadata["check"].cli_type for f in by_model.values()}
        if kinds == {bool}:
            assert param.is_flag and param.secondary_opts == [f"--no-{flag[2:]}"]
        else:
            expected = kinds.pop() if len(kinds) == 1 else str
            annotation = param.type_descriptor.annotation
            assert set(typing.get_args(annotation) or [annotation]) - {type(None)} == {expected}
        for f in by_model.values():
            assert f.metadata["doc"] in param.help
        if len(by_model) == 1:
            assert f"{next(iter(by_model))} only" in param.help


def test_fields_without_cli_have_no_option() -> None:
    params = _train_params()
    hidden = {f.name for cls in MODELS.values() for f in cls.fields() if not f.metadata["cli"]}
    assert hidden == {"distributed"}
    assert not hidden & set(params)


def test_help_names_each_models_default() -> None:
    params = _train_params()
    for name, by_model in _cli_fields().items():
        help_text = params[name].help
        shown = {}
        for model, f in by_model.items():
            default = f.metadata["check"](name, f.default)
            if default is None and model in PER_ENGINE:
                table = PER_ENGINE[model]
                allowed = f.metadata["engines"]
                engines = [
                    e for e, d in table.items() if name in d and (allowed is None or e in allowed)
                ]
                shown[model] = (
                    "per engine (" + ", ".join(f"{e} {table[e][name]}" for e in engines) + ")"
                    if engines
                    else "None"
                )
            else:
                shown[model] = _shown(default)
        if len(set(shown.values())) == 1:
            assert help_text.endswith(f"Default: {next(iter(shown.values()))}."), help_text
        else:
            assert help_text.endswith(
                "Default: " + ", ".join(f"{m} {v}" for m, v in shown.items()) + "."
            ), help_text
    assert params["embedding_dim"].help.endswith("Default: mf 96, neural 128, implicit 64.")
    assert (
        "Default: mf per engine (sgd 20, torch 30, als 10, spark 10), neural 10, "
        "implicit per engine (als 15, bpr 150, spark 15)." in params["epochs"].help
    )
    assert "implicit only, als and spark engines. Default: per engine (als 9.0, spark 5.0)." in (
        params["alpha"].help
    )
    assert "neural only. Default: 0.3." in params["dropout"].help


def test_train_help_lists_the_generated_options() -> None:
    result = runner.invoke(app, ["train", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for option in model_options():
        assert option.flag in result.stdout
    for gone in ("--user-dim", "--item-dim"):
        assert gone not in result.stdout


# ------------------------------------------------------------------ (b) the docs' table
def test_docs_table_is_what_the_code_renders() -> None:
    page = (REPO / "docs" / "guide" / "cli.md").read_text(encoding="utf-8")
    table = options_markdown()
    assert table in page, "paste embedlab.cli._settings_options.options_markdown() into cli.md"
    rows = [line for line in table.splitlines() if line.startswith("| `--")]
    assert len(rows) == len(_cli_fields())


# ------------------------------------------------------------------ (c) CLI == Python
@pytest.fixture(scope="module")
def ratings_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ds, _ = el.synthetic_ratings(120, 60, 3000, random_state=2)
    folder = tmp_path_factory.mktemp("data") / "syn"
    el.data.write_movielens_csv(ds, folder)
    return folder / "ratings.csv"


def _nulls(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_nulls(v) for v in value.values())
    if isinstance(value, list):
        return any(_nulls(v) for v in value)
    return value is None


CASES = {
    "mf": (
        "--model mf --embedding-dim 8 --epochs 2 --random-state 3",
        el.MatrixFactorization,
        {"embedding_dim": 8, "epochs": 2, "random_state": 3},
    ),
    "mf-torch": (
        "--engine torch --embedding-dim 6 --epochs 2 --squash 1,5 --optimizer adagrad "
        "--no-user-bias --random-state 4 --device cpu",
        el.MatrixFactorization,
        {
            "engine": "torch",
            "embedding_dim": 6,
            "epochs": 2,
            "squash": (1, 5),
            "optimizer": "adagrad",
            "user_bias": False,
            "random_state": 4,
            "device": "cpu",
        },
    ),
    "neural": (
        "--model neural --embedding-dim 8 --hidden 8,4 --dropout 0.1 --epochs 2 "
        "--random-state 5 --device cpu",
        el.NeuralEmbeddingModel,
        {
            "embedding_dim": 8,
            "hidden": (8, 4),
            "dropout": 0.1,
            "epochs": 2,
            "random_state": 5,
            "device": "cpu",
        },
    ),
    "implicit": (
        "--feedback implicit --positive-threshold 4 --embedding-dim 8 --alpha 4 --epochs 3 "
        "--cg-steps 2 --random-state 6 --device cpu",
        el.ImplicitMatrixFactorization,
        {
            "embedding_dim": 8,
            "alpha": 4.0,
            "epochs": 3,
            "cg_steps": 2,
            "random_state": 6,
            "device": "cpu",
        },
    ),
    "implicit-bpr": (
        "--feedback implicit --positive-threshold 4 --engine bpr --embedding-dim 6 "
        "--learning-rate 0.05 --epochs 4 --random-state 7",
        el.ImplicitMatrixFactorization,
        {
            "engine": "bpr",
            "embedding_dim": 6,
            "learning_rate": 0.05,
            "epochs": 4,
            "random_state": 7,
        },
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_cli_and_python_record_identical_settings(
    case: str, ratings_csv: Path, tmp_path: Path
) -> None:
    args, cls, params = CASES[case]
    result = runner.invoke(
        app, ["train", str(ratings_csv), "--out", str(tmp_path / "cli"), "-q", *args.split()]
    )
    assert result.exit_code == 0, result.output
    data = el.data.load(ratings_csv)
    if cls is el.ImplicitMatrixFactorization:
        data = data.to_implicit(4)
    model = cls(**params).fit(data, progress=False)
    model.save(tmp_path / "py")
    from_cli = bundle_info(tmp_path / "cli")["config"]
    from_python = bundle_info(tmp_path / "py")["config"]
    for key in ("settings", "pretrain_settings"):
        if key == "pretrain_settings" and cls is not el.NeuralEmbeddingModel:
            assert key not in from_cli and key not in from_python
            continue
        text = json.dumps(from_cli[key], sort_keys=True)
        assert text == json.dumps(from_python[key], sort_keys=True)
        assert not _nulls(from_cli[key]), text
    assert (
        from_cli["engine"] == from_python["engine"] and from_cli["seed"] == params["random_state"]
    )


def test_config_file_then_options(ratings_csv: Path, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[params]\nembedding_dim = 4\nepochs = 3\nrandom_state = 1\n")
    out = tmp_path / "m"
    args = ["train", str(ratings_csv), "--config", str(config), "--epochs", "2", "--out", str(out)]
    result = runner.invoke(app, [*args, "-q"])
    assert result.exit_code == 0, result.output
    settings = bundle_info(out)["config"]["settings"]
    assert settings["embedding_dim"] == 4 and settings["epochs"] == 2  # the option wins
    assert settings["random_state"] == 1


def test_config_file_with_names_of_older_releases(ratings_csv: Path, tmp_path: Path) -> None:
    config = tmp_path / "old.toml"
    config.write_text(
        'model = "neural"\n[params]\nuser_dim = 6\nitem_dim = 6\nhidden = [4]\nepochs = 1\n'
        'random_state = 0\ndevice = "cpu"\n'
    )
    out = tmp_path / "m"
    result = runner.invoke(
        app, ["train", str(ratings_csv), "--config", str(config), "--out", str(out), "-q"]
    )
    assert result.exit_code == 0, result.output
    assert "warning:" in result.stderr and "use embedding_dim=" in result.stderr
    assert bundle_info(out)["config"]["settings"]["embedding_dim"] == 6


# ------------------------------------------------------------------ (d) bad values
BAD = [
    (["--embedding-dim", "0"], "error: --embedding-dim 0: expected an integer from 1 to 1048576"),
    (["--model", "neural", "--embedding-dim", "a"], "error: --embedding-dim a: expected a width"),
    (["--model", "neural", "--dropout", "1.5"], "error: --dropout 1.5: expected a finite number"),
    (["--model", "neural", "--hidden", "8,x"], "error: --hidden 8,x: expected integers"),
    (["--squash", "5,1", "--engine", "torch"], "error: --squash 5,1: expected"),
    (["--epochs", "0"], "error: --epochs 0: expected an integer from 1 to"),
    (["--engine", "hadoop"], "error: --engine hadoop: expected one of 'auto', 'sgd'"),
    (
        ["--hidden", "8"],
        "error: --model mf: --hidden does not apply; its options are --embedding-dim",
    ),
    (["--engine", "sgd", "--optimizer", "adam"], "error: --engine sgd does not support optimizer"),
    (
        ["--feedback", "implicit", "--positive-threshold", "4", "--hidden", "8"],
        "error: --feedback implicit: --hidden does not apply; its options are --embedding-dim",
    ),
    (
        ["--feedback", "implicit", "--positive-threshold", "4", "--engine", "bpr", "--alpha", "2"],
        "error: --alpha 2.0 does not apply to the bpr engine",
    ),
    (["--model", "neural", "--cg-steps", "2"], "error: --model neural: --cg-steps does not apply"),
    (
        ["--model", "neural", "--embedding-dim", "8,4"],
        "error: --pretrain mf starts both tables from one matrix factorization",
    ),
]


@pytest.mark.parametrize(("args", "start"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_value_is_one_line_naming_the_flag(
    ratings_csv: Path, tmp_path: Path, args: list[str], start: str
) -> None:
    out = tmp_path / "x"
    result = runner.invoke(app, ["train", str(ratings_csv), "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(start), result.stderr
    assert result.stdout == "" and not out.exists()


def test_bad_config_value_names_the_file(ratings_csv: Path, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[params]\nepochs = 0\n")
    result = runner.invoke(
        app, ["train", str(ratings_csv), "--config", str(config), "--out", str(tmp_path / "x")]
    )
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: --config {config}: [params] epochs=0: expected")
    config.write_text("[params]\nhidden = [4]\n")
    result = runner.invoke(
        app, ["train", str(ratings_csv), "--config", str(config), "--out", str(tmp_path / "x")]
    )
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "[params] hidden does not apply to --model mf" in result.stderr


# ------------------------------------------------------------------ embedlab info
@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ds, _ = el.synthetic_ratings(60, 30, 800, random_state=1)
    model = el.NeuralEmbeddingModel(embedding_dim=4, hidden=(4,), epochs=1, random_state=7)
    model.fit(ds, progress=False, validation_split=0.2)
    return model.save(tmp_path_factory.mktemp("info") / "nn")


def test_info_shows_how_the_model_was_made(bundle: Path) -> None:
    result = runner.invoke(app, ["info", str(bundle), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    config = bundle_info(bundle)["config"]
    for key in ("settings", "pretrain_settings", "engine", "seed", "versions", "data"):
        assert summary[key] == config[key]
    assert summary["training_seconds"] == config["training_seconds"]
    assert summary["model"] == "NeuralEmbeddingModel" and summary["seed"] == 7
    assert summary["data"]["n_users"] == 60 and summary["data"]["n_ratings"] == 640
    text = runner.invoke(app, ["info", str(bundle)], env={"COLUMNS": "200"})
    assert text.exit_code == 0, text.output
    for piece in (
        "NeuralEmbeddingModel",
        "60 users, 30 items, 640 ratings",
        config["data"]["fingerprint"],
        "embedding_dim",
        "pre-training settings",
        f"embedlab {config['versions']['embedlab']}",
    ):
        assert piece in text.stdout, piece
    engine = next(line for line in text.stdout.splitlines() if line.startswith("│ engine "))
    assert config["engine"] in engine


def test_info_of_a_bundle_of_an_older_release(
    bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = bundle_info(bundle)
    for key in ("settings", "pretrain_settings", "engine", "seed", "versions", "data"):
        del doc["config"][key]
    del doc["config"]["training_seconds"]
    monkeypatch.setattr("embedlab.io.bundle_info", lambda path: doc)
    result = runner.invoke(app, ["info", str(bundle), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert "settings" not in summary and "engine" not in summary
    assert summary["params"]["embedding_dim"] == 4
    assert summary["data"] == {
        "n_users": 60,
        "n_items": 30,
        "fingerprint": doc["data_fingerprint"],
    }
    text = runner.invoke(app, ["info", str(bundle)], env={"COLUMNS": "200"})
    assert text.exit_code == 0, text.output
    assert "parameters (as given" in text.stdout and "60 users, 30 items" in text.stdout


def test_info_of_no_bundle_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["info", str(tmp_path / "nothing")])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ") and "nothing" in result.stderr
