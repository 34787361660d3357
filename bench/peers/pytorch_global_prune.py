#!/usr/bin/python3
"""PyTorch reference for Shears' global magnitude pruning: FCN-2 on MNIST, keep 5% of the weights.

1. Train a dense FCN-2 (784-300-100-10) for --dense-epochs (default 10) epochs: first 55,000 MNIST
   training images, batch 128, shuffled, Adam lr 1e-3, cross-entropy.
2. torch.nn.utils.prune.global_unstructured over the three Linear weight matrices (biases are not
   pruned) with L1Unstructured, amount = 1 - keep (default keep 0.05): the smallest-|w| weights
   across all layers together are masked to zero.
3. Fine-tune --finetune-epochs (default 5) epochs, fresh Adam at --finetune-lr (default 1e-3);
   the mask keeps pruned weights at zero (their gradient is masked too).
4. prune.remove() to make the zeros permanent, and report dense / pruned-before-fine-tune /
   pruned-after-fine-tune test accuracy (10k) and validation accuracy (last 5k training images),
   plus the kept fraction per layer.

    /usr/bin/python3 bench/peers/pytorch_global_prune.py [--keep 0.05] [--dense-epochs 10]
        [--finetune-epochs 5] [--seed 1] [--data-dir ../shared/data/mnist] [--onnx OUT] [--json OUT]
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see pytorch_train_speed.py

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.utils.prune as prune  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers_common as pc  # noqa: E402

BATCH = 128


def fit(model, train, epochs, lr, gen, label):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for e in range(epochs):
        secs, n, loss = pc.train_epoch(model, opt, train[0], train[1], BATCH, gen)
        print("  %s epoch %d/%d: loss %.4f, %.1f s" % (label, e + 1, epochs, loss, secs), flush=True)


def accs(model, val, test):
    return {"val": pc.evaluate(model, val[0], val[1])[0], "test": pc.evaluate(model, test[0], test[1])[0]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", type=float, default=0.05, help="fraction of weights kept (default %(default)s)")
    ap.add_argument("--dense-epochs", type=int, default=10)
    ap.add_argument("--finetune-epochs", type=int, default=5)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--finetune-lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data-dir", default=pc.DEFAULT_DATA_DIR)
    ap.add_argument("--onnx", help="also export the pruned model here (opset 13, input/logits)")
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    print("PyTorch: " + pc.env_summary())
    train, val, test = pc.load_splits(os.path.abspath(args.data_dir))
    t_start = time.perf_counter()

    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    model = pc.fcn2()
    print("Dense FCN-2, %d epochs, Adam lr %g:" % (args.dense_epochs, args.lr))
    fit(model, train, args.dense_epochs, args.lr, gen, "dense")
    dense = accs(model, val, test)
    print("Dense: val %.4f, test %.4f" % (dense["val"], dense["test"]))

    linears = [m for m in model if isinstance(m, nn.Linear)]
    params = [(m, "weight") for m in linears]
    total = sum(m.weight.numel() for m in linears)
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=1.0 - args.keep)
    pruned0 = accs(model, val, test)
    print("Pruned to keep %.1f%% (global L1), before fine-tuning: val %.4f, test %.4f"
          % (100 * args.keep, pruned0["val"], pruned0["test"]))

    print("Fine-tuning %d epochs, Adam lr %g:" % (args.finetune_epochs, args.finetune_lr))
    fit(model, train, args.finetune_epochs, args.finetune_lr, gen, "fine-tune")
    for m in linears:
        prune.remove(m, "weight")
    pruned = accs(model, val, test)

    kept = [int((m.weight != 0).sum()) for m in linears]
    layer_info = ["%dx%d: %d kept (%.2f%%)" % (m.weight.shape[0], m.weight.shape[1], k, 100.0 * k / m.weight.numel())
                  for m, k in zip(linears, kept)]
    print("Kept per layer: " + "; ".join(layer_info))
    print("Kept overall: %d of %d weights (%.2f%%); biases dense (%d)"
          % (sum(kept), total, 100.0 * sum(kept) / total, sum(m.bias.numel() for m in linears)))
    print()
    print("%-28s %8s %8s" % ("FCN-2", "val", "test"))
    print("%-28s %8.4f %8.4f" % ("dense (%d ep)" % args.dense_epochs, dense["val"], dense["test"]))
    print("%-28s %8.4f %8.4f" % ("pruned %.0f%% kept, no FT" % (100 * args.keep), pruned0["val"], pruned0["test"]))
    print("%-28s %8.4f %8.4f" % ("pruned %.0f%% kept + %d ep FT" % (100 * args.keep, args.finetune_epochs),
                                 pruned["val"], pruned["test"]))
    print("total time %.1f s" % (time.perf_counter() - t_start))

    if args.onnx:
        model.eval()
        torch.onnx.export(model, torch.zeros(1, 1, 28, 28), args.onnx, opset_version=13,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"env": pc.env_summary(), "args": vars(args), "dense": dense, "pruned_no_finetune": pruned0,
                       "pruned": pruned, "kept_per_layer": kept, "weights_total": total}, f, indent=1)


if __name__ == "__main__":
    main()
