/*
 * fuzz_request_torchserve.c — libFuzzer target for the TorchServe request
 * parser (api_torchserve.c, POST /predictions/{m}): the low 3 bits of the
 * first byte pick the Content-Type (none, text/plain or a JSON one, each
 * spelt two ways) and whether the route names a model, its high bits the
 * limits (fuzz_request.h); the rest is the body, a raw text or JSON. Any
 * bytes must give texts within the limits, or a clean error.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const content_types[8] = {
    NULL,
    "text/plain",
    "text/plain; charset=utf-8",
    "application/json",
    "application/json; charset=utf-8",
    "application/x-www-form-urlencoded",
    "application/json",
    "APPLICATION/JSON", /* compared case-sensitively: a text body */
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  unsigned sel = data[0] & 7;
  static const char route_model[] = "minilm";
  const char *model = sel >= 6 ? route_model : NULL;
  fuzz_expect_t expect = {.op = SN_OP_BY_MODEL, .raw_text = 1, .route_model = 1, .model = model};
  fuzz_parse(sn_torchserve_parse_predictions, data + 1, size - 1, content_types[sel], model,
             limits_from(data[0] >> 3), &expect);
  return 0;
}
