-- json.lua -- genlab.json: JSON for the files genlab writes for other
-- tools (.ipynb notebooks, hand-in manifests) and reads back.  The writer is
-- our own: keys sorted, so one run gives one file byte for byte, and empty
-- arrays stay arrays (json.array{}); the reader is Debian's lua-cjson.
--
--   local text = json.encode({cells = json.array{}, nbformat = 4})
--   local t = json.decode(text, "manifest.json")    -- errors name the source
local G, json = ...

local lib = G._lib
local doc = lib.doc

local ARRAY = {}                            -- metatable marking a table as a JSON array

json.array = doc(function(t) return setmetatable(t or {}, ARRAY) end,
  "json.array([t]) -> t\n" ..
  "Mark t (a list, possibly empty) to be written as a JSON array; other tables are objects.")

-- s with each invalid UTF-8 byte replaced by U+FFFD: JSON text is UTF-8,
-- and what is written may hold anything a program printed.
local function clean_utf8(s)
  if utf8.len(s) then return s end
  local out, i = {}, 1
  while i <= #s do
    local ok, bad = utf8.len(s, i)
    if ok then out[#out + 1] = s:sub(i); break end
    out[#out + 1] = s:sub(i, bad - 1) .. "\u{FFFD}"
    i = bad + 1
  end
  return table.concat(out)
end

local ESCAPES = {['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
                 ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t"}

local function quote(s)
  return '"' .. clean_utf8(s):gsub('[%c"\\]', function(c)
    return ESCAPES[c] or ("\\u%04x"):format(c:byte())
  end) .. '"'
end

-- v as JSON into out, indented by one space a level as Jupyter writes it.
local function encode(v, indent, out)
  local t = type(v)
  if t == "string" then out[#out + 1] = quote(v)
  elseif t == "boolean" then out[#out + 1] = tostring(v)
  elseif t == "number" then
    if math.type(v) == "integer" then out[#out + 1] = tostring(v)
    elseif v ~= v or v == math.huge or v == -math.huge then out[#out + 1] = "null"
    else out[#out + 1] = ("%.17g"):format(v) end
  elseif v == nil then out[#out + 1] = "null"
  elseif t == "table" then
    local pad, inner = "\n" .. indent, "\n" .. indent .. " "
    if getmetatable(v) == ARRAY then
      if #v == 0 then out[#out + 1] = "[]"; return end
      out[#out + 1] = "["
      for i, x in ipairs(v) do
        out[#out + 1] = (i > 1 and "," or "") .. inner
        encode(x, indent .. " ", out)
      end
      out[#out + 1] = pad .. "]"
    else
      local keys = {}
      for k in pairs(v) do
        if type(k) ~= "string" then error("json: an object key must be a string, got " .. type(k), 0) end
        keys[#keys + 1] = k
      end
      table.sort(keys)
      if #keys == 0 then out[#out + 1] = "{}"; return end
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        out[#out + 1] = (i > 1 and "," or "") .. inner .. quote(k) .. ": "
        encode(v[k], indent .. " ", out)
      end
      out[#out + 1] = pad .. "}"
    end
  else
    error("json: cannot write a " .. t, 0)
  end
end

json.encode = doc(function(v)
  local out = {}
  encode(v, "", out)
  return table.concat(out) .. "\n"
end, "json.encode(v) -> string\n" ..
  "v as JSON: tables marked by json.array as arrays, " ..
  "others as objects with their keys sorted;\n" ..
     "integers exactly, other numbers to 17 digits (NaN " ..
     "and infinities as null); invalid UTF-8 as U+FFFD.")

json.decode = doc(function(text, source)
  local ok, cjson = pcall(require, "cjson")
  if not ok then error("json: reading JSON needs Debian's lua-cjson (apt-get install lua-cjson)", 0) end
  local good, v = pcall(cjson.decode, text)
  if not good then error(("json: %s is not JSON: %s"):format(source or "the text", tostring(v)), 0) end
  return v
end, "json.decode(text, [source]) -> value\n" ..
  "JSON text as Lua values (by lua-cjson; null is cjson.null); an error names source.")
