-- PS1, the patch mixture to play with: hover a patch of the held-out photo
-- to see which components explain it, p(k | noisy patch) as a bar chart
-- (the choice EPLL's first step makes, under the mixture of noisy patches),
-- and the most likely component's mean and leading eigenvectors (the kind
-- of texture it stands for: flat, an edge at some angle, a stripe).  The
-- sigma slider under the figure sets the noise; letting it go re-runs EPLL
-- on the shown crop with the same prior, live, and redraws the posterior.
--
-- The prior is the one ps1_2_denoise.lua uses (out/models/gmm_K64_p8_n20000_em15.ckpt),
-- fitted here by EM when that script has not run yet.
--
--   ./genlab scripts/ps1_patch_explorer.lua           live window
--   ./genlab scripts/ps1_patch_explorer.lua --smoke   headless: scripted hovers and a σ change, the test
local G = require "genlab"
local C = require "common"
local D = G.denoise
local o = C.options({K = 8, size = 8, crop = 64, sigma = 25, n_train = 2000, em_iter = 5, vectors = 15, seed = 0},
                    {K = 64, size = 8, crop = 128, sigma = 25, n_train = 20000, em_iter = 15, vectors = 15, seed = 0},
                    {K = 64, size = 8, crop = 256, sigma = 25, n_train = 20000, em_iter = 15, vectors = 15, seed = 0},
                    "PS1: hover a patch to see the mixture's posterior " ..
                    "and component; a sigma slider re-denoises")
local scripted = G.viz.headless()
local size = o.size
local Xtr = C.patch_sets(o.n_train, 1, size, o.seed)
local gmm = C.patch_prior(o.K, size, Xtr, o)
local prior = gmm:to("float32")                        -- EPLL's
local clean = C.holdout_photo(o.crop)
local H, W = clean.shape[1], clean.shape[2]

local fig = G.viz.figure{title = string.format("PS1: the %d-component mixture of %dx%d patches (hover the photo)",
                                               o.K, size, size),
                         rows = 2, cols = 2, width = 1200, height = 1000, name = "patch_explorer"}
local sigma = fig:slider{name = "sigma (of 255), denoised on release", min = 5, max = 75, value = o.sigma}

-- ---- a patch: where it is, its posterior, its component ------------------------------------------

local shown = {}                                       -- the patch shown: row, col, k, p, entropy
local noisy, noise_var                                 -- the denoising panel's image and its sigma^2
local function inspect(r, c)
  r, c = math.max(1, math.min(r, H - size + 1)), math.max(1, math.min(c, W - size + 1))
  shown.row, shown.col = r, c
  if not noisy then return shown end
  -- the posterior EPLL's first step uses: the noisy patch under the mixture of noisy patches
  local patch = noisy:narrow(1, r, size):narrow(2, c, size):reshape(1, size * size):to(gmm.means.dtype)
  local post = gmm:noisy(noise_var):responsibilities(patch)[1]
  local p, k = post:max(1)
  p, k = p:item(), k:item()
  local entropy = -(post * post:clamp(1e-30, 1):log()):sum():item()
  shown = {row = r, col = c, k = k, p = p, entropy = entropy}
  -- the photo with the patch outlined in red
  local rgb = G.stack({clean, clean, clean}, 3):clone()
  local box = rgb:narrow(1, r, size):narrow(2, c, size)
  for _, side in ipairs{box:narrow(1, 1, 1), box:narrow(1, size, 1), box:narrow(2, 1, 1), box:narrow(2, size, 1)} do
    side:copy_(G.tensor({1, 0, 0}):expand(side.shape))
  end
  fig:grid(rgb:unsqueeze(1), {panel = 1, norm = "none",
                              title = string.format("held-out photo: the %dx%d patch at row %d, column %d", size, size, r, c)})
  fig:line(post, {panel = 2, bars = true, xlabel = "component k", ylabel = "p(k | noisy patch)",
           title = string.format("p(k | noisy patch) at sigma = %.0f/255: argmax k = %d (%.2f), entropy %.2f nats",
                                 math.sqrt(noise_var) * 255, k, p, entropy)})
  local w, V = G.linalg.eigh(gmm.covs[k])
  local n = math.min(o.vectors, size * size)
  local order = {}
  for i = 1, n do order[i] = size * size + 1 - i end                      -- largest eigenvalue first
  local lead = V[{{}, G.tensor(order)}]:t()
  local tiles = G.cat({gmm.means[k]:reshape(1, size * size), lead}, 1):reshape(n + 1, size, size)
  local share = w:narrow(1, size * size - n + 1, n):sum():item() / w:sum():item()
  local captions = {"mean"}
  for i = 1, n do captions[i + 1] = "v" .. i end
  fig:grid(tiles, {panel = 3, norm = "tile", captions = captions,
                   title = string.format("component %d (weight %.4f): mean, %d " ..
                     "eigenvectors (%.0f%% of its variance)",
                                         k, gmm.weights[k], n, 100 * share)})
  return shown
end

fig:on("hover", function(ev)
  if ev.panel == 1 and ev.tile then inspect(ev.row - size // 2, ev.col - size // 2) end
end)

-- ---- denoising at the slider's sigma -------------------------------------------------------

local denoised = {}
local function denoise(s255)
  local s = s255 / 255
  noisy, noise_var = D.add_noise(clean, s, {seed = o.seed}), s * s
  inspect(shown.row, shown.col)                        -- its posterior at the new sigma
  local function draw(X, label)
    fig:grid({noisy:clamp(0, 1), X:clamp(0, 1)}, {panel = 4, norm = "none", rows = 1, captions = {"noisy", label},
             title = string.format("sigma = %.0f/255: noisy %.2f dB", s255, D.psnr(noisy:clamp(0, 1), clean))})
    fig:show()
  end
  draw(noisy, "EPLL: running")
  local X, hist = D.epll(prior, noisy, {sigma = s, clean = clean, callback = function(it, Xi, h)
    draw(Xi, string.format("EPLL, beta %d of %d: %.2f dB", it, 5, h.psnr[#h.psnr]))
  end})
  local psnr = D.psnr(X:clamp(0, 1), clean)
  draw(X, string.format("EPLL: %.2f dB", psnr))
  denoised = {sigma = s255, noisy = D.psnr(noisy:clamp(0, 1), clean), psnr = psnr, secs = 0}
  for _, t in ipairs(hist.seconds) do denoised.secs = denoised.secs + t end
  print(string.format("sigma = %.0f/255: noisy %.2f dB, EPLL %.2f dB (%.1f s)", s255, denoised.noisy, psnr, denoised.secs))
  return denoised
end

shown = {row = H // 2, col = W // 2}
local out = {first = denoise(sigma:value())}

-- ---- scripted (headless) or live --------------------------------------------------------------

if scripted then                        -- hover two patches, as the mouse would, then raise sigma
  local function hover_at(r, c)         -- the mouse over image pixel (r, c): the patch centred there
    local px, py = fig:pixel(1, r, c)
    fig:_event{kind = "move", x = px, y = py}
    G.viz.pump()
    return shown
  end
  local function report(s, where)
    print(string.format("patch at %s (row %d, column %d): argmax k = %d, p = %.3f, entropy %.3f nats",
                        where, s.row, s.col, s.k, s.p, s.entropy))
    return {row = s.row, col = s.col, k = s.k, p = s.p, entropy = s.entropy}
  end
  out.a = report(hover_at(5, 5), "the top-left corner")
  out.b = report(hover_at(H // 4, W // 2), "the upper middle")
  sigma:set(50)
  out.second = denoise(sigma:value())
  print("figure: " .. fig:save())
else
  print("hover the photo; drag the sigma slider and let go to denoise again; q closes the window")
  fig:show()
  local last = sigma:value()
  while fig:is_open() do
    G.viz.pump(0.02)
    if sigma:value() ~= last and not sigma:held() then
      last = sigma:value()
      denoise(last)
    end
  end
end
return C.finish(out)
