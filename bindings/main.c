/*
** main.c -- the genlab program: a Lua 5.4 interpreter with the genlab module
** built in.  Runs scripts as lua.c does (same `arg` table, -e, -i, exit
** status), and offers a REPL with readline history (~/.genlab_history),
** completion of globals, fields and tensor methods, printing of expression
** values without '=', multi-line input, a timer, and Ctrl-C that stops a
** long computation and returns to the prompt.
*/
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <readline/history.h>
#include <readline/readline.h>

#include "../core/viz/window.h"
#include "laux.h"
#include "lgenlab.h"
#include "version.h"          /* GENLAB_VERSION, GENLAB_COMMIT: made by the Makefile */

static const char *progname = "genlab";
static lua_State *globalL;

static const char usage[] =
  "usage: genlab [options] [script [args]]\n"
  "       genlab notebook FILE.lua [--pdf] [--ipynb] [--out=DIR] [args]   (genlab notebook -h)\n"
  "  -e stat     execute string 'stat'\n"
  "  -i          enter the REPL after running the script\n"
  "  --headless  no windows: figures are written as PNG files\n"
  "  --no-wait   do not keep figure windows open when the script ends\n"
  "  -v          show version information (and go on)\n"
  "  --version   show version information and exit\n"
  "  -h, --help  show this help and exit\n"
  "  --          stop handling options\n"
  "  -           run stdin and stop handling options\n"
  "--headless and --no-wait may also follow the script's name (before any \"--\");\n"
  "they are taken out of the script's arg.\n"
  "With no script, genlab starts its REPL (or runs stdin when it is not a terminal).\n"
  "Exit status: 0 ok, 1 a Lua error (or a failed notebook cell, or a quality floor not met),\n"
  "2 a usage error.\n"
  "The manual: man genlab.\n";

/* Exit statuses, as the usage text and genlab(1) document them. */
enum { EXIT_LUA_ERROR = 1, EXIT_USAGE = 2 };

static void print_version(void) {
  printf("genlab %s (commit %s), %s, OpenBLAS %d threads (%s kernels)\n", GENLAB_VERSION,
         GENLAB_COMMIT, LUA_RELEASE, glab_get_num_threads(), glab_blas_core());
}

/* ---- running code (after lua.c) -------------------------------------------- */

static void lstop(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}

/* On Ctrl-C during a computation: stop at the next Lua instruction. */
static void laction(int sig) {
  signal(sig, SIG_DFL);           /* a second Ctrl-C kills the process */
  lua_sethook(globalL, lstop, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

static int docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  globalL = L;
  signal(SIGINT, laction);
  int status = lua_pcall(L, narg, nres, base);
  signal(SIGINT, SIG_DFL);
  lua_remove(L, base);
  return status;
}

static int report(lua_State *L, int status) {
  if (status != LUA_OK) {
    fprintf(stderr, "%s: %s\n", progname, lua_tostring(L, -1));
    fflush(stderr);
    lua_pop(L, 1);
  }
  return status;
}

static int dochunk(lua_State *L, int status) {
  if (status == LUA_OK) status = docall(L, 0, 0);
  return report(L, status);
}

/* genlab's own flags may also follow the script's name, where users write
** them (genlab x.lua --no-wait): they are taken out of argv before arg is
** built, so the script never sees them.  After a "--" nothing is taken (and
** the "--" goes too), for a script that wants those words itself.  Returns
** the new argc. */
static int take_own_flags(char **argv, int argc, int script) {
  int w = script + 1, r;
  for (r = script + 1; r < argc; r++) {
    if (strcmp(argv[r], "--") == 0) {
      for (r++; r < argc; r++) argv[w++] = argv[r];
      break;
    }
    if (strcmp(argv[r], "--headless") == 0) setenv("GENLAB_HEADLESS", "1", 1);
    else if (strcmp(argv[r], "--no-wait") == 0) setenv("GENLAB_NO_WAIT", "1", 1);
    else argv[w++] = argv[r];
  }
  argv[w] = NULL;
  return w;
}

/* arg as lua.c builds it: the script at 0, interpreter options below. */
static void createargtable(lua_State *L, char **argv, int argc, int script) {
  lua_createtable(L, argc - script - 1, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int handle_script(lua_State *L, char **argv) {
  const char *fname = argv[0];
  if (strcmp(fname, "-") == 0 && strcmp(argv[-1], "--") != 0) fname = NULL;
  int status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    lua_getglobal(L, "arg");
    int n = (int)luaL_len(L, -1);
    luaL_checkstack(L, n + 3, "too many arguments to script");
    for (int i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
    lua_remove(L, -n - 1);
    status = docall(L, n, LUA_MULTRET);
  }
  return report(L, status);
}

#ifndef GENLAB_SCRIPTS_DIR
#define GENLAB_SCRIPTS_DIR "scripts"
#endif

/* require finds a script's neighbours and the course scripts' shared
** module (require "common"): package.path starts with the directory of
** file (when there is one) and the scripts directory ($GENLAB_SCRIPTS, else
** the checkout's scripts/ that the Makefile compiled in). */
static void add_script_paths(lua_State *L, const char *file) {
  const char *dir = getenv("GENLAB_SCRIPTS");
  const char *slash = file ? strrchr(file, '/') : NULL;
  int n = 0;
  lua_getglobal(L, "package");
  if (slash) {
    lua_pushlstring(L, file, (size_t)(slash - file));
    n++;
  } else if (file) {
    lua_pushliteral(L, ".");
    n++;
  }
  if (n) lua_pushliteral(L, "/?.lua;"), n++;
  lua_pushstring(L, dir && *dir ? dir : GENLAB_SCRIPTS_DIR);
  lua_pushliteral(L, "/?.lua;");
  lua_getfield(L, -(n + 3), "path");
  lua_concat(L, n + 3);
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);
}

/* `genlab notebook FILE [args]`: genlab.notebook.main runs and renders it.
** Windows show the run live but never hold the report back at the end.
** Returns the exit status. */
static int handle_notebook(lua_State *L, int argc, char **argv) {
  argc = take_own_flags(argv, argc, 1);
  setenv("GENLAB_NO_WAIT", "1", 1);
  createargtable(L, argv, argc, 1);
  add_script_paths(L, argc > 2 ? argv[2] : NULL);
  lua_getglobal(L, "genlab");
  lua_getfield(L, -1, "notebook");
  lua_getfield(L, -1, "main");
  lua_getglobal(L, "arg");
  int status = docall(L, 1, 2);
  int code = status != LUA_OK ? EXIT_LUA_ERROR
           : lua_toboolean(L, -2) ? EXIT_SUCCESS
           : lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : EXIT_LUA_ERROR;
  report(L, status);
  return code;
}

/* ---- the REPL ------------------------------------------------------------------- */

/* genlab's names become globals, without shadowing Lua's own (type, select). */
static void export_globals(lua_State *L) {
  lua_pushglobaltable(L);
  lua_getfield(L, -1, "genlab");
  lua_pushnil(L);
  while (lua_next(L, -2)) {                /* G, genlab, k, v */
    if (lua_type(L, -2) == LUA_TSTRING) {
      lua_pushvalue(L, -2);
      if (lua_rawget(L, -5) == LUA_TNIL) {  /* G[k] unset */
        lua_pushvalue(L, -3);
        lua_pushvalue(L, -3);
        lua_rawset(L, -7);
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 2);
}

#define HISTORY_LINES 1000

/* ~/.genlab_history, created (mode 0600: it may hold what was typed) when
** missing, since readline's append_history needs the file to exist; NULL
** without a home or when it cannot be made. */
static char *history_path(void) {
  const char *home = getenv("HOME");
  static char path[4096];
  if (!home) return NULL;
  snprintf(path, sizeof path, "%s/.genlab_history", home);
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0600);
  if (fd < 0) return NULL;
  close(fd);
  return path;
}

/* Push the value named by the dotted path s[0..len), or nil. */
static void push_path(lua_State *L, const char *s, size_t len) {
  lua_pushglobaltable(L);
  size_t start = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i < len && s[i] != '.') continue;
    if (!lua_istable(L, -1)) {
      lua_pop(L, 1);
      lua_pushnil(L);
      return;
    }
    lua_pushlstring(L, s + start, i - start);
    lua_gettable(L, -2);
    lua_remove(L, -2);
    start = i + 1;
  }
}

/* Candidate names for completing after the value at the top: its keys for a
** table, its methods and properties for a tensor (or any object with
** __methods).  Pushes a table of names. */
static void push_candidates(lua_State *L, int methods_only) {
  int v = lua_gettop(L);
  lua_newtable(L);
  int out = v + 1, n = 0;
  if (lua_istable(L, v) && !methods_only) {
    lua_pushnil(L);
    while (lua_next(L, v)) {
      lua_pop(L, 1);
      if (lua_type(L, -1) == LUA_TSTRING) {
        lua_pushvalue(L, -1);
        lua_rawseti(L, out, ++n);
      }
    }
  }
  if (lua_getmetatable(L, v)) {
    const char *fields[2] = {"__methods", methods_only ? NULL : "__properties"};
    for (int f = 0; f < 2 && fields[f]; f++) {
      if (lua_getfield(L, -1, fields[f]) == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
          lua_pop(L, 1);
          lua_pushvalue(L, -1);
          lua_rawseti(L, out, ++n);
        }
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_remove(L, v);
}

static char **matches;
static int nmatches, imatch;

static char *next_match(const char *text, int state) {
  (void)text;
  if (state == 0) imatch = 0;
  return imatch < nmatches ? strdup(matches[imatch++]) : NULL;
}

/* Completion of "a.b.c" (fields) and "x:m" (methods) from live values. */
static char **complete(const char *text, int start, int end) {
  lua_State *L = globalL;
  size_t len = strlen(text);
  const char *sep = NULL;
  for (const char *p = text; *p; p++)
    if (*p == '.' || *p == ':') sep = p;
  int top = lua_gettop(L);
  if (sep) push_path(L, text, (size_t)(sep - text));
  else lua_pushglobaltable(L);
  push_candidates(L, sep && *sep == ':');
  const char *partial = sep ? sep + 1 : text;
  size_t plen = strlen(partial), prefix = (size_t)(partial - text);
  int n = (int)lua_rawlen(L, -1);
  matches = calloc((size_t)n + 1, sizeof *matches);
  nmatches = 0;
  for (int k = 1; matches && k <= n; k++) {
    lua_rawgeti(L, -1, k);
    const char *name = lua_tostring(L, -1);
    if (name && strncmp(name, partial, plen) == 0 && name[0] != '_') {
      char *m = malloc(prefix + strlen(name) + 1);
      if (m) {
        memcpy(m, text, prefix);
        strcpy(m + prefix, name);
        matches[nmatches++] = m;
      }
    }
    lua_pop(L, 1);
  }
  lua_settop(L, top);
  (void)len;
  (void)start;
  (void)end;
  rl_attempted_completion_over = 1;
  rl_completion_append_character = '\0';
  char **result = rl_completion_matches(text, next_match);
  for (int k = 0; k < nmatches; k++) free(matches[k]);
  free(matches);
  matches = NULL;
  nmatches = 0;
  return result;
}

/* Ctrl-C at the prompt drops the line being typed. */
static void prompt_interrupt(int sig) {
  (void)sig;
  write(STDOUT_FILENO, "\n", 1);
  rl_on_new_line();
  rl_replace_line("", 0);
  rl_redisplay();
}

static char *read_line(const char *prompt) {
  signal(SIGINT, prompt_interrupt);
  char *line = readline(prompt);
  signal(SIGINT, SIG_DFL);
  return line;
}

static int incomplete(lua_State *L, int status) {
  if (status == LUA_ERRSYNTAX) {
    size_t lmsg;
    const char *msg = lua_tolstring(L, -1, &lmsg);
    const char *eof = "<eof>";
    if (lmsg >= strlen(eof) && strcmp(msg + lmsg - strlen(eof), eof) == 0) {
      lua_pop(L, 1);
      return 1;
    }
  }
  return 0;
}

/* Try buf as "return <buf>" (so expressions print), then as a statement.
** Returns the status of the statement form when both fail; *more says that
** one of the two only lacks its end (the entry goes on next line). */
static int load_forms(lua_State *L, const char *buf, int *more) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "return ");
  luaL_addstring(&b, buf);
  luaL_pushresult(&b);
  int status = luaL_loadbuffer(L, lua_tostring(L, -1), lua_rawlen(L, -1), "=stdin");
  lua_remove(L, -2);
  if (status == LUA_OK) return status;
  *more = incomplete(L, status);
  if (!*more) lua_pop(L, 1);
  status = luaL_loadbuffer(L, buf, strlen(buf), "=stdin");
  if (status == LUA_OK) return status;
  if (incomplete(L, status)) {
    *more = 1;
    return status;
  }
  if (*more) lua_pop(L, 1);
  return status;
}

/* Compile one REPL entry, reading more lines while it is incomplete.  Leaves
** the chunk (or an error message) on the stack and the source in *source;
** returns the status, or -1 at end of input. */
static int load_entry(lua_State *L, char **source) {
  char *buf = read_line("> ");
  if (!buf) return -1;
  for (;;) {
    int more = 0, status = load_forms(L, buf, &more);
    char *line = (status != LUA_OK && more) ? read_line(">> ") : NULL;
    if (!line) {
      *source = buf;
      if (status != LUA_OK && more) {
        lua_pushliteral(L, "stdin: unfinished input at end of file");
        return LUA_ERRSYNTAX;
      }
      return status;
    }
    char *grown = realloc(buf, strlen(buf) + strlen(line) + 2);
    if (!grown) {
      free(line);
      *source = buf;
      lua_pushliteral(L, "stdin: out of memory");
      return LUA_ERRMEM;
    }
    buf = grown;
    strcat(buf, "\n");
    strcat(buf, line);
    free(line);
  }
}

/* Each result on its own line: a table by genlab.repr (keys sorted, nested,
** elided), anything else as print shows it. */
static void print_results(lua_State *L) {
  int n = lua_gettop(L);
  luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
  for (int i = 1; i <= n; i++) {
    int plain = !lua_istable(L, i) || luaL_getmetafield(L, i, "__tostring") != LUA_TNIL;
    if (!plain) {
      lua_getglobal(L, "genlab");
      lua_getfield(L, -1, "repr");
      lua_remove(L, -2);
    } else {
      if (lua_istable(L, i)) lua_pop(L, 1);           /* the __tostring getmetafield pushed */
      lua_getglobal(L, "print");
    }
    lua_pushvalue(L, i);
    if (lua_pcall(L, 1, plain ? 0 : 1, 0) != LUA_OK) {
      fprintf(stderr, "%s: cannot print result %d (%s)\n", progname, i, lua_tostring(L, -1));
      lua_pop(L, 1);
    } else if (!plain) {
      printf("%s\n", lua_tostring(L, -1));
      lua_pop(L, 1);
    }
  }
  fflush(stdout);
}

/* After Ctrl-D: figure windows still open keep the program alive until
** they are closed, so say so; Ctrl-D again (or q and Enter) closes them. */
static void wait_for_windows(void) {
  int n = glab_window_count_open();
  if (n == 0) return;
  printf("%d figure window%s still open: close %s (q in a window), or press Ctrl-D again to "
         "close %s.\n", n, n > 1 ? "s are" : " is", n > 1 ? "them" : "it", n > 1 ? "them all" : "it");
  fflush(stdout);
  while (glab_window_count_open() > 0) {
    struct pollfd p = {STDIN_FILENO, POLLIN, 0};
    glab_window_pump();
    if (poll(&p, 1, 15) > 0) {
      char c;
      ssize_t got = read(STDIN_FILENO, &c, 1);
      if (got <= 0 || c == 'q' || c == 4) break;
    }
  }
  setenv("GENLAB_NO_WAIT", "1", 1);                   /* the figures' __gc closes them */
}

/* At a script's end its figure windows stay until closed, still answering
** the mouse and the controls (genlab.viz.wait), unless --no-wait. */
static void wait_on_figures(lua_State *L) {
  const char *nowait = getenv("GENLAB_NO_WAIT");
  if ((nowait && *nowait && strcmp(nowait, "0") != 0) || glab_window_count_open() == 0) return;
  lua_getglobal(L, "genlab");
  if (lua_istable(L, -1) && lua_getfield(L, -1, "viz") == LUA_TTABLE &&
      lua_getfield(L, -1, "wait") == LUA_TFUNCTION)
    report(L, docall(L, 0, 0));
  lua_settop(L, 0);
}

/* While readline waits for a key, figure windows keep answering, and
** their callbacks run (genlab.viz.pump). */
static int idle(void) {
  lua_State *L = globalL;
  int top = lua_gettop(L);
  lua_getglobal(L, "genlab");
  if (lua_istable(L, -1) && lua_getfield(L, -1, "viz") == LUA_TTABLE &&
      lua_getfield(L, -1, "pump") == LUA_TFUNCTION && lua_pcall(L, 0, 0, 0) != LUA_OK)
    fprintf(stderr, "%s: %s\n", progname, lua_tostring(L, -1));
  lua_settop(L, top);
  return 0;
}

static void repl(lua_State *L) {
  char *hist = history_path();
  if (isatty(STDIN_FILENO)) rl_event_hook = idle;  /* with piped input it would spin at EOF */
  globalL = L;                       /* completion reads the state */
  rl_readline_name = "genlab";
  rl_attempted_completion_function = complete;
  rl_completer_word_break_characters = " \t\n\"\\'><=;+-*/%^~#{}()[],&|";
  rl_catch_signals = 0;
  using_history();
  if (hist) read_history(hist);
  export_globals(L);
  print_version();
  printf("help() lists the functions; help(f) shows one. Ctrl-D quits.\n");
  for (;;) {
    char *source = NULL;
    lua_settop(L, 0);
    int status = load_entry(L, &source);
    if (status == -1) break;
    if (source && *source) {
      add_history(source);
      if (hist && append_history(1, hist) == 0 && history_length % 100 == 0)
        history_truncate_file(hist, HISTORY_LINES);
    }
    free(source);
    double t0 = glab_now();
    if (status == LUA_OK) status = docall(L, 0, LUA_MULTRET);
    double dt = glab_now() - t0;
    if (status == LUA_OK) print_results(L);
    else report(L, status);
    if (dt >= 1.0) printf("(%.2f s)\n", dt);
  }
  if (hist) history_truncate_file(hist, HISTORY_LINES);
  printf("\n");
  wait_for_windows();
}

/* ---- main ------------------------------------------------------------------------- */

static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = (char **)lua_touserdata(L, 2);
  int script = 0, interactive = 0, has_e = 0;
  luaL_openlibs(L);
  luaL_requiref(L, "genlab", luaopen_genlab, 1);
  lua_pop(L, 1);
  if (argc >= 2 && strcmp(argv[1], "notebook") == 0) {
    lua_pushinteger(L, handle_notebook(L, argc, argv));
    return 1;
  }
  int i;
  for (i = 1; i < argc && argv[i][0] == '-'; i++) {
    const char *o = argv[i];
    if (strcmp(o, "--") == 0) { i++; break; }
    if (strcmp(o, "-") == 0) break;
    if (strcmp(o, "-i") == 0) interactive = 1;
    else if (strcmp(o, "-v") == 0) print_version();
    else if (strcmp(o, "--version") == 0) { print_version(); lua_pushinteger(L, EXIT_SUCCESS); return 1; }
    else if (strcmp(o, "--headless") == 0) setenv("GENLAB_HEADLESS", "1", 1);
    else if (strcmp(o, "--no-wait") == 0) setenv("GENLAB_NO_WAIT", "1", 1);
    else if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
      printf("%s", usage);
      lua_pushinteger(L, EXIT_SUCCESS);
      return 1;
    } else if (strcmp(o, "-e") == 0) {
      if (++i >= argc) {
        fprintf(stderr, "%s: '-e' needs an argument\n%s", progname, usage);
        lua_pushinteger(L, EXIT_USAGE);
        return 1;
      }
      has_e = 1;
    } else {
      fprintf(stderr, "%s: unrecognized option '%s'\n%s", progname, o, usage);
      lua_pushinteger(L, EXIT_USAGE);
      return 1;
    }
  }
  script = i < argc ? i : 0;
  if (script) argc = take_own_flags(argv, argc, script);
  createargtable(L, argv, argc, script);
  add_script_paths(L, script && strcmp(argv[script], "-") != 0 ? argv[script] : NULL);
  if (has_e || !script) export_globals(L);           /* -e and stdin see what the prompt sees */
  for (int k = 1; k < (script ? script : argc); k++) {
    if (strcmp(argv[k], "-e") == 0) {
      k++;
      if (dochunk(L, luaL_loadbuffer(L, argv[k], strlen(argv[k]), "=(command line)")) != LUA_OK)
        return 0;
    }
  }
  if (script && handle_script(L, argv + script) != LUA_OK) return 0;
  if (script && !interactive) wait_on_figures(L);
  if (interactive || (!script && !has_e && isatty(0))) repl(L);
  else if (!script && !has_e && dochunk(L, luaL_loadfile(L, NULL)) != LUA_OK) return 0;
  lua_pushinteger(L, EXIT_SUCCESS);
  return 1;
}

int main(int argc, char **argv) {
  lua_State *L = luaL_newstate();
  if (!L) {
    fprintf(stderr, "%s: cannot create state: not enough memory\n", progname);
    return EXIT_FAILURE;
  }
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  int status = lua_pcall(L, 2, 1, 0);
  int code = status == LUA_OK && lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : EXIT_LUA_ERROR;
  if (status != LUA_OK) report(L, status);
  lua_close(L);
  return code;
}
