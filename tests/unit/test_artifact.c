/* test_artifact.c — the .sinter artifact: round trip, and each kind of
 * damage (a flipped byte in every section, truncation, another format
 * version, a CPU without the recorded features) gives its own error. */
#include <stdlib.h>
#include <unistd.h>
#include <xxhash.h>

#include "api/api.h"
#include "artifact/artifact.h"
#include "base/file.h"
#include "kernels/target.h"
#include "test.h"

static char artifact_path[256];

static unsigned char *read_file(const char *path, size_t *size) {
  char *data = NULL;
  sinter_error_t err;
  if (sn_file_read_all(path, 1u << 30, &data, size, &err) != SINTER_OK) return NULL;
  return (unsigned char *)data;
}

static void write_file(const char *path, const unsigned char *data, size_t size) {
  FILE *f = fopen(path, "wb");
  if (!f) return;
  fwrite(data, 1, size, f);
  fclose(f);
}

static void test_round_trip(void) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s/models/bert_cls", SN_TEST_FIXTURES);
  snprintf(artifact_path, sizeof artifact_path, "/tmp/sinter-test-%d.sinter", (int)getpid());
  sinter_error_t err;
  sinter_model_t *folder = NULL;
  sinter_program_t *compiled = NULL, *loaded = NULL;
  SN_CHECK_OK(sinter_model_open(dir, &folder, &err), &err);
  if (!folder) return;
  sn_compile_options_t opts = {.dtype = SINTER_DTYPE_F32, .max_tokens = 128, .max_seq = 64};
  SN_CHECK_OK(sn_api_compile(folder, &opts, &compiled, &err), &err);
  if (!compiled) return;
  SN_CHECK_OK(sinter_program_save(compiled, artifact_path, &err), &err);
  SN_CHECK_OK(sinter_program_open(artifact_path, NULL, &loaded, &err), &err);
  if (loaded) {
    const sn_ir_graph_t *plan = sn_program_plan(loaded);
    const sinter_model_t *desc = sinter_program_model(loaded);
    sinter_model_info_t info, folder_info;
    sinter_model_get_info(desc, &info);
    sinter_model_get_info(folder, &folder_info);
    SN_CHECK(plan->count == sn_program_plan(compiled)->count);
    SN_CHECK(info.num_labels == 3 && !strcmp(info.labels[2], "positive"));
    SN_CHECK(info.has_pooler && info.parameter_count == folder_info.parameter_count);
    SN_CHECK(!info.has_weights && folder_info.has_weights);
    /* Weights are used in place from the mapping, 64-byte aligned. */
    for (int32_t i = 0; i < plan->count; i++)
      if (plan->nodes[i].op == SN_OP_WEIGHT) SN_CHECK((uintptr_t)plan->nodes[i].data % 64 == 0);
    /* Same results as the in-memory plan. */
    int32_t ids[5] = {1, 7, 99, 3, 2};
    const int32_t *rows[1] = {ids};
    size_t len[1] = {5};
    sinter_batch_t batch = {1, rows, NULL, len};
    sinter_session_t *a = NULL, *b = NULL;
    sinter_outputs_t oa, ob;
    SN_CHECK_OK(sinter_session_create_compiled(compiled, 1, &a, &err), &err);
    SN_CHECK_OK(sinter_session_create_compiled(loaded, 1, &b, &err), &err);
    if (a && b) {
      SN_CHECK_OK(sinter_session_run(a, &batch, NULL, &oa, &err), &err);
      float logits[3];
      memcpy(logits, oa.logits, sizeof logits);
      SN_CHECK_OK(sinter_session_run(b, &batch, NULL, &ob, &err), &err);
      SN_CHECK(!memcmp(logits, ob.logits, sizeof logits));
    }
    sinter_session_destroy(a);
    sinter_session_destroy(b);
    /* The model description alone, from the same file. */
    sinter_model_t *described = NULL;
    SN_CHECK_OK(sinter_model_open(artifact_path, &described, &err), &err);
    if (described) {
      sinter_session_t *eager = NULL;
      SN_CHECK_ERR(sinter_session_create_eager(described, 1, &eager, &err),
                   SINTER_ERR_INVALID_ARGUMENT, &err, "eager mode needs the model folder");
      SN_CHECK(eager == NULL);
    }
    sinter_model_close(described);
  }
  sinter_program_release(loaded);
  sinter_program_release(compiled);
  sinter_model_close(folder);
}

/* Opens a damaged copy and checks the error. */
static void expect_damage(const unsigned char *image, size_t size, sinter_status_t code,
                          const char *needle) {
  char path[300];
  snprintf(path, sizeof path, "%s.bad", artifact_path);
  write_file(path, image, size);
  sinter_program_t *p = NULL;
  sinter_error_t err;
  SN_CHECK_ERR(sinter_program_open(path, NULL, &p, &err), code, &err, needle);
  SN_CHECK(p == NULL);
  sinter_program_release(p);
  unlink(path);
}

static uint64_t u64_at(const unsigned char *p, size_t at) {
  uint64_t v;
  memcpy(&v, p + at, 8);
  return v;
}

static void test_damage(void) {
  size_t size = 0;
  unsigned char *orig = read_file(artifact_path, &size);
  SN_CHECK(orig != NULL);
  if (!orig) return;
  unsigned char *img = malloc(size);
  /* A flipped byte in each section is caught by that section's checksum. */
  static const char *names[] = {"CONFIG", "PLAN", "TENSORS", "TOKENIZER", "METADATA"};
  for (int s = 0; s < 5; s++) {
    uint64_t off = u64_at(orig, 256 + 32 * (size_t)s + 8),
             len = u64_at(orig, 256 + 32 * (size_t)s + 16);
    if (!len) continue;
    memcpy(img, orig, size);
    img[off + len / 2] ^= 0x40;
    char needle[64];
    snprintf(needle, sizeof needle, "section %s checksum mismatch", names[s]);
    expect_damage(img, size, SINTER_ERR_FORMAT, needle);
  }
  /* Header and section table. */
  memcpy(img, orig, size);
  img[100] ^= 1;
  expect_damage(img, size, SINTER_ERR_FORMAT, "header checksum mismatch");
  memcpy(img, orig, size);
  img[256 + 9] ^= 1;
  expect_damage(img, size, SINTER_ERR_FORMAT, "section table checksum mismatch");
  /* Truncation, and garbage. */
  expect_damage(orig, size - 1000, SINTER_ERR_FORMAT, "truncated or extended");
  expect_damage(orig, 100, SINTER_ERR_FORMAT, "not a sinter artifact");
  /* Another format version (with a consistent header checksum). */
  memcpy(img, orig, size);
  uint32_t v = 99;
  memcpy(img + 8, &v, 4);
  uint64_t sum = XXH3_64bits(img, 240);
  memcpy(img + 240, &sum, 8);
  expect_damage(img, size, SINTER_ERR_UNSUPPORTED, "format version 99");
  /* A CPU feature this machine lacks (AVX512_BF16 unless it has it). */
  uint64_t missing = ~sn_target_cpu_features() & (SN_FEATURE_AVX512F | SN_FEATURE_AVX512_BF16);
  if (missing) {
    memcpy(img, orig, size);
    uint64_t features = u64_at(img, 48) | missing;
    memcpy(img + 48, &features, 8);
    sum = XXH3_64bits(img, 240);
    memcpy(img + 240, &sum, 8);
    expect_damage(img, size, SINTER_ERR_UNSUPPORTED, "which this CPU lacks");
  }
  free(img);
  free(orig);
  unlink(artifact_path);
}

int main(void) {
  SN_RUN(test_round_trip);
  SN_RUN(test_damage);
  return SN_TEST_REPORT();
}
