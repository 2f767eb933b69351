"""The PyTorch reference for bench-mlp: the same MLP 784-400-400-10 (ReLU,
Adam 1e-3, batch 128), one epoch of Fashion-MNIST read from the same IDX
files, the same uint8 -> float conversion per batch.  Run by run-engine.sh
with the same BLIS kernel set and thread count as lifelong.  Prints one JSON
object."""
import argparse
import gzip
import json
import os
import time

import numpy as np
import torch


def load(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    x = torch.from_numpy(load(os.path.join(a.data, "train-images-idx3-ubyte.gz")).reshape(-1, 784).copy())
    y = torch.from_numpy(load(os.path.join(a.data, "train-labels-idx1-ubyte.gz")).astype(np.int64))
    xt = torch.from_numpy(load(os.path.join(a.data, "t10k-images-idx3-ubyte.gz")).reshape(-1, 784).copy())
    yt = torch.from_numpy(load(os.path.join(a.data, "t10k-labels-idx1-ubyte.gz")).astype(np.int64))
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 400), torch.nn.ReLU(),
        torch.nn.Linear(400, 400), torch.nn.ReLU(),
        torch.nn.Linear(400, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lossf = torch.nn.CrossEntropyLoss()
    n = x.shape[0]
    steps, loss_sum = 0, 0.0
    t0 = time.perf_counter()
    for _ in range(a.epochs):
        order = torch.randperm(n)
        for s in range(0, n, a.batch):
            idx = order[s:s + a.batch]
            xb = x[idx].float().mul_(1.0 / 255.0)
            loss = lossf(model(xb), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item()
            steps += 1
    train_s = time.perf_counter() - t0
    with torch.no_grad():
        pred = model(xt.float() / 255.0).argmax(1)
        acc = (pred == yt).float().mean().item()
    print(json.dumps({
        "impl": "pytorch", "version": torch.__version__, "threads": a.threads,
        "blis_arch_type": os.environ.get("BLIS_ARCH_TYPE"), "steps": steps,
        "train_s": round(train_s, 4), "samples_per_s": round(n * a.epochs / train_s, 1),
        "mean_loss": round(loss_sum / steps, 4), "test_accuracy": round(acc, 4)}))


if __name__ == "__main__":
    main()
