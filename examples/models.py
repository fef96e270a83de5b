"""The two models and their options: engines, biases, L2 modes, bias damping, the neural model.

python examples/models.py [--data ~/data/ml-100k] [--out DIR]
"""

import embedlab as el
from _common import dataset, options, out_dir

args = options(__doc__)
ds = dataset(args)
train, test = ds.split("random", test_size=0.1, random_state=0)

variants = {
    # the compiled SGD engine with its tuned L2 and bias damping (default width is 512)
    "MF 32, sgd engine": el.MatrixFactorization(32, epochs=20, random_state=0),
    # the course's first model: the plain dot product, no biases
    "MF 32, dot product only": el.MatrixFactorization(
        32, user_bias=False, item_bias=False, global_bias=False, epochs=20, random_state=0
    ),
    # Keras-style: glorot init and whole-table L2 -> the torch engine
    "MF 8, Keras-style L2": el.MatrixFactorization(
        8,
        init="glorot_uniform",
        l2_mode="table",
        l2_user=1e-7,
        l2_item=1e-6,
        epochs=5,
        batch_size=5000,
        random_state=0,
    ),
    # the defaults: MF pre-training + dot branch + MLP, at 32 dims here to stay fast
    "neural 32 (defaults)": el.NeuralEmbeddingModel(32, epochs=3, random_state=0),
    # the course's exact network
    "neural, the course's": el.NeuralEmbeddingModel(
        embedding_dim=8,
        dot=False,
        pretrain=None,
        dropout=0,
        user_bias=False,
        l2_mode="table",
        l2_user=1e-7,
        l2_item=1e-6,
        l2_bias=0,
        learning_rate=1e-3,
        schedule=None,
        batch_size=5000,
        epochs=5,
        random_state=0,
    ),
}
print(f"{'model':28} {'engine':7} {'rmse':>7} {'mae':>7}")
for name, model in variants.items():
    model.fit(train, validation=test, progress=False)
    scores = model.evaluate(test)
    engine = getattr(model, "engine_", "torch")
    print(f"{name:28} {engine:7} {scores['rmse']:7.4f} {scores['mae']:7.4f}")

mf = variants["MF 32, sgd engine"]
print("per-epoch history:", "\n", mf.history_.to_pandas().tail(3).to_string(index=False))
print("largest item biases:")
print(mf.item_biases().sort_values("bias", ascending=False).head(3).to_string(index=False))
mf.save(out_dir(args) / "mf32")
