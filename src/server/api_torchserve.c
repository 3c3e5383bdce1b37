/* api_torchserve.c — TorchServe's inference API (see api.h), for teams
 * moving from a TorchServe handler: POST /predictions/{model} with a raw text
 * body, a JSON string or list of strings, or {"data": ...} (also "inputs");
 * an encoder answers [{"embedding": [...]}] per input, a classifier
 * [{"label", "score"}] (its best label). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/api.h"
#include "server/out.h"

int sn_torchserve_parse_predictions(const sn_parse_input_t *in, sn_request_t *r,
                                    sn_parse_error_t *e) {
  sn_request_init(r, SN_OP_BY_MODEL);
  r->model = in->route_model;
  const char *ct = in->content_type;
  /* Media types ignore case; anything but JSON is the text itself. */
  int json = ct && !strncasecmp(ct, "application/json", 16);
  if (!json) {
    r->raw_text = malloc(in->size + 1);
    if (!r->raw_text) return sn_request_fail(e, 500, NULL, "out of memory");
    if (in->size) memcpy(r->raw_text, in->body, in->size);
    r->raw_text[in->size] = '\0';
    if (strlen(r->raw_text) != in->size)
      return sn_request_fail(e, 400, "body", "the text body holds a NUL byte");
    cJSON *one = cJSON_CreateStringReference(r->raw_text);
    if (!one) return sn_request_fail(e, 500, NULL, "out of memory");
    int rc = sn_request_read_texts(r, one, "body", &in->limits, e);
    cJSON_Delete(one);
    return rc;
  }
  if (sn_request_parse_json(r, in->body, in->size, 400, e)) return -1;
  const cJSON *v = r->json;
  if (cJSON_IsObject(v)) {
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(v, "data");
    v = d ? d : cJSON_GetObjectItemCaseSensitive(v, "inputs");
    if (!v) return sn_request_fail(e, 400, "data", "the JSON body needs \"data\" (or \"inputs\")");
  }
  return sn_request_read_texts(r, v, "data", &in->limits, e);
}

char *sn_torchserve_write_predictions(const sn_request_t *req, const sn_served_t *m,
                                      const sn_result_t *res) {
  sn_out_t o = {0};
  sn_out_put(&o, "[");
  for (size_t i = 0; i < res->count; i++) {
    if (i) sn_out_put(&o, ",");
    if (req->op == SN_OP_EMBED) {
      sn_out_put(&o, "{\"embedding\":");
      sn_out_floats(&o, res->embeddings + i * res->width, res->width);
      sn_out_put(&o, "}");
      continue;
    }
    const float *p = res->scores + i * res->labels;
    size_t best = 0;
    for (size_t k = 1; k < res->labels; k++)
      if (p[k] > p[best]) best = k;
    sn_out_put(&o, "{\"label\":");
    sn_out_string(&o, m->info.labels[best]);
    sn_out_put(&o, ",\"score\":");
    sn_out_float(&o, p[best]);
    sn_out_put(&o, "}");
  }
  sn_out_put(&o, "]");
  return sn_out_take(&o);
}

char *sn_torchserve_error(const sn_parse_error_t *e) {
  const char *type = e->status == 404   ? "ModelNotFoundException"
                     : e->status == 413 ? "RequestEntityTooLargeException"
                     : e->status == 429 ? "ServiceUnavailableException"
                     : e->status == 503 ? "ServiceUnavailableException"
                     : e->status >= 500 ? "InternalServerException"
                                        : "BadRequestException";
  sn_out_t o = {0};
  sn_out_put(&o, "{\"code\":%u,\"type\":\"%s\",\"message\":", e->status, type);
  sn_out_string(&o, e->message);
  sn_out_put(&o, "}");
  return sn_out_take(&o);
}
