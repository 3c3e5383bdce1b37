/* json.c — cJSON wrappers that validate UTF-8 and name the file and field. */
#include "base/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"

int sn_utf8_valid(const char *text, size_t size, size_t *bad_offset) {
  const unsigned char *s = (const unsigned char *)text;
  size_t i = 0;
  while (i < size) {
    unsigned c = s[i];
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 4, cp = c & 0x07;
    } else {
      goto bad;
    }
    if (size - i < n) goto bad;
    for (size_t k = 1; k < n; k++) {
      if ((s[i + k] & 0xC0) != 0x80) goto bad;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    /* Overlong forms, UTF-16 surrogates and values past U+10FFFF are invalid. */
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      goto bad;
    i += n;
  }
  return 1;
bad:
  if (bad_offset) *bad_offset = i;
  return 0;
}

sinter_status_t sn_json_parse(const char *text, size_t size, const char *label, cJSON **out,
                              sinter_error_t *err) {
  *out = NULL;
  size_t bad = 0;
  if (!sn_utf8_valid(text, size, &bad))
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: invalid UTF-8 at byte %zu", label, bad);
  /* JSON text holds no raw control bytes (strings escape them): cJSON would
   * take a NUL inside a key as its end, and what was parsed would differ
   * from what is stored. Trailing NULs (a terminated buffer) are allowed. */
  size_t used = size;
  while (used > 0 && text[used - 1] == '\0') used--;
  for (size_t i = 0; i < used; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
      return sn_error_set(err, SINTER_ERR_FORMAT,
                          "%s: control byte 0x%02x at byte %zu (JSON escapes it as \\u%04x)", label,
                          c, i, c);
  }
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(text, size, &end, 0);
  if (!root) {
    size_t at = end && end >= text ? (size_t)(end - text) : 0;
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: invalid JSON near byte %zu", label, at);
  }
  /* Trailing non-space bytes mean the file is not one JSON value. */
  for (const char *p = end; p && p < text + size; p++) {
    if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t' && *p != '\0') {
      cJSON_Delete(root);
      return sn_error_set(err, SINTER_ERR_FORMAT, "%s: unexpected data after JSON at byte %zu",
                          label, (size_t)(p - text));
    }
  }
  *out = root;
  return SINTER_OK;
}

sinter_status_t sn_json_load(const char *path, cJSON **out, sinter_error_t *err) {
  char *text = NULL;
  size_t size = 0;
  *out = NULL;
  SN_TRY(sn_file_read_all(path, SN_JSON_MAX_FILE_BYTES, &text, &size, err));
  sinter_status_t st = sn_json_parse(text, size, path, out, err);
  free(text);
  return st;
}

sinter_status_t sn_json_get_int(const cJSON *obj, const char *key, int64_t fallback, int64_t min,
                                int64_t max, const char *label, int64_t *out, sinter_error_t *err) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!v || cJSON_IsNull(v)) {
    *out = fallback;
    return SINTER_OK;
  }
  double d = v->valuedouble;
  if (!cJSON_IsNumber(v) || !isfinite(d) || d != floor(d))
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: field \"%s\" must be an integer", label, key);
  if (d < (double)min || d > (double)max)
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: field \"%s\" is %.0f, expected %lld to %lld",
                        label, key, d, (long long)min, (long long)max);
  *out = (int64_t)d;
  return SINTER_OK;
}

sinter_status_t sn_json_get_double(const cJSON *obj, const char *key, double fallback,
                                   const char *label, double *out, sinter_error_t *err) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!v || cJSON_IsNull(v)) {
    *out = fallback;
    return SINTER_OK;
  }
  if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: field \"%s\" must be a number", label, key);
  *out = v->valuedouble;
  return SINTER_OK;
}

sinter_status_t sn_json_get_bool(const cJSON *obj, const char *key, int fallback, const char *label,
                                 int *out, sinter_error_t *err) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!v || cJSON_IsNull(v)) {
    *out = fallback;
    return SINTER_OK;
  }
  if (!cJSON_IsBool(v))
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: field \"%s\" must be true or false", label,
                        key);
  *out = cJSON_IsTrue(v) ? 1 : 0;
  return SINTER_OK;
}

sinter_status_t sn_json_get_string(const cJSON *obj, const char *key, const char *fallback,
                                   const char *label, const char **out, sinter_error_t *err) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!v || cJSON_IsNull(v)) {
    *out = fallback;
    return SINTER_OK;
  }
  if (!cJSON_IsString(v)) {
    *out = NULL;
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: field \"%s\" must be a string", label, key);
  }
  *out = v->valuestring;
  return SINTER_OK;
}
