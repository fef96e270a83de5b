"""Recommending: a user's top n with explanations, filters, batches, and a new visitor.

python examples/recommending.py [--data ~/data/ml-100k] [--out DIR]
"""

import embedlab as el
from _common import dataset, options, out_dir

args = options(__doc__)
ds = dataset(args)
mf = el.MatrixFactorization(32, epochs=20, random_state=0).fit(ds, progress=False)
user = ds.users.id(0)

recs = mf.recommend(user, n=5, explain=True)
for row in recs.itertuples():
    why = f" because you liked {row.because[0]}" if row.because else ""
    print(f"{row.rank}. {row.label} ({row.score:.2f}){why}")
print(mf.recommend(user, n=3, min_count=100).to_string(index=False))
genre = ds.genres[0] if ds.genres else None
if genre:
    print(f"only {genre}:", mf.recommend(user, n=3, genres=genre)["label"].tolist())

batch = mf.recommend_batch([ds.users.id(i) for i in range(3)], n=3)
print(batch.to_string(index=False))

# a visitor who is not in the training data: fold-in, no retraining
liked = [ds.items.id(i) for i in range(3)]
visitor = mf.recommend_for_ratings({liked[0]: 5, liked[1]: 4, liked[2]: 1}, n=3, explain=True)
print(visitor[["rank", "label", "score"]].to_string(index=False))
batch.to_csv(out_dir(args) / "recommendations.csv", index=False)
