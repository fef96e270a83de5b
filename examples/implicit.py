"""Implicit feedback: a purchase log (no ratings) to embeddings, top-N evaluation,
neighbours and recommendations.

python examples/implicit.py [--data ~/data/ml-100k] [--out DIR]

Without --data it writes a synthetic purchase log (customer, product, quantity, timestamp;
string IDs; customers shop in one department) to --out and reads it back; with a
MovieLens folder the ratings >= 4 are the positives.
"""

import numpy as np
import pandas as pd

import embedlab as el
from _common import options, out_dir
from embedlab.evaluation import cross_validate, summarize

args = options(__doc__)
out = out_dir(args)


def purchase_log(n_customers: int = 600, seed: int = 0) -> pd.DataFrame:
    """Customers who buy in one of five departments, popular products more often."""
    rng = np.random.default_rng(seed)
    departments = ["garden", "kitchen", "office", "toys", "sport"]
    products = {d: [f"{d}-{k:02d}" for k in range(40)] for d in departments}
    popularity = 1 / np.arange(1, 41) ** 0.8
    popularity /= popularity.sum()
    rows, t = [], 1_700_000_000
    for c in range(n_customers):
        home = departments[c % len(departments)]
        for _ in range(int(rng.integers(4, 15))):
            shop = home if rng.random() < 0.85 else departments[int(rng.integers(5))]
            product = products[shop][int(rng.choice(40, p=popularity))]
            rows.append((f"customer-{c:04d}", product, int(rng.integers(1, 4)), t))
            t += int(rng.integers(60, 86_400))
    return pd.DataFrame(rows, columns=["customer", "product", "quantity", "timestamp"])


if args.data:
    from embedlab.data import load

    ds = load(args.data).to_implicit(threshold=4)  # positives: ratings >= 4
else:
    path = out / "purchases.csv"
    purchase_log().to_csv(path, index=False)
    # repeated (customer, product) rows are summed: the total quantity is the weight
    ds = el.load_interactions(path, user="customer", item="product", weight="quantity")
print(ds)
print(ds.describe())

model = el.ImplicitMatrixFactorization(random_state=0).fit(ds, progress=False)
print(model.settings_)

# top-N evaluation: 20 % of each customer's products held out, fresh model per fold
scores = cross_validate(
    lambda: el.ImplicitMatrixFactorization(random_state=0), ds, "user", test_size=0.2, seeds=(0,)
)
print(summarize(scores, ["ndcg@10", "recall@20", "coverage@10", "popularity@10"]))

items = model.item_embeddings()
first = ds.items.id(0)
print(f"more like {first}:", items.most_similar(first, topn=5)["key"].tolist())
customer = ds.users.id(0)
print(model.recommend(customer, n=5, explain=True).to_string(index=False))
# a visitor who bought two items (weights are quantities; 1.0 for a click)
visitor = {ds.items.id(1): 2.0, ds.items.id(2): 1.0}
print(model.recommend_for_ratings(visitor, n=3)[["rank", "item", "score"]].to_string(index=False))

path = model.save(out / "implicit-model")
print("saved to", path, "- try: embedlab similar", path, repr(str(first)))
