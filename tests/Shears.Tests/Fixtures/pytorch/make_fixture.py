#!/usr/bin/python3
"""Make the PyTorch-exported ONNX fixtures used by Shears' importer tests.

Trains two small MNIST models in PyTorch (1 epoch, seeded), exports each with
torch.onnx.export (opset 13, input "input" [N,1,28,28] with a dynamic batch
axis, output "logits") and writes <name>_expected.json with PyTorch's logits
for the first 32 MNIST test images, their argmax, and the model's accuracy on
the full 10k test set.

Inputs are raw pixels / 255 as float32 (no mean/std normalisation), NCHW.

Run with Debian's python (PyTorch 1.13 from `apt-get install python3-torch`):

    /usr/bin/python3 tests/Shears.Tests/Fixtures/pytorch/make_fixture.py \
        [--data-dir ../shared/data/mnist] [--out-dir <this folder>]

If the `onnx` module is importable (Debian: python3-onnx) each exported file is
also checked with onnx.checker and re-evaluated by a small numpy interpreter of
the graph, which must reproduce PyTorch's logits.
"""

import argparse
import gzip
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
DEFAULT_DATA_DIR = os.path.join(REPO_ROOT, "..", "shared", "data", "mnist")

SEED = 1
N_TRAIN = 55000
BATCH = 128
LR = 1e-3
N_EXPECTED = 32
OPSET = 13


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
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return arr.reshape(dims)


def load_mnist(data_dir, split):
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(os.path.join(data_dir, prefix + "-images-idx3-ubyte"))
    y = read_idx(os.path.join(data_dir, prefix + "-labels-idx1-ubyte"))
    x = torch.from_numpy(x.astype(np.float32) / np.float32(255.0)).reshape(-1, 1, 28, 28)
    y = torch.from_numpy(y.astype(np.int64))
    return x, y


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


def train_one_epoch(model, x, y, gen):
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    model.train()
    perm = torch.randperm(x.shape[0], generator=gen)
    for i in range(0, x.shape[0], BATCH):
        idx = perm[i:i + BATCH]
        opt.zero_grad()
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()


@torch.no_grad()
def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    for i in range(0, x.shape[0], batch):
        correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / x.shape[0]


def compact_json(obj):
    """Top-level keys one per line, lists of numbers on one line, logits one row a line."""
    lines = []
    for k, v in obj.items():
        if k == "logits":
            rows = ",\n  ".join(json.dumps(r) for r in v)
            val = "[\n  " + rows + "\n ]"
        else:
            val = json.dumps(v)
        lines.append(" %s: %s" % (json.dumps(k), val))
    return "{\n" + ",\n".join(lines) + "\n}\n"


# ------------------------------------------- optional check of the ONNX graph
def numpy_eval_onnx(path, x):
    """Tiny numpy interpreter for the ops these fixtures use."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(path)
    onnx.checker.check_model(model)
    g = model.graph
    env = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    env[g.input[0].name] = x
    for node in g.node:
        a = {at.name: onnx.helper.get_attribute_value(at) for at in node.attribute}
        ins = [env[n] for n in node.input if n]
        op = node.op_type
        if op == "Flatten":
            ax = a.get("axis", 1)
            out = ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)
        elif op == "Reshape":
            out = ins[0].reshape([ins[0].shape[i] if s == 0 else s for i, s in enumerate(ins[1])])
        elif op == "Gemm":
            A, B = ins[0], ins[1]
            if a.get("transA", 0):
                A = A.T
            if a.get("transB", 0):
                B = B.T
            out = a.get("alpha", 1.0) * (A @ B)
            if len(ins) > 2:
                out = out + a.get("beta", 1.0) * ins[2]
        elif op == "MatMul":
            out = ins[0] @ ins[1]
        elif op == "Add":
            out = ins[0] + ins[1]
        elif op == "Relu":
            out = np.maximum(ins[0], 0)
        elif op == "Conv":
            X, W = ins[0], ins[1]
            p = a.get("pads", [0, 0, 0, 0])
            assert a.get("strides", [1, 1]) == [1, 1] and a.get("group", 1) == 1
            Xp = np.pad(X, ((0, 0), (0, 0), (p[0], p[2]), (p[1], p[3])))
            kh, kw = W.shape[2], W.shape[3]
            oh, ow = Xp.shape[2] - kh + 1, Xp.shape[3] - kw + 1
            out = np.zeros((X.shape[0], W.shape[0], oh, ow), dtype=np.float64)
            for i in range(kh):
                for j in range(kw):
                    out += np.einsum("nchw,oc->nohw", Xp[:, :, i:i + oh, j:j + ow], W[:, :, i, j])
            if len(ins) > 2:
                out += ins[2].reshape(1, -1, 1, 1)
        elif op == "MaxPool":
            k = a["kernel_shape"]
            s = a.get("strides", k)
            assert k == [2, 2] and s == [2, 2] and not any(a.get("pads", [0])), a
            n, c, h, w = ins[0].shape
            out = ins[0][:, :, :h // 2 * 2, :w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))
        else:
            raise NotImplementedError(op)
        env[node.output[0]] = out
    return env[g.output[0].name], sorted({n.op_type for n in g.node})


# ----------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    ap.add_argument("--out-dir", default=HERE)
    ap.add_argument("--models", default="fcn2,cnn3")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    x_train, y_train = load_mnist(args.data_dir, "train")
    x_test, y_test = load_mnist(args.data_dir, "test")
    x_train, y_train = x_train[:N_TRAIN], y_train[:N_TRAIN]

    try:
        import onnx  # noqa: F401
        have_onnx = True
    except ImportError:
        have_onnx = False
        print("note: python module 'onnx' not available; skipping the numpy re-evaluation check")

    for name in args.models.split(","):
        torch.manual_seed(SEED)
        gen = torch.Generator().manual_seed(SEED)
        model = MODELS[name]()
        t0 = time.time()
        train_one_epoch(model, x_train, y_train, gen)
        train_s = time.time() - t0
        acc = evaluate(model, x_test, y_test)
        model.eval()

        onnx_name = "%s_pytorch.onnx" % name
        onnx_path = os.path.join(args.out_dir, onnx_name)
        torch.onnx.export(
            model, torch.zeros(1, 1, 28, 28), onnx_path,
            opset_version=OPSET, input_names=["input"], output_names=["logits"],
            dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
            do_constant_folding=True,
        )

        xs = x_test[:N_EXPECTED]
        with torch.no_grad():
            logits = model(xs)
        preds = logits.argmax(1)
        expected = {
            "model": name,
            "onnx": onnx_name,
            "torch_version": torch.__version__,
            "opset": OPSET,
            "input_name": "input",
            "output_name": "logits",
            "input_shape": [N_EXPECTED, 1, 28, 28],
            "input_preprocessing": "MNIST t10k images, float32 pixel/255 in [0,1], NCHW, no mean/std normalisation",
            "train": {"images": N_TRAIN, "epochs": 1, "batch_size": BATCH, "optimizer": "adam", "lr": LR, "seed": SEED},
            "test_accuracy": acc,
            "test_images": int(x_test.shape[0]),
            "indices": list(range(N_EXPECTED)),
            "labels": [int(v) for v in y_test[:N_EXPECTED]],
            "predictions": [int(v) for v in preds],
            "logits": [[float(v) for v in row] for row in logits],
        }
        with open(os.path.join(args.out_dir, "%s_expected.json" % name), "w") as f:
            f.write(compact_json(expected))

        msg = "%s: trained 1 epoch in %.1fs, test accuracy %.4f, %s (%d bytes)" % (
            name, train_s, acc, onnx_name, os.path.getsize(onnx_path))
        if have_onnx:
            ref, ops = numpy_eval_onnx(onnx_path, xs.numpy().astype(np.float64))
            diff = float(np.abs(ref - logits.numpy()).max())
            msg += "; ops %s; numpy re-eval max |diff| %.2e" % (",".join(ops), diff)
            if diff > 1e-3 or not (ref.argmax(1) == preds.numpy()).all():
                print(msg)
                sys.exit("ONNX re-evaluation does not match PyTorch for %s" % name)
        print(msg)


if __name__ == "__main__":
    main()
