"""Shared bits of the PyTorch peer scripts: MNIST IDX loading, the two models, training and evaluation.

Run these scripts with Debian's /usr/bin/python3 (python3-torch 1.13), not another python on PATH.
"""

import ctypes
import gzip
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DEFAULT_DATA_DIR = os.path.normpath(os.path.join(REPO_ROOT, "..", "shared", "data", "mnist"))

N_TRAIN = 55000  # first 55k of the 60k training images; the last 5k are validation


# ---------------------------------------------------------------- MNIST (IDX)
def _open(path):
    if os.path.exists(path):
        return open(path, "rb")
    if os.path.exists(path + ".gz"):
        return gzip.open(path + ".gz", "rb")
    raise FileNotFoundError(path + "[.gz]")


def read_idx(path):
    with _open(path) as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError("%s: not an unsigned-byte IDX file" % path)
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_mnist(data_dir, split):
    """float32 pixel/255 images [N,1,28,28] and int64 labels [N]."""
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(os.path.join(data_dir, prefix + "-images-idx3-ubyte"))
    y = read_idx(os.path.join(data_dir, prefix + "-labels-idx1-ubyte"))
    x = torch.from_numpy(x.astype(np.float32) / np.float32(255.0)).reshape(-1, 1, 28, 28)
    return x, torch.from_numpy(y.astype(np.int64))


def load_splits(data_dir):
    xtr, ytr = load_mnist(data_dir, "train")
    xte, yte = load_mnist(data_dir, "test")
    return (xtr[:N_TRAIN], ytr[:N_TRAIN]), (xtr[N_TRAIN:], ytr[N_TRAIN:]), (xte, yte)


# --------------------------------------------------------------------- models
def fcn2():
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 300), nn.ReLU(),
        nn.Linear(300, 100), nn.ReLU(),
        nn.Linear(100, 10),
    )


def cnn3():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(3136, 10),
    )


MODELS = {"fcn2": fcn2, "cnn3": cnn3}


# ------------------------------------------------------------ train / evaluate
def train_epoch(model, opt, x, y, batch_size, gen, max_batches=None):
    """One shuffled epoch of cross-entropy training; returns (seconds, images, mean loss)."""
    model.train()
    t0 = time.perf_counter()
    perm = torch.randperm(x.shape[0], generator=gen)
    seen, loss_sum = 0, 0.0
    for b, i in enumerate(range(0, x.shape[0], batch_size)):
        if max_batches is not None and b >= max_batches:
            break
        idx = perm[i:i + batch_size]
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        seen += idx.shape[0]
        loss_sum += loss.item() * idx.shape[0]
    return time.perf_counter() - t0, seen, loss_sum / max(seen, 1)


@torch.no_grad()
def evaluate(model, x, y, batch_size=1000):
    """(accuracy, seconds) of a forward-only pass over x."""
    model.eval()
    t0 = time.perf_counter()
    correct = 0
    for i in range(0, x.shape[0], batch_size):
        correct += (model(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum().item()
    return correct / x.shape[0], time.perf_counter() - t0


# ------------------------------------------------------------------- env info
def blas_info():
    """The BLAS actually loaded in this process (Debian's torch links libblas.so.3 via alternatives)."""
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                p = line.split()[-1]
                if "blas" in os.path.basename(p) or "lapack" in os.path.basename(p):
                    libs.add(os.path.realpath(p))
    except OSError:
        pass
    desc = ", ".join(sorted(libs)) or "unknown"
    for lib in sorted(libs):
        if "openblas" in lib:
            try:
                ob = ctypes.CDLL(lib)
                ob.openblas_get_config.restype = ctypes.c_char_p
                desc += " [OpenBLAS %s; openblas threads %d]" % (
                    ob.openblas_get_config().decode().strip(), ob.openblas_get_num_threads())
            except (OSError, AttributeError):
                pass
            break
    return desc


def env_summary():
    envs = " ".join("%s=%s" % (k, os.environ[k]) for k in
                    ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
                    if k in os.environ)
    if "OMP_WAIT_POLICY" not in os.environ:
        envs = (envs + " " if envs else "") + "OMP_WAIT_POLICY unset (libgomp default)"
    return "torch %s (numpy %s), torch threads %d, mkldnn %s, %s; BLAS: %s" % (
        torch.__version__, np.__version__, torch.get_num_threads(),
        torch.backends.mkldnn.is_available(), envs, blas_info())
