/* test_safetensors.c — unit tests for the safetensors reader (src/model/safetensors). */
#include "model/safetensors.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"

/* Builds a safetensors image: 8-byte little-endian header length, the header,
 * then `data`. Caller frees. */
static unsigned char *make_st(const char *header, const void *data, size_t data_size,
                              size_t *out_size) {
  size_t hlen = strlen(header);
  unsigned char *buf = malloc(8 + hlen + data_size + 1);
  if (!buf) abort();
  for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
  memcpy(buf + 8, header, hlen);
  if (data_size) memcpy(buf + 8 + hlen, data, data_size);
  *out_size = 8 + hlen + data_size;
  return buf;
}

/* Opens header+data (data_size zero bytes when data is NULL) and expects an
 * error with `code` whose message contains `needle`. */
static void expect_error(const char *header, size_t data_size, sinter_status_t code,
                         const char *needle) {
  unsigned char zeros[256] = {0};
  size_t size;
  unsigned char *buf = make_st(header, zeros, data_size, &size);
  sn_st_archive_t *a = (sn_st_archive_t *)1;
  sinter_error_t err = {0};
  SN_CHECK_ERR(sn_st_open_buffer(buf, size, "bad.st", &a, &err), code, &err, needle);
  SN_CHECK_MSG(strstr(err.message, "bad.st") != NULL, "message must name the file: %s",
               err.message);
  SN_CHECK(a == NULL);
  free(buf);
}

static void put_u16(unsigned char *p, uint16_t v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
}

static void put_f32(unsigned char *p, float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(u >> (8 * i));
}

/* F32 [2,2] at 0..16, F16 [8] at 16..32, BF16 [3] at 32..38, I64 [1] at 38..46. */
static const char kValidHeader[] =
    "{\"__metadata__\":{\"format\":\"pt\"},"
    "\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
    "\"h\":{\"dtype\":\"F16\",\"shape\":[8],\"data_offsets\":[16,32]},"
    "\"b\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[32,38]},"
    "\"i\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[38,46]}}  ";

static void fill_valid_data(unsigned char *d) {
  memset(d, 0, 46);
  const float w[4] = {1.5f, -2.0f, 3.25f, 1e-3f};
  for (int i = 0; i < 4; i++) put_f32(d + 4 * i, w[i]);
  /* 1, smallest subnormal 2^-24, largest subnormal, 65504, +inf, -inf, NaN, -0 */
  const uint16_t h[8] = {0x3c00, 0x0001, 0x03ff, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x8000};
  for (int i = 0; i < 8; i++) put_u16(d + 16 + 2 * i, h[i]);
  const uint16_t b[3] = {0x3f80, 0xc040, 0x7f80}; /* 1, -3, +inf */
  for (int i = 0; i < 3; i++) put_u16(d + 32 + 2 * i, b[i]);
  d[38] = 7;
}

static void check_valid_archive(const sn_st_archive_t *a, const char *file) {
  SN_CHECK(sn_st_count(a) == 4);
  /* Name order. */
  SN_CHECK(strcmp(sn_st_at(a, 0)->name, "b") == 0);
  SN_CHECK(strcmp(sn_st_at(a, 3)->name, "w") == 0);
  SN_CHECK(sn_st_at(a, 4) == NULL);
  SN_CHECK(sn_st_find(a, "missing") == NULL);
  SN_CHECK(sn_st_find(a, "__metadata__") == NULL);

  const sn_st_tensor_t *w = sn_st_find(a, "w");
  SN_CHECK(w && w->dtype == SN_ST_F32 && w->rank == 2 && w->shape[0] == 2 && w->shape[1] == 2);
  SN_CHECK(w && w->numel == 4 && w->nbytes == 16 && strcmp(w->file, file) == 0);
  float out[8];
  sinter_error_t err = {0};
  SN_CHECK_OK(sn_st_to_f32(w, out, 4, &err), &err);
  SN_CHECK(out[0] == 1.5f && out[1] == -2.0f && out[2] == 3.25f && out[3] == 1e-3f);
  SN_CHECK_ERR(sn_st_to_f32(w, out, 3, &err), SINTER_ERR_INVALID_ARGUMENT, &err, "destination");

  const sn_st_tensor_t *h = sn_st_find(a, "h");
  SN_CHECK(h && h->dtype == SN_ST_F16 && h->numel == 8);
  SN_CHECK_OK(sn_st_to_f32(h, out, 8, &err), &err);
  SN_CHECK(out[0] == 1.0f);
  SN_CHECK(out[1] == 0x1p-24f);
  SN_CHECK(out[2] == 1023 * 0x1p-24f);
  SN_CHECK(out[3] == 65504.0f);
  SN_CHECK(isinf(out[4]) && out[4] > 0);
  SN_CHECK(isinf(out[5]) && out[5] < 0);
  SN_CHECK(isnan(out[6]));
  SN_CHECK(out[7] == 0.0f && signbit(out[7]));

  const sn_st_tensor_t *b = sn_st_find(a, "b");
  SN_CHECK(b && b->dtype == SN_ST_BF16 && strcmp(sn_st_dtype_name(b->dtype), "BF16") == 0);
  SN_CHECK_OK(sn_st_to_f32(b, out, 3, &err), &err);
  SN_CHECK(out[0] == 1.0f && out[1] == -3.0f && isinf(out[2]));

  const sn_st_tensor_t *i = sn_st_find(a, "i");
  SN_CHECK(i && i->rank == 0 && i->numel == 1 && i->nbytes == 8);
  SN_CHECK(i && ((const unsigned char *)i->data)[0] == 7);
  SN_CHECK_ERR(sn_st_to_f32(i, out, 8, &err), SINTER_ERR_UNSUPPORTED, &err, "I64");
}

static void test_valid_buffer(void) {
  unsigned char data[46];
  fill_valid_data(data);
  size_t size;
  unsigned char *buf = make_st(kValidHeader, data, sizeof data, &size);
  sn_st_archive_t *a = NULL;
  sinter_error_t err = {0};
  SN_CHECK_OK(sn_st_open_buffer(buf, size, "valid.st", &a, &err), &err);
  /* The header length is odd, so data is deliberately unaligned. */
  SN_CHECK((8 + strlen(kValidHeader)) % 4 != 0);
  if (a) check_valid_archive(a, "valid.st");
  sn_st_close(a);
  free(buf);
}

static void test_f64_and_empty(void) {
  unsigned char data[8];
  double d = -0.1;
  memcpy(data, &d, 8); /* little-endian host assumed by this test */
  size_t size;
  unsigned char *buf = make_st(
      "{\"d\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]},"
      "\"z\":{\"dtype\":\"F32\",\"shape\":[0,4],\"data_offsets\":[8,8]}}",
      data, 8, &size);
  sn_st_archive_t *a = NULL;
  sinter_error_t err = {0};
  SN_CHECK_OK(sn_st_open_buffer(buf, size, NULL, &a, &err), &err);
  float f = 0;
  SN_CHECK_OK(sn_st_to_f32(sn_st_find(a, "d"), &f, 1, &err), &err);
  SN_CHECK(f == -0.1f);
  const sn_st_tensor_t *z = sn_st_find(a, "z");
  SN_CHECK(z && z->numel == 0 && z->nbytes == 0 && strcmp(z->file, "<buffer>") == 0);
  SN_CHECK_OK(sn_st_to_f32(z, NULL, 0, &err), &err);
  sn_st_close(a);
  free(buf);

  /* Unicode names, null metadata and unknown fields are accepted, as by the Rust crate. */
  buf = make_st(
      "{\"__metadata__\":null,\"\xc3\xa9\xf0\x9f\x98\x80\":{\"dtype\":\"U8\",\"shape\":[],"
      "\"data_offsets\":[0,1],\"extra\":true}}",
      "\x05", 1, &size);
  SN_CHECK_OK(sn_st_open_buffer(buf, size, "utf8", &a, &err), &err);
  SN_CHECK(sn_st_count(a) == 1 && sn_st_find(a, "\xc3\xa9\xf0\x9f\x98\x80") != NULL);
  sn_st_close(a);
  free(buf);

  buf = make_st("{}", NULL, 0, &size);
  SN_CHECK_OK(sn_st_open_buffer(buf, size, "empty", &a, &err), &err);
  SN_CHECK(sn_st_count(a) == 0);
  sn_st_close(a);
  free(buf);
  sn_st_close(NULL);
}

static void test_truncated_and_lengths(void) {
  sinter_error_t err = {0};
  sn_st_archive_t *a = NULL;
  const unsigned char tiny[5] = {1, 0, 0, 0, 0};
  SN_CHECK_ERR(sn_st_open_buffer(tiny, sizeof tiny, "tiny.st", &a, &err), SINTER_ERR_FORMAT, &err,
               "tiny.st: file is 5 bytes, shorter than the 8-byte");
  SN_CHECK_ERR(sn_st_open_buffer(NULL, 0, "nil", &a, &err), SINTER_ERR_FORMAT, &err, "0 bytes");

  unsigned char huge[16] = {0};
  huge[7] = 0x10; /* 2^60 */
  SN_CHECK_ERR(sn_st_open_buffer(huge, sizeof huge, "huge.st", &a, &err), SINTER_ERR_LIMIT, &err,
               "header length 1152921504606846976 exceeds the limit");

  size_t size;
  unsigned char *buf = make_st("{}", NULL, 0, &size);
  buf[0] = 40; /* claims 40 header bytes, 2 present */
  SN_CHECK_ERR(sn_st_open_buffer(buf, size, "short.st", &a, &err), SINTER_ERR_FORMAT, &err,
               "truncated: header length is 40 bytes but only 2 bytes follow");
  SN_CHECK(a == NULL);
  free(buf);
}

static void test_bad_json(void) {
  expect_error("{\"a\":", 0, SINTER_ERR_FORMAT, "not valid JSON");
  expect_error("", 0, SINTER_ERR_FORMAT, "not valid JSON");
  expect_error("[1,2]", 0, SINTER_ERR_FORMAT, "header must be a JSON object, got an array");
  expect_error("\"x\"", 0, SINTER_ERR_FORMAT, "header must be a JSON object, got a string");
  expect_error("{} x", 0, SINTER_ERR_FORMAT,
               "unexpected byte 0x78 after the header JSON at file byte 11");
  expect_error("{\"__metadata__\":{\"k\":1}}", 0, SINTER_ERR_FORMAT,
               "\"__metadata__\" value \"k\" must be a string");
  expect_error("{\"__metadata__\":[]}", 0, SINTER_ERR_FORMAT, "must be an object of strings");
  expect_error("{\"t\":5}", 0, SINTER_ERR_FORMAT, "tensor \"t\": expected an object");
  expect_error("\xef\xbb\xbf{}", 0, SINTER_ERR_FORMAT, "byte-order mark");
  expect_error("{\"t\xff\":{}}", 0, SINTER_ERR_FORMAT, "header is not valid UTF-8 at file byte 11");
  expect_error("{\"\xed\xa0\x80\":{}}", 0, SINTER_ERR_FORMAT, "not valid UTF-8"); /* surrogate */
  expect_error("{\"\xc0\xaf\":{}}", 0, SINTER_ERR_FORMAT, "not valid UTF-8");     /* overlong */
}

static void test_bad_fields(void) {
  expect_error("{\"t\":{\"dtype\":\"F7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
               SINTER_ERR_FORMAT, "tensor \"t\": unknown dtype \"F7\"");
  expect_error("{\"t\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
               SINTER_ERR_UNSUPPORTED, "dtype F8_E4M3 is not supported");
  expect_error("{\"t\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,4]}}",
               4, SINTER_ERR_FORMAT, "tensor \"t\": field \"dtype\" appears twice");
  expect_error("{\"t\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, SINTER_ERR_FORMAT,
               "\"dtype\" must be a string, got nothing (missing)");
  expect_error("{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, SINTER_ERR_FORMAT,
               "\"shape\" must be an array");
  expect_error("{\"t\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
               SINTER_ERR_FORMAT, "shape[0] must be a non-negative integer below 2^53, got -1");
  expect_error("{\"t\":{\"dtype\":\"F32\",\"shape\":[1,2.5],\"data_offsets\":[0,4]}}", 4,
               SINTER_ERR_FORMAT, "shape[1] must be a non-negative integer below 2^53, got 2.5");
  expect_error("{\"t\":{\"dtype\":\"F32\",\"shape\":[9007199254740992],\"data_offsets\":[0,4]}}", 4,
               SINTER_ERR_FORMAT, "shape[0] must be a non-negative integer below 2^53");
  expect_error("{\"t\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4,
               SINTER_ERR_FORMAT, "got a string");
  expect_error("{\"t\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1,
               SINTER_ERR_LIMIT, "tensor \"t\": rank 9 exceeds the limit of 8");
  expect_error("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,-4]}}", 4,
               SINTER_ERR_FORMAT, "\"data_offsets\" must be [begin, end]");
  expect_error("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,0.5]}}", 4,
               SINTER_ERR_FORMAT, "\"data_offsets\" must be [begin, end]");
  expect_error("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8,
               SINTER_ERR_FORMAT, "\"data_offsets\" must be [begin, end]");
  expect_error("{\"t\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,0]}}", 4,
               SINTER_ERR_FORMAT, "begin <= end");
  expect_error(
      "{\"t\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
      "\"data_offsets\":[0,4]}}",
      4, SINTER_ERR_FORMAT, "element count overflows");
  expect_error("{\"t\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904],\"data_offsets\":[0,8]}}",
               8, SINTER_ERR_FORMAT, "shape[0] must be a non-negative integer below 2^53");
}

static void test_bad_layout(void) {
  expect_error("{\"t\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 20,
               SINTER_ERR_FORMAT,
               "6 elements of F32 need 24 bytes, but data_offsets [0, 20] span 20");
  expect_error("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4,
               SINTER_ERR_FORMAT, "data_offsets [0, 8] end past the 4-byte data area");
  expect_error(
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}",
      6, SINTER_ERR_FORMAT, "tensors \"a\" (data bytes [0, 4)) and \"b\" ([2, 6)) overlap");
  expect_error(
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[6,10]}}",
      10, SINTER_ERR_FORMAT, "gap in the data area: bytes [4, 6)");
  expect_error("{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}", 6,
               SINTER_ERR_FORMAT, "between the start and tensor \"b\"");
  expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 7,
               SINTER_ERR_FORMAT, "data area is 7 bytes but tensors cover only [0, 4)");
  expect_error("{}", 3, SINTER_ERR_FORMAT, "data area is 3 bytes");
  expect_error(
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
      "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
      8, SINTER_ERR_FORMAT, "duplicate tensor name \"a\"");
  expect_error(
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
      "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
      4, SINTER_ERR_FORMAT, "bad.st: duplicate tensor name \"a\" in the header");
}

/* ---- files and folders ---- */

static char g_dir[64];

static void make_dir(void) {
  strcpy(g_dir, "/tmp/sn_st_test_XXXXXX");
  if (!mkdtemp(g_dir)) abort();
}

static void write_file(const char *name, const void *bytes, size_t size) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", g_dir, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(bytes, 1, size, f) != size || fclose(f) != 0) abort();
}

static void write_st(const char *name, const char *header, const void *data, size_t data_size) {
  size_t size;
  unsigned char *buf = make_st(header, data, data_size, &size);
  write_file(name, buf, size);
  free(buf);
}

static void remove_dir(void) {
  static const char *const kNames[] = {"model.safetensors", "model.safetensors.index.json",
                                       "s1.safetensors", "s2.safetensors"};
  char path[256];
  for (size_t i = 0; i < sizeof kNames / sizeof kNames[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", g_dir, kNames[i]);
    unlink(path);
  }
  rmdir(g_dir);
}

static void test_open_file_and_dir(void) {
  make_dir();
  sn_st_archive_t *a = NULL;
  sinter_error_t err = {0};
  SN_CHECK_ERR(sn_st_open_dir(g_dir, &a, &err), SINTER_ERR_NOT_FOUND, &err,
               "neither model.safetensors.index.json nor model.safetensors exists");
  SN_CHECK(strstr(err.message, g_dir) != NULL);

  unsigned char data[46];
  fill_valid_data(data);
  write_st("model.safetensors", kValidHeader, data, sizeof data);
  char path[256];
  snprintf(path, sizeof path, "%s/model.safetensors", g_dir);
  SN_CHECK_OK(sn_st_open_file(path, &a, &err), &err);
  if (a) check_valid_archive(a, path);
  sn_st_close(a);
  a = NULL;
  SN_CHECK_OK(sn_st_open_dir(g_dir, &a, &err), &err);
  SN_CHECK(sn_st_count(a) == 4);
  sn_st_close(a);

  snprintf(path, sizeof path, "%s/absent.safetensors", g_dir);
  SN_CHECK_ERR(sn_st_open_file(path, &a, &err), SINTER_ERR_IO, &err, "absent.safetensors");
  write_file("s1.safetensors", "abc", 3);
  snprintf(path, sizeof path, "%s/s1.safetensors", g_dir);
  SN_CHECK_ERR(sn_st_open_file(path, &a, &err), SINTER_ERR_FORMAT, &err,
               "s1.safetensors: file is 3 bytes");
  write_file("s2.safetensors", "", 0);
  snprintf(path, sizeof path, "%s/s2.safetensors", g_dir);
  SN_CHECK_ERR(sn_st_open_file(path, &a, &err), SINTER_ERR_FORMAT, &err, "file is 0 bytes");
  remove_dir();
}

static const char kShard1[] =
    "{\"__metadata__\":{\"format\":\"pt\"},"
    "\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
    "\"y\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[8,10]}}";
static const char kShard2[] = "{\"z\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]}}";

/* Writes a two-shard model with the given index and shard-2 header. */
static void write_sharded(const char *index, const char *shard2) {
  unsigned char d1[10], d2[2];
  put_f32(d1, 4.0f);
  put_f32(d1 + 4, -1.0f);
  put_u16(d1 + 8, 0x4000); /* bf16 2.0 */
  put_u16(d2, 0x3800);     /* f16 0.5 */
  write_st("s1.safetensors", kShard1, d1, sizeof d1);
  write_st("s2.safetensors", shard2, d2, sizeof d2);
  write_file("model.safetensors.index.json", index, strlen(index));
}

static void expect_dir_error(const char *index, const char *shard2, sinter_status_t code,
                             const char *needle) {
  write_sharded(index, shard2);
  sn_st_archive_t *a = (sn_st_archive_t *)1;
  sinter_error_t err = {0};
  SN_CHECK_ERR(sn_st_open_dir(g_dir, &a, &err), code, &err, needle);
  SN_CHECK(a == NULL);
}

static void test_sharded(void) {
  make_dir();
  const char *good =
      "{\"metadata\":{\"total_size\":12},\"weight_map\":{\"x\":\"s1.safetensors\","
      "\"y\":\"s1.safetensors\",\"z\":\"s2.safetensors\"}}";
  write_sharded(good, kShard2);
  write_st("model.safetensors", "{}", NULL, 0); /* the index must win */
  sn_st_archive_t *a = NULL;
  sinter_error_t err = {0};
  SN_CHECK_OK(sn_st_open_dir(g_dir, &a, &err), &err);
  SN_CHECK(sn_st_count(a) == 3);
  const sn_st_tensor_t *x = sn_st_find(a, "x"), *y = sn_st_find(a, "y"), *z = sn_st_find(a, "z");
  SN_CHECK(x && y && z);
  if (x && y && z) {
    SN_CHECK(strstr(x->file, "/s1.safetensors") && x->file == y->file);
    SN_CHECK(strstr(z->file, "/s2.safetensors") != NULL);
    float v[2];
    SN_CHECK_OK(sn_st_to_f32(x, v, 2, &err), &err);
    SN_CHECK(v[0] == 4.0f && v[1] == -1.0f);
    SN_CHECK_OK(sn_st_to_f32(y, v, 2, &err), &err);
    SN_CHECK(v[0] == 2.0f);
    SN_CHECK_OK(sn_st_to_f32(z, v, 1, &err), &err);
    SN_CHECK(v[0] == 0.5f);
  }
  sn_st_close(a);

  expect_dir_error(
      "{\"weight_map\":{\"x\":\"s1.safetensors\",\"y\":\"s1.safetensors\",\"z\":\"s3.safetensors\"}"
      "}",
      kShard2, SINTER_ERR_NOT_FOUND, "s3.safetensors named in weight_map does not exist");
  expect_dir_error(
      "{\"weight_map\":{\"x\":\"s1.safetensors\",\"y\":\"s1.safetensors\",\"z\":\"s2.safetensors\","
      "\"w\":\"s2.safetensors\"}}",
      kShard2, SINTER_ERR_NOT_FOUND, "tensor \"w\" listed in weight_map is missing from shard");
  expect_dir_error("{\"weight_map\":{\"x\":\"s1.safetensors\",\"z\":\"s2.safetensors\"}}", kShard2,
                   SINTER_ERR_FORMAT, "tensor \"y\" is in shard");
  expect_dir_error(
      "{\"weight_map\":{\"x\":\"s2.safetensors\",\"y\":\"s1.safetensors\",\"z\":\"s2.safetensors\"}"
      "}",
      kShard2, SINTER_ERR_FORMAT, "but weight_map places it in s2.safetensors");
  expect_dir_error(
      "{\"weight_map\":{\"x\":\"s1.safetensors\",\"y\":\"s1.safetensors\",\"z\":\"s2.safetensors\"}"
      "}",
      "{\"x\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]}}", SINTER_ERR_FORMAT,
      "tensor \"x\" is present in two shards");
  expect_dir_error("{\"weight_map\":{\"x\":\"../s1.safetensors\"}}", kShard2, SINTER_ERR_FORMAT,
                   "weight_map[\"x\"] must be a shard file name in the same folder");
  expect_dir_error("{\"weight_map\":{\"x\":\"..\"}}", kShard2, SINTER_ERR_FORMAT, "got \"..\"");
  expect_dir_error("{\"weight_map\":{\"x\":\"\"}}", kShard2, SINTER_ERR_FORMAT, "same folder");
  expect_dir_error("{\"weight_map\":{\"x\":\"/etc/passwd\"}}", kShard2, SINTER_ERR_FORMAT,
                   "same folder");
  expect_dir_error("{\"weight_map\":{\"x\":3}}", kShard2, SINTER_ERR_FORMAT, "got 3");
  expect_dir_error("{\"weight_map\":[]}", kShard2, SINTER_ERR_FORMAT, "\"weight_map\" object");
  expect_dir_error("[{\"weight_map\":{}}]", kShard2, SINTER_ERR_FORMAT, "\"weight_map\" object");
  expect_dir_error("{\"weight_map\":{}}", kShard2, SINTER_ERR_FORMAT, "\"weight_map\" is empty");
  expect_dir_error("{\"weight_map\":", kShard2, SINTER_ERR_FORMAT, "not valid JSON");
  expect_dir_error(
      "{\"weight_map\":{\"x\":\"s1.safetensors\",\"y\":\"s1.safetensors\",\"z\":\"s2.safetensors\"}"
      "}",
      "{\"z\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,2]}}", SINTER_ERR_FORMAT,
      "s2.safetensors: tensor \"z\": 2 elements of F16 need 4 bytes");
  remove_dir();
}

static void test_arguments(void) {
  sinter_error_t err = {0};
  sn_st_archive_t *a = NULL;
  SN_CHECK_ERR(sn_st_open_buffer(NULL, 4, "x", &a, &err), SINTER_ERR_INVALID_ARGUMENT, &err,
               "NULL");
  SN_CHECK_ERR(sn_st_to_f32(NULL, NULL, 0, &err), SINTER_ERR_INVALID_ARGUMENT, &err, "NULL");
  SN_CHECK(sn_st_count(NULL) == 0 && sn_st_at(NULL, 0) == NULL && sn_st_find(NULL, "x") == NULL);
  SN_CHECK(sn_st_dtype_size(SN_ST_F64) == 8 && sn_st_dtype_size(SN_ST_BOOL) == 1);
  SN_CHECK(strcmp(sn_st_dtype_name((sn_st_dtype_t)99), "?") == 0);
}

int main(void) {
  SN_RUN(test_valid_buffer);
  SN_RUN(test_f64_and_empty);
  SN_RUN(test_truncated_and_lengths);
  SN_RUN(test_bad_json);
  SN_RUN(test_bad_fields);
  SN_RUN(test_bad_layout);
  SN_RUN(test_open_file_and_dir);
  SN_RUN(test_sharded);
  SN_RUN(test_arguments);
  return SN_TEST_REPORT();
}
