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
PY
else
  echo "numpy peer skipped: install python3-numpy (see $peers/README.md) to compare"
fi
