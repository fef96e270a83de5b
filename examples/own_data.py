"""Your own data: a CSV with string IDs and a side table of item attributes, end to end.

Writes a planted table (customers who each like one of three product families:
chocolate, tea, wine) and ``products.csv`` (id, name, category, price), then:
ratings -> model -> neighbours -> map -> recommendations for a visitor -> features
for a supervised model. No download.

python examples/own_data.py [--out DIR]
"""

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor

import embedlab as el
from _common import options, out_dir
from embedlab.data import read_side_table
from embedlab.features import join_embeddings


def write_tables(folder: Path) -> tuple[Path, Path]:
    """``ratings.csv`` (customer_id, product_code, score) and ``products.csv``."""
    rng = np.random.default_rng(0)
    families = ["chocolate", "tea", "wine"]
    products = [(f"p-{f}-{k:02d}", f"{f.title()} no. {k}", f, 2 + i + k / 10)
                for i, f in enumerate(families) for k in range(1, 13)]  # fmt: skip
    rows = []
    for u in range(150):
        liked = families[u % 3]
        for p in rng.choice(len(products), size=20, replace=False):
            code, _, family, _ = products[p]
            score = np.clip(round((4.6 if family == liked else 1.6) + rng.normal(0, 0.5)), 1, 5)
            rows.append((f"c{u + 1:03d}", code, int(score)))
    ratings = folder / "ratings.csv"
    pd.DataFrame(rows, columns=["customer_id", "product_code", "score"]).to_csv(
        ratings, index=False
    )
    side = folder / "products.csv"
    pd.DataFrame(products, columns=["id", "name", "category", "price"]).to_csv(side, index=False)
    return ratings, side


args = options(__doc__)
out = out_dir(args)
ratings_csv, products_csv = write_tables(out)

# 1. the table, its columns named, and the side table's names and categories attached
ds = el.load_ratings(ratings_csv, user="customer_id", item="product_code", rating="score")
ds = ds.with_item_metadata(read_side_table(products_csv, key="id", label="name"))
print(ds.describe())
train, test = ds.split("random", test_size=0.1, random_state=0)

# 2. a model (a catalogue of 36 products needs few dimensions)
mf = el.MatrixFactorization(embedding_dim=16, random_state=0).fit(train, progress=False)
print("test:", mf.evaluate(test))

# 3. neighbours: a label (or part of one), or an ID
items = mf.item_embeddings()
print("nearest to 'Chocolate no. 3':")
print(items.most_similar(items.resolve("Chocolate no. 3"), topn=5).to_string(index=False))

# 4. a map coloured by a side-table column
print("map:", el.viz.embedding_map(items, method="pca", color="category").save(out / "map.png"))

# 5. a new visitor: two chocolates rated 5, a tea rated 1 (the score is a predicted rating)
visitor = {"p-chocolate-01": 5, "p-chocolate-02": 5, "p-tea-01": 1}
print("for the visitor:")
print(
    mf.recommend_for_ratings(visitor, n=5)[["rank", "item", "label", "score"]].to_string(
        index=False
    )
)


# 6. the embeddings as features of a supervised model: the user's and the item's vectors
#    joined onto (user, item) rows, here to predict the score with gradient boosting
def features(rows: pd.DataFrame) -> pd.DataFrame:
    return join_embeddings(rows, mf).filter(regex=r"_(e\d+|unknown)$")


train_rows, test_rows = train.to_pandas(), test.to_pandas()
regressor = HistGradientBoostingRegressor(max_iter=50, random_state=0)
regressor.fit(features(train_rows), train_rows["rating"])
error = regressor.predict(features(test_rows)) - test_rows["rating"]
print(f"{features(test_rows).shape[1]} features; test RMSE {np.sqrt(np.mean(error**2)):.3f}")

path = mf.save(out / "model")
print(f"saved: {path} (explore it: embedlab serve {path})")
