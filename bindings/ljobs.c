/*
** ljobs.c -- the processes under genlab.jobs (bindings/genlab/jobs.lua): a
** task runs in a fresh genlab process, started with posix_spawn from this
** program's own file, whose standard output comes back through a pipe that
** the parent reads without blocking.  The child gets no terminal input
** (/dev/null), shares the parent's standard error (its messages and
** tracebacks reach the user as they are written), runs headless, and finds
** its task in the environment variable GENLAB_JOB.
**
** A Job userdata that is collected, or closed, kills its process if it still
** runs and reaps it: an error in the parent leaves no process behind.
**
** When the last tasks run and a core falls idle, the parent offers a
** running child more threads with SIGUSR1 and the count as the signal's
** value (sigqueue).  The child starts with SIGUSR1 blocked, so an offer
** that comes before its handler is in place waits instead of killing it.
*/
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "laux.h"

extern char **environ;

#define LG_JOB "genlab.Job"

typedef struct {
  pid_t pid;       /* 0 once reaped */
  int fd;          /* the read end of the child's stdout, -1 once closed */
  int status;      /* waitpid's status, once reaped */
} Job;

static Job *check_job(lua_State *L, int i) { return luaL_checkudata(L, i, LG_JOB); }

/* Reap j's process: block, or only look (WNOHANG).  1 when it has ended. */
static int reap(Job *j, int block) {
  if (j->pid == 0) return 1;
  pid_t r;
  do r = waitpid(j->pid, &j->status, block ? 0 : WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == 0) return 0;
  j->pid = 0;          /* ended (or not our child any more: ECHILD) */
  return 1;
}

static void close_job(Job *j) {
  if (j->pid) {
    kill(j->pid, SIGKILL);
    reap(j, 1);
  }
  if (j->fd >= 0) close(j->fd);
  j->fd = -1;
}

static int job_gc(lua_State *L) {
  close_job(check_job(L, 1));
  return 0;
}

/* The environment with name=value set (replacing any name=...), in a new
** array whose strings point into environ and at set. */
static char **with_vars(lua_State *L, const char *const *set, int nset) {
  size_t n = 0;
  while (environ[n]) n++;
  char **env = lua_newuserdatauv(L, (n + (size_t)nset + 1) * sizeof *env, 0);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    int replaced = 0;
    for (int s = 0; s < nset && !replaced; s++) {
      size_t len = strcspn(set[s], "=") + 1;
      replaced = strncmp(environ[i], set[s], len) == 0;
    }
    if (!replaced) env[k++] = environ[i];
  }
  for (int s = 0; s < nset; s++) env[k++] = (char *)set[s];
  env[k] = NULL;
  return env;
}

/* jobs._spawn(chunk, spec) -> Job: `genlab -e chunk` with GENLAB_JOB=spec. */
static int j_spawn(lua_State *L) {
  const char *chunk = luaL_checkstring(L, 1), *spec = luaL_checkstring(L, 2);
  lua_pushfstring(L, "GENLAB_JOB=%s", spec);
  lua_pushfstring(L, "GENLAB_JOB_PARENT=%d", (int)getpid());
  const char *set[3] = {lua_tostring(L, -2), lua_tostring(L, -1), "GENLAB_HEADLESS=1"};
  char **env = with_vars(L, set, 3);
  char *argv[] = {"genlab", "-e", (char *)chunk, NULL};
  Job *j = lua_newuserdatauv(L, sizeof *j, 0);
  *j = (Job){0, -1, 0};
  luaL_setmetatable(L, LG_JOB);
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return luaL_error(L, "jobs: cannot make a pipe: %s", strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  posix_spawnattr_init(&at);
  posix_spawnattr_setsigmask(&at, &usr1);
  posix_spawnattr_setpgroup(&at, 0);    /* its own group: a terminal's ^C goes to the parent alone */
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  int e = posix_spawn(&j->pid, "/proc/self/exe", &fa, &at, argv, env);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  close(p[1]);
  if (e != 0) {
    close(p[0]);
    j->pid = 0;
    return luaL_error(L, "jobs: cannot start a genlab process: %s", strerror(e));
  }
  j->fd = p[0];
  fcntl(j->fd, F_SETFL, fcntl(j->fd, F_GETFL) | O_NONBLOCK);
  return 1;
}

/* job:read() -> the bytes the child has written since the last read ("" when
** none yet), or nil once its output has ended. */
static int j_read(lua_State *L) {
  Job *j = check_job(L, 1);
  if (j->fd < 0) return 0;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (;;) {
    char *dst = luaL_prepbuffer(&b);
    ssize_t n = read(j->fd, dst, LUAL_BUFFERSIZE);
    if (n > 0) {
      luaL_addsize(&b, (size_t)n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
      return luaL_error(L, "jobs: reading a child's output: %s", strerror(errno));
    if (n == 0 && luaL_bufflen(&b) == 0) {        /* the end, and nothing left */
      close(j->fd);
      j->fd = -1;
      return 0;
    }
    break;
  }
  luaL_pushresult(&b);
  return 1;
}

/* job:wait([block]) -> nil while it runs (without block); else "exit", code
** or "signal", number. */
static int j_wait(lua_State *L) {
  Job *j = check_job(L, 1);
  if (!reap(j, lua_toboolean(L, 2))) return 0;
  int st = j->status;
  lua_pushstring(L, WIFSIGNALED(st) ? "signal" : "exit");
  lua_pushinteger(L, WIFSIGNALED(st) ? WTERMSIG(st) : WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  return 2;
}

/* job:kill(): stop the process (if it runs) and reap it. */
static int j_kill(lua_State *L) {
  close_job(check_job(L, 1));
  return 0;
}

/* job:offer(n): let the child use n threads from its next operation on. */
static int j_offer(lua_State *L) {
  Job *j = check_job(L, 1);
  lua_Integer n = luaL_checkinteger(L, 2);
  if (n < 1 || n > 4096) luaL_argerror(L, 2, "a thread count from 1 to 4096");
  if (j->pid) sigqueue(j->pid, SIGUSR1, (union sigval){.sival_int = (int)n});
  return 0;
}

static void on_offer(int sig, siginfo_t *si, void *ctx) {
  (void)sig, (void)ctx;
  if (si->si_value.sival_int > 0) glab_offer_threads(si->si_value.sival_int);
}

/* jobs._listen(): in a child, end with the parent (however it ends: a
** SIGKILL or SIGTERM to it leaves no task running on) and take its offers of
** threads. */
static int j_listen(lua_State *L) {
  (void)L;
  const char *parent = getenv("GENLAB_JOB_PARENT");
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (parent && getppid() != (pid_t)atoi(parent)) _exit(1);    /* it ended before prctl */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_offer;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
  return 0;
}

/* jobs._poll(list, seconds): sleep until one of the jobs' outputs has bytes
** or has ended, or for seconds. */
static int j_poll(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  double secs = luaL_checknumber(L, 2);
  struct pollfd fds[64];
  nfds_t n = 0;
  for (lua_Integer i = 1; n < 64 && lua_rawgeti(L, 1, i) != LUA_TNIL; i++) {
    Job *j = check_job(L, -1);
    if (j->fd >= 0) fds[n++] = (struct pollfd){.fd = j->fd, .events = POLLIN};
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  int ms = secs <= 0 ? 0 : secs > 3600 ? 3600000 : (int)(secs * 1000);
  if (n) poll(fds, n, ms);
  else if (ms) usleep((useconds_t)ms * 1000);
  return 0;
}

/* The parent's SIGTERM and SIGHUP while jobs.run runs: noted, so that the
** loop stops, kills its tasks and removes their folder, then ends by it. */
static volatile sig_atomic_t stop_signal;
static struct sigaction before_term, before_hup;
static int guards;                          /* jobs.run inside a task run here nests */

static void on_stop(int sig) { stop_signal = sig; }

/* jobs._guard(on): catch SIGTERM and SIGHUP (on), or put back what was there. */
static int j_guard(lua_State *L) {
  int on = lua_toboolean(L, 1);
  if (on ? guards++ > 0 : --guards > 0) return 0;       /* the outermost run's alone */
  if (on) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    stop_signal = 0;
    sigaction(SIGTERM, &sa, &before_term);
    sigaction(SIGHUP, &sa, &before_hup);
  } else {
    sigaction(SIGTERM, &before_term, NULL);
    sigaction(SIGHUP, &before_hup, NULL);
  }
  return 0;
}

/* jobs._stopped() -> the signal that came (SIGTERM or SIGHUP), or nil. */
static int j_stopped(lua_State *L) {
  if (!stop_signal) return 0;
  lua_pushinteger(L, stop_signal);
  return 1;
}

/* jobs._reraise(sig): end this process by sig, as it would have ended. */
static int j_reraise(lua_State *L) {
  int sig = (int)luaL_checkinteger(L, 1);
  signal(sig, SIG_DFL);
  raise(sig);
  return 0;
}

/* jobs._tempdir() -> path: a new private folder under $TMPDIR (or /tmp). */
static int j_tempdir(lua_State *L) {
  const char *tmp = getenv("TMPDIR");
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/genlab-jobs-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(path)) return luaL_error(L, "jobs: cannot make a folder %s: %s", path, strerror(errno));
  lua_pushstring(L, path);
  return 1;
}

/* jobs._remove(dir): remove the files in dir (no subfolders), then dir. */
static int j_remove(lua_State *L) {
  const char *dir = luaL_checkstring(L, 1);
  DIR *d = opendir(dir);
  if (!d) return 0;
  char path[PATH_MAX];
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    unlink(path);
  }
  closedir(d);
  rmdir(dir);
  return 0;
}

static const luaL_Reg job_methods[] = {
  {"read", j_read}, {"wait", j_wait}, {"kill", j_kill}, {"offer", j_offer}, {NULL, NULL}
};

static const lg_Reg functions[] = {
  {"_spawn", j_spawn,
   "jobs._spawn(chunk, spec) -> Job\n"
   "A genlab process running chunk (genlab -e), headless, with GENLAB_JOB=spec; its stdout is\n"
   "the Job's. Internal: jobs.run is the way to run tasks."},
  {"_poll", j_poll,
   "jobs._poll(jobs, seconds)\nSleep until one of the Jobs has output or has ended, or for "
   "seconds. Internal."},
  {"_listen", j_listen,
   "jobs._listen()\nIn a task's process: end with the parent, and take its offers of more threads\n"
   "(SIGUSR1). Internal."},
  {"_guard", j_guard,
   "jobs._guard(on)\nWhile jobs.run runs (on), note SIGTERM and SIGHUP instead of dying at once;\n"
   "off puts back the handlers that were there. Internal."},
  {"_stopped", j_stopped,
   "jobs._stopped() -> signal | nil\nThe SIGTERM or SIGHUP noted since _guard(true). Internal."},
  {"_reraise", j_reraise,
   "jobs._reraise(sig)\nEnd the process by sig (its default action). Internal."},
  {"_tempdir", j_tempdir,
   "jobs._tempdir() -> path\nA new private folder under $TMPDIR or /tmp (mkdtemp). Internal."},
  {"_remove", j_remove,
   "jobs._remove(dir)\nRemove dir's files, then dir. Internal."},
  {NULL, NULL, NULL}
};

void lg_open_jobs(lua_State *L) {
  if (luaL_newmetatable(L, LG_JOB)) {
    luaL_newlib(L, job_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, job_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, job_gc);
    lua_setfield(L, -2, "__close");
    lua_pushliteral(L, "genlab.Job");
    lua_setfield(L, -2, "__name");
  }
  lua_pop(L, 1);
  lg_setfuncs(L, functions);
}
