#!/usr/bin/env bash
# Run every test suite (C unit tests, Lua specs through busted) as TAP,
# show the failures, and end with one plain line: "N passed, N failed".
# A suite that dies (a crash, a sanitizer report) counts as a failure even
# when none of its checks said "not ok".
set -u
BUILD=${BUILD:-build}
EXE=${EXE:-genlab}
export GENLAB_EXE="$PWD/$EXE" GENLAB_MODULE_DIR="$PWD/$BUILD/lua"
# A sanitized genlab.so loads into stock lua5.4 only with the runtimes first.
if [[ "${SAN:-}" == 1 ]]; then
  GENLAB_LUA_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
  export GENLAB_LUA_PRELOAD ASAN_OPTIONS=detect_leaks=0
fi
logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT
passed=0 failed=0 skipped=0

run_suite() {
  local name=$1; shift
  local log="$logdir/$name.tap"
  "$@" >"$log" 2>&1
  local rc=$?
  local ok bad skip
  skip=$(grep -c '^ok .*# SKIP' "$log")
  ok=$(($(grep -c '^ok ' "$log") - skip))
  bad=$(grep -c '^not ok ' "$log")
  if ((rc != 0 && bad == 0)); then
    bad=1
    echo "not ok - $name exited with status $rc"
    tail -n 30 "$log" | sed 's/^/# /'
  fi
  grep -A 12 '^not ok ' "$log" | grep -E '^(not ok|#)' || true
  grep '^ok .*# SKIP' "$log" || true
  printf '%-14s %4d passed, %d failed, %d skipped\n' "$name" "$ok" "$bad" "$skip"
  passed=$((passed + ok))
  failed=$((failed + bad))
  skipped=$((skipped + skip))
}

for t in "$BUILD"/tests/test_*; do
  [[ -x "$t" && ! -d "$t" ]] || continue
  run_suite "$(basename "$t")" "$t"
done
# bindings/ is a star around laux: no circle, no lX.c leaning on another.
run_suite bindings-graph "${PYTHON:-/usr/bin/python3}" tests/bindings_graph.py "$BUILD"
run_suite lua-specs "./$EXE" /usr/bin/busted -o TAP tests/lua
# Random programs against numpy and PyTorch, fixed seeds (make difftest runs more).
run_suite difftest "${PYTHON:-/usr/bin/python3}" tests/diff/difftest.py --tap

if ((skipped > 0)); then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
((failed == 0))
