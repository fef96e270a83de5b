"""Pictures: a 2-D projection, maps (HTML and PNG), learning curves, a bias plot, a size sweep.

python examples/pictures.py [--data ~/data/ml-100k] [--out DIR]
"""

import embedlab as el
from _common import dataset, options, out_dir
from embedlab.evaluation import size_sweep

args = options(__doc__)
ds = dataset(args)
out = out_dir(args)
train, test = ds.split("random", test_size=0.1, random_state=0)
mf = el.MatrixFactorization(32, epochs=15, random_state=0).fit(
    train, validation=test, progress=False
)
items = mf.item_embeddings()

xy = el.viz.project(items, method="pca", top_n=200)
print(xy.head(3).to_string(index=False))
m = el.viz.embedding_map(items, method="tsne", color="genre", top_n=200, perplexity=20)
print("map:", m.save(out / "map.html"), m.save(out / "map.png"))
print("curves:", el.viz.learning_curves(mf.history_).save(out / "curves.png"))
print("biases:", el.viz.bias_plot(mf, n=8).save(out / "biases.png"))
curves = size_sweep(train, test, embedding_dims=(4, 16, 32), epochs=8)
print("sweep:", el.viz.size_sweep_plot(curves).save(out / "size_sweep.png"))
