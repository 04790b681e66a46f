"""The Fashion-MNIST recipe of RESULTS.md written in PyTorch, to check that convlens training is
not handicapped: same architecture as ``convlens.models.fmnist_cnn``, same data, same batches.

* data: ``convlens.data.load_dataset("fashion-mnist")`` (60,000 train / 10,000 test, scaled
  to [0, 1] exactly as ``convlens train`` reads them);
* batches: ``convlens.data.DataLoader`` shuffled with the same seed, and the same seeded
  augmentations (``make_augment(augment, "images", seed)``, the NumPy transforms behind
  ``convlens train --augment flip``), so both libraries see identical augmented batches;
* model: conv3x3(32, no bias)-BN-ReLU-maxpool, conv3x3(64, no bias)-BN-ReLU-maxpool, dropout
  0.3, linear 3136→256 (no bias), BN, ReLU, dropout 0.3, linear 256→10, with PyTorch's default
  initialization (``torch.manual_seed(seed)``);
* training: SGD (lr 0.05, momentum 0.9, weight decay 5e-4 as an L2 term), cosine schedule
  over the epochs stepped once per epoch, cross-entropy, batch 128, the last batch of 96 kept;
  the test set is evaluated after each epoch, as ``convlens train`` does.

Usage (the RESULTS.md run: 1 thread, next to the convlens run with OPENBLAS_NUM_THREADS=1)::

    python benchmarks/fashion_mnist_pytorch.py --epochs 20 --augment flip --threads 1 --out /tmp/fm_torch.json
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from torch import nn

from convlens.data import DataLoader, load_dataset, make_augment


def fmnist_cnn_torch(in_channels: int = 1, num_classes: int = 10, widths=(32, 64), hidden: int = 256,
                     dropout: float = 0.3, input_size: int = 28) -> nn.Sequential:
    layers: list[nn.Module] = []
    channels, size = in_channels, input_size
    for width in widths:
        layers += [nn.Conv2d(channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                   nn.MaxPool2d(2)]
        channels, size = width, size // 2
    layers += [nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels * size * size, hidden, bias=False),
               nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, num_classes)]
    return nn.Sequential(*layers)


@torch.no_grad()
def evaluate(model: nn.Module, x: np.ndarray, y: np.ndarray, batch_size: int = 500) -> tuple[float, float]:
    model.eval()
    loss, correct = 0.0, 0
    for i in range(0, len(x), batch_size):
        logits = model(torch.from_numpy(x[i : i + batch_size]))
        target = torch.from_numpy(y[i : i + batch_size]).long()
        loss += float(nn.functional.cross_entropy(logits, target, reduction="sum"))
        correct += int((logits.argmax(1) == target).sum())
    return loss / len(x), correct / len(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--augment", default="flip")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--limit-train", type=int, default=None)
    parser.add_argument("--out", default=None, help="write the per-epoch figures to this JSON file")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    ds = load_dataset("fashion-mnist").subset(args.limit_train, None)
    loader = DataLoader(ds.x_train, ds.y_train, args.batch_size, shuffle=True, seed=args.seed,
                        transform=make_augment(args.augment, "images", seed=args.seed))
    model = fmnist_cnn_torch(in_channels=ds.input_shape[0], num_classes=ds.num_classes)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=args.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"PyTorch {torch.__version__}, {args.threads} thread(s); fmnist_cnn: {n_params:,} parameters; "
          f"{len(ds.y_train)} train / {len(ds.y_test)} test", flush=True)
    history = []
    start = time.perf_counter()
    train_time = 0.0
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        seen, loss_sum, correct = 0, 0.0, 0
        for xb, yb in loader:
            xt, yt = torch.from_numpy(np.ascontiguousarray(xb)), torch.from_numpy(yb).long()
            logits = model(xt)
            loss = nn.functional.cross_entropy(logits, yt)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            seen += len(yb)
            loss_sum += loss.item() * len(yb)
            correct += int((logits.argmax(1) == yt).sum())
        scheduler.step()
        test_loss, test_acc = evaluate(model, ds.x_test, ds.y_test)
        seconds = time.perf_counter() - t0
        train_time += seconds
        history.append({"epoch": epoch, "train_loss": loss_sum / seen, "train_accuracy": correct / seen,
                        "test_loss": test_loss, "test_accuracy": test_acc, "seconds": seconds})
        print(f"epoch {epoch}/{args.epochs}  loss {loss_sum / seen:.4f} acc {correct / seen:.2%}  "
              f"test_loss {test_loss:.4f} test_acc {test_acc:.2%}  ({seconds:.1f} s)", flush=True)
    result = {"framework": f"torch {torch.__version__}", "threads": args.threads, "args": vars(args),
              "num_parameters": n_params, "test_accuracy": history[-1]["test_accuracy"],
              "train_time_seconds": train_time, "wall_time_seconds": time.perf_counter() - start,
              "history": history}
    print(f"test accuracy {result['test_accuracy']:.2%} ({train_time:.1f} s of training)")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
