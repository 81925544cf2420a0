/*
** window.c -- presenting canvases in SDL2 windows (see window.h); the one
** file of genlab that includes SDL.h.
*/
#include <stdlib.h>
#include <string.h>

#include <SDL.h>

#include "window.h"

#define MAX_WINDOWS 32
#define FRAME_MS 33

struct glab_window {
  SDL_Window *win;
  SDL_Renderer *ren;
  SDL_Texture *tex;
  int tex_w, tex_h;
  Uint32 last_draw;
  double cost;                   /* seconds the caller spent on the last frame */
  int closed, save_requests;
};

static glab_window *windows[MAX_WINDOWS];
static int video_state;          /* 0 untried, 1 up, -1 unavailable */
static int paused;

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
  SDL_RenderCopy(w->ren, w->tex, NULL, &dst);
  SDL_RenderPresent(w->ren);
}

void glab_window_pump(void) {
  if (video_state <= 0) return;
  SDL_Event e;
  while (SDL_PollEvent(&e)) {
    Uint32 id = e.type == SDL_WINDOWEVENT ? e.window.windowID : e.type == SDL_KEYDOWN ? e.key.windowID : 0;
    glab_window *w = id ? find(id) : NULL;
    if (!w) continue;
    if (e.type == SDL_WINDOWEVENT && e.window.event == SDL_WINDOWEVENT_CLOSE) destroy(w);
    else if (e.type == SDL_WINDOWEVENT) redraw(w);      /* exposed, resized, ... */
    else if (e.type == SDL_KEYDOWN && e.key.keysym.sym == SDLK_q) destroy(w);
    else if (e.type == SDL_KEYDOWN && e.key.keysym.sym == SDLK_s) w->save_requests++;
    else if (e.type == SDL_KEYDOWN && e.key.keysym.sym == SDLK_SPACE) paused = !paused;
  }
}

/* A frame is due after FRAME_MS, or after 19 times what the last one cost,
** whichever is longer: drawing then takes at most ~5% of the program's time. */
int glab_window_due(const glab_window *w) {
  double gap = w->cost * 19 * 1000 > FRAME_MS ? w->cost * 19 * 1000 : FRAME_MS;
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

int glab_window_closed(const glab_window *w) { return w->closed; }
int glab_window_paused(void) { return paused; }

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
