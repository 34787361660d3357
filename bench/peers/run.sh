#!/usr/bin/env bash
# PyTorch side-by-side benchmarks for Shears.
#
#   bench/peers/run.sh [--models fcn2,cnn3] [--skip-shears] [--repeats N] [--data-dir DIR] [--json OUT]
#       training speed, one MNIST epoch, PyTorch (as Debian ships it and tuned) vs the Shears CLI
#       (see pytorch_train_speed.py)
#   bench/peers/run.sh prune [ARGS]
#       PyTorch global L1 unstructured pruning of FCN-2 (see pytorch_global_prune.py)
#
# Installs Debian's PyTorch 1.13 when /usr/bin/python3 cannot import torch, and builds the Shears
# CLI (Release) unless --skip-shears is given. Uses Debian's /usr/bin/python3 on purpose: another
# python earlier on PATH does not see the Debian torch package.
set -euo pipefail
cd "$(dirname "$0")/../.."

PY=/usr/bin/python3
if ! "$PY" -c 'import torch' >/dev/null 2>&1; then
    SUDO=""
    if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
    echo "run.sh: installing python3-torch (Debian) ..." >&2
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q python3-torch libopenblas0-pthread
fi

if [[ ${1:-} == prune ]]; then
    shift
    exec "$PY" bench/peers/pytorch_global_prune.py "$@"
fi

skip_shears=0
for a in "$@"; do
    if [[ $a == --skip-shears ]]; then skip_shears=1; fi
done
if [[ $skip_shears -eq 0 ]]; then
    echo "run.sh: building the Shears CLI (Release) ..." >&2
    dotnet build -c Release src/Shears.Cli -nologo -v q
fi
exec "$PY" bench/peers/pytorch_train_speed.py "$@"
