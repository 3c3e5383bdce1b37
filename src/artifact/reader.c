/* reader.c — checking a .sinter file and decoding its sections. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/container.h"
#include "base/json.h"
#include "model/family.h"

/* The CONFIG section's "dense": the folder's Dense modules, as
 * sn_st_modules_load read them, checked as it checks them. */
static sinter_status_t read_dense(const cJSON *o, const char *label, sn_st_modules_t *mod,
                                  int32_t hidden, sinter_error_t *err) {
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(o, "dense");
  mod->dense_count = 0;
  if (!list || cJSON_IsNull(list)) return SINTER_OK;
  if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > SN_ST_MAX_DENSE)
    return sn_error_set(err, SINTER_ERR_FORMAT,
                        "%s: CONFIG \"dense\" must be an array of at most %d modules", label,
                        SN_ST_MAX_DENSE);
  const cJSON *item;
  cJSON_ArrayForEach(item, list) {
    sn_st_dense_t *d = &mod->dense[mod->dense_count];
    memset(d, 0, sizeof *d);
    const char *path = NULL, *act = NULL;
    int64_t in = 0, out = 0;
    sinter_status_t st;
    if ((st = sn_json_get_string(item, "path", NULL, label, &path, err)) ||
        (st = sn_json_get_string(item, "activation", NULL, label, &act, err)) ||
        (st = sn_json_get_int(item, "in_features", 0, 1, SN_CONFIG_MAX_HIDDEN, label, &in, err)) ||
        (st =
             sn_json_get_int(item, "out_features", 0, 1, SN_CONFIG_MAX_HIDDEN, label, &out, err)) ||
        (st = sn_json_get_bool(item, "bias", 0, label, &d->bias, err)))
      return st;
    char torch_name[64];
    snprintf(torch_name, sizeof torch_name, "torch.nn.%s", act ? act : "");
    if (!path || !path[0] || strlen(path) >= sizeof d->path || in < 1 || out < 1 || !act ||
        sn_st_dense_activation(torch_name, &d->activation) != 0)
      return sn_error_set(err, SINTER_ERR_FORMAT, "%s: CONFIG dense module %d is invalid", label,
                          (int)mod->dense_count);
    snprintf(d->path, sizeof d->path, "%s", path);
    d->in_features = (int32_t)in;
    d->out_features = (int32_t)out;
    mod->dense_count++;
  }
  return sn_st_modules_check_dense(mod, hidden, label, err);
}

/* The CONFIG section's "reranker" (rerank_template.json as the model read
 * it), checked as rerank.c checks it; a folded head makes the config a
 * one-label classifier, which the plan's logits are verified against. */
static sinter_status_t read_reranker(const cJSON *o, const char *label, sn_artifact_contents_t *c,
                                     sn_config_t *config, sinter_error_t *err) {
  const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "reranker");
  if (!r || cJSON_IsNull(r)) return SINTER_OK;
  const char *prefix = NULL, *body = NULL, *suffix = NULL, *instruction = NULL;
  int64_t yes = -1, no = -1;
  sn_rerank_template_t t;
  sinter_status_t st;
  if (!cJSON_IsObject(r))
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: CONFIG \"reranker\" must be an object", label);
  if ((st = sn_json_get_string(r, "prefix", NULL, label, &prefix, err)) ||
      (st = sn_json_get_string(r, "body", NULL, label, &body, err)) ||
      (st = sn_json_get_string(r, "suffix", NULL, label, &suffix, err)) ||
      (st = sn_json_get_string(r, "instruction", NULL, label, &instruction, err)) ||
      (st = sn_json_get_int(r, "true_id", -1, -1, config->vocab_size - 1, label, &yes, err)) ||
      (st = sn_json_get_int(r, "false_id", -1, -1, config->vocab_size - 1, label, &no, err)))
    return st;
  if (!prefix || !suffix || !instruction || (yes < 0 && no >= 0))
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: CONFIG \"reranker\" is incomplete", label);
  SN_TRY(sn_rerank_check_body(body, label, err));
  t = (sn_rerank_template_t){.prefix = (char *)prefix,
                             .body = (char *)body,
                             .suffix = (char *)suffix,
                             .instruction = (char *)instruction,
                             .true_id = (int32_t)yes,
                             .false_id = (int32_t)no};
  SN_TRY(sn_rerank_template_copy(&t, &c->rerank, err));
  c->model.rerank = c->rerank;
  if (yes >= 0 && config->head == SN_HEAD_NONE) {
    if (config->family->cls_head != SN_CLS_LAST_TOKEN)
      return sn_error_set(err, SINTER_ERR_FORMAT,
                          "%s: CONFIG \"reranker\" folds an LM head model_type %s does not have",
                          label, config->family->name);
    config->head = SN_HEAD_SEQUENCE;
    config->num_labels = 1;
  }
  return SINTER_OK;
}

/* The CONFIG section: config.json's text and what the folder's
 * sentence-transformers files said. The text is checked by parsing it. */
static sinter_status_t read_config(const char *text, size_t size, const char *label,
                                   sn_artifact_contents_t *c, sn_config_t *config,
                                   sinter_error_t *err) {
  cJSON *o = NULL;
  SN_TRY(sn_json_parse(text, size, label, &o, err));
  sinter_status_t st = SINTER_OK;
  const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(o, "config.json");
  const char *pool = NULL;
  sn_model_description_t *m = &c->model;
  int64_t v;
  if (!cJSON_IsObject(o) || !cJSON_IsString(cfg)) {
    st = sn_error_set(err, SINTER_ERR_FORMAT, "%s: CONFIG section lacks config.json", label);
    goto done;
  }
  if ((st = sn_config_parse(cfg->valuestring, strlen(cfg->valuestring), label, config, err)))
    goto done;
  if (!(c->config_json = strdup(cfg->valuestring))) {
    st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "%s: config", label);
    goto done;
  }
  m->config_json = c->config_json;
  m->config_json_size = strlen(c->config_json);
  if ((st = sn_json_get_bool(o, "sentence_transformers", 0, label, &m->modules.present, err)) ||
      (st = sn_json_get_string(o, "pooling", "cls", label, &pool, err)) ||
      (st = sn_json_get_bool(o, "normalize", 0, label, &m->modules.normalize, err)) ||
      (st = sn_json_get_bool(o, "do_lower_case", 0, label, &m->modules.do_lower_case, err)) ||
      (st = sn_json_get_bool(o, "has_pooler", 0, label, &m->has_pooler, err)) ||
      (st = sn_json_get_int(o, "max_seq_length", 0, 0, 1 << 20, label, &v, err)))
    goto done;
  m->modules.max_seq_length = (int32_t)v;
  if ((st = read_dense(o, label, &m->modules, config->hidden_size, err))) goto done;
  config->embedding_dim = sn_st_embedding_dim(&m->modules, config->hidden_size);
  if ((st = sn_json_get_int(o, "parameter_count", 0, 0, (int64_t)1 << 50, label, &v, err)))
    goto done;
  if ((st = read_reranker(o, label, c, config, err))) goto done;
  m->parameter_count = v;
  if (sn_pooling_parse(pool, &m->modules.pooling) != 0)
    st = sn_error_set(err, SINTER_ERR_FORMAT, "%s: unknown pooling \"%s\"", label, pool);
done:
  cJSON_Delete(o);
  return st;
}

static int known_tokenizer_file(const char *name, size_t len) {
  for (size_t k = 0; sn_tokenizer_file_names[k]; k++)
    if (strlen(sn_tokenizer_file_names[k]) == len && !memcmp(sn_tokenizer_file_names[k], name, len))
      return 1;
  return 0;
}

/* The TOKENIZER section: named files whose bytes stay in the mapping. */
static sinter_status_t read_tokenizer(const unsigned char *data, size_t size, const char *label,
                                      sn_artifact_contents_t *c, sinter_error_t *err) {
  sn_rbuf_t r = {data, size, 0, 0};
  uint32_t count = sn_rbuf_u32(&r);
  if (r.bad || count > SN_ARTIFACT_MAX_TOKENIZER_FILES)
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: TOKENIZER section is invalid", label);
  for (uint32_t i = 0; i < count; i++) {
    uint32_t name_len = sn_rbuf_u32(&r);
    const char *name = name_len < sizeof c->tokenizer_names[0] ? sn_rbuf_bytes(&r, name_len) : NULL;
    uint64_t len = sn_rbuf_u64(&r);
    const void *bytes = len <= size ? sn_rbuf_bytes(&r, (size_t)len) : NULL;
    if (r.bad || !name || !bytes || !known_tokenizer_file(name, name_len))
      return sn_error_set(err, SINTER_ERR_FORMAT, "%s: TOKENIZER file %u is invalid", label, i);
    memcpy(c->tokenizer_names[i], name, name_len);
    c->tokenizer_names[i][name_len] = '\0';
    c->tokenizer_files[i] = (sn_tokenizer_file_t){c->tokenizer_names[i], bytes, (size_t)len};
  }
  c->model.tokenizer_files = c->tokenizer_files;
  c->model.tokenizer_file_count = count;
  return SINTER_OK;
}

sinter_status_t sn_artifact_decode(const unsigned char *p, size_t size, const char *label,
                                   int check_cpu, sn_artifact_contents_t *c, sinter_error_t *err) {
  sn_image_t im;
  sn_config_t config;
  memset(&config, 0, sizeof config);
  sn_ir_graph_init(&c->plan);
  SN_TRY(sn_image_check(p, size, label, &im, check_cpu, err));
  const sn_section_t *cfg = sn_image_section(&im, SN_SECTION_CONFIG);
  const sn_section_t *plan = sn_image_section(&im, SN_SECTION_PLAN);
  const sn_section_t *tens = sn_image_section(&im, SN_SECTION_TENSORS);
  const sn_section_t *tok = sn_image_section(&im, SN_SECTION_TOKENIZER);
  c->model.source = label;
  sinter_status_t st =
      read_config((const char *)p + cfg->offset, (size_t)cfg->size, label, c, &config, err);
  if (!st)
    st = sn_plan_decode(p + plan->offset, (size_t)plan->size, p + tens->offset, (size_t)tens->size,
                        label, &c->plan, err);
  if (!st) st = sn_program_verify(&c->plan, &config, label, err);
  if (!st) st = read_tokenizer(p + tok->offset, (size_t)tok->size, label, c, err);
  sn_config_deinit(&config);
  if (st) return st;
  c->options = (sn_compile_options_t){.dtype = (sinter_dtype_t)im.dtype,
                                      .max_tokens = im.max_tokens,
                                      .max_seq = im.max_seq,
                                      .target_features = im.features};
  memcpy(c->key, im.key, 32);
  return SINTER_OK;
}

sinter_status_t sn_artifact_read(const char *path, sn_artifact_contents_t *out,
                                 sinter_error_t *err) {
  memset(out, 0, sizeof *out);
  sn_ir_graph_init(&out->plan);
  /* Every byte is read (checksums, then the weights), so map it all at once. */
  SN_TRY(sn_file_map_all(path, &out->map, err));
  return sn_artifact_decode(out->map.data, out->map.size, path, 1, out, err);
}

void sn_artifact_contents_deinit(sn_artifact_contents_t *c) {
  sn_ir_graph_deinit(&c->plan);
  sn_file_unmap(&c->map);
  free(c->config_json);
  sn_rerank_template_free(c->rerank);
  memset(c, 0, sizeof *c);
}

sinter_status_t sn_artifact_check(const void *data, size_t size, const char *label,
                                  const uint8_t *expected_key, sinter_error_t *err) {
  sn_artifact_contents_t c;
  memset(&c, 0, sizeof c);
  sinter_status_t st = sn_artifact_decode(data, size, label, 0, &c, err);
  if (!st && expected_key && memcmp(c.key, expected_key, 32) != 0)
    st = sn_error_set(err, SINTER_ERR_FORMAT,
                      "%s: the artifact was compiled for another key than the one it is stored "
                      "under (a copy of another entry)",
                      label);
  sn_ir_graph_deinit(&c.plan);
  free(c.config_json);
  sn_rerank_template_free(c.rerank);
  return st;
}
