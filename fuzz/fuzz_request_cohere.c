/*
 * fuzz_request_cohere.c — libFuzzer target for the Cohere v1/v2 and Jina
 * rerank request parser (api_cohere.c, POST /v1/rerank, /v2/rerank): the
 * first byte's high bits pick the limits (fuzz_request.h), the rest is the
 * body. Any bytes must give a query and documents (strings or {"text"}
 * objects, flattened to texts) within the limits, or a clean error.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  static const fuzz_expect_t expect = {.op = SN_OP_RERANK, .query_required = 1};
  fuzz_parse(sn_cohere_parse_rerank, data + 1, size - 1, "application/json", NULL,
             limits_from(data[0] >> 3), &expect);
  return 0;
}
