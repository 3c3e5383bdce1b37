/* api_openai.c — OpenAI's embeddings API (see api.h): POST /v1/embeddings
 * as the official clients call it (`input` as a string, strings, token ids
 * or lists of them; `encoding_format` float or base64; `dimensions`), and
 * GET /v1/models. Long inputs are cut, as OpenAI clients expect. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/api.h"
#include "server/out.h"

int sn_openai_parse_embeddings(const sn_parse_input_t *in, sn_request_t *r, sn_parse_error_t *e) {
  sn_request_init(r, SN_OP_EMBED);
  if (sn_request_parse_object(r, in->body, in->size, 400, e)) return -1;
  const cJSON *o = r->json;
  const char *format = NULL, *user = NULL;
  if (sn_request_string(o, "model", &r->model, e) ||
      sn_request_string(o, "encoding_format", &format, e) ||
      sn_request_string(o, "user", &user, e) ||
      sn_request_int(o, "dimensions", 1, 1 << 20, &r->dimensions, e))
    return -1;
  if (format && strcmp(format, "float") && strcmp(format, "base64"))
    return sn_request_fail(e, 400, "encoding_format",
                           "`encoding_format` must be \"float\" or \"base64\"");
  r->base64 = format && !strcmp(format, "base64");
  return sn_request_read_inputs(r, cJSON_GetObjectItemCaseSensitive(o, "input"), "input",
                                &in->limits, e);
}

char *sn_openai_write_embeddings(const sn_request_t *req, const sn_served_t *m,
                                 const sn_result_t *res) {
  sn_out_t o = {0};
  sn_out_put(&o, "{\"object\":\"list\",\"data\":[");
  for (size_t i = 0; i < res->count; i++) {
    sn_out_put(&o, "%s{\"object\":\"embedding\",\"index\":%zu,\"embedding\":", i ? "," : "", i);
    const float *v = res->embeddings + i * res->width;
    if (req->base64)
      sn_out_base64(&o, v, res->width);
    else
      sn_out_floats(&o, v, res->width);
    sn_out_put(&o, "}");
  }
  sn_out_put(&o, "],\"model\":");
  sn_out_string(&o, m->name);
  sn_out_put(&o, ",\"usage\":{\"prompt_tokens\":%zu,\"total_tokens\":%zu}}", res->tokens,
             res->tokens);
  return sn_out_take(&o);
}

char *sn_openai_write_models(const sn_served_t *models, size_t count) {
  sn_out_t o = {0};
  sn_out_put(&o, "{\"object\":\"list\",\"data\":[");
  for (size_t i = 0; i < count; i++) {
    sn_out_put(&o, "%s{\"id\":", i ? "," : "");
    sn_out_string(&o, models[i].name);
    sn_out_put(&o, ",\"object\":\"model\",\"created\":0,\"owned_by\":\"sinter\"}");
  }
  sn_out_put(&o, "]}");
  return sn_out_take(&o);
}

/* {"error": {"message", "type", "param", "code"}}; OpenAI answers 400 where
 * TEI answers 422. */
char *sn_openai_error(const sn_parse_error_t *e) {
  const char *type = e->status == 429   ? "rate_limit_error"
                     : e->status == 401 ? "authentication_error"
                     : e->status >= 500 ? "server_error"
                                        : "invalid_request_error";
  sn_out_t o = {0};
  sn_out_put(&o, "{\"error\":{\"message\":");
  sn_out_string(&o, e->message);
  sn_out_put(&o, ",\"type\":\"%s\",\"param\":", type);
  sn_out_string(&o, e->param[0] ? e->param : NULL);
  sn_out_put(&o, ",\"code\":");
  sn_out_string(&o, e->status == 404 && !strcmp(e->param, "model") ? "model_not_found" : NULL);
  sn_out_put(&o, "}}");
  return sn_out_take(&o);
}
