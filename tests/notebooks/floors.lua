-- %% [markdown]
-- # A notebook whose exercise misses a quality floor

-- %% setup
local C = dofile((arg[0]:match("^(.*/)") or "./") .. "../../scripts/common.lua")
local o = C.options({}, {}, {}, "a notebook that runs tests/notebooks/floor_script.lua")

-- %% the exercise
local r = C.exercise("../tests/notebooks/floor_script", C.passed(o))

-- %% a later cell
print(("the notebook went on after the exercise: answer %d"):format(r.answer))

-- %% quality floors
local floors = C.finish(nil, {list = true}).floors
