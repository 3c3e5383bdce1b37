/* api_kserve.c — KServe v2 / the Open Inference Protocol (see api.h):
 * POST /v2/models/{m}/infer with BYTES text inputs (a second BYTES input
 * named "text_pair" or "pair" makes pairs for a cross-encoder), answered with
 * FP32 outputs, shape and flattened data: "embedding" [n, hidden] for an
 * encoder, "logits" [n, labels] for a classifier. Tensors come and go as
 * JSON or as Triton's binary tensor data (tritonclient's default). The
 * binary part of a body is untrusted bytes: every length is checked against
 * what is left before it is read. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/api.h"
#include "server/out.h"

/* One input's binary data: its bytes in the body (NULL: it has none). */
typedef struct slice {
  const unsigned char *p;
  size_t size;
} slice_t;

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

/* Appends the elements of a BYTES tensor's binary data to `flat` as new
 * strings: each a 4-byte little-endian length and that many bytes. At most
 * lim->max_inputs of them; a NUL byte is refused (the text would be cut). */
static int binary_strings(slice_t b, const char *name, const sn_request_limits_t *lim, cJSON *flat,
                          sn_parse_error_t *e) {
  size_t at = 0;
  for (size_t k = 0; at < b.size; k++) {
    if (k >= lim->max_inputs)
      return sn_request_fail(e, 413, "inputs",
                             "input \"%.64s\" holds more than %zu elements; the maximum batch "
                             "size is %zu (--max-client-batch-size)",
                             name, lim->max_inputs, lim->max_inputs);
    if (b.size - at < 4)
      return sn_request_fail(e, 400, "inputs",
                             "input \"%.64s\": element %zu's 4-byte length is cut short: %zu "
                             "bytes of its %zu-byte binary data are left",
                             name, k, b.size - at, b.size);
    const unsigned char *q = b.p + at;
    uint32_t len =
        (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
    at += 4;
    if (len > b.size - at)
      return sn_request_fail(e, 400, "inputs",
                             "input \"%.64s\": element %zu says it has %u bytes but %zu bytes "
                             "of its %zu-byte binary data are left",
                             name, k, len, b.size - at, b.size);
    if (memchr(b.p + at, 0, len))
      return sn_request_fail(e, 400, "inputs",
                             "input \"%.64s\": element %zu holds a NUL byte, which is refused: "
                             "it would cut the text",
                             name, k);
    char *text = malloc((size_t)len + 1);
    if (!text) return sn_request_fail(e, 500, NULL, "out of memory");
    memcpy(text, b.p + at, len);
    text[len] = '\0';
    cJSON *x = cJSON_CreateString(text);
    free(text);
    if (!x || !cJSON_AddItemToArray(flat, x)) {
      cJSON_Delete(x);
      return sn_request_fail(e, 500, NULL, "out of memory");
    }
    at += len;
  }
  return 0;
}

/* Reads one BYTES tensor's strings, from its `data` or its binary data `b`,
 * into r->texts (or into *pairs). Strings made from binary data are kept in
 * r->json, where every string of a request lives. */
static int read_tensor(sn_request_t *r, const cJSON *t, slice_t b, const sn_request_limits_t *lim,
                       const char ***pairs, sn_parse_error_t *e) {
  const cJSON *type = cJSON_GetObjectItemCaseSensitive(t, "datatype");
  const cJSON *shape = cJSON_GetObjectItemCaseSensitive(t, "shape");
  const cJSON *data = cJSON_GetObjectItemCaseSensitive(t, "data");
  const char *name = cJSON_GetObjectItemCaseSensitive(t, "name")->valuestring;
  if (!cJSON_IsString(type) || strcmp(type->valuestring, "BYTES"))
    return sn_request_fail(e, 400, "datatype", "inputs must have datatype \"BYTES\" (text)");
  if (b.p && data)
    return sn_request_fail(e, 400, "data",
                           "input \"%.64s\" has both `data` and `binary_data_size`: one or the "
                           "other",
                           name);
  if (!b.p && !cJSON_IsArray(data))
    return sn_request_fail(e, 400, "data",
                           "an input needs a `data` list (or binary data: its `binary_data_size` "
                           "parameter and the Inference-Header-Content-Length header)");
  cJSON *flat = cJSON_CreateArray();
  if (!flat) return sn_request_fail(e, 500, NULL, "out of memory");
  if (b.p && !cJSON_AddItemToObject(r->json, "", flat)) {
    cJSON_Delete(flat);
    return sn_request_fail(e, 500, NULL, "out of memory");
  }
  int rc = b.p ? binary_strings(b, name, lim, flat, e) : flatten(data, flat, 0, e);
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
      rc = sn_request_fail(e, 400, "shape", "`shape` holds %.0f elements but %s has %d", elements,
                           b.p ? "the binary data" : "`data`", cJSON_GetArraySize(flat));
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
  if (!b.p) cJSON_Delete(flat); /* references: the strings stay in r->json */
  return rc;
}

/* The JSON's size from the Inference-Header-Content-Length header: decimal
 * digits only, at most the body's size. */
static int header_length(const sn_parse_input_t *in, size_t *json_size, sn_parse_error_t *e) {
  const char *h = in->inference_header_length;
  size_t v = 0, n = 0;
  for (; h[n] >= '0' && h[n] <= '9' && n < 20; n++) v = v * 10 + (size_t)(h[n] - '0');
  if (n == 0 || h[n] || n > 15 || v > in->size)
    return sn_request_fail(e, 400, "Inference-Header-Content-Length",
                           "the Inference-Header-Content-Length header must be the size in bytes "
                           "of the JSON at the start of the body, at most the body's %zu bytes "
                           "(got \"%.32s\")",
                           in->size, h);
  *json_size = v;
  return 0;
}

/* `outputs` and the binary data parameters: which output the client asked
 * for (at most one: each model has one), and whether it goes as binary. */
static int read_outputs(sn_request_t *r, const cJSON *params, sn_parse_error_t *e) {
  const cJSON *outs = cJSON_GetObjectItemCaseSensitive(r->json, "outputs");
  if (params && sn_request_bool(params, "binary_data_output", &r->binary_output, e)) return -1;
  if (!outs || cJSON_IsNull(outs)) return 0;
  if (!cJSON_IsArray(outs))
    return sn_request_fail(e, 400, "outputs", "`outputs` must be a list of {\"name\"}");
  if (cJSON_GetArraySize(outs) > 1)
    return sn_request_fail(e, 400, "outputs",
                           "`outputs` asks for %d outputs; each model here has one "
                           "(\"embedding\" or \"logits\")",
                           cJSON_GetArraySize(outs));
  const cJSON *o = outs->child;
  if (!o) return 0;
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
  if (!cJSON_IsObject(o) || !cJSON_IsString(name))
    return sn_request_fail(e, 400, "outputs", "each output needs a string `name`");
  r->output = name->valuestring;
  const cJSON *op = cJSON_GetObjectItemCaseSensitive(o, "parameters");
  if (!op || cJSON_IsNull(op)) return 0;
  if (!cJSON_IsObject(op))
    return sn_request_fail(e, 400, "outputs", "an output's `parameters` must be an object");
  if (cJSON_GetObjectItemCaseSensitive(op, "classification"))
    return sn_request_fail(e, 400, "outputs",
                           "the classification extension is not supported: ask for \"%.64s\" "
                           "without it",
                           r->output);
  return sn_request_bool(op, "binary_data", &r->binary_output, e);
}

int sn_kserve_parse_infer(const sn_parse_input_t *in, sn_request_t *r, sn_parse_error_t *e) {
  sn_request_init(r, SN_OP_BY_MODEL);
  r->model = in->route_model;
  size_t json_size = in->size;
  int binary = in->inference_header_length != NULL;
  if (binary && header_length(in, &json_size, e)) return -1;
  if (sn_request_parse_object(r, in->body, json_size, 400, e)) return -1;
  const cJSON *o = r->json, *inputs = cJSON_GetObjectItemCaseSensitive(o, "inputs");
  if (sn_request_string(o, "id", &r->id, e)) return -1;
  const cJSON *params = cJSON_GetObjectItemCaseSensitive(o, "parameters");
  if (params && !cJSON_IsObject(params))
    return sn_request_fail(e, 400, "parameters", "`parameters` must be an object");
  if (params && sn_request_bool(params, "normalize", &r->normalize, e)) return -1;
  if (read_outputs(r, params, e)) return -1;
  if (!cJSON_IsArray(inputs) || !inputs->child)
    return sn_request_fail(e, 400, "inputs", "`inputs` must be a non-empty list of tensors");
  /* Binary data follows the JSON in the order of `inputs`. */
  const unsigned char *rest = (const unsigned char *)in->body + json_size;
  size_t left = in->size - json_size;
  const cJSON *text = NULL, *pair = NULL;
  slice_t text_data = {NULL, 0}, pair_data = {NULL, 0};
  for (const cJSON *t = inputs->child; t; t = t->next) {
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
    if (!cJSON_IsObject(t) || !cJSON_IsString(name))
      return sn_request_fail(e, 400, "inputs", "each input needs a string `name`");
    const cJSON *tp = cJSON_GetObjectItemCaseSensitive(t, "parameters");
    if (tp && !cJSON_IsNull(tp) && !cJSON_IsObject(tp))
      return sn_request_fail(e, 400, "inputs", "input \"%.64s\": `parameters` must be an object",
                             name->valuestring);
    const cJSON *bs =
        cJSON_IsObject(tp) ? cJSON_GetObjectItemCaseSensitive(tp, "binary_data_size") : NULL;
    slice_t data = {NULL, 0};
    if (bs && !cJSON_IsNull(bs)) {
      if (!binary)
        return sn_request_fail(e, 400, "binary_data_size",
                               "input \"%.64s\" has `binary_data_size` but the request has no "
                               "Inference-Header-Content-Length header (the size of its JSON)",
                               name->valuestring);
      if (!cJSON_IsNumber(bs) || bs->valuedouble < 0 || bs->valuedouble != floor(bs->valuedouble) ||
          bs->valuedouble > (double)left)
        return sn_request_fail(e, 400, "binary_data_size",
                               "input \"%.64s\": `binary_data_size` must be a whole number of "
                               "bytes within the %zu bytes of binary data left in the body",
                               name->valuestring, left);
      data.size = (size_t)bs->valuedouble;
      data.p = rest;
      rest += data.size;
      left -= data.size;
    }
    if (!strcmp(name->valuestring, "text_pair") || !strcmp(name->valuestring, "pair")) {
      pair = t;
      pair_data = data;
    } else if (!text) {
      text = t;
      text_data = data;
    } else {
      return sn_request_fail(e, 400, "inputs",
                             "input \"%.64s\": one text input is expected (and an optional "
                             "\"text_pair\")",
                             name->valuestring);
    }
  }
  if (left)
    return sn_request_fail(e, 400, "binary_data_size",
                           "the body has %zu bytes after its %zu-byte JSON header but the inputs' "
                           "`binary_data_size` leave %zu of them unread",
                           in->size - json_size, json_size, left);
  if (!text) return sn_request_fail(e, 400, "inputs", "no text input (only \"text_pair\")");
  if (read_tensor(r, text, text_data, &in->limits, NULL, e)) return -1;
  r->is_list = 1;
  r->raw_scores = 1; /* KServe clients get the logits */
  return pair ? read_tensor(r, pair, pair_data, &in->limits, &r->pairs, e) : 0;
}

/* The output's name for the operation the model does. */
static const char *output_name(const sn_request_t *req) {
  return req->op == SN_OP_EMBED ? "embedding" : "logits";
}

int sn_kserve_check_outputs(const sn_request_t *req, const sn_served_t *m, sn_parse_error_t *e) {
  if (!req->output || !strcmp(req->output, output_name(req))) return 0;
  return sn_request_fail(e, 400, "outputs",
                         "model \"%.128s\" has no output \"%.64s\"; its output is \"%s\"", m->name,
                         req->output, output_name(req));
}

/* The answer's JSON up to the output's last field: its data as a JSON list,
 * or (binary) its binary_data_size. */
static void write_head(sn_out_t *o, const sn_request_t *req, const sn_served_t *m,
                       const sn_result_t *res, int binary) {
  int embed = req->op == SN_OP_EMBED;
  size_t width = embed ? res->width : res->labels;
  const float *v = embed ? res->embeddings : res->scores;
  sn_out_put(o, "{\"model_name\":");
  sn_out_string(o, m->name);
  sn_out_put(o, ",\"model_version\":\"1\"");
  if (req->id) {
    sn_out_put(o, ",\"id\":");
    sn_out_string(o, req->id);
  }
  sn_out_put(o, ",\"outputs\":[{\"name\":\"%s\",\"datatype\":\"FP32\",\"shape\":[%zu,%zu],",
             output_name(req), res->count, width);
  if (binary) {
    sn_out_put(o, "\"parameters\":{\"binary_data_size\":%zu}}]}", res->count * width * 4);
  } else {
    sn_out_put(o, "\"data\":");
    sn_out_floats(o, v, res->count * width);
    sn_out_put(o, "}]}");
  }
}

char *sn_kserve_write_infer(const sn_request_t *req, const sn_served_t *m, const sn_result_t *res) {
  sn_out_t o = {0};
  write_head(&o, req, m, res, 0);
  return sn_out_take(&o);
}

int sn_kserve_write_infer_body(const sn_request_t *req, const sn_served_t *m,
                               const sn_result_t *res, sn_body_t *out) {
  memset(out, 0, sizeof *out);
  if (!req->binary_output) {
    out->data = sn_kserve_write_infer(req, m, res);
    out->size = out->data ? strlen(out->data) : 0;
    return out->data ? 0 : -1;
  }
  int embed = req->op == SN_OP_EMBED;
  size_t n = res->count * (embed ? res->width : res->labels);
  const float *v = embed ? res->embeddings : res->scores;
  sn_out_t o = {0};
  write_head(&o, req, m, res, 1);
  char *json = sn_out_take(&o);
  size_t json_size = json ? strlen(json) : 0;
  char *data = json ? realloc(json, json_size + n * 4) : NULL;
  if (!data) {
    free(json);
    return -1;
  }
  /* Little-endian float32, whatever this machine's order. */
  unsigned char *q = (unsigned char *)data + json_size;
  for (size_t i = 0; i < n; i++, q += 4) {
    uint32_t bits;
    memcpy(&bits, &v[i], 4);
    q[0] = (unsigned char)bits, q[1] = (unsigned char)(bits >> 8);
    q[2] = (unsigned char)(bits >> 16), q[3] = (unsigned char)(bits >> 24);
  }
  out->data = data;
  out->size = json_size + n * 4;
  out->json_size = json_size;
  return 0;
}

char *sn_kserve_write_server(void) {
  return strdup("{\"name\":\"sinter\",\"version\":\"" SINTER_VERSION_STRING
                "\",\"extensions\":[\"binary_tensor_data\"]}");
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
             classifier ? (int)m->info.num_labels : (int)m->info.embedding_dim);
  return sn_out_take(&o);
}

char *sn_kserve_error(const sn_parse_error_t *e) {
  sn_out_t o = {0};
  sn_out_put(&o, "{\"error\":");
  sn_out_string(&o, e->message);
  sn_out_put(&o, "}");
  return sn_out_take(&o);
}
