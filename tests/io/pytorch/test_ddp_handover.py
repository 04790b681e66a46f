"""The scale-out hand-over the README shows: prototype in convlens -> train with PyTorch's
DistributedDataParallel (torchrun, 2 processes, gloo on CPU) -> load the weights back into
convlens (torch.load with weights_only=True) and look inside."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

import convlens as cl
from convlens.io import write_json
from convlens.io.pytorch import load_torch_state
from convlens.layers.spec import to_spec

ROOT = Path(__file__).resolve().parents[3]


def test_train_with_ddp_on_two_processes_and_bring_the_weights_back(tmp_path):
    cl.manual_seed(0)
    model = cl.models.get_model("lenet5")                 # prototype in convlens
    start = model.state_dict()
    write_json(tmp_path / "model.json", to_spec(model))
    cl.save_weights(model, tmp_path / "start.npz")

    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or "torchrun"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               OMP_NUM_THREADS="1")
    result = subprocess.run(
        [torchrun, "--standalone", "--nproc_per_node", "2", str(ROOT / "examples" / "ddp_train.py"),
         "--spec", str(tmp_path / "model.json"), "--weights", str(tmp_path / "start.npz"),
         "--out", str(tmp_path / "trained.pt"), "--steps", "5", "--every-rank"],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "step 4: loss" in result.stdout

    trained = load_torch_state(tmp_path / "trained.pt", model)   # weights_only=True inside
    model.load_state_dict(trained)                               # back in convlens
    replicas = [torch.load(tmp_path / f"trained.rank{r}.pt", weights_only=True) for r in (0, 1)]
    ours = model.state_dict()
    assert sorted(ours) == sorted(replicas[0])
    for key, value in ours.items():
        for replica in replicas:                                 # DDP kept both processes equal,
            np.testing.assert_array_equal(value, replica[key].numpy())   # and convlens has them
    moved = [key for key in ours if not np.array_equal(ours[key], start[key])]
    assert sorted(moved) == sorted(k for k, _ in model.named_parameters())  # every weight trained

    x = np.random.default_rng(0).random((2, 1, 28, 28), dtype=np.float32)  # look inside again
    module = cl.to_torch(model).eval()
    np.testing.assert_allclose(model.eval()(x), module(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-5)
    assert "conv" in str(cl.summary(model, (1, 28, 28))).lower()
