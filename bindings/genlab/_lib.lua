-- genlab._lib: what the Lua half of the library shares.  One way to make a
-- class, to attach a docstring, to check options and to raise an error at
-- the user's line, whatever calls lie between it and the library.
local G, lib = ...

-- Chunks whose source starts with this are the library's own files
-- (lgenlab.c loads bindings/genlab/X.lua as "@bindings/genlab/X.lua").
local LIBRARY = "@bindings/genlab/"

-- doc(f, text) -> f: f with text as its docstring for help().
local function doc(f, text) G._doc(f, text); return f end
lib.doc = doc

doc(lib.doc, "_lib.doc(value, text) -> value\n" ..
  "Register text as value's docstring for help() and return value.")

-- "file:line: " of the first Lua frame outside the library, or "".
local function where()
  for level = 3, 100 do
    local info = debug.getinfo(level, "Sl")
    if not info then break end
    if info.currentline > 0 and info.source:sub(1, #LIBRARY) ~= LIBRARY then
      return info.short_src .. ":" .. info.currentline .. ": "
    end
  end
  return ""
end

lib.raise = doc(function(msg)
  error(where() .. tostring(msg), 0)
end, "_lib.raise(message)\n" ..
  "Raise message at the user's line: the first Lua frame outside bindings/genlab/, however\n" ..
  "many library calls (methods, tail calls, callbacks) lie between.")

lib.bare = doc(function(err)
  return (tostring(err):gsub("^[^\n]-:%d+: ", ""))
end, "_lib.bare(err) -> message\n" ..
  "An error's message without the \"file:line: \" position in front of it.")

lib.try = doc(function(f, ...)
  local r = table.pack(pcall(f, ...))
  if r[1] then return table.unpack(r, 2, r.n) end
  lib.raise(lib.bare(r[2]))
end, "_lib.try(f, ...) -> f(...)\n" ..
  "f's results; its error, without the position inside the library, raised at the user's line.")

lib.shape_str = doc(function(t)
  local s = t.shape
  return #s == 0 and "scalar" or table.concat(s, "x")
end, "_lib.shape_str(t) -> string\nt's shape as messages write it: \"128x784\", or \"scalar\".")

lib.shape = doc(function(t) return "(" .. lib.shape_str(t) .. ")" end,
  "_lib.shape(t) -> string\nt's shape in parentheses: \"(128x784)\".")

lib.check_points = doc(function(X, d, where, dim)
  if not G.is_tensor(X) or X.ndim ~= 2 then
    lib.raise(string.format("%s: points must be an (N, %s) tensor, got %s", where, dim or "d",
                            G.is_tensor(X) and lib.shape(X) or type(X)))
  end
  if d and X.shape[2] ~= d then
    lib.raise(string.format("%s: points have %d dimensions, the model %d", where, X.shape[2], d))
  end
end, "_lib.check_points(X, d, where, [dim=\"d\"])\n" ..
  "Raise (at the user's line) unless X is a 2-d tensor of points with d columns (any\n" ..
  "count when d is nil); dim names the columns in the message: \"points must be an (N, d)\n" ..
  "tensor\".")

-- ---- options ---------------------------------------------------------------

lib.check_opts = doc(function(opts, known, where_)
  if opts == nil then return {} end
  if type(opts) ~= "table" then lib.raise(where_ .. ": options must be a table") end
  for k in pairs(opts) do
    if not known[k] then
      local names = {}
      for n in pairs(known) do names[#names + 1] = n end
      table.sort(names)
      lib.raise(string.format("%s: unknown option '%s' (known: %s)", where_, tostring(k),
                              table.concat(names, ", ")))
    end
  end
  return opts
end, "_lib.check_opts(opts, known, where) -> opts\n" ..
  "opts (nil: {}) when each of its keys is in the set known; else an error naming the\n" ..
  "unknown key and the known ones.")

lib.options = doc(function(opts, defaults, where_)
  local known = {}
  for k in pairs(defaults) do known[k] = true end
  opts = lib.check_opts(opts, known, where_)
  local out = {}
  for k, v in pairs(defaults) do if opts[k] == nil then out[k] = v else out[k] = opts[k] end end
  return out
end, "_lib.options(opts, defaults, where) -> table\n" ..
  "opts checked against the keys of defaults (an unknown key is an error naming the known\n" ..
  "ones), with the defaults filled in.")

lib.positive_int = doc(function(v, what, where_)
  if math.type(v) ~= "integer" or v < 1 then
    lib.raise(string.format("%s: %s must be a positive integer, got %s", where_, what, tostring(v)))
  end
  return v
end, "_lib.positive_int(v, what, where) -> v\n" ..
  "v when it is an integer >= 1, else the error " ..
  "\"where: what must be a positive integer, got v\".")

-- ---- classes ---------------------------------------------------------------

-- Metamethods are looked up on the metatable itself, never through
-- __index: a class copies its parent's down when it is made.
local INHERITED = {"__call", "__tostring", "__len", "__eq", "__lt", "__le", "__concat"}

lib.class = doc(function(name, parent)
  local c = {__name = name}
  c.__index = c
  if parent then
    for _, k in ipairs(INHERITED) do c[k] = rawget(parent, k) end
  end
  return setmetatable(c, {
    __index = parent,
    __call = function(cls, ...)
      local o = setmetatable(cls.__fresh and cls.__fresh() or {}, cls)
      o:__init(...)
      return o
    end,
  })
end, "_lib.class(name, [parent]) -> class\n" ..
  "A class: class(...) makes an instance (class.__fresh() or {}, then instance:__init(...)).\n" ..
  "Methods are looked up in the class, then its parent; metamethods (__call, __tostring, ...)\n" ..
  "are copied down from the parent when the class is made.")
