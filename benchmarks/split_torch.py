"""A bare PyTorch loop doing the same work as
benchmarks/runs/split-fmnist-naive-class.json: split Fashion-MNIST, 5
experiences x 2 classes (natural order), MLP 784-400-400-10, Adam 1e-3 reset
per experience, batch 128, 1 epoch, evaluation of every experience after each
one and of the untrained model.  Prints the matrix and average accuracy as
JSON.  run-split.sh times the whole process."""
import gzip
import json
import os
import sys

import numpy as np
import torch


def load(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
    threads = int(os.environ.get("OMP_NUM_THREADS", "1"))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x = torch.from_numpy(load(f"{d}/train-images-idx3-ubyte.gz").reshape(-1, 784).copy())
    y = torch.from_numpy(load(f"{d}/train-labels-idx1-ubyte.gz").astype(np.int64))
    xt = torch.from_numpy(load(f"{d}/t10k-images-idx3-ubyte.gz").reshape(-1, 784).copy())
    yt = torch.from_numpy(load(f"{d}/t10k-labels-idx1-ubyte.gz").astype(np.int64))
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 400), torch.nn.ReLU(),
        torch.nn.Linear(400, 400), torch.nn.ReLU(),
        torch.nn.Linear(400, 10))
    lossf = torch.nn.CrossEntropyLoss()
    T = 5
    exps = [[2 * e, 2 * e + 1] for e in range(T)]
    train_idx = [torch.nonzero((y == a) | (y == b)).flatten() for a, b in exps]
    test_idx = [torch.nonzero((yt == a) | (yt == b)).flatten() for a, b in exps]

    def evaluate():
        with torch.no_grad():
            return [(model(xt[i].float() / 255.0).argmax(1) == yt[i]).float().mean().item() for i in test_idx]

    baseline = evaluate()
    matrix = []
    for e in range(T):
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        idx = train_idx[e][torch.randperm(len(train_idx[e]))]
        for s in range(0, len(idx), 128):
            b = idx[s:s + 128]
            loss = lossf(model(x[b].float().mul_(1.0 / 255.0)), y[b])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        matrix.append(evaluate())
    print(json.dumps({"matrix": matrix, "baseline": baseline,
                      "average_accuracy": sum(matrix[-1]) / T}))


if __name__ == "__main__":
    main()
