-- genlab as a LuaRocks package: `luarocks make vendor/genlab-scm-1.rockspec`
-- in a checkout builds with the project's own Makefile (the "make" build
-- type) against Debian's Lua 5.4 headers and installs what `make install`
-- does: the module genlab.so (require "genlab" from stock lua5.4), the
-- genlab executable and its manual page genlab.1.  The C dependencies are
-- Debian packages (vendor/packages.txt; `make deps` installs them).
rockspec_format = "3.0"
package = "genlab"
version = "scm-1"
source = {
  -- luarocks make builds the checkout it is run in; this names no remote.
  url = "file://."
}
description = {
  summary = "A Lua 5.4 workbench for generative models, with live figures",
  detailed = [[
Tensors on OpenBLAS and LAPACK, reverse-mode autodiff, neural-network
layers and the models of a generative-models course (GMMs and EM, p-PCA,
RBMs, VAEs, autoregressive models), with SDL2 windows that redraw while a
model trains, and literate notebooks rendered to HTML, PDF and .ipynb.]],
  license = "MIT",
  labels = {"machine-learning", "tensor", "autodiff", "notebook"},
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
build = {
  type = "make",
  build_target = "all",
  build_variables = {
    LUA_INCDIR = "$(LUA_INCDIR)",
  },
  install_target = "install",
  install_variables = {
    PREFIX = "$(PREFIX)",
    BINDIR = "$(BINDIR)",
    LUA_CMOD = "$(LIBDIR)",
    MANDIR = "$(PREFIX)/share/man/man1",
    LUA_INCDIR = "$(LUA_INCDIR)",
  },
}
