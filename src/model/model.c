/* model.c — opening a model folder: config, modules, weights, tokenizer. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/json.h"
#include "model/family.h"
#include "model/model_internal.h"
#include "model/safetensors.h"

/* A weight the architecture needs, with the shape the config implies. */
typedef struct expected_weight {
  char name[128];
  int rank;
  int64_t shape[2];
  int optional;
  int mlm; /* of the masked-LM head: not counted as the encoder's parameters */
} expected_weight_t;

typedef struct expected_list {
  expected_weight_t *items;
  size_t count, cap;
} expected_list_t;

static int expect(expected_list_t *l, int optional, int64_t d0, int64_t d1, const char *fmt, ...)
    SN_PRINTF(5, 6);

static int expect(expected_list_t *l, int optional, int64_t d0, int64_t d1, const char *fmt, ...) {
  if (l->count == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    expected_weight_t *p = realloc(l->items, cap * sizeof *p);
    if (!p) return -1;
    l->items = p;
    l->cap = cap;
  }
  expected_weight_t *w = &l->items[l->count++];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(w->name, sizeof w->name, fmt, ap);
  va_end(ap);
  w->rank = d1 ? 2 : 1;
  w->shape[0] = d0;
  w->shape[1] = d1;
  w->optional = optional;
  w->mlm = 0;
  return 0;
}

/* A linear layer: weight [out, in] and, with `bias`, bias [out]. */
static int expect_linear_b(expected_list_t *l, int optional, int64_t out, int64_t in,
                           const char *prefix, int bias) {
  return expect(l, optional, out, in, "%s.weight", prefix) |
         (bias ? expect(l, optional, out, 0, "%s.bias", prefix) : 0);
}

static int expect_linear(expected_list_t *l, int optional, int64_t out, int64_t in,
                         const char *prefix) {
  return expect_linear_b(l, optional, out, in, prefix, 1);
}

/* A LayerNorm: weight [h] and, with `bias`, bias [h]. */
static int expect_norm_b(expected_list_t *l, int optional, int64_t h, const char *prefix,
                         int bias) {
  return expect(l, optional, h, 0, "%s.weight", prefix) |
         (bias ? expect(l, optional, h, 0, "%s.bias", prefix) : 0);
}

/* A per-layer name: fmt with the layer index. */
static const char *layer_name(char *buf, size_t cap, const char *fmt, int layer) {
  snprintf(buf, cap, fmt, layer);
  return buf;
}

/* 1 when the family's masked-LM head has the classifier's names
 * (ModernBERT's head.*) and the checkpoint is a classifier: its head then
 * feeds the labels, not a vocabulary, and is no MLM head. */
static int mlm_head_is_classifier(const sn_config_t *c) {
  const sn_family_names_t *nm = &c->family->names;
  return c->head == SN_HEAD_SEQUENCE && nm->cls_dense && nm->mlm_dense &&
         !strcmp(nm->cls_dense, nm->mlm_dense);
}

/* The weights the family's encoder (and head) needs, with the shapes the
 * config implies. */
static int build_expected(const sn_config_t *c, expected_list_t *l) {
  const sn_family_t *f = c->family;
  const sn_family_names_t *nm = &f->names;
  int64_t H = c->hidden_size, I = c->intermediate_size, L = c->num_labels;
  int ab = c->attention_bias, mb = c->mlp_bias, nb = c->norm_bias;
  char p[128];
  const int64_t QH = (int64_t)c->num_heads * c->head_dim,
                KVH = (int64_t)c->num_kv_heads * c->head_dim;
  if (f->rms_norm) nb = 0; /* an RMSNorm has a weight only */
  int rc = expect(l, 0, c->vocab_size, H, "%s", nm->word);
  if (nm->embed_norm) rc |= expect_norm_b(l, 0, H, nm->embed_norm, nb);
  if (nm->position && !c->no_position_table)
    rc |= expect(l, 0, c->max_position_embeddings, H, "%s", nm->position);
  if (nm->token_type && c->type_vocab_size > 0)
    rc |= expect(l, 0, c->type_vocab_size, H, "%s", nm->token_type);
  if (nm->rel_embeddings && c->rel_span > 0) {
    rc |= expect(l, 0, 2 * (int64_t)c->rel_span, H, "%s", nm->rel_embeddings);
    if (c->rel_norm) rc |= expect_norm_b(l, 0, H, nm->rel_norm, nb);
  }
  if (nm->rel_bias) rc |= expect(l, 0, c->relative_buckets, c->num_heads, "%s", nm->rel_bias);
  for (int i = 0; i < c->num_layers; i++) {
    if (nm->qkv) {
      rc |= expect_linear_b(l, 0, QH + 2 * KVH, H, layer_name(p, sizeof p, nm->qkv, i), ab);
    } else {
      rc |= expect_linear_b(l, 0, QH, H, layer_name(p, sizeof p, nm->q, i), ab);
      rc |= expect_linear_b(l, 0, KVH, H, layer_name(p, sizeof p, nm->k, i), ab);
      rc |= expect_linear_b(l, 0, KVH, H, layer_name(p, sizeof p, nm->v, i), ab);
    }
    if (nm->q_norm) {
      rc |= expect_norm_b(l, 0, c->head_dim, layer_name(p, sizeof p, nm->q_norm, i), 0);
      rc |= expect_norm_b(l, 0, c->head_dim, layer_name(p, sizeof p, nm->k_norm, i), 0);
    }
    rc |= expect_linear_b(l, 0, H, QH, layer_name(p, sizeof p, nm->attn_out, i), ab);
    /* Pre-norm: the first layer's attention norm may be absent (ModernBERT's
     * input is the normalised embedding already). */
    int first_prenorm = f->layout == SN_LAYOUT_PRE_NORM && i == 0;
    rc |= expect_norm_b(l, first_prenorm, H, layer_name(p, sizeof p, nm->attn_norm, i), nb);
    int64_t in_rows = f->ffn == SN_FFN_GLU && !nm->ffn_gate ? 2 * I : I;
    rc |= expect_linear_b(l, 0, in_rows, H, layer_name(p, sizeof p, nm->ffn_in, i), mb);
    if (nm->ffn_gate)
      rc |= expect_linear_b(l, 0, I, H, layer_name(p, sizeof p, nm->ffn_gate, i), mb);
    rc |= expect_linear_b(l, 0, H, I, layer_name(p, sizeof p, nm->ffn_out, i), mb);
    rc |= expect_norm_b(l, 0, H, layer_name(p, sizeof p, nm->ffn_norm, i), nb);
    if (nm->attn_post_norm)
      rc |= expect_norm_b(l, 0, H, layer_name(p, sizeof p, nm->attn_post_norm, i), nb);
    if (nm->ffn_post_norm)
      rc |= expect_norm_b(l, 0, H, layer_name(p, sizeof p, nm->ffn_post_norm, i), nb);
  }
  if (nm->final_norm) rc |= expect_norm_b(l, 0, H, nm->final_norm, nb);
  int head = c->head == SN_HEAD_SEQUENCE;
  /* A pooler is optional (MLM checkpoints have none) unless the classifier
   * reads it. */
  if (nm->pooler) rc |= expect_linear(l, !(head && f->cls_head == SN_CLS_POOLER), H, H, nm->pooler);
  if (head && nm->cls_dense) rc |= expect_linear_b(l, 0, H, H, nm->cls_dense, c->classifier_bias);
  if (head && nm->cls_norm) rc |= expect_norm_b(l, 0, H, nm->cls_norm, nb);
  if (head) rc |= expect_linear_b(l, 0, L, H, nm->cls_out, f->cls_head != SN_CLS_LAST_TOKEN);
  /* The masked-LM head (SPLADE's sparse output) when the checkpoint has it:
   * all optional; has_mlm_head says whether it is complete. The vocabulary
   * linear's weight is usually tied to the word embeddings and not stored. */
  if (nm->mlm_dense && !mlm_head_is_classifier(c)) {
    size_t first = l->count;
    rc |= expect_linear_b(l, 1, H, H, nm->mlm_dense, c->mlm_dense_bias);
    rc |= expect_norm_b(l, 1, H, nm->mlm_norm, c->mlm_norm_bias);
    rc |= expect(l, 1, c->vocab_size, H, "%s.weight", nm->mlm_decoder);
    if (c->mlm_decoder_bias) rc |= expect(l, 1, c->vocab_size, 0, "%s", nm->mlm_bias);
    for (size_t k = first; k < l->count; k++) l->items[k].mlm = 1;
  }
  return rc;
}

int sn_model_canonical_name(const sn_family_t *family, const char *stored, char *buf, size_t cap) {
  const char *prefix = family->prefix;
  size_t plen = strlen(prefix);
  if (!strncmp(stored, prefix, plen)) stored += plen;
  /* Another name for the same tensor (family.h: aliases): the canonical
   * prefix replaces the stored one. */
  const char *alias = "";
  for (int i = 0; family->aliases && family->aliases[i] && family->aliases[i + 1]; i += 2) {
    size_t alen = strlen(family->aliases[i]);
    if (!strncmp(stored, family->aliases[i], alen)) {
      alias = family->aliases[i + 1];
      stored += alen;
      break;
    }
  }
  size_t na = strlen(alias), n = na + strlen(stored);
  if (n + 3 > cap) return -1; /* room for gamma -> weight */
  memcpy(buf, alias, na);
  memcpy(buf + na, stored, n - na + 1);
  /* TF-era checkpoints name LayerNorm parameters gamma and beta. */
  if (n > 6 && !strcmp(buf + n - 6, ".gamma")) {
    strcpy(buf + n - 6, ".weight");
  } else if (n > 5 && !strcmp(buf + n - 5, ".beta")) {
    strcpy(buf + n - 5, ".bias");
  }
  return 0;
}

/* Tensors a checkpoint may carry that we knowingly do not use. */
static int is_ignorable(const sn_family_t *f, const char *canonical) {
  if (!strcmp(canonical, "embeddings.position_ids")) return 1;
  for (int i = 0; f->unused && f->unused[i]; i++)
    if (!strncmp(canonical, f->unused[i], strlen(f->unused[i]))) return 1;
  return 0;
}

static void format_shape(const sn_st_tensor_t *t, char *buf, size_t cap) {
  size_t n = (size_t)snprintf(buf, cap, "[");
  for (int i = 0; i < t->rank && n < cap; i++)
    n += (size_t)snprintf(buf + n, cap - n, i ? ", %lld" : "%lld", (long long)t->shape[i]);
  if (n < cap) snprintf(buf + n, cap - n, "]");
}

/* Binds one stored tensor to an expected weight: shape and dtype checks,
 * then in-place use or conversion to float32. */
static sinter_status_t bind_weight(const expected_weight_t *e, const sn_st_tensor_t *t,
                                   sn_weight_t *w, sinter_error_t *err) {
  int ok = t->rank == e->rank && t->shape[0] == e->shape[0] &&
           (e->rank == 1 || t->shape[1] == e->shape[1]);
  if (!ok) {
    char got[128];
    format_shape(t, got, sizeof got);
    if (e->rank == 1)
      return sn_error_set(err, SINTER_ERR_FORMAT, "%s: tensor \"%s\" has shape %s, expected [%lld]",
                          t->file, t->name, got, (long long)e->shape[0]);
    return sn_error_set(err, SINTER_ERR_FORMAT,
                        "%s: tensor \"%s\" has shape %s, expected [%lld, %lld]", t->file, t->name,
                        got, (long long)e->shape[0], (long long)e->shape[1]);
  }
  if (t->dtype != SN_ST_F32 && t->dtype != SN_ST_F16 && t->dtype != SN_ST_BF16)
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: tensor \"%s\" has dtype %s; weights must be F32, F16 or BF16", t->file,
                        t->name, sn_st_dtype_name(t->dtype));
  w->name = strdup(e->name);
  if (!w->name) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "weight name");
  w->rank = e->rank;
  w->shape[0] = e->shape[0];
  w->shape[1] = e->shape[1];
  w->numel = t->numel;
  if (t->dtype == SN_ST_F32 && ((uintptr_t)t->data % sizeof(float)) == 0) {
    w->data = t->data; /* zero-copy: straight from the mapping */
    return SINTER_OK;
  }
  w->pending = t; /* converted on first use (sn_model_materialize) */
  return SINTER_OK;
}

sinter_status_t sn_model_materialize(const sinter_model_t *model, sinter_error_t *err) {
  /* The lock and the conversions are the model's own lazily filled cache:
   * nothing a reader can see changes but the moment data appears. */
  sinter_model_t *m = (sinter_model_t *)model;
  pthread_mutex_lock(&m->materialize_lock);
  sinter_status_t st = SINTER_OK;
  for (size_t i = 0; !m->materialized && !st && i < m->weight_count; i++) {
    sn_weight_t *w = &m->weights[i];
    const sn_st_tensor_t *t = w->pending;
    if (!t) continue;
    w->owned = malloc((size_t)t->numel * sizeof(float) + 1);
    if (!w->owned) {
      st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "%s: cannot convert tensor \"%s\"", t->file,
                        t->name);
    } else if (!(st = sn_st_to_f32(t, w->owned, (size_t)t->numel, err))) {
      w->data = w->owned;
      w->pending = NULL;
    }
  }
  if (!st) m->materialized = 1;
  pthread_mutex_unlock(&m->materialize_lock);
  return st;
}

static sinter_status_t bind_weights(sinter_model_t *m, sinter_error_t *err) {
  const sn_config_t *c = &m->config;
  expected_list_t list = {0};
  sinter_status_t st = SINTER_OK;
  size_t n_tensors = sn_st_count(m->archive);
  char(*canon)[160] = calloc(n_tensors ? n_tensors : 1, sizeof *canon);
  unsigned char *used = calloc(n_tensors ? n_tensors : 1, 1);
  if (!canon || !used || build_expected(c, &list) != 0) {
    st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "expected weight list");
    goto done;
  }
  for (size_t i = 0; i < n_tensors; i++) {
    const sn_st_tensor_t *t = sn_st_at(m->archive, i);
    if (sn_model_canonical_name(c->family, t->name, canon[i], sizeof canon[i]) != 0) {
      canon[i][0] = '\0'; /* too long to be one of ours: reported as unexpected */
    }
  }
  m->weights = calloc(list.count, sizeof *m->weights);
  if (!m->weights) {
    st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "weights");
    goto done;
  }
  /* Missing tensors are reported together, so one run names all of them. */
  char missing[768] = "";
  size_t n_missing = 0, missing_len = 0;
  for (size_t k = 0; k < list.count; k++) {
    const expected_weight_t *e = &list.items[k];
    size_t found = n_tensors;
    for (size_t i = 0; i < n_tensors; i++) {
      if (!strcmp(canon[i], e->name)) {
        if (found != n_tensors) {
          st = sn_error_set(
              err, SINTER_ERR_FORMAT, "%s: tensors \"%s\" and \"%s\" both provide weight \"%s\"",
              m->dir, sn_st_at(m->archive, found)->name, sn_st_at(m->archive, i)->name, e->name);
          goto done;
        }
        found = i;
      }
    }
    if (found == n_tensors) {
      if (e->optional) continue;
      if (n_missing++ < 8 && missing_len < sizeof missing - 1)
        missing_len += (size_t)snprintf(missing + missing_len, sizeof missing - missing_len,
                                        "%s\"%s\"", n_missing > 1 ? ", " : "", e->name);
      continue;
    }
    used[found] = 1;
    st = bind_weight(e, sn_st_at(m->archive, found), &m->weights[m->weight_count++], err);
    if (st) goto done;
    if (!e->mlm) m->parameter_count += sn_st_at(m->archive, found)->numel;
  }
  if (n_missing) {
    st = sn_error_set(err, SINTER_ERR_NOT_FOUND, "%s: %zu weight tensor(s) missing: %s%s", m->dir,
                      n_missing, missing, n_missing > 8 ? ", ..." : "");
    goto done;
  }
  if (c->family->names.pooler) {
    char wname[160], bname[160];
    snprintf(wname, sizeof wname, "%s.weight", c->family->names.pooler);
    snprintf(bname, sizeof bname, "%s.bias", c->family->names.pooler);
    m->has_pooler = sn_model_weight(m, wname) != NULL;
    if (m->has_pooler != (sn_model_weight(m, bname) != NULL)) {
      st = sn_error_set(err, SINTER_ERR_NOT_FOUND, "%s: weight \"%s\" is missing", m->dir,
                        m->has_pooler ? bname : wname);
      goto done;
    }
  }
  if (c->family->names.mlm_dense && !mlm_head_is_classifier(c)) {
    /* Complete: every part the config says the head has (usually all five). */
    const sn_family_names_t *nm = &c->family->names;
    const char *parts[] = {nm->mlm_dense, nm->mlm_dense, nm->mlm_norm, nm->mlm_norm, nm->mlm_bias};
    const char *suffix[] = {".weight", ".bias", ".weight", ".bias", ""};
    const int wanted[] = {1, c->mlm_dense_bias, 1, c->mlm_norm_bias, c->mlm_decoder_bias};
    m->has_mlm_head = 1;
    for (int k = 0; k < 5; k++) {
      char name[200];
      snprintf(name, sizeof name, "%s%s", parts[k], suffix[k]);
      if (wanted[k] && !sn_model_weight(m, name)) m->has_mlm_head = 0;
    }
  }
  for (size_t i = 0; i < n_tensors; i++) {
    if (used[i] || is_ignorable(c->family, canon[i])) continue;
    const sn_st_tensor_t *t = sn_st_at(m->archive, i);
    if (sn_strlist_addf(&m->warnings, 0, "%s: unexpected tensor \"%s\" is not used", t->file,
                        t->name) != 0) {
      st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "warnings");
      goto done;
    }
  }
done:
  free(list.items);
  free(canon);
  free(used);
  return st;
}

/* The Dense modules' weights (modules.json order), from each module's own
 * model.safetensors, under "<path>/linear.weight" and "<path>/linear.bias":
 * names no transformer tensor has, so nothing collides. */
static sinter_status_t bind_dense(sinter_model_t *m, sinter_error_t *err) {
  const sn_st_modules_t *mod = &m->modules;
  if (mod->dense_count == 0) return SINTER_OK;
  SN_TRY(sn_st_modules_check_dense(mod, m->config.hidden_size, m->dir, err));
  sn_weight_t *grown =
      realloc(m->weights, (m->weight_count + 2 * (size_t)mod->dense_count) * sizeof *grown);
  if (!grown) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "weights");
  m->weights = grown;
  for (int32_t i = 0; i < mod->dense_count; i++) {
    const sn_st_dense_t *d = &mod->dense[i];
    char *folder = sn_path_join(m->dir, d->path);
    char *file = folder ? sn_path_join(folder, "model.safetensors") : NULL;
    char *bin = folder ? sn_path_join(folder, "pytorch_model.bin") : NULL;
    sinter_status_t st = SINTER_OK;
    if (!file || !bin) {
      st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "%s: dense path", m->dir);
    } else if (!sn_file_exists(file) && sn_file_exists(bin)) {
      st = sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: the Dense module's weights are a PyTorch pickle, which sinter does "
                        "not read; save the model with safetensors (model.safetensors)",
                        bin);
    } else if (!sn_file_exists(file)) {
      st = sn_error_set(err, SINTER_ERR_NOT_FOUND, "%s: the Dense module's weights are missing",
                        file);
    } else {
      st = sn_st_open_file(file, &m->dense_archives[i], err);
    }
    free(folder), free(file), free(bin);
    if (st) return st;
    const sn_st_archive_t *a = m->dense_archives[i];
    expected_weight_t e[2];
    memset(e, 0, sizeof e);
    snprintf(e[0].name, sizeof e[0].name, "%s/linear.weight", d->path);
    e[0].rank = 2, e[0].shape[0] = d->out_features, e[0].shape[1] = d->in_features;
    snprintf(e[1].name, sizeof e[1].name, "%s/linear.bias", d->path);
    e[1].rank = 1, e[1].shape[0] = d->out_features;
    static const char *const stored[2] = {"linear.weight", "linear.bias"};
    for (int k = 0; k < 1 + d->bias; k++) {
      const sn_st_tensor_t *t = sn_st_find(a, stored[k]);
      if (!t)
        return sn_error_set(err, SINTER_ERR_NOT_FOUND,
                            "%s/%s/model.safetensors: tensor \"%s\" is missing", m->dir, d->path,
                            stored[k]);
      /* bind_weight leaves `owned` alone on its zero-copy path: the grown
       * slot must start zeroed, and count only once bound. */
      sn_weight_t *w = &m->weights[m->weight_count];
      memset(w, 0, sizeof *w);
      SN_TRY(bind_weight(&e[k], t, w, err));
      m->weight_count++;
      m->parameter_count += t->numel;
    }
    for (size_t k = 0; k < sn_st_count(a); k++) {
      const sn_st_tensor_t *t = sn_st_at(a, k);
      if (!strcmp(t->name, stored[0]) || (d->bias && !strcmp(t->name, stored[1]))) continue;
      if (sn_strlist_addf(&m->warnings, 0, "%s: unexpected tensor \"%s\" is not used", t->file,
                          t->name) != 0)
        return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "warnings");
    }
  }
  m->config.embedding_dim = sn_st_embedding_dim(mod, m->config.hidden_size);
  return SINTER_OK;
}

const sn_weight_t *sn_model_weight(const sinter_model_t *model, const char *name) {
  for (size_t i = 0; i < model->weight_count; i++)
    if (!strcmp(model->weights[i].name, name)) return &model->weights[i];
  return NULL;
}

/* Reads config.json once: its bytes are kept (an artifact embeds them) and
 * parsed. */
static sinter_status_t load_config(sinter_model_t *m, sinter_error_t *err) {
  char *path = sn_path_join(m->dir, "config.json");
  if (!path) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "config path");
  sinter_status_t st =
      sn_file_read_all(path, SN_JSON_MAX_FILE_BYTES, &m->config_json, &m->config_json_size, err);
  if (!st) st = sn_config_parse(m->config_json, m->config_json_size, path, &m->config, err);
  free(path);
  return st;
}

/* Adds `name` (relative to the folder) to the sources when the file exists. */
static int add_source(sinter_model_t *m, const char *name) {
  char *path = sn_path_join(m->dir, name);
  int exists = path && sn_file_exists(path);
  free(path);
  if (!exists) return 0;
  for (size_t i = 0; i < m->sources.count; i++)
    if (!strcmp(m->sources.items[i], name)) return 0;
  return sn_strlist_addf(&m->sources, 0, "%s", name);
}

/* Every file the model was read from must be the folder's own: a symlink
 * leading elsewhere (say to ~/.aws/credentials as added_tokens.json or
 * vocab.txt) would be read, and embedded in an artifact that is uploaded to a
 * shared bucket. SINTER_ALLOW_EXTERNAL_LINKS=1 allows them, for layouts such
 * as the Hugging Face hub cache, whose snapshot files link to ../../blobs. */
static sinter_status_t check_sources_inside(const sinter_model_t *m, sinter_error_t *err) {
  const char *allow = getenv("SINTER_ALLOW_EXTERNAL_LINKS");
  if (allow && !strcmp(allow, "1")) return SINTER_OK;
  char root[PATH_MAX], real[PATH_MAX];
  if (!realpath(m->dir, root))
    return sn_error_set(err, SINTER_ERR_IO, "%s: cannot resolve the folder's path", m->dir);
  size_t n = strlen(root);
  for (size_t i = 0; i < m->sources.count; i++) {
    char *path = sn_path_join(m->dir, m->sources.items[i]);
    if (!path) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "%s: path", m->dir);
    real[0] = '\0';
    int inside = realpath(path, real) && !strncmp(real, root, n) && real[n] == '/';
    free(path);
    if (!inside)
      return sn_error_set(err, SINTER_ERR_FORMAT,
                          "%s/%s is a link to %s, outside the model folder (refused: its bytes "
                          "would go into artifacts; SINTER_ALLOW_EXTERNAL_LINKS=1 allows it)",
                          m->dir, m->sources.items[i], real[0] ? real : "a missing file");
  }
  return SINTER_OK;
}

static sinter_status_t list_sources(sinter_model_t *m, sinter_error_t *err) {
  int bad = add_source(m, "config.json") | add_source(m, "modules.json");
  if (m->modules.pooling_config[0]) bad |= add_source(m, m->modules.pooling_config);
  for (int32_t i = 0; i < m->modules.dense_count; i++) { /* their config and weights */
    char name[sizeof m->modules.dense[i].path + 32];
    snprintf(name, sizeof name, "%s/config.json", m->modules.dense[i].path);
    bad |= add_source(m, name);
    snprintf(name, sizeof name, "%s/model.safetensors", m->modules.dense[i].path);
    bad |= add_source(m, name);
  }
  bad |= add_source(m, "sentence_bert_config.json");
  if (m->rerank) bad |= add_source(m, "rerank_template.json");
  if (m->modules.logit_score_config[0]) bad |= add_source(m, m->modules.logit_score_config);
  for (size_t i = 0; i < m->tokenizer_file_count; i++)
    bad |= add_source(m, m->tokenizer_files[i].name);
  bad |= add_source(m, "model.safetensors.index.json");
  for (size_t i = 0; i < sn_st_count(m->archive); i++) {
    /* Weight files sit at the top of the folder (the index names shards so). */
    const char *file = sn_st_at(m->archive, i)->file, *slash = strrchr(file, '/');
    bad |= add_source(m, slash ? slash + 1 : file);
  }
  if (bad) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "%s: source list", m->dir);
  return check_sources_inside(m, err);
}

static sinter_model_t *new_model(const char *source) {
  sinter_model_t *m = calloc(1, sizeof *m);
  if (m && !(m->dir = strdup(source))) {
    free(m);
    return NULL;
  }
  if (m) pthread_mutex_init(&m->materialize_lock, NULL);
  return m;
}

/* Most prompts and bytes per prompt a folder may define. */
#define MAX_PROMPTS 64
#define MAX_PROMPT_BYTES 16384

/* config_sentence_transformers.json's "prompts" ({name: text}) and
 * "default_prompt_name", when the file exists. */
static sinter_status_t load_prompts(sinter_model_t *m, sinter_error_t *err) {
  char *path = sn_path_join(m->dir, "config_sentence_transformers.json");
  if (!path) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "path");
  cJSON *root = NULL;
  sinter_status_t st = SINTER_OK;
  if (!sn_path_exists(path)) goto done;
  if ((st = sn_json_load(path, &root, err))) goto done;
  const cJSON *prompts =
      cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "prompts") : NULL;
  if (!cJSON_IsObject(root) || (prompts && !cJSON_IsNull(prompts) && !cJSON_IsObject(prompts))) {
    st = sn_error_set(err, SINTER_ERR_FORMAT, "%s: \"prompts\" must be an object of strings", path);
    goto done;
  }
  const cJSON *p;
  cJSON_ArrayForEach(p, prompts) {
    if (!cJSON_IsString(p) || strlen(p->valuestring) > MAX_PROMPT_BYTES ||
        strlen(p->string) > 128 || m->prompt_names.count >= MAX_PROMPTS) {
      st = sn_error_set(err, SINTER_ERR_FORMAT,
                        "%s: prompt \"%.64s\" must be a string of at most %d bytes (at most %d "
                        "prompts, names of at most 128 bytes)",
                        path, p->string, MAX_PROMPT_BYTES, MAX_PROMPTS);
      goto done;
    }
    if (sn_strlist_addf(&m->prompt_names, 0, "%s", p->string) ||
        sn_strlist_addf(&m->prompt_texts, 0, "%s", p->valuestring)) {
      st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "prompts");
      goto done;
    }
  }
  const char *def = NULL;
  if ((st = sn_json_get_string(root, "default_prompt_name", NULL, path, &def, err))) goto done;
  if (def && !sinter_model_prompt(m, def)) {
    st = sn_error_set(err, SINTER_ERR_FORMAT,
                      "%s: default_prompt_name \"%.64s\" is not one of the prompts", path, def);
    goto done;
  }
  if (def && !(m->default_prompt = strdup(def)))
    st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "prompts");
done:
  cJSON_Delete(root);
  free(path);
  return st;
}

void sn_model_move_prompts(sinter_model_t *to, sinter_model_t *from) {
  sn_strlist_clear(&to->prompt_names);
  sn_strlist_clear(&to->prompt_texts);
  free(to->default_prompt);
  to->prompt_names = from->prompt_names;
  to->prompt_texts = from->prompt_texts;
  to->default_prompt = from->default_prompt;
  memset(&from->prompt_names, 0, sizeof from->prompt_names);
  memset(&from->prompt_texts, 0, sizeof from->prompt_texts);
  from->default_prompt = NULL;
}

const char *sinter_model_prompt(const sinter_model_t *m, const char *name) {
  if (!m) return NULL;
  if (!name) name = m->default_prompt;
  for (size_t i = 0; name && i < m->prompt_names.count; i++)
    if (!strcmp(m->prompt_names.items[i], name)) return m->prompt_texts.items[i];
  return NULL;
}

size_t sinter_model_prompt_count(const sinter_model_t *m) {
  return m ? m->prompt_names.count : 0;
}

const char *sinter_model_prompt_name(const sinter_model_t *m, size_t i) {
  return m && i < m->prompt_names.count ? m->prompt_names.items[i] : NULL;
}

const char *sinter_model_default_prompt_name(const sinter_model_t *m) {
  return m ? m->default_prompt : NULL;
}

sinter_status_t sn_model_load_dir(const char *dir, sinter_model_t **out_model,
                                  sinter_error_t *err) {
  *out_model = NULL;
  sinter_model_t *m = new_model(dir);
  if (!m) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "model");
  sinter_status_t st = load_config(m, err);
  if (!st) st = sn_st_modules_load(dir, &m->modules, err);
  if (!st) st = load_prompts(m, err);
  if (!st) st = sn_st_open_dir(dir, &m->archive, err);
  if (!st) st = bind_weights(m, err);
  if (!st) st = bind_dense(m, err);
  if (!st) st = sn_model_load_tokenizer(m, err);
  if (!st) st = sn_model_load_rerank(m, err);
  if (!st) st = list_sources(m, err);
  if (st) {
    sinter_model_close(m);
    return st;
  }
  *out_model = m;
  return SINTER_OK;
}

sinter_status_t sn_model_create_described(const sn_model_description_t *d, sinter_model_t **out,
                                          sinter_error_t *err) {
  *out = NULL;
  sinter_model_t *m = new_model(d->source);
  if (!m || !(m->config_json = malloc(d->config_json_size + 1))) {
    sinter_model_close(m);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "model");
  }
  memcpy(m->config_json, d->config_json, d->config_json_size);
  m->config_json[d->config_json_size] = '\0';
  m->config_json_size = d->config_json_size;
  m->modules = d->modules;
  m->has_pooler = d->has_pooler;
  m->parameter_count = d->parameter_count;
  sinter_status_t st =
      sn_config_parse(m->config_json, m->config_json_size, d->source, &m->config, err);
  if (!st) st = sn_st_modules_check_dense(&m->modules, m->config.hidden_size, d->source, err);
  if (!st) m->config.embedding_dim = sn_st_embedding_dim(&m->modules, m->config.hidden_size);
  if (!st)
    st = sn_model_load_tokenizer_files(m, d->tokenizer_files, d->tokenizer_file_count, d->source,
                                       err);
  if (!st && d->rerank) st = sn_rerank_template_copy(d->rerank, &m->rerank, err);
  if (!st) st = sn_model_apply_rerank(m, err);
  if (st) {
    sinter_model_close(m);
    return st;
  }
  *out = m;
  return SINTER_OK;
}

void sinter_model_close(sinter_model_t *m) {
  if (!m) return;
  sn_rerank_template_free(m->rerank);
  sn_model_free_tokenizer(m);
  for (size_t i = 0; i < m->weight_count; i++) {
    free(m->weights[i].name);
    free(m->weights[i].owned);
  }
  free(m->weights);
  sn_strlist_clear(&m->warnings);
  sn_strlist_clear(&m->sources);
  sn_strlist_clear(&m->prompt_names);
  sn_strlist_clear(&m->prompt_texts);
  free(m->default_prompt);
  sn_st_close(m->archive);
  for (int i = 0; i < SN_ST_MAX_DENSE; i++) sn_st_close(m->dense_archives[i]);
  sn_config_deinit(&m->config);
  free(m->config_json);
  free(m->dir);
  pthread_mutex_destroy(&m->materialize_lock);
  free(m);
}

void sinter_model_get_info(const sinter_model_t *m, sinter_model_info_t *out) {
  const sn_config_t *c = &m->config;
  memset(out, 0, sizeof *out);
  out->model_type = c->family->name;
  out->architecture = c->architecture;
  out->vocab_size = c->vocab_size;
  out->hidden_size = c->hidden_size;
  out->num_layers = c->num_layers;
  out->num_heads = c->num_heads;
  out->intermediate_size = c->intermediate_size;
  out->max_position_embeddings = c->max_position_embeddings;
  out->type_vocab_size = c->type_vocab_size;
  out->hidden_act = c->hidden_act;
  out->layer_norm_eps = c->layer_norm_eps;
  out->parameter_count = m->parameter_count;
  out->has_pooler = m->has_pooler;
  out->pooling = m->modules.pooling;
  out->normalize = m->modules.normalize;
  out->max_seq_length =
      m->modules.max_seq_length > 0 && m->modules.max_seq_length < c->max_positions
          ? m->modules.max_seq_length
          : c->max_positions;
  out->num_labels = c->head == SN_HEAD_SEQUENCE ? c->num_labels : 0;
  out->labels = (const char *const *)c->labels;
  out->pad_token_id = c->pad_token_id;
  out->has_weights = m->archive != NULL;
  out->gated_ffn = c->family->ffn == SN_FFN_GLU;
  for (int i = 0; i < c->num_layers; i++) out->sliding_layers += c->layer_local[i];
  out->sliding_window = out->sliding_layers ? c->local_window : 0;
  out->head_dim = c->head_dim;
  out->num_kv_heads = c->num_kv_heads;
  out->causal = c->causal;
  out->embedding_dim = sn_st_embedding_dim(&m->modules, c->hidden_size);
  out->dense_modules = m->modules.dense_count;
  out->has_mlm_head = m->has_mlm_head;
}

size_t sinter_model_warning_count(const sinter_model_t *m) {
  return m->warnings.count;
}

const char *sinter_model_warning(const sinter_model_t *m, size_t index) {
  return sn_strlist_at(&m->warnings, index);
}

const char *sn_model_source(const sinter_model_t *m) {
  return m->dir;
}

const sn_config_t *sn_model_config(const sinter_model_t *m) {
  return &m->config;
}

const sn_st_modules_t *sn_model_modules(const sinter_model_t *m) {
  return &m->modules;
}

int sn_model_has_pooler(const sinter_model_t *m) {
  return m->has_pooler;
}

int sn_model_has_mlm_head(const sinter_model_t *m) {
  return m->has_mlm_head;
}

int64_t sn_model_parameter_count(const sinter_model_t *m) {
  return m->parameter_count;
}

const char *sn_model_config_json(const sinter_model_t *m, size_t *out_size) {
  *out_size = m->config_json_size;
  return m->config_json;
}

const struct sn_st_archive *sn_model_archive(const sinter_model_t *m) {
  return m->archive;
}

const char *sn_model_source_file(const sinter_model_t *m, size_t index) {
  return sn_strlist_at(&m->sources, index);
}

size_t sn_model_weight_count(const sinter_model_t *m) {
  return m->weight_count;
}

const sn_weight_t *sn_model_weight_at(const sinter_model_t *m, size_t index) {
  return index < m->weight_count ? &m->weights[index] : NULL;
}
