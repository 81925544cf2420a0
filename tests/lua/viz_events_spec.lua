-- Interactive figures without a display: events injected in canvas pixels
-- (fig:_event, as the window delivers them) reach the callbacks with the
-- panel, the data coordinates or the tile and pixel under them; sliders and
-- buttons in the control strip; the run-control keys; a failing callback.
-- Expected coordinates come from the layout rules written out here.
local G = require "genlab"
local H = dofile("tests/lua/helpers.lua")

-- A 1x2 figure of 800x400: panel 1 spans x 4..396, y 4..396, panel 2 x 404..796.
local function figure()
  local fig = G.viz.figure{rows = 1, cols = 2, width = 800, height = 400}
  -- 2 tiles of 4x4 in one row, no padding: scale floor(min(392/8, 392/4)) = 49 px a pixel,
  -- the 392x196 block centred: x from 4, y from 4 + (392 - 196)/2 = 102
  fig:grid(G.arange(32, {dtype = "float64"}):reshape(2, 4, 4) / 32, {panel = 1, rows = 1, cols = 2, pad = 0, norm = "none"})
  -- a scatter with fixed axes [0, 10] x [0, 5]: its plot area is l + 64 .. r - 14 = 468..782,
  -- t + 10 .. b - 46 = 14..350
  fig:scatter(G.tensor{2, 8}, G.tensor{1, 4}, {panel = 2, xlim = {0, 10}, ylim = {0, 5}})
  return fig
end

local function px_of(x, y) return 468 + x / 10 * (782 - 468), 350 - y / 5 * (350 - 14) end

describe("figure events", function()
  it("a click on a grid names the tile, the pixel's row and column, and its value", function()
    local fig, got = figure(), {}
    fig:on("click", function(ev) got[#got + 1] = ev end)
    -- tile 2 (x from 4 + 196), pixel row 3, column 2 (0-based 2, 1): value (16 + 2*4 + 1) / 32
    fig:_event{kind = "press", x = 4 + 196 + 49 * 1 + 20, y = 102 + 49 * 2 + 20}
    fig:_event{kind = "press", x = 4 + 10, y = 50}                 -- above the tiles: no tile
    G.viz.pump()
    assert.are.equal(2, #got)
    assert.are.same({1, 2, 3, 2, 25 / 32, true}, {got[1].panel, got[1].tile, got[1].row, got[1].col,
                                                   got[1].value, got[1].inside})
    assert.are.equal(1, got[2].panel)
    assert.is_nil(got[2].tile)
    fig:close()
  end)

  it("a click on a plot gives its data coordinates within half a pixel, and the nearest point", function()
    local fig, got = figure(), nil
    fig:on("click", function(ev) got = ev end)
    local x, y = px_of(7.5, 2.5)
    fig:_event{kind = "press", x = x, y = y}
    G.viz.pump()
    local per_px_x, per_px_y = 10 / (782 - 468), 5 / (350 - 14)
    assert.is_true(math.abs(got.x - 7.5) <= per_px_x / 2 and math.abs(got.y - 2.5) <= per_px_y / 2,
                   ("%g, %g"):format(got.x, got.y))
    assert.is_nil(got.nearest)                       -- no point within 12 pixels
    x, y = px_of(8, 4)
    fig:_event{kind = "press", x = x + 3, y = y - 2}
    G.viz.pump()
    assert.are.same({2, 8, 4}, {got.nearest, got.nx, got.ny})
    fig:close()
  end)

  it("hovering a grid writes the tile, pixel and value into the status line", function()
    local fig = figure()
    fig:_event{kind = "move", x = 4 + 49 * 3 + 1, y = 102 + 1}     -- tile 1, row 1, column 4
    G.viz.pump()
    assert.are.equal("panel 1, tile 1, pixel (1, 4): 0.09375", fig:status())
    fig:close()
  end)

  it("a slider follows a drag monotonically and stays in its range; a button runs its callback", function()
    local fig = figure()
    local lr = fig:slider{name = "lr", min = 1e-4, max = 1e-1, log = true, value = 1e-3}
    local pressed = 0
    fig:button("re-init", function(f) pressed = pressed + 1; assert(f == fig) end)
    assert.are.equal(400 + 46 + 20, fig:render().shape[1])         -- a row of controls, the status line
    local last = -1
    fig:_event{kind = "press", x = 10, y = 430}
    for x = 0, 300, 20 do                                          -- the slider spans 10..260
      fig:_event{kind = "move", x = x, y = 430, button = 1}
      G.viz.pump()
      local v = lr:value()
      assert.is_true(v >= last and v >= 1e-4 and v <= 1e-1, ("x %d: %g after %g"):format(x, v, last))
      last = v
    end
    assert.are.equal(1e-1, last)
    fig:_event{kind = "release", x = 300, y = 430}
    fig:_event{kind = "move", x = 10, y = 430}                     -- no button: the slider stays
    fig:_event{kind = "press", x = 280 + 100, y = 430}
    fig:_event{kind = "release", x = 280 + 100, y = 430}
    G.viz.pump()
    assert.are.equal(1e-1, lr:value())
    assert.are.equal(1, pressed)
    assert.are.equal(1e-4, lr:set(0):value())
    assert.matches("min > 0 for a log scale", H.err(fig.slider, fig, {min = 0, max = 1, log = true}))
    fig:close()
  end)

  it("a narrow figure stacks its controls in rows inside its width, the status on its own line", function()
    -- 400 wide: one control a row, at most 270 wide (a slider x 10..260); rows of 46 from y 300,
    -- the status under them
    local fig = G.viz.figure{width = 400, height = 300}
    fig:line({y = G.tensor{1, 2, 3}})
    local s = {}
    for i = 1, 3 do s[i] = fig:slider{name = "s" .. i, min = 0, max = 1, value = 0} end
    local pressed = 0
    fig:button("go", function() pressed = pressed + 1 end)
    assert.are.equal(300 + 4 * 46 + 20, fig:render().shape[1])
    fig:_event{kind = "press", x = 260, y = 300 + 2 * 46 + 30}     -- row 3: slider 3, at its end
    fig:_event{kind = "release", x = 260, y = 300 + 2 * 46 + 30}
    fig:_event{kind = "press", x = 200, y = 300 + 3 * 46 + 20}     -- row 4: the button
    G.viz.pump()
    assert.are.same({0, 0, 1}, {s[1]:value(), s[2]:value(), s[3]:value()})
    assert.are.equal(1, pressed)
    fig:close()
  end)

  it("keys reach fig:key; the window's own keys are refused there", function()
    local fig, got = figure(), {}
    fig:key("r", function(ev) got[#got + 1] = ev.key end)
    fig:_event{kind = "key", key = "r"}
    fig:_event{kind = "key", key = "x"}
    G.viz.pump()
    assert.are.same({"r"}, got)
    assert.matches("not space, s, q, n", H.err(fig.key, fig, "n", function() end))
    fig:close()
  end)

  it("a callback that raises is reported with its line, and the others still run", function()
    local script = H.tmpname()
    local f = assert(io.open(script, "w"))
    f:write([[
local G = require "genlab"
local fig = G.viz.figure{}
fig:scatter(G.tensor{1}, G.tensor{1})
local n = 0
fig:on("click", function(ev) n = n + 1; if n == 1 then error("boom in my callback") end end)
fig:_event{kind = "press", x = 200, y = 200}
fig:_event{kind = "press", x = 210, y = 200}
G.viz.pump()
print("calls", n)
]])
    f:close()
    local out, rc = H.sh(H.exe .. " --headless " .. script)
    os.remove(script)
    assert.are.equal(0, rc, out)
    assert.matches("the click callback failed: [^\n]*:5: boom in my callback", out)
    assert.matches("stack traceback", out)
    assert.matches("calls\t2", out)
  end)
end)

-- Zoom and pan: panel 1's picture area is x 4..396, y 4..396 (no title); a
-- zoom of z lays the whole picture out in a 392z square about the view's
-- centre, tiles at whole pixels (nearest-neighbour).
describe("zoom and pan on image panels", function()
  local P = {x = 4 + 49 * 2 + 30, y = 102 + 49 * 1 + 30}          -- tile 1, row 2, column 3

  local function hover(fig, x, y)
    local got
    fig:on("hover", function(ev) got = ev end)
    fig:_event{kind = "move", x = x, y = y}
    G.viz.pump()
    return got
  end

  -- How many canvas pixels along x, through (x, y), show the same grid pixel.
  local function pixel_width(fig, x, y)
    local at = hover(fig, x, y)
    local lo, hi = x, x
    while lo > 4 do local e = hover(fig, lo - 1, y); if e.col ~= at.col then break end; lo = lo - 1 end
    while hi < 395 do local e = hover(fig, hi + 1, y); if e.col ~= at.col then break end; hi = hi + 1 end
    return hi - lo + 1
  end

  it("the wheel zooms about the mouse: the pixel under it stays, pixels grow by the zoom", function()
    local fig = figure()
    local before = hover(fig, P.x, P.y)
    assert.are.same({1, 2, 3}, {before.tile, before.row, before.col})
    assert.are.equal(49, pixel_width(fig, P.x, P.y))
    fig:_event{kind = "wheel", x = P.x, y = P.y, wheel = 2}
    G.viz.pump()
    local z, cx, cy = fig:view(1)
    assert.are.equal(2.25, z)
    local after = hover(fig, P.x, P.y)
    assert.are.same({1, 2, 3}, {after.tile, after.row, after.col})
    -- 392 * 2.25 = 882 px for 8 columns: floor(882 / 8) = 110 px a pixel
    assert.are.equal(110, pixel_width(fig, P.x, P.y))
    -- drawn whole: the rendered colour at the mouse is the pixel's own grey, (4 + 2) / 32
    local rgba = fig:render()
    assert.is_true(math.abs(rgba[{P.y + 1, P.x + 1, 1}] - math.floor(6 / 32 * 255 + 0.5) / 255) < 1e-6)
    hover(fig, P.x, P.y)
    assert.matches("panel 1, tile 1, pixel %(2, 3%)", fig:status())
    fig:_event{kind = "wheel", x = P.x, y = P.y, wheel = 100}      -- at most 64
    G.viz.pump()
    assert.are.equal(64, (fig:view(1)))
    fig:_event{kind = "wheel", x = 600, y = 200, wheel = 3}        -- a scatter does not zoom
    G.viz.pump()
    assert.are.equal(1, (fig:view(2)))
    fig:close()
  end)

  it("the pixel under the mouse stays under it notch after notch on a grid of many padded tiles", function()
    -- 64 tiles of 28x28 with 2-px pads: the picture does not scale linearly, so the
    -- view is put back on the pixel each time (it had drifted off to (16, 7) by 64x)
    local fig = G.viz.figure{width = 800, height = 600}
    fig:grid(G.rand(64, 28, 28, {generator = G.Generator(3)}), {rows = 8, cols = 8})
    local x, y = fig:pixel(1, 14, 14, 30)
    x, y = x + 0.3, y - 0.2
    local first = hover(fig, x, y)
    assert.are.same({30, 14, 14}, {first.tile, first.row, first.col})
    for notch = 1, 12 do
      fig:_event{kind = "wheel", x = x, y = y, wheel = 1}
      G.viz.pump()
      local e = hover(fig, x, y)
      assert.are.same({30, 14, 14}, {e.tile, e.row, e.col}, "notch " .. notch .. ", zoom " .. fig:view(1))
    end
    fig:close()
  end)

  it("hover on colour tiles gives the three values; on bars, the bar's point and series", function()
    local fig = G.viz.figure{rows = 1, cols = 2, width = 800, height = 400}
    local img = G.zeros(1, 4, 4, 3, {dtype = "float64"})
    img[{1, 2, 3}] = G.tensor({0, 0.5, 1}, {dtype = "float64"})
    fig:grid(img, {panel = 1, norm = "none"})
    fig:line({{y = G.tensor{1, 3, 2}, label = "p"}, {y = G.tensor{2, 1, 4}, label = "q"}}, {panel = 2, bars = true})
    local px, py = fig:pixel(1, 2, 3)
    local e = hover(fig, px, py)
    assert.are.same({0, 0.5, 1}, e.rgb)
    assert.are.equal("panel 1, tile 1, pixel (2, 3): (0, 0.5, 1)", fig:status())
    px, py = fig:pixel(2, 2 + 0.2, 0.5)             -- point 2's second bar (x 2 .. 2.4), low on it
    e = hover(fig, px, py)
    assert.are.same({2, 2}, {e.nearest, e.series})
    assert.matches("panel 2, point 2 of series 2: %(2, 1%)", fig:status())
    fig:close()
  end)

  it("a one-row heat map is a band; NaN is magenta; a callback that closes the figure ends its queue", function()
    local fig = G.viz.figure{width = 600, height = 300}
    local row = G.rand(1, 1000, {dtype = "float64"})
    row[{1, {500, 520}}] = 0 / 0                   -- wider than a pixel at ~0.5 px an entry
    fig:heatmap(row)
    local rgba = fig:render()
    local coloured, magenta = 0, 0
    for yy = 1, 300 do
      local px = rgba[{yy, 200}]
      if not (px[1] == 1 and px[2] == 1 and px[3] == 1) then coloured = coloured + 1 end
    end
    assert.is_true(coloured >= 16, coloured .. " rows drawn")
    for xx = 1, 600 do
      local px = rgba[{150, xx}]
      if px[1] == 1 and px[2] == 0 and px[3] == 1 then magenta = magenta + 1 end
    end
    assert.is_true(magenta >= 1, "the NaN entry is magenta")
    local calls = 0
    fig:on("hover", function() calls = calls + 1; fig:close() end)
    for i = 1, 3 do fig:_event{kind = "move", x = 100 + i, y = 150} end
    G.viz.pump()
    assert.are.equal(1, calls)
  end)

  it("fig:pixel finds a grid's pixel, zoomed or not: a move there hovers that tile, row and column", function()
    local fig = figure()
    for _, zoom in ipairs{1, 3} do
      fig:view(1, zoom, 0.6, 0.4)
      for _, at in ipairs{{1, 1, 1}, {2, 3, 4}, {1, 4, 2}} do
        local tile, row, col = at[1], at[2], at[3]
        local px, py = fig:pixel(1, row, col, tile)
        local e = hover(fig, px, py)
        if zoom == 1 or e.tile then                                -- zoomed, a pixel may be out of view
          assert.are.same({tile, row, col}, {e.tile, e.row, e.col})
        end
      end
    end
    assert.matches("tile 3 of a grid of 2", H.err(fig.pixel, fig, 1, 1, 1, 3))
    fig:close()
  end)

  it("a drag pans a zoomed panel within the picture; 0 shows it whole; a redraw keeps the zoom", function()
    local fig = figure()
    fig:view(1, 4)
    local _, cx0 = fig:view(1)
    local function across(e) return (e.tile - 1) * 4 + e.col end  -- the column across both tiles
    local col0 = across(hover(fig, P.x, P.y))
    fig:_event{kind = "press", x = P.x, y = P.y, button = 3}
    fig:_event{kind = "move", x = P.x - 250, y = P.y, button = 4}  -- the right button held
    fig:_event{kind = "release", x = P.x - 250, y = P.y, button = 3}
    G.viz.pump()
    local _, cx1, cy1 = fig:view(1)                                -- a pixel is 196 px wide
    assert.is_true(math.abs(cx1 - (cx0 + 250 / (392 * 4))) < 1e-12, tostring(cx1))
    assert.are.equal(0.5, cy1)
    assert.is_true(across(hover(fig, P.x, P.y)) > col0)            -- the picture moved left
    fig:_event{kind = "press", x = P.x, y = P.y, button = 3}
    fig:_event{kind = "move", x = P.x - 1e5, y = P.y + 1e5, button = 4}
    G.viz.pump()
    local _, cx2, cy2 = fig:view(1)
    assert.are.same({1 - 1 / 8, 1 / 8}, {cx2, cy2})                -- the view's edge at the picture's
    fig:grid(G.zeros(2, 4, 4), {panel = 1, rows = 1, cols = 2, pad = 0})
    assert.are.equal(4, (fig:view(1)))
    fig:_event{kind = "key", key = "0"}
    G.viz.pump()
    assert.are.same({1, 0.5, 0.5}, {fig:view(1)})
    fig:close()
  end)

  it("with a drag callback the left button draws, not pans; heat maps zoom and report entries", function()
    local fig = figure()
    fig:heatmap(G.arange(12, {dtype = "float64"}):reshape(3, 4), {panel = 2})
    local drags = 0
    fig:on("drag", function() drags = drags + 1 end)
    fig:view(1, 2)
    fig:_event{kind = "press", x = P.x, y = P.y}
    fig:_event{kind = "move", x = P.x - 50, y = P.y, button = 1}
    G.viz.pump()
    assert.are.equal(1, drags)
    assert.are.equal(0.5, select(2, fig:view(1)))
    -- the heat map of 3x4 in panel 2 (404..796 x 4..396): scale min((392 - 78) / 4, 384 / 3) = 78.5
    local x0 = math.floor(404 + (392 - 70 - 314) / 2)
    local y0 = math.floor(4 + (392 - 235) / 2)
    fig:_event{kind = "move", x = x0 + 78.5 * 2 + 5, y = y0 + 78.5 * 1 + 5}
    G.viz.pump()
    assert.are.equal("panel 2, entry (2, 3): 6", fig:status())
    fig:_event{kind = "wheel", x = x0 + 78.5 * 2 + 5, y = y0 + 78.5 * 1 + 5, wheel = 1}
    G.viz.pump()
    assert.are.equal(1.5, (fig:view(2)))
    assert.matches("entry %(2, 3%): 6", fig:status())
    assert.matches("zoom from 1 to 64", H.err(fig.view, fig, 1, 100))
    fig:close()
  end)
end)

describe("run control", function()
  -- source as a script under Xvfb, its windows real; its output and status
  local function under_xvfb(source)
    local script = H.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(source)
    f:close()
    local out, rc = H.sh("env -u GENLAB_HEADLESS timeout 60 xvfb-run -a " .. H.exe .. " --no-wait " .. script)
    os.remove(script)
    return out, rc
  end

  it("space pauses, n while paused lets exactly one step through, space resumes (under Xvfb)", function()
    if not os.execute("command -v xvfb-run >/dev/null") then return pending("skipped: xvfb-run is not installed") end
    local out, rc = under_xvfb([[
local G = require "genlab"
local fig = G.viz.figure{}
fig:line({1, 2, 3})
fig:show()                                    -- the window opens
local steps = 0
fig:_event{kind = "key", key = " "}           -- pause
fig:_event{kind = "key", key = "n"}           -- one step
fig:show(); steps = steps + 1                 -- returns after the one step
fig:_event{kind = "key", key = "n"}
fig:show(); steps = steps + 1
fig:_event{kind = "key", key = " "}           -- resume
fig:show(); steps = steps + 1
fig:show(); steps = steps + 1
print("steps", steps)
]])
    assert.are.equal(0, rc, out)
    assert.matches("%[paused: space resumes, n runs one step", out)
    assert.matches("steps\t4", out)
  end)

  it("n runs one whole step of a loop that shows two figures (under Xvfb)", function()
    if not os.execute("command -v xvfb-run >/dev/null") then return pending("skipped: xvfb-run is not installed") end
    local out, rc = under_xvfb([[
local G = require "genlab"
local a, b = G.viz.figure{title = "a"}, G.viz.figure{title = "b"}
a:line({1, 2, 3}); b:line({3, 2, 1})
a:show(); b:show()
local steps = 0
a:_event{kind = "key", key = " "}             -- pause
a:_event{kind = "key", key = "n"}             -- one step: a's show and b's
a:show(); b:show(); steps = steps + 1
a:_event{kind = "key", key = "n"}
a:show(); b:show(); steps = steps + 1
a:_event{kind = "key", key = " "}             -- resume
a:show(); b:show(); steps = steps + 1
print("steps", steps)
]])
    assert.are.equal(0, rc, out)
    assert.matches("steps\t3", out)
  end)
end)

describe("the VAE latent explorer, live", function()
  it("decodes a different digit under the real mouse at two latent points (Xvfb, xdotool, xwd)", function()
    if not os.execute("command -v xvfb-run >/dev/null && command -v xdotool >/dev/null && command -v xwd >/dev/null") then
      return pending("skipped: xvfb-run, xdotool or xwd is not installed (vendor/packages.txt lists them)")
    end
    local dir = H.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
    local out, rc = H.sh("env -u GENLAB_HEADLESS timeout 180 xvfb-run -a -s '-screen 0 1600x900x24' " ..
                         "tests/viz/explorer_check.sh " .. H.exe .. " " .. dir)
    os.execute("rm -rf " .. dir)
    assert.are.equal(0, rc, out)
    local decodes = tonumber(out:match("decodes: (%d+)"))
    assert.is_true(decodes and decodes >= 3, out)                  -- the first view and the two moves
    local differ, lo1, hi1, lo2, hi2 = out:match("differ in ([%d.]+) of their pixels, ranges (%d+)%.%.(%d+) and (%d+)%.%.(%d+)")
    assert.is_truthy(differ, out)
    assert.is_true(tonumber(differ) > 0.05, out)                   -- two different digits
    assert.is_true(tonumber(hi1) - tonumber(lo1) > 128 and tonumber(hi2) - tonumber(lo2) > 128, out)  -- not blank
  end)
end)
