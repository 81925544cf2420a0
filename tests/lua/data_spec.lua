-- genlab.data: the malformed corpus, the data sets fetched by `make data`,
-- patches, minibatches, and the fetch script's checksum handling.
local G = require "genlab"
local D = G.data

local H = dofile("tests/lua/helpers.lua")
local err = H.err

describe("malformed files", function()
  local dir = "tests/data/malformed/"
  local p = io.popen("ls " .. dir)
  local files = {}
  for name in p:lines() do files[#files + 1] = name end
  p:close()

  it("are all present", function() assert.is_true(#files >= 58) end)
  local readers = {idx = D.read_idx, npy = D.read_npy, img = D.read_image, pkl = D.read_pickle,
                   npz = D.read_npz, pt = G.load_pt, ckpt = G.load}
  -- Files that must be stopped by our own checks before stb decodes them.
  local says = {["img_jpeg_dht_overflow.jpg"] = "more than 256 codes",
                ["img_jpeg_dht_resync.jpg"] = "more than 256 codes",
                ["img_jpeg_dht_short.jpg"] = "more than 256 codes",
                ["img_gif_refused.gif"] = "not a PNG, JPEG or BMP file",
                ["img_pnm_refused.pgm"] = "not a PNG, JPEG or BMP file",
                ["img_pic_refused.pic"] = "not a PNG, JPEG or BMP file",
                ["ckpt_bad_crc.ckpt"] = "checksum mismatch (file damaged)",
                ["idx_gzip_bad_crc.idx.gz"] = "corrupt gzip data: CRC mismatch",
                ["npy_trailing_bytes.npy"] = "8 bytes after the data of shape (2)",
                ["pkl_str_bytes_keys.pkl"] = "a dict has the keys 'a' and b'a', which are one Lua string",
                ["npz_overlap.npz"] = "members a.npy and b.npy overlap in the file",
                ["npz_local_name.npz"] = "member b.npy: its local header names another member",
                ["img_bad_crc.png"] = "damaged (the IDAT chunk at byte 33 fails its CRC-32)",
                ["img_truncated.bmp"] = "truncated (fewer pixel rows than its header declares)",
                ["npy_sizes_past_2p62.npy"] = "its sizes multiply past 2^62",
                ["npy_fortran_trueish.npy"] = "'fortran_order' is neither True nor False",
                ["npy_shape_no_comma.npy"] = "malformed 'shape' in the header",
                ["npy_descr_concat.npy"] = "malformed 'descr' in the header",
                ["npy_int64_inexact.npy"] = "integers beyond 2^53 cannot be held exactly",
                ["pkl_int64_inexact.pkl"] = "int64 values beyond 2^53 cannot be held exactly",
                ["idx_trailing_bytes.idx"] = "6 bytes after the data the header declares ((2x3x3) ubyte",
                ["idx_gzip_trailing.idx.gz"] = "6 bytes after the data the header declares",
                ["npy_duplicate_key.npy"] = "the header has the key 'shape' twice",
                ["idx_gzip_bad_length.idx.gz"] = "corrupt gzip data (incorrect length check)",
                ["idx_gzip_no_trailer.idx.gz"] = "the gzip data ends before its trailer",
                ["img_bomb_claim.png"] = "30000x30000 is 900000000 pixels, over the limit of 67108864 (max_pixels raises it)"}
  it("a directory is named as one by every loader", function()
    local d = H.tmpdir()
    for _, reader in pairs(readers) do
      assert.matches(d .. " is a directory", H.err(reader, d), 1, true)
    end
    os.execute("rm -rf " .. d)
  end)
  it("a FIFO with no writer, or a device, is refused at once, not waited on", function()
    local fifo = H.tmpname(".fifo")
    assert(os.execute("mkfifo " .. fifo))
    local all = {read_file = G.data.read_file, ipynb = G.notebook.from_ipynb, notebook = G.notebook.parse}
    for k, reader in pairs(readers) do all[k] = reader end
    for _, reader in pairs(all) do
      assert.matches(fifo .. " is a FIFO, not a file", H.err(reader, fifo), 1, true)
      assert.matches("/dev/zero is a character device, not a file", H.err(reader, "/dev/zero"), 1, true)
      assert.matches("/tmp is a directory", H.err(reader, "/tmp"), 1, true)
    end
    os.remove(fifo)
  end)
  for _, name in ipairs(files) do
    it(name .. " is rejected with a message naming it", function()
      local reader = assert(readers[name:match("^(%a+)_")], "no reader for " .. name)
      local msg = err(reader, dir .. name)
      assert.matches(name:gsub("%p", "%%%0"), msg)
      if says[name] then assert.matches(says[name], msg, 1, true) end
    end)
  end
end)

describe("write_png", function()
  it("writes pixels that a PNG decoder (stb_image) reads back exactly: gray, RGB, RGBA, odd sizes", function()
    local path = H.tmpname(".png")
    G.manual_seed(21)
    for _, shape in ipairs{{1, 1}, {7, 13}, {5, 3, 3}, {64, 33, 3}, {9, 4, 4}} do
      local img = (G.rand(table.unpack(shape)) * 255):round() / 255        -- exactly representable
      img[1][1] = 0 / 0                                                      -- NaN and out of range clamp
      D.write_png(path, img)
      local back = D.read_image(path)
      local want = img:clone()
      want[1][1] = 0
      if #shape == 3 then want = want:narrow(3, 1, 3) end                   -- read_image drops alpha
      assert.are.same(want.shape, back.shape)
      assert.is_true((back - want):abs():max():item() < 1e-6, table.concat(shape, "x"))
    end
    os.remove(path)
  end)
end)

describe("read_image", function()
  it("refuses an image over max_pixels from its header, and the option raises the limit", function()
    local path = H.tmpname(".png")
    D.write_png(path, G.rand(300, 200, 3))
    assert.are.same({300, 200, 3}, D.read_image(path).shape)            -- under the default
    assert.matches(": 200x300 is 60000 pixels, over the limit of 59999 (max_pixels raises it)",
                   H.err(D.read_image, path, {max_pixels = 59999}), 1, true)
    assert.are.same({300, 200}, D.read_image(path, {gray = true, max_pixels = 60000}).shape)
    assert.matches("option 'max_pixels': expected a positive integer, got 0",
                   H.err(D.read_image, path, {max_pixels = 0}), 1, true)
    os.remove(path)
    local bomb = "tests/data/malformed/img_bomb_claim.png"              -- claims 30000x30000
    assert.matches("over the limit of 67108864", H.err(D.read_image, bomb), 1, true)
    local msg = H.err(D.read_image, bomb, {max_pixels = 30000 * 30000})  -- past the limit: no pixels
    assert.is_truthy(msg:find("cannot decode", 1, true) or msg:find("do not fit in memory", 1, true), msg)
  end)
end)

describe("data sets", function()
  it("MNIST has the known first labels and [0, 1] pixels", function()
    local x, y = D.mnist{limit = 8}
    assert.are.same({8, 1, 28, 28}, x.shape)
    assert.are.same({5, 0, 4, 1, 9, 2, 1, 3}, y:totable())
    local xt, yt = D.mnist{split = "test", limit = 8, flat = true}
    assert.are.same({8, 784}, xt.shape)
    assert.are.same({7, 2, 1, 0, 4, 1, 4, 9}, yt:totable())
    assert.are.equal(0, x:min():item())
    assert.are.equal(1, x:max():item())
  end)
  it("refuse a limit or count that is not a positive integer", function()
    local labels = D.dir() .. "/mnist/t10k-labels-idx1-ubyte"
    for _, bad in ipairs{-1, 0, 2.5} do
      local says = "option 'limit': expected a positive integer, got " .. bad
      assert.matches(says, H.err(D.mnist, {limit = bad}), 1, true)
      assert.matches(says, H.err(D.fashion_mnist, {limit = bad}), 1, true)
      assert.matches(says, H.err(D.read_idx, labels, {limit = bad}), 1, true)
      assert.matches("option 'count': expected a positive integer, got " .. bad,
                     H.err(D.patches, G.rand(20, 20), 4, {count = bad}), 1, true)
      assert.matches("option 'downscale': expected a positive integer, got " .. bad,
                     H.err(D.photos, {downscale = bad}), 1, true)
    end
    assert.matches("got a string", H.err(D.mnist, {limit = "ten"}), 1, true)
    assert.are.equal(2, D.read_idx(labels, {limit = 2.0}):size(1))
    assert.are.same({3, 16}, D.patches(G.rand(20, 20), 4, {count = 3}).shape)
  end)
  it("binarizes at 0.5", function()
    local x = D.mnist{limit = 100, flat = true}
    local b = D.mnist{limit = 100, flat = true, binarize = true}
    assert.are.equal(0, (b - x:gt(0.5)):abs():sum():item())
    assert.are.equal(0, b:ne(0):mul(b:ne(1)):sum():item())
  end)
  it("loads all of MNIST train and Fashion-MNIST test", function()
    local x, y = D.mnist{flat = true}
    assert.are.same({60000, 784}, x.shape)
    assert.are.equal(9, y:max():item())
    local f, fy = D.fashion_mnist{split = "test"}
    assert.are.same({10000, 1, 28, 28}, f.shape)
    assert.are.same({9, 2, 1, 1, 6}, fy:narrow(1, 1, 5):totable())
  end)
  it("holds out one photo for denoising", function()
    local train, names = D.photos()
    local held, hnames = D.photos{split = "holdout"}
    assert.are.equal(7, #train)
    assert.are.same({"nagasaki-boats"}, hnames)
    for _, n in ipairs(names) do assert.are_not.equal("nagasaki-boats", n) end
    assert.are.equal(2, held[1].ndim)
    assert.is_true(held[1]:min():item() >= 0 and held[1]:max():item() <= 1)
    local half = D.photos{split = "holdout", downscale = 2}[1]
    assert.are.same({math.floor(held[1].shape[1] / 2), math.floor(held[1].shape[2] / 2)}, half.shape)
    local block = held[1]:narrow(1, 3, 2):narrow(2, 5, 2):mean():item()
    assert.is_true(math.abs(half[2][3] - block) < 1e-6)
  end)
  it("gives 100 faces of 24x24, mirrored on request", function()
    local f = D.faces()
    assert.are.same({100, 576}, f.shape)
    local m = D.faces{mirror = true}
    assert.are.same({200, 576}, m.shape)
    local face, mirrored = m[1]:view(24, 24), m[101]:view(24, 24)
    assert.are.equal(face[3][1], mirrored[3][24])
  end)
end)

describe("patches", function()
  it("repeat with a seed and cover the images", function()
    local imgs = D.photos()
    local a = D.patches(imgs, 16, {count = 50, seed = 4})
    local b = D.patches(imgs, 16, {count = 50, seed = 4})
    assert.are.same({50, 256}, a.shape)
    assert.are.equal(0, (a - b):abs():max():item())
  end)
  it("fold back exactly", function()
    local img = D.photos{split = "holdout"}[1]:narrow(1, 1, 40):narrow(2, 1, 50)
    local P = D.extract_patches(img, 16)
    assert.are.same({25 * 35, 256}, P.shape)
    assert.are.equal(0, (D.fold_patches(P, 40, 50, 16) - img):abs():max():item())
  end)
  it("fold with reduce=\"sum\" is the adjoint of extract: <E x, p> = <x, E^T p>", function()
    local gen = G.Generator(3)
    for _, stride in ipairs{1, 3} do
      local x = G.randn(13, 17, {dtype = "float64", generator = gen})
      local E = D.extract_patches(x, 5, {stride = stride})
      local p = G.randn(E.shape[1], 25, {dtype = "float64", generator = gen})
      local lhs = (E * p):sum():item()
      local rhs = (x * D.fold_patches(p, 13, 17, 5, {stride = stride, reduce = "sum"})):sum():item()
      assert.is_true(math.abs(lhs - rhs) < 1e-10 * math.abs(lhs) + 1e-10)
    end
    assert.matches("option 'reduce': expected \"mean\" or \"sum\", got \"max\"",
                   select(2, pcall(D.fold_patches, G.ones(4, 4), 3, 3, 2, {reduce = "max"})))
  end)
end)

describe("batches", function()
  it("visit every row once per epoch, in the generator's order", function()
    local X, Y = G.arange(10), G.arange(10) * 10
    local seen, n = {}, 0
    for xb, yb in D.batches({X, Y}, 4, {generator = G.Generator(1)}) do
      n = n + 1
      assert.are.equal(0, (yb - xb * 10):abs():sum():item())
      for _, v in ipairs(xb:totable()) do seen[#seen + 1] = v end
    end
    assert.are.equal(3, n)
    local again = {}
    for xb in D.batches(X, 4, {generator = G.Generator(1)}) do
      for _, v in ipairs(xb:totable()) do again[#again + 1] = v end
    end
    assert.are.same(seen, again)
    table.sort(seen)
    assert.are.same(G.arange(10):totable(), seen)
  end)
  it("drop the short last batch on request and keep order without shuffle", function()
    local n = 0
    for xb in D.batches(G.zeros(10, 3), 4, {drop_last = true}) do n = n + 1; assert.are.equal(4, xb:size(1)) end
    assert.are.equal(2, n)
    local first = D.batches(G.arange(6), 4, {shuffle = false})()
    assert.are.same({0, 1, 2, 3}, first:totable())
    assert.matches("tensor 2 has 3 rows", err(D.batches, {G.zeros(4), G.zeros(3)}, 2))
  end)
end)

describe("writers", function()
  local sh, slurp = H.sh, H.slurp
  local function ls(d)
    local out = {}
    for name in io.popen("ls -A " .. d):lines() do out[#out + 1] = name end
    table.sort(out)
    return out
  end
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() os.execute("rm -rf " .. dir) end)

  local img = G.rand(4, 5)
  local writers = {
    {"save", function(p) G.save(p, {w = img}) end},
    {"write_npy", function(p) D.write_npy(p, img) end},
    {"write_npz", function(p) D.write_npz(p, {w = img}) end},
    {"save_pt", function(p) G.save_pt(p, {w = img}) end},
    {"write_png", function(p) D.write_png(p, img) end},
    {"write_idx", function(p) D.write_idx(p, img * 255) end},
    {"write_file", function(p) D.write_file(p, "some bytes") end},
  }
  for _, w in ipairs(writers) do
    it(w[1] .. " never writes through a symlink planted at its temporary, and leaves only the file", function()
      local path = dir .. "/out"
      local victim = dir .. "/victim"
      local f = assert(io.open(victim, "wb")); f:write("precious"); f:close()
      assert(os.execute(("ln -s %s %s.tmp"):format(victim, path)))
      w[2](path)
      assert.are.equal("precious", slurp(victim))
      assert.are.same({"out", "out.tmp", "victim"}, ls(dir))
      assert.are.equal("regular file\n", sh("stat -c %F " .. path))
      -- the same mode as a file that io.open creates under the same umask
      local plain = dir .. "/plain"
      f = assert(io.open(plain, "wb")); f:close()
      assert.are.equal(sh("stat -c %a " .. plain), sh("stat -c %a " .. path))
    end)
  end

  it("writes the file a symlink names, keeping the link, and names a directory it cannot write", function()
    local real, link = dir .. "/real.bin", dir .. "/link.bin"
    D.write_file(real, "old")
    assert(os.execute(("ln -s %s %s"):format(real, link)))
    D.write_file(link, "new")
    assert.are.equal("new", slurp(real))
    assert.are.equal("symbolic link\n", sh("stat -c %F " .. link))
    assert.matches("cannot write " .. dir .. "/: it is a directory", H.err(D.write_file, dir .. "/", "x"), 1, true)
    os.remove(link); os.remove(real)
  end)

  it("two processes saving to one path never collide", function()
    local path = dir .. "/shared.ckpt"
    local prog = ("local G = require 'genlab'; for i = 1, 200 do G.save('%s', {w = G.full({100000}, %%d)}) end")
      :format(path)
    local cmd = ("%s -e \"%s\" & p=$!; %s -e \"%s\"; b=$?; wait $p; echo rc=$?,$b")
      :format(H.exe, prog:format(1), H.exe, prog:format(2))
    local out = sh(cmd)
    assert.matches("rc=0,0", out)
    local v = G.load(path).w
    assert.is_true(v:min():item() == v:max():item(), "a file mixed from both writers")
    assert.are.same({"shared.ckpt"}, ls(dir))
  end)
end)

describe("fetch-data", function()
  local sh = H.sh
  it("verifies checksums, is idempotent, and repairs a corrupt file", function()
    local d = H.tmpname()
    os.remove(d)
    assert(os.execute("mkdir -p " .. d .. "/src"))
    local f = assert(io.open(d .. "/src/a.bin", "wb")); f:write("hello genlab\n"); f:close()
    local sum = io.popen("sha256sum " .. d .. "/src/a.bin"):read("l"):match("^(%x+)")
    local m = assert(io.open(d .. "/manifest", "w"))
    m:write(("t  t/a.bin  deb-install  none  0  %s/src/a.bin  %s\n"):format(d, sum))
    m:close()
    local env = ("GENLAB_DATA=%s/data GENLAB_DATA_MANIFEST=%s/manifest "):format(d, d)
    local out, rc = sh(env .. "vendor/fetch-data.sh")
    assert.are.equal(0, rc)
    assert.matches("1 files verified .* %(1 fetched%)", out)
    out = sh(env .. "vendor/fetch-data.sh")
    assert.matches("%(0 fetched%)", out)
    f = assert(io.open(d .. "/data/t/a.bin", "wb")); f:write("corrupted"); f:close()
    out, rc = sh(env .. "vendor/fetch-data.sh")
    assert.are.equal(0, rc)
    assert.matches("wrong checksum; fetching it again", out)
    assert.are.equal("hello genlab\n", io.open(d .. "/data/t/a.bin"):read("a"))
    m = assert(io.open(d .. "/manifest", "w"))
    m:write(("t  t/b.bin  deb-install  none  0  %s/src/a.bin  %s\n"):format(d, string.rep("0", 64)))
    m:close()
    out, rc = sh(env .. "vendor/fetch-data.sh")
    assert.are.equal(1, rc)
    assert.matches("t/b.bin: checksum mismatch", out)
    assert.matches("retry with", out)
    assert.is_nil(io.open(d .. "/data/t/b.bin"))
    os.execute("rm -rf " .. d)
  end)
end)
