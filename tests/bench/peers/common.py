"""What the PyTorch and scikit-learn peers of `make bench` share.

Import it first: it fixes the thread counts before any BLAS or OpenMP runtime
starts.  The peers run as their authors would tune them on this machine:
tcmalloc preloaded when Debian's libtcmalloc-minimal4 is there (glibc gives
big freed blocks back to the kernel, and every step would fault them in
again), libgomp spinning briefly (GOMP_SPINCOUNT=10000: its default spin
starves OpenBLAS's threads on 2 cores), and float32 subnormals flushed on
every thread.  BENCH_QUICK=1 shortens every run.  Each measurement is one
JSON line on stdout, as genlab's benches print theirs.
"""
import json
import os
import sys
import time

THREADS = int(os.environ.get("BENCH_THREADS", "2"))
QUICK = os.environ.get("BENCH_QUICK", "0") == "1"
for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[v] = str(THREADS)
os.environ.setdefault("GOMP_SPINCOUNT", "10000")
TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"
if os.path.exists(TCMALLOC) and "tcmalloc" not in os.environ.get("LD_PRELOAD", ""):
    os.environ["LD_PRELOAD"] = (TCMALLOC + " " + os.environ.get("LD_PRELOAD", "")).strip()
    os.environ.setdefault("TCMALLOC_LARGE_ALLOC_REPORT_THRESHOLD", str(1 << 40))
    os.execv(sys.executable, [sys.executable] + sys.argv)        # again, with the allocator

now = time.perf_counter


def torch(seed=0):
    """torch with FTZ/DAZ on every thread.  OpenBLAS starts its workers when
    it loads, copying the loading thread's MXCSR, so it loads with one thread
    and is widened once the flags are set."""
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    import ctypes
    import torch as t
    t.set_flush_denormal(True)
    ctypes.CDLL("libopenblas.so.0").openblas_set_num_threads(THREADS)
    os.environ["OPENBLAS_NUM_THREADS"] = str(THREADS)
    t.set_num_threads(THREADS)
    t.manual_seed(seed)
    return t


def emit(workload, impl, seconds, unit, **kw):
    rec = {"workload": workload, "impl": impl, "seconds": float(f"{seconds:.6g}"), "unit": unit}
    rec.update(kw)
    print(json.dumps(rec), flush=True)


def median(ts):
    return sorted(ts)[len(ts) // 2]
