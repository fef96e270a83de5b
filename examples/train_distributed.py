"""Data-parallel training of the neural model over several processes (torch.distributed).

torchrun --nproc-per-node 2 examples/train_distributed.py [--data ~/data/ml-100k] [--out DIR]

Every process runs this whole script: it loads the same data and splits it with the same
seed, so vocabularies and rows agree. fit() sees torchrun's WORLD_SIZE and trains
data-parallel (gloo on the CPU, NCCL on GPUs): each process takes its shard of every
epoch and the gradients are summed every step, so all processes end with the same
weights. Rank 0 pre-trains, shows the progress bar, prints and saves. Run with plain
``python`` it trains in one process.
"""

import embedlab as el
from _common import dataset, options, out_dir
from embedlab.training import get_world_size, is_main_process

args = options(__doc__)
ds = dataset(args)
train, test = ds.split("random", test_size=0.1, random_state=0)

# batch_size is per process: one step of 2 processes sees 2 × 512 ratings
model = el.NeuralEmbeddingModel(32, epochs=3, batch_size=512, random_state=0)
model.fit(train, validation=test)

if is_main_process():  # every rank holds the same model; one of them writes it
    scores = model.evaluate(test)
    seconds = sum(r["seconds"] for r in model.history_)
    print(
        f"{get_world_size()} process(es): test RMSE {scores['rmse']:.4f}, "
        f"{seconds:.1f} s for {len(model.history_)} epochs"
    )
    path = model.save(out_dir(args) / "neural-distributed")
    print("saved", path)
