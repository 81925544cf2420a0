#!/usr/bin/env bash
# `make fuzz`: build the libFuzzer targets for the IDX, NPY, image, pickle,
# NPZ, PyTorch (.pt) and genlab checkpoint loaders with ASan + UBSan and run each for
# FUZZ_SECONDS (default 60), starting from the malformed corpus and a few
# valid files.  FUZZ_TARGETS picks some of them (default: all seven, e.g.
# FUZZ_TARGETS="pickle npz pt" make fuzz).  Crashes land in
# build-fuzz/<target>/crash-*.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-idx npy image pickle npz pt ckpt}
out=build-fuzz
mkdir -p "$out"
src="core/error.c $(ls core/tensor/*.c core/data/*.c) tests/fuzz/stb_impl.c tests/fuzz/fuzz_loaders.c"
flags="-g -O1 -fsanitize=fuzzer,address,undefined -I/usr/include/x86_64-linux-gnu/openblas-pthread"
libs="-llapacke -lopenblas -lz -lm -lpthread"
# UBSan only prints by default; make its reports crashes that libFuzzer keeps,
# less the vetted ones in ubsan.supp.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:suppressions=$PWD/tests/fuzz/ubsan.supp}
status=0
for t in $targets; do
  case $t in                      # the prefix of its files in tests/data/malformed
    idx|npy|npz|pt|ckpt) pre=$t ;;
    image) pre=img ;;
    pickle) pre=pkl ;;
    *) echo "fuzz: unknown target $t (idx npy image pickle npz pt ckpt)"; exit 2 ;;
  esac
  T=$(echo "$t" | tr a-z A-Z)
  echo "fuzz: building $t"
  clang $flags -DFUZZ_$T -o "$out/fuzz_$t" $src $libs
  mkdir -p "$out/$t/corpus"
  cp tests/data/malformed/${pre}_* "$out/$t/corpus/" 2>/dev/null || true
  case $t in
    idx) head -c 4000 data/mnist/t10k-labels-idx1-ubyte >"$out/$t/corpus/valid-labels" 2>/dev/null || true ;;
    npy) ./genlab -e "local G = require 'genlab'; G.data.write_npy('$out/$t/corpus/valid.npy', G.randn(3, 4))" ;;
    image) ./genlab -e "local G = require 'genlab'; G.data.write_png('$out/$t/corpus/valid.png', G.rand(8, 8, 3))" ;;
    pickle) cp tests/fixtures/interchange/*.pkl "$out/$t/corpus/" ;;
    npz) cp tests/fixtures/interchange/*.npz "$out/$t/corpus/" ;;
    pt) cp tests/fixtures/interchange/*.pt "$out/$t/corpus/" ;;
    ckpt) ./genlab -e "local G = require 'genlab'; G.save('$out/$t/corpus/valid.ckpt', {a = G.randn(3, 4), b = {c = G.zeros(2, {dtype = 'float64'})}})" ;;
  esac
  echo "fuzz: running $t for ${secs}s"
  if ! (cd "$out/$t" && ../fuzz_$t -max_total_time="$secs" -rss_limit_mb=4096 -print_final_stats=1 corpus \
        >log 2>&1); then
    echo "fuzz: $t FAILED, see $out/$t/log and $out/$t/crash-*"
    status=1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss" "$out/$t/log" | sed "s/^/fuzz: $t /" || true
done
exit $status
