/*
 * fuzz_request_openai.c — libFuzzer target for the OpenAI embeddings request
 * parser (api_openai.c, POST /v1/embeddings): the first byte's high bits
 * pick the limits (fuzz_request.h), the rest is the body. Any bytes must give
 * a request of texts or token ids within the limits, or a clean error.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  static const fuzz_expect_t expect = {.op = SN_OP_EMBED, .ids_allowed = 1};
  fuzz_parse(sn_openai_parse_embeddings, data + 1, size - 1, "application/json", NULL,
             limits_from(data[0] >> 3), &expect);
  return 0;
}
