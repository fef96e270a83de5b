"""Exploring embeddings: find and resolve titles, neighbours, analogies, exports, FAISS.

python examples/exploring.py [--data ~/data/ml-100k] [--out DIR]
"""

import importlib.util

import embedlab as el
from _common import dataset, options, out_dir

args = options(__doc__)
ds = dataset(args)
out = out_dir(args)
mf = el.MatrixFactorization(32, epochs=20, random_state=0).fit(ds, progress=False)
items = mf.item_embeddings()

some_title = items.get_label(items.keys.id(0))
query = some_title.split(" (")[0].lower()  # forgiving: case, year left out
print(items.find(query, n=3).to_string(index=False))
key = items.resolve(some_title)
print(f"{query!r} resolves to {key!r}")

print(items.most_similar(key, topn=5, min_count=20).to_string(index=False))
a, b, c = (items.keys.id(i) for i in (1, 2, 3))
print(
    "analogy:\n" + items.most_similar(positive=[b, c], negative=[a], topn=3).to_string(index=False)
)
print("doesn't match:", items.doesnt_match([a, b, c, key]))

# exports, each read back where a reader exists
items.save_word2vec_format(out / "items.w2v")
assert len(el.KeyedEmbeddings.load_word2vec_format(out / "items.w2v")) == len(items)
items.to_parquet(out / "items.parquet")
assert len(el.KeyedEmbeddings.from_parquet(out / "items.parquet")) == len(items)
items.to_numpy(out / "items.npz")
assert len(el.KeyedEmbeddings.from_numpy(out / "items.npz")) == len(items)
items.to_projector(out / "projector")
print("exports written to", out)

if importlib.util.find_spec("gensim"):
    kv = items.to_gensim()
    print(
        "gensim agrees:",
        kv.most_similar(str(key), topn=1)[0][0]
        == str(items.most_similar(key, topn=1)["key"].iloc[0]),
    )
if importlib.util.find_spec("faiss"):
    items.build_index("faiss")
    print("FAISS index:", items.index_kind, items.most_similar(key, topn=3)["key"].tolist())
