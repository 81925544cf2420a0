-- `make demo`: the flagship exercise, PS1, live in about a minute or two.
--   1. Gaussian mixtures of 16x16 patches of natural photos (K = 1, 4, 16)
--      trained by SGD, their NLL curves and 10x10 sample grids redrawing;
--   2. the held-out photo denoised by EPLL with those kinds of priors (8x8
--      patches, K = 1 against 64), the current image and the PSNR curves
--      rising as it works.
-- In a window when there is a display; without one, PNGs under out/ and
-- their paths printed.  Then what to run next.
--
--   ./genlab scripts/demo.lua                 (what make demo runs)
local G = require "genlab"
local C = require "common"

for _, a in ipairs(arg or {}) do            -- it takes none: each step's script takes its own
  if a == "--help" or a == "-h" then
    print("scripts/demo.lua: what `make demo` runs: PS1's Gaussian mixtures of patches trained live,\n" ..
          "then EPLL denoising with them (a minute or two). It takes no arguments; every exercise\n" ..
          "is a script of its own in scripts/ with --smoke, the default and --full (--help each).")
    os.exit(0)
  end
  io.stderr:write(("scripts/demo.lua: unknown argument '%s' (it takes none; try --help)\n"):format(a))
  os.exit(2)
end

-- Run an exercise script as if started with these arguments.
local function run(script, args, what)
  print(("\n== %s\n   ./genlab scripts/%s.lua %s\n"):format(what, script, table.concat(args, " ")))
  local t0 = G.time()
  C.exercise(script, args)
  print(("   (%.0f s)"):format(G.time() - t0))
end

print("genlab: the problem set on Gaussian patch models, live" ..
      (G.viz.headless() and " (no display: figures go to out/ as PNGs)" or " (press space to pause, s to save a figure)"))
run("ps1_1efg_gmm", {"--epochs=10", "--n_train=20000"},
    "1. Gaussian mixtures of image patches, trained by SGD, samples redrawn as they learn")
run("ps1_2_denoise", {"--crop=256"},
    "2. Denoising the held-out photo with a mixture prior (EPLL), the PSNR rising")
print([[

== Next
   ./genlab scripts/ps1_1a_gaussian.lua ...   every exercise is a script in scripts/ (README lists
                                              them); --full runs the seed's sizes, --help the options
   ./genlab scripts/seed002_1_autoregression.lua    5x5 images from CPTs and from an LSTM
   ./genlab                                   the REPL: tensors print like numpy, help(f) documents f
   ./genlab notebooks-lua/autoregression_ppca_graphs.lua   a notebook, run as a script
   make test                                  the whole suite]])
