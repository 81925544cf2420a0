#!/usr/bin/env bash
# Install the Debian packages of a package list that are missing:
#   vendor/deps.sh [list]    (default vendor/packages.txt; `make fuzz` adds packages-fuzz.txt,
#                            `make bench` packages-bench.txt)
# Idempotent: when everything is present it prints one line and exits.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
list=${1:-$here/packages.txt}
mapfile -t wanted < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$list" | awk '{print $1}')

missing=()
for p in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "deps: all ${#wanted[@]} Debian packages present"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then sudo="sudo"; else
    echo "deps: missing ${missing[*]}; run as root or install sudo" >&2; exit 1
  fi
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get update -qq || ! $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
  echo "deps: apt-get failed; retry with: sudo apt-get update && sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "deps: done"
