#!/usr/bin/python3
"""Training speed, PyTorch vs Shears: images/s of ONE training epoch on MNIST.

Epoch = the first 55,000 MNIST training images, batch 128, shuffled, Adam lr 1e-3,
cross-entropy, for FCN-2 (784-300-100-10) and CNN-3. PyTorch runs with
torch.set_num_threads(2) (override with --threads); data is preloaded as float
tensors (pixel/255) so the epoch time is model work plus batch gathering only.
A few batches on a throwaway model warm the libraries up first.

Shears is run through its CLI (`shears train ... --metrics m.json`) and its own
`imagesPerSecond` / `trainSeconds` are read from the metrics JSON. The table
gives, per model, the best of --repeats runs on each side, and the ratio
Shears/PyTorch (goal: >= 2x).

Also prints PyTorch's forward-only throughput over the 10k test images (batch
128 and 1000) as an anchor.

    /usr/bin/python3 bench/peers/pytorch_train_speed.py [--models fcn2,cnn3] [--skip-shears]
        [--repeats N] [--data-dir ../shared/data/mnist] [--shears-bin PATH] [--json OUT]
        [--omp-wait-policy passive|active|default]

Normally started through bench/peers/run.sh, which installs PyTorch and builds Shears.
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

# libgomp's default wait policy spins idle OpenMP threads for a while, which on a 2-core machine
# fights OpenBLAS's own pthreads for the cores: measured here it made Debian's PyTorch 2-4x slower
# (FCN-2 ~25k img/s instead of ~100k). Passive waiting is PyTorch's best 2-thread configuration, so
# it is the default here; --omp-wait-policy default measures PyTorch as it comes. Read from argv
# now because it must be in the environment before torch (and libgomp) is loaded.
WAIT_POLICIES = ("passive", "active", "default")


def _omp_wait_policy_from_argv(argv):
    for i, a in enumerate(argv):
        if a == "--omp-wait-policy" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--omp-wait-policy="):
            return a.split("=", 1)[1]
    return None


_policy = _omp_wait_policy_from_argv(sys.argv[1:])
if _policy == "default":
    os.environ.pop("OMP_WAIT_POLICY", None)
elif _policy in ("passive", "active"):
    os.environ["OMP_WAIT_POLICY"] = _policy.upper()
else:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers_common as pc  # noqa: E402

DEFAULT_SHEARS_BIN = os.path.join(pc.REPO_ROOT, "src", "Shears.Cli", "bin", "Release", "net10.0", "shears")
BATCH = 128
LR = 1e-3
SEED = 1
INFER_BATCHES = (128, 1000)  # forward-only anchor: cnn3 is faster at 128 (cache), fcn2 at 1000


def pytorch_epoch(name, train, test, seed):
    torch.manual_seed(seed)
    model = pc.MODELS[name]()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    gen = torch.Generator().manual_seed(seed)
    secs, n, loss = pc.train_epoch(model, opt, train[0], train[1], BATCH, gen)
    m = {"trainSeconds": secs, "images": n, "imagesPerSecond": n / secs, "loss": loss}
    for bs in INFER_BATCHES:
        acc, inf_secs = pc.evaluate(model, test[0], test[1], bs)
        m["testAccuracy"] = acc
        m["inferImagesPerSecond_b%d" % bs] = test[0].shape[0] / inf_secs
    return m


def warm_up(name, train):
    torch.manual_seed(0)
    model = pc.MODELS[name]()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    pc.train_epoch(model, opt, train[0], train[1], BATCH, torch.Generator().manual_seed(0), max_batches=20)
    pc.evaluate(model, train[0][:2000], train[1][:2000])


def shears_epoch(name, args, seed):
    if os.path.exists(args.shears_bin):
        cmd = [args.shears_bin]
    else:
        cmd = ["dotnet", "run", "-c", "Release", "--project", os.path.join(pc.REPO_ROOT, "src", "Shears.Cli"), "--"]
    with tempfile.TemporaryDirectory(prefix="shears-peer-") as tmp:
        metrics = os.path.join(tmp, "m.json")
        cmd += ["train", "--model", name, "--epochs", "1", "--batch-size", str(BATCH), "--optimizer", "adam",
                "--seed", str(seed), "--data-dir", args.data_dir,
                "--out", os.path.join(tmp, "x.onnx"), "--metrics", metrics]
        print("  $ " + " ".join(shlex.quote(c) for c in cmd), flush=True)
        t0 = time.perf_counter()
        try:
            p = subprocess.run(cmd, cwd=pc.REPO_ROOT, capture_output=True, text=True, timeout=args.shears_timeout)
        except (OSError, subprocess.TimeoutExpired) as e:
            return {"error": str(e)}
        wall = time.perf_counter() - t0
        if p.returncode != 0 or not os.path.exists(metrics):
            tail = (p.stdout + p.stderr).strip().splitlines()[-5:]
            return {"error": "exit %d: %s" % (p.returncode, " | ".join(tail))}
        with open(metrics) as f:
            m = json.load(f)
    m["wallSeconds"] = wall
    if "imagesPerSecond" not in m:
        return {"error": "metrics JSON has no imagesPerSecond: %s" % sorted(m)}
    return m


def fmt(v, spec):
    return format(v, spec) if isinstance(v, (int, float)) else "n/a"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="fcn2,cnn3")
    ap.add_argument("--skip-shears", action="store_true", help="measure the PyTorch side only")
    ap.add_argument("--skip-pytorch", action="store_true", help="measure the Shears side only")
    ap.add_argument("--repeats", type=int, default=1, help="epochs timed per model and side (fresh model each); best is tabled")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--omp-wait-policy", choices=WAIT_POLICIES,
                    help="PyTorch's OpenMP wait policy: passive (default unless OMP_WAIT_POLICY is set), "
                         "active, or default (libgomp's own, what a plain `import torch` gets)")
    ap.add_argument("--data-dir", default=pc.DEFAULT_DATA_DIR)
    ap.add_argument("--shears-bin", default=DEFAULT_SHEARS_BIN,
                    help="built CLI (default: %(default)s); falls back to `dotnet run` when missing")
    ap.add_argument("--shears-timeout", type=int, default=1800)
    ap.add_argument("--json", help="also write all measurements to this file")
    args = ap.parse_args()
    args.data_dir = os.path.abspath(args.data_dir)
    models = [m for m in args.models.split(",") if m]
    for m in models:
        if m not in pc.MODELS:
            ap.error("unknown model %r (have %s)" % (m, ",".join(pc.MODELS)))

    torch.set_num_threads(args.threads)
    print("PyTorch: " + pc.env_summary())
    print("Machine: %d CPUs usable, load average %.2f %.2f %.2f (anything much above 0 means other work "
          "is competing and the figures are noisy)" % ((len(os.sched_getaffinity(0)),) + os.getloadavg()))
    print("Epoch: %d MNIST training images, batch %d, shuffled, Adam lr %g, cross-entropy; data: %s"
          % (pc.N_TRAIN, BATCH, LR, args.data_dir), flush=True)
    train, _, test = pc.load_splits(args.data_dir)

    results = {}
    for name in models:
        r = results[name] = {"pytorch": [], "shears": []}
        if not args.skip_pytorch:
            warm_up(name, train)
        # PyTorch and Shears runs alternate, so a change in machine load hits both sides alike.
        for k in range(args.repeats):
            if not args.skip_pytorch:
                m = pytorch_epoch(name, train, test, SEED + k)
                m["loadavg1"] = os.getloadavg()[0]
                r["pytorch"].append(m)
                print("%s PyTorch run %d: %.2f s/epoch, %.0f img/s train (loss %.3f, test acc %.4f); "
                      "inference %s img/s; load avg %.2f"
                      % (name, k + 1, m["trainSeconds"], m["imagesPerSecond"], m["loss"], m["testAccuracy"],
                         ", ".join("%.0f (batch %d)" % (m["inferImagesPerSecond_b%d" % b], b) for b in INFER_BATCHES),
                         m["loadavg1"]), flush=True)
            if not args.skip_shears:
                m = shears_epoch(name, args, SEED + k)
                r["shears"].append(m)
                if "error" in m:
                    print("%s Shears run %d FAILED: %s" % (name, k + 1, m["error"]), flush=True)
                else:
                    m["loadavg1"] = os.getloadavg()[0]
                    print("%s Shears run %d: %s s/epoch, %.0f img/s train (process wall %.1f s); load avg %.2f"
                          % (name, k + 1, fmt(m.get("trainSeconds"), ".2f"), m["imagesPerSecond"],
                             m["wallSeconds"], m["loadavg1"]), flush=True)

    print()
    hdr = "%-6s %14s %14s %13s %14s %15s %6s" % (
        "model", "PyTorch s/ep", "PyTorch img/s", "Shears s/ep", "Shears img/s", "Shears/PyTorch", ">=2x")
    print(hdr)
    print("-" * len(hdr))
    for name in models:
        pt = [m for m in results[name]["pytorch"]]
        sh = [m for m in results[name]["shears"] if "error" not in m]
        ptb = max(pt, key=lambda m: m["imagesPerSecond"]) if pt else {}
        shb = max(sh, key=lambda m: m["imagesPerSecond"]) if sh else {}
        ratio = shb["imagesPerSecond"] / ptb["imagesPerSecond"] if ptb and shb else None
        verdict = "n/a" if ratio is None else ("yes" if ratio >= 2.0 else "no")
        print("%-6s %14s %14s %13s %14s %15s %6s" % (
            name, fmt(ptb.get("trainSeconds"), ".2f"), fmt(ptb.get("imagesPerSecond"), ".0f"),
            fmt(shb.get("trainSeconds"), ".2f"), fmt(shb.get("imagesPerSecond"), ".0f"),
            fmt(ratio, ".2f") + ("x" if ratio is not None else ""), verdict))
        results[name]["ratio"] = ratio
    if not args.skip_pytorch:
        print()
        print("PyTorch inference anchor (forward only, 10k test images, best run), img/s:")
        print("  %-6s" % "model" + "".join("%14s" % ("batch %d" % b) for b in INFER_BATCHES))
        for name in models:
            print("  %-6s" % name + "".join(
                "%14.0f" % max(m["inferImagesPerSecond_b%d" % b] for m in results[name]["pytorch"])
                for b in INFER_BATCHES))

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"env": pc.env_summary(), "threads": args.threads, "results": results}, f, indent=1)
    failed = any("error" in m for name in models for m in results[name]["shears"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
