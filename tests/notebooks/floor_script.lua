-- A script with two quality floors, one of them not met at the default
-- bound: what tests/lua/notebook_spec.lua checks the floor machinery of
-- scripts/common.lua with (C.floor, C.finish, C.exercise from a notebook).
local C = dofile((arg[0]:match("^(.*/)") or "./") .. "../../scripts/common.lua")
local o = C.options({bound = 1.0}, {bound = 1.0}, {bound = 1.0}, "a script with one floor that fails at the default")
C.floor("the answer", 2.0, "<=", o.bound)
C.floor("the other answer", 0.5, "<=", 1)
print("the script ran to its end")
return C.finish({answer = 2})
