#!/bin/sh
# The README's screenshots (scripts/screenshots/): each interactive demo run
# live under Xvfb, driven by xdotool, grabbed by xwd, halved to a small PNG.
#   xvfb-run -a -s '-screen 0 1600x1100x24' tests/viz/screenshots.sh [dir]
set -u
exe=$(pwd)/genlab; d=${1:-out/screenshots}; mkdir -p "$d"

shot() { # name, title pattern, actions...
  name=$1; pat=$2; shift 2
  wid=$(timeout 120 xdotool search --sync --onlyvisible --name "$pat" | head -n 1)
  sleep 1.5
  for a in "$@"; do eval "$a"; done
  xwd -id "$wid" -silent -out "$d/$name.xwd"
  xdotool key --window "$wid" q || true
  wait
  "$exe" tests/viz/xwd_to_png.lua "$d/$name.xwd" "$d/$name.png"
}
$exe scripts/lecture3_em_interactive.lua > $d/em.log 2>&1 &
shot em "EM, interactive" \
  'xdotool mousemove --window $wid 450 120 click 1; sleep 0.3' \
  'xdotool mousemove --window $wid 470 140 click 1; sleep 0.3' \
  'xdotool mousemove --window $wid 430 150 click 1; sleep 0.3' \
  'xdotool mousemove --window $wid 200 400 keydown shift click 1 keyup shift; sleep 4'
$exe scripts/seed004_vae_explorer.lua > $d/vae.log 2>&1 &
shot vae "latent space of VAE1" \
  'xdotool mousemove --window $wid 186 383 click 1; sleep 0.3' \
  'xdotool mousemove --window $wid 364 191 click 1; sleep 0.3' \
  'xdotool mousemove --window $wid 300 300 click 1; sleep 0.3' \
  'xdotool mousemove --window $wid 250 150; sleep 1'
$exe scripts/ps1_patch_explorer.lua > $d/patch.log 2>&1 &
shot patch "mixture of 8x8 patches" \
  'xdotool mousemove --window $wid 300 250; sleep 1'
$exe scripts/seed004_rbm_chains.lua > $d/rbm.log 2>&1 &
shot rbm "Gibbs chains" \
  'xdotool mousemove --window $wid 200 250 click 1; sleep 6'
