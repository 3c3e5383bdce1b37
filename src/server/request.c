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

/* Where a JSON text holds the escape \u0000 inside a string: cJSON decodes
 * strings NUL-terminated, so such a string would reach the tokenizer cut at
 * the NUL and answer for a text the client did not send. The body has parsed
 * as JSON, so a scan that follows the syntax finds each string exactly; it
 * names the field as the messages do ("inputs[3]", "documents[0].text").
 * Returns 1 with the path in param[cap], 0 when no string holds a NUL. */
enum { MAX_PATH_DEPTH = 64 };
static int find_nul_string(const char *s, size_t n, char *param, size_t cap) {
  static const char NUL_ESCAPE[] = "\\u0000";
  if (!memmem(s, n, NUL_ESCAPE, sizeof NUL_ESCAPE - 1)) return 0; /* the common case */
  /* Per level: '{' or '[', the index in an array, the last key of an object. */
  struct level {
    char kind;
    size_t index, key, key_len;
  } stack[MAX_PATH_DEPTH];
  size_t depth = 0, key_start = 0;
  int in_string = 0, is_key = 0, expect_key = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (in_string) {
      if (c == '"') {
        in_string = 0;
        if (is_key && depth && depth <= MAX_PATH_DEPTH) {
          stack[depth - 1].key = key_start;
          stack[depth - 1].key_len = i - key_start;
        }
      } else if (c == '\\' && i + 1 < n) {
        if (s[i + 1] == 'u' && i + 6 <= n && !memcmp(s + i, NUL_ESCAPE, 6)) {
          size_t used = 0;
          param[0] = '\0';
          for (size_t d = 0; d < depth && d < MAX_PATH_DEPTH && used + 1 < cap; d++) {
            const struct level *l = &stack[d];
            int w = l->kind == '[' ? snprintf(param + used, cap - used, "[%zu]", l->index)
                    : d + 1 == depth && is_key
                        ? 0
                        : snprintf(param + used, cap - used, "%s%.*s", used ? "." : "",
                                   (int)l->key_len, s + l->key);
            used += w > 0 ? (size_t)w : 0;
            if (used >= cap) used = cap - 1;
          }
          if (!used) snprintf(param, cap, "%s", "body");
          return 1;
        }
        i++; /* the escaped character; \uXXXX's digits are plain characters */
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = 1;
        is_key = expect_key;
        expect_key = 0;
        key_start = i + 1;
        break;
      case '{':
      case '[':
        if (depth < MAX_PATH_DEPTH) stack[depth] = (struct level){c, 0, 0, 0};
        depth++;
        expect_key = c == '{';
        break;
      case '}':
      case ']':
        if (depth) depth--;
        expect_key = 0;
        break;
      case ',':
        if (depth && depth <= MAX_PATH_DEPTH) {
          stack[depth - 1].index++;
          expect_key = stack[depth - 1].kind == '{';
        }
        break;
      default: break;
    }
  }
  return 0;
}

int sn_request_parse_json(sn_request_t *r, const char *body, size_t size, unsigned status,
                          sn_parse_error_t *e) {
  r->json = cJSON_ParseWithLength(body ? body : "", size);
  if (!r->json) return sn_request_fail(e, status, NULL, "the request body is not valid JSON");
  char param[sizeof e->param];
  if (find_nul_string(body, size, param, sizeof param))
    return sn_request_fail(e, 422, param,
                           "`%s` holds the character U+0000 (NUL), which is refused: it would "
                           "cut the text",
                           param);
  return 0;
}

int sn_request_parse_object(sn_request_t *r, const char *body, size_t size, unsigned status,
                            sn_parse_error_t *e) {
  if (sn_request_parse_json(r, body, size, status, e)) return -1;
  if (!cJSON_IsObject(r->json))
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

/* 1 when `a` is a non-empty list of numbers (token ids, maybe bad ones). */
static int is_number_list(const cJSON *a) {
  if (!cJSON_IsArray(a) || !a->child) return 0;
  for (const cJSON *x = a->child; x; x = x->next)
    if (!cJSON_IsNumber(x)) return 0;
  return 1;
}

/* Checks that each number of a number list is a token id: a whole number
 * from 0 to 2^31 - 1 (the model's vocabulary is checked when the model is
 * known). A client that sends another tokenizer's ids learns which. */
static int check_ids(const cJSON *list, const char *param, sn_parse_error_t *e) {
  size_t k = 0;
  for (const cJSON *x = list->child; x; x = x->next, k++)
    if (x->valuedouble < 0 || x->valuedouble > 2147483647.0 ||
        x->valuedouble != (double)(int32_t)x->valuedouble)
      return sn_request_fail(e, 422, param,
                             "Input validation error: `%s[%zu]` is %.17g, not a token id (a whole "
                             "number from 0)",
                             param, k, x->valuedouble);
  return 0;
}

/* Copies a token-id list into r->ids[i] (param names it in messages). */
static int take_ids(sn_request_t *r, size_t i, const cJSON *list, const char *param,
                    sn_parse_error_t *e) {
  if (check_ids(list, param, e)) return -1;
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
  int one_ids = is_number_list(v);
  int lists = !one_ids && cJSON_IsArray(v) && v->child && cJSON_IsArray(v->child);
  if (!one_ids && !lists) return sn_request_read_texts(r, v, name, lim, e);
  r->is_list = lists;
  r->input_field = name;
  size_t n = lists ? (size_t)cJSON_GetArraySize(v) : 1;
  if (check_count(n, name, lim, e)) return -1;
  r->ids = calloc(n, sizeof *r->ids);
  r->id_lengths = calloc(n, sizeof *r->id_lengths);
  if (!r->ids || !r->id_lengths) return sn_request_fail(e, 500, NULL, "out of memory");
  r->count = n;
  if (one_ids) return take_ids(r, 0, v, name, e);
  size_t i = 0;
  char param[64];
  for (const cJSON *x = v->child; x && i < n; x = x->next, i++) {
    snprintf(param, sizeof param, "%s[%zu]", name, i);
    if (!is_number_list(x))
      return sn_request_fail(e, 422, param, "`%s` must be a non-empty list of token ids", param);
    if (take_ids(r, i, x, param, e)) return -1;
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
