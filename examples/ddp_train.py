"""Train a convlens model with PyTorch's DistributedDataParallel and hand the weights back.

    torchrun --standalone --nproc_per_node 2 examples/ddp_train.py \
        --spec model.json --weights start.npz --out trained.pt --steps 100

``model.json`` is the architecture (``convlens.layers.spec.to_spec(model)``), ``start.npz`` its
weights (``cl.save_weights``). Every process rebuilds the model, turns it into a torch module
with ``cl.to_torch`` and wraps it in DDP (gloo backend: CPU only); each trains on its own shard
of mnist-5k's training images and DDP averages the gradients, so the replicas stay equal.
Process 0 writes the trained ``state_dict`` with ``torch.save``; read it back into convlens
with ``cl.io.pytorch.load_torch_state(path, model)`` (``torch.load(weights_only=True)``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

import convlens as cl
from convlens.data.mnist_5k import load_mnist_5k
from convlens.io import atomic_write
from convlens.layers.spec import from_spec


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, required=True, help="architecture JSON (to_spec)")
    parser.add_argument("--weights", type=Path, required=True, help="start weights (.npz)")
    parser.add_argument("--out", type=Path, required=True, help="trained state_dict (.pt)")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=32, help="per process")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--every-rank", action="store_true",
                        help="also write each process's replica to OUT.rank<k>.pt "
                             "(to check that DDP kept them equal)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(rank)

    model = from_spec(json.loads(args.spec.read_text()))
    cl.load_weights(model, args.weights)
    module = cl.to_torch(model).train()
    ddp = DistributedDataParallel(module)

    data = load_mnist_5k()
    order = np.random.default_rng(0).permutation(len(data.y_train))[rank::world]  # this rank's shard
    x, y = torch.from_numpy(data.x_train[order]), torch.from_numpy(data.y_train[order])
    optimizer = torch.optim.SGD(ddp.parameters(), lr=args.lr, momentum=0.9)
    for step in range(args.steps):
        start = (step * args.batch_size) % (len(y) - args.batch_size)
        xb, yb = x[start:start + args.batch_size], y[start:start + args.batch_size]
        loss = F.cross_entropy(ddp(xb), yb)
        optimizer.zero_grad()
        loss.backward()                      # DDP averages the gradients of all processes here
        optimizer.step()
        if rank == 0 and (step % 10 == 0 or step == args.steps - 1):
            print(f"step {step}: loss {loss.item():.4f}", flush=True)

    if args.every_rank:
        with atomic_write(args.out.with_suffix(f".rank{rank}.pt")) as handle:
            torch.save(module.state_dict(), handle)
    if rank == 0:
        with atomic_write(args.out) as handle:
            torch.save(module.state_dict(), handle)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
