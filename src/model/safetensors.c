/*
 * safetensors.c — parses and validates safetensors files (single, in-memory or
 * sharded) into an archive of tensors whose data stays in the file mappings.
 *
 * Every byte of the input is untrusted: lengths are checked before use, JSON
 * numbers are checked to be exact integers before conversion, and products
 * are checked for overflow, so malformed input yields an error, never UB.
 */
#include "model/safetensors.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"

/* cJSON holds numbers as doubles, which are exact integers only below 2^53. */
#define MAX_EXACT_INT 9007199254740992.0

typedef struct shard {
  sn_mapped_file_t map; /* zero for a caller-owned buffer, so unmapping is a no-op */
  char *label;          /* path or buffer label; tensors' `file` points here */
} shard_t;

struct sn_st_archive {
  sn_st_tensor_t *tensors; /* sorted by name once an open call returns */
  size_t count, cap;
  shard_t *shards;
  size_t shard_count;
};

static const struct {
  const char *name;
  size_t size;
} kDtypes[] = {
    [SN_ST_F32] = {"F32", 4},   [SN_ST_F16] = {"F16", 2}, [SN_ST_BF16] = {"BF16", 2},
    [SN_ST_F64] = {"F64", 8},   [SN_ST_I64] = {"I64", 8}, [SN_ST_I32] = {"I32", 4},
    [SN_ST_I16] = {"I16", 2},   [SN_ST_I8] = {"I8", 1},   [SN_ST_U8] = {"U8", 1},
    [SN_ST_BOOL] = {"BOOL", 1},
};
#define DTYPE_COUNT (sizeof kDtypes / sizeof kDtypes[0])
#define DTYPE_LIST "F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL"

/* Valid safetensors dtypes we do not handle: refused as UNSUPPORTED rather
 * than FORMAT, so a user knows the file is fine but the engine is not. */
static const char *const kOtherDtypes[] = {"U16",     "U32",     "U64",     "F8_E4M3", "F8_E5M2",
                                           "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4",      "C64"};

const char *sn_st_dtype_name(sn_st_dtype_t dtype) {
  return (unsigned)dtype < DTYPE_COUNT ? kDtypes[dtype].name : "?";
}

size_t sn_st_dtype_size(sn_st_dtype_t dtype) {
  return (unsigned)dtype < DTYPE_COUNT ? kDtypes[dtype].size : 0;
}

static sinter_status_t fail(sinter_error_t *err, sinter_status_t code, const char *label,
                            const char *fmt, ...) SN_PRINTF(4, 5);

/* Sets err to "label: message"; every error of this module names its file. */
static sinter_status_t fail(sinter_error_t *err, sinter_status_t code, const char *label,
                            const char *fmt, ...) {
  if (!err) return code;
  char msg[sizeof err->message];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return sn_error_set(err, code, "%s: %s", label, msg);
}

/* Describes a JSON value for "got ..." in messages. */
static const char *describe(const cJSON *j, char *buf, size_t cap) {
  if (!j) return "nothing (missing)";
  if (cJSON_IsNumber(j)) {
    snprintf(buf, cap, "%.17g", j->valuedouble);
    return buf;
  }
  if (cJSON_IsString(j)) return "a string";
  if (cJSON_IsArray(j)) return "an array";
  if (cJSON_IsObject(j)) return "an object";
  if (cJSON_IsBool(j)) return "a boolean";
  return "null";
}

/* Reads an exact non-negative integer below 2^53; 0 for anything else. cJSON
 * drops the spelling, so 1.0 passes where serde (the Rust crate) refuses it. */
static int get_uint(const cJSON *j, uint64_t *out) {
  if (!cJSON_IsNumber(j)) return 0;
  double d = j->valuedouble;
  if (!(d >= 0 && d < MAX_EXACT_INT)) return 0; /* also rejects NaN before the cast */
  uint64_t u = (uint64_t)d;
  if ((double)u != d) return 0;
  *out = u;
  return 1;
}

/* Qsort/bsearch comparator for any struct whose first member is a const char *
 * (sn_st_tensor_t, map_entry_t) or for arrays of const char *: C guarantees a
 * pointer to a struct converts to a pointer to its first member. */
static int cmp_first_str(const void *x, const void *y) {
  return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Orders the tensors of one file by where their data starts, then by size. */
static int cmp_offset(const void *x, const void *y) {
  const sn_st_tensor_t *a = x, *b = y;
  const unsigned char *pa = a->data, *pb = b->data;
  if (pa != pb) return pa < pb ? -1 : 1;
  return (a->nbytes > b->nbytes) - (a->nbytes < b->nbytes);
}

static sinter_status_t archive_new(size_t shard_count, sn_st_archive_t **out, sinter_error_t *err) {
  sn_st_archive_t *a = calloc(1, sizeof *a);
  if (a) a->shards = calloc(shard_count, sizeof *a->shards);
  if (!a || !a->shards) {
    free(a);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "safetensors: cannot allocate an archive");
  }
  a->shard_count = shard_count;
  *out = a;
  return SINTER_OK;
}

void sn_st_close(sn_st_archive_t *a) {
  if (!a) return;
  for (size_t i = 0; i < a->count; i++) free((char *)a->tensors[i].name);
  for (size_t i = 0; i < a->shard_count; i++) {
    sn_file_unmap(&a->shards[i].map);
    free(a->shards[i].label);
  }
  free(a->tensors);
  free(a->shards);
  free(a);
}

static sinter_status_t push_tensor(sn_st_archive_t *a, sn_st_tensor_t *t, const char *name,
                                   sinter_error_t *err) {
  if (a->count == a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 16;
    sn_st_tensor_t *grown = realloc(a->tensors, cap * sizeof *grown);
    if (!grown) return fail(err, SINTER_ERR_OUT_OF_MEMORY, t->file, "cannot grow tensor table");
    a->tensors = grown;
    a->cap = cap;
  }
  char *copy = strdup(name);
  if (!copy) return fail(err, SINTER_ERR_OUT_OF_MEMORY, t->file, "cannot copy a tensor name");
  t->name = copy;
  a->tensors[a->count++] = *t;
  return SINTER_OK;
}

/* Validates one header entry and appends its tensor (or checks __metadata__). */
static sinter_status_t parse_entry(sn_st_archive_t *a, const cJSON *item, const unsigned char *data,
                                   size_t data_size, size_t data_start, const char *label,
                                   sinter_error_t *err) {
  const char *name = item->string;
  char got[48];
  if (strcmp(name, "__metadata__") == 0) {
    if (cJSON_IsNull(item)) return SINTER_OK; /* the Rust crate reads it as an Option */
    if (!cJSON_IsObject(item))
      return fail(err, SINTER_ERR_FORMAT, label,
                  "\"__metadata__\" must be an object of strings, got %s",
                  describe(item, got, sizeof got));
    for (const cJSON *m = item->child; m; m = m->next)
      if (!cJSON_IsString(m))
        return fail(err, SINTER_ERR_FORMAT, label,
                    "\"__metadata__\" value \"%.200s\" must be a string, got %s", m->string,
                    describe(m, got, sizeof got));
    return SINTER_OK;
  }
  if (!cJSON_IsObject(item))
    return fail(err, SINTER_ERR_FORMAT, label,
                "tensor \"%.200s\": expected an object with dtype, shape and data_offsets, got %s",
                name, describe(item, got, sizeof got));

  /* One pass instead of lookups, so a repeated field (which cJSON keeps) is
   * caught rather than silently shadowed. */
  const cJSON *jd = NULL, *js = NULL, *jo = NULL;
  for (const cJSON *f = item->child; f; f = f->next) {
    const cJSON **slot = strcmp(f->string, "dtype") == 0          ? &jd
                         : strcmp(f->string, "shape") == 0        ? &js
                         : strcmp(f->string, "data_offsets") == 0 ? &jo
                                                                  : NULL;
    if (slot && *slot)
      return fail(err, SINTER_ERR_FORMAT, label, "tensor \"%.200s\": field \"%s\" appears twice",
                  name, f->string);
    if (slot) *slot = f;
  }
  sn_st_tensor_t t = {.file = label, .rank = 0, .numel = 1};
  if (!cJSON_IsString(jd))
    return fail(err, SINTER_ERR_FORMAT, label,
                "tensor \"%.200s\": \"dtype\" must be a string, got %s", name,
                describe(jd, got, sizeof got));
  size_t d = 0;
  while (d < DTYPE_COUNT && strcmp(jd->valuestring, kDtypes[d].name) != 0) d++;
  if (d == DTYPE_COUNT) {
    for (size_t i = 0; i < sizeof kOtherDtypes / sizeof kOtherDtypes[0]; i++)
      if (strcmp(jd->valuestring, kOtherDtypes[i]) == 0)
        return fail(err, SINTER_ERR_UNSUPPORTED, label,
                    "tensor \"%.200s\": dtype %s is not supported (supported: " DTYPE_LIST ")",
                    name, jd->valuestring);
    return fail(err, SINTER_ERR_FORMAT, label,
                "tensor \"%.200s\": unknown dtype \"%.40s\" (expected one of " DTYPE_LIST ")", name,
                jd->valuestring);
  }
  t.dtype = (sn_st_dtype_t)d;

  if (!cJSON_IsArray(js))
    return fail(err, SINTER_ERR_FORMAT, label,
                "tensor \"%.200s\": \"shape\" must be an array of non-negative integers, got %s",
                name, describe(js, got, sizeof got));
  for (const cJSON *dim = js->child; dim; dim = dim->next, t.rank++) {
    if (t.rank == SN_ST_MAX_RANK)
      return fail(err, SINTER_ERR_LIMIT, label,
                  "tensor \"%.200s\": rank %d exceeds the limit of %d", name,
                  cJSON_GetArraySize(js), SN_ST_MAX_RANK);
    uint64_t v;
    if (!get_uint(dim, &v))
      return fail(err, SINTER_ERR_FORMAT, label,
                  "tensor \"%.200s\": shape[%d] must be a non-negative integer below 2^53, got %s",
                  name, t.rank, describe(dim, got, sizeof got));
    if (v != 0 && (uint64_t)t.numel > (uint64_t)INT64_MAX / v)
      return fail(err, SINTER_ERR_FORMAT, label, "tensor \"%.200s\": element count overflows",
                  name);
    t.shape[t.rank] = (int64_t)v;
    t.numel *= (int64_t)v;
  }

  uint64_t begin, end;
  if (!cJSON_IsArray(jo) || cJSON_GetArraySize(jo) != 2 || !get_uint(jo->child, &begin) ||
      !get_uint(jo->child->next, &end) || begin > end)
    return fail(err, SINTER_ERR_FORMAT, label,
                "tensor \"%.200s\": \"data_offsets\" must be [begin, end], two integers in "
                "[0, 2^53) with begin <= end",
                name);
  if (end > data_size)
    return fail(err, SINTER_ERR_FORMAT, label,
                "tensor \"%.200s\": data_offsets [%llu, %llu] end past the %zu-byte data area "
                "(file byte %llu, file size %zu)",
                name, (unsigned long long)begin, (unsigned long long)end, data_size,
                (unsigned long long)(data_start + end), data_start + data_size);
  size_t esize = kDtypes[d].size;
  if ((uint64_t)t.numel > UINT64_MAX / esize)
    return fail(err, SINTER_ERR_FORMAT, label, "tensor \"%.200s\": byte size overflows", name);
  if ((uint64_t)t.numel * esize != end - begin)
    return fail(err, SINTER_ERR_FORMAT, label,
                "tensor \"%.200s\": %lld elements of %s need %llu bytes, but data_offsets "
                "[%llu, %llu] span %llu",
                name, (long long)t.numel, kDtypes[d].name,
                (unsigned long long)((uint64_t)t.numel * esize), (unsigned long long)begin,
                (unsigned long long)end, (unsigned long long)(end - begin));
  t.data = data + begin;
  t.nbytes = (size_t)(end - begin);
  return push_tensor(a, &t, name, err);
}

/* Sorts ts[0..n) by name, rejecting repeats: cJSON keeps duplicate keys as
 * separate children, and shards may collide. */
static sinter_status_t sort_unique(sn_st_tensor_t *ts, size_t n, sinter_error_t *err) {
  if (n) qsort(ts, n, sizeof *ts, cmp_first_str);
  for (size_t i = 1; i < n; i++) {
    const sn_st_tensor_t *x = &ts[i - 1], *y = &ts[i];
    if (strcmp(x->name, y->name) != 0) continue;
    if (x->file == y->file)
      return fail(err, SINTER_ERR_FORMAT, x->file, "duplicate tensor name \"%.200s\" in the header",
                  x->name);
    return sn_error_set(err, SINTER_ERR_FORMAT,
                        "tensor \"%.200s\" is present in two shards: %s and %s", x->name, x->file,
                        y->file);
  }
  return SINTER_OK;
}

/* Checks that tensors[first..count), all of one file, tile its data area:
 * what the Rust crate reports as MetadataIncompleteBuffer. */
static sinter_status_t check_coverage(sn_st_archive_t *a, size_t first, const unsigned char *data,
                                      size_t data_size, size_t data_start, const char *label,
                                      sinter_error_t *err) {
  size_t n = a->count - first, expect = 0;
  /* No arithmetic on a->tensors when it is still NULL (empty header). */
  sn_st_tensor_t *ts = n ? a->tensors + first : NULL;
  if (n) qsort(ts, n, sizeof *ts, cmp_offset);
  for (size_t i = 0; i < n; i++) {
    size_t b = (size_t)((const unsigned char *)ts[i].data - data);
    if (b > expect)
      return fail(
          err, SINTER_ERR_FORMAT, label,
          "gap in the data area: bytes [%zu, %zu) (file bytes [%zu, %zu)) between %s%.200s%s "
          "and tensor \"%.200s\" belong to no tensor; tensors must be contiguous",
          expect, b, data_start + expect, data_start + b, i ? "tensor \"" : "the start",
          i ? ts[i - 1].name : "", i ? "\"" : "", ts[i].name);
    if (b < expect)
      return fail(err, SINTER_ERR_FORMAT, label,
                  "tensors \"%.200s\" (data bytes [%zu, %zu)) and \"%.200s\" ([%zu, %zu)) overlap",
                  ts[i - 1].name, expect - ts[i - 1].nbytes, expect, ts[i].name, b,
                  b + ts[i].nbytes);
    expect = b + ts[i].nbytes;
  }
  if (expect != data_size)
    return fail(err, SINTER_ERR_FORMAT, label,
                "data area is %zu bytes but tensors cover only [0, %zu); bytes from file byte %zu "
                "on belong to no tensor",
                data_size, expect, data_start + expect);
  return SINTER_OK;
}

/* Offset of the first byte of s[0..n) that is not well-formed UTF-8 (RFC 3629:
 * no overlongs, surrogates or code points above U+10FFFF), or n. The Rust crate
 * requires a UTF-8 header, and names flow on into logs and JSON replies. */
static size_t utf8_invalid_at(const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n;) {
    unsigned c = s[i];
    size_t len = c < 0x80                 ? 1
                 : c >= 0xc2 && c <= 0xdf ? 2
                 : (c & 0xf0) == 0xe0     ? 3
                 : c >= 0xf0 && c <= 0xf4 ? 4
                                          : 0;
    if (len == 0 || n - i < len) return i;
    for (size_t k = 1; k < len; k++)
      if ((s[i + k] & 0xc0) != 0x80) return i;
    unsigned c1 = len > 1 ? s[i + 1] : 0;
    if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0) || (c == 0xf0 && c1 < 0x90) ||
        (c == 0xf4 && c1 >= 0x90))
      return i;
    i += len;
  }
  return n;
}

/* Parses the file image base[0..size) named `label` (archive-owned), appending
 * its tensors to `a`. */
static sinter_status_t parse_file(sn_st_archive_t *a, const unsigned char *base, size_t size,
                                  const char *label, sinter_error_t *err) {
  if (size < 8)
    return fail(err, SINTER_ERR_FORMAT, label,
                "file is %zu bytes, shorter than the 8-byte header length prefix", size);
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = hlen << 8 | base[i];
  if (hlen > SN_ST_MAX_HEADER_BYTES)
    return fail(err, SINTER_ERR_LIMIT, label, "header length %llu exceeds the limit of %u bytes",
                (unsigned long long)hlen, SN_ST_MAX_HEADER_BYTES);
  if (hlen > size - 8)
    return fail(err, SINTER_ERR_FORMAT, label,
                "truncated: header length is %llu bytes but only %zu bytes follow the prefix",
                (unsigned long long)hlen, size - 8);
  const char *text = (const char *)base + 8, *end = NULL;
  size_t data_start = 8 + (size_t)hlen, bad = utf8_invalid_at(base + 8, (size_t)hlen);
  if (bad < hlen)
    return fail(err, SINTER_ERR_FORMAT, label, "header is not valid UTF-8 at file byte %zu",
                8 + bad);
  /* cJSON would skip a byte-order mark; the Rust crate rejects it, and so do we. */
  if (hlen >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
    return fail(err, SINTER_ERR_FORMAT, label, "header starts with a UTF-8 byte-order mark");
  cJSON *root = cJSON_ParseWithLengthOpts(text, (size_t)hlen, &end, 0);
  if (!root)
    return fail(err, SINTER_ERR_FORMAT, label,
                "header is not valid JSON (error near file byte %zu)",
                8 + (end ? (size_t)(end - text) : 0));
  sinter_status_t st = SINTER_OK;
  /* Writers pad the header with spaces for alignment; anything else is junk. */
  for (const char *p = end; p < text + hlen && st == SINTER_OK; p++)
    if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
      st = fail(err, SINTER_ERR_FORMAT, label,
                "unexpected byte 0x%02x after the header JSON at file byte %zu; only whitespace "
                "may follow it",
                (unsigned char)*p, 8 + (size_t)(p - text));
  if (st == SINTER_OK && !cJSON_IsObject(root)) {
    char got[48];
    st = fail(err, SINTER_ERR_FORMAT, label, "header must be a JSON object, got %s",
              describe(root, got, sizeof got));
  }
  size_t first = a->count;
  for (const cJSON *c = root->child; c && st == SINTER_OK; c = c->next)
    st = parse_entry(a, c, base + data_start, size - data_start, data_start, label, err);
  cJSON_Delete(root);
  /* Names first, so a repeated entry reads as a duplicate, not an overlap. */
  if (st == SINTER_OK && a->count > first)
    st = sort_unique(a->tensors + first, a->count - first, err);
  if (st != SINTER_OK) return st;
  return check_coverage(a, first, base + data_start, size - data_start, data_start, label, err);
}

/* Shared by the open calls: adopts `label`, parses, and cleans up on error. */
static sinter_status_t open_image(const void *data, size_t size, char *label, int mapped,
                                  sn_st_archive_t **out, sinter_error_t *err) {
  sn_st_archive_t *a = NULL;
  sinter_status_t st = archive_new(1, &a, err);
  if (st != SINTER_OK) {
    free(label);
    return st;
  }
  a->shards[0].label = label;
  if (mapped) a->shards[0].map = (sn_mapped_file_t){data, size};
  if (!label) {
    st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "safetensors: cannot copy a file label");
  } else {
    st = parse_file(a, data, size, label, err);
    if (st == SINTER_OK) st = sort_unique(a->tensors, a->count, err);
  }
  if (st != SINTER_OK) {
    sn_st_close(a);
    return st;
  }
  *out = a;
  return SINTER_OK;
}

sinter_status_t sn_st_open_buffer(const void *data, size_t size, const char *label,
                                  sn_st_archive_t **out, sinter_error_t *err) {
  if (!out || (!data && size))
    return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                        "sn_st_open_buffer: NULL output or NULL data with size %zu", size);
  *out = NULL;
  return open_image(data, size, strdup(label ? label : "<buffer>"), 0, out, err);
}

sinter_status_t sn_st_open_file(const char *path, sn_st_archive_t **out, sinter_error_t *err) {
  if (!out || !path)
    return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT, "sn_st_open_file: NULL path or output");
  *out = NULL;
  sn_mapped_file_t map;
  SN_TRY(sn_file_map(path, &map, err));
  char *label = strdup(path);
  if (!label) sn_file_unmap(&map); /* open_image reports the failure */
  return open_image(map.data, map.size, label, label != NULL, out, err);
}

typedef struct map_entry {
  const char *name; /* first member: sorted and searched with cmp_first_str */
  const char *file;
  size_t shard;
} map_entry_t;

static int plain_file_name(const char *s) {
  return s[0] && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 && !strchr(s, '/') && !strchr(s, '\\');
}

/* Opens the shards listed by the index file `index` and cross-checks them. */
static sinter_status_t open_index(const char *dir, const char *index, sn_st_archive_t **out,
                                  sinter_error_t *err) {
  char *text = NULL, got[48];
  size_t len = 0, n = 0, nfiles = 0;
  cJSON *root = NULL;
  map_entry_t *entries = NULL;
  const char **files = NULL;
  sn_st_archive_t *a = NULL;
  sinter_status_t st = sn_file_read_all(index, SN_ST_MAX_HEADER_BYTES, &text, &len, err);
  if (st != SINTER_OK) return st;
  root = cJSON_ParseWithLength(text, len);
  /* Only look up "weight_map" in an object: cJSON's lookup on an array can
   * return an element, whose key is NULL. */
  const cJSON *wm =
      cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "weight_map") : NULL;
  if (!cJSON_IsObject(wm)) {
    st = fail(err, SINTER_ERR_FORMAT, index,
              root ? "expected a JSON object with a \"weight_map\" object (tensor name -> shard "
                     "file name)"
                   : "not valid JSON");
    goto done;
  }
  for (const cJSON *c = wm->child; c; c = c->next) n++;
  if (n == 0) {
    st = fail(err, SINTER_ERR_FORMAT, index, "\"weight_map\" is empty; expected tensor names");
    goto done;
  }
  entries = calloc(n, sizeof *entries);
  files = calloc(n, sizeof *files);
  if (!entries || !files) {
    st = fail(err, SINTER_ERR_OUT_OF_MEMORY, index, "cannot allocate %zu weight_map entries", n);
    goto done;
  }
  n = 0;
  for (const cJSON *c = wm->child; c; c = c->next, n++) {
    if (!cJSON_IsString(c) || !plain_file_name(c->valuestring)) {
      st = fail(err, SINTER_ERR_FORMAT, index,
                "weight_map[\"%.200s\"] must be a shard file name in the same folder (not empty, "
                "\".\" or \"..\", no '/'), got %s%.200s%s",
                c->string, cJSON_IsString(c) ? "\"" : describe(c, got, sizeof got),
                cJSON_IsString(c) ? c->valuestring : "", cJSON_IsString(c) ? "\"" : "");
      goto done;
    }
    entries[n] = (map_entry_t){c->string, c->valuestring, 0};
    files[n] = c->valuestring;
  }
  /* Many tensors share a shard: open each distinct file once, in name order. */
  qsort(files, n, sizeof *files, cmp_first_str);
  for (size_t i = 0; i < n; i++)
    if (nfiles == 0 || strcmp(files[nfiles - 1], files[i]) != 0) files[nfiles++] = files[i];
  if ((st = archive_new(nfiles, &a, err)) != SINTER_OK) goto done;
  for (size_t i = 0; i < nfiles; i++) {
    shard_t *s = &a->shards[i];
    if (!(s->label = sn_path_join(dir, files[i]))) {
      st = fail(err, SINTER_ERR_OUT_OF_MEMORY, index, "cannot allocate a shard path");
      goto done;
    }
    if (!sn_path_exists(s->label)) {
      st = fail(err, SINTER_ERR_NOT_FOUND, index,
                "shard file %s named in weight_map does not exist", s->label);
      goto done;
    }
    if ((st = sn_file_map(s->label, &s->map, err)) != SINTER_OK ||
        (st = parse_file(a, s->map.data, s->map.size, s->label, err)) != SINTER_OK)
      goto done;
  }
  if ((st = sort_unique(a->tensors, a->count, err)) != SINTER_OK) goto done;

  qsort(entries, n, sizeof *entries, cmp_first_str);
  for (size_t i = 0; i < n; i++) {
    if (i && strcmp(entries[i - 1].name, entries[i].name) == 0) {
      st = fail(err, SINTER_ERR_FORMAT, index, "weight_map lists tensor \"%.200s\" twice",
                entries[i].name);
      goto done;
    }
    const char **f = bsearch(&entries[i].file, files, nfiles, sizeof *files, cmp_first_str);
    entries[i].shard = (size_t)(f - files); /* always found: files holds every entry's file */
  }
  for (size_t i = 0; i < a->count; i++) {
    const sn_st_tensor_t *t = &a->tensors[i];
    const map_entry_t *e = bsearch(t, entries, n, sizeof *entries, cmp_first_str);
    if (!e || a->shards[e->shard].label != t->file) {
      st = fail(err, SINTER_ERR_FORMAT, index,
                "tensor \"%.200s\" is in shard %s, but weight_map %s%.200s", t->name, t->file,
                e ? "places it in " : "does not list it", e ? e->file : "");
      goto done;
    }
  }
  for (size_t i = 0; i < n; i++)
    if (!sn_st_find(a, entries[i].name)) {
      st = fail(err, SINTER_ERR_NOT_FOUND, index,
                "tensor \"%.200s\" listed in weight_map is missing from shard %s", entries[i].name,
                a->shards[entries[i].shard].label);
      goto done;
    }
  *out = a;
  a = NULL;
done:
  sn_st_close(a);
  free(files);
  free(entries);
  cJSON_Delete(root);
  free(text);
  return st;
}

sinter_status_t sn_st_open_dir(const char *dir, sn_st_archive_t **out, sinter_error_t *err) {
  if (!out || !dir)
    return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT, "sn_st_open_dir: NULL folder or output");
  *out = NULL;
  char *index = sn_path_join(dir, "model.safetensors.index.json");
  char *single = sn_path_join(dir, "model.safetensors");
  sinter_status_t st;
  if (!index || !single)
    st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "%s: cannot allocate a path", dir);
  else if (sn_path_exists(index))
    st = open_index(dir, index, out, err);
  else if (sn_path_exists(single))
    st = sn_st_open_file(single, out, err);
  else
    st = sn_error_set(err, SINTER_ERR_NOT_FOUND,
                      "%s: no weights: neither model.safetensors.index.json nor model.safetensors "
                      "exists",
                      dir);
  free(index);
  free(single);
  return st;
}

size_t sn_st_count(const sn_st_archive_t *a) {
  return a ? a->count : 0;
}

const sn_st_tensor_t *sn_st_at(const sn_st_archive_t *a, size_t i) {
  return a && i < a->count ? &a->tensors[i] : NULL;
}

const sn_st_tensor_t *sn_st_find(const sn_st_archive_t *a, const char *name) {
  if (!a || !name || !a->count) return NULL;
  return bsearch(&name, a->tensors, a->count, sizeof *a->tensors, cmp_first_str);
}

/* IEEE binary16 -> binary32, exact for every input including NaN payloads. */
static float f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | man << 13;
  } else if (exp != 0) {
    bits = sign | (exp + 112) << 23 | man << 13; /* rebias 15 -> 127 */
  } else {
    /* Zero or subnormal: man * 2^-24 is exact in float32. */
    float v = (float)man * 0x1p-24f;
    return sign ? -v : v;
  }
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

/* Little-endian loads from possibly unaligned bytes; compilers turn these
 * byte patterns into plain loads. */
static uint16_t load_le16(const unsigned char *p) {
  return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t load_le32(const unsigned char *p) {
  return (uint32_t)load_le16(p) | (uint32_t)load_le16(p + 2) << 16;
}

sinter_status_t sn_st_to_f32(const sn_st_tensor_t *t, float *dst, size_t dst_count,
                             sinter_error_t *err) {
  if (!t || (!dst && t->numel > 0))
    return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                        "sn_st_to_f32: NULL tensor or destination");
  size_t n = (size_t)t->numel;
  if (dst_count < n)
    return fail(err, SINTER_ERR_INVALID_ARGUMENT, t->file,
                "tensor \"%.200s\" has %zu elements but the destination holds only %zu", t->name, n,
                dst_count);
  const unsigned char *p = t->data;
  switch (t->dtype) {
    case SN_ST_F32:
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
      if (n) memcpy(dst, p, n * sizeof *dst); /* already host format */
      return SINTER_OK;
#endif
      for (size_t i = 0; i < n; i++) {
        uint32_t u = load_le32(p + 4 * i);
        memcpy(&dst[i], &u, sizeof u);
      }
      return SINTER_OK;
    case SN_ST_F16:
      for (size_t i = 0; i < n; i++) dst[i] = f16_to_f32(load_le16(p + 2 * i));
      return SINTER_OK;
    case SN_ST_BF16:
      for (size_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)load_le16(p + 2 * i) << 16; /* bf16 is float32's top half */
        memcpy(&dst[i], &u, sizeof u);
      }
      return SINTER_OK;
    case SN_ST_F64:
      for (size_t i = 0; i < n; i++) {
        uint64_t u = (uint64_t)load_le32(p + 8 * i) | (uint64_t)load_le32(p + 8 * i + 4) << 32;
        double d;
        memcpy(&d, &u, sizeof d);
        dst[i] = (float)d; /* IEEE (Annex F): rounds, overflows to inf; not UB */
      }
      return SINTER_OK;
    default:
      return fail(err, SINTER_ERR_UNSUPPORTED, t->file,
                  "tensor \"%.200s\" is %s; only F32, F16, BF16 and F64 convert to float32",
                  t->name, sn_st_dtype_name(t->dtype));
  }
}
