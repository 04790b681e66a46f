"""Optional extras: import convlens needs none of torch, keras or h5py, and a missing one is
named with its install command."""

import subprocess
import sys

import pytest

import convlens as cl
from convlens.io.formats import MissingExtraError


def test_import_convlens_needs_no_extra():
    code = ("import sys, convlens; heavy = {'torch', 'keras', 'h5py', 'onnx'} & set(sys.modules); "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_to_torch_without_torch_gives_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)          # import torch now fails
    with pytest.raises(MissingExtraError, match=r'converting a model to PyTorch needs the package \'torch\', which is not installed; install it with: pip install "convlens\[torch\]"'):
        cl.to_torch(cl.Sequential(cl.ReLU()))
    with pytest.raises(MissingExtraError, match=r'pip install "convlens\[torch\]"'):
        cl.from_torch(object(), None)


def test_keras_files_without_h5py_give_the_install_command(monkeypatch, tmp_path):
    (tmp_path / "m.keras").write_bytes(b"PK")
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(MissingExtraError, match=r'reading a keras file needs the package \'h5py\'.*pip install "convlens\[keras\]"'):
        cl.load(tmp_path / "m.keras")
