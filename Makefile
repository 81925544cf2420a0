# genlab -- build, set-up, tests and benchmarks.  `make help` lists targets.
#
#   make            build ./genlab (REPL + script runner) and build/lua/genlab.so
#   make test       install missing packages, build, run every test
#   make demo       install, build, run the flagship exercise (PS1) live
#   make SAN=1 test the same under AddressSanitizer + UBSan (build-san/)
#   make install    genlab, genlab.so and genlab.1 under PREFIX (also: luarocks make
#                   vendor/genlab-scm-1.rockspec); make uninstall removes them
#   make notebooks  render every notebook in notebooks-lua/ in the default configuration
#                   (trained results; NOTEBOOK_ARGS=--full for the seed's sizes) to
#                   out/notebooks/<name>/index.html and <name>.pdf, with each one's wall time
#   make difftest   random tensor programs against numpy/PyTorch (DIFF_PROGRAMS=10000,
#                   DIFF_SEED=fresh random; tests/diff/difftest.py --help)

CC      ?= cc
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man/man1
LUA_CMOD ?= $(PREFIX)/lib/lua/5.4
LUA_INCDIR ?= /usr/include/lua5.4

BUILD   := build
OPT     := -O2
ifeq ($(SAN),1)
BUILD   := build-san
OPT     := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif

BLAS_INC := /usr/include/x86_64-linux-gnu/openblas-pthread
CFLAGS  += $(OPT) -g -std=c11 -D_GNU_SOURCE -fPIC -fno-math-errno -fno-trapping-math -fvect-cost-model=dynamic -Wall -Wextra -Wshadow \
           -Wno-unused-parameter -I$(BLAS_INC) -I$(LUA_INCDIR) -MMD -MP \
           -DGENLAB_DATA_DIR=\"$(CURDIR)/data\" -DGENLAB_SCRIPTS_DIR=\"$(CURDIR)/scripts\" -I/usr/include/SDL2 -I$(BUILD)/gen
LDLIBS  := -llapacke -lopenblas -lstb -lSDL2 -lcmark -lz -lmvec -lm -lpthread
LUALIBS := -llua5.4 -lreadline

CORE_SRC := $(wildcard core/*.c core/*/*.c)
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o)
BIND_SRC := $(filter-out bindings/main.c,$(wildcard bindings/*.c))
BIND_OBJ := $(BIND_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/c/test_*.c)
TEST_BIN := $(TEST_SRC:tests/c/%.c=$(BUILD)/tests/%)
LUA_LIB  := $(wildcard bindings/genlab/*.lua bindings/genlab/*/*.lua)
BENCH_SRC := $(wildcard tests/bench/*.c)
BENCH_BIN := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)

EXE := genlab
ifeq ($(SAN),1)
EXE := $(BUILD)/genlab
endif

.PHONY: all deps data test demo bench install uninstall clean docs help check-c fuzz notebooks difftest FORCE
all: $(EXE) $(BUILD)/lua/genlab.so

help:
	@sed -n '1,/^$$/{/^#/p}' Makefile

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# The Lua half of the library (bindings/genlab/), compiled in as strings.
$(BUILD)/gen/embedded_lua.h: $(LUA_LIB) bindings/embed.sh
	@mkdir -p $(dir $@)
	bindings/embed.sh $(LUA_LIB) > $@.tmp && mv $@.tmp $@

$(BUILD)/bindings/lgenlab.o: $(BUILD)/gen/embedded_lua.h

# The version and the commit built from ("unknown" outside a git checkout, as
# in a release tarball), rewritten only when they change.
VERSION := 0.1
COMMIT  := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell \
             git diff --quiet HEAD 2>/dev/null || echo +changes)
$(BUILD)/gen/version.h: FORCE
	@mkdir -p $(dir $@)
	@printf '#define GENLAB_VERSION "%s"\n#define GENLAB_COMMIT "%s"\n' '$(VERSION)' '$(COMMIT)' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
$(BUILD)/bindings/main.o $(BUILD)/bindings/lgenlab.o: $(BUILD)/gen/version.h
FORCE:

$(BUILD)/libgenlab.a: $(CORE_OBJ)
	$(AR) rcs $@ $^

$(EXE): $(BUILD)/bindings/main.o $(BIND_OBJ) $(BUILD)/libgenlab.a
	$(CC) $(OPT) -rdynamic -o $@ $^ $(LUALIBS) $(LDLIBS)

# The module for stock lua5.4: symbols of liblua come from the interpreter.
$(BUILD)/lua/genlab.so: $(BIND_OBJ) $(BUILD)/libgenlab.a
	@mkdir -p $(dir $@)
	$(CC) $(OPT) -shared -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/c/%.c tests/c/tap.h $(BUILD)/libgenlab.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libgenlab.a $(LDLIBS)

$(BUILD)/bench/%: tests/bench/%.c $(BUILD)/libgenlab.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O3 -march=native -o $@ $< $(BUILD)/libgenlab.a $(LDLIBS)

deps:
	@vendor/deps.sh

data: deps
	@vendor/fetch-data.sh

check-c: $(TEST_BIN)

test: deps data
	@$(MAKE) --no-print-directory all check-c
	@BUILD=$(BUILD) EXE=$(EXE) SAN=$(SAN) tests/run.sh

notebooks: deps data
	@$(MAKE) --no-print-directory all
	@status=0; for nb in notebooks-lua/*.lua; do \
	  t0=$$(date +%s.%N); ./$(EXE) notebook "$$nb" --pdf --headless $(NOTEBOOK_ARGS) || status=1; \
	  awk -v t0=$$t0 -v t1=$$(date +%s.%N) -v nb="$$nb" -v cfg="$(or $(NOTEBOOK_ARGS),default)" \
	    'BEGIN { printf "%s (%s): %.0f s wall\n", nb, cfg, t1 - t0 }'; done; exit $$status

demo: deps
	@vendor/fetch-data.sh photos
	@$(MAKE) --no-print-directory all
	./$(EXE) scripts/demo.lua

bench: deps data
	@vendor/deps.sh vendor/packages-bench.txt
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@BUILD=$(BUILD) tests/bench/run.sh

# The long differential run: DIFF_PROGRAMS random programs from DIFF_SEED (a fresh one when
# empty; the run prints it, and the same seed replays the same programs).
DIFF_PROGRAMS ?= 10000
DIFF_SEED ?=
difftest: deps
	@$(MAKE) --no-print-directory all
	@/usr/bin/python3 tests/diff/difftest.py --programs $(DIFF_PROGRAMS) \
	  $(if $(DIFF_SEED),--seed $(DIFF_SEED)) --genlab ./$(EXE)

fuzz: all
	@vendor/deps.sh vendor/packages-fuzz.txt
	@tests/fuzz/run.sh

docs: $(EXE)
	./$(EXE) bindings/gendoc.lua > bindings/API.md

# The same three files as `luarocks make vendor/genlab-scm-1.rockspec` installs.
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LUA_CMOD) $(DESTDIR)$(MANDIR)
	install -m 755 $(EXE) $(DESTDIR)$(BINDIR)/genlab
	install -m 644 $(BUILD)/lua/genlab.so $(DESTDIR)$(LUA_CMOD)/genlab.so
	install -m 644 bindings/genlab.1 $(DESTDIR)$(MANDIR)/genlab.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/genlab $(DESTDIR)$(LUA_CMOD)/genlab.so $(DESTDIR)$(MANDIR)/genlab.1

clean:
	rm -rf build build-san build-fuzz genlab out

-include $(CORE_OBJ:.o=.d) $(BIND_OBJ:.o=.d)
