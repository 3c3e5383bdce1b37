/* request.c — the shared parts of the request parsers (see request.h). */
#include "server/request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sn_request_init(sn_request_t *r, sn_op_t op) {
  memset(r, 0, sizeof *r);
  r->op = op;
  r->normalize = r->truncate = r->add_special = r->skip_special = 1;
}

void sn_request_free(sn_request_t *r) {
  if (!r) return;
  for (size_t i = 0; r->ids && i < r->count; i++) free(r->ids[i]);
  free(r->ids);
  free(r->id_lengths);
  free(r->texts);
  free(r->pairs);
  free(r->raw_text);
  cJSON_Delete(r->json);
  memset(r, 0, sizeof *r);
}

int sn_request_fail(sn_parse_error_t *e, unsigned status, const char *param, const char *fmt, ...) {
  e->status = status;
  e->kind = status == 429                    ? "Overloaded"
            : status == 503                  ? "Unhealthy"
            : status == 424 || status >= 500 ? "Backend"
                                             : "Validation";
  snprintf(e->param, sizeof e->param, "%s", param ? param : "");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->message, sizeof e->message, fmt, ap);
  va_end(ap);
  return -1;
}

int sn_request_parse_object(sn_request_t *r, const char *body, size_t size, unsigned status,
                            sn_parse_error_t *e) {
  r->json = cJSON_ParseWithLength(body ? body : "", size);
  if (!r->json || !cJSON_IsObject(r->json))
    return sn_request_fail(e, status, NULL, "the request body is not a JSON object");
  return 0;
}

/* The number of Unicode characters of a NUL-terminated UTF-8 string, or -1
 * when it is not valid UTF-8 (overlong forms, surrogates, above U+10FFFF). */
static long utf8_chars(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  long n = 0;
  while (*p) {
    unsigned c = *p, need = c < 0x80                ? 0
                            : c >= 0xC2 && c < 0xE0 ? 1
                            : (c & 0xF0) == 0xE0    ? 2
                            : c >= 0xF0 && c < 0xF5 ? 3
                                                    : 9;
    if (need == 9) return -1;
    unsigned cp = need == 0 ? c : need == 1 ? c & 0x1F : need == 2 ? c & 0x0F : c & 0x07;
    for (unsigned k = 1; k <= need; k++) {
      if ((p[k] & 0xC0) != 0x80) return -1;
      cp = cp << 6 | (p[k] & 0x3F);
    }
    if ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp < 0xE000))) ||
        (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
      return -1;
    p += need + 1;
    n++;
  }
  return n;
}

/* Checks one text: valid UTF-8, within the character limit. */
static int check_text(const char *s, const char *param, const sn_request_limits_t *lim,
                      sn_parse_error_t *e) {
  long chars = utf8_chars(s);
  if (chars < 0) return sn_request_fail(e, 422, param, "`%s` is not valid UTF-8", param);
  if (lim->max_input_chars && (size_t)chars > lim->max_input_chars)
    return sn_request_fail(e, 413, param,
                           "`%s` has %ld characters; the limit is %zu (--max-input-chars)", param,
                           chars, lim->max_input_chars);
  return 0;
}

static int check_count(size_t n, const char *name, const sn_request_limits_t *lim,
                       sn_parse_error_t *e) {
  if (n == 0) return sn_request_fail(e, 422, name, "`%s` cannot be empty", name);
  if (n > lim->max_inputs)
    return sn_request_fail(e, 413, name,
                           "`%s` has %zu inputs; the maximum batch size is %zu "
                           "(--max-client-batch-size)",
                           name, n, lim->max_inputs);
  return 0;
}

int sn_request_read_texts(sn_request_t *r, const cJSON *v, const char *name,
                          const sn_request_limits_t *lim, sn_parse_error_t *e) {
  if (!v || cJSON_IsNull(v)) return sn_request_fail(e, 422, name, "`%s` is missing", name);
  if (!cJSON_IsString(v) && !cJSON_IsArray(v))
    return sn_request_fail(e, 422, name, "`%s` must be a string or a list of strings", name);
  r->is_list = cJSON_IsArray(v);
  size_t n = r->is_list ? (size_t)cJSON_GetArraySize(v) : 1;
  if (check_count(n, name, lim, e)) return -1;
  r->texts = calloc(n, sizeof *r->texts);
  if (!r->texts) return sn_request_fail(e, 500, NULL, "out of memory");
  r->count = n;
  size_t i = 0;
  char param[64];
  for (const cJSON *x = r->is_list ? v->child : v; x && i < n; x = x->next, i++) {
    if (r->is_list)
      snprintf(param, sizeof param, "%s[%zu]", name, i);
    else
      snprintf(param, sizeof param, "%s", name);
    if (!cJSON_IsString(x)) return sn_request_fail(e, 422, param, "`%s` must be a string", param);
    if (check_text(x->valuestring, param, lim, e)) return -1;
    r->texts[i] = x->valuestring;
  }
  return 0;
}

/* 1 when `a` is a non-empty list of integers that fit an int32. */
static int is_id_list(const cJSON *a) {
  if (!cJSON_IsArray(a) || !a->child) return 0;
  for (const cJSON *x = a->child; x; x = x->next)
    if (!cJSON_IsNumber(x) || x->valuedouble < -2147483648.0 || x->valuedouble > 2147483647.0 ||
        x->valuedouble != (double)(int32_t)x->valuedouble)
      return 0;
  return 1;
}

/* Copies a token-id list into r->ids[i]. */
static int take_ids(sn_request_t *r, size_t i, const cJSON *list, sn_parse_error_t *e) {
  size_t len = (size_t)cJSON_GetArraySize(list), k = 0;
  r->ids[i] = malloc(len * sizeof(int32_t));
  if (!r->ids[i]) return sn_request_fail(e, 500, NULL, "out of memory");
  for (const cJSON *x = list->child; x && k < len; x = x->next)
    r->ids[i][k++] = (int32_t)x->valuedouble;
  r->id_lengths[i] = len;
  return 0;
}

int sn_request_read_inputs(sn_request_t *r, const cJSON *v, const char *name,
                           const sn_request_limits_t *lim, sn_parse_error_t *e) {
  if (!v || cJSON_IsNull(v)) return sn_request_fail(e, 422, name, "`%s` is missing", name);
  int one_ids = is_id_list(v);
  int lists = !one_ids && cJSON_IsArray(v) && v->child && cJSON_IsArray(v->child);
  if (!one_ids && !lists) return sn_request_read_texts(r, v, name, lim, e);
  r->is_list = lists;
  size_t n = lists ? (size_t)cJSON_GetArraySize(v) : 1;
  if (check_count(n, name, lim, e)) return -1;
  r->ids = calloc(n, sizeof *r->ids);
  r->id_lengths = calloc(n, sizeof *r->id_lengths);
  if (!r->ids || !r->id_lengths) return sn_request_fail(e, 500, NULL, "out of memory");
  r->count = n;
  if (one_ids) return take_ids(r, 0, v, e);
  size_t i = 0;
  for (const cJSON *x = v->child; x && i < n; x = x->next, i++) {
    if (!is_id_list(x))
      return sn_request_fail(e, 422, name, "`%s[%zu]` must be a non-empty list of token ids", name,
                             i);
    if (take_ids(r, i, x, e)) return -1;
  }
  return 0;
}

int sn_request_bool(const cJSON *obj, const char *field, int *out, sn_parse_error_t *e) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
  if (!v || cJSON_IsNull(v)) return 0;
  if (!cJSON_IsBool(v)) return sn_request_fail(e, 422, field, "`%s` must be true or false", field);
  *out = cJSON_IsTrue(v);
  return 0;
}

int sn_request_int(const cJSON *obj, const char *field, int32_t lo, int32_t hi, int32_t *out,
                   sn_parse_error_t *e) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
  if (!v || cJSON_IsNull(v)) return 0;
  if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi ||
      v->valuedouble != (double)(int32_t)v->valuedouble)
    return sn_request_fail(e, 422, field, "`%s` must be an integer from %d to %d", field, (int)lo,
                           (int)hi);
  *out = (int32_t)v->valuedouble;
  return 0;
}

int sn_request_string(const cJSON *obj, const char *field, const char **out, sn_parse_error_t *e) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
  if (!v || cJSON_IsNull(v)) return 0;
  if (!cJSON_IsString(v)) return sn_request_fail(e, 422, field, "`%s` must be a string", field);
  *out = v->valuestring;
  return 0;
}
