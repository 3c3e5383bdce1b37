/*
 * fuzz_safetensors.c — libFuzzer target for the safetensors reader: parses the
 * input as a safetensors image and, when it opens, walks every tensor, checks
 * that lookup by name finds it, and converts floating ones to float32.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sn_st_archive_t *a = NULL;
  sinter_error_t err;
  if (sn_st_open_buffer(data, size, "fuzz", &a, &err) != SINTER_OK) {
    /* A failed open must leave no archive and a non-empty message. */
    if (a || err.message[0] == '\0') abort();
    return 0;
  }
  for (size_t i = 0; i < sn_st_count(a); i++) {
    const sn_st_tensor_t *t = sn_st_at(a, i);
    if (sn_st_find(a, t->name) != t) abort();
    /* Validated tensors lie inside the input; touch both ends so ASan checks it. */
    const uint8_t *p = t->data;
    if (p < data || p + t->nbytes > data + size) abort();
    volatile uint8_t sink = t->nbytes ? (uint8_t)(p[0] ^ p[t->nbytes - 1]) : 0;
    (void)sink;
    /* numel <= nbytes <= size, so this allocation is bounded by the input. */
    if (t->numel > (1 << 20)) continue;
    float *dst = malloc((size_t)t->numel * sizeof *dst + 1);
    if (!dst) continue;
    sinter_status_t st = sn_st_to_f32(t, dst, (size_t)t->numel, &err);
    int is_float = t->dtype == SN_ST_F32 || t->dtype == SN_ST_F16 || t->dtype == SN_ST_BF16 ||
                   t->dtype == SN_ST_F64;
    if ((st == SINTER_OK) != is_float) abort();
    free(dst);
  }
  sn_st_close(a);
  return 0;
}
