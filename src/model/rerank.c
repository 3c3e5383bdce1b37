/* rerank.c — a decoder read as a reranker: the prompt template that turns a
 * (query, document) pair into one sequence, and the LM head folded to the
 * one row the score needs.
 *
 * Qwen3-Reranker scores a pair by the logits of "yes" and "no" at the last
 * token of prefix + body + suffix: softmax([no, yes])[1], which is
 * sigmoid(yes - no). The LM head is therefore folded once, here, to the row
 * lm_head[yes] - lm_head[no] (of the word embeddings when
 * tie_word_embeddings): the model becomes a one-label cross-encoder whose
 * score is the sigmoid of its logit, as sentence-transformers' LogitScore
 * (yes - no, then Sigmoid) and the converted *ForSequenceClassification
 * checkpoints compute it. Only the two rows are read: the rest of a
 * 151k-row head stays mapped and untouched, in whatever dtype it is stored.
 *
 * The template comes from the folder's rerank_template.json, never from the
 * checkpoint's name: a Qwen3ForCausalLM folder without it stays an
 * embedder. Its fields (all strings, all optional for qwen3, where the
 * defaults are Qwen3-Reranker's published ones):
 *   prefix       tokenized as it is, before the body
 *   body         holds {query} and {document}, and may hold {instruction};
 *                the part that is truncated when the input is too long
 *   suffix       tokenized as it is, after the body (kept whole, so the last
 *                token is always the template's)
 *   instruction  the text of {instruction}
 *   true_token, false_token  the vocabulary tokens whose logits are compared
 *                ("yes", "no"); each must be one token
 * For another family, body is required and the head must already be a
 * one-label sequence classifier (the template then only formats pairs).
 *
 * sentence-transformers 6 saves such a reranker as a CrossEncoder: modules
 * Transformer (text-generation) and LogitScore, whose config.json holds
 * true_token_id and false_token_id (null: the score is the true token's
 * logit alone), and the prompt as a Jinja chat template. The ids are taken
 * from LogitScore (a template naming other tokens is refused); the Jinja is
 * not evaluated, so such a folder needs rerank_template.json as well. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/json.h"
#include "model/family.h"
#include "model/model_internal.h"
#include "model/safetensors.h"

#define TEMPLATE_FILE "rerank_template.json"
#define MAX_TEMPLATE_BYTES 16384

/* Qwen3-Reranker's published format (its model card's usage code). */
static const char qwen3_prefix[] =
    "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query "
    "and the Instruct provided. Note that the answer can only be \"yes\" or "
    "\"no\".<|im_end|>\n<|im_start|>user\n";
static const char qwen3_body[] =
    "<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {document}";
static const char qwen3_suffix[] = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";
static const char qwen3_instruction[] =
    "Given a web search query, retrieve relevant passages that answer the query";

void sn_rerank_template_free(sn_rerank_template_t *t) {
  if (!t) return;
  free(t->prefix), free(t->body), free(t->suffix), free(t->instruction);
  free(t);
}

sinter_status_t sn_rerank_check_body(const char *body, const char *label, sinter_error_t *err) {
  if (!body || !strstr(body, "{query}") || !strstr(body, "{document}"))
    return sn_error_set(err, SINTER_ERR_FORMAT,
                        "%s: the template body must hold both {query} and {document} (it may hold "
                        "{instruction})",
                        label);
  return SINTER_OK;
}

sinter_status_t sn_rerank_template_copy(const sn_rerank_template_t *from,
                                        sn_rerank_template_t **out, sinter_error_t *err) {
  *out = NULL;
  sn_rerank_template_t *t = calloc(1, sizeof *t);
  if (!t) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "reranker template");
  *t = *from;
  t->prefix = strdup(from->prefix);
  t->body = strdup(from->body);
  t->suffix = strdup(from->suffix);
  t->instruction = strdup(from->instruction);
  if (!t->prefix || !t->body || !t->suffix || !t->instruction) {
    sn_rerank_template_free(t);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "reranker template");
  }
  *out = t;
  return SINTER_OK;
}

/* A string field of the template file, or `fallback`; copied into *out. */
static sinter_status_t get_text(const cJSON *root, const char *key, const char *fallback,
                                const char *path, char **out, sinter_error_t *err) {
  const char *v = NULL;
  SN_TRY(sn_json_get_string(root, key, fallback, path, &v, err));
  if (!v)
    return sn_error_set(err, SINTER_ERR_NOT_FOUND,
                        "%s: field \"%s\" is required (the defaults are Qwen3-Reranker's, for "
                        "model_type qwen3 only)",
                        path, key);
  if (strlen(v) > MAX_TEMPLATE_BYTES)
    return sn_error_set(err, SINTER_ERR_LIMIT, "%s: field \"%s\" is longer than %d bytes", path,
                        key, MAX_TEMPLATE_BYTES);
  if (!(*out = strdup(v))) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "%s", path);
  return SINTER_OK;
}

/* The id of `token` (one vocabulary entry, as convert_tokens_to_ids). */
static sinter_status_t token_id(const sinter_model_t *m, const cJSON *root, const char *key,
                                const char *fallback, const char *path, int32_t *out,
                                sinter_error_t *err) {
  const char *tok = NULL;
  SN_TRY(sn_json_get_string(root, key, fallback, path, &tok, err));
  if (!tok)
    return sn_error_set(err, SINTER_ERR_NOT_FOUND, "%s: field \"%s\" is required", path, key);
  int32_t id = sn_tokenizer_token_to_id(m->tokenizer, tok, strlen(tok));
  if (id < 0 || id >= m->config.vocab_size)
    return sn_error_set(err, SINTER_ERR_FORMAT,
                        "%s: %s \"%.64s\" is not a single token of the vocabulary (its logit is "
                        "the score)",
                        path, key, tok);
  *out = id;
  return SINTER_OK;
}

/* Row `row` of the [rows, cols] tensor t, converted to float32 into dst. */
static sinter_status_t read_row(const sn_st_tensor_t *t, int64_t row, int64_t cols, float *dst,
                                sinter_error_t *err) {
  sn_st_tensor_t view = *t;
  size_t es = sn_st_dtype_size(t->dtype);
  view.data = (const char *)t->data + (size_t)(row * cols) * es;
  view.rank = 1;
  view.shape[0] = cols;
  view.shape[1] = 0;
  view.numel = cols;
  view.nbytes = (size_t)cols * es;
  return sn_st_to_f32(&view, dst, (size_t)cols, err);
}

/* config.json's tie_word_embeddings (false when absent or unreadable). */
static int tied_embeddings(const sinter_model_t *m) {
  cJSON *root = cJSON_ParseWithLength(m->config_json, m->config_json_size);
  const cJSON *t = root ? cJSON_GetObjectItemCaseSensitive(root, "tie_word_embeddings") : NULL;
  int tied = cJSON_IsTrue(t);
  cJSON_Delete(root);
  return tied;
}

/* score.weight [1, hidden] = head[true] - head[false] (head[true] alone
 * without a false token), from lm_head.weight or (tie_word_embeddings) the
 * word embeddings, appended to the weights. */
static sinter_status_t fold_head(sinter_model_t *m, const sn_rerank_template_t *t,
                                 sinter_error_t *err) {
  const sn_config_t *c = &m->config;
  const int64_t H = c->hidden_size;
  const int tied = tied_embeddings(m);
  sinter_status_t st = SINTER_OK;
  float *w = malloc(2 * (size_t)H * sizeof *w);
  if (!w) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "%s: reranker head", m->dir);
  if (tied) {
    const sn_weight_t *e = sn_model_weight(m, c->family->names.word);
    if (!e) st = sn_error_set(err, SINTER_ERR_NOT_FOUND, "%s: no word embeddings", m->dir);
    if (!st) memcpy(w, e->data + (int64_t)t->true_id * H, (size_t)H * sizeof *w);
    if (!st && t->false_id >= 0)
      memcpy(w + H, e->data + (int64_t)t->false_id * H, (size_t)H * sizeof *w);
  } else {
    const sn_st_tensor_t *lm = sn_st_find(m->archive, "lm_head.weight");
    if (!lm) {
      st = sn_error_set(err, SINTER_ERR_NOT_FOUND,
                        "%s: a reranker (%s) needs the LM head: tensor \"lm_head.weight\" is "
                        "missing and tie_word_embeddings is false",
                        m->dir, TEMPLATE_FILE);
    } else if (lm->rank != 2 || lm->shape[1] != H || lm->shape[0] <= t->true_id ||
               lm->shape[0] <= t->false_id) {
      st = sn_error_set(err, SINTER_ERR_FORMAT,
                        "%s: tensor \"lm_head.weight\" must be [rows > %d, %lld] for the "
                        "reranker's tokens",
                        lm->file, (int)(t->true_id > t->false_id ? t->true_id : t->false_id),
                        (long long)H);
    } else if (lm->dtype != SN_ST_F32 && lm->dtype != SN_ST_F16 && lm->dtype != SN_ST_BF16) {
      st = sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: tensor \"lm_head.weight\" has dtype %s; weights must be F32, F16 or "
                        "BF16",
                        lm->file, sn_st_dtype_name(lm->dtype));
    } else {
      st = read_row(lm, t->true_id, H, w, err);
      if (!st && t->false_id >= 0) st = read_row(lm, t->false_id, H, w + H, err);
    }
  }
  sn_weight_t *grown = st ? NULL : realloc(m->weights, (m->weight_count + 1) * sizeof *grown);
  char name[160];
  snprintf(name, sizeof name, "%s.weight", c->family->names.cls_out);
  if (!st && !grown) st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "%s: weights", m->dir);
  if (st) {
    free(w);
    return st;
  }
  m->weights = grown;
  for (int64_t i = 0; t->false_id >= 0 && i < H; i++) w[i] -= w[H + i];
  sn_weight_t *s = &m->weights[m->weight_count];
  memset(s, 0, sizeof *s);
  if (!(s->name = strdup(name))) {
    free(w);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "%s: weights", m->dir);
  }
  s->rank = 2;
  s->shape[0] = 1;
  s->shape[1] = H;
  s->numel = H;
  s->data = s->owned = w;
  m->weight_count++;
  return SINTER_OK;
}

sinter_status_t sn_model_apply_rerank(sinter_model_t *m, sinter_error_t *err) {
  const sn_rerank_template_t *t = m->rerank;
  sn_config_t *c = &m->config;
  if (!t || t->true_id < 0) return SINTER_OK;
  if (c->head == SN_HEAD_SEQUENCE) return SINTER_OK; /* folded already */
  if (!c->family->names.cls_out || c->family->cls_head != SN_CLS_LAST_TOKEN)
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: %s folds a decoder's LM head; model_type %s is not one", m->dir,
                        TEMPLATE_FILE, c->family->name);
  if (!(c->labels = calloc(1, sizeof *c->labels)) || !(c->labels[0] = strdup("LABEL_0")))
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "%s: labels", m->dir);
  c->num_labels = 1;
  c->head = SN_HEAD_SEQUENCE;
  return SINTER_OK;
}

/* The token ids of a LogitScore module (sentence-transformers 6:
 * true_token_id, and false_token_id or null: the score is then the true
 * token's logit alone). A template that names tokens too must name these. */
static sinter_status_t logit_score_ids(const sinter_model_t *m, const cJSON *tmpl,
                                       const char *tmpl_path, sn_rerank_template_t *t,
                                       sinter_error_t *err) {
  char *path = sn_path_join(m->dir, m->modules.logit_score_config);
  if (!path) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "path");
  cJSON *root = NULL;
  int64_t yes = -1, no = -1;
  const int64_t top = m->config.vocab_size - 1;
  sinter_status_t st = sn_json_load(path, &root, err);
  const cJSON *f = root ? cJSON_GetObjectItemCaseSensitive(root, "false_token_id") : NULL;
  if (!st && !cJSON_IsObject(root))
    st = sn_error_set(err, SINTER_ERR_FORMAT, "%s: must be a JSON object", path);
  if (!st) st = sn_json_get_int(root, "true_token_id", -1, 0, top, path, &yes, err);
  if (!st && yes < 0)
    st = sn_error_set(err, SINTER_ERR_NOT_FOUND, "%s: field \"true_token_id\" is required", path);
  if (!st && f && !cJSON_IsNull(f))
    st = sn_json_get_int(root, "false_token_id", -1, 0, top, path, &no, err);
  const char *names[2] = {"true_token", "false_token"};
  const int64_t ids[2] = {yes, no};
  for (int k = 0; !st && k < 2; k++) {
    int32_t named;
    if (!cJSON_GetObjectItemCaseSensitive(tmpl, names[k])) continue;
    st = token_id(m, tmpl, names[k], NULL, tmpl_path, &named, err);
    if (!st && named != ids[k])
      st = sn_error_set(err, SINTER_ERR_FORMAT,
                        "%s: %s is token %d, but the LogitScore module (%s) says %lld", tmpl_path,
                        names[k], (int)named, path, (long long)ids[k]);
  }
  cJSON_Delete(root);
  free(path);
  t->true_id = (int32_t)yes;
  t->false_id = (int32_t)no;
  return st;
}

sinter_status_t sn_model_load_rerank(sinter_model_t *m, sinter_error_t *err) {
  char *path = sn_path_join(m->dir, TEMPLATE_FILE);
  if (!path) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "path");
  if (!sn_path_exists(path)) {
    free(path);
    if (m->modules.logit_score_config[0])
      return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                          "%s: modules.json lists a LogitScore module (a sentence-transformers "
                          "CrossEncoder over a causal LM), whose prompt is a Jinja chat template "
                          "that sinter does not evaluate: describe it in %s ({} for "
                          "Qwen3-Reranker's published one)",
                          m->dir, TEMPLATE_FILE);
    return SINTER_OK;
  }
  cJSON *root = NULL;
  sn_rerank_template_t *t = calloc(1, sizeof *t);
  sinter_status_t st = t ? sn_json_load(path, &root, err)
                         : sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "reranker template");
  const sn_config_t *c = &m->config;
  /* Qwen3-Reranker's texts are the defaults of a qwen3 folder only. */
  int qwen3 = !strcmp(c->family->name, "qwen3");
  if (!st && !cJSON_IsObject(root))
    st = sn_error_set(err, SINTER_ERR_FORMAT, "%s: must be a JSON object", path);
  if (!st) st = get_text(root, "prefix", qwen3 ? qwen3_prefix : "", path, &t->prefix, err);
  if (!st) st = get_text(root, "body", qwen3 ? qwen3_body : NULL, path, &t->body, err);
  if (!st) st = get_text(root, "suffix", qwen3 ? qwen3_suffix : "", path, &t->suffix, err);
  if (!st)
    st = get_text(root, "instruction", qwen3 ? qwen3_instruction : "", path, &t->instruction, err);
  if (!st) st = sn_rerank_check_body(t->body, path, err);
  if (!st && !m->tokenizer)
    st = sn_error_set(err, SINTER_ERR_NOT_FOUND, "%s: a reranker needs the folder's tokenizer",
                      path);
  t->true_id = t->false_id = -1;
  /* A decoder's LM head is folded; a classifier's own head scores as it is. */
  if (!st && c->head == SN_HEAD_NONE && !tied_embeddings(m) &&
      !sn_st_find(m->archive, "lm_head.weight"))
    st = sn_error_set(err, SINTER_ERR_NOT_FOUND,
                      "%s: a reranker template needs a classification head or an LM head to "
                      "fold; %s has neither (no \"lm_head.weight\", tie_word_embeddings false)",
                      path, c->architecture);
  if (!st && c->head == SN_HEAD_NONE && m->modules.logit_score_config[0]) {
    st = logit_score_ids(m, root, path, t, err);
  } else if (!st && c->head == SN_HEAD_NONE) {
    st = token_id(m, root, "true_token", qwen3 ? "yes" : NULL, path, &t->true_id, err);
    if (!st) st = token_id(m, root, "false_token", qwen3 ? "no" : NULL, path, &t->false_id, err);
  }
  if (!st && c->head == SN_HEAD_NONE) {
    if (t->true_id == t->false_id)
      st =
          sn_error_set(err, SINTER_ERR_FORMAT, "%s: true_token and false_token are the same", path);
    if (!st && (!c->family->names.cls_out || c->family->cls_head != SN_CLS_LAST_TOKEN))
      st = sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: %s has no classification head, and its LM head cannot be folded "
                        "(model_type %s is not a decoder sinter reads as a reranker)",
                        path, c->architecture, c->family->name);
    if (!st) st = fold_head(m, t, err);
  } else if (!st && c->num_labels != 1) {
    st = sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                      "%s: a reranker template needs one relevance logit; %s has %d labels", path,
                      c->architecture, (int)c->num_labels);
  }
  cJSON_Delete(root);
  if (!st) {
    m->rerank = t;
    st = sn_model_apply_rerank(m, err);
  } else {
    sn_rerank_template_free(t);
  }
  free(path);
  return st;
}

const sn_rerank_template_t *sn_model_rerank(const sinter_model_t *m) {
  return m ? m->rerank : NULL;
}

const char *sinter_model_rerank_template(const sinter_model_t *m) {
  return m && m->rerank ? m->rerank->body : NULL;
}
