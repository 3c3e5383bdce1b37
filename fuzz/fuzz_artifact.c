/* fuzz_artifact.c — libFuzzer target for the artifact loader: any bytes are
 * validated (header, table, checksums, config, plan) without crashing.
 * Checksums would make nearly every mutation fail early, so the target
 * recomputes them before loading to reach the config and plan parsers (the
 * checksum checks themselves are covered by test_artifact); set
 * SINTER_FUZZ_RAW=1 to fuzz the raw bytes instead. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "artifact/artifact.h"

static void fix_checksums(uint8_t *p, size_t size) {
  if (size < 256 + 32) return;
  uint32_t n;
  memcpy(&n, p + 60, 4); /* section count */
  if (n > 16 || 256 + (size_t)n * 32 > size) return;
  for (uint32_t i = 0; i < n; i++) {
    uint64_t off, len;
    memcpy(&off, p + 256 + 32 * i + 8, 8);
    memcpy(&len, p + 256 + 32 * i + 16, 8);
    if (off > size || len > size - off) continue;
    uint64_t sum = XXH3_64bits(p + off, (size_t)len);
    memcpy(p + 256 + 32 * i + 24, &sum, 8);
  }
  uint64_t table = XXH3_64bits(p + 256, (size_t)n * 32);
  memcpy(p + 120, &table, 8); /* table checksum */
  uint64_t sum = XXH3_64bits(p, 240);
  memcpy(p + 240, &sum, 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int fix = -1;
  if (fix < 0) fix = getenv("SINTER_FUZZ_RAW") == NULL;
  uint8_t *copy = malloc(size ? size : 1);
  if (!copy) return 0;
  memcpy(copy, data, size);
  if (fix) fix_checksums(copy, size);
  sinter_error_t err;
  sn_artifact_check(copy, size, "fuzz.sinter", NULL, &err);
  free(copy);
  return 0;
}
