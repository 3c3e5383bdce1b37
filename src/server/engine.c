/* engine.c — one request's work on one served model (see engine.h). */
#include "server/engine.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const sn_served_t *sn_engine_pick(const sn_served_t *models, size_t count, const char *name,
                                  sn_op_t op) {
  if (!count) return NULL;
  if (name) {
    for (size_t i = 0; i < count; i++)
      if (!strcmp(models[i].name, name)) return &models[i];
    return NULL;
  }
  int classifier = op == SN_OP_CLASSIFY || op == SN_OP_RERANK;
  for (size_t i = 0; op == SN_OP_EMBED_SPARSE && i < count; i++)
    if (models[i].pinfo.sparse) return &models[i];
  for (size_t i = 0; i < count; i++) {
    int32_t labels = models[i].info.num_labels;
    if (op == SN_OP_RERANK  ? labels == 1
        : classifier        ? labels > 0
        : op == SN_OP_EMBED ? !labels && !models[i].pinfo.sparse
                            : 1)
      return &models[i];
  }
  return &models[0];
}

void sn_order_by_score(const float *score, size_t *order, size_t n) {
  for (size_t i = 0; i < n; i++) order[i] = i;
  for (size_t a = 1; a < n; a++) /* insertion sort: stable, and n is small */
    for (size_t b = a; b > 0 && score[order[b]] > score[order[b - 1]]; b--) {
      size_t t = order[b];
      order[b] = order[b - 1];
      order[b - 1] = t;
    }
}

static int oom(sn_parse_error_t *e) {
  return sn_request_fail(e, 500, NULL, "out of memory");
}

/* Fills *e with a library error `message`, in which the file the model came
 * from (an artifact in the cache, a folder) is replaced by the model's name:
 * clients learn nothing of the server's file system. The full message goes
 * to the server's log. */
static int fail_library(sn_parse_error_t *e, const sn_served_t *m, unsigned status,
                        const char *param, const char *prefix, const char *message) {
  const char *paths[] = {m->pinfo.path, m->pinfo.source};
  char clean[sizeof e->message];
  size_t used = 0;
  int scrubbed = 0;
  for (const char *p = message; *p && used + 1 < sizeof clean;) {
    size_t skip = 0;
    for (size_t k = 0; k < 2 && !skip; k++)
      if (paths[k] && paths[k][0] && !strncmp(p, paths[k], strlen(paths[k])))
        skip = strlen(paths[k]);
    if (skip) {
      int w = snprintf(clean + used, sizeof clean - used, "model \"%s\"", m->name);
      used += w > 0 ? (size_t)w : 0;
      if (used >= sizeof clean) used = sizeof clean - 1;
      p += skip;
      scrubbed = 1;
    } else {
      clean[used++] = *p++;
    }
  }
  clean[used] = '\0';
  if (scrubbed) fprintf(stderr, "sinter: model %s: %s%s\n", m->name, prefix, message);
  return sn_request_fail(e, status, param, "%s%s", prefix, clean);
}

/* Reserves `bytes` of the budget for w (413 when they exceed the whole
 * budget, 429 while answers in flight hold too much of it). */
static int reserve(sn_work_t *w, sn_memory_budget_t *b, double bytes, sn_parse_error_t *e) {
  if (!b) return 0;
  const double mb = 1024.0 * 1024.0;
  if (bytes > (double)b->limit)
    return sn_request_fail(e, 413, NULL,
                           "the answer to this request would hold about %.1f MB, more than the "
                           "%.1f MB answers may hold (--max-response-bytes): send fewer or "
                           "shorter inputs",
                           bytes / mb, (double)b->limit / mb);
  long long want = (long long)bytes, held = atomic_load(&b->held);
  do {
    if (held + want > b->limit)
      return sn_request_fail(e, 429, NULL,
                             "Model is overloaded: answers being computed or sent hold %.1f of "
                             "%.1f MB (--max-response-bytes)",
                             (double)held / mb, (double)b->limit / mb);
  } while (!atomic_compare_exchange_weak(&b->held, &held, held + want));
  w->budget = b;
  w->reserved += want;
  return 0;
}

/* Bytes of JSON text a float takes at most, with its separator
 * ("-1.17549435e-38,"). */
enum { FLOAT_TEXT = 16, ESCAPED = 6 /* a byte as \u00XX at worst */ };

/* An upper bound on what a computed answer holds until sent: the outputs the
 * batcher writes and the response text (/embed_all streams its text one token
 * at a time, so only a token's text is held at once). Any API's shape fits
 * in the per-input and per-value allowances. */
static double answer_bound(const sn_served_t *m, const sn_request_t *r, size_t tokens) {
  double n = (double)r->count, hidden = m->info.hidden_size, labels = m->info.num_labels;
  double label_text = 0;
  for (int32_t k = 0; k < m->info.num_labels; k++) {
    double len = (double)strlen(m->info.labels[k]) * ESCAPED;
    label_text = len > label_text ? len : label_text;
  }
  switch (r->op) {
    case SN_OP_EMBED: return n * (m->info.embedding_dim * (4 + FLOAT_TEXT) + 128) + 1024;
    case SN_OP_EMBED_SPARSE: /* at worst every entry nonzero: {"index":N,"value":V}, */
      return n * ((double)m->info.vocab_size * (4 + FLOAT_TEXT + 24) + 128) + 1024;
    case SN_OP_EMBED_ALL:
      return (double)tokens * hidden * 4 + n * (3 * sizeof(size_t) + 4) + hidden * FLOAT_TEXT +
             4096;
    default: {
      double text = 0;
      for (size_t i = 0; r->return_text && i < r->count; i++)
        text += (double)strlen(r->texts[i]) * ESCAPED + 16;
      return n * (labels * (8 + FLOAT_TEXT + 32 + label_text) + sizeof(size_t) + 128) + text + 1024;
    }
  }
}

/* The same for work done on the I/O thread (TOKENIZE, DECODE), from what it
 * made: each token's fields and its text escaped. */
static double listing_bound(const sn_served_t *m, const sn_request_t *r, const sn_result_t *res) {
  double bytes = 1024;
  for (size_t i = 0; res->enc && i < res->count; i++) {
    const sinter_encoding_t *enc = &res->enc[i];
    bytes += (double)enc->length * (4 + 4 + 8 + 1 + 96) + 16;
    for (size_t t = 0; t < enc->length; t++) {
      const char *special = enc->special[t] ? sinter_model_token(m->model, enc->ids[t]) : NULL;
      bytes += ESCAPED *
               (double)(special ? strlen(special) : enc->offsets[2 * t + 1] - enc->offsets[2 * t]);
    }
  }
  for (size_t i = 0; res->decoded && i < res->count; i++)
    bytes += (double)strlen(res->decoded[i]) * (1 + ESCAPED) + 16;
  (void)r;
  return bytes;
}

/* Tokenizes count texts (with pairs, and pair byte sizes, when non-NULL) into
 * w->enc and the job's input arrays. */
static int tokenize(sn_work_t *w, size_t count, const char **texts, const char **pairs,
                    const size_t *pair_sizes, int truncate, int left, int specials,
                    sn_parse_error_t *e) {
  const sn_served_t *m = w->model;
  w->enc = calloc(count, sizeof *w->enc);
  if (!w->enc) return oom(e);
  /* TEI's prompt_name: the model's prompt before each text, as
   * sentence-transformers does (its tokens count toward truncation). */
  const char *prompt = NULL, *prompt_name = w->req->prompt_name;
  char **prompted = NULL;
  if (!prompt_name &&
      (w->req->op == SN_OP_EMBED || w->req->op == SN_OP_EMBED_SPARSE ||
       w->req->op == SN_OP_TOKENIZE) &&
      w->req->texts == texts)
    prompt_name = m->default_prompt_name; /* --default-prompt-name: embeddings, /tokenize */
  if (prompt_name && !pairs) {
    prompt = sinter_model_prompt(m->model, prompt_name);
    if (!prompt) {
      free(w->enc);
      w->enc = NULL;
      return sn_request_fail(e, 422, "prompt_name",
                             "`prompt_name` \"%.64s\": model \"%s\" defines no prompt of that "
                             "name (%zu prompts)",
                             prompt_name, m->name, sinter_model_prompt_count(m->model));
    }
    size_t plen = strlen(prompt);
    prompted = calloc(count, sizeof *prompted);
    for (size_t i = 0; prompted && i < count; i++) {
      size_t len = strlen(texts[i]);
      if (!(prompted[i] = malloc(plen + len + 1))) break;
      memcpy(prompted[i], prompt, plen);
      memcpy(prompted[i] + plen, texts[i], len + 1);
    }
    if (!prompted || (count && !prompted[count - 1])) {
      for (size_t i = 0; prompted && i < count; i++) free(prompted[i]);
      free(prompted);
      free(w->enc);
      w->enc = NULL;
      return oom(e);
    }
    texts = (const char **)prompted;
  }
  sinter_tokenize_options_t topts = {.max_length = m->max_input_tokens,
                                     .truncation = !truncate ? SINTER_TRUNCATE_NONE
                                                   : left    ? SINTER_TRUNCATE_LEFT
                                                             : SINTER_TRUNCATE_RIGHT,
                                     .without_special_tokens = !specials,
                                     .rerank_template = m->rerank_template,
                                     .rerank_instruction = m->rerank_instruction};
  sinter_error_t err;
  double t0 = sn_batcher_now();
  sinter_status_t st = sinter_model_tokenize_batch(m->model, count, texts, NULL, pairs, pair_sizes,
                                                   &topts, w->enc, &err);
  w->res.tokenize_seconds = sn_batcher_now() - t0;
  if (prompted && !w->ids && !st) { /* /tokenize answers spans of the prompted texts */
    w->res.texts = prompted;
    prompted = NULL;
  }
  for (size_t i = 0; prompted && i < count; i++) free(prompted[i]);
  free(prompted);
  if (st) {
    free(w->enc);
    w->enc = NULL;
    fail_library(e, m, st == SINTER_ERR_LIMIT ? 413 : 422, "inputs",
                 "Input validation error: ", err.message);
    if (st == SINTER_ERR_NOT_FOUND) e->status = 424, e->kind = "Backend";
    if (st == SINTER_ERR_INVALID_ARGUMENT) e->kind = "Tokenizer";
    return -1;
  }
  w->res.count = count;
  if (!w->ids) return 0; /* TOKENIZE keeps the encodings only */
  for (size_t i = 0; i < count; i++) {
    w->ids[i] = w->enc[i].ids;
    w->types[i] = w->enc[i].type_ids;
    w->lengths[i] = w->enc[i].length;
  }
  return 0;
}

/* Token-id inputs: each id inside the vocabulary, each input within the
 * model's length (cut when truncating, as texts are). */
static int take_ids(sn_work_t *w, sn_parse_error_t *e) {
  const sn_request_t *r = w->req;
  const sn_served_t *m = w->model;
  const char *field = r->input_field ? r->input_field : "inputs";
  for (size_t i = 0; i < r->count; i++) {
    size_t len = r->id_lengths[i], keep = len, from = 0;
    for (size_t k = 0; k < len; k++)
      if (r->ids[i][k] < 0 || r->ids[i][k] >= m->info.vocab_size) {
        /* Often another tokenizer's ids (LangChain's OpenAIEmbeddings sends
         * tiktoken's by default): say so, with the id. A Tokenizer error:
         * 422 on the OpenAI routes too, as TEI's. */
        sn_request_fail(e, 422, field,
                        "Input validation error: token id %d in `%s[%zu]` is outside the "
                        "vocabulary of model \"%s\" [0, %d): token ids must come from this "
                        "model's tokenizer; send text instead",
                        (int)r->ids[i][k], field, r->is_list ? i : 0, m->name,
                        (int)m->info.vocab_size);
        e->kind = "Tokenizer";
        return -1;
      }
    if (len > (size_t)m->max_input_tokens) {
      if (!r->truncate)
        return sn_request_fail(e, 413, "inputs",
                               "Input validation error: `inputs[%zu]` has %zu tokens; the limit "
                               "is %d (truncate is false)",
                               i, len, (int)m->max_input_tokens);
      keep = (size_t)m->max_input_tokens;
      from = r->truncate_left ? len - keep : 0;
    }
    w->ids[i] = r->ids[i] + from;
    w->types[i] = NULL;
    w->lengths[i] = keep;
  }
  w->res.count = r->count;
  return 0;
}

/* Rerank: each document cut to max_tokens_per_doc tokens of its own (the
 * byte where its N-th token ends), then paired with the query. */
static int rerank_inputs(sn_work_t *w, sn_parse_error_t *e) {
  const sn_request_t *r = w->req;
  size_t n = r->count;
  const char **queries = malloc(n * sizeof *queries);
  size_t *sizes = malloc(n * sizeof *sizes);
  if (!queries || !sizes) return free(queries), free(sizes), oom(e);
  for (size_t i = 0; i < n; i++) {
    queries[i] = r->query; /* one pointer: the query is tokenized once */
    sizes[i] = strlen(r->texts[i]);
  }
  int rc = 0;
  if (r->max_tokens_per_doc > 0) {
    sinter_encoding_t *docs = calloc(n, sizeof *docs);
    sinter_tokenize_options_t cut = {.max_length = r->max_tokens_per_doc,
                                     .truncation = SINTER_TRUNCATE_RIGHT,
                                     .without_special_tokens = 1};
    sinter_error_t err;
    if (!docs) {
      rc = oom(e);
    } else if (sinter_model_tokenize_batch(w->model->model, n, r->texts, NULL, NULL, NULL, &cut,
                                           docs, &err)) {
      rc = fail_library(e, w->model, 422, "documents", "Input validation error: ", err.message);
    } else {
      for (size_t i = 0; i < n; i++)
        if (docs[i].truncated && docs[i].length) sizes[i] = docs[i].offsets[2 * docs[i].length - 1];
      sinter_encodings_free(docs, n);
    }
    free(docs);
  }
  if (!rc) rc = tokenize(w, n, queries, r->texts, sizes, r->truncate, 0, 1, e);
  free(queries);
  free(sizes);
  return rc;
}

static int decode(sn_work_t *w, sn_parse_error_t *e) {
  const sn_request_t *r = w->req;
  w->res.decoded = calloc(r->count, sizeof *w->res.decoded);
  if (!w->res.decoded) return oom(e);
  w->res.count = r->count;
  for (size_t i = 0; i < r->count; i++) {
    sinter_error_t err;
    if (sinter_model_decode(w->model->model, r->ids[i], r->id_lengths[i], r->skip_special,
                            &w->res.decoded[i], &err)) {
      return fail_library(e, w->model, err.status == SINTER_ERR_NOT_FOUND ? 424 : 500, "ids", "",
                          err.message);
    }
  }
  return 1;
}

int sn_engine_prepare(const sn_served_t *m, const sn_request_t *r, sn_memory_budget_t *budget,
                      sn_work_t *w, sn_parse_error_t *e) {
  memset(w, 0, sizeof *w);
  w->req = r;
  w->model = m;
  size_t n = r->count, labels = (size_t)(m->info.num_labels > 0 ? m->info.num_labels : 0);
  size_t hidden = (size_t)m->info.hidden_size, dim = (size_t)m->info.embedding_dim;
  if (r->op == SN_OP_DECODE || r->op == SN_OP_TOKENIZE) {
    if (r->op == SN_OP_DECODE ? decode(w, e) < 0
                              : tokenize(w, n, r->texts, NULL, NULL, 1, 0, r->add_special, e))
      return -1;
    w->res.enc = w->enc;
    w->enc = NULL;
    return reserve(w, budget, listing_bound(m, r, &w->res), e) ? -1 : 1;
  }
  if ((r->op == SN_OP_CLASSIFY && !labels) || (r->op == SN_OP_RERANK && labels != 1))
    return sn_request_fail(e, 424, "model",
                           r->op == SN_OP_RERANK
                               ? "model %s is not a re-ranker: it has %zu labels, not one"
                               : "model %s is not a classifier (%zu labels)",
                           m->name, labels);
  if (r->op == SN_OP_EMBED_SPARSE && !m->pinfo.sparse)
    return sn_request_fail(e, 424, "model",
                           "`/embed_sparse` is only available for a masked-LM (*ForMaskedLM) "
                           "model served with --pooling splade; model %s has no sparse output",
                           m->name);
  /* A SPLADE model answers with its sparse vector only: a pooled hidden
   * state of a masked-LM is no embedding it was trained to give, and a
   * client that gets one would index it without noticing. */
  if (r->op == SN_OP_EMBED && m->pinfo.sparse)
    return sn_request_fail(e, 424, "model",
                           "model %s is served with pooling splade (SPLADE sparse output): dense "
                           "embeddings are not available; use `/embed_sparse`",
                           m->name);
  if (r->dimensions && (size_t)r->dimensions > dim)
    return sn_request_fail(e, 422, "dimensions", "`dimensions` must be from 1 to %zu, not %d", dim,
                           (int)r->dimensions);
  w->ids = calloc(n, sizeof *w->ids);
  w->types = calloc(n, sizeof *w->types);
  w->lengths = calloc(n, sizeof *w->lengths);
  if (!w->ids || !w->types || !w->lengths) return oom(e);
  int rc = r->op == SN_OP_RERANK ? rerank_inputs(w, e)
           : r->ids              ? take_ids(w, e)
                    : tokenize(w, n, r->texts, r->pairs, NULL, r->truncate, r->truncate_left, 1, e);
  if (rc) return -1;
  size_t tokens = 0;
  for (size_t i = 0; i < n; i++) tokens += w->lengths[i];
  if (reserve(w, budget, answer_bound(m, r, tokens), e)) return -1;
  sn_job_t *j = &w->job;
  j->count = n;
  j->ids = w->ids;
  j->type_ids = r->op == SN_OP_CLASSIFY || r->op == SN_OP_RERANK ? w->types : NULL;
  j->lengths = w->lengths;
  j->normalize = r->op == SN_OP_EMBED ? r->normalize : 1;
  w->res.tokens = tokens;
  if (r->op == SN_OP_EMBED_ALL) {
    w->res.hidden = hidden;
    w->res.token_states = malloc((tokens ? tokens : 1) * hidden * sizeof(float));
    w->res.starts = malloc(n * sizeof *w->res.starts);
    w->res.lengths = malloc(n * sizeof *w->res.lengths);
    if (!w->res.token_states || !w->res.starts || !w->res.lengths) return oom(e);
    for (size_t i = 0, at = 0; i < n; at += w->lengths[i], i++) {
      w->res.starts[i] = at;
      w->res.lengths[i] = w->lengths[i];
    }
    j->token_states = w->res.token_states;
    j->starts = w->res.starts;
    return 0;
  }
  if (r->op == SN_OP_EMBED_SPARSE) {
    w->res.vocab = (size_t)m->info.vocab_size;
    w->res.sparse = malloc(n * w->res.vocab * sizeof(float));
    if (!w->res.sparse) return oom(e);
    j->sparse = w->res.sparse;
    return 0;
  }
  size_t per = r->op == SN_OP_EMBED ? dim : labels;
  w->raw = malloc(n * per * sizeof(float));
  if (!w->raw) return oom(e);
  if (r->op == SN_OP_EMBED)
    j->embeddings = w->raw;
  else
    j->logits = w->raw;
  return 0;
}

int sn_engine_submit(sn_work_t *w, double deadline, int (*cancelled)(void *),
                     sn_job_finished_fn finished_fn, void *ctx) {
  w->job.deadline = deadline;
  w->job.cancelled = cancelled;
  w->job.finished_fn = finished_fn;
  w->job.ctx = ctx;
  return sn_batcher_submit(w->model->batcher, &w->job);
}

int sn_engine_run(sn_work_t *w, double deadline) {
  int rc = sn_engine_submit(w, deadline, NULL, NULL, NULL);
  if (rc) return rc;
  sn_batcher_wait(w->model->batcher, &w->job);
  return 0;
}

/* TEI's /similarity: the cosine of each embedding after the first with the
 * first, in double (0 when either is all zeros). */
static int similarity(sn_work_t *w, sn_parse_error_t *e) {
  size_t n = w->res.count, width = w->res.width;
  const float *v = w->res.embeddings;
  float *s = malloc((n > 1 ? n - 1 : 1) * sizeof *s);
  if (!s) return oom(e);
  double aa = 0;
  for (size_t k = 0; k < width; k++) aa += (double)v[k] * v[k];
  for (size_t i = 1; i < n; i++) {
    const float *b = v + i * width;
    double ab = 0, bb = 0;
    for (size_t k = 0; k < width; k++) ab += (double)v[k] * b[k], bb += (double)b[k] * b[k];
    s[i - 1] = aa > 0 && bb > 0 ? (float)(ab / sqrt(aa * bb)) : 0.0f;
  }
  w->res.scores = s;
  w->res.labels = 1;
  return 0;
}

/* Embeddings: keep `width` of `hidden` floats per row (the embedding's
 * width, after any Dense modules), renormalised when the request normalises
 * (truncate, then renormalise: Matryoshka dimensions). */
static int finish_embed(sn_work_t *w, sn_parse_error_t *e) {
  const sn_request_t *r = w->req;
  size_t n = r->count, hidden = (size_t)w->model->info.embedding_dim;
  size_t width = r->dimensions ? (size_t)r->dimensions : hidden;
  for (size_t i = 0; i < n; i++) {
    float *src = w->raw + i * hidden, *dst = w->raw + i * width;
    if (width < hidden && r->normalize) {
      double sum = 0;
      for (size_t k = 0; k < width; k++) sum += (double)src[k] * src[k];
      float scale = sum > 0 ? (float)(1.0 / sqrt(sum)) : 0.0f;
      for (size_t k = 0; k < width; k++) dst[k] = src[k] * scale;
    } else if (dst != src) {
      memmove(dst, src, width * sizeof(float));
    }
  }
  w->res.width = width;
  w->res.embeddings = w->raw;
  w->raw = NULL;
  return r->similarity ? similarity(w, e) : 0;
}

/* Classifier outputs: softmax over the labels (sigmoid for one logit), or
 * the logits when raw; rerank results ordered, top_n of them. */
static int finish_scores(sn_work_t *w, sn_parse_error_t *e) {
  const sn_request_t *r = w->req;
  size_t n = r->count, labels = (size_t)w->model->info.num_labels;
  float *s = w->raw;
  for (size_t i = 0; i < n && !r->raw_scores; i++) {
    float *l = s + i * labels;
    if (labels == 1) {
      l[0] = (float)(1.0 / (1.0 + exp(-(double)l[0])));
      continue;
    }
    double max = l[0], sum = 0;
    for (size_t k = 1; k < labels; k++) max = l[k] > max ? l[k] : max;
    for (size_t k = 0; k < labels; k++) sum += exp((double)l[k] - max);
    for (size_t k = 0; k < labels; k++) l[k] = (float)(exp((double)l[k] - max) / sum);
  }
  w->res.labels = labels;
  w->res.scores = s;
  w->raw = NULL;
  if (r->op != SN_OP_RERANK) return 0;
  w->res.order = malloc(n * sizeof *w->res.order);
  if (!w->res.order) return oom(e);
  sn_order_by_score(s, w->res.order, n);
  w->res.n_order = r->top_n > 0 && (size_t)r->top_n < n ? (size_t)r->top_n : n;
  return 0;
}

int sn_engine_finish(sn_work_t *w, sn_parse_error_t *e) {
  const sn_job_t *j = &w->job;
  w->res.queue_seconds = j->queue_seconds;
  w->res.compute_seconds = j->compute_seconds;
  if (j->outcome == SN_JOB_EXPIRED)
    return sn_request_fail(e, 504, NULL,
                           "the request's deadline passed before it was computed "
                           "(--request-timeout or x-request-timeout)");
  if (j->outcome == SN_JOB_CANCELLED)
    return sn_request_fail(e, 499, NULL, "dropped before it was computed: the client left");
  if (j->status != SINTER_OK) return fail_library(e, w->model, 500, NULL, "", j->message);
  if (w->req->op == SN_OP_EMBED) return finish_embed(w, e);
  if (w->req->op == SN_OP_EMBED_ALL || w->req->op == SN_OP_EMBED_SPARSE) return 0;
  return finish_scores(w, e);
}

void sn_work_free(sn_work_t *w) {
  if (!w) return;
  if (w->enc) sinter_encodings_free(w->enc, w->res.count);
  free(w->enc);
  if (w->res.enc) sinter_encodings_free(w->res.enc, w->res.count);
  for (size_t i = 0; w->res.texts && i < w->res.count; i++) free(w->res.texts[i]);
  free(w->res.texts);
  free(w->res.enc);
  for (size_t i = 0; w->res.decoded && i < w->res.count; i++) sinter_free(w->res.decoded[i]);
  free(w->res.decoded);
  free(w->ids), free(w->types), free(w->lengths), free(w->raw);
  free(w->res.embeddings), free(w->res.token_states), free(w->res.starts), free(w->res.lengths);
  free(w->res.scores), free(w->res.order), free(w->res.sparse);
  if (w->budget) atomic_fetch_sub(&w->budget->held, w->reserved);
  memset(w, 0, sizeof *w);
}
