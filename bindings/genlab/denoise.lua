-- denoise.lua -- genlab.denoise: removing Gaussian noise with a Gaussian
-- mixture as the prior over image patches (PS1 1.2; Zoran & Weiss 2011,
-- "From learning models of natural image patches to whole image
-- restoration").  Three estimators over the C kernels gmm:score and
-- gmm:map_patches:
--
--   patches_gd  each noisy patch y alone: min ||x - y||^2 - lambda log q(x)
--   image_gd    the seed's whole-image loss ||X - Y||^2 - lambda EPLL(X), where
--               EPLL(X) is the mean log q over all overlapping patches
--   epll        the paper's half-quadratic splitting: per-patch MAP (the most
--               likely component's Wiener filter) alternating with an
--               image update that averages the patches back, as beta grows
--
--   local Y = denoise.add_noise(X, 25 / 255, {seed = 0})
--   local Xh, info = denoise.epll(gmm, Y, {sigma = 25 / 255, clean = X})
--   print(denoise.psnr(Xh, X))
local G, denoise = ...
local nn, data = G.nn, G.data

local lib = G._lib
local doc, raise = lib.doc, lib.raise

local function check_image(X, where, ndim)
  if not G.is_tensor(X) or X.ndim ~= ndim then
    raise(string.format("%s: expected %s tensor, got %s", where,
                        ndim == 2 and "an (H, W) image or (N, d) patches as a 2-d" or ndim .. "-d",
                        G.is_tensor(X) and lib.shape(X) or type(X)))
  end
end

local function check_gmm(gmm, d, where)
  if getmetatable(gmm) ~= G.models.GMM then
    raise(where .. ": the prior must be a models.GMM, got " .. tostring(gmm))
  end
  if d and gmm.d ~= d then
    raise(string.format("%s: the prior models %d pixels per patch, the patches have %d", where,
                        gmm.d, d))
  end
end

-- ---- noise and error measures ---------------------------------------------------

denoise.add_noise = doc(function(X, sigma, opts)
  opts = lib.options(opts, {seed = 0, generator = false}, "denoise.add_noise")
  if type(sigma) ~= "number" or not (sigma >= 0) then
    raise("denoise.add_noise: sigma must be a number >= 0, got " .. tostring(sigma))
  end
  local gen = opts.generator or G.Generator(opts.seed)
  local shape = {table.unpack(X.shape)}
  shape[#shape + 1] = {dtype = X.dtype, generator = gen}
  return X + G.randn(table.unpack(shape)) * sigma
end, "denoise.add_noise(X, sigma, [{seed=0, generator=}]) -> Tensor\n" ..
  "X + N(0, sigma^2) in every element; the same seed gives the same noise.")

denoise.mse = doc(function(X, ref)
  if not (G.is_tensor(X) and G.is_tensor(ref)) then raise("denoise.mse(X, ref): two tensors expected") end
  return (X - ref):pow(2):mean():item()
end, "denoise.mse(X, ref) -> number\nThe mean squared error per element.")

denoise.psnr = doc(function(X, ref, peak)
  peak = peak or 1
  return 10 * math.log(peak * peak / denoise.mse(X, ref), 10)
end, "denoise.psnr(X, ref, [peak=1]) -> number\n" ..
  "The peak signal-to-noise ratio in dB, 10 log10(peak^2 / mse): pixels in [0, 1] have peak 1.")

-- ---- gradient descent --------------------------------------------------------------

local function norm(t) return t:pow(2):sum():sqrt():item() end
local function dot(a, b) return (a * b):sum():item() end
local function total(fx) return G.is_tensor(fx) and fx:mean():item() or fx end

-- Step rules for gradient descent on f(x) -> loss, grad, [aux]; lr = 1/L is
-- the step that the curvature bound L makes safe.  Each is made for one run
-- and maps (x, loss, grad, hist, aux) to the next x, loss, grad and aux.

-- "bb": Barzilai-Borwein steps <s, s> / <s, y>, kept in [lr, 1e6 lr], under a
-- non-monotone Armijo search (the loss may not exceed the largest of the last
-- 10 less the sufficient decrease) that halves the step, never below lr,
-- where the descent lemma holds: Raydan's (1997) spectral gradient method.
local function bb_steps(f, lr)
  local alpha = lr
  return function(x, fx, gx, hist)
    local n, gn = #hist.loss, hist.grad_norm[#hist.grad_norm]
    local ref = math.max(table.unpack(hist.loss, math.max(1, n - 9), n))
    local x_new, f_new, g_new, ok
    repeat
      x_new = x - gx * alpha
      f_new, g_new = f(x_new)
      hist.evals = hist.evals + 1
      ok = alpha <= lr or f_new <= ref - 1e-4 * alpha * gn * gn
      if not ok then alpha = math.max(alpha / 2, lr) end
    until ok
    local s, y = x_new - x, g_new - gx
    local sy = dot(s, y)
    if sy > 0 then alpha = math.min(math.max(dot(s, s) / sy, lr), 1e6 * lr) end
    return x_new, f_new, g_new
  end
end

-- t with its rows idx (1-based, the true entries of mask) replaced by src.
local function put_rows(t, mask, idx, src)
  local m = idx.shape[1]
  if t.ndim == 1 then return G.where(mask, G.zeros_like(t):scatter_add_(1, idx, src), t) end
  local rows = idx:reshape(m, 1):expand(m, t.shape[2])
  return G.where(mask:reshape(t.shape[1], 1), G.zeros_like(t):scatter_add_(1, rows, src), t)
end

-- The same for rows that are separate problems (patches): f(x, [rows]) gives
-- each row's loss, and each row keeps its own step and its own last 10
-- losses.  A row whose step fails the Armijo test takes the safe step lr.
local function bb_rows(f, lr, N, dtype)
  local alpha = G.full({N, 1}, lr, {dtype = dtype})
  local all = G.arange(1, N + 1, {dtype = "float64"})
  local last = {}
  return function(x, fx, gx, hist)
    last[#last + 1] = fx
    if #last > 10 then table.remove(last, 1) end
    local x_new = x - gx * alpha
    local f_new, g_new = f(x_new)
    hist.evals = hist.evals + 1
    local a = alpha:squeeze(2)
    local ref = G.stack(last, 2):max(2)
    local bad = f_new:gt(ref - gx:pow(2):sum(2) * a * 1e-4):mul(a:gt(lr))
    local idx = all:masked_select(bad)
    if idx.shape[1] > 0 then                    -- redo those rows with the safe step
      local xs = x:index_select(1, idx) - gx:index_select(1, idx) * lr
      local fs, gs = f(xs, idx)
      x_new, g_new = put_rows(x_new, bad, idx, xs), put_rows(g_new, bad, idx, gs)
      f_new = put_rows(f_new, bad, idx, fs)
    end
    local s, y = x_new - x, g_new - gx
    local sy, ss = (s * y):sum(2, true), s:pow(2):sum(2, true)
    alpha = G.where(sy:gt(0), (ss / sy:clamp(1e-300, math.huge)):clamp(lr, 1e6 * lr), alpha)
    return x_new, f_new, g_new
  end
end

-- "newton": each patch x steps along H_k^-1 g, where H_k = 2 I + lambda
-- Sigma_k^-1 is the Hessian its loss would have if its most responsible
-- component k were the whole prior; for K = 1 that is Newton's method, which
-- ends in one step.  H_k^-1 g = Sigma_k (Sigma_k + s2 I)^-1 g / 2 with
-- s2 = lambda / 2: the Wiener filter of gmm:wiener without the means.  Each
-- row halves its step from 1 until its loss falls by 1e-4 t <g, H_k^-1 g>
-- (Armijo; at most 50 halvings).  f(x, [rows]) gives loss, grad and labels.
local function newton_rows(f, gmm, lam, N, dtype)
  local all = G.arange(1, N + 1, {dtype = "float64"})
  return function(x, fx, gx, hist, labels)
    local D = gmm:wiener(gx, lam / 2, labels, {center = false}) * 0.5
    local slope = (gx * D):sum(2) * 1e-4
    local ref = fx + fx:abs() * 1e-12           -- the loss, give or take its rounding
    local t = G.ones({N}, {dtype = dtype})
    local x_new = x - D
    local f_new, g_new, l_new = f(x_new)
    hist.evals = hist.evals + 1
    local bad = f_new:gt(ref - slope)
    for _ = 1, 50 do
      local idx = all:masked_select(bad)
      if idx.shape[1] == 0 then break end
      t = G.where(bad, t * 0.5, t)
      local xs = x:index_select(1, idx) - D:index_select(1, idx) * t:index_select(1, idx):unsqueeze(2)
      local fs, gs, ls = f(xs, idx)
      x_new, g_new = put_rows(x_new, bad, idx, xs), put_rows(g_new, bad, idx, gs)
      f_new, l_new = put_rows(f_new, bad, idx, fs), put_rows(l_new, bad, idx, ls)
      bad = f_new:gt(ref - slope * t):mul(bad)
    end
    return x_new, f_new, g_new, l_new
  end
end

-- "nesterov": step lr with momentum (k - 1)/(k + 2), restarted when the loss
-- rises; "plain": step lr.
local function momentum_steps(f, lr, x0, nesterov)
  local x_prev, k = x0, 1
  return function(x, fx, gx, hist)
    local step_x = x - gx * lr
    local y = nesterov and step_x + (step_x - x_prev) * ((k - 1) / (k + 2)) or step_x
    x_prev, k = step_x, k + 1
    local f_new, g_new = f(y)
    hist.evals = hist.evals + 1
    if total(f_new) > total(fx) then k = 1 end
    return y, f_new, g_new
  end
end

-- Runs the step rule from x0 for opts.steps steps or until |grad| < opts.tol
-- |grad_0|.  Fills hist: loss (the mean when f gives one per row) and
-- grad_norm at x0 and after each step, steps, evals (of f), rel_grad, lr.
-- on_step(step, x, hist) runs before the user's callback.
local function descend(f, step_rule, x0, lr, opts, where, hist, on_step)
  local x, fx, gx, aux = x0, f(x0)
  local g0 = math.max(norm(gx), 1e-300)
  hist.loss, hist.grad_norm, hist.lr, hist.evals = {total(fx)}, {norm(gx)}, lr, 1
  for step = 1, opts.steps do
    if hist.grad_norm[step] <= opts.tol * g0 then break end
    x, fx, gx, aux = step_rule(x, fx, gx, hist, aux)
    hist.loss[step + 1], hist.grad_norm[step + 1] = total(fx), norm(gx)
    if on_step then on_step(step, x, hist) end
    if opts.callback then opts.callback(step, x, hist) end
    if opts.verbose and (step % opts.verbose == 0 or step == opts.steps) then
      print(string.format("%s: step %d/%d  loss %.6g  |grad|/|grad_0| %.2e", where, step,
                          opts.steps, hist.loss[step + 1], hist.grad_norm[step + 1] / g0))
    end
  end
  hist.steps = #hist.loss - 1
  hist.rel_grad = hist.grad_norm[#hist.grad_norm] / g0
  return x, hist
end

local gd_defaults = {lambda = 1, steps = 200, lr = false, tol = 1e-6, method = false,
                     callback = false, verbose = false}

-- opts.method, defaulting to methods[1], must be one of methods.
local function check_method(opts, where, methods)
  opts.method = opts.method or methods[1]
  for _, m in ipairs(methods) do if opts.method == m then return end end
  raise(string.format("%s: option 'method': expected \"%s\", got %s", where,
                      table.concat(methods, "\", \""), tostring(opts.method)))
end

denoise.patches_gd = doc(function(gmm, Y, opts)
  check_image(Y, "denoise.patches_gd", 2)
  check_gmm(gmm, Y.shape[2], "denoise.patches_gd")
  opts = lib.options(opts, gd_defaults, "denoise.patches_gd")
  check_method(opts, "denoise.patches_gd", {"newton", "bb", "nesterov", "plain"})
  if type(opts.lambda) ~= "number" or not (opts.lambda >= 0 and opts.lambda < math.huge) then
    raise("denoise.patches_gd: option 'lambda' must be a finite number >= 0, got "
          .. tostring(opts.lambda))
  end
  gmm = gmm:to(Y.dtype)
  local lam, N = opts.lambda, Y.shape[1]
  local function f(X, rows)              -- each patch's loss, gradient and dominant component
    local logq, score, labels = gmm:score(X)
    local r = X - (rows and Y:index_select(1, rows) or Y)
    return r:pow(2):sum(2) - logq * lam, r * 2 - score * lam, labels
  end
  local lr = opts.method ~= "newton" and (opts.lr or 1 / (2 + lam * gmm:max_precision())) or nil
  local rule = opts.method == "newton" and newton_rows(f, gmm, lam, N, Y.dtype)
               or opts.method == "bb" and bb_rows(f, lr, N, Y.dtype)
               or momentum_steps(f, lr, Y, opts.method == "nesterov")
  return descend(f, rule, Y, lr, opts, "patches_gd", {})
end, [[denoise.patches_gd(gmm, Y, [{lambda=1, steps=200, method="newton"|"bb"|"nesterov"|"plain", lr=, tol=1e-6, callback=, verbose=}]) -> X, hist
Denoise each row y of Y (N, d) on its own (PS1 1.2a): minimise ||x - y||^2 - lambda log q(x) by
gradient descent, the gradient from gmm:score. Tiny covariance eigenvalues make this loss stiff,
so the default method "newton" preconditions: each patch steps along (2 I + lambda
Sigma_k^-1)^-1 grad, the inverse Hessian of its loss under its most responsible component k
(Newton's method for K = 1, which then ends in one step), halving the step from 1 until the
loss falls enough (Armijo). The other methods step along -grad: "bb" gives each patch its own
Barzilai-Borwein step, at least 1 / L with L = 2 + lambda max_k |Sigma_k^-1| (the curvature
bound of gmm:max_precision) or lr, falling back to that where the loss would not fall enough;
"nesterov" takes step 1 / L with momentum and restarts; "plain" takes step 1 / L. Stops after
steps or when |grad| < tol |grad_0|. hist: the mean loss and the gradient norm at the start and
after each step, steps, evals (of the loss), rel_grad (the final |grad| / |grad_0|), and lr
for the gradient methods.
lambda = 2 sigma^2 makes x the MAP estimate under noise of standard deviation sigma; for K = 1 the
minimiser is the Wiener filter with noise variance lambda / 2.
callback(step, X, hist) runs after each step; verbose=n prints every n steps.]])

-- Patch geometry of an image: size from the prior, the patch count and the
-- most patches any pixel lies in.
local function geometry(gmm, X, opts, where)
  local size = opts.size or math.floor(math.sqrt(gmm.d) + 0.5)
  if size * size ~= gmm.d then
    raise(string.format("%s: the prior models %d pixels, not a square patch of %d x %d", where,
                        gmm.d, size, size))
  end
  if size > X.shape[1] or size > X.shape[2] then
    raise(string.format("%s: %dx%d patches do not fit a (%s) image", where, size, size,
                        lib.shape_str(X)))
  end
  local ones = data.extract_patches(G.ones(X.shape[1], X.shape[2], {dtype = X.dtype}), size,
                                    {stride = opts.stride})
  local cover = data.fold_patches(ones, X.shape[1], X.shape[2], size,
                                  {stride = opts.stride, reduce = "sum"})
  return size, ones.shape[1], cover
end

-- The PSNR of the image as shown, clamped to [0, 1]: the same number as the
-- final table's, so a curve and the table of one run never disagree.
local function progress(opts, X, hist, t0)
  hist.seconds[#hist.seconds + 1] = G.time() - t0
  if opts.clean then hist.psnr[#hist.psnr + 1] = denoise.psnr(X:clamp(0, 1), opts.clean) end
end

denoise.image_gd = doc(function(gmm, Y, opts)
  check_image(Y, "denoise.image_gd", 2)
  check_gmm(gmm, nil, "denoise.image_gd")
  local o = {size = false, stride = 1, clean = false}
  for k, v in pairs(gd_defaults) do o[k] = v end
  opts = lib.options(opts, o, "denoise.image_gd")
  check_method(opts, "denoise.image_gd", {"bb", "nesterov", "plain"})
  gmm = gmm:to(Y.dtype)
  local size, np, cover = geometry(gmm, Y, opts, "denoise.image_gd")
  local H, W, lam, stride = Y.shape[1], Y.shape[2], opts.lambda, opts.stride
  local t0 = G.time()
  local function f(X)
    local logq, score = gmm:score(data.extract_patches(X, size, {stride = stride}))
    local r = X - Y
    local loss = r:pow(2):sum():item() - lam * logq:mean():item()
    local gp = data.fold_patches(score, H, W, size, {stride = stride, reduce = "sum"})
    return loss, r * 2 - gp * (lam / np)
  end
  local lr = opts.lr or 1 / (2 + lam * cover:max():item() / np * gmm:max_precision())
  local rule = opts.method == "bb" and bb_steps(f, lr)
               or momentum_steps(f, lr, Y, opts.method == "nesterov")
  return descend(f, rule, Y, lr, opts, "image_gd", {seconds = {}, psnr = {}},
                 function(_, X, hist) progress(opts, X, hist, t0) end)
end, [[denoise.image_gd(gmm, Y, [{lambda=1, size=, stride=1, steps=200, method="bb", lr=, tol=1e-6, clean=, callback=, verbose=}]) -> X, hist
Denoise the image Y (H, W) by gradient descent on the seed's loss (PS1 1.2b)
  ||X - Y||^2 - lambda (1/|P|) sum_i log q(P_i X)
over all overlapping size x size patches P_i X (size from the prior's d). The patch gradients
of gmm:score are summed back onto the pixels (fold_patches reduce="sum"). The step is 1 / L with
L = 2 + lambda (max patches per pixel / |P|) max_k |Sigma_k^-1| unless lr is given. method "bb"
takes Barzilai-Borwein steps of at least that size under a non-monotone line search (Raydan's
spectral gradient); "nesterov" and "plain" as in patches_gd. hist: as patches_gd's, plus seconds
and (given the clean image) psnr per step.
lambda = 2 sigma^2 |P| / d weighs the prior as the EPLL paper does (each patch's noise counted once
per pixel).]])

-- ---- half-quadratic splitting ------------------------------------------------------------

denoise.epll = doc(function(gmm, Y, opts)
  check_image(Y, "denoise.epll", 2)
  check_gmm(gmm, nil, "denoise.epll")
  opts = lib.options(opts, {sigma = false, lambda = false, betas = {1, 4, 8, 16, 32}, iters = 1,
                            size = false, stride = 1, remove_mean = false, clip = true,
                            clean = false, callback = false, verbose = false}, "denoise.epll")
  local sigma = opts.sigma
  if type(sigma) ~= "number" or not (sigma > 0) then
    raise("denoise.epll: option 'sigma' (the noise standard deviation, > 0) is required")
  end
  gmm = gmm:to(Y.dtype)
  local size, _, cover = geometry(gmm, Y, opts, "denoise.epll")
  local H, W, stride = Y.shape[1], Y.shape[2], opts.stride
  local lam = opts.lambda or (size / math.min(stride, size)) ^ 2 / sigma ^ 2
  local X, t0 = Y, G.time()
  local hist = {beta = {}, seconds = {}, psnr = {}, lambda = lam}
  for i, b in ipairs(opts.betas) do
    local beta = b / sigma ^ 2
    for _ = 1, opts.iters do
      local P, Z = data.extract_patches(X, size, {stride = stride}), nil
      if opts.remove_mean then           -- the prior is on zero-mean patches: the mean stays
        local m = P:mean(2, true)
        Z = gmm:map_patches(P - m, 1 / beta) + m
      else
        Z = gmm:map_patches(P, 1 / beta)
      end
      local sum = data.fold_patches(Z, H, W, size, {stride = stride, reduce = "sum"})
      X = (Y * lam + sum * beta) / (cover * beta + lam)
      hist.beta[#hist.beta + 1] = beta
      progress(opts, X, hist, t0)
      if opts.callback then opts.callback(#hist.beta, X, hist) end
    end
    if opts.verbose then
      print(string.format("epll: beta %d/%d (%g / sigma^2)  %.2f s%s", i, #opts.betas, b,
                          G.time() - t0, opts.clean and
                          string.format("  PSNR %.2f dB", hist.psnr[#hist.psnr]) or ""))
    end
  end
  if opts.clip then X = X:clamp(0, 1) end
  return X, hist
end, [[denoise.epll(gmm, Y, {sigma=, [lambda=(size/stride)^2/sigma^2, betas={1,4,8,16,32}, iters=1, size=, stride=1, remove_mean=false, clip=true, clean=, callback=, verbose=]}) -> X, hist
Denoise the image Y (H, W), observed with Gaussian noise of standard deviation sigma, by EPLL's
half-quadratic splitting (Zoran & Weiss 2011). For each beta (in units of 1/sigma^2, growing),
iters times:
  1. every overlapping patch gets its MAP estimate at noise variance 1/beta, the Wiener filter
     of its most likely component (gmm:map_patches);
  2. X = (lambda Y + beta sum_i P_i^T z_i) / (lambda + beta * patches per pixel).
lambda defaults to the paper's d / sigma^2 at stride 1, and (size / stride)^2 / sigma^2 in
general: 1 / sigma^2 (the Gaussian likelihood's weight) for each patch over a pixel.
remove_mean: for a prior fitted on patches with their means taken out (as the paper's): step 1
filters each patch less its mean, which is put back unchanged. clip clamps the result to [0, 1].
hist: beta, seconds and (given clean) psnr per iteration, of the image clamped to [0, 1] as it
is shown; callback(it, X, hist) after each.]])
