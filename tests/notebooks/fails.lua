-- %% [markdown]
-- # A notebook that fails

-- %% one
local n = 41
print("cell two ran")

-- %% two
local t = nil
print("about to fail")
local bad = t.field + n

-- %% three
print("never printed")
