-- repr.lua -- genlab.repr: a value as the prompt shows it.  Tables print
-- with their keys sorted (the list part first, in order), nested to a depth,
-- long ones elided, cycles named; tensors as their one-line summary; strings
-- quoted.  A short table fits on one line, a long one takes a line a field.
--
--   > info = {iters = 12, ll = {-3.2, -2.9}, means = randn(3, 2)}
--   > info
--   {iters = 12, ll = {-3.2, -2.9}, means = Tensor float32 (3x2)}
local G = ...

local lib = G._lib
local doc = lib.doc

local WIDTH = 78

local function key_order(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return ta == "number" or (ta == "string" and tb ~= "number") end
  if ta == "number" or ta == "string" then return a < b end
  return tostring(a) < tostring(b)
end

local function scalar(v)
  local t = type(v)
  if t == "string" then return ("%q"):format(v):gsub("\\\n", "\\n") end
  if G.is_tensor(v) then
    return ("Tensor %s (%s)"):format(v.dtype, lib.shape_str(v))
  end
  if t == "number" or t == "boolean" or t == "nil" then return tostring(v) end
  local mt = getmetatable(v)
  if mt and mt.__tostring then
    local s = tostring(v)
    return s:find("\n") and (s:match("^[^\n]*") .. " ...") or s
  end
  return tostring(v)
end

local function name_of(k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") then return k end
  return "[" .. scalar(k) .. "]"
end

local function render(v, opts, depth, indent, seen)
  if type(v) ~= "table" or (getmetatable(v) and getmetatable(v).__tostring) then return scalar(v) end
  if seen[v] then return "<cycle: " .. seen[v] .. ">" end
  if depth >= opts.depth then return next(v) == nil and "{}" or "{...}" end
  seen[v] = tostring(v):match("0x%x+") or "table"
  local keys, n = {}, #v
  for k in pairs(v) do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  table.sort(keys, key_order)
  local items, shown = {}, 0
  local total = n + #keys
  for i = 1, n do
    if shown == opts.items then break end
    items[#items + 1] = render(v[i], opts, depth + 1, indent .. "  ", seen)
    shown = shown + 1
  end
  for _, k in ipairs(keys) do
    if shown == opts.items then break end
    items[#items + 1] = name_of(k) .. " = " .. render(v[k], opts, depth + 1, indent .. "  ", seen)
    shown = shown + 1
  end
  if total > shown then items[#items + 1] = ("... (%d more)"):format(total - shown) end
  seen[v] = nil
  local one = "{" .. table.concat(items, ", ") .. "}"
  if #one + #indent <= WIDTH and not one:find("\n") then return one end
  -- several short items share a line; a nested table that spans lines gets its own
  local lines, cur = {}, nil
  for i, item in ipairs(items) do
    local piece = item .. (i < #items and "," or "")
    if cur and not piece:find("\n") and #cur + 1 + #piece <= WIDTH then cur = cur .. " " .. piece
    else
      if cur then lines[#lines + 1] = cur end
      cur = indent .. "  " .. piece
    end
    if piece:find("\n") then lines[#lines + 1], cur = cur, nil end
  end
  lines[#lines + 1] = cur
  return "{\n" .. table.concat(lines, "\n") .. "\n" .. indent .. "}"
end

G.repr = doc(function(v, opts)
  opts = opts or {}
  return render(v, {depth = opts.depth or 3, items = opts.items or 30}, 0, "", {})
end, "repr(v, [{depth=3, items=30}]) -> string\n" ..
  "v as the prompt shows it: tables with their keys " ..
  "sorted (the list part first), nested to depth\n" ..
     "levels ({...} below), at most items entries each " ..
     "(\"... (n more)\"), cycles named; a tensor as its\n" ..
     "one-line summary, a string quoted; a short table on one line, a long one a field per line.")
