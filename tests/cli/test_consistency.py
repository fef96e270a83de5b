"""One command line: every command has --help with an example, --quiet/--verbose, --json
where its output is data, and user errors end in one line with exit 2 (issue 7)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

import embedlab as el
from embedlab.cli import app

runner = CliRunner()

COMMANDS = [
    ["demo"],
    ["similar"],
    ["recommend"],
    ["export"],
    ["serve"],
    ["train"],
    ["evaluate"],
    ["info"],
    ["map"],
    ["experiment", "size-sweep"],
    ["experiment", "biases"],
    ["experiment", "l2"],
    ["experiment", "obscurity"],
    ["plot", "history"],
    ["plot", "biases"],
    ["plot", "sweep"],
    ["plot", "obscurity"],
    ["data", "info"],
    ["data", "fetch"],
    ["data", "list"],
    ["data", "synth"],
    ["features", "fit"],
    ["features", "transform"],
    ["features", "similar"],
    ["features", "export"],
]
_IDS = [" ".join(c) for c in COMMANDS]


def _leaves(group: Any, prefix: tuple[str, ...] = ()) -> list[list[str]]:
    out: list[list[str]] = []
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            out += _leaves(cmd, (*prefix, name))
        else:
            out.append([*prefix, name])
    return out


def test_the_list_is_every_command() -> None:
    tree = typer.main.get_command(app)
    assert sorted(_leaves(tree)) == sorted(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=_IDS)
def test_help_has_an_example_and_the_shared_options(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.stdout
    assert "--quiet" in result.stdout and "--verbose" in result.stdout
    if command != ["serve"]:
        assert "--json" in result.stdout


@pytest.mark.parametrize("command", COMMANDS, ids=_IDS)
def test_quiet_and_verbose_together_is_one_line(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "-q", "-v"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: --quiet and --verbose exclude each other; pass one of them"
    ]


#: Names that the options of one idea had before (issue 16); kept hidden for one release.
_OLD_NAMES = {
    "--seed": "--random-state",
    "--size": "--embedding-dim",
    "--sizes": "--embedding-dims",
}


def _command(path: list[str]) -> Any:
    cmd = typer.main.get_command(app)
    for name in path:
        cmd = cmd.commands[name]
    return cmd


@pytest.mark.parametrize("command", COMMANDS, ids=_IDS)
def test_one_name_per_idea(command: list[str]) -> None:
    """Seeds are --random-state and widths --embedding-dim(s), as in the Python API; an old
    name is only a hidden alias of the new one on the same command."""
    params = _command(command).params
    shown = {o for p in params if not getattr(p, "hidden", False) for o in p.opts}
    hidden = {o for p in params if getattr(p, "hidden", False) for o in p.opts}
    assert not shown & set(_OLD_NAMES), sorted(shown & set(_OLD_NAMES))
    for old in hidden & set(_OLD_NAMES):
        assert _OLD_NAMES[old] in shown, f"{old} is hidden but {_OLD_NAMES[old]} is missing"


def test_top_level_help_documents_exit_codes() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "Exit codes: 0 ok; 2 a user error" in text and "1 an internal error" in text


def test_bad_option_value_is_one_line() -> None:
    result = runner.invoke(app, ["train", "x.csv", "--out", "o", "--epochs", "abc"])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("error: Invalid value for '--epochs'")


# --------------------------------------------------------------------------- tiny data


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A synthetic ratings folder, a trained bundle and an experiment CSV."""
    root = tmp_path_factory.mktemp("consistency")
    ds, _ = el.synthetic_ratings(120, 60, 3000, random_state=2)
    el.data.write_movielens_csv(ds, root / "syn")
    model = el.MatrixFactorization(embedding_dim=4, epochs=3, random_state=0)
    model.fit(ds, validation_split=0.2, progress=False)
    bundle = model.save(root / "mf")
    sweep = root / "sweep.csv"
    sweep.write_text(
        "size,epoch,train_loss,val_rmse,val_mae,seconds\n"
        "2,1,1.0,1.1,0.9,0.1\n2,2,0.9,1.0,0.8,0.1\n4,1,0.9,1.05,0.85,0.1\n4,2,0.8,1.02,0.8,0.1\n"
    )
    recs = root / "recs.csv"
    recs.write_text("model,n_ratings\na,10\na,50\nb,3\nb,200\n")
    return {"ratings": root / "syn" / "ratings.csv", "bundle": bundle, "sweep": sweep, "recs": recs}


# --------------------------------------------------------------------------- real processes

# (command, arguments after it, a piece of the one error line); {x} are filled from `tiny`.
USER_ERRORS = [
    (["train"], ["{tmp}/nope.csv", "--out", "{tmp}/o"], "file not found"),
    (["train"], ["{ratings}", "--out", "{tmp}/o", "--epochs", "abc"], "--epochs"),
    (["evaluate"], ["{tmp}/no-bundle", "--data", "{ratings}"], "no-bundle"),
    (["info"], ["{tmp}/no-bundle"], "no-bundle"),
    (["train"], ["{ratings}", "--out", "{tmp}/o", "--embedding-dim", "0"], "--embedding-dim 0"),
    (["similar"], ["{bundle}", "No Such Film Anywhere"], "No Such Film"),
    (["recommend"], ["{bundle}", "--user", "987654"], "987654"),
    (["export"], ["{bundle}", "--format", "xml", "--out", "{tmp}/x"], "--format 'xml'"),
    (["serve"], ["{bundle}", "--port", "0"], "--port 0"),
    (["map"], ["{bundle}", "--out", "{tmp}/map.txt"], "--out"),
    (["demo"], ["--data", "{tmp}/nope", "--out", "{tmp}/d"], "does not hold ml-100k"),
    (["experiment", "l2"], ["{ratings}", "--strengths", "a,b"], "--strengths 'a,b'"),
    (["experiment", "size-sweep"], ["{tmp}/nope.csv"], "file not found"),
    (["plot", "sweep"], ["{tmp}/nope.csv", "--out", "{tmp}/s.png"], "no such file"),
    (["plot", "history"], ["{tmp}/no-bundle", "--out", "{tmp}/h.png"], "no-bundle"),
    (["data", "info"], ["{tmp}/nope.csv"], "file not found"),
    (["data", "fetch"], ["ml-999", "-q"], "unknown MovieLens release 'ml-999'"),
    (["data", "synth"], ["{tmp}/s", "--shape", "ml-7"], "unknown --shape 'ml-7'"),
    (["features", "fit"], ["{ratings}", "--target", "nope", "--out", "{tmp}/e"], "--target nope"),
    (["features", "transform"], ["{tmp}/no-enc", "{ratings}", "--out", "{tmp}/f.csv"], "no-enc"),
]
_ERROR_IDS = [f"{' '.join(c)}-{i}" for i, (c, _, _) in enumerate(USER_ERRORS)]


@pytest.fixture(scope="module")
def processes(
    tiny: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> list[subprocess.CompletedProcess[str]]:
    """Every USER_ERRORS case run as ``python -m embedlab ...``, all at once (fast)."""
    tmp = tmp_path_factory.mktemp("errors")
    fill = {k: str(v) for k, v in tiny.items()} | {"tmp": str(tmp)}
    env = {**os.environ, "EMBEDLAB_CACHE": str(tmp / "cache")}
    env.pop("EMBEDLAB_DEBUG", None)
    env.pop("EMBEDLAB_DATA", None)
    started = []
    for command, args, _ in USER_ERRORS:
        argv = [sys.executable, "-m", "embedlab", *command, *(a.format(**fill) for a in args)]
        started.append(
            (
                argv,
                subprocess.Popen(
                    argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
                ),
            )
        )
    done = []
    for argv, proc in started:
        out, err = proc.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(argv, proc.returncode, out, err))
    return done


@pytest.mark.parametrize("case", range(len(USER_ERRORS)), ids=_ERROR_IDS)
def test_user_error_in_a_real_process(processes: list[Any], case: int) -> None:
    proc = processes[case]
    piece = USER_ERRORS[case][2]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, (proc.args, proc.stderr)
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and piece in lines[0], lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout


def test_every_group_has_a_real_process_test() -> None:
    covered = {c[0] for c, _, _ in USER_ERRORS}
    assert covered == {c[0] for c in COMMANDS}


# --------------------------------------------------------------------------- quiet and verbose


def _train(tiny: dict[str, Path], out: Path, *options: str) -> Any:
    args = ["train", str(tiny["ratings"]), "--out", str(out), "--epochs", "2"]
    return runner.invoke(app, [*args, "--validation-split", "0.2", *options])


def test_train_quiet_prints_only_the_bundle_path(tiny: dict[str, Path], tmp_path: Path) -> None:
    result = _train(tiny, tmp_path / "q", "--quiet")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [str(tmp_path / "q")]
    assert result.stderr == ""  # no progress


def test_train_verbose_adds_settings_epochs_and_timing(
    tiny: dict[str, Path], tmp_path: Path
) -> None:
    plain = _train(tiny, tmp_path / "p", "--json")
    loud = _train(tiny, tmp_path / "v", "--json", "--verbose")
    assert plain.exit_code == 0 and loud.exit_code == 0, loud.output
    assert json.loads(loud.stdout)["epochs"] == 2  # details stay off stdout
    assert plain.stderr == ""
    lines = loud.stderr.splitlines()
    assert lines[0].startswith("settings: model=mf, validation_split=0.2")
    assert any(line.startswith("epoch 1: train_loss") for line in lines)
    assert any(line.startswith("epoch 2: train_loss") for line in lines)
    assert lines[-1].startswith("trained and saved in ")


def test_plot_quiet_and_verbose(tiny: dict[str, Path], tmp_path: Path) -> None:
    args = ["plot", "history", str(tiny["bundle"])]
    normal = runner.invoke(app, [*args, "--out", str(tmp_path / "n.png")])
    assert normal.exit_code == 0, normal.output
    assert normal.stdout.strip() == f"wrote {tmp_path / 'n.png'}"
    quiet = runner.invoke(app, [*args, "--out", str(tmp_path / "q.png"), "-q"])
    assert quiet.exit_code == 0 and quiet.stdout.splitlines() == [str(tmp_path / "q.png")]
    assert quiet.stderr == ""
    loud = runner.invoke(app, [*args, "--out", str(tmp_path / "v.png"), "-v"])
    assert loud.exit_code == 0 and loud.stdout.strip() == f"wrote {tmp_path / 'v.png'}"
    assert "settings: model_dir=" in loud.stderr and "loaded MatrixFactorization" in loud.stderr
    assert "drawn and written in" in loud.stderr


def test_synth_quiet_and_verbose(tmp_path: Path) -> None:
    args = ["data", "synth", "--users", "30", "--items", "10", "--ratings", "200"]
    quiet = runner.invoke(app, [*args, str(tmp_path / "q"), "-q"])
    assert quiet.exit_code == 0 and quiet.stdout.splitlines() == [str(tmp_path / "q")]
    loud = runner.invoke(app, [*args, str(tmp_path / "v"), "-v"])
    assert loud.exit_code == 0 and loud.stdout.startswith(f"wrote {tmp_path / 'v'}: 200")
    assert "settings: out_dir=" in loud.stderr and "users=30" in loud.stderr


def test_verbose_prints_the_traceback_of_a_bug(
    tiny: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EMBEDLAB_DEBUG", raising=False)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("planted bug")

    import embedlab.io

    monkeypatch.setattr(embedlab.io, "load_lookup", broken)  # what similar loads with
    args = ["similar", str(tiny["bundle"]), "1"]
    plain = runner.invoke(app, args)
    assert plain.exit_code == 1 and "Traceback" not in plain.stderr
    loud = runner.invoke(app, [*args, "--verbose"])
    assert loud.exit_code == 1
    assert "Traceback" in loud.stderr and "ZeroDivisionError: planted bug" in loud.stderr
    assert loud.stderr.splitlines()[-1].startswith("internal error: ZeroDivisionError")


# --------------------------------------------------------------------------- --json


def _json(args: list[str]) -> Any:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_of_pictures(tiny: dict[str, Path], tmp_path: Path) -> None:
    bundle = tiny["bundle"]
    doc = _json(
        ["map", bundle, "--out", tmp_path / "m.png", "--method", "pca", "--color", "none", "--json"]
    )
    assert doc == {"out": str(tmp_path / "m.png"), "method": "pca", "color": "none"}
    doc = _json(["plot", "history", bundle, "--out", tmp_path / "h.png", "--json"])
    assert doc == {"out": str(tmp_path / "h.png"), "epochs": 3}
    doc = _json(["plot", "biases", bundle, "--out", tmp_path / "b.png", "--n", "3", "--json"])
    assert doc["out"] == str(tmp_path / "b.png")
    doc = _json(["plot", "sweep", tiny["sweep"], "--out", tmp_path / "s.png", "--json"])
    assert doc == {"out": str(tmp_path / "s.png"), "rows": 4}
    doc = _json(["plot", "obscurity", tiny["recs"], "--out", tmp_path / "o.png", "--json"])
    assert doc == {"out": str(tmp_path / "o.png"), "rows": 4}
    for name in ("m.png", "h.png", "b.png", "s.png", "o.png"):
        assert (tmp_path / name).stat().st_size > 0


def test_json_of_data_commands(tiny: dict[str, Path], tmp_path: Path, movielens_url: str) -> None:
    doc = _json(
        [
            "data",
            "synth",
            tmp_path / "s",
            "--users",
            "30",
            "--items",
            "10",
            "--ratings",
            "200",
            "--json",
        ]
    )
    assert doc["out"] == str(tmp_path / "s") and doc["ratings"] == 200 and doc["users"] == 30
    assert all(Path(f).is_file() for f in doc["files"])
    doc = _json(
        [
            "data",
            "fetch",
            "ml-100k",
            "--url",
            movielens_url,
            "--cache-dir",
            tmp_path / "c",
            "--json",
        ]
    )
    assert doc["name"] == "ml-100k" and Path(doc["path"]).is_dir()
    assert isinstance(_json(["data", "list", "--json"]), list)
    assert _json(["data", "info", tiny["ratings"], "--json"])["n_ratings"] == 3000


def test_json_of_model_commands(tiny: dict[str, Path], tmp_path: Path) -> None:
    bundle, ratings = tiny["bundle"], tiny["ratings"]
    assert set(_json(["evaluate", bundle, "--data", ratings, "--json"])) == {"rmse", "mae"}
    assert _json(["info", bundle, "--json"])["settings"]["embedding_dim"] == 4
    assert len(_json(["similar", bundle, "1", "--topn", "2", "--json"])["neighbours"]) == 2
    assert "items" in _json(["recommend", bundle, "--user", "1", "--n", "2", "--json"])
    doc = _json(["export", bundle, "--format", "npy", "--out", tmp_path / "v.npz", "--json"])
    assert doc["format"] == "npy" and doc["vectors"] == 60
