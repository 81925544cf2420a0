-- The exercise scripts run end to end, headless, in the tests' configuration
-- (--smoke): each exits 0, writes non-blank figures, and prints the numbers
-- that the exercise is about, checked where the fact is robust, and its
-- quality floors, not checked at this size.
local G = require "genlab"
local H = dofile("tests/lua/helpers.lua")
local root = os.getenv("PWD")

-- Run scripts/NAME.lua in a fresh directory with --smoke (or config, "" for
-- the default); its output, status and dir.
local dirs = {}
local function run(name, args, config)
  local dir = H.tmpname()
  dirs[#dirs + 1] = dir
  os.remove(dir)
  os.execute("mkdir -p " .. dir)
  local path = name:find("/", 1, true) and name or "scripts/" .. name   -- a notebook: its own path
  local out, rc = H.sh(string.format("cd %s && GENLAB_HEADLESS=1 GENLAB_NO_WAIT=1 %s %s/%s.lua %s %s",
                                     dir, H.exe, root, path, config or "--smoke", args or ""))
  return out, rc, dir
end

-- A figure that is there and shows something: its pixels vary.
local function assert_figure(path)
  local f = io.open(path, "rb")
  assert.is_truthy(f, "no figure " .. path)
  f:close()
  local img = G.data.read_image(path, {gray = true})
  assert.is_true(img:std():item() > 0.05, path .. " is blank")
end

local function number_after(out, pattern)
  return tonumber(out:match(pattern))
end

-- The floor lines a run printed: {{name, status}, ...}.
local function floors(out)
  local t = {}
  for line in out:gmatch("[^\n]+") do
    local name, status = line:match("^floor: (.-): ([^:]+)$")
    if name then t[#t + 1] = {name, status} end
  end
  return t
end

local function all_unchecked(out, n)
  local fs = floors(out)
  assert.are.equal(n, #fs, out)
  for _, f in ipairs(fs) do assert.are.equal("not checked (smoke)", f[2], f[1]) end
  assert.is_truthy(out:find(("quality floors: %d, not checked (smoke)"):format(n), 1, true), out)
end

describe("exercise scripts (--smoke)", function()
  teardown(function()
    for _, d in ipairs(dirs) do os.execute("rm -rf " .. d) end
  end)

  it("ps1_1a_gaussian: NLL table, samples beside patches, a saved model", function()
    local out, rc, dir = run("ps1_1a_gaussian")
    assert.are.equal(0, rc, out)
    local tr, te = number_after(out, "train%s+(%-?[%d.]+)"), number_after(out, "test%s+(%-?[%d.]+)")
    assert.is_true(tr < te, "the training NLL is the lower one")
    assert_figure(dir .. "/out/ps1_1a_gaussian/gaussian_samples.png")
    assert.is_truthy(io.open(dir .. "/out/models/gaussian.ckpt"))
  end)

  it("out/models: a smaller configuration neither overwrites a model nor stands in for a larger one", function()
    local dir = H.tmpdir()
    local function sh(cmd)
      return H.sh(string.format("cd %s && GENLAB_HEADLESS=1 GENLAB_NO_WAIT=1 %s", dir, cmd))
    end
    local script = root .. "/scripts/ps1_1a_gaussian.lua"
    local out, rc = sh(H.exe .. " " .. script .. " --n_train=3000")          -- a default run
    assert.are.equal(0, rc, out)
    out, rc = sh(H.exe .. " " .. script .. " --smoke")
    assert.are.equal(0, rc, out)
    assert.matches("handin: kept out/models/gaussian.ckpt from the --default run", out, 1, true)
    assert.is_truthy(io.open(dir .. "/out/models/gaussian.smoke.ckpt"))
    local m = G.handin.manifest(dir .. "/out/models")
    assert.are.equal("default", m.files["gaussian.ckpt"].config)
    assert.are.equal("smoke", m.files["gaussian.smoke.ckpt"].config)
    out = sh(H.exe .. " -e 'package.path = \"" .. root .. "/scripts/?.lua;\" .. package.path; " ..
             "local C = require \"common\"; print(C.find_model({full = true}, \"gaussian\")); " ..
             "print(C.find_model({}, \"gaussian\"))'")
    assert.matches("nil\tout/models/gaussian.ckpt is from a %-%-default run %(.-%); this is a %-%-full run", out)
    assert.matches("\nout/models/gaussian.ckpt\n", out)
    -- its figure too: the smoke run's goes beside the default run's
    local fm = G.handin.manifest(dir .. "/out/ps1_1a_gaussian")
    assert.are.equal("default", fm.files["gaussian_samples.png"].config)
    assert.are.equal("smoke", fm.files["gaussian_samples.smoke.png"].config)
    assert_figure(dir .. "/out/ps1_1a_gaussian/gaussian_samples.smoke.png")
  end)

  it("ps1_1b_eigenvectors: descending spectrum, eigenvector tiles", function()
    local out, rc, dir = run("ps1_1b_eigenvectors")
    assert.are.equal(0, rc, out)
    local v1, v2 = number_after(out, "\n%s+1%s+([%d.e+-]+)"), number_after(out, "\n%s+2%s+([%d.e+-]+)")
    assert.is_true(v1 > v2 and v2 > 0)
    assert_figure(dir .. "/out/ps1_1b_eigenvectors/eigenvectors.png")
  end)

  it("ps1_1c_covariance: stationary covariances, circulant eigenvectors", function()
    local out, rc, dir = run("ps1_1c_covariance")
    assert.are.equal(0, rc, out)
    assert.is_true(number_after(out, "max|lambda|%) = ([%d.e+-]+)") < 1e-10)
    assert_figure(dir .. "/out/ps1_1c_covariance/covariance.png")
  end)

  it("ps1_1d_gaussian_sgd: SGD approaches the closed form from above", function()
    local out, rc, dir = run("ps1_1d_gaussian_sgd")
    assert.are.equal(0, rc, out)
    local gap = number_after(out, "gap on test: ([%d.-]+) nats")
    assert.is_true(gap > -5 and gap < 60, out)
    assert_figure(dir .. "/out/ps1_1d_gaussian_sgd/gaussian_sgd.png")
  end)

  it("ps1_1efg_gmm: the K = 16 mixture beats the Gaussian on test patches", function()
    local out, rc, dir = run("ps1_1efg_gmm")
    assert.are.equal(0, rc, out)
    all_unchecked(out, 1)
    local gauss = number_after(out, "\n%s+G%s+%-?[%d.]+%s+(%-?[%d.]+)")
    local k16 = number_after(out, "\n%s+16%s+%-?[%d.]+%s+(%-?[%d.]+)")
    assert.is_true(k16 < gauss, out)
    assert_figure(dir .. "/out/ps1_1efg_gmm/gmm_sgd.png")
    assert.is_truthy(io.open(dir .. "/out/models/gmm_K16.ckpt"))
  end)

  it("ps1_1h_components: rankings and component views", function()
    local out, rc, dir = run("ps1_1h_components")
    assert.are.equal(0, rc, out)
    assert.is_truthy(out:find("most edge-like", 1, true))
    assert_figure(dir .. "/out/ps1_1h_components/components.png")
  end)

  it("lecture3_em_interactive: scripted clicks add points and a cluster, EM stays monotone", function()
    local out, rc, dir = run("lecture3_em_interactive")
    assert.are.equal(0, rc, out)
    local n = tonumber(out:match("EM: K = 3, (%d+) points"))
    assert.is_true(n >= 300 + 20 + 1 and n <= 300 + 20 + 3, out)      -- the clicks and the shift-click cluster
    assert.matches("decreases between M steps: 0", out)
    local a, b = out:match("log%-likelihood (%-[%d.]+) %-> (%-[%d.]+) per point")
    assert.is_true(tonumber(b) > tonumber(a), out)
    assert_figure(dir .. "/out/lecture3_em_interactive/em_interactive.png")
  end)

  it("seed004_vae_explorer: the scripted mouse decodes along the plane, two pins differ", function()
    local out, rc, dir = run("seed004_vae_explorer")
    assert.are.equal(0, rc, out)
    assert.is_true(number_after(out, "mean |difference| of the decoded digits ([%d.]+)") > 0.05, out)
    assert.are.equal(64, number_after(out, "decodes: (%d+)"))           -- the first view, 61 moves, 2 clicks
    assert_figure(dir .. "/out/seed004_vae_explorer/vae_explorer.png")
    out, rc = run("seed004_vae_explorer", "--checkpoint=" .. dir .. "/none.ckpt")
    assert.are.equal(2, rc, out)                                         -- a usage error
    assert.matches("cannot open " .. dir .. "/none.ckpt", out, 1, true)
    out, rc = run("seed004_vae_explorer", "--nz=1")
    assert.are.equal(1, rc, out)
    assert.matches("--nz must be at least 2", out, 1, true)
  end)

  it("ps1_patch_explorer: hovers reach the patch under the mouse; a larger sigma spreads the posterior", function()
    local out, rc, dir = run("ps1_patch_explorer")
    assert.are.equal(0, rc, out)
    -- the smoke crop is 64x64: hovering image pixel (5, 5) centres the 8x8 patch at (1, 1), clamped,
    -- and (16, 32) at (12, 28)
    assert.matches("patch at the top%-left corner %(row 1, column 1%)", out)
    assert.matches("patch at the upper middle %(row 12, column 28%)", out)
    for p, h in out:gmatch("p = ([%d.]+), entropy ([%d.]+) nats") do
      assert.is_true(tonumber(p) > 0 and tonumber(p) <= 1 and tonumber(h) >= 0 and tonumber(h) <= math.log(8) + 1e-9, out)
    end
    local n25, d25 = out:match("sigma = 25/255: noisy ([%d.]+) dB, EPLL ([%d.]+) dB")
    local n50, d50 = out:match("sigma = 50/255: noisy ([%d.]+) dB, EPLL ([%d.]+) dB")
    assert.is_true(tonumber(d25) > tonumber(n25) and tonumber(d50) > tonumber(n50), out)   -- EPLL helps
    assert.is_true(tonumber(n50) < tonumber(n25) - 5, out)      -- twice the noise: 6 dB less
    assert_figure(dir .. "/out/ps1_patch_explorer/patch_explorer.png")
  end)

  it("seed004_rbm_chains: a click follows tile 10; hot chains are less decided than cold ones", function()
    local out, rc, dir = run("seed004_rbm_chains")
    assert.are.equal(0, rc, out)
    assert.matches("followed chain 10: 16 frames in its trail", out)
    local cold = number_after(out, "T = 1%.0: mean free energy [%-%d.]+, pixels decided ([%d.]+)")
    local hot = number_after(out, "T = 3%.0: mean free energy [%-%d.]+, pixels decided ([%d.]+)")
    assert.is_true(hot < cold, out)                  -- p(v | h) nearer 1/2 when the energies are divided by 3
    assert_figure(dir .. "/out/seed004_rbm_chains/rbm_chains.png")
    assert_figure(dir .. "/out/seed004_rbm_chains/rbm_chains_T1.png")
  end)

  it("lecture3_em: EM is monotone and lands near the true mixture", function()
    local out, rc, dir = run("lecture3_em")
    assert.are.equal(0, rc, out)
    all_unchecked(out, 1)
    local first, last, true_ll = out:match("log%-likelihood (%-?[%d.]+) %-> (%-?[%d.]+) per point %(true mixture (%-?[%d.]+)%)")
    assert.is_true(tonumber(last) > tonumber(first))
    assert.is_true(math.abs(tonumber(last) - tonumber(true_ll)) < 0.1)
    assert.is_true(number_after(out, "largest decrease between iterations: ([%d.e+-]+)") < 1e-9)
    assert_figure(dir .. "/out/lecture3_em/em.png")
  end)

  it("ps1_2_denoise: the mixture prior beats one Gaussian, patch by patch and on the photo", function()
    local out, rc, dir = run("ps1_2_denoise")
    assert.are.equal(0, rc, out)
    all_unchecked(out, 1)
    local function mse(pattern) return number_after(out, "\n%s+" .. pattern .. "%s+([%d.]+)") end
    -- for one Gaussian the MAP estimate (GD at lambda = 2 sigma^2) is EPLL's Wiener step
    assert.is_true(math.abs(mse("1 GD%s+0%.0192") - mse("1 EPLL step")) <= 0.002, out)
    assert.is_true(mse("64 EPLL step") < mse("1 EPLL step"), out)
    local p1, p64 = mse("1 EPLL%s+%d+"), mse("64 EPLL%s+%d+")
    assert.is_true(p64 > p1 and p64 > 23, out)           -- noisy: 20.2 dB
    assert_figure(dir .. "/out/ps1_2_denoise/denoise.png")
  end)

  it("ps1_2_denoise --paper: EPLL alone, beside scikit-image's denoisers on one image", function()
    local out, rc, dir = run("ps1_2_denoise", "--paper")
    assert.are.equal(0, rc, out)
    all_unchecked(out, 2)
    assert.is_nil(out:find("(a)", 1, true), out)                    -- no patch part, no GD
    assert.is_nil(out:find("GD lambda", 1, true), out)
    assert.is_truthy(out:find("first on a random 2000 of them", 1, true), out)
    -- the fixture's entry for the 64x64 crop (tests/fixtures/denoise/skimage_baselines.json)
    assert.is_truthy(out:find("(c) against scikit-image 0.19.3", 1, true), out)
    local tv, nlm = number_after(out, "\n  TV %(weight [%d.]+%)%s+([%d.]+)"),
                    number_after(out, "\n  NL%-means %(h [^)]+%)%s+([%d.]+)")
    assert.is_true(tv > 23 and tv < 25 and nlm > 23 and nlm < 25, out)
    local epll, over = out:match("\n  EPLL, K = 16%s+([%d.]+)%s+[%d.]+%s+([-+][%d.]+) dB over")
    assert.is_true(math.abs(tonumber(epll) - math.max(tv, nlm) - tonumber(over)) < 0.011, out)
    assert_figure(dir .. "/out/ps1_2_denoise/denoise.png")
  end)

  it("ps1_3_checks: every derivation holds within its tolerance", function()
    local out, rc, dir = run("ps1_3_checks")
    assert.are.equal(0, rc, out)
    local oks = select(2, out:gsub("  ok\n", ""))
    assert.are.equal(6, oks, out)
    assert.matches("all %d+ checks pass", out)
    assert_figure(dir .. "/out/ps1_3_checks/checks.png")
  end)

  it("seed002_1_autoregression: CPT samples pass chi-square, the LSTM stays above H(p)", function()
    local out, rc, dir = run("seed002_1_autoregression")
    assert.are.equal(0, rc, out)
    all_unchecked(out, 1)
    assert.is_true(number_after(out, "p%-value ([%d.]+)") > 0.001, out)
    assert.are.equal(0, number_after(out, "outside the 23 pictures: (%d+) samples"))
    assert.are.equal(12961, number_after(out, "(%d+) parameters"))
    assert.are.equal(67108862, number_after(out, "against (%d+) CPT entries"))
    local floor = number_after(out, "H%(p%) = ([%d.]+) nats per image")
    assert.is_true(math.abs(floor - 3.0671) < 1e-4, out)
    local first, last = out:match("loss ([%d.]+) %-> ([%d.]+) nats per image")
    assert.is_true(tonumber(last) < tonumber(first) and tonumber(last) > floor, out)
    assert.is_true(number_after(out, "KL%(p || q_LSTM%) = ([%d.]+)") > 0)
    assert_figure(dir .. "/out/seed002_1_autoregression/autoregression.png")
    assert.is_truthy(io.open(dir .. "/out/models/autoreg_lstm.pt"))
  end)

  it("seed002_1_autoregression --cpts: the file's own p drives the test, the LSTM's data and H(p)", function()
    -- tests/fixtures/autoreg/three.pkl.gz: the course's layout, three pictures at 1/3 each
    local out, rc = run("seed002_1_autoregression", "--cpts=" .. root .. "/tests/fixtures/autoreg/three.pkl.gz")
    assert.are.equal(0, rc, out)
    assert.is_truthy(out:find("p puts its mass on 3 images", 1, true), out)
    assert.is_true(math.abs(number_after(out, "H%(p%) = ([%d.]+) nats per image") - math.log(3)) < 1e-4, out)
    assert.is_true(number_after(out, "p%-value ([%d.]+)") > 0.001, out)
    assert.is_truthy(out:find("frequencies agree with the CPTs' p(x)", 1, true), out)
    assert.are.equal(0, number_after(out, "outside the 3 images of p's support: (%d+) samples"))
    assert.is_true(number_after(out, "total variation ([%d.]+)") < 0.02, out)
    assert.is_truthy(out:find("trained on the 3 images of p's support", 1, true), out)
    local first, last = out:match("loss ([%d.]+) %-> ([%d.]+) nats per image")
    assert.is_true(tonumber(last) < tonumber(first) / 4 and tonumber(last) > math.log(3), out)
    -- --smoke's 400 steps leave the LSTM part-trained (about 3 in 4 of its samples are one
    -- of the pictures; 1,200 steps reach 95%, autoreg_spec): check that it is well on the way
    assert.is_true(number_after(out, "([%d.]+)%% of 1000 LSTM samples are exactly one of the 3 images") > 50, out)
    local bad = root .. "/tests/fixtures/autoreg/bad_shape.pkl"
    out, rc = run("seed002_1_autoregression", "--cpts=" .. bad)
    assert.are_not.equal(0, rc)
    assert.is_truthy(out:find(bad .. ": CPT 3 has shape 2x2, expected 2x2x2", 1, true), out)
  end)

  it("seed002_2_ppca: sigma^2 per d, the latent N(0, I), MSE falling with d, four figures", function()
    local out, rc, dir = run("seed002_2_ppca")
    assert.are.equal(0, rc, out)
    local s16 = number_after(out, "\n%s+16%s+([%d.]+)")
    assert.is_true(math.abs(s16 - 0.00803) < 2e-5, out)                 -- the mean of 560 eigenvalues
    local c1, c2 = out:match("Cov E%[z|x%] %+ sigma%^2 M%^%-1 = diag%(([%d.]+), ([%d.]+)%)")
    assert.is_true(math.abs(tonumber(c1) - 1) < 1e-3 and math.abs(tonumber(c2) - 1) < 1e-3, out)
    local m16 = number_after(out, "\n%s+16%s+([%d.]+)%s+[%d.]+\n")
    local m32 = number_after(out, "\n%s+32%s+([%d.]+)%s+[%d.]+\n")
    local m64 = number_after(out, "\n%s+64%s+([%d.]+)%s+[%d.]+\n")
    assert.is_true(m16 > m32 and m32 > m64 and m64 > 0, out)
    assert.is_true(number_after(out, "%+%-0.05%s+largest pixel change ([%d.]+)") < 0.02, out)
    assert.is_true(number_after(out, "%+%-3%s+largest pixel change ([%d.]+)") > 0.2, out)
    for _, f in ipairs{"ppca_latent", "ppca_reconstructions", "ppca_samples", "ppca_perturb"} do
      assert_figure(dir .. "/out/seed002_2_ppca/" .. f .. ".png")
    end
    -- the course's eigenfaces.npy as (N, 24, 24) gives the same fit
    local path = dir .. "/eigenfaces.npy"
    G.data.write_npy(path, G.data.faces{dtype = "float64"}:reshape(100, 24, 24))
    local again = run("seed002_2_ppca", "--faces=" .. path)
    assert.are.equal(s16, number_after(again, "\n%s+16%s+([%d.]+)"), again)
  end)

  it("seed002_3_graphs: the gradient checks, L rises, (a, b) near the truth with SEs, five graphs", function()
    local out, rc, dir = run("seed002_3_graphs", "--save-graphs=g.npz")
    assert.are.equal(0, rc, out)
    assert.is_true(number_after(out, "largest relative difference ([%d.e+-]+)") < 1e-7, out)
    assert.is_truthy(out:find("L never decreased: true", 1, true), out)
    local a, se_a, b, se_b = out:match("final a = ([%d.-]+) %+%- ([%d.]+), b = ([%d.-]+) %+%- ([%d.]+)")
    a, se_a, b, se_b = tonumber(a), tonumber(se_a), tonumber(b), tonumber(se_b)
    assert.is_true(math.abs(a - 4) < 3 * se_a and math.abs(b + 1) < 3 * se_b, out)
    assert.are.equal(5, select(2, out:gsub("classroom %d: %d+ friendships", "")))
    assert.is_truthy(io.open(dir .. "/g.npz"))
    assert_figure(dir .. "/out/seed002_3_graphs/graphs.png")
    assert_figure(dir .. "/out/seed002_3_graphs/graphs_ascent.png")
    local again = run("seed002_3_graphs", "--graphs=" .. dir .. "/g.npz --iters=50")
    assert.is_truthy(again:find("100 classrooms of 15 students with 3 features", 1, true), again)
  end)

  it("seed002_4_linear_gaussian: closed form, autodiff ascent and least squares agree to 1e-8", function()
    local out, rc, dir = run("seed002_4_linear_gaussian")
    assert.are.equal(0, rc, out)
    assert.is_true(number_after(out, "largest difference ([%d.e+-]+)") < 1e-8, out)
    assert_figure(dir .. "/out/seed002_4_linear_gaussian/linear_gaussian.png")
  end)

  it("notebooks-lua/autoregression_ppca_graphs runs as a plain script", function()
    local out, rc, dir = run("notebooks-lua/autoregression_ppca_graphs")
    assert.are.equal(0, rc, out)
    assert.is_true(number_after(out, "p%-value ([%d.]+)") > 0.001, out)
    assert.is_truthy(out:find("12961 parameters", 1, true), out)
    assert_figure(dir .. "/out/seed002_1_autoregression/autoregression.png")
    -- problems 2 to 4 also run their exercises (C.exercise) and print the numbers the answers quote
    assert.is_truthy(out:find("\nCov E[z|x] + sigma^2 M^-1 = diag(1.0000, 1.0000); 86 faces within 2 sigma", 1, true), out)
    assert.is_truthy(out:find("best held-out d = 16", 1, true), out)
    local a, se_a = out:match("\na = ([%d.]+) %+%- ([%d.]+), b =")
    assert.is_true(math.abs(tonumber(a) - 4) < 3 * tonumber(se_a), out)
    assert.is_true(number_after(out, "largest difference between the methods ([%d.e+-]+)") < 1e-8, out)
    for _, f in ipairs{"seed002_2_ppca/ppca_latent", "seed002_2_ppca/ppca_samples", "seed002_3_graphs/graphs",
                       "seed002_4_linear_gaussian/linear_gaussian"} do
      assert_figure(dir .. "/out/" .. f .. ".png")
    end
  end)

  -- The seed 004 derivations: each script prints its checks against independent references
  -- (enumeration, closed forms, autodiff, the exact posterior) and fails if one does not hold.
  local function derivation(name, n_checks, figure)
    local out, rc, dir = run(name)
    assert.are.equal(0, rc, out)
    assert.are.equal(n_checks, select(2, out:gsub("  ok\n", "")), out)
    assert.matches("all " .. n_checks .. " checks pass", out)
    assert_figure(dir .. "/out/" .. name .. "/" .. figure .. ".png")
    return out
  end

  it("seed004_1_mean_field: the ELBO bound, its KL gap, a synchronous 2-cycle, sequential ascent", function()
    local out = derivation("seed004_1_mean_field", 9, "mean_field")
    local a1, a2, b1, b2 = out:match("the 2%-cycle %(([%d.]+), ([%d.]+)%) <%-> %(([%d.]+), ([%d.]+)%)")
    assert.is_true(math.abs(tonumber(a1) - tonumber(b1)) > 0.9 and a1 == a2 and b1 == b2, out)
  end)

  it("seed004_2_estimators: variances d, Omega(d^3) and with a baseline d^2 against closed forms", function()
    derivation("seed004_2_estimators", 10, "estimators")
  end)

  it("seed004_3_blr: MFVI reaches the exact posterior mean with variances 1 / Lambda_jj", function()
    local out = derivation("seed004_3_blr", 9, "blr")
    local kl = tonumber(out:match("KL%(q || exact posterior%) = ([%d.]+) nats"))
    assert.is_true(kl > 0, out)                          -- correlated inputs: q cannot be exact
  end)

  it("seed004_ec1_noisy_inputs: the convolved density against a histogram, the density at 0", function()
    derivation("seed004_ec1_noisy_inputs", 6, "noisy_inputs")
  end)

  it("seed004_4_vae: both VAEs train, the table adds up, the checkpoints are the reported N_z's", function()
    local out, rc, dir = run("seed004_4_vae")
    assert.are.equal(0, rc, out)
    all_unchecked(out, 6)
    for _, kind in ipairs{"MLP", "CNN"} do
      local tbl = out:match("%(" .. kind .. "%): test set.-\n(.-)  effect")
      assert.is_truthy(tbl, out)
      local n = 0
      for nz, r, e, kl in tbl:gmatch("\n%s+(%d+)%s+([%d.]+)%s+([%d.]+)%s+([%d.]+)") do
        n = n + 1
        assert.is_true(math.abs(tonumber(r) + tonumber(kl) - tonumber(e)) < 0.0021, tbl)  -- -ELBO = rec + KL
        assert.is_true(tonumber(kl) > 0 and tonumber(r) < 200 and tonumber(r) > 10, tbl)
      end
      assert.are.equal(2, n, tbl)
    end
    -- the training loss falls from epoch 1 to 2 for every model
    local e1 = {}
    for nz, ep, l in out:gmatch("N_z =%s+(%d+)%s+epoch%s+(%d+): train %-ELBO%s+([%d.]+)") do
      if ep == "1" then e1[#e1 + 1] = tonumber(l) else assert.is_true(tonumber(l) < table.remove(e1, 1), out) end
    end
    assert.is_truthy(out:find("%s788788\n") and out:find("%s2621\n"), "parameter counts: " .. out)  -- N_z = 2
    assert_figure(dir .. "/out/seed004_4_vae/vae_mlp.png")
    assert_figure(dir .. "/out/seed004_4_vae/vae_cnn.png")
    local hand = dir .. "/out/seed004_4_vae/"
    local manifest = G.handin.manifest(hand)
    for _, file in ipairs{"model_vae", "model_vae2"} do
      local nz = out:match("out/seed004_4_vae/" .. file .. "_seed2025%.pt = N_z (%d+)")
      local graded = G.load_pt(hand .. file .. "_seed2025.pt")
      local same = G.load_pt(hand .. file .. "_nz" .. nz .. "_seed2025.pt")
      local first = file == "model_vae" and "dec.0.weight" or "fc.weight"       -- (., N_z)
      assert.are.equal(0, (graded[first] - same[first]):abs():max():item())
      assert.are.equal(tonumber(nz), graded[first].shape[2])
      assert.is_truthy(G.load(hand .. file .. "_nz" .. nz .. "_seed2025.ckpt")["enc.0.bias"])
      -- the manifest names the rule and its value, as the table printed it
      local entry = manifest.files[file .. "_seed2025.pt"]
      assert.are.equal("the lowest test reconstruction loss", entry.rule)
      assert.are.equal("smoke", entry.config)
      assert.are.equal(2025, entry.seed)
      assert.matches(("%.3f"):format(entry.value):gsub("%.", "%%."), out)
      assert.are.equal(64, #entry.sha256)
    end
  end)

  it("seed004_4_rbm: CD-1/5/25 train, the table adds up, the graded checkpoint is the named k's", function()
    local out, rc, dir = run("seed004_4_rbm")
    assert.are.equal(0, rc, out)
    all_unchecked(out, 7)
    local tbl = assert(out:match("RBM: test set %(1000 images%).-\n(.-)  effect of k"), out)
    local rows = {}
    for k, fte, ftr, lz, se, ll in tbl:gmatch("\n%s+(%d+)%s+(%-?[%d.]+)%s+(%-?[%d.]+)%s+([%d.]+) %+%- ([%d.]+)%s+(%-?[%d.]+) %+%-") do
      rows[#rows + 1] = {k = tonumber(k), fte = tonumber(fte), lz = tonumber(lz), ll = tonumber(ll)}
      assert.is_true(math.abs(tonumber(ll) + tonumber(fte) + tonumber(lz)) < 0.0021, tbl)   -- log p = -F - log Z
      assert.is_true(tonumber(ll) < 0 and tonumber(ll) > -784 * math.log(2), tbl)      -- beats uniform pixels
    end
    assert.are.equal(3, #rows, tbl)
    -- the reconstruction error falls from epoch 1 to 2 for every k
    local e1 = {}
    for k, ep, r in out:gmatch("CD%-(%d+)%s+epoch%s+(%d+): free energy train%s+%-?[%d.]+%s+test%s+%-?[%d.]+%s+reconstruction%s+([%d.]+)") do
      if ep == "1" then e1[k] = tonumber(r) else assert.is_true(tonumber(r) < e1[k], out) end
    end
    assert.is_truthy(e1["25"], out)
    -- the checkpoint to hand in is the named k's, and gives the table's test free energy
    local k = assert(tonumber(out:match("out/seed004_4_rbm/model_rbm_seed2025%.pt = CD%-(%d+)")), out)
    local graded = G.load_pt(dir .. "/out/seed004_4_rbm/model_rbm_seed2025.pt")
    local same = G.load_pt(dir .. "/out/seed004_4_rbm/model_rbm_k" .. k .. "_seed2025.pt")
    local entry = G.handin.manifest(dir .. "/out/seed004_4_rbm").files["model_rbm_seed2025.pt"]
    assert.are.equal("CD-" .. k, entry.note)
    assert.matches("lowest mean test free energy", entry.rule)
    assert.are.equal(0, (graded.W - same.W):abs():max():item())
    local rbm = G.models.RBM(784, 128):load_state_dict(graded)
    local Xte = G.data.mnist{flat = true, binarize = true, split = "test", limit = 1000}
    for _, r in ipairs(rows) do
      if r.k == k then
        assert.is_true(math.abs(rbm:free_energy(Xte):mean():item() - r.fte) < 1e-3, tbl)
        for _, q in ipairs(rows) do assert.is_true(r.fte <= q.fte, tbl) end           -- the lowest
      end
    end
    assert_figure(dir .. "/out/seed004_4_rbm/rbm.png")
  end)

  it("notebooks-lua/variational_rbm_vae runs as a plain script", function()
    local out, rc, dir = run("notebooks-lua/variational_rbm_vae")
    assert.are.equal(0, rc, out)
    assert.matches("all 9 checks pass", out)                   -- problem 1 (2, 3 and EC-1 have specs above)
    local n = 0
    local vae = assert(out:match("\nVAE1 .*$"), out)                -- problem 4's tables
    for nz, r, e, kl in vae:gmatch("\n%s+(%d+)%s+([%d.]+)%s+([%d.]+)%s+([%d.]+)%s+[%d.]+") do
      n = n + 1
      assert.is_true(math.abs(tonumber(r) + tonumber(kl) - tonumber(e)) < 0.0021, out)
    end
    assert.are.equal(4, n, out)                                 -- 2 models x 2 latent sizes
    assert.is_truthy(out:find("effect of N_z: from N_z = 2 to 20", 1, true), out)
    all_unchecked(out, 13)                                     -- the RBM's 7 and the VAEs' 6, gathered at the end
    assert_figure(dir .. "/out/seed004_4_vae/vae_mlp.png")              -- the exercise's own figures
    assert_figure(dir .. "/out/seed004_4_vae/vae_cnn.png")
    assert_figure(dir .. "/out/seed004_4_rbm/rbm.png")
    assert.is_truthy(io.open(dir .. "/out/seed004_4_vae/model_vae2_seed2025.pt"))
    assert.is_truthy(io.open(dir .. "/out/seed004_4_rbm/model_rbm_seed2025.pt"))
  end)

  it("a quality floor not met fails a default run at its end; --smoke prints it unchecked", function()
    local out, rc = run("tests/notebooks/floor_script", nil, "")
    out = "\n" .. out
    assert.are.equal(1, rc, out)
    assert.is_truthy(out:find("\nfloor: the answer 2 <= 1: NOT MET\n", 1, true), out)
    assert.is_truthy(out:find("\nfloor: the other answer 0.5 <= 1: ok\n", 1, true), out)
    assert.is_truthy(out:find("the script ran to its end", 1, true), out)
    assert.is_truthy(out:find("quality floors (default configuration): 1 met, 1 not met\nFLOOR NOT MET:\n" ..
                              "  floor: the answer 2 <= 1: NOT MET\n", 1, true), out)
    out, rc = run("tests/notebooks/floor_script", "--bound=3", "")
    assert.are.equal(0, rc, out)
    assert.is_truthy(out:find("quality floors (default configuration): 2 met, 0 not met", 1, true), out)
    out, rc = run("tests/notebooks/floor_script", nil, "--full")
    assert.are.equal(1, rc, out)
    assert.is_truthy(out:find("quality floors (full configuration): 1 met, 1 not met", 1, true), out)
    out, rc = run("tests/notebooks/floor_script")
    assert.are.equal(0, rc, out)
    all_unchecked(out, 2)
    -- run by a notebook (run as a script), the exercise reports and goes on; the notebook's end fails
    out, rc = run("tests/notebooks/floors", nil, "")
    assert.are.equal(1, rc, out)
    assert.is_truthy(out:find("the notebook went on after the exercise: answer 2", 1, true), out)
    assert.is_truthy(out:find("FLOOR NOT MET:\n  floor: the answer 2 <= 1: NOT MET\n", 1, true), out)
    assert.are.equal(1, select(2, out:gsub("FLOOR NOT MET:", "")), out)
  end)

  it("--help shows the three configurations' values; --smoke and --full exclude each other", function()
    local out, rc = run("seed004_4_vae", "--help", "")
    assert.are.equal(0, rc, out)
    assert.is_truthy(out:find("Options (--smoke / default / --full):", 1, true), out)
    assert.is_truthy(out:find("\n  --train=3000 / 60000 / 60000\n", 1, true), out)
    out, rc = run("seed004_4_vae", "--full")
    assert.are.equal(2, rc, out)
    assert.is_truthy(out:find("--smoke and --full cannot be given together", 1, true), out)
  end)

  it("reject a value of the wrong form before any work, naming the option and the form", function()
    local cases = {
      {"ps1_2_denoise", "--size=abc", "--size=abc: expected an integer"},
      {"ps1_2_denoise", "--size", "unknown argument '--size'"},   -- bare: true/false options
      {"ps1_1efg_gmm", "--Ks=1,x", "--Ks=1,x: expected a list of numbers such as 1,4,16"},
      {"ps1_1efg_gmm", "--method=newton", "--method=newton: expected one of sgd, em"},
      {"ps1_1d_gaussian_sgd", "--lr=fast", "--lr=fast: expected a number"},
    }
    for _, c in ipairs(cases) do
      local out, rc = run(c[1], c[2])
      assert.are.equal(2, rc, out)
      assert.is_truthy(out:find(c[3], 1, true), out)
      assert.is_nil(out:find("\n.", 1), "one line only: " .. out)
    end
  end)

  it("reject an unknown option with a pointer to --help", function()
    local out, rc = run("ps1_1a_gaussian", "--epochs=3")
    assert.are.equal(2, rc)
    assert.is_truthy(out:find("unknown argument '--epochs=3' (try --help)", 1, true))
    -- a count that every configuration keeps positive must be one (a seed may be 0)
    out, rc = run("seed004_4_vae", "--epochs=0")
    assert.are.equal(2, rc, out)
    assert.is_truthy(out:find("--epochs=0: expected positive integers (the configurations use 2 / 2 / 30)", 1, true), out)
    out, rc = run("seed004_4_vae", "--nz=2.5")
    assert.are.equal(2, rc, out)
    assert.is_truthy(out:find("--nz=2.5: expected positive integers", 1, true), out)
    out, rc = run("ps1_1a_gaussian", "--seed=0")
    assert.are.equal(0, rc, out)
    -- an explorer given a file that is not its model says so in one line
    local other = H.tmpname(".pt")
    G.save_pt(other, {x = G.ones(3)})
    out, rc = run("seed004_rbm_chains", "--checkpoint=" .. other)
    assert.are.equal(2, rc, out)
    assert.is_truthy(out:find(other .. " is not an RBM of MNIST's 784 pixels", 1, true), out)
    out, rc = run("seed004_vae_explorer", "--checkpoint=" .. other)
    assert.are.equal(2, rc, out)
    assert.is_truthy(out:find(other .. " is not a VAE1 of N_z = 2", 1, true), out)
    os.remove(other)
    out, rc = run("demo", "--smoke")
    assert.are.equal(2, rc, out)
    assert.is_truthy(out:find("unknown argument '--smoke' (it takes none; try --help)", 1, true), out)
  end)
end)
