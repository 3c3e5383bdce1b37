/* api_kserve.c — KServe v2 / the Open Inference Protocol (see api.h):
 * POST /v2/models/{m}/infer with BYTES text inputs (a second BYTES input
 * named "text_pair" or "pair" makes pairs for a cross-encoder), answered with
 * FP32 outputs, shape and flattened data: "embedding" [n, hidden] for an
 * encoder, "logits" [n, labels] for a classifier. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/api.h"
#include "server/out.h"

/* Appends the strings of a (possibly nested) data array to `flat`. */
static int flatten(const cJSON *data, cJSON *flat, int depth, sn_parse_error_t *e) {
  if (depth > 8) return sn_request_fail(e, 400, "data", "`data` is nested too deeply");
  for (const cJSON *x = data->child; x; x = x->next) {
    if (cJSON_IsArray(x)) {
      if (flatten(x, flat, depth + 1, e)) return -1;
    } else if (cJSON_IsString(x)) {
      cJSON *ref = cJSON_CreateStringReference(x->valuestring);
      if (!ref || !cJSON_AddItemToArray(flat, ref))
        return sn_request_fail(e, 500, NULL, "out of memory");
    } else {
      return sn_request_fail(e, 400, "data", "BYTES `data` must hold strings");
    }
  }
  return 0;
}

/* Reads one BYTES tensor's strings into r->texts (or into *pairs). */
static int read_tensor(sn_request_t *r, const cJSON *t, const sn_request_limits_t *lim,
                       const char ***pairs, sn_parse_error_t *e) {
  const cJSON *type = cJSON_GetObjectItemCaseSensitive(t, "datatype");
  const cJSON *shape = cJSON_GetObjectItemCaseSensitive(t, "shape");
  const cJSON *data = cJSON_GetObjectItemCaseSensitive(t, "data");
  if (!cJSON_IsString(type) || strcmp(type->valuestring, "BYTES"))
    return sn_request_fail(e, 400, "datatype", "inputs must have datatype \"BYTES\" (text)");
  if (!cJSON_IsArray(data)) return sn_request_fail(e, 400, "data", "an input needs a `data` list");
  cJSON *flat = cJSON_CreateArray();
  if (!flat) return sn_request_fail(e, 500, NULL, "out of memory");
  int rc = flatten(data, flat, 0, e);
  double elements = 1;
  if (!rc && cJSON_IsArray(shape)) {
    /* Each dimension a whole number >= 0 (-1 is a wildcard only in model
     * metadata, never in a request); the product is the element count. A
     * product past 2^53 cannot equal a count, so it stops growing there. */
    for (const cJSON *d = shape->child; d && !rc; d = d->next) {
      if (!cJSON_IsNumber(d) || d->valuedouble < 0 || d->valuedouble != floor(d->valuedouble))
        rc = sn_request_fail(e, 400, "shape", "`shape` dimensions must be whole numbers >= 0");
      else if (elements < 9007199254740992.0)
        elements *= d->valuedouble;
    }
    if (!rc && elements != (double)cJSON_GetArraySize(flat))
      rc = sn_request_fail(e, 400, "shape", "`shape` holds %.0f elements but `data` has %d",
                           elements, cJSON_GetArraySize(flat));
  } else if (!rc) {
    rc = sn_request_fail(e, 400, "shape", "an input needs a `shape` list");
  }
  if (!rc && pairs) {
    sn_request_t second;
    sn_request_init(&second, SN_OP_CLASSIFY);
    rc = sn_request_read_texts(&second, flat, "text_pair", lim, e);
    if (!rc && second.count != r->count)
      rc = sn_request_fail(e, 400, "text_pair", "`text_pair` has %zu texts but `text` has %zu",
                           second.count, r->count);
    if (!rc) *pairs = second.texts, second.texts = NULL;
    sn_request_free(&second);
  } else if (!rc) {
    rc = sn_request_read_texts(r, flat, "data", lim, e);
  }
  cJSON_Delete(flat);
  return rc;
}

int sn_kserve_parse_infer(const sn_parse_input_t *in, sn_request_t *r, sn_parse_error_t *e) {
  sn_request_init(r, SN_OP_BY_MODEL);
  r->model = in->route_model;
  if (sn_request_parse_object(r, in->body, in->size, 400, e)) return -1;
  const cJSON *o = r->json, *inputs = cJSON_GetObjectItemCaseSensitive(o, "inputs");
  if (sn_request_string(o, "id", &r->id, e)) return -1;
  const cJSON *params = cJSON_GetObjectItemCaseSensitive(o, "parameters");
  if (params && !cJSON_IsObject(params))
    return sn_request_fail(e, 400, "parameters", "`parameters` must be an object");
  if (params && sn_request_bool(params, "normalize", &r->normalize, e)) return -1;
  if (!cJSON_IsArray(inputs) || !inputs->child)
    return sn_request_fail(e, 400, "inputs", "`inputs` must be a non-empty list of tensors");
  const cJSON *text = NULL, *pair = NULL;
  for (const cJSON *t = inputs->child; t; t = t->next) {
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
    if (!cJSON_IsObject(t) || !cJSON_IsString(name))
      return sn_request_fail(e, 400, "inputs", "each input needs a string `name`");
    if (!strcmp(name->valuestring, "text_pair") || !strcmp(name->valuestring, "pair"))
      pair = t;
    else if (!text)
      text = t;
    else
      return sn_request_fail(e, 400, "inputs",
                             "input \"%.64s\": one text input is expected (and an optional "
                             "\"text_pair\")",
                             name->valuestring);
  }
  if (!text) return sn_request_fail(e, 400, "inputs", "no text input (only \"text_pair\")");
  if (read_tensor(r, text, &in->limits, NULL, e)) return -1;
  r->is_list = 1;
  r->raw_scores = 1; /* KServe clients get the logits */
  return pair ? read_tensor(r, pair, &in->limits, &r->pairs, e) : 0;
}

char *sn_kserve_write_infer(const sn_request_t *req, const sn_served_t *m, const sn_result_t *res) {
  int embed = req->op == SN_OP_EMBED;
  size_t width = embed ? res->width : res->labels;
  const float *v = embed ? res->embeddings : res->scores;
  sn_out_t o = {0};
  sn_out_put(&o, "{\"model_name\":");
  sn_out_string(&o, m->name);
  sn_out_put(&o, ",\"model_version\":\"1\"");
  if (req->id) {
    sn_out_put(&o, ",\"id\":");
    sn_out_string(&o, req->id);
  }
  sn_out_put(&o,
             ",\"outputs\":[{\"name\":\"%s\",\"datatype\":\"FP32\",\"shape\":[%zu,%zu],\"data\":",
             embed ? "embedding" : "logits", res->count, width);
  sn_out_floats(&o, v, res->count * width);
  sn_out_put(&o, "}]}");
  return sn_out_take(&o);
}

char *sn_kserve_write_server(void) {
  return strdup("{\"name\":\"sinter\",\"version\":\"" SINTER_VERSION_STRING
                "\",\"extensions\":[]}");
}

char *sn_kserve_write_model(const sn_served_t *m) {
  int classifier = m->info.num_labels > 0;
  sn_out_t o = {0};
  sn_out_put(&o, "{\"name\":");
  sn_out_string(&o, m->name);
  sn_out_put(&o,
             ",\"versions\":[\"1\"],\"platform\":\"sinter\",\"inputs\":["
             "{\"name\":\"text\",\"datatype\":\"BYTES\",\"shape\":[-1]}");
  if (classifier) sn_out_put(&o, ",{\"name\":\"text_pair\",\"datatype\":\"BYTES\",\"shape\":[-1]}");
  sn_out_put(&o, "],\"outputs\":[{\"name\":\"%s\",\"datatype\":\"FP32\",\"shape\":[-1,%d]}]}",
             classifier ? "logits" : "embedding",
             classifier ? (int)m->info.num_labels : (int)m->info.hidden_size);
  return sn_out_take(&o);
}

char *sn_kserve_error(const sn_parse_error_t *e) {
  sn_out_t o = {0};
  sn_out_put(&o, "{\"error\":");
  sn_out_string(&o, e->message);
  sn_out_put(&o, "}");
  return sn_out_take(&o);
}
