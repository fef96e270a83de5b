"""Quickstart: ratings -> model -> evaluation, neighbours, recommendations, a saved bundle.

python examples/quickstart.py [--data ~/data/ml-100k] [--out DIR]
"""

import embedlab as el
from _common import dataset, options, out_dir

args = options(__doc__)
ds = dataset(args)
print(ds.describe())
train, test = ds.split("random", test_size=0.1, random_state=0)

mf = el.MatrixFactorization(embedding_dim=32, epochs=20, random_state=0)
mf.fit(train, validation=test, progress=False)
print("test:", mf.evaluate(test))

items = mf.item_embeddings()
first = items.keys.id(0)
print(f"nearest to {items.get_label(first)!r}:")
print(items.most_similar(first, topn=5).to_string(index=False))

user = train.users.id(0)
print(f"top 5 for user {user}:")
print(mf.recommend(user, n=5)[["rank", "item", "label", "score"]].to_string(index=False))

path = mf.save(out_dir(args) / "mf32")
again = el.load(path)
assert (again.predict([user], [first]) == mf.predict([user], [first])).all()
print("saved and reloaded:", path)
