-- genlab.viz through Lua: pixels of rendered figures, headless PNG output,
-- bad options, and a real window under Xvfb read back with xwd.
local G = require "genlab"
local viz = G.viz
local H = dofile("tests/lua/helpers.lua")
local sh, err, exe = H.sh, H.err, H.exe

describe("figures", function()
  it("render a 10x10 grid of 28x28 images upscaled, with the right tile colours", function()
    local imgs = G.zeros(100, 28, 28)
    imgs[1]:fill_(1)                                -- first tile white
    local fig = viz.figure{width = 600, height = 600}
    fig:grid(imgs, {rows = 10, norm = "none", pad = 2})
    local px = fig:render()
    assert.are.same({600, 600, 4}, px.shape)
    -- panel [4, 596): scale floor((592 - 22) / 280) = 2, tiles 56 px, grid 582 px at x0 = 9
    local c = px[9 + 2 + 28][9 + 2 + 28]            -- centre of tile 1 (1-based pixel)
    assert.are.same({1, 1, 1, 1}, c:totable())
    local second = px[9 + 2 + 28][9 + 2 + 56 + 2 + 28]
    assert.are.same({0, 0, 0, 1}, second:totable())
    fig:close()
  end)

  -- the extent of the pixels that differ from the white background, along a row or a column
  local function extent(line)
    local v, first, last = line:totable(), nil, nil
    for i, px in ipairs(v) do
      if px[1] < 0.99 or px[2] < 0.99 or px[3] < 0.99 then first = first or i; last = i end
    end
    return first and (last - first + 1) or 0
  end

  it("fill an image panel: whole pixels from 2x, a smooth fractional scale below, a box filter down", function()
    local function ramp(n) return G.linspace(0, 1, n):reshape(1, n):expand(n, n):contiguous():reshape(1, n, n) end
    local fig = viz.figure{width = 400, height = 300}
    fig:grid(ramp(128), {norm = "none"})                -- room for 2.2x: 2x, crisp
    assert.are.equal(256 + 4, extent(fig:render()[150]))
    fig:grid(ramp(200), {norm = "none"})                -- room for 1.45x: it fills the panel
    local px = fig:render()
    local wide = extent(px[150])
    assert.is_true(wide >= 270 and wide <= 300, "tile " .. wide .. " px wide in a 300 px tall panel")
    local row = px[150]:select(2, 1)                     -- smooth: small steps between neighbours
    local step = (row:narrow(1, 100, 150) - row:narrow(1, 101, 150)):abs():max():item()
    assert.is_true(step < 0.02, "largest step between neighbours " .. step)
    fig:grid(G.rand(1, 900, 900), {norm = "none"})      -- larger than the panel: averaged down
    px = fig:render()
    assert.is_true(extent(px[150]) <= 300)
    local mid = px[150]:narrow(1, 100, 200):select(2, 1)
    assert.is_true(mid:std():item() < 0.2, "a box filter averages the noise: std " .. mid:std():item())
    fig:close()
  end)

  it("put the legend where it hides none of the data", function()
    -- a curve through the top right corner, where the legend used to go
    local y = {0, 0, 0, 0, 0, 0, 0, 0.5, 1, 1}
    local function blue(label)
      local fig = viz.figure{width = 500, height = 400}
      fig:line({{y = y, label = label}})
      local px = fig:render()
      fig:close()
      local b = px:select(3, 3) - px:select(3, 1)          -- tab10 blue: b - r = 0.58
      return b:gt(0.4):sum():item()
    end
    local bare, labelled = blue(""), blue("a curve with a fairly long label")
    assert.is_true(labelled >= bare, ("%d blue pixels with the legend, %d without"):format(labelled, bare))
  end)

  it("keep the legend off a segment that crosses a corner between its points", function()
    -- two epochs: each curve is one segment, whose ends and midpoint lie outside the top right
    -- box while the segment runs through it (a VAE's test-loss panel after two epochs)
    local curves = {{y = {38.5, 36.6}}, {y = {29.0, 27.0}}, {y = {25.0, 22.3}}, {y = {23.8, 22.0}}}
    local function blue(labelled)
      local fig = viz.figure{width = 400, height = 320}
      for k, cv in ipairs(curves) do cv.label = labelled and ("N_z = " .. k) or "" end
      fig:line(curves)
      local px = fig:render()
      fig:close()
      local b = px:select(3, 3) - px:select(3, 1)          -- tab10 blue: b - r = 0.58
      return b:gt(0.4):sum():item()
    end
    local bare, labelled = blue(false), blue(true)
    assert.is_true(labelled >= bare, ("%d blue pixels with the legend, %d without"):format(labelled, bare))
  end)

  it("write non-blank PNGs without a display", function()
    local dir = H.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. dir)
    local script = dir .. "/demo_fig.lua"
    local f = assert(io.open(script, "w"))
    f:write([[
      local G = require "genlab"
      local fig = G.viz.figure{title = "demo", rows = 1, cols = 2}
      for epoch = 1, 5 do
        fig:line({{y = G.linspace(3, 1, epoch):totable(), label = "train"}}, {title = "NLL", hline = 0.5})
        fig:heatmap(G.randn(8, 8), {panel = 2, signed = true})
        fig:show()
      end]])
    f:close()
    local out, rc = sh("cd " .. dir .. " && " .. exe .. " --headless demo_fig.lua")
    assert.are.equal(0, rc)
    assert.matches("figures are written to out/demo_fig/", out)
    local img = G.data.read_image(dir .. "/out/demo_fig/demo.png")
    assert.are.equal(3, img.ndim)
    assert.is_true(img:std():item() > 0.05, "the PNG is not blank")
    -- the last epoch (flushed at exit) is what the file shows
    assert.is_true(img:min():item() < 0.2)
    os.execute("rm -rf " .. dir)
  end)

  it("name bad options, panels and shapes", function()
    local fig = viz.figure{rows = 1, cols = 2}
    assert.matches("option 'panel': 3 is not a panel of this 1x2 figure",
                   err(function() fig:grid(G.zeros(4, 5, 5), {panel = 3}) end))
    assert.matches("unknown option 'colour'", err(function() fig:scatter({1}, {2}, {colour = 1}) end))
    assert.matches("option 'norm': expected", err(function() fig:grid(G.zeros(4, 5, 5), {norm = "abs"}) end))
    assert.matches("reshape a single image to %(1, H, W%)", err(function() fig:grid(G.zeros(5, 7)) end))
    assert.matches("graph: edge 1 names node 5 of 3", err(function() fig:graph(3, {{1, 5}}) end))
    fig:close()
    assert.matches("figure has been closed", err(function() fig:show() end))
  end)

  it("lay out graphs reproducibly with a seed", function()
    local a = viz.figure{width = 300, height = 300}
    local b = viz.figure{width = 300, height = 300}
    local nodes = G.rand(12, 3, {generator = G.Generator(3)})
    local edges = {{1, 2}, {2, 3}, {3, 4}, {4, 1}, {5, 6}, {7, 8}, {9, 10}, {11, 12}, {12, 1}}
    a:graph(nodes, edges, {seed = 4})
    b:graph(nodes, edges, {seed = 4})
    assert.are.equal(0, (a:render() - b:render()):abs():max():item())
    a:close()
    b:close()
  end)
end)

describe("bar charts", function()
  it("fig:line{bars = true} fills each bar from 0 in the series' colour, and nothing between bars", function()
    local fig = G.viz.figure{width = 400, height = 300}
    fig:line({2, 1}, {bars = true})
    local img = fig:render()
    local function rgb(x, y)
      local px, py = fig:pixel(1, x, y)
      local r = img[{math.floor(py) + 1, math.floor(px) + 1}]
      return {math.floor(r[1] * 255 + 0.5), math.floor(r[2] * 255 + 0.5), math.floor(r[3] * 255 + 0.5)}
    end
    assert.are.same({31, 119, 180}, rgb(2, 0.5))           -- inside bar 2 (height 1), palette colour 1
    assert.are.same({31, 119, 180}, rgb(1.3, 1.9))         -- inside bar 1 (height 2, 0.8 wide)
    local function background(c) return c[1] == c[2] and c[2] == c[3] and c[1] >= 228 end  -- white or grid
    assert.is_true(background(rgb(1.5, 0.3)))              -- the gap between them
    assert.is_true(background(rgb(2, 1.5)))                -- above bar 2
    assert.matches("cannot have a log axis", H.err(fig.line, fig, {1, 2}, {bars = true, logy = true}))
    fig:close()
  end)
end)

describe("window", function()
  local have = os.execute("command -v xvfb-run >/dev/null && command -v xwd >/dev/null")
  if not have then
    pending("skipped: xvfb-run or xwd is not installed (vendor/packages.txt lists them)")
    return
  end
  it("shows the figure's pixels on a real X display while the loop runs", function()
    local out, rc = sh("timeout 120 xvfb-run -a -s '-screen 0 800x600x24' " .. exe ..
                       " --no-wait tests/viz/window_check.lua")
    assert.are.equal(0, rc, out)
    local magenta, updates = out:match("magenta (%d+), updates (%d+)")
    assert.are.equal("200", updates)
    assert.is_true(tonumber(magenta) >= 0.9 * 256 * 256, out)   -- the 16x16 tile at 16x
  end)

  it("opens a figure larger than the screen shrunk to fit, its PNG at full size", function()
    local out, rc = sh("timeout 120 xvfb-run -a -s '-screen 0 800x600x24' " .. exe ..
                       " --no-wait tests/viz/window_fit_check.lua")
    assert.are.equal(0, rc, out)
    local n, x0, y0, x1, y1, sw, shh, pw, ph =
      out:match("magenta (%d+), box (%-?%d+) (%-?%d+) (%-?%d+) (%-?%d+), screen (%d+)x(%d+), png (%d+)x(%d+)")
    assert.is_truthy(n, out)
    -- the bottom-right panel is on the screen whole: its tile stops short of the edges
    assert.is_true(tonumber(x1) < tonumber(sw) - 8 and tonumber(y1) < tonumber(shh) - 8, out)
    assert.is_true(tonumber(n) > 0.9 * (x1 - x0 + 1) * (y1 - y0 + 1), out)
    assert.are.same({"1000", "900"}, {pw, ph})
  end)
end)

describe("viz.degenerate", function()
  it("measures the spread across images of the intensities shown, against closed forms", function()
    -- two images, one all 0 and one all 1: every pixel's std across them is 0.5
    local bad, h = G.viz.degenerate(G.cat({G.zeros(1, 3, 3), G.ones(1, 3, 3)}, 1))
    assert.is_false(bad)
    assert.are.equal(0.5, h.spread)
    -- values 0, 0.3, 0.6 at every pixel: std sqrt(0.06) = 0.2449...; with norm "global" the
    -- shown values are 0, 0.5, 1 and the std is sqrt(1/6)
    local three = G.cat({G.zeros(1, 2, 2), G.full({1, 2, 2}, 0.3), G.full({1, 2, 2}, 0.6)}, 1)
    assert.is_true(math.abs(select(2, G.viz.degenerate(three)).spread - math.sqrt(0.06)) < 1e-6)
    assert.is_true(math.abs(select(2, G.viz.degenerate(three, {norm = "global"})).spread - math.sqrt(1 / 6)) < 1e-12)
  end)
  it("flags flat tiles and identical images, and no healthy sample", function()
    assert.is_true((G.viz.degenerate(G.full({64, 28, 28}, 0.2))))
    local bad, h = G.viz.degenerate(G.stack({G.eye(5), G.ones(5, 5), G.eye(5)}))
    assert.is_true(bad)
    assert.are.same({1, 3}, h.same)
    assert.are.equal(1, h.repeats)
    -- of 64 images, up to 8 may repeat an earlier one (a sharp sampler's chains meet)
    local imgs = G.rand(64, 6, 6, {generator = G.Generator(3)})
    for i = 2, 9 do imgs[7 * i] = imgs[1] end                     -- 8 copies of image 1
    bad, h = G.viz.degenerate(imgs)
    assert.is_false(bad)
    assert.are.equal(8, h.repeats)
    assert.are.equal("8 of 64 images repeat an earlier one (first: 1 and 14)", h.repeated)
    imgs[64] = imgs[2]                                              -- a ninth
    bad, h = G.viz.degenerate(imgs)
    assert.is_true(bad)
    assert.are.equal(9, h.repeats)
    assert.is_false((G.viz.degenerate(G.rand(64, 28, 28))))
    assert.matches("grid: expected", H.err(G.viz.degenerate, G.zeros(3, 5)))
  end)
end)

describe("plot details", function()
  local function orange(img)       -- pixels of palette colour 2, (255, 127, 14)
    local r, g, b = img:select(3, 1), img:select(3, 2), img:select(3, 3)
    return ((r - 1):abs():lt(0.02) * (g - 127 / 255):abs():lt(0.05) * (b - 14 / 255):abs():lt(0.05)):sum():item()
  end
  local function draw(dashed)
    local fig = G.viz.figure{rows = 1, cols = 2, width = 800, height = 300}
    fig:line({{y = G.tensor{1, 1, 1}}, {y = G.tensor{0, 0.5, 0}, label = "dashed", dashed = dashed}}, {panel = 1})
    local img = fig:render()
    fig:close()
    return img
  end
  it("draws a dashed series dashed, its legend swatch too", function()
    local solid, dashed = orange(draw(false)), orange(draw(true))
    assert.is_true(dashed < 0.75 * solid and dashed > 0.4 * solid, ("solid %d, dashed %d"):format(solid, dashed))
  end)
  it("says so in a panel not drawn yet, instead of a blank quarter", function()
    local empty = draw(false):narrow(2, 420, 360)     -- the second panel
    assert.is_true(empty:lt(0.9):sum():item() > 50, "the empty panel shows no text")
  end)
end)

describe("scatter legend", function()
  it("names the categories in their palette colours", function()
    local function cyan(legend)            -- palette colour 10, (23, 190, 207): no point has it
      local fig = G.viz.figure{width = 500, height = 400}
      fig:scatter(G.tensor{0, 1}, G.tensor{0, 1}, {colors = G.tensor{1, 1}, legend = legend})
      local img = fig:render()
      fig:close()
      local r, g, b = img:select(3, 1), img:select(3, 2), img:select(3, 3)
      return ((r - 23 / 255):abs():lt(0.02) * (g - 190 / 255):abs():lt(0.02) * (b - 207 / 255):abs():lt(0.02)):sum():item()
    end
    assert.are.equal(0, cyan(nil))
    assert.is_true(cyan({"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}) > 10)
    assert.matches("at most 12", H.err(function()
      G.viz.figure{}:scatter(G.tensor{0}, G.tensor{0}, {legend = {1,2,3,4,5,6,7,8,9,10,11,12,13}})
    end))
  end)
end)
