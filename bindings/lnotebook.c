/*
** lnotebook.c -- the C half of genlab.notebook (bindings/genlab/notebook.lua):
** Markdown to HTML through cmark, CommonMark's reference implementation
** (Debian's libcmark), and base64 for the figures, fonts and scripts that a
** report carries inline.
*/
#include <cmark.h>
#include <stdlib.h>

#include "laux.h"

/*
** notebook._markdown(text) -> html.  Raw HTML in the text is left out
** (cmark's default safe mode), so prose cannot inject markup; the renderer
** puts its own math spans in afterwards.
*/
static int n_markdown(lua_State *L) {
  size_t n;
  const char *text = luaL_checklstring(L, 1, &n);
  char *html = cmark_markdown_to_html(text, n, CMARK_OPT_SMART);
  if (!html) return luaL_error(L, "notebook: cmark: out of memory");
  lua_pushstring(L, html);
  free(html);
  return 1;
}

/* notebook._base64(bytes) -> text: RFC 4648 with padding, no line breaks. */
static int n_base64(lua_State *L) {
  static const char digit[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t n;
  const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
  luaL_Buffer b;
  char *o = luaL_buffinitsize(L, &b, (n + 2) / 3 * 4);
  size_t k = 0;
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
                 (i + 2 < n ? s[i + 2] : 0);
    o[k++] = digit[v >> 18 & 63];
    o[k++] = digit[v >> 12 & 63];
    o[k++] = i + 1 < n ? digit[v >> 6 & 63] : '=';
    o[k++] = i + 2 < n ? digit[v & 63] : '=';
  }
  luaL_pushresultsize(&b, k);
  return 1;
}

static const lg_Reg functions[] = {
  {"_markdown", n_markdown,
   "notebook._markdown(text) -> html\n"
   "CommonMark to HTML by cmark (smart punctuation; raw HTML left out)."},
  {"_base64", n_base64,
   "notebook._base64(bytes) -> string\n"
   "The bytes in base64 (RFC 4648, padded, one line): for data: URLs."},
  {NULL, NULL, NULL}
};

void lg_open_notebook(lua_State *L) {
  lg_setfuncs(L, functions);
}
