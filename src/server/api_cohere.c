/* api_cohere.c — rerank as Cohere's v1/v2 and Jina's APIs take it (see
 * api.h): `query`, `documents` (strings, or objects with "text"), `top_n`,
 * `return_documents`, `max_tokens_per_doc`; results carry `relevance_score`
 * (the sigmoid of the cross-encoder's logit), best first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/api.h"
#include "server/out.h"

int sn_cohere_parse_rerank(const sn_parse_input_t *in, sn_request_t *r, sn_parse_error_t *e) {
  sn_request_init(r, SN_OP_RERANK);
  if (sn_request_parse_object(r, in->body, in->size, 400, e)) return -1;
  const cJSON *o = r->json, *q = cJSON_GetObjectItemCaseSensitive(o, "query");
  const cJSON *docs = cJSON_GetObjectItemCaseSensitive(o, "documents");
  r->return_text = 0;
  if (sn_request_string(o, "model", &r->model, e) ||
      sn_request_int(o, "top_n", 1, 1 << 30, &r->top_n, e) ||
      sn_request_bool(o, "return_documents", &r->return_text, e) ||
      sn_request_int(o, "max_tokens_per_doc", 1, 1 << 30, &r->max_tokens_per_doc, e))
    return -1;
  if (!cJSON_IsString(q)) return sn_request_fail(e, 400, "query", "`query` must be a string");
  sn_request_t one;
  sn_request_init(&one, SN_OP_RERANK);
  int bad = sn_request_read_texts(&one, q, "query", &in->limits, e);
  sn_request_free(&one);
  if (bad) return -1;
  r->query = q->valuestring;
  if (!cJSON_IsArray(docs))
    return sn_request_fail(e, 400, "documents", "`documents` must be a list");
  /* Objects {"text": ...} (Cohere v1, Jina) become their text. */
  for (cJSON *d = docs->child; d; d = d->next) {
    if (!cJSON_IsObject(d)) continue;
    cJSON *t = cJSON_GetObjectItemCaseSensitive(d, "text");
    if (!cJSON_IsString(t))
      return sn_request_fail(e, 400, "documents", "a document object needs a string \"text\"");
  }
  sn_request_limits_t lim = in->limits;
  int rc = 0;
  cJSON *flat = cJSON_CreateArray();
  if (!flat) return sn_request_fail(e, 500, NULL, "out of memory");
  for (cJSON *d = docs->child; d && !rc; d = d->next) {
    cJSON *t = cJSON_IsObject(d) ? cJSON_GetObjectItemCaseSensitive(d, "text") : d;
    cJSON *ref = cJSON_IsString(t) ? cJSON_CreateStringReference(t->valuestring)
                                   : cJSON_CreateNumber(0); /* read_texts names it */
    if (!ref || !cJSON_AddItemToArray(flat, ref))
      rc = sn_request_fail(e, 500, NULL, "out of memory");
  }
  if (!rc) rc = sn_request_read_texts(r, flat, "documents", &lim, e);
  cJSON_Delete(flat); /* references: the strings stay in r->json */
  return rc;
}

char *sn_cohere_write_rerank(const sn_request_t *req, const sn_served_t *m,
                             const sn_result_t *res) {
  sn_out_t o = {0};
  sn_out_put(&o, "{\"id\":\"sinter-rerank\",\"results\":[");
  for (size_t k = 0; k < res->n_order; k++) {
    size_t i = res->order[k];
    sn_out_put(&o, "%s{\"index\":%zu,\"relevance_score\":", k ? "," : "", i);
    sn_out_float(&o, res->scores[i]);
    if (req->return_text) {
      sn_out_put(&o, ",\"document\":{\"text\":");
      sn_out_string(&o, req->texts[i]);
      sn_out_put(&o, "}");
    }
    sn_out_put(&o, "}");
  }
  sn_out_put(&o, "],\"model\":");
  sn_out_string(&o, m->name);
  sn_out_put(&o,
             ",\"usage\":{\"total_tokens\":%zu},\"meta\":{\"api_version\":{\"version\":\"2\"},"
             "\"billed_units\":{\"search_units\":1}}}",
             res->tokens);
  return sn_out_take(&o);
}

char *sn_cohere_error(const sn_parse_error_t *e) {
  sn_out_t o = {0};
  sn_out_put(&o, "{\"message\":");
  sn_out_string(&o, e->message);
  sn_out_put(&o, "}");
  return sn_out_take(&o);
}
