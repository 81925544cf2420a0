/*
** window.c -- presenting canvases in SDL2 windows (see window.h); the one
** file of genlab that includes SDL.h.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <SDL.h>

#include "window.h"

#define MAX_WINDOWS 32
#define FRAME_MS 33
#define MAX_EVENTS 256

struct glab_window {
  SDL_Window *win;
  SDL_Renderer *ren;
  SDL_Texture *tex;
  int tex_w, tex_h;
  SDL_Rect dst;                  /* where the canvas was last drawn in the window */
  Uint32 last_draw;
  double cost;                   /* seconds the caller spent on the last frame */
  int closed, save_requests;
  glab_event events[MAX_EVENTS]; /* a ring; the oldest is dropped when full */
  int head, count;
};

static glab_window *windows[MAX_WINDOWS];
static int video_state;          /* 0 untried, 1 up, -1 unavailable */
static int paused, steps;
static double frame_scale = 1;   /* + and - make frames more or less frequent */

int glab_window_available(void) {
  if (video_state) return video_state > 0;
  const char *h = getenv("GENLAB_HEADLESS");
  if ((h && *h && strcmp(h, "0") != 0) || (!getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY"))) {
    video_state = -1;
    return 0;
  }
  video_state = SDL_InitSubSystem(SDL_INIT_VIDEO) == 0 ? 1 : -1;
  return video_state > 0;
}

void glab_window_fit(int *w, int *h, int avail_w, int avail_h) {
  if (avail_w < 1 || avail_h < 1 || (*w <= avail_w && *h <= avail_h)) return;
  double f = (double)avail_w / *w < (double)avail_h / *h ? (double)avail_w / *w : (double)avail_h / *h;
  *w = (int)(*w * f);
  *h = (int)(*h * f);
  if (*w < 1) *w = 1;
  if (*h < 1) *h = 1;
}

/* Room left for the frame and title bar that the window manager adds. */
#define FRAME_W 16
#define FRAME_H 48

glab_status glab_window_open(glab_window **out, const char *title, int width, int height) {
  if (!glab_window_available()) return glab_fail(GLAB_EIO, "window: no display available");
  int slot = -1;
  for (int i = 0; i < MAX_WINDOWS && slot < 0; i++)
    if (!windows[i]) slot = i;
  if (slot < 0) return glab_fail(GLAB_EARG, "window: at most %d windows", MAX_WINDOWS);
  glab_window *w = calloc(1, sizeof *w);
  if (!w) return glab_fail(GLAB_ENOMEM, "window: out of memory");
  SDL_Rect usable;
  int x = SDL_WINDOWPOS_UNDEFINED, y = SDL_WINDOWPOS_UNDEFINED;
  if (SDL_GetDisplayUsableBounds(0, &usable) == 0) {
    int fw = width, fh = height;
    glab_window_fit(&fw, &fh, usable.w - FRAME_W, usable.h - FRAME_H);
    if (fw != width || fh != height) {          /* a shrunk window is centred, title on screen */
      x = usable.x + (usable.w - fw) / 2;
      y = usable.y + (usable.h - fh - FRAME_H) / 2 + FRAME_H - FRAME_W;
      width = fw;
      height = fh;
    }
  }
  w->win = SDL_CreateWindow(title, x, y, width, height, SDL_WINDOW_RESIZABLE);
  if (w->win) w->ren = SDL_CreateRenderer(w->win, -1, 0);
  if (!w->win || !w->ren) {
    glab_status s = glab_fail(GLAB_EIO, "window: %s", SDL_GetError());
    if (w->win) SDL_DestroyWindow(w->win);
    free(w);
    return s;
  }
  SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "linear");
  windows[slot] = w;
  *out = w;
  return GLAB_OK;
}

static glab_window *find(Uint32 id) {
  for (int i = 0; i < MAX_WINDOWS; i++)
    if (windows[i] && !windows[i]->closed && SDL_GetWindowID(windows[i]->win) == id) return windows[i];
  return NULL;
}

static void destroy(glab_window *w) {
  if (w->tex) SDL_DestroyTexture(w->tex);
  if (w->ren) SDL_DestroyRenderer(w->ren);
  if (w->win) SDL_DestroyWindow(w->win);
  w->tex = NULL;
  w->ren = NULL;
  w->win = NULL;
  w->closed = 1;
}

/* Copy the last texture to the window, scaled to its current size. */
static void redraw(glab_window *w) {
  if (w->closed || !w->tex) return;
  SDL_SetRenderDrawColor(w->ren, 255, 255, 255, 255);
  SDL_RenderClear(w->ren);
  int ww, wh;
  SDL_GetRendererOutputSize(w->ren, &ww, &wh);
  double s = (double)ww / w->tex_w < (double)wh / w->tex_h ? (double)ww / w->tex_w : (double)wh / w->tex_h;
  SDL_Rect dst = {(int)((ww - w->tex_w * s) / 2), (int)((wh - w->tex_h * s) / 2), (int)(w->tex_w * s),
                  (int)(w->tex_h * s)};
  w->dst = dst;
  SDL_RenderCopy(w->ren, w->tex, NULL, &dst);
  SDL_RenderPresent(w->ren);
}

static void post(glab_window *w, const glab_event *ev) {
  if (w->count == MAX_EVENTS) {                 /* drop the oldest */
    w->head = (w->head + 1) % MAX_EVENTS;
    w->count--;
  }
  w->events[(w->head + w->count) % MAX_EVENTS] = *ev;
  w->count++;
}

int glab_window_next_event(glab_window *w, glab_event *ev) {
  if (!w || w->count == 0) return 0;
  *ev = w->events[w->head];
  w->head = (w->head + 1) % MAX_EVENTS;
  w->count--;
  return 1;
}

static int mods_of(Uint16 m) {
  return (m & KMOD_SHIFT ? GLAB_MOD_SHIFT : 0) | (m & KMOD_CTRL ? GLAB_MOD_CTRL : 0) |
         (m & KMOD_ALT ? GLAB_MOD_ALT : 0);
}

/* Window pixels to the canvas's: the inverse of redraw's scaling. */
static void to_canvas(const glab_window *w, int wx, int wy, glab_event *ev) {
  double s = w->dst.w > 0 ? (double)w->tex_w / w->dst.w : 1;
  ev->x = (wx - w->dst.x) * s;
  ev->y = (wy - w->dst.y) * s;
}

int glab_window_run_key(int key) {
  switch (key) {
    case ' ': paused = !paused; steps = 0; return 1;
    case 'n': if (paused) { steps++; return 1; } return 0;
    case '+': case '=': frame_scale = fmax(frame_scale / 2, 0.125); return 1;
    case '-': frame_scale = fmin(frame_scale * 2, 64); return 1;
    default: return 0;
  }
}

/* The keys the window itself answers; 0 for one the caller should see. */
static int own_key(glab_window *w, SDL_Keycode k) {
  switch (k) {
    case SDLK_q: destroy(w); return 1;
    case SDLK_s: w->save_requests++; return 1;
    case SDLK_SPACE: return glab_window_run_key(' ');
    case SDLK_n: return glab_window_run_key('n');
    case SDLK_PLUS: case SDLK_KP_PLUS: case SDLK_EQUALS: return glab_window_run_key('+');
    case SDLK_MINUS: case SDLK_KP_MINUS: return glab_window_run_key('-');
    default: return 0;
  }
}

static void queue_event(glab_window *w, const SDL_Event *e) {
  glab_event ev = {0};
  int mx, my;
  switch (e->type) {
    case SDL_MOUSEMOTION:
      ev.kind = GLAB_EV_MOVE;
      ev.button = (e->motion.state & SDL_BUTTON_LMASK ? 1 : 0) | (e->motion.state & SDL_BUTTON_MMASK ? 2 : 0) |
                  (e->motion.state & SDL_BUTTON_RMASK ? 4 : 0);
      to_canvas(w, e->motion.x, e->motion.y, &ev);
      break;
    case SDL_MOUSEBUTTONDOWN: case SDL_MOUSEBUTTONUP:
      ev.kind = e->type == SDL_MOUSEBUTTONDOWN ? GLAB_EV_PRESS : GLAB_EV_RELEASE;
      ev.button = e->button.button == SDL_BUTTON_LEFT ? 1 : e->button.button == SDL_BUTTON_MIDDLE ? 2 : 3;
      to_canvas(w, e->button.x, e->button.y, &ev);
      break;
    case SDL_MOUSEWHEEL:
      ev.kind = GLAB_EV_WHEEL;
      ev.wheel = e->wheel.direction == SDL_MOUSEWHEEL_FLIPPED ? -e->wheel.y : e->wheel.y;
      SDL_GetMouseState(&mx, &my);
      to_canvas(w, mx, my, &ev);
      break;
    case SDL_TEXTINPUT:
      ev.kind = GLAB_EV_KEY;
      ev.key = (unsigned char)e->text.text[0];
      break;
    default:
      return;
  }
  ev.mods = mods_of(SDL_GetModState());
  post(w, &ev);
}

static Uint32 event_window(const SDL_Event *e) {
  switch (e->type) {
    case SDL_WINDOWEVENT: return e->window.windowID;
    case SDL_KEYDOWN: return e->key.windowID;
    case SDL_TEXTINPUT: return e->text.windowID;
    case SDL_MOUSEMOTION: return e->motion.windowID;
    case SDL_MOUSEBUTTONDOWN: case SDL_MOUSEBUTTONUP: return e->button.windowID;
    case SDL_MOUSEWHEEL: return e->wheel.windowID;
    default: return 0;
  }
}

void glab_window_pump(void) {
  if (video_state <= 0) return;
  SDL_Event e;
  while (SDL_PollEvent(&e)) {
    Uint32 id = event_window(&e);
    glab_window *w = id ? find(id) : NULL;
    if (!w) continue;
    if (e.type == SDL_WINDOWEVENT && e.window.event == SDL_WINDOWEVENT_CLOSE) destroy(w);
    else if (e.type == SDL_WINDOWEVENT) redraw(w);      /* exposed, resized, ... */
    else if (e.type == SDL_KEYDOWN) own_key(w, e.key.keysym.sym);
    else if (e.type == SDL_TEXTINPUT && strchr(GLAB_WINDOW_KEYS, e.text.text[0]) &&
             (e.text.text[0] != 'n' || paused)) continue;  /* answered by own_key */
    else queue_event(w, &e);
  }
}

/* A frame is due after FRAME_MS, or after 19 times what the last one cost,
** whichever is longer: drawing then takes at most ~5% of the program's time. */
int glab_window_due(const glab_window *w) {
  double gap = (w->cost * 19 * 1000 > FRAME_MS ? w->cost * 19 * 1000 : FRAME_MS) * frame_scale;
  return !w->closed && SDL_GetTicks() - w->last_draw >= gap;
}

void glab_window_set_cost(glab_window *w, double seconds) { w->cost = seconds; }

void glab_window_hold_while_paused(void) {
  while (paused && glab_window_count_open() > 0) {
    glab_window_pump();
    SDL_Delay(15);
  }
}

void glab_window_present(glab_window *w, const glab_canvas *c) {
  glab_window_pump();
  if (w->closed) return;
  w->last_draw = SDL_GetTicks();
  if (!w->tex || w->tex_w != c->w || w->tex_h != c->h) {
    if (w->tex) SDL_DestroyTexture(w->tex);
    w->tex = SDL_CreateTexture(w->ren, SDL_PIXELFORMAT_ABGR8888, SDL_TEXTUREACCESS_STREAMING, c->w, c->h);
    w->tex_w = c->w;
    w->tex_h = c->h;
    if (!w->tex) return;
  }
  SDL_UpdateTexture(w->tex, NULL, c->px, c->w * 4);
  redraw(w);
}

void glab_window_set_title(glab_window *w, const char *title) { SDL_SetWindowTitle(w->win, title); }

int glab_window_closed(const glab_window *w) { return w->closed; }
int glab_window_paused(void) { return paused; }
void glab_window_set_paused(int on) { paused = on != 0; steps = 0; }

int glab_window_take_step(void) {
  if (!steps) return 0;
  steps--;
  return 1;
}

int glab_window_take_save(glab_window *w) {
  if (!w->save_requests) return 0;
  w->save_requests--;
  return 1;
}

void glab_window_close(glab_window *w) {
  if (!w) return;
  destroy(w);
  for (int i = 0; i < MAX_WINDOWS; i++)
    if (windows[i] == w) windows[i] = NULL;
  free(w);
}

int glab_window_count_open(void) {
  int n = 0;
  for (int i = 0; i < MAX_WINDOWS; i++) n += windows[i] && !windows[i]->closed;
  return n;
}

void glab_window_wait_all(void) {
  while (glab_window_count_open() > 0) {
    glab_window_pump();
    SDL_Delay(15);
  }
}
