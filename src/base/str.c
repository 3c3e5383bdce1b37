/* str.c — small string helpers. */
#include "base/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *sn_format(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return NULL;
  char *s = malloc((size_t)n + 1);
  if (!s) return NULL;
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

int sn_strlist_vaddf(sn_strlist_t *l, size_t max, const char *fmt, va_list ap) {
  if (max && l->count >= max) return -1;
  char buf[1536];
  vsnprintf(buf, sizeof buf, fmt, ap);
  char **items = realloc(l->items, (l->count + 1) * sizeof *items);
  if (!items) return -1;
  l->items = items;
  if (!(items[l->count] = strdup(buf))) return -1;
  l->count++;
  return 0;
}

int sn_strlist_addf(sn_strlist_t *l, size_t max, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = sn_strlist_vaddf(l, max, fmt, ap);
  va_end(ap);
  return r;
}

const char *sn_strlist_at(const sn_strlist_t *l, size_t index) {
  return index < l->count ? l->items[index] : NULL;
}

void sn_strlist_clear(sn_strlist_t *l) {
  for (size_t i = 0; i < l->count; i++) free(l->items[i]);
  free(l->items);
  l->items = NULL;
  l->count = 0;
}
