"""Evaluation: metrics, cross-validation, model comparison and the course's experiments.

python examples/evaluation.py [--data ~/data/ml-100k] [--out DIR]
"""

import embedlab as el
from _common import dataset, options, out_dir
from embedlab.evaluation import (
    bias_experiment,
    compare,
    curve_summary,
    l2_sweep,
    obscurity_experiment,
    ranking_metrics,
    summarize,
)

args = options(__doc__)
ds = dataset(args)
out = out_dir(args)
train, test = ds.split("random", test_size=0.2, random_state=0)

table = compare(
    {
        "mf8": lambda: el.MatrixFactorization(8, epochs=10, random_state=0),
        "mf32": lambda: el.MatrixFactorization(32, epochs=10, random_state=0),
    },
    ds,
    "kfold",
    k=3,
    metrics=("rmse", "mae"),
)
print(summarize(table).to_string())

mf = el.MatrixFactorization(32, epochs=10, random_state=0).fit(train, progress=False)
recs = mf.recommend_batch(n=10)
print("ranking:", ranking_metrics(recs, test, k=10))

biases = bias_experiment(train, test, variants=("on", "global", "off"), epochs=8)
print(curve_summary(biases, "biases")[["biases", "final_val_rmse"]].to_string(index=False))
l2 = l2_sweep(train, test, strengths=(0, 0.06, 0.3), epochs=8)
print(l2[["l2", "final_val_rmse"]].to_string(index=False))
result = obscurity_experiment(train, test, n=10, model_kwargs={"embedding_dim": 16, "epochs": 8})
print(result.summary[["model", "obscure_share", "median_n_ratings", "coverage"]].to_string())
result.summary.to_csv(out / "obscurity.csv", index=False)
