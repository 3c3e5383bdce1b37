/*
 * json.h — reading JSON files with cJSON, with errors that name the file and
 * field. Text is checked to be UTF-8 first, since cJSON does not check it.
 */
#ifndef SN_BASE_JSON_H
#define SN_BASE_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

/* Largest JSON file we read whole (config files, not tokenizer.json). */
#define SN_JSON_MAX_FILE_BYTES (64u << 20)

/* Checks that `size` bytes are well-formed UTF-8 (no overlongs, surrogates or
 * code points above U+10FFFF). Returns 1 if valid; otherwise 0 and, when
 * bad_offset is non-NULL, the byte offset of the first invalid sequence. */
int sn_utf8_valid(const char *text, size_t size, size_t *bad_offset);

/* Parses `size` bytes as one JSON value. `label` names the source in errors.
 * On success *out is a new cJSON tree the caller frees with cJSON_Delete.
 * Errors: FORMAT (invalid UTF-8 with offset, or a syntax error with offset). */
sinter_status_t sn_json_parse(const char *text, size_t size, const char *label, cJSON **out,
                              sinter_error_t *err);

/* Reads and parses the file at `path` (at most SN_JSON_MAX_FILE_BYTES). */
sinter_status_t sn_json_load(const char *path, cJSON **out, sinter_error_t *err);

/* Reads integer field `key` of `obj` into *out, or `fallback` when absent or
 * null. FORMAT when it is not an integer in [min, max]. */
sinter_status_t sn_json_get_int(const cJSON *obj, const char *key, int64_t fallback, int64_t min,
                                int64_t max, const char *label, int64_t *out, sinter_error_t *err);

/* Reads a number field (or `fallback`); FORMAT when not a finite number. */
sinter_status_t sn_json_get_double(const cJSON *obj, const char *key, double fallback,
                                   const char *label, double *out, sinter_error_t *err);

/* Reads a boolean field (or `fallback`); FORMAT when not a boolean. */
sinter_status_t sn_json_get_bool(const cJSON *obj, const char *key, int fallback, const char *label,
                                 int *out, sinter_error_t *err);

/* Returns the string value of field `key` (borrowed from obj), or `fallback`
 * when absent or null; FORMAT (and *out NULL) when present but not a string. */
sinter_status_t sn_json_get_string(const cJSON *obj, const char *key, const char *fallback,
                                   const char *label, const char **out, sinter_error_t *err);

#endif
