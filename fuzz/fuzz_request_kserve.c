/*
 * fuzz_request_kserve.c — libFuzzer target for the KServe v2 / Open
 * Inference Protocol request parser (api_kserve.c, POST
 * /v2/models/{m}/infer): bit 0 of the first byte says whether the route names
 * a model; bit 1, whether an Inference-Header-Content-Length header comes
 * (Triton's binary tensor data): its value is the input up to the first
 * newline (at most 32 bytes), and the body follows the newline. The high bits
 * pick the limits (fuzz_request.h). Any bytes must give BYTES texts (and,
 * with a "text_pair" tensor, one pair per text) within the limits, or a
 * clean error.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  static const char route_model[] = "bge-reranker";
  const char *model = (data[0] & 1) ? route_model : NULL;
  fuzz_expect_t expect = {
      .op = SN_OP_BY_MODEL, .pairs_allowed = 1, .route_model = 1, .model = model};
  const uint8_t *body = data + 1;
  size_t n = size - 1;
  char header[33];
  const char *h = NULL;
  if (data[0] & 2) {
    const uint8_t *nl = memchr(body, '\n', n < sizeof header ? n : sizeof header);
    if (!nl) return 0;
    size_t len = (size_t)(nl - body);
    memcpy(header, body, len);
    header[len] = '\0'; /* a NUL inside ends the value early, as in a header */
    h = header;
    n -= len + 1;
    body = nl + 1;
  }
  fuzz_parse_header(sn_kserve_parse_infer, body, n, "application/octet-stream", model, h,
                    limits_from(data[0] >> 3), &expect);
  return 0;
}
