/* api_tei.c — Hugging Face text-embeddings-inference's routes (see api.h).
 * Wire-compatible with TEI's router: the same fields, defaults, response
 * shapes and errors ({"error", "error_type"}). Two choices of ours: `truncate`
 * defaults to true (TEI's --auto-truncate), and an optional `model` field
 * picks one of several served models. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/api.h"
#include "server/out.h"

/* The fields every TEI route shares: model, truncate, truncation_direction,
 * prompt_name (the engine looks it up in the model's prompts). */
static int common(const cJSON *o, sn_request_t *r, sn_parse_error_t *e) {
  if (sn_request_string(o, "model", &r->model, e) ||
      sn_request_bool(o, "truncate", &r->truncate, e))
    return -1;
  const char *dir = NULL;
  if (sn_request_string(o, "truncation_direction", &dir, e)) return -1;
  /* TEI's examples say "right"; its enum, "Right"; huggingface_hub sends
   * "left"/"right". */
  if (dir && strcasecmp(dir, "Left") && strcasecmp(dir, "Right"))
    return sn_request_fail(e, 422, "truncation_direction",
                           "`truncation_direction` must be \"Left\" or \"Right\"");
  r->truncate_left = dir && !strcasecmp(dir, "Left");
  return sn_request_string(o, "prompt_name", &r->prompt_name, e);
}

/* /embed's fields, from the parsed body. */
static int embed_fields(const sn_parse_input_t *in, sn_request_t *r, sn_parse_error_t *e) {
  const cJSON *o = r->json;
  if (common(o, r, e) || sn_request_bool(o, "normalize", &r->normalize, e) ||
      sn_request_int(o, "dimensions", 1, 1 << 20, &r->dimensions, e))
    return -1;
  return sn_request_read_inputs(r, cJSON_GetObjectItemCaseSensitive(o, "inputs"), "inputs",
                                &in->limits, e);
}

int sn_tei_parse_embed(const sn_parse_input_t *in, sn_request_t *r, sn_parse_error_t *e) {
  sn_request_init(r, SN_OP_EMBED);
  if (sn_request_parse_object(r, in->body, in->size, 422, e)) return -1;
  return embed_fields(in, r, e);
}

/* /similarity's fields: {"inputs": {"source_sentence", "sentences"},
 * "parameters": {"truncate", "truncation_direction", "prompt_name"}}. The
 * source becomes the first text, each sentence the next ones. */
static int similarity_fields(const sn_parse_input_t *in, sn_request_t *r, sn_parse_error_t *e) {
  const cJSON *o = r->json, *inputs = cJSON_GetObjectItemCaseSensitive(o, "inputs");
  const cJSON *params = cJSON_GetObjectItemCaseSensitive(o, "parameters");
  r->similarity = 1;
  r->normalize = 0; /* as TEI: the cosine of the raw embeddings */
  if (sn_request_string(o, "model", &r->model, e)) return -1;
  if (params && !cJSON_IsNull(params)) {
    if (!cJSON_IsObject(params))
      return sn_request_fail(e, 422, "parameters", "`parameters` must be an object");
    if (common(params, r, e)) return -1;
  }
  if (!cJSON_IsObject(inputs))
    return sn_request_fail(e, 422, "inputs",
                           "`inputs` must be an object {\"source_sentence\", \"sentences\"}");
  const cJSON *src = cJSON_GetObjectItemCaseSensitive(inputs, "source_sentence");
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(inputs, "sentences");
  if (!cJSON_IsString(src))
    return sn_request_fail(e, 422, "inputs.source_sentence",
                           "`inputs.source_sentence` must be a string");
  if (!cJSON_IsArray(list))
    return sn_request_fail(e, 422, "inputs.sentences",
                           "`inputs.sentences` must be a list of strings");
  sn_request_t one;
  sn_request_init(&one, SN_OP_EMBED);
  int bad = sn_request_read_texts(&one, src, "inputs.source_sentence", &in->limits, e);
  sn_request_free(&one);
  if (bad) return -1;
  if (in->limits.max_inputs < 2)
    return sn_request_fail(e, 413, "inputs.sentences",
                           "the maximum batch size is %zu: a similarity needs the source and one "
                           "sentence (--max-client-batch-size)",
                           in->limits.max_inputs);
  sn_request_limits_t lim = in->limits;
  lim.max_inputs -= 1; /* the source counts, as in TEI */
  if (sn_request_read_texts(r, list, "inputs.sentences", &lim, e)) return -1;
  const char **texts = malloc((r->count + 1) * sizeof *texts);
  if (!texts) return sn_request_fail(e, 500, NULL, "out of memory");
  texts[0] = src->valuestring;
  memcpy(texts + 1, r->texts, r->count * sizeof *texts);
  free(r->texts);
  r->texts = texts;
  r->count++;
  r->is_list = 1;
  return 0;
}

int sn_tei_parse_similarity(const sn_parse_input_t *in, sn_request_t *r, sn_parse_error_t *e) {
  sn_request_init(r, SN_OP_EMBED);
  if (sn_request_parse_object(r, in->body, in->size, 422, e)) return -1;
  return similarity_fields(in, r, e);
}

/* POST / on an encoder: /similarity's body when `inputs` is an object (what
 * huggingface_hub's sentence_similarity sends to a URL), else /embed's. */
int sn_tei_parse_root(const sn_parse_input_t *in, sn_request_t *r, sn_parse_error_t *e) {
  sn_request_init(r, SN_OP_EMBED);
  if (sn_request_parse_object(r, in->body, in->size, 422, e)) return -1;
  return cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(r->json, "inputs"))
             ? similarity_fields(in, r, e)
             : embed_fields(in, r, e);
}

int sn_tei_parse_embed_all(const sn_parse_input_t *in, sn_request_t *r, sn_parse_error_t *e) {
  sn_request_init(r, SN_OP_EMBED_ALL);
  if (sn_request_parse_object(r, in->body, in->size, 422, e)) return -1;
  if (common(r->json, r, e)) return -1;
  return sn_request_read_inputs(r, cJSON_GetObjectItemCaseSensitive(r->json, "inputs"), "inputs",
                                &in->limits, e);
}

int sn_tei_parse_embed_sparse(const sn_parse_input_t *in, sn_request_t *r, sn_parse_error_t *e) {
  sn_request_init(r, SN_OP_EMBED_SPARSE);
  if (sn_request_parse_object(r, in->body, in->size, 422, e)) return -1;
  if (common(r->json, r, e)) return -1;
  return sn_request_read_inputs(r, cJSON_GetObjectItemCaseSensitive(r->json, "inputs"), "inputs",
                                &in->limits, e);
}

/* TEI's quirk: "inputs" is a text, a pair ["a", "b"], or a batch
 * [["a"], ["b", "c"]] of texts and pairs. */
int sn_tei_parse_predict(const sn_parse_input_t *in, sn_request_t *r, sn_parse_error_t *e) {
  sn_request_init(r, SN_OP_CLASSIFY);
  if (sn_request_parse_object(r, in->body, in->size, 422, e)) return -1;
  const cJSON *o = r->json, *v = cJSON_GetObjectItemCaseSensitive(o, "inputs");
  if (common(o, r, e) || sn_request_bool(o, "raw_scores", &r->raw_scores, e)) return -1;
  if (!v || cJSON_IsNull(v)) return sn_request_fail(e, 422, "inputs", "`inputs` is missing");
  r->is_list = cJSON_IsArray(v) && v->child && cJSON_IsArray(v->child);
  size_t n = r->is_list ? (size_t)cJSON_GetArraySize(v) : 1;
  if (n > in->limits.max_inputs)
    return sn_request_fail(e, 413, "inputs",
                           "`inputs` has %zu inputs; the maximum batch size is %zu", n,
                           in->limits.max_inputs);
  /* Read each item as texts: a one- or two-text list, or a lone string. */
  r->texts = calloc(n, sizeof *r->texts);
  r->pairs = calloc(n, sizeof *r->pairs);
  if (!r->texts || !r->pairs) return sn_request_fail(e, 500, NULL, "out of memory");
  r->count = n;
  const cJSON *x = r->is_list ? v->child : v;
  for (size_t i = 0; i < n; i++, x = x->next) {
    sn_request_t item;
    sn_request_init(&item, SN_OP_CLASSIFY);
    sn_request_limits_t two = in->limits;
    two.max_inputs = 2;
    char name[32];
    snprintf(name, sizeof name, r->is_list ? "inputs[%zu]" : "inputs", i);
    if (cJSON_IsArray(x) && cJSON_GetArraySize(x) > 2)
      return sn_request_fail(e, 422, name, "`%s` must be a text or a pair of two texts", name);
    int bad = sn_request_read_texts(&item, x, name, &two, e);
    if (!bad) {
      r->texts[i] = item.texts[0];
      r->pairs[i] = item.count > 1 ? item.texts[1] : NULL;
    }
    sn_request_free(&item); /* the strings stay: they belong to r->json */
    if (bad) return -1;
  }
  if (n == 0) return sn_request_fail(e, 422, "inputs", "`inputs` cannot be empty");
  return 0;
}

int sn_tei_parse_rerank(const sn_parse_input_t *in, sn_request_t *r, sn_parse_error_t *e) {
  sn_request_init(r, SN_OP_RERANK);
  if (sn_request_parse_object(r, in->body, in->size, 422, e)) return -1;
  const cJSON *o = r->json, *q = cJSON_GetObjectItemCaseSensitive(o, "query");
  if (common(o, r, e) || sn_request_bool(o, "raw_scores", &r->raw_scores, e) ||
      sn_request_bool(o, "return_text", &r->return_text, e))
    return -1;
  if (!cJSON_IsString(q)) return sn_request_fail(e, 422, "query", "`query` must be a string");
  sn_request_t one;
  sn_request_init(&one, SN_OP_RERANK);
  int bad = sn_request_read_texts(&one, q, "query", &in->limits, e);
  sn_request_free(&one);
  if (bad) return -1;
  r->query = q->valuestring;
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "texts");
  if (!cJSON_IsArray(t))
    return sn_request_fail(e, 422, "texts", "`texts` must be a list of strings");
  return sn_request_read_texts(r, t, "texts", &in->limits, e);
}

int sn_tei_parse_tokenize(const sn_parse_input_t *in, sn_request_t *r, sn_parse_error_t *e) {
  sn_request_init(r, SN_OP_TOKENIZE);
  if (sn_request_parse_object(r, in->body, in->size, 422, e)) return -1;
  const cJSON *o = r->json;
  if (sn_request_string(o, "model", &r->model, e) ||
      sn_request_bool(o, "add_special_tokens", &r->add_special, e) ||
      sn_request_string(o, "prompt_name", &r->prompt_name, e))
    return -1;
  return sn_request_read_texts(r, cJSON_GetObjectItemCaseSensitive(o, "inputs"), "inputs",
                               &in->limits, e);
}

int sn_tei_parse_decode(const sn_parse_input_t *in, sn_request_t *r, sn_parse_error_t *e) {
  sn_request_init(r, SN_OP_DECODE);
  if (sn_request_parse_object(r, in->body, in->size, 422, e)) return -1;
  const cJSON *o = r->json, *ids = cJSON_GetObjectItemCaseSensitive(o, "ids");
  if (sn_request_string(o, "model", &r->model, e) ||
      sn_request_bool(o, "skip_special_tokens", &r->skip_special, e))
    return -1;
  if (!cJSON_IsArray(ids) || !ids->child)
    return sn_request_fail(e, 422, "ids", "`ids` must be a list of token ids or a list of lists");
  if (sn_request_read_inputs(r, ids, "ids", &in->limits, e)) return -1;
  if (!r->ids) return sn_request_fail(e, 422, "ids", "`ids` must hold token ids, not texts");
  return 0;
}

/* ---------------------------------------------------------------- writers */

char *sn_tei_write_embed(const sn_request_t *req, const sn_served_t *m, const sn_result_t *res) {
  (void)req, (void)m;
  sn_out_t o = {0};
  sn_out_put(&o, "[");
  for (size_t i = 0; i < res->count; i++) {
    if (i) sn_out_put(&o, ",");
    sn_out_floats(&o, res->embeddings + i * res->width, res->width);
  }
  sn_out_put(&o, "]");
  return sn_out_take(&o);
}

/* [[{"index": i, "value": v}, ...], ...]: each input's nonzero entries,
 * by index (a list even for one input, as TEI answers). */
char *sn_tei_write_embed_sparse(const sn_request_t *req, const sn_served_t *m,
                                const sn_result_t *res) {
  (void)req, (void)m;
  sn_out_t o = {0};
  sn_out_put(&o, "[");
  for (size_t i = 0; i < res->count; i++) {
    const float *v = res->sparse + i * res->vocab;
    sn_out_put(&o, "%s[", i ? "," : "");
    int any = 0;
    for (size_t k = 0; k < res->vocab; k++) {
      if (v[k] == 0.0f) continue;
      sn_out_put(&o, "%s{\"index\":%zu,\"value\":", any ? "," : "", k);
      sn_out_float(&o, v[k]);
      sn_out_put(&o, "}");
      any = 1;
    }
    sn_out_put(&o, "]");
  }
  sn_out_put(&o, "]");
  return sn_out_take(&o);
}

char *sn_tei_write_similarity(const sn_request_t *req, const sn_served_t *m,
                              const sn_result_t *res) {
  (void)req, (void)m;
  sn_out_t o = {0};
  sn_out_floats(&o, res->scores, res->count > 0 ? res->count - 1 : 0);
  return sn_out_take(&o);
}

char *sn_tei_write_root(const sn_request_t *req, const sn_served_t *m, const sn_result_t *res) {
  return req->similarity ? sn_tei_write_similarity(req, m, res) : sn_tei_write_embed(req, m, res);
}

/* pos[0] is the input, pos[1] the token within it: [[row,row],[row]]. */
int sn_tei_stream_embed_all(const sn_request_t *req, const sn_served_t *m, const sn_result_t *res,
                            size_t pos[2], sn_out_t *o) {
  (void)req, (void)m;
  size_t i = pos[0], t = pos[1];
  if (i == 0 && t == 0) sn_out_put(o, "[");
  if (i < res->count) {
    if (t == 0) sn_out_put(o, "%s[", i ? "," : "");
    if (t < res->lengths[i]) {
      if (t) sn_out_put(o, ",");
      sn_out_floats(o, res->token_states + (res->starts[i] + t) * res->hidden, res->hidden);
      t++;
    }
    if (t == res->lengths[i]) {
      sn_out_put(o, "]");
      i++, t = 0;
    }
  }
  if (i == res->count) sn_out_put(o, "]");
  pos[0] = i, pos[1] = t;
  return i < res->count;
}

char *sn_tei_write_predict(const sn_request_t *req, const sn_served_t *m, const sn_result_t *res) {
  size_t labels = res->labels;
  size_t *order = malloc(labels * sizeof *order);
  if (!order) return NULL;
  sn_out_t o = {0};
  if (req->is_list) sn_out_put(&o, "[");
  for (size_t i = 0; i < res->count; i++) {
    const float *p = res->scores + i * labels;
    sn_order_by_score(p, order, labels);
    sn_out_put(&o, "%s[", i ? "," : "");
    for (size_t k = 0; k < labels; k++) {
      sn_out_put(&o, "%s{\"score\":", k ? "," : "");
      sn_out_float(&o, p[order[k]]);
      sn_out_put(&o, ",\"label\":");
      sn_out_string(&o, m->info.labels[order[k]]);
      sn_out_put(&o, "}");
    }
    sn_out_put(&o, "]");
  }
  if (req->is_list) sn_out_put(&o, "]");
  free(order);
  return sn_out_take(&o);
}

char *sn_tei_write_rerank(const sn_request_t *req, const sn_served_t *m, const sn_result_t *res) {
  (void)m;
  sn_out_t o = {0};
  sn_out_put(&o, "[");
  for (size_t k = 0; k < res->n_order; k++) {
    size_t i = res->order[k];
    sn_out_put(&o, "%s{\"index\":%zu,\"score\":", k ? "," : "", i);
    sn_out_float(&o, res->scores[i]);
    if (req->return_text) {
      sn_out_put(&o, ",\"text\":");
      sn_out_string(&o, req->texts[i]);
    }
    sn_out_put(&o, "}");
  }
  sn_out_put(&o, "]");
  return sn_out_take(&o);
}

/* [[{"id", "text", "special", "start", "stop"}]]: a token's text is its span
 * of the input; special tokens carry their vocabulary string and no span. */
char *sn_tei_write_tokenize(const sn_request_t *req, const sn_served_t *m, const sn_result_t *res) {
  sn_out_t o = {0};
  sn_out_put(&o, "[");
  for (size_t i = 0; i < res->count; i++) {
    const sinter_encoding_t *enc = &res->enc[i];
    const char *text = res->texts ? res->texts[i] : req->texts[i];
    sn_out_put(&o, "%s[", i ? "," : "");
    for (size_t t = 0; t < enc->length; t++) {
      sn_out_put(&o, "%s{\"id\":%d,\"text\":", t ? "," : "", (int)enc->ids[t]);
      if (enc->special[t]) {
        sn_out_string(&o, sinter_model_token(m->model, enc->ids[t]));
        sn_out_put(&o, ",\"special\":true,\"start\":null,\"stop\":null}");
        continue;
      }
      uint32_t a = enc->offsets[2 * t], b = enc->offsets[2 * t + 1];
      char *span = strndup(text + a, b - a);
      if (!span) o.oom = 1;
      sn_out_string(&o, span ? span : "");
      free(span);
      sn_out_put(&o, ",\"special\":false,\"start\":%u,\"stop\":%u}", a, b);
    }
    sn_out_put(&o, "]");
  }
  sn_out_put(&o, "]");
  return sn_out_take(&o);
}

char *sn_tei_write_decode(const sn_request_t *req, const sn_served_t *m, const sn_result_t *res) {
  (void)req, (void)m;
  sn_out_t o = {0};
  sn_out_put(&o, "[");
  for (size_t i = 0; i < res->count; i++) {
    if (i) sn_out_put(&o, ",");
    sn_out_string(&o, res->decoded[i]);
  }
  sn_out_put(&o, "]");
  return sn_out_take(&o);
}

char *sn_tei_error(const sn_parse_error_t *e) {
  sn_out_t o = {0};
  sn_out_put(&o, "{\"error\":");
  sn_out_string(&o, e->message);
  sn_out_put(&o, ",\"error_type\":");
  sn_out_string(&o, e->kind ? e->kind : "Validation");
  sn_out_put(&o, "}");
  return sn_out_take(&o);
}

char *sn_tei_write_info(const sn_served_t *m, const sn_info_limits_t *lim) {
  static const char *const dtypes[] = {"float32", "bfloat16", "int8"};
  static const char *const pools[] = {"cls",           "cls",       "mean",        "max",
                                      "mean_sqrt_len", "lasttoken", "weightedmean"};
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "model_id", m->name);
  cJSON_AddNullToObject(o, "model_sha");
  cJSON_AddStringToObject(o, "model_dtype", dtypes[m->pinfo.dtype <= 2 ? m->pinfo.dtype : 0]);
  cJSON *type = cJSON_AddObjectToObject(o, "model_type");
  if (m->info.num_labels > 0) {
    cJSON *labels =
        cJSON_AddObjectToObject(cJSON_AddObjectToObject(type, "classifier"), "id2label");
    for (int i = 0; i < m->info.num_labels; i++) {
      char k[16];
      snprintf(k, sizeof k, "%d", i);
      cJSON_AddStringToObject(labels, k, m->info.labels[i]);
    }
  } else {
    size_t np = sizeof pools / sizeof pools[0];
    /* TEI says "splade" for a model served with --pooling splade. */
    cJSON_AddStringToObject(
        cJSON_AddObjectToObject(type, "embedding"), "pooling",
        m->pinfo.sparse ? "splade" : pools[(size_t)m->info.pooling < np ? m->info.pooling : 0]);
  }
  /* sinter's own: which family and architecture runs (TEI has no field). */
  cJSON_AddStringToObject(o, "model_family", m->info.model_type);
  cJSON_AddStringToObject(o, "architecture", m->info.architecture);
  cJSON_AddNumberToObject(o, "max_input_length", m->max_input_tokens);
  cJSON_AddNumberToObject(o, "max_batch_tokens", (double)lim->max_batch_tokens);
  cJSON_AddNumberToObject(o, "max_client_batch_size", (double)lim->max_client_batch);
  cJSON_AddNumberToObject(o, "tokenization_workers", (double)lim->tokenization_workers);
  cJSON_AddNumberToObject(o, "hidden_size", m->info.hidden_size);
  /* the embeddings' width: hidden_size, or the last Dense module's */
  cJSON_AddNumberToObject(o, "embedding_dim", m->info.embedding_dim);
  cJSON_AddStringToObject(o, "version", SINTER_VERSION_STRING);
  /* sinter's own: where the program came from (a fresh replica should say
   * "remote_cache", not "compiled"), and its content key. */
  static const char *const origins[] = {"file", "local_cache", "remote_cache", "compiled"};
  unsigned origin = (unsigned)m->pinfo.origin;
  cJSON_AddStringToObject(o, "sinter_origin", origin < 4 ? origins[origin] : "unknown");
  cJSON_AddStringToObject(o, "sinter_content_key", m->pinfo.content_key);
  char *json = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return json;
}
