-- Interchange with Python: pickles, .npz and PyTorch checkpoints made by
-- the real tools (tests/fixtures/interchange/make_fixtures.py: numpy 1.24,
-- torch 1.13) are read and compared exactly with .npy references that numpy
-- wrote; files that genlab writes are read back by genlab, by a stdlib-only
-- Python reader (check_pt.py) and, where python3-torch is installed, by
-- torch.load + load_state_dict(strict=True).
local G = require "genlab"
local D = G.data
local H = dofile("tests/lua/helpers.lua")
local nn = G.nn

local DIR = "tests/fixtures/interchange/"
local function ref(name) return D.read_npy(DIR .. name .. ".npy") end

-- Same shape and exactly the same values (compared in float64).
local function same(a, b, what)
  assert.is_true(G.is_tensor(a), (what or "value") .. " is not a tensor")
  assert.are.same(b.shape, a.shape, what)
  if a:numel() > 0 then
    assert.are.equal(0, (a:double() - b:double()):abs():max():item(), what)
  end
end

local function tmpname(ext)
  local p = H.tmpname()
  os.remove(p)
  return p .. ext
end

local function have(cmd) return select(2, H.sh(cmd .. " >/dev/null")) == 0 end
local PY = (have("/usr/bin/python3 -c 'import zipfile'") and "/usr/bin/python3") or (have("python3 -c 'import zipfile'") and "python3")
local TORCH = have("/usr/bin/python3 -c 'import torch'") and "/usr/bin/python3"

describe("read_pickle", function()
  for p = 2, 5 do
    describe("protocol " .. p, function()
      local v = D.read_pickle(DIR .. "values_p" .. p .. ".pkl")
      it("maps Python's scalars", function()
        assert.are.equal(D.None, v.none)
        assert.are.equal("None", tostring(v.none))
        assert.is_true(v.t)
        assert.is_false(v.f)
        assert.are.equal(7, v.int_small)
        assert.are.equal(-300, v.int_neg)
        assert.are.equal(70000, v.int_mid)
        assert.are.equal(2 ^ 40 + 3, v.int_big)
        assert.are.equal(-(2 ^ 50), v.int_neg_big)
        assert.are.equal(2 ^ 53, v.int_limit)
        assert.are.equal(0.1, v.float)
        assert.are.equal(-2.5e-300, v.float_neg)
        assert.are.equal("h\u{e9}llo \u{2713}", v.str)
        assert.are.equal("", v.empty_str)
        assert.are.equal("\0\1\255abc", v.bytes)
        assert.are.equal("", v.empty_bytes)
        assert.are.equal(2.5, v.np_f64)
        assert.are.equal(12, v.np_i64)
        assert.are.equal(0.25, v.np_f32)
      end)
      it("maps containers, keeps non-string keys and shared objects", function()
        assert.are.same({1, 2.5, "x", {3, {4}}}, v.list)
        assert.are.same({1, {2, 3}}, v.tuple)
        assert.are.same({}, v.empty_list)
        assert.are.same({}, v.empty_tuple)
        assert.are.same({[1] = "one", [2] = "two"}, v.int_keys)
        assert.are.equal(D.None, v.nested.a.b[2].c)
        assert.are.same({z = 1, a = 2}, v.ordered)
        assert.are.equal(v.shared[1], v.shared[2])           -- one object, memoised
        assert.are.same({1, 2}, v.shared[1])
        assert.are.equal(1500, #v.long_list)
        assert.are.equal(1499, v.long_list[1500])
      end)
      it("reads numpy arrays of every dtype exactly", function()
        local a = v.arrays
        for _, name in ipairs{"f32", "f64", "u8", "bool", "i32", "i64", "fortran", "zero_d", "empty", "sliced"} do
          same(a[name], ref("array_" .. name), name)
        end
        assert.are.equal("float32", a.f32.dtype)
        assert.are.equal("float64", a.f64.dtype)
        assert.are.equal("float64", a.u8.dtype)
        assert.are.same({}, a.zero_d.shape)
        assert.are.same({0, 3}, a.empty.shape)
        assert.are.same({1, 3}, a.fortran:stride())          -- Fortran order, viewed without a copy
      end)
    end)
  end

  it("keeps a list that contains itself", function()
    local path = tmpname(".pkl")
    local f = assert(io.open(path, "wb"))
    f:write("\x80\x02]q\x00h\x00a.")                          -- l = []; l.append(l)
    f:close()
    local l = D.read_pickle(path)
    os.remove(path)
    assert.are.equal(l, l[1])
  end)

  it("refuses unknown classes by name, or returns them as data with objects = true", function()
    local path = tmpname(".pkl")
    local f = assert(io.open(path, "wb"))
    -- Point() via NEWOBJ, state {x = 1, y = 2} via BUILD
    f:write("\x80\x02c__main__\nPoint\nq\x00)\x81q\x01}q\x02(X\x01\x00\x00\x00xK\x01X\x01\x00\x00\x00yK\x02ub.")
    f:close()
    local msg = H.err(D.read_pickle, path)
    assert.matches("__main__.Point", msg, 1, true)
    assert.matches(path, msg, 1, true)
    local p = D.read_pickle(path, {objects = true})
    os.remove(path)
    assert.are.equal("__main__.Point", p.__class)
    assert.are.same({}, p.args)
    assert.are.same({x = 1, y = 2}, p.state)
  end)

  it("never runs the code a pickle names", function()
    os.remove("/tmp/genlab-pwned")
    local msg = H.err(D.read_pickle, "tests/data/malformed/pkl_os_system.pkl")
    assert.matches("posix.system", msg, 1, true)
    local o = D.read_pickle("tests/data/malformed/pkl_os_system.pkl", {objects = true})
    assert.are.equal("posix.system", o.__class)
    assert.are.same({"touch /tmp/genlab-pwned"}, o.args)
    assert.is_nil(io.open("/tmp/genlab-pwned"))
  end)

  it("names the offending value", function()
    assert.matches("1152921504606846976 is beyond 2^53", H.err(D.read_pickle, "tests/data/malformed/pkl_big_int.pkl"))
    assert.matches("out%-of%-band", H.err(D.read_pickle, "tests/data/malformed/pkl_out_of_band.pkl"))
    assert.matches("big%-endian", H.err(D.read_pickle, "tests/data/malformed/pkl_big_endian.pkl"))
    assert.matches("a 500000000%-byte value", H.err(D.read_pickle, "tests/data/malformed/pkl_truncated_bytes.pkl"))
  end)

  it("reads a gzip file as what it compresses (image_cpts.pkl.gz), checking its CRC-32", function()
    local gz = tmpname(".pkl.gz")
    assert.are.equal(0, select(2, H.sh("gzip -9 -c " .. DIR .. "values_p4.pkl > " .. gz)))
    local v = D.read_pickle(gz)
    assert.are.equal(2 ^ 53, v.int_limit)
    assert.are.equal(1499, v.long_list[1500])
    same(v.arrays.f64, ref("array_f64"), "f64")
    local f = assert(io.open(gz, "rb"))
    local bytes = f:read("a")
    f:close()
    local function damaged(b)
      f = assert(io.open(gz, "wb"))
      f:write(b)
      f:close()
      return H.err(D.read_pickle, gz)
    end
    local n = #bytes                                      -- the trailer: CRC-32, then ISIZE
    local crc = bytes:sub(1, n - 8) .. string.char(bytes:byte(n - 7) ~ 1) .. bytes:sub(n - 6)
    assert.matches("CRC%-32 mismatch", damaged(crc))
    assert.matches(gz, damaged(bytes:sub(1, n // 2)), 1, true)
    assert.matches("cut short", damaged(bytes:sub(1, 6)))
    os.remove(gz)
  end)
end)

describe("npz", function()
  for _, kind in ipairs{"stored", "deflated"} do
    it("reads numpy's " .. kind .. " archive", function()
      local z = D.read_npz(DIR .. "arrays_" .. kind .. ".npz")
      for _, k in ipairs{"a", "b", "c", "d", "e"} do same(z[k], ref("npz_" .. k), k) end
      assert.are.equal("float32", z.a.dtype)
    end)
  end

  it("writes archives that it and Python's zipfile read back", function()
    local x = {w = G.randn(3, 4), b = G.randn(5, {dtype = "float64"}), s = G.tensor(2.5),
               t = G.randn(4, 3):t()}                         -- a non-contiguous view
    for _, compress in ipairs{false, true} do
      local path = tmpname(".npz")
      D.write_npz(path, x, {compress = compress})
      local y = D.read_npz(path)
      for k, t in pairs(x) do
        same(y[k], t, k)
        assert.are.equal(t.dtype, y[k].dtype)
      end
      if PY then                                               -- CRCs, methods and headers
        local out, rc = H.sh(PY .. [[ -c "
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
for i in z.infolist():
    assert i.compress_type == (8 if sys.argv[2] == 'true' else 0), i
    assert z.read(i).startswith(b'\x93NUMPY'), i.filename
print(' '.join(sorted(z.namelist())))" ]] .. path .. " " .. tostring(compress))
        assert.are.equal(0, rc, out)
        assert.are.equal("b.npy s.npy t.npy w.npy\n", out)
      end
      os.remove(path)
    end
  end)
end)

describe("PyTorch checkpoints", function()
  it("read what torch.save wrote: Linear, Conv2d, LSTM and Sequential state dicts", function()
    local sd = G.load_pt(DIR .. "modules.pt")
    local n = 0
    for name, t in pairs(sd) do
      same(t, ref("pt_modules_" .. name), name)
      assert.are.equal("float32", t.dtype)
      n = n + 1
    end
    assert.are.equal(16, n)
  end)

  it("load into the genlab module built the same way", function()
    local M = nn.class("M")
    function M:__init()
      self:add("fc", nn.Linear(4, 3))
      self:add("conv", nn.Conv2d(2, 3, 3, {padding = 1}))
      self:add("lstm", nn.LSTM(5, 4, {num_layers = 2}))
      self:add("seq", nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1)))
    end
    local m = M()
    m:load_state_dict(G.load_pt(DIR .. "modules.pt"))          -- strict: every name matches
    same(m.seq["2"].weight, ref("pt_modules_seq.2.weight"))
    same(m.lstm.weight_hh_l1, ref("pt_modules_lstm.weight_hh_l1"))
  end)

  it("keep views: offsets, strides and the shared storage", function()
    local v = G.load_pt(DIR .. "views.pt")
    for _, k in ipairs{"base", "view", "t", "row"} do same(v[k], ref("pt_views_" .. k), k) end
    assert.are.same({1, 6}, v.t:stride())
    assert.are.same({6, 2}, v.view:stride())
    v.base:fill_(-1)                                           -- one storage under all four
    assert.are.equal(-1, v.view:max():item())
    assert.are.equal(-1, v.row:max():item())
  end)

  it("convert integer, bool and half storages", function()
    local d = G.load_pt(DIR .. "dtypes.pt")
    for _, k in ipairs{"f64", "f32", "i64", "i32", "u8", "bool", "f16", "bf16"} do same(d[k], ref("pt_dtypes_" .. k), k) end
    assert.are.equal("float32", d.f16.dtype)
    assert.are.equal("float64", d.i64.dtype)
  end)

  it("read nested objects", function()
    local c = G.load_pt(DIR .. "nested.pt")
    assert.are.equal(3, c.epoch)
    assert.are.equal("run1", c.name)
    same(c.model.weight, ref("pt_nested_weight"))
    same(c.model.bias, ref("pt_nested_bias"))
  end)

  -- name<TAB>dtype<TAB>shape<TAB>values, as check_pt.py prints them.
  local function parse(out)
    local rows = {}
    for line in out:gmatch("[^\n]+") do
      local name, dtype, shape, values = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t?(.*)$")
      local vals = {}
      for x in values:gmatch("%S+") do vals[#vals + 1] = tonumber(x) end
      rows[#rows + 1] = {name = name, dtype = dtype, shape = shape, values = vals}
    end
    return rows
  end

  local function check_rows(rows, list)
    assert.are.equal(#list, #rows)
    for i, np in ipairs(list) do
      local t = np[2]
      assert.are.equal(np[1], rows[i].name)
      assert.are.equal(t.dtype, rows[i].dtype)
      assert.are.equal(table.concat(t.shape, ","), rows[i].shape)
      local flat = t:double():reshape(-1):totable()
      assert.are.same(flat, rows[i].values, np[1])
    end
  end

  it("write state dicts that genlab and an independent reader read back exactly", function()
    local m = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))
    local path = tmpname(".pt")
    G.save_pt(path, m)
    local back = G.load_pt(path)
    local list = m:named_parameter_list()
    for _, np in ipairs(list) do same(back[np[1]], np[2], np[1]) end
    if PY then
      local out, rc = H.sh(PY .. " " .. DIR .. "check_pt.py " .. path)
      assert.are.equal(0, rc, out)
      check_rows(parse(out), list)                             -- in the module's order
    end
    os.remove(path)
  end)

  it("write float64, scalars, views and names in natural order", function()
    local base = G.randn(4, 6, {dtype = "float64"})
    local sd = {["10.w"] = base:t(), ["9.w"] = G.tensor(1.5, {dtype = "float64"}), ["a"] = base:narrow(1, 2, 2)}
    local path = tmpname(".pt")
    G.save_pt(path, sd)
    local back = G.load_pt(path)
    for k, t in pairs(sd) do same(back[k], t, k) end
    if PY then
      local out, rc = H.sh(PY .. " " .. DIR .. "check_pt.py " .. path)
      assert.are.equal(0, rc, out)
      check_rows(parse(out), {{"9.w", sd["9.w"]}, {"10.w", sd["10.w"]}, {"a", sd.a}})
    end
    os.remove(path)
  end)

  it("load into torch modules with load_state_dict(strict=True)", function()
    if not TORCH then
      pending("skipped: python3-torch is not installed")
      return
    end
    local cases = {
      {nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2)),
       "nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))"},
      {nn.Conv2d(2, 3, 3, {padding = 1}), "nn.Conv2d(2, 3, 3, padding=1)"},
      {nn.LSTM(5, 4, {num_layers = 2}), "nn.LSTM(5, 4, num_layers=2)"},
      {nn.ConvTranspose2d(8, 8, 2, {stride = 2}), "nn.ConvTranspose2d(8, 8, 2, stride=2)"},
    }
    for _, c in ipairs(cases) do
      local path = tmpname(".pt")
      G.save_pt(path, c[1])
      local out, rc = H.sh(TORCH .. " " .. DIR .. "check_pt_torch.py " .. path .. " '" .. c[2] .. "'")
      os.remove(path)
      assert.are.equal(0, rc, out)
      check_rows(parse(out), c[1]:named_parameter_list())
    end
  end)

  it("refuse what is not a flat table of tensors", function()
    assert.matches("entry 'x' is a table", H.err(G.save_pt, tmpname(".pt"), {x = {}}))
    assert.matches("keys must be names", H.err(G.save_pt, tmpname(".pt"), {G.randn(2)}))
  end)

  it("refuse a named_parameter_list() that is not a list of {name, tensor} pairs", function()
    local says = {
      {{5}, "entry 1 is a number; expected a {name, tensor} pair"},
      {"abc", "returned a string; expected a list of {name, tensor} pairs"},
      {5, "returned a number; expected a list"},
      {nil, "returned nil; expected a list"},
      {{w = G.ones(1)}, "returned a table with the key 'w'"},
      {{{"w"}}, "entry 1 ('w'): the tensor (its [2]) is a nil"},
      {{{5, G.ones(1)}}, "entry 1: the name (its [1]) is a number"},
      {{{"w", G.ones(1)}, {"w", G.ones(2)}}, "entry 2: the name 'w' is also entry 1"},
    }
    for _, c in ipairs(says) do
      local m = {named_parameter_list = function() return c[1] end}
      for _, w in ipairs{{G.save_pt, "save_pt: ", ".pt"}, {D.write_npz, "write_npz: ", ".npz"}} do
        local path = tmpname(w[3])
        local ok, msg = pcall(w[1], path, m)
        assert.is_false(ok, w[2] .. tostring(c[1]) .. " was accepted")
        assert.matches(w[2] .. "named_parameter_list() " .. c[2], msg, 1, true)
        assert.is_nil(io.open(path), "a file was written")
      end
    end
    local path = tmpname(".npz")                       -- a module without parameters is fine
    D.write_npz(path, {named_parameter_list = function() return {} end})
    assert.are.same({}, D.read_npz(path))
    os.remove(path)
  end)
end)
