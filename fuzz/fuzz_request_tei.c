/*
 * fuzz_request_tei.c — libFuzzer target for the text-embeddings-inference
 * request parsers (api_tei.c): the low 3 bits of the first byte pick the
 * route (/embed, /embed_all, /predict, /rerank, /tokenize, /decode,
 * /similarity, and / on an encoder), and its top bit adds 8 (modulo the 9
 * routes: 8 is /embed_sparse); its high bits the limits (fuzz_request.h,
 * where the top bit also picks the character limit); the rest is the body.
 * Seeds of /embed_sparse start with 0xB0 (the default limits). Any bytes
 * must give a request that keeps the route's invariants or a clean error.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
  sn_parse_fn parse;
  fuzz_expect_t expect;
} routes[9] = {
    {sn_tei_parse_embed, {.op = SN_OP_EMBED, .ids_allowed = 1}},
    {sn_tei_parse_embed_all, {.op = SN_OP_EMBED_ALL, .ids_allowed = 1}},
    {sn_tei_parse_predict, {.op = SN_OP_CLASSIFY, .pairs_allowed = 1, .pairs_may_miss = 1}},
    {sn_tei_parse_rerank, {.op = SN_OP_RERANK, .query_required = 1}},
    {sn_tei_parse_tokenize, {.op = SN_OP_TOKENIZE}},
    {sn_tei_parse_decode, {.op = SN_OP_DECODE, .ids_allowed = 1, .ids_required = 1}},
    {sn_tei_parse_similarity, {.op = SN_OP_EMBED}},
    {sn_tei_parse_root, {.op = SN_OP_EMBED, .ids_allowed = 1}},
    {sn_tei_parse_embed_sparse, {.op = SN_OP_EMBED_SPARSE, .ids_allowed = 1}},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  unsigned route = ((data[0] & 7u) | ((data[0] >> 4) & 8u)) % (sizeof routes / sizeof routes[0]);
  fuzz_parse(routes[route].parse, data + 1, size - 1, "application/json", NULL,
             limits_from(data[0] >> 3), &routes[route].expect);
  return 0;
}
