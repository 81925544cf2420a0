-- Seed 002 problem 2: eigenfaces and probabilistic PCA (models.PPCA).
--   (a) the closed-form MLE for several d, with sigma^2 and the log-likelihood;
--   (b) d = 2: E[z | x] of every face over N(0, I)'s 1 and 2 sigma circles;
--   (c) d = 16, 32, 64: 25 random faces beside their reconstructions
--       E[x | E[z | x]], with the mean squared error per d;
--   (d) 100 new faces E[x | z], z ~ N(0, I), at the d that held-out faces favour;
--   (e) d = 16: one face, 5 latent dimensions x 10 offsets, at the seed's
--       +-0.05 and at +-3 (posterior units), with the pixel change.
-- The faces are genlab's 100 LFW faces (24 x 24 = 576 pixels), or the
-- course's file with --faces=eigenfaces.npy.
--
--   ./genlab scripts/seed002_2_ppca.lua            every configuration has the 100 faces
local G = require "genlab"
local C = require "common"
local PPCA = G.models.PPCA
local o = C.options({seed = 2025, faces = "", ds = "16,32,64", cv_ds = "2,4,8,16,32,64", span = 3.0},
                    {seed = 2025, faces = "", ds = "16,32,64", cv_ds = "2,4,8,16,32,64", span = 3.0},
                    {seed = 2025, faces = "", ds = "16,32,64", cv_ds = "1,2,4,8,12,16,24,32,48,64", span = 3.0},
                    "Seed 002 problem 2: eigenfaces and probabilistic PCA")
local function list(s) local t = {} for v in s:gmatch("[^,]+") do t[#t + 1] = math.tointeger(tonumber(v)) end return t end

-- Seed 002 problem 2's faces: genlab's 100 LFW faces, or the course's
-- eigenfaces.npy ((N, 576) or (N, 24, 24)) when path is given; (N, 576) float64.
local function load_faces(path)
  if not path or path == "" then return G.data.faces{dtype = "float64"} end
  local F = G.data.read_npy(path)
  if F.ndim == 3 then F = F:reshape(F.shape[1], F.shape[2] * F.shape[3]) end
  if F.ndim ~= 2 then error(path .. ": expected faces as (N, 576) or (N, 24, 24), got " .. F.ndim .. " dims", 2) end
  return F:to("float64"):contiguous()
end

-- Points on circles of the given radii about 0 (for N(0, I)'s 1 and 2 sigma
-- contours beside a 2-d scatter): x, y, grey colours and sizes, appended to
-- the points px, py (tables) whose colours are col (an RGB table) and size sz.
local function scatter_with_circles(px, py, col, sz, radii)
  local x, y, c, s = {}, {}, {}, {}
  for k = 1, #px do x[k], y[k], c[k], s[k] = px[k], py[k], col, sz end
  for _, r in ipairs(radii) do
    for k = 0, 359 do
      local t = 2 * math.pi * k / 360
      x[#x + 1], y[#y + 1], c[#c + 1], s[#s + 1] = r * math.cos(t), r * math.sin(t), {0.55, 0.55, 0.55}, 1
    end
  end
  return G.tensor(x, {dtype = "float64"}), G.tensor(y, {dtype = "float64"}), G.tensor(c, {dtype = "float64"}),
         G.tensor(s, {dtype = "float64"})
end

-- Latent perturbations of p-PCA (seed 002 2e): for z (1, d), rows = the
-- dimensions dims, columns = count offsets linearly spaced in [-span, span]
-- added to that dimension; the decoded images (#dims * count, m), row by row.
local function perturb(p, z, dims, count, span)
  local rows = {}
  for _, i in ipairs(dims) do
    for k = 0, count - 1 do
      local zt = z:clone()
      zt[1][i] = z[1][i] + (-span + 2 * span * k / (count - 1))
      rows[#rows + 1] = zt
    end
  end
  return p:decode(G.cat(rows, 1))
end

-- Seed 002 2(d): which d suits new faces?  Fit on the first 80% of a random
-- permutation of X's rows and score the rest for each d in ds: a table of
-- {d =, loglik = nats per held-out face}, the best d, and the split sizes.
local function heldout(X, ds, gen)
  local N = X.shape[1]
  local perm = G.randperm(N, {generator = gen})
  local ntr = math.floor(0.8 * N)
  local Xtr = X:index_select(1, perm:narrow(1, 1, ntr))
  local Xte = X:index_select(1, perm:narrow(1, ntr + 1, N - ntr))
  local rows, best, best_ll = {}, nil, -math.huge
  for _, d in ipairs(ds) do
    if d < ntr - 1 then
      local ll = -G.models.PPCA.fit(Xtr, d):nll(Xte)
      rows[#rows + 1] = {d = d, loglik = ll}
      if ll > best_ll then best, best_ll = d, ll end
    end
  end
  return rows, best, ntr, N - ntr
end

local X = load_faces(o.faces)
local N, m = X.shape[1], X.shape[2]
local side = math.floor(math.sqrt(m) + 0.5)
local gen = G.Generator(o.seed)

-- (a) ----------------------------------------------------------------------------------
print(string.format("(a) %d faces of %d pixels; p-PCA's MLE from the eigendecomposition of S (divided by N)", N, m))
print(string.format("    %4s %11s %13s %15s", "d", "sigma^2", "var. kept", "log p per face"))
local fits = {}
for _, d in ipairs{2, 16, 32, 64} do
  local p = PPCA.fit(X, d)
  fits[d] = p
  local lam = p.eigenvalues
  print(string.format("    %4d %11.5f %12.1f%% %15.2f", d, p.sigma2,
                      100 * lam:narrow(1, 1, d):sum():item() / lam:sum():item(), -p:nll(X)))
end
print(string.format("    rank of S: %d (N - 1), so d < %d", fits[2].rank, fits[2].rank))

local fig = G.viz.figure{title = "Seed 002 problem 2: p-PCA eigenfaces", rows = 1, cols = 2,
                         width = 1100, height = 560, name = "ppca_latent"}
-- (b) ----------------------------------------------------------------------------------
local p2 = fits[2]
local Z, cov = p2:posterior(X)
local zx, zy = Z:select(2, 1):totable(), Z:select(2, 2):totable()
local sx, sy, sc, ss = scatter_with_circles(zx, zy, {0.12, 0.35, 0.75}, 5, {1, 2})
fig:scatter(sx, sy, {panel = 1, colors = sc, sizes = ss, xlabel = "z1", ylabel = "z2",
                     title = "(b) E[z | x], d = 2, with N(0, I)'s 1 and 2 sigma circles"})
local Zc = Z - Z:mean(1)
local zcov = (Zc:t():matmul(Zc) / N):totable()
local inside = 0
for k = 1, N do if zx[k] ^ 2 + zy[k] ^ 2 <= 4 then inside = inside + 1 end end
print(string.format("\n(b) d = 2: E[z | x] has mean (%.1e, %.1e), covariance [[%.3f %.3f] [%.3f %.3f]];",
                    Z:select(2, 1):mean():item(), Z:select(2, 2):mean():item(), zcov[1][1], zcov[1][2], zcov[2][1], zcov[2][2]))
local post = cov:totable()
print(string.format("    the posterior covariance sigma^2 M^-1 = diag(%.4f, %.4f) holds the rest of N(0, I):", post[1][1], post[2][2]))
print(string.format("    Cov E[z|x] + sigma^2 M^-1 = diag(%.4f, %.4f); %d of %d faces lie within 2 sigma",
                    zcov[1][1] + post[1][1], zcov[2][2] + post[2][2], inside, N))
fig:line({y = p2.eigenvalues:narrow(1, 1, p2.rank), label = "eigenvalues of S"},
         {panel = 2, logy = true, title = "(a) spectrum of S; sigma^2 at d = 16 dashed", xlabel = "j",
          ylabel = "lambda_j", hline = fits[16].sigma2, hline_label = "sigma^2 (d = 16)"})
fig:show()
print("figure: " .. (G.viz.headless() and fig:save() or "window"))

-- (c) ----------------------------------------------------------------------------------
local ds = list(o.ds)
local pick = G.randperm(N, {generator = gen}):narrow(1, 1, 25)
local X25 = X:index_select(1, pick)
local figc = G.viz.figure{title = "Seed 002 2(c): 25 faces and their p-PCA reconstructions", rows = 1,
                          cols = #ds + 1, width = 300 * (#ds + 1), height = 340, name = "ppca_reconstructions"}
figc:grid(X25:reshape(25, side, side), {panel = 1, rows = 5, cols = 5, norm = "none", title = "25 faces"})
print("\n(c) reconstructions E[x | E[z | x]] of 25 random faces (pixels in [0, 1])")
print(string.format("    %4s %14s %14s", "d", "MSE (the 25)", "MSE (all)"))
local mses = {}
for k, d in ipairs(ds) do
  local p = fits[d] or PPCA.fit(X, d)
  local R = p:reconstruct(X25)
  local mse25 = ((R - X25) ^ 2):mean():item()
  local mse = ((p:reconstruct(X) - X) ^ 2):mean():item()
  print(string.format("    %4d %14.6f %14.6f", d, mse25, mse))
  mses[d] = mse25
  figc:grid(R:clamp(0, 1):reshape(25, side, side), {panel = k + 1, rows = 5, cols = 5, norm = "none",
                                                     title = string.format("d = %d, MSE %.5f", d, mse25)})
end
print("    Quality rises with d: each extra dimension " ..
  "keeps one more principal direction of the faces,\n" ..
      "    so the error falls and the faces sharpen (d = " ..
      "16 keeps the pose and lighting, d = 64 most of\n" ..
      "    the identity). These are training faces: at " ..
      "d = N - 1 the error would be 0, memorised,\n" ..
      "    which says nothing about new faces; (d) measures that.")
figc:show()
print("figure: " .. (G.viz.headless() and figc:save() or "window"))

-- (d) ----------------------------------------------------------------------------------
local rows, best, ntr, nte = heldout(X, list(o.cv_ds), gen)
print(string.format("\n(d) which d? fit on %d faces, log-likelihood of the %d held out (nats per face):", ntr, nte))
for _, r in ipairs(rows) do print(string.format("    d = %3d  %10.2f", r.d, r.loglik)) end
print(string.format("    d = %d fits unseen faces best: beyond it the " ..
  "extra directions model the training faces'\n" ..
                    "    particulars, not faces in general. 100 new faces from d = %d:", best, best))
local pd = fits[best] or PPCA.fit(X, best)
local S100 = pd:sample(100, {generator = gen})
local figd = G.viz.figure{title = string.format("Seed 002 2(d): 100 new faces, d = %d", best),
                          width = 700, height = 740, name = "ppca_samples"}
figd:grid(S100:clamp(0, 1):reshape(100, side, side), {rows = 10, cols = 10, norm = "none",
                                                       title = string.format("E[x | z], z ~ N(0, I), d = %d", best)})
figd:show()
print(string.format("    their pixels: mean %.3f (the faces' %.3f), std %.3f (the faces' %.3f)", S100:mean():item(),
                    X:mean():item(), S100:std():item(), X:std():item()))
print("figure: " .. (G.viz.headless() and figd:save() or "window"))

-- (e) ----------------------------------------------------------------------------------
local p16 = fits[16]
local face = math.tointeger(G.randint(1, N + 1, 1, {generator = gen})[1])
local z = p16:posterior(X:narrow(1, face, 1))
local dims = {1, 2, 3, 4, 5}
local fige = G.viz.figure{title = string.format("Seed 002 2(e): face %d, 5 latent dimensions x 10 offsets (d = 16)", face),
                          rows = 2, cols = 1, width = 820, height = 940, name = "ppca_perturb"}
print(string.format("\n(e) d = 16, face %d; each row moves one of z1..z5, each column one offset", face))
local changes = {}
for k, span in ipairs{0.05, o.span} do
  local imgs = perturb(p16, z, dims, 10, span)
  local base = p16:decode(z)
  local change = (imgs - base):abs():max():item()
  fige:grid(imgs:clamp(0, 1):reshape(50, side, side), {panel = k, rows = 5, cols = 10, norm = "none",
                                                       title = string.format("offsets in [-%g, %g]", span, span)})
  print(string.format("    +-%-5g largest pixel change %.4f (pixels in [0, 1])", span, change))
  changes[k] = change
end
local norms = {}
for i = 1, 5 do norms[i] = string.format("%.2f", p16.W:select(2, i):pow(2):sum():sqrt():item()) end
print("    |w_i| for i = 1..5: " .. table.concat(norms, ", ") .. " (a unit of z_i moves the image by w_i)")
print("    At +-0.05 nothing is visible: E[z | x] spans " ..
  "about +-1 per dimension, so 0.05 moves a pixel by a\n" ..
      "    hundredth at most. At +-3 each dimension is " ..
      "one global change: z1 the overall brightness of\n" ..
      "    face and background together, z2 the face against " ..
      "its background, z3 the side the light comes\n" ..
      "    from, z4 and z5 the shadows of eyes, nose and " ..
      "mouth and the shape of the face. Larger offsets\n" ..
      "    exaggerate the same change linearly (E[x | " ..
      "z] is linear in z); beyond about +-2 the face\n" ..
      "    becomes a caricature of it.")
fige:show()
print("figure: " .. (G.viz.headless() and fige:save() or "window"))
return {X = X, fits = fits, latent = Z, latent_cov = zcov, posterior_cov = post, inside_2sigma = inside,
        mse = mses, heldout = rows, best_d = best, samples = S100, face = face, change = changes}   -- for the notebook
