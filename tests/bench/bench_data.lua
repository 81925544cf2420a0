-- `make bench` for genlab.data: load MNIST train; draw 100,000 random 16x16
-- patches from the photos.  Best of 3 after a warm-up.
local G = require "genlab"
local D = G.data
local B = dofile("tests/bench/common.lua")

-- best of reps after one warm-up call
local function best(f, reps)
  f()
  return B.best(reps, f)
end

local imgs = D.photos()
print("genlab bench: data")
print(("MNIST train load (60000x784, scaled to [0,1])  %7.3f s"):format(best(function() return D.mnist{flat = true} end, 3)))
print(("100,000 random 16x16 patches from 7 photos     %7.3f s"):format(
  best(function() return D.patches(imgs, 16, {count = 100000, seed = 1}) end, 3)))
