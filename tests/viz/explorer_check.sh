#!/bin/sh
# Run under Xvfb (1600x900) by tests/lua/viz_events_spec.lua: the VAE latent
# explorer opens live; xdotool moves the real mouse to two points of the
# latent plane, z = (-1.5, -1.5) and (1.5, 1.5), and xwd grabs the window at
# each; explorer_compare.lua reads the two shots.  The canvas pixels of the
# two points follow the scatter's layout (fig:pixel headless gives the same):
# the plot area spans x 68..482 and y 64..510 for z in [-3.5, 3.5]^2.
set -eu
exe=$1 dir=$2
"$exe" scripts/seed004_vae_explorer.lua --smoke >"$dir/log" 2>&1 &
pid=$!
trap 'echo "--- explorer log:"; cat "$dir/log"' EXIT
wid=$(timeout 120 xdotool search --sync --onlyvisible --name "latent space of VAE1" | head -n 1)
echo "window $wid"
sleep 1
xdotool mousemove --window "$wid" 186 383
sleep 1
xwd -id "$wid" -silent -out "$dir/a.xwd"
xdotool mousemove --window "$wid" 364 191
sleep 1
xwd -id "$wid" -silent -out "$dir/b.xwd"
xdotool key --window "$wid" q || true     # q closes the window between key down and key up
wait "$pid"
"$exe" tests/viz/explorer_compare.lua "$dir/a.xwd" "$dir/b.xwd"
