-- genlab.handin: the hand-in folder and its manifest.json; a smaller run
-- never overwrites a larger one's files; sha256 checked by Python's hashlib.
local G = require "genlab"
local H = dofile("tests/lua/helpers.lua")
local HI = G.handin

local tmpdir, slurp = H.tmpdir, H.slurp

local function writer(text) return function(p) local f = assert(io.open(p, "wb")); f:write(text); f:close() end end

describe("handin", function()
  it("records each file with its configuration, seed, commit, date, sha256 and the rule that chose it", function()
    local dir = tmpdir()
    local path = HI.save(dir, "model.pt", writer("weights v1"), {config = "default", seed = 7, rule = "lowest loss",
                                                                  metric = "loss", value = 1.25})
    assert.are.equal(dir .. "/model.pt", path)
    assert.are.equal("weights v1", slurp(path))
    local e = HI.manifest(dir).files["model.pt"]
    assert.are.same({"default", 7, "lowest loss", "loss", 1.25, G.commit},
                    {e.config, e.seed, e.rule, e.metric, e.value, e.commit})
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$", e.date)
    local py, rc = H.sh("/usr/bin/python3 -c \"import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())\" " .. path)
    assert.are.equal(0, rc, py)
    assert.are.equal(py:gsub("%s+$", ""), e.sha256)
    os.execute("rm -rf " .. dir)
  end)

  it("keeps a --full run's file from a default run, which writes <stem>.default.<ext> and says so", function()
    local dir = tmpdir()
    HI.save(dir, "model_vae_seed2025.pt", writer("an hour of training"), {config = "full", value = 30.1})
    local log = H.tmpname()
    local err = io.stderr
    io.stderr = assert(io.open(log, "w"))
    local path = HI.save(dir, "model_vae_seed2025.pt", writer("two minutes"), {config = "default", value = 38.1})
    io.stderr:close()
    io.stderr = err
    assert.are.equal(dir .. "/model_vae_seed2025.default.pt", path)
    assert.are.equal("an hour of training", slurp(dir .. "/model_vae_seed2025.pt"))
    assert.are.equal("two minutes", slurp(path))
    assert.matches("kept .*model_vae_seed2025%.pt from the %-%-full run of .*; this default run's file is .*%.default%.pt",
                   slurp(log))
    local files = HI.manifest(dir).files
    assert.are.equal("full", files["model_vae_seed2025.pt"].config)
    assert.are.equal("default", files["model_vae_seed2025.default.pt"].config)
    -- a smoke run yields to both; a later --full run replaces its own file
    assert.are.equal(dir .. "/model_vae_seed2025.smoke.pt",
                     HI.save(dir, "model_vae_seed2025.pt", writer("s"), {config = "smoke"}))
    assert.are.equal(dir .. "/model_vae_seed2025.pt",
                     HI.save(dir, "model_vae_seed2025.pt", writer("again"), {config = "full"}))
    assert.are.equal("again", slurp(dir .. "/model_vae_seed2025.pt"))
    os.execute("rm -rf " .. dir)
  end)

  it("writes its manifest and results as genlab's writers do, never through a planted symlink", function()
    local dir = tmpdir()
    local victim = dir .. "/victim"
    writer("precious")(victim)
    for _, tmp in ipairs{"manifest.json.part", "manifest.json.tmp", "results.json.part", "results.json.tmp"} do
      assert(os.execute(("ln -s %s %s/%s"):format(victim, dir, tmp)))
    end
    HI.save_results(dir, "results.json", {loss = 1.5}, {config = "smoke", seed = 1})
    assert.are.equal("precious", slurp(victim))
    assert.are.equal(1.5, HI.results({dir}, "results.json", "smoke").results.loss)
    assert.are.equal("results.json", next(HI.manifest(dir).files))
    local ls = io.popen("ls -A " .. dir):read("a")
    assert.are.equal("manifest.json\nmanifest.json.part\nmanifest.json.tmp\nresults.json\nresults.json.part\n"
                     .. "results.json.tmp\nvictim\n", ls)
    os.execute("rm -rf " .. dir)
  end)

  it("uses the rendering notebook's folder for the scripts it runs, and out/<name> otherwise", function()
    assert.are.equal("out/some_script", HI.folder("some_script"))
    os.execute("rmdir out/some_script")
    local dir = tmpdir()
    HI.current = dir
    assert.are.equal(dir, HI.folder("some_script"))
    HI.current = nil
    os.execute("rm -rf " .. dir)
  end)

  it("names a damaged manifest and a wrong configuration", function()
    local dir = tmpdir()
    writer("{not json")(dir .. "/manifest.json")
    assert.matches("manifest%.json is not JSON", H.err(HI.manifest, dir))
    writer('{"other": 1}')(dir .. "/manifest.json")
    assert.matches("manifest%.json is damaged %(no files table%); mend or remove it", H.err(HI.manifest, dir))
    -- a script's folder() reads it at once, before the run's work
    HI.current = dir
    assert.matches("manifest%.json is damaged", H.err(HI.folder, "x"))
    HI.current = nil
    os.remove(dir .. "/manifest.json")
    assert.matches("config must be smoke, default or full", H.err(HI.save, dir, "x", writer(""), {config = "long"}))
    os.execute("rm -rf " .. dir)
  end)

  it("maps a script's options to its configuration", function()
    assert.are.equal("full", HI.config{full = true})
    assert.are.equal("smoke", HI.config{smoke = true})
    assert.are.equal("default", HI.config{})
  end)
end)
