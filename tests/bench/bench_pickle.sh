#!/usr/bin/env bash
# `make bench` for data.read_pickle against Python's pickle.load: a pickled
# list of 25 float64 numpy arrays, CPT i of shape (2,)*i as seed 002's
# image_cpts.pkl holds them (2^26 - 2 values, 537 MB), written by numpy with
# pickle's default protocol (4: one BINBYTES8 per array).  Each side loads
# it in its own process, back to back, BENCH_ROUNDS times from the page
# cache; the fastest round of each is compared, with each process's peak
# resident memory against the arrays' size.  Needs python3-numpy.
set -u
/usr/bin/python3 -c 'import numpy' 2>/dev/null || { echo "pickle bench skipped: install python3-numpy"; exit 0; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pkl=$dir/cpts.pkl
levels=25
[[ ${BENCH_QUICK:-0} == 1 ]] && levels=22
/usr/bin/python3 - "$pkl" "$levels" <<'PY'
import pickle, sys
import numpy as np
rng = np.random.default_rng(0)
cpts = [rng.random((2,) * i) for i in range(1, int(sys.argv[2]) + 1)]
with open(sys.argv[1], "wb") as f:
    pickle.dump(cpts, f)
PY
bytes=$(stat -c %s "$pkl")
rounds=${BENCH_ROUNDS:-3}
echo "genlab bench: read_pickle of a $((bytes / 1000000)) MB list of $levels numpy arrays, $rounds rounds"
best_g=1e9 best_p=1e9 rss_g=0 rss_p=0         # the last round's peak resident sizes, in KiB
for ((r = 1; r <= rounds; r++)); do
  g=$( { /usr/bin/time -f "rss %M" ./genlab -e "
    local G = require 'genlab'
    local t0 = G.time()
    local c = G.data.read_pickle('$pkl')
    local t = G.time() - t0
    assert(#c == $levels and c[$levels]:numel() == 2 ^ $levels)
    print(('time %.4f'):format(t))"; } 2>&1)
  p=$( { /usr/bin/time -f "rss %M" /usr/bin/python3 -c "
import pickle, time
t0 = time.perf_counter()
with open('$pkl', 'rb') as f:
    c = pickle.load(f)
t = time.perf_counter() - t0
assert len(c) == $levels
print('time %.4f' % t)"; } 2>&1)
  tg=$(sed -n 's/^time //p' <<<"$g") tp=$(sed -n 's/^time //p' <<<"$p")
  mg=$(sed -n 's/^rss //p' <<<"$g") mp=$(sed -n 's/^rss //p' <<<"$p")
  [[ -n $tg && -n $tp ]] || { echo "pickle bench failed: $g $p"; exit 1; }
  printf '  round %d: genlab %.3f s (peak %d MB), pickle.load %.3f s (peak %d MB), ratio %.2fx\n' \
    "$r" "$tg" $((mg / 1024)) "$tp" $((mp / 1024)) "$(awk -v a="$tp" -v b="$tg" 'BEGIN { print a / b }')"
  best_g=$(awk -v a="$tg" -v b="$best_g" 'BEGIN { print (a < b ? a : b) }')
  best_p=$(awk -v a="$tp" -v b="$best_p" 'BEGIN { print (a < b ? a : b) }')
  rss_g=$mg rss_p=$mp
done
awk -v p="$best_p" -v g="$best_g" -v mg="$rss_g" -v mp="$rss_p" -v n="$bytes" 'BEGIN {
  printf "read_pickle %d MB   pickle.load %.3f s   genlab %.3f s   ratio %.2fx   peak memory: genlab %.2fx the file, pickle.load %.2fx\n",
    n / 1e6, p, g, p / g, mg * 1024 / n, mp * 1024 / n }'
