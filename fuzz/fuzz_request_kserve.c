/*
 * fuzz_request_kserve.c — libFuzzer target for the KServe v2 / Open
 * Inference Protocol request parser (api_kserve.c, POST
 * /v2/models/{m}/infer): bit 0 of the first byte says whether the route names
 * a model, its high bits pick the limits (fuzz_request.h); the rest is the
 * body. Any bytes must give BYTES texts (and, with a "text_pair" tensor, one
 * pair per text) within the limits, or a clean error.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  static const char route_model[] = "bge-reranker";
  const char *model = (data[0] & 1) ? route_model : NULL;
  fuzz_expect_t expect = {
      .op = SN_OP_BY_MODEL, .pairs_allowed = 1, .route_model = 1, .model = model};
  fuzz_parse(sn_kserve_parse_infer, data + 1, size - 1, "application/json", model,
             limits_from(data[0] >> 3), &expect);
  return 0;
}
