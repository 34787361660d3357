#!/usr/bin/python3
"""Training speed, PyTorch vs Shears: images/s of ONE training epoch on MNIST.

Epoch = the first 55,000 MNIST training images, batch 128, shuffled, Adam lr 1e-3,
cross-entropy, for FCN-2 (784-300-100-10) and CNN-3. PyTorch runs with
torch.set_num_threads(2) (override with --threads); data is preloaded as float
tensors (pixel/255) so the epoch time is model work plus batch gathering only.
A few batches on a throwaway model warm the libraries up first.

PyTorch is measured under each OpenMP wait policy listed in --omp-wait-policy
(default "default,passive"), every epoch in a fresh worker process, since the policy
must be in the environment before torch loads. "default" is PyTorch as Debian ships
it (a plain `import torch`); "passive" is its best 2-thread configuration here. The
>= 2x verdict is against the first policy listed.

Shears is run through its CLI (`shears train ... --metrics m.json`) and its own
`imagesPerSecond` / `trainSeconds` are read from the metrics JSON. PyTorch and
Shears runs alternate. The table gives, per model, the best of --repeats runs on
each side, and the ratio Shears/PyTorch for each policy.

Also prints PyTorch's forward-only throughput over the 10k test images (batch
128 and 1000) as an anchor.

    /usr/bin/python3 bench/peers/pytorch_train_speed.py [--models fcn2,cnn3] [--skip-shears]
        [--repeats N] [--data-dir ../shared/data/mnist] [--shears-bin PATH] [--json OUT]
        [--omp-wait-policy default,passive]

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
# (FCN-2 ~25k img/s instead of ~100k). Both are measured: "default" because it is what Debian ships
# (and what the goal's reference figures, 4.7-11 s per FCN-2 epoch, describe), "passive" because it
# is PyTorch's best. A worker process (--worker) measures one policy, read from argv now because it
# must be in the environment before torch (and libgomp) is loaded; the parent runs no torch work.
WAIT_POLICIES = ("default", "passive", "active")


def _worker_policy_from_argv(argv):
    if "--worker" not in argv:
        return None
    for i, a in enumerate(argv):
        if a == "--omp-wait-policy" and i + 1 < len(argv):
            return argv[i + 1]
    return None


_policy = _worker_policy_from_argv(sys.argv[1:])
if _policy == "default":
    os.environ.pop("OMP_WAIT_POLICY", None)
elif _policy in ("passive", "active"):
    os.environ["OMP_WAIT_POLICY"] = _policy.upper()

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


def pytorch_worker(args):
    """One policy, one model, one timed epoch: prints the measurement as JSON on the last line."""
    torch.set_num_threads(args.threads)
    train, _, test = pc.load_splits(args.data_dir)
    warm_up(args.models, train)
    m = pytorch_epoch(args.models, train, test, args.seed)
    m["env"] = pc.env_summary()
    print(json.dumps(m))
    return 0


def pytorch_run(name, policy, seed, args):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--omp-wait-policy", policy,
           "--models", name, "--seed", str(seed), "--threads", str(args.threads), "--data-dir", args.data_dir]
    p = subprocess.run(cmd, capture_output=True, text=True)
    lines = p.stdout.strip().splitlines()
    if p.returncode != 0 or not lines:
        tail = (p.stdout + p.stderr).strip().splitlines()[-5:]
        return {"error": "worker exit %d: %s" % (p.returncode, " | ".join(tail))}
    return json.loads(lines[-1])


def best(runs):
    ok = [m for m in runs if "error" not in m]
    return max(ok, key=lambda m: m["imagesPerSecond"]) if ok else {}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="fcn2,cnn3")
    ap.add_argument("--skip-shears", action="store_true", help="measure the PyTorch side only")
    ap.add_argument("--skip-pytorch", action="store_true", help="measure the Shears side only")
    ap.add_argument("--repeats", type=int, default=1, help="epochs timed per model, side and policy (fresh model each); best is tabled")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--omp-wait-policy", default="default,passive",
                    help="comma-separated OpenMP wait policies to measure PyTorch under, from %s; the first "
                         "decides the >= 2x verdict (default: %%(default)s)" % ", ".join(WAIT_POLICIES))
    ap.add_argument("--data-dir", default=pc.DEFAULT_DATA_DIR)
    ap.add_argument("--shears-bin", default=DEFAULT_SHEARS_BIN,
                    help="built CLI (default: %(default)s); falls back to `dotnet run` when missing")
    ap.add_argument("--shears-timeout", type=int, default=1800)
    ap.add_argument("--json", help="also write all measurements to this file")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=SEED, help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.data_dir = os.path.abspath(args.data_dir)
    policies = [p for p in args.omp_wait_policy.split(",") if p]
    for p in policies:
        if p not in WAIT_POLICIES:
            ap.error("unknown wait policy %r (have %s)" % (p, ", ".join(WAIT_POLICIES)))
    if args.worker:
        return pytorch_worker(args)
    models = [m for m in args.models.split(",") if m]
    for m in models:
        if m not in pc.MODELS:
            ap.error("unknown model %r (have %s)" % (m, ",".join(pc.MODELS)))
    if not policies and not args.skip_pytorch:
        ap.error("--omp-wait-policy lists no policy")

    print("Machine: %d CPUs usable, load average %.2f %.2f %.2f (anything much above 0 means other work "
          "is competing and the figures are noisy)" % ((len(os.sched_getaffinity(0)),) + os.getloadavg()))
    print("Epoch: %d MNIST training images, batch %d, shuffled, Adam lr %g, cross-entropy; data: %s"
          % (pc.N_TRAIN, BATCH, LR, args.data_dir), flush=True)

    results = {}
    envs = {}
    for name in models:
        r = results[name] = {"pytorch": {p: [] for p in policies}, "shears": []}
        # PyTorch and Shears runs alternate, so a change in machine load hits both sides alike.
        for k in range(args.repeats):
            if not args.skip_pytorch:
                for policy in policies:
                    m = pytorch_run(name, policy, SEED + k, args)
                    m["loadavg1"] = os.getloadavg()[0]
                    r["pytorch"][policy].append(m)
                    if "error" in m:
                        print("%s PyTorch (%s) run %d FAILED: %s" % (name, policy, k + 1, m["error"]), flush=True)
                        continue
                    envs.setdefault(policy, m.pop("env"))
                    print("%s PyTorch (%s) run %d: %.2f s/epoch, %.0f img/s train (loss %.3f, test acc %.4f); "
                          "inference %s img/s; load avg %.2f"
                          % (name, policy, k + 1, m["trainSeconds"], m["imagesPerSecond"], m["loss"], m["testAccuracy"],
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
    for policy, env in envs.items():
        print("PyTorch (%s): %s" % (policy, env))
    measured = policies if not args.skip_pytorch else []
    cols = ["model"] + ["PyTorch %s img/s" % p for p in measured] + ["Shears img/s"] + \
        ["Shears/%s" % p for p in measured] + [">=2x vs %s" % measured[0]] if measured else ["model", "Shears img/s"]
    print("  ".join("%18s" % c for c in cols))
    print("-" * (20 * len(cols)))
    failed = False
    for name in models:
        shb = best(results[name]["shears"])
        failed |= any("error" in m for m in results[name]["shears"])
        row = [name]
        ratios = {}
        for p in measured:
            ptb = best(results[name]["pytorch"][p])
            failed |= any("error" in m for m in results[name]["pytorch"][p])
            row.append(fmt(ptb.get("imagesPerSecond"), ".0f"))
            ratios[p] = shb["imagesPerSecond"] / ptb["imagesPerSecond"] if ptb and shb else None
        row.append(fmt(shb.get("imagesPerSecond"), ".0f"))
        row += [fmt(ratios[p], ".2f") + ("x" if ratios[p] is not None else "") for p in measured]
        if measured:
            first = ratios[measured[0]]
            row.append("n/a" if first is None else ("yes" if first >= 2.0 else "no"))
        results[name]["ratio"] = ratios
        print("  ".join("%18s" % c for c in row))
    if measured:
        print()
        print("PyTorch inference anchor (forward only, 10k test images, best run), img/s:")
        print("  %-6s %-8s" % ("model", "policy") + "".join("%14s" % ("batch %d" % b) for b in INFER_BATCHES))
        for name in models:
            for p in measured:
                ok = [m for m in results[name]["pytorch"][p] if "error" not in m]
                if ok:
                    print("  %-6s %-8s" % (name, p) + "".join(
                        "%14.0f" % max(m["inferImagesPerSecond_b%d" % b] for m in ok) for b in INFER_BATCHES))

    if args.json:
        tmp = args.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"env": envs, "threads": args.threads, "policies": measured, "results": results}, f, indent=1)
        os.replace(tmp, args.json)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
