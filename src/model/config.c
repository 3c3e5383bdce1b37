/* config.c — config.json and sentence-transformers module parsing. */
#include "model/config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/json.h"
#include "model/family.h"

#define MAX_VOCAB SN_CONFIG_MAX_VOCAB
#define MAX_HIDDEN SN_CONFIG_MAX_HIDDEN
#define MAX_LAYERS SN_CONFIG_MAX_LAYERS
#define MAX_POSITIONS SN_CONFIG_MAX_POSITIONS

sinter_status_t sn_config_parse_activation(const char *name, const char *label,
                                           sn_activation_t *out, sinter_error_t *err) {
  if (!strcmp(name, "gelu")) {
    *out = SN_ACT_GELU;
  } else if (!strcmp(name, "gelu_new") || !strcmp(name, "gelu_pytorch_tanh")) {
    *out = SN_ACT_GELU_TANH;
  } else if (!strcmp(name, "relu")) {
    *out = SN_ACT_RELU;
  } else if (!strcmp(name, "silu") || !strcmp(name, "swish")) {
    *out = SN_ACT_SILU;
  } else {
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: unsupported activation \"%s\" (supported: gelu, gelu_new, "
                        "gelu_pytorch_tanh, relu, silu)",
                        label, name);
  }
  return SINTER_OK;
}

sinter_status_t sn_config_set_activation(sn_config_t *c, const char *name, const char *label,
                                         sinter_error_t *err) {
  SN_TRY(sn_config_parse_activation(name, label, &c->activation, err));
  snprintf(c->hidden_act, sizeof c->hidden_act, "%s", name);
  return SINTER_OK;
}

/* Maps the first entry of `architectures` to a head with the family's
 * table; none named means the family's first (its bare encoder). */
static sinter_status_t parse_architecture(const cJSON *root, sn_config_t *c, const char *label,
                                          sinter_error_t *err) {
  const sn_family_t *f = c->family;
  const cJSON *archs = cJSON_GetObjectItemCaseSensitive(root, "architectures");
  const char *name = f->archs[0].name;
  if (archs && !cJSON_IsNull(archs)) {
    if (!cJSON_IsArray(archs))
      return sn_error_set(err, SINTER_ERR_FORMAT, "%s: field \"architectures\" must be an array",
                          label);
    const cJSON *first = cJSON_GetArrayItem(archs, 0);
    if (first) {
      if (!cJSON_IsString(first))
        return sn_error_set(err, SINTER_ERR_FORMAT, "%s: field \"architectures\" must hold strings",
                            label);
      name = first->valuestring;
    }
  }
  char known[512];
  size_t n = 0;
  known[0] = '\0';
  for (size_t i = 0; i < f->arch_count; i++) {
    if (!strcmp(name, f->archs[i].name)) {
      snprintf(c->architecture, sizeof c->architecture, "%s", name);
      c->head = f->archs[i].head;
      return SINTER_OK;
    }
    if (n < sizeof known)
      n += (size_t)snprintf(known + n, sizeof known - n, "%s%s", i ? ", " : "", f->archs[i].name);
  }
  return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                      "%s: unsupported architecture \"%s\" for model_type %s (supported: %s)",
                      label, name, f->name, known);
}

/* id2label: an object {"0": "NEG", "1": "POS"} with keys 0..n-1, each once. */
static sinter_status_t parse_labels(const cJSON *root, sn_config_t *c, const char *label,
                                    sinter_error_t *err) {
  const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "id2label");
  int64_t n = 2;
  if (map && !cJSON_IsNull(map)) {
    if (!cJSON_IsObject(map))
      return sn_error_set(err, SINTER_ERR_FORMAT, "%s: field \"id2label\" must be an object",
                          label);
    n = cJSON_GetArraySize(map);
  } else {
    SN_TRY(sn_json_get_int(root, "num_labels", 2, 1, SN_CONFIG_MAX_LABELS, label, &n, err));
  }
  if (n < 1 || n > SN_CONFIG_MAX_LABELS)
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: id2label has %lld labels, expected 1 to %d",
                        label, (long long)n, SN_CONFIG_MAX_LABELS);
  c->labels = calloc((size_t)n, sizeof *c->labels);
  if (!c->labels) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "%s: labels", label);
  c->num_labels = (int32_t)n;
  if (map && cJSON_IsObject(map)) {
    const cJSON *item;
    cJSON_ArrayForEach(item, map) {
      char *end = NULL;
      long id = strtol(item->string, &end, 10);
      if (!item->string[0] || *end || id < 0 || id >= n)
        return sn_error_set(err, SINTER_ERR_FORMAT,
                            "%s: id2label key \"%s\" is not a class id in 0..%lld", label,
                            item->string, (long long)n - 1);
      if (!cJSON_IsString(item))
        return sn_error_set(err, SINTER_ERR_FORMAT, "%s: id2label[\"%s\"] must be a string", label,
                            item->string);
      if (c->labels[id])
        return sn_error_set(err, SINTER_ERR_FORMAT, "%s: id2label has class id %ld twice", label,
                            id);
      c->labels[id] = strdup(item->valuestring);
      if (!c->labels[id]) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "%s: labels", label);
    }
  }
  for (int32_t i = 0; i < c->num_labels; i++) {
    if (c->labels[i]) continue;
    char name[32];
    snprintf(name, sizeof name, "LABEL_%d", (int)i);
    c->labels[i] = strdup(name);
    if (!c->labels[i]) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "%s: labels", label);
  }
  return SINTER_OK;
}

sinter_status_t sn_config_get_i32(const cJSON *root, const char *key, int64_t fallback, int64_t min,
                                  int64_t max, const char *label, int32_t *out,
                                  sinter_error_t *err) {
  int64_t v;
  SN_TRY(sn_json_get_int(root, key, fallback, min, max, label, &v, err));
  *out = (int32_t)v;
  return SINTER_OK;
}

#define get_i32 sn_config_get_i32

sinter_status_t sn_config_parse_bert_like(const cJSON *root, sn_config_t *c, const char *label,
                                          sinter_error_t *err) {
  SN_TRY(get_i32(root, "vocab_size", 30522, 1, MAX_VOCAB, label, &c->vocab_size, err));
  SN_TRY(get_i32(root, "hidden_size", 768, 1, MAX_HIDDEN, label, &c->hidden_size, err));
  SN_TRY(get_i32(root, "num_hidden_layers", 12, 1, MAX_LAYERS, label, &c->num_layers, err));
  SN_TRY(get_i32(root, "num_attention_heads", 12, 1, MAX_HIDDEN, label, &c->num_heads, err));
  SN_TRY(get_i32(root, "intermediate_size", 3072, 1, 16 * MAX_HIDDEN, label, &c->intermediate_size,
                 err));
  SN_TRY(get_i32(root, "max_position_embeddings", 512, 1, MAX_POSITIONS, label,
                 &c->max_position_embeddings, err));
  SN_TRY(get_i32(root, "type_vocab_size", 2, 1, MAX_VOCAB, label, &c->type_vocab_size, err));
  SN_TRY(get_i32(root, "pad_token_id", 0, 0, MAX_VOCAB, label, &c->pad_token_id, err));
  const char *act, *pos;
  SN_TRY(sn_json_get_string(root, "hidden_act", "gelu", label, &act, err));
  SN_TRY(sn_config_set_activation(c, act, label, err));
  SN_TRY(sn_json_get_string(root, "position_embedding_type", "absolute", label, &pos, err));
  if (strcmp(pos, "absolute"))
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: unsupported position_embedding_type \"%s\" (only \"absolute\")", label,
                        pos);
  double eps;
  SN_TRY(sn_json_get_double(root, "layer_norm_eps", 1e-12, label, &eps, err));
  if (!(eps > 0) || eps > 1)
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: layer_norm_eps %g must be in (0, 1]", label,
                        eps);
  c->layer_norm_eps = (float)eps;
  int flag;
  SN_TRY(sn_json_get_bool(root, "is_decoder", 0, label, &flag, err));
  if (flag)
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED, "%s: is_decoder=true is not supported", label);
  SN_TRY(sn_json_get_bool(root, "add_cross_attention", 0, label, &flag, err));
  if (flag)
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: add_cross_attention=true is not supported", label);
  return SINTER_OK;
}

/* A rotary theta: rope_parameters[layer_type].rope_theta, else the older
 * top-level key, else transformers' default. Only the "default" rope type. */
sinter_status_t sn_config_parse_decoder_sizes(const cJSON *root, sn_config_t *c,
                                              const sn_decoder_defaults_t *d, const char *label,
                                              sinter_error_t *err) {
  SN_TRY(sn_config_get_i32(root, "vocab_size", d->vocab_size, 1, SN_CONFIG_MAX_VOCAB, label,
                           &c->vocab_size, err));
  SN_TRY(sn_config_get_i32(root, "hidden_size", d->hidden_size, 1, SN_CONFIG_MAX_HIDDEN, label,
                           &c->hidden_size, err));
  SN_TRY(sn_config_get_i32(root, "num_hidden_layers", d->num_layers, 1, SN_CONFIG_MAX_LAYERS, label,
                           &c->num_layers, err));
  SN_TRY(sn_config_get_i32(root, "num_attention_heads", d->num_heads, 1, SN_CONFIG_MAX_HIDDEN,
                           label, &c->num_heads, err));
  SN_TRY(sn_config_get_i32(root, "num_key_value_heads",
                           d->num_kv_heads ? d->num_kv_heads : c->num_heads, 1,
                           SN_CONFIG_MAX_HIDDEN, label, &c->num_kv_heads, err));
  SN_TRY(sn_config_get_i32(root, "head_dim", d->head_dim, 2, 1024, label, &c->head_dim, err));
  SN_TRY(sn_config_get_i32(root, "intermediate_size", d->intermediate_size, 1,
                           16 * SN_CONFIG_MAX_HIDDEN, label, &c->intermediate_size, err));
  SN_TRY(sn_config_get_i32(root, "max_position_embeddings", d->max_position_embeddings, 1,
                           SN_CONFIG_MAX_POSITIONS, label, &c->max_position_embeddings, err));
  SN_TRY(sn_config_get_i32(root, "pad_token_id", 0, 0, SN_CONFIG_MAX_VOCAB, label, &c->pad_token_id,
                           err));
  c->type_vocab_size = 0;
  double eps;
  SN_TRY(sn_json_get_double(root, "rms_norm_eps", 1e-6, label, &eps, err));
  if (!(eps > 0) || eps > 1)
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: rms_norm_eps %g must be in (0, 1]", label,
                        eps);
  c->layer_norm_eps = (float)eps;
  SN_TRY(sn_json_get_bool(root, "attention_bias", 0, label, &c->attention_bias, err));
  c->mlp_bias = 0;
  c->norm_bias = 0;
  return SINTER_OK;
}

sinter_status_t sn_config_rope_theta(const cJSON *root, const char *type, const char *old_key,
                                     double fallback, const char *label, float *out,
                                     sinter_error_t *err) {
  double theta = fallback;
  const cJSON *params = cJSON_GetObjectItemCaseSensitive(root, "rope_parameters");
  const cJSON *p = cJSON_IsObject(params) ? cJSON_GetObjectItemCaseSensitive(params, type) : NULL;
  if (cJSON_IsObject(p)) {
    const char *kind;
    SN_TRY(sn_json_get_string(p, "rope_type", "default", label, &kind, err));
    if (strcmp(kind, "default"))
      return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                          "%s: rope_type \"%s\" of %s is not supported (only \"default\")", label,
                          kind, type);
    SN_TRY(sn_json_get_double(p, "rope_theta", fallback, label, &theta, err));
  } else {
    SN_TRY(sn_json_get_double(root, old_key, fallback, label, &theta, err));
  }
  if (!(theta > 1.0) || theta > 1e12)
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: rope_theta %g of %s is out of range", label,
                        theta, type);
  *out = (float)theta;
  return SINTER_OK;
}

sinter_status_t sn_config_parse_layer_types(const cJSON *root, sn_config_t *c, const char *label,
                                            int *listed, sinter_error_t *err) {
  *listed = 0;
  const cJSON *types = cJSON_GetObjectItemCaseSensitive(root, "layer_types");
  if (types && !cJSON_IsNull(types)) {
    if (!cJSON_IsArray(types) || cJSON_GetArraySize(types) != c->num_layers)
      return sn_error_set(err, SINTER_ERR_FORMAT,
                          "%s: field \"layer_types\" must list one type per layer (%d)", label,
                          (int)c->num_layers);
    int i = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, types) {
      if (cJSON_IsString(t) && !strcmp(t->valuestring, "sliding_attention")) {
        c->layer_local[i++] = 1;
      } else if (cJSON_IsString(t) && !strcmp(t->valuestring, "full_attention")) {
        c->layer_local[i++] = 0;
      } else {
        return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                            "%s: layer_types[%d] must be \"full_attention\" or "
                            "\"sliding_attention\"",
                            label, i);
      }
    }
    *listed = 1;
  }
  return SINTER_OK;
}

sinter_status_t sn_config_parse(const char *json, size_t size, const char *path, sn_config_t *out,
                                sinter_error_t *err) {
  memset(out, 0, sizeof *out);
  cJSON *root = NULL;
  SN_TRY(sn_json_parse(json, size, path, &root, err));
  sinter_status_t st = SINTER_OK;
  const char *type = NULL;
  if (!cJSON_IsObject(root)) {
    st = sn_error_set(err, SINTER_ERR_FORMAT, "%s: expected a JSON object", path);
    goto done;
  }
  st = sn_json_get_string(root, "model_type", NULL, path, &type, err);
  if (st) goto done;
  if (!type) {
    st = sn_error_set(err, SINTER_ERR_FORMAT, "%s: missing field \"model_type\"", path);
    goto done;
  }
  out->family = sn_family_find(type);
  if (!out->family) {
    char known[256];
    sn_family_list(known, sizeof known);
    st = sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                      "%s: unsupported model_type \"%s\" (supported: %s)", path, type, known);
    goto done;
  }
  /* The BERT families have every bias; a family without some says so. */
  out->attention_bias = out->mlp_bias = out->norm_bias = out->classifier_bias = 1;
  out->mlm_dense_bias = out->mlm_norm_bias = out->mlm_decoder_bias = 1;
  out->causal = out->family->causal;
  st = out->family->parse(root, out, path, err);
  if (st) goto done;
  st = sn_json_get_bool(root, "tie_word_embeddings", 1, path, &out->tie_word_embeddings, err);
  if (st) goto done;
  out->max_positions = out->max_position_embeddings - out->position_offset;
  if (out->max_positions < 1) {
    st = sn_error_set(err, SINTER_ERR_FORMAT,
                      "%s: max_position_embeddings %d leaves no position after the first at %d",
                      path, (int)out->max_position_embeddings, (int)out->position_offset);
    goto done;
  }
  /* SiLU runs only as a gated block's activation (there is no SiLU epilogue). */
  if (out->activation == SN_ACT_SILU && out->family->ffn != SN_FFN_GLU) {
    st = sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                      "%s: unsupported activation \"%s\" for %s (silu only in gated "
                      "feed-forward blocks)",
                      path, out->hidden_act, out->family->name);
    goto done;
  }
  /* A family that reads head_dim (Qwen3) may have heads x head_dim != hidden. */
  if (out->head_dim == 0 && out->hidden_size % out->num_heads != 0) {
    st = sn_error_set(err, SINTER_ERR_FORMAT,
                      "%s: hidden size %d is not a multiple of the number of attention heads %d",
                      path, (int)out->hidden_size, (int)out->num_heads);
    goto done;
  }
  if (out->head_dim == 0) out->head_dim = out->hidden_size / out->num_heads;
  if (out->num_kv_heads == 0) out->num_kv_heads = out->num_heads;
  if (out->num_kv_heads < 1 || out->num_heads % out->num_kv_heads != 0) {
    st = sn_error_set(err, SINTER_ERR_FORMAT,
                      "%s: %d attention heads are not a multiple of %d key/value heads", path,
                      (int)out->num_heads, (int)out->num_kv_heads);
    goto done;
  }
  /* Eager mode pads with this id: it must be a row of the embedding table. */
  if (out->pad_token_id >= out->vocab_size) {
    st = sn_error_set(err, SINTER_ERR_FORMAT,
                      "%s: pad_token_id %d is outside the vocabulary [0, %d)", path,
                      (int)out->pad_token_id, (int)out->vocab_size);
    goto done;
  }
  st = parse_architecture(root, out, path, err);
  if (st) goto done;
  if (out->head == SN_HEAD_SEQUENCE) st = parse_labels(root, out, path, err);
done:
  cJSON_Delete(root);
  if (st) sn_config_deinit(out);
  return st;
}

sinter_status_t sn_config_load(const char *dir, sn_config_t *out, sinter_error_t *err) {
  memset(out, 0, sizeof *out);
  char *path = sn_path_join(dir, "config.json");
  if (!path) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "config path");
  char *text = NULL;
  size_t size = 0;
  sinter_status_t st = sn_file_read_all(path, SN_JSON_MAX_FILE_BYTES, &text, &size, err);
  if (!st) st = sn_config_parse(text, size, path, out, err);
  free(text);
  free(path);
  return st;
}

void sn_config_deinit(sn_config_t *config) {
  if (!config) return;
  if (config->labels) {
    for (int32_t i = 0; i < config->num_labels; i++) free(config->labels[i]);
    free(config->labels);
  }
  config->labels = NULL;
  config->num_labels = 0;
}

/* ------------------------------------------------ sentence-transformers */

static sinter_status_t load_pooling(const char *dir, const char *sub, sn_st_modules_t *out,
                                    sinter_error_t *err) {
  char *folder = sn_path_join(dir, sub);
  char *path = folder ? sn_path_join(folder, "config.json") : NULL;
  free(folder);
  if (!path) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "pooling path");
  cJSON *root = NULL;
  sinter_status_t st = sn_json_load(path, &root, err);
  if (st) goto done;
  /* The content key hashes this file: it is where the pooling comes from. */
  if (strlen(sub) + sizeof "/config.json" > sizeof out->pooling_config) {
    st = sn_error_set(err, SINTER_ERR_LIMIT, "%s: the module path is longer than %zu bytes", path,
                      sizeof out->pooling_config - sizeof "/config.json");
    goto done;
  }
  snprintf(out->pooling_config, sizeof out->pooling_config, "%s%sconfig.json", sub,
           sub[0] ? "/" : "");
  if (!cJSON_IsObject(root)) {
    st = sn_error_set(err, SINTER_ERR_FORMAT, "%s: expected a JSON object", path);
    goto done;
  }
  static const struct {
    const char *key;
    sinter_pooling_t mode;
  } keys[] = {{"pooling_mode_cls_token", SINTER_POOL_CLS},
              {"pooling_mode_mean_tokens", SINTER_POOL_MEAN},
              {"pooling_mode_max_tokens", SINTER_POOL_MAX},
              {"pooling_mode_mean_sqrt_len_tokens", SINTER_POOL_MEAN_SQRT_LEN},
              {"pooling_mode_lasttoken", SINTER_POOL_LAST_TOKEN},
              {"pooling_mode_weightedmean_tokens", SINTER_POOL_WEIGHTED_MEAN}};
  int count = 0;
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    int on = 0;
    st = sn_json_get_bool(root, keys[i].key, 0, path, &on, err);
    if (st) goto done;
    if (on) {
      out->pooling = keys[i].mode;
      count++;
    }
  }
  /* include_prompt false leaves the prompt's tokens out of the pooling. */
  int include_prompt = 1;
  st = sn_json_get_bool(root, "include_prompt", 1, path, &include_prompt, err);
  if (st) goto done;
  if (!include_prompt) {
    st = sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                      "%s: include_prompt=false (pooling without the prompt's tokens) is not "
                      "supported",
                      path);
    goto done;
  }
  /* Newer sentence-transformers write "pooling_mode": "mean" as well. */
  const char *mode_name = NULL;
  st = sn_json_get_string(root, "pooling_mode", NULL, path, &mode_name, err);
  if (st) goto done;
  if (mode_name && count == 0) {
    if (sn_pooling_parse(mode_name, &out->pooling) != 0 && strcmp(mode_name, "mean_tokens") != 0) {
      st = sn_error_set(err, SINTER_ERR_UNSUPPORTED, "%s: unsupported pooling_mode \"%s\"", path,
                        mode_name);
      goto done;
    }
    if (!strcmp(mode_name, "mean_tokens")) out->pooling = SINTER_POOL_MEAN;
    count = 1;
  }
  if (count != 1) {
    st = sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                      "%s: %d pooling modes are enabled; exactly one (cls, mean, max, "
                      "mean_sqrt_len, lasttoken or weightedmean) is supported",
                      path, count);
    goto done;
  }
done:
  cJSON_Delete(root);
  free(path);
  return st;
}

int sn_st_dense_activation(const char *name, sn_activation_t *out) {
  static const struct {
    const char *cls;
    sn_activation_t act;
  } known[] = {{"Identity", SN_ACT_NONE},
               {"Tanh", SN_ACT_TANH},
               {"ReLU", SN_ACT_RELU},
               {"GELU", SN_ACT_GELU}};
  /* sentence-transformers imports the class path and calls it without
   * arguments (GELU is then the erf form); only torch.nn's classes are
   * imported without trust_remote_code. */
  if (strncmp(name, "torch.nn.", 9)) return -1;
  const char *cls = strrchr(name, '.') + 1;
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (!strcmp(cls, known[i].cls)) {
      *out = known[i].act;
      return 0;
    }
  return -1;
}

const char *sn_st_dense_activation_name(sn_activation_t act) {
  switch (act) {
    case SN_ACT_NONE: return "Identity";
    case SN_ACT_TANH: return "Tanh";
    case SN_ACT_RELU: return "ReLU";
    case SN_ACT_GELU: return "GELU";
    default: return "?";
  }
}

/* A Dense module's config.json (sentence_transformers Dense.load): its
 * sizes, bias and activation; the options that change what it computes
 * (other input or output features, a residual) are refused. */
static sinter_status_t load_dense(const char *dir, const char *sub, sn_st_modules_t *out,
                                  sinter_error_t *err) {
  if (out->dense_count >= SN_ST_MAX_DENSE)
    return sn_error_set(err, SINTER_ERR_LIMIT, "%s: more than %d Dense modules", dir,
                        SN_ST_MAX_DENSE);
  sn_st_dense_t *d = &out->dense[out->dense_count];
  memset(d, 0, sizeof *d);
  if (!sub[0] || strlen(sub) >= sizeof d->path)
    return sn_error_set(err, SINTER_ERR_FORMAT,
                        "%s: a Dense module's path must name its folder in at most %zu bytes", dir,
                        sizeof d->path - 1);
  snprintf(d->path, sizeof d->path, "%s", sub);
  char *folder = sn_path_join(dir, sub);
  char *path = folder ? sn_path_join(folder, "config.json") : NULL;
  free(folder);
  if (!path) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "dense path");
  cJSON *root = NULL;
  sinter_status_t st = sn_json_load(path, &root, err);
  if (st) goto done;
  if (!cJSON_IsObject(root)) {
    st = sn_error_set(err, SINTER_ERR_FORMAT, "%s: expected a JSON object", path);
    goto done;
  }
  st = get_i32(root, "in_features", -1, 1, MAX_HIDDEN, path, &d->in_features, err);
  if (!st) st = get_i32(root, "out_features", -1, 1, MAX_HIDDEN, path, &d->out_features, err);
  if (st) goto done;
  if (d->in_features < 1 || d->out_features < 1) {
    st = sn_error_set(err, SINTER_ERR_FORMAT, "%s: missing field \"%s\"", path,
                      d->in_features < 1 ? "in_features" : "out_features");
    goto done;
  }
  st = sn_json_get_bool(root, "bias", 1, path, &d->bias, err);
  if (st) goto done;
  /* Absent: the constructor's default, Tanh; null: Identity. */
  const cJSON *act = cJSON_GetObjectItemCaseSensitive(root, "activation_function");
  d->activation = SN_ACT_TANH;
  if (act && cJSON_IsNull(act)) {
    d->activation = SN_ACT_NONE;
  } else if (act && (!cJSON_IsString(act) ||
                     sn_st_dense_activation(act->valuestring, &d->activation) != 0)) {
    st = sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                      "%s: unsupported activation_function %.96s%s%s (supported: "
                      "torch.nn.modules.linear.Identity and torch.nn.modules.activation.Tanh, "
                      "ReLU, GELU)",
                      path, cJSON_IsString(act) ? "\"" : "",
                      cJSON_IsString(act) ? act->valuestring : "(not a string)",
                      cJSON_IsString(act) ? "\"" : "");
    goto done;
  }
  static const char *const io[] = {"module_input_name", "module_output_name"};
  for (int k = 0; k < 2; k++) {
    const char *name = NULL;
    st = sn_json_get_string(root, io[k], NULL, path, &name, err);
    if (st) goto done;
    if (name && strcmp(name, "sentence_embedding")) {
      st = sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: %s \"%.64s\" is not supported (only \"sentence_embedding\")", path,
                        io[k], name);
      goto done;
    }
  }
  int residual = 0;
  st = sn_json_get_bool(root, "use_residual", 0, path, &residual, err);
  if (!st && residual)
    st = sn_error_set(err, SINTER_ERR_UNSUPPORTED, "%s: use_residual=true is not supported", path);
  if (!st) out->dense_count++;
done:
  cJSON_Delete(root);
  free(path);
  return st;
}

sinter_status_t sn_st_modules_check_dense(const sn_st_modules_t *m, int32_t hidden,
                                          const char *label, sinter_error_t *err) {
  int32_t width = hidden;
  for (int32_t i = 0; i < m->dense_count; i++) {
    const sn_st_dense_t *d = &m->dense[i];
    if (d->in_features != width)
      return sn_error_set(err, SINTER_ERR_FORMAT,
                          "%s: %s/config.json: in_features %d does not match the %d features "
                          "%s",
                          label, d->path, (int)d->in_features, (int)width,
                          i ? "of the Dense module before it" : "of the pooled embedding");
    width = d->out_features;
  }
  return SINTER_OK;
}

int32_t sn_st_embedding_dim(const sn_st_modules_t *m, int32_t hidden) {
  return m->dense_count > 0 ? m->dense[m->dense_count - 1].out_features : hidden;
}

static sinter_status_t load_sbert_config(const char *dir, sn_st_modules_t *out,
                                         sinter_error_t *err) {
  char *path = sn_path_join(dir, "sentence_bert_config.json");
  if (!path) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "path");
  sinter_status_t st = SINTER_OK;
  cJSON *root = NULL;
  if (!sn_path_exists(path)) goto done;
  st = sn_json_load(path, &root, err);
  if (st) goto done;
  if (!cJSON_IsObject(root)) {
    st = sn_error_set(err, SINTER_ERR_FORMAT, "%s: expected a JSON object", path);
    goto done;
  }
  int64_t len;
  st = sn_json_get_int(root, "max_seq_length", 0, 1, MAX_POSITIONS, path, &len, err);
  if (st) goto done;
  out->max_seq_length = (int32_t)len;
  st = sn_json_get_bool(root, "do_lower_case", 0, path, &out->do_lower_case, err);
done:
  cJSON_Delete(root);
  free(path);
  return st;
}

sinter_status_t sn_st_modules_load(const char *dir, sn_st_modules_t *out, sinter_error_t *err) {
  memset(out, 0, sizeof *out);
  out->pooling = SINTER_POOL_CLS;
  char *path = sn_path_join(dir, "modules.json");
  if (!path) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "path");
  cJSON *root = NULL;
  sinter_status_t st = SINTER_OK;
  if (!sn_path_exists(path)) goto done;
  out->present = 1;
  st = sn_json_load(path, &root, err);
  if (st) goto done;
  if (!cJSON_IsArray(root)) {
    st = sn_error_set(err, SINTER_ERR_FORMAT, "%s: expected a JSON array of modules", path);
    goto done;
  }
  int transformer = 0, pooling = 0;
  const cJSON *m;
  cJSON_ArrayForEach(m, root) {
    const char *type = NULL, *sub = NULL;
    if (!cJSON_IsObject(m)) {
      st = sn_error_set(err, SINTER_ERR_FORMAT, "%s: each module must be an object", path);
      goto done;
    }
    st = sn_json_get_string(m, "type", NULL, path, &type, err);
    if (!st) st = sn_json_get_string(m, "path", "", path, &sub, err);
    if (st) goto done;
    if (!type) {
      st = sn_error_set(err, SINTER_ERR_FORMAT, "%s: a module has no \"type\"", path);
      goto done;
    }
    /* Module folders must stay inside the model folder. */
    if (strstr(sub, "..") || sub[0] == '/') {
      st = sn_error_set(err, SINTER_ERR_FORMAT, "%s: module path \"%s\" leaves the model folder",
                        path, sub);
      goto done;
    }
    const char *cls = strrchr(type, '.') ? strrchr(type, '.') + 1 : type;
    if (!strcmp(cls, "Transformer")) {
      if (transformer || pooling) {
        st = sn_error_set(err, SINTER_ERR_UNSUPPORTED, "%s: Transformer module must come first",
                          path);
        goto done;
      }
      transformer = 1;
    } else if (!strcmp(cls, "Pooling")) {
      st = load_pooling(dir, sub, out, err);
      if (st) goto done;
      pooling = 1;
    } else if (!strcmp(cls, "Normalize")) {
      out->normalize = 1;
    } else if (!strcmp(cls, "Dense")) {
      /* It reads the pooled embedding and feeds the Normalize. */
      if (!pooling || out->normalize) {
        st = sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                          "%s: a Dense module (\"%s\") must come after the Pooling and before "
                          "the Normalize",
                          path, sub);
        goto done;
      }
      st = load_dense(dir, sub, out, err);
      if (st) goto done;
    } else if (!strcmp(cls, "LogitScore")) {
      /* The relevance logit of a causal LM (model/rerank.c reads it). */
      int n = snprintf(out->logit_score_config, sizeof out->logit_score_config, "%s%sconfig.json",
                       sub, sub[0] ? "/" : "");
      if (n < 0 || (size_t)n >= sizeof out->logit_score_config) {
        st = sn_error_set(err, SINTER_ERR_FORMAT, "%s: module path \"%.64s\" is too long", path,
                          sub);
        goto done;
      }
    } else {
      st = sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: unsupported sentence-transformers module \"%s\" (supported: "
                        "Transformer, Pooling, Dense, Normalize, LogitScore)",
                        path, type);
      goto done;
    }
  }
  st = load_sbert_config(dir, out, err);
done:
  cJSON_Delete(root);
  free(path);
  return st;
}
