/*
** window.h -- SDL2 windows that present canvases without ever blocking the
** computation that draws them.  window.c is the only file including SDL.h.
**
** glab_window_available() says whether windows can be opened: not when
** GENLAB_HEADLESS is set (the --headless flag), nor without DISPLAY or
** WAYLAND_DISPLAY, nor when SDL cannot initialise its video.  Callers then
** write PNG files instead.
**
** Events are pumped on every present and pump call: resizing rescales the
** picture, closing a window marks it closed (the program goes on), and the
** keys are: s asks for a save (glab_window_take_save), space toggles a pause
** that the caller honours at its next update, n (while paused) lets one step
** through (glab_window_take_step), + and - redraw more or less often, q
** closes the window.  Mouse moves, presses, releases, wheel turns and other
** keys queue as glab_events in the canvas's own pixels, for the caller to
** take with glab_window_next_event.
*/
#ifndef GLAB_WINDOW_H
#define GLAB_WINDOW_H

#include "canvas.h"

typedef struct glab_window glab_window;

typedef enum {
  GLAB_EV_MOVE = 1, GLAB_EV_PRESS, GLAB_EV_RELEASE, GLAB_EV_WHEEL, GLAB_EV_KEY
} glab_event_kind;

#define GLAB_MOD_SHIFT 1
#define GLAB_MOD_CTRL 2
#define GLAB_MOD_ALT 4

typedef struct glab_event {
  glab_event_kind kind;
  double x, y;          /* in the presented canvas's pixels (the figure's own size) */
  int button;           /* PRESS/RELEASE: 1 left, 2 middle, 3 right; MOVE: buttons held, 1|2|4 */
  int mods;             /* GLAB_MOD_* held */
  int key;              /* KEY: the character typed ('r', '0', ...) */
  double wheel;         /* WHEEL: steps, positive away from the user */
} glab_event;

int glab_window_available(void);
/* The window opens at the canvas's size, shrunk (aspect kept) to fit the
** display's usable area less room for the window frame; the figure is
** scaled down to it, while its PNG keeps the full size. */
glab_status glab_window_open(glab_window **w, const char *title, int width, int height);
/* The fitting rule alone: (*w, *h) scaled down by one factor so that they fit
** avail_w x avail_h (never up); exposed for tests. */
void glab_window_fit(int *w, int *h, int avail_w, int avail_h);
/* Whether a frame is due: at most ~30 frames a second, fewer for figures
** that cost more to draw; a caller renders only when due, else just pumps. */
int glab_window_due(const glab_window *w);
/* What rendering and presenting the last frame cost the caller: frames are
** spaced so that drawing takes at most ~5% of the time. */
void glab_window_set_cost(glab_window *w, double seconds);
/* Show c scaled to the window, keeping its aspect. */
void glab_window_present(glab_window *w, const glab_canvas *c);
/* While space has paused the program, pump events (returns when resumed or
** when every window is closed). */
void glab_window_hold_while_paused(void);
void glab_window_pump(void);
/* The title bar's text (a figure without a control strip shows what the
** mouse is over there). */
void glab_window_set_title(glab_window *w, const char *title);
int glab_window_closed(const glab_window *w);
int glab_window_paused(void);
void glab_window_set_paused(int on);
/* The keys a window answers itself (q, s and the run-control keys): never
** passed on as GLAB_EV_KEY events. */
#define GLAB_WINDOW_KEYS " sqn+=-"

/* The run-control keys, as typed in any window: space pauses and resumes,
** n (while paused) lets one step through, + and - redraw more or less
** often.  Returns 1 when key is one of them (and applies it). */
int glab_window_run_key(int key);
/* True once per n pressed while paused: the paused loop may run one step. */
int glab_window_take_step(void);
/* The queued event of w into *ev: 1 when there was one, else 0. */
int glab_window_next_event(glab_window *w, glab_event *ev);
/* True once per 's' pressed in this window. */
int glab_window_take_save(glab_window *w);
void glab_window_close(glab_window *w);
/* Block, pumping events, until every window is closed. */
void glab_window_wait_all(void);
int glab_window_count_open(void);

#endif
