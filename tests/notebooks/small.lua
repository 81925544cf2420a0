-- %% [markdown]
-- # A small notebook
--
-- Prose with inline math $\sigma^2 = \frac{1}{n}\sum_i x_i^2$ and a display:
--
-- $$\log p(x) = -\tfrac12 \|x\|^2 - \tfrac{d}{2}\log 2\pi$$
--
-- Code stays as it is: `a_b * c_d`, and a dollar stays a dollar: \$5. A formula may run over a
-- line break, $\partial_W \log p = \mathbf{v}\mathbf{p}^\top
-- - \mathbb{E}_p[\mathbf{v}\mathbf{p}^\top]$, and its second line is no list item.

-- %% printing
local G = require "genlab"
local x = G.arange(1, 5)
print(("the sum is %d"):format(x:sum():item()))
io.write("step 1\rstep 2\rstep 3\n")

-- %% a figure
local fig = G.viz.figure{title = "a line", name = "small_line", width = 400, height = 300}
fig:line({y = x * x, x = x, label = "x^2"})
fig:show()

-- %% [markdown]
-- ## The value of a last expression

-- %% value
local y = x * 2
y:sum():item() + 0.5
