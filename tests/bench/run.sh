#!/usr/bin/env bash
# `make bench`: the benchmarks (not tests: timings on shared machines are
# noisy, so compare ratios measured within one run).  Peer timings come from
# tests/bench/peers (PyTorch and scikit-learn) when those packages are installed.
set -u
export BENCH_QUICK=${BENCH_QUICK:-0}
BUILD=${BUILD:-build}
for b in "$BUILD"/bench/*; do
  [[ -x "$b" ]] && "$b"
  echo
done
train=$(mktemp)
peers=tests/bench/peers
paired=0                  # the training steps then run beside their peers, below
[[ -d $peers ]] && /usr/bin/python3 -c 'import torch' 2>/dev/null && paired=1
for b in tests/bench/*.lua; do
  [[ $b == */common.lua ]] && continue            # the helpers the others load
  [[ $b == */bench_train.lua && $paired == 1 ]] && continue
  if [[ $b == */bench_train.lua || $b == */bench_models.lua ]]; then
    ./genlab --headless "$b" | tee -a "$train"
  else
    ./genlab --headless "$b" 2>/dev/null
  fi
  echo
done
tests/bench/bench_pickle.sh                  # data.read_pickle against pickle.load
echo
if command -v xvfb-run >/dev/null; then      # the live window, on a virtual display
  xvfb-run -a -s "-screen 0 2400x1300x24" ./genlab --no-wait tests/bench/bench_viz_loop.lua
  echo
fi
# Training steps against the PyTorch peers, in this same run: peer / genlab.
# The machine's speed drifts by up to 1.5x within minutes, so each workload
# runs ours and then the peer's back to back, BENCH_ROUNDS times, and each
# side's fastest round is compared (the rounds' own ratios are printed too).
if [[ $paired == 1 ]]; then
  rounds=${BENCH_ROUNDS:-3}
  ./genlab --version          # OpenBLAS's kernels (OPENBLAS_CORETYPE, when set, picks them)
  echo "Training steps, genlab then PyTorch back to back, $rounds rounds:"
  for ((r = 1; r <= rounds; r++)); do
    for w in rbm_cdk vae_mlp vae_cnn lstm_ar; do
      ONLY=$w ./genlab --headless tests/bench/bench_train.lua | tee -a "$train"
      (cd "$peers" && /usr/bin/python3 "$w.py" 2>/dev/null | grep '^{') >> "$train"
    done
  done
  echo
  echo "PyTorch and scikit-learn peers (same machine, same run; BENCH_QUICK=$BENCH_QUICK):"
  for w in gmm_sgd epll_gd; do
    (cd "$peers" && /usr/bin/python3 "$w.py" 2>/dev/null | grep '^{') >> "$train"
  done
  if /usr/bin/python3 -c 'import sklearn' 2>/dev/null; then
    (cd "$peers" && /usr/bin/python3 gmm_em.py 2>/dev/null | grep '^{') >> "$train"
  else
    echo "scikit-learn peer skipped: install python3-sklearn to compare EM"
  fi
  /usr/bin/python3 - "$train" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
# The FLOP-based limit of a row: its FLOPs / the sgemm peak this run measured
# (bench_models.lua's 2048^3 product); "of limit" is genlab's time as a fraction of it.
peak = [r["gflops"] for r in rows if r["workload"] == "sgemm_peak"]
peak = max(peak) * 1e9 if peak else None
key = lambda r: (r["workload"], r.get("K"), r.get("k"), r.get("phase", "train"))
mine, peers = {}, {}                          # each side's timings, in run order
for r in rows:
    if r.get("phase", "train") != "train":
        continue
    if r["impl"] == "genlab":
        mine.setdefault(key(r) + (r.get("dtype", "float32"),), []).append(r)
    else:
        peers.setdefault(key(r) + (r.get("method") or r.get("sampler"),), []).append(r)
for k, peer in peers.items():
    for mk, ours in mine.items():
        if mk[:4] != k[:4]:
            continue
        p, g, r = min(x["seconds"] for x in peer), min(x["seconds"] for x in ours), peer[0]
        name = (r["workload"] + (f' K={r["K"]}' if "K" in r else "") + (f' k={r["k"]}' if "k" in r else "")
                + (f' {k[4]}' if k[4] else ""))
        each = ""
        if len(peer) > 1 and len(peer) == len(ours):
            each = "   rounds " + " ".join(f'{a["seconds"] / b["seconds"]:.2f}' for a, b in zip(peer, ours))
        flops = r.get("flops") or ours[0].get("flops")
        lim = f'   limit {flops / peak:7.3f} s, genlab at {flops / peak / g:5.1%} of it' if flops and peak else ""
        print(f'{name:28s} {r["impl"]:8s} {p:8.3f} {r["unit"]:12s} genlab {g:8.3f}'
              f' ({mk[4]})   ratio {p / g:5.2f}x{lim}{each}')
PY
else
  echo "PyTorch peers skipped: install python3-torch (see $peers/common.py) to compare"
fi
# The user-facing row: seed 004's homework at the seed's full settings (VAE1 and
# VAE2 for N_z = 2, 5, 10, 20, 30 epochs each; the RBM for k = 1, 5, 25, 20
# epochs, with its AIS), each script timing itself from start to finish, in a
# scratch folder (the hand-in folder under out/ is left alone).  Beside it, the
# PyTorch estimate for the same training epochs from this run's per-epoch peers
# (their evaluation and AIS not counted).  About a quarter of an hour: only
# with BENCH_HOMEWORK=1.
if [[ ${BENCH_HOMEWORK:-0} == 1 ]]; then
  hw=$(mktemp -d)
  here=$PWD
  echo
  echo "Seed 004 homework, --full, timed by the scripts (CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores):"
  for s in seed004_4_vae seed004_4_rbm; do
    (cd "$hw" && "$here/genlab" --headless "$here/scripts/$s.lua" --full > "$hw/$s.log" 2>&1)
    echo "  $s: $(grep 'wall time (' "$hw/$s.log" || echo "failed: see $hw/$s.log")"
  done
  /usr/bin/python3 - "$train" "$hw" <<'PY'
import json, re, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
wall = 0.0
for s in ("seed004_4_vae", "seed004_4_rbm"):
    m = re.search(r"wall time \(full configuration\): ([0-9.]+) s", open(f"{sys.argv[2]}/{s}.log").read())
    wall += float(m.group(1)) if m else float("nan")
peer = {}
for r in rows:
    if r["impl"] == "pytorch" and r.get("phase", "train") == "train":
        key = (r["workload"], r.get("k"))
        peer[key] = min(peer.get(key, 1e30), r["seconds"])
need = [("vae_mlp", None, 4 * 30), ("vae_cnn", None, 4 * 30), ("rbm_cdk", 1, 20), ("rbm_cdk", 5, 20),
        ("rbm_cdk", 25, 20)]
if all((w, k) in peer for w, k, _ in need):
    est = sum(peer[(w, k)] * n for w, k, n in need)
    print(f"seed004 homework (full)   genlab {wall:7.1f} s ({wall / 60:.1f} min) end to end; "
          f"PyTorch estimate {est:7.1f} s ({est / 60:.1f} min) for the training epochs alone; "
          f"ratio {est / wall:.2f}x")
else:
    print(f"seed004 homework (full)   genlab {wall:7.1f} s ({wall / 60:.1f} min); no PyTorch estimate (peers not run)")
PY
  if grep -q 'wall time' "$hw"/seed004_4_vae.log && grep -q 'wall time' "$hw"/seed004_4_rbm.log; then
    rm -rf "$hw"
  fi
fi
rm -f "$train"
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
  echo "numpy peer (same machine, same run):"
  /usr/bin/python3 - <<'PY'
import time, numpy as np
rng = np.random.default_rng(1)
for dt in (np.float32, np.float64):
    a = rng.standard_normal((256, 256)).astype(dt); a = a @ a.T + 256 * np.eye(256, dtype=dt)
    def best(f, reps):
        f(); t = 1e30
        for _ in range(reps):
            t0 = time.perf_counter(); f(); t = min(t, time.perf_counter() - t0)
        return t
    te = best(lambda: np.linalg.eigh(a), 20); tc = best(lambda: np.linalg.cholesky(a), 50)
    print(f"{np.dtype(dt).name:7s} eigh 256x256 {te*1e3:8.2f} ms   cholesky 256x256 {tc*1e3:6.3f} ms")

def load_mnist():
    raw = open("data/mnist/train-images-idx3-ubyte", "rb").read()
    return np.frombuffer(raw, np.uint8, offset=16).reshape(60000, 784).astype(np.float32) / 255
print(f"MNIST train load (60000x784, scaled to [0,1])  {best(load_mnist, 3):7.3f} s")
imgs = []
import glob, zlib
try:
    from PIL import Image
    for p in sorted(glob.glob("data/photos/*.jpg")):
        if "nagasaki" not in p:
            imgs.append(np.asarray(Image.open(p).convert("L"), np.float32) / 255)
except ImportError:
    pass
if imgs:
    def draw():
        rng = np.random.default_rng(1)
        w = np.array([(a.shape[0] - 15) * (a.shape[1] - 15) for a in imgs], float)
        k = rng.choice(len(imgs), 100000, p=w / w.sum())
        out = np.empty((100000, 256), np.float32)
        for i, j in enumerate(k):
            a = imgs[j]; r = rng.integers(a.shape[0] - 15); c = rng.integers(a.shape[1] - 15)
            out[i] = a[r:r + 16, c:c + 16].ravel()
        return out
    print(f"100,000 random 16x16 patches from 7 photos     {best(draw, 3):7.3f} s")
else:
    print("patch peer skipped: install python3-pil to compare")
PY
else
  echo "numpy peer skipped: install python3-numpy to compare"
fi
