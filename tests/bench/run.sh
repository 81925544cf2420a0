#!/usr/bin/env bash
# `make bench`: the benchmarks (not tests: timings on shared machines are
# noisy, so compare ratios measured within one run).  Peer timings come from
# ../shared/peers when its Python packages are installed.
set -u
BUILD=${BUILD:-build}
for b in "$BUILD"/bench/*; do
  [[ -x "$b" ]] && "$b"
  echo
done
for b in tests/bench/*.lua; do
  ./genlab --headless "$b" 2>/dev/null
  echo
done
if command -v xvfb-run >/dev/null; then      # the live window, on a virtual display
  xvfb-run -a -s "-screen 0 2400x1300x24" ./genlab --no-wait tests/bench/bench_viz_loop.lua
  echo
fi
peers=../shared/peers
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
  echo "numpy peer skipped: install python3-numpy (see $peers/README.md) to compare"
fi
