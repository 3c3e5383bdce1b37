/* server.c — HTTP routes over libmicrohttpd (see server.h). */
#include "server/server.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/batcher.h"

/* Histogram buckets in seconds, as TEI's dashboards read them. */
static const double BUCKETS[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                 0.25,  0.5,    1,     2.5,  5,     10};
#define N_BUCKETS (sizeof BUCKETS / sizeof BUCKETS[0])

typedef struct histogram {
  atomic_ullong bucket[N_BUCKETS + 1]; /* the last is +Inf */
  atomic_ullong count;
  atomic_ullong sum_us; /* microseconds (or tokens, for the input lengths) */
} histogram_t;

static void observe(histogram_t *h, double v, double unit) {
  size_t k = 0;
  while (k < N_BUCKETS && v > BUCKETS[k] * unit) k++;
  atomic_fetch_add(&h->bucket[k], 1);
  atomic_fetch_add(&h->count, 1);
  atomic_fetch_add(&h->sum_us, (unsigned long long)(v * (unit == 1 ? 1e6 : 1)));
}

enum { ERR_VALIDATION, ERR_TOKENIZER, ERR_OVERLOADED, ERR_BACKEND, ERR_UNHEALTHY, ERR_COUNT };
static const char *const ERR_NAMES[ERR_COUNT] = {"validation", "tokenizer", "overloaded", "backend",
                                                 "unhealthy"};

/* What one request did, filled by its handler (a record per request). */
typedef struct request_stats {
  unsigned status;
  int err; /* ERR_*, or -1 */
  double tokenize_s, queue_s, infer_s;
  size_t tokens, inputs;
} request_stats_t;

/* The handler's record: set by route() for the one request its thread runs. */
static _Thread_local request_stats_t *current_stats;

typedef struct metrics {
  atomic_ullong requests, success, failure[ERR_COUNT];
  histogram_t duration, tokenization, queue, inference, input_length;
  atomic_ullong batch_inputs, batch_tokens; /* of the last request */
} metrics_t;

struct sn_server {
  sn_server_options_t opts;
  struct MHD_Daemon *daemon;
  const sinter_program_t *program;
  const sinter_model_t *model;
  sinter_model_info_t info;
  sinter_program_info_t pinfo;
  sn_batcher_t *batcher;
  atomic_int ready;     /* health and routes answer 503 until 1 */
  atomic_int stopping;  /* draining: new requests get 503 */
  atomic_int in_flight; /* requests between their first byte and their response's end */
  metrics_t metrics;
};

/* A request's body, gathered across libmicrohttpd's calls. */
typedef struct body {
  char *data;
  size_t size, cap;
  int too_big;
} body_t;

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------- replies */

typedef enum api { API_TEI, API_OPENAI } api_t;

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *json,
                             const char *const *headers) {
  if (current_stats) current_stats->status = status;
  if (!json) {
    status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    json = strdup("{\"error\":\"out of memory\",\"error_type\":\"Backend\"}");
    if (!json) return MHD_NO;
  }
  struct MHD_Response *r =
      MHD_create_response_from_buffer(strlen(json), json, MHD_RESPMEM_MUST_FREE);
  if (!r) {
    free(json);
    return MHD_NO;
  }
  MHD_add_response_header(r, "Content-Type", "application/json");
  for (size_t i = 0; headers && headers[i]; i += 2)
    MHD_add_response_header(r, headers[i], headers[i + 1]);
  enum MHD_Result ok = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ok;
}

/* An error in the shape each API's clients parse: TEI's {"error",
 * "error_type"} or OpenAI's {"error": {"message", "type", "param", "code"}}. */
static enum MHD_Result error(struct MHD_Connection *c, api_t api, unsigned status, const char *type,
                             const char *message) {
  if (current_stats) {
    current_stats->err = status == 429                    ? ERR_OVERLOADED
                         : status == 503                  ? ERR_UNHEALTHY
                         : status >= 500 || status == 424 ? ERR_BACKEND
                                                          : ERR_VALIDATION;
    if (type && !strcmp(type, "Tokenizer")) current_stats->err = ERR_TOKENIZER;
  }
  cJSON *o = cJSON_CreateObject();
  if (api == API_OPENAI) {
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "message", message);
    cJSON_AddStringToObject(e, "type",
                            status == 429   ? "rate_limit_error"
                            : status >= 500 ? "server_error"
                                            : "invalid_request_error");
    cJSON_AddNullToObject(e, "param");
    cJSON_AddNullToObject(e, "code");
  } else {
    cJSON_AddStringToObject(o, "error", message);
    cJSON_AddStringToObject(o, "error_type", type);
  }
  char *json = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  static const char *const retry[] = {"Retry-After", "1", NULL};
  return reply(c, status, json, status == 429 ? retry : NULL);
}

/* ---------------------------------------------------------------- inputs */

/* A request's inputs, tokenized: owned arrays. */
typedef struct inputs {
  size_t count;
  int32_t **ids;
  size_t *lengths;
  sinter_encoding_t *enc; /* when tokenized from text */
  size_t tokens;
} inputs_t;

static void inputs_free(inputs_t *in) {
  if (in->enc) {
    sinter_encodings_free(in->enc, in->count);
  } else {
    for (size_t i = 0; in->ids && i < in->count; i++) free(in->ids[i]);
  }
  free(in->enc);
  free(in->ids);
  free(in->lengths);
  memset(in, 0, sizeof *in);
}

static int is_int_list(const cJSON *a) {
  if (!cJSON_IsArray(a) || !a->child) return 0;
  for (const cJSON *e = a->child; e; e = e->next)
    if (!cJSON_IsNumber(e) || e->valuedouble != (double)(int32_t)e->valuedouble) return 0;
  return 1;
}

/* Reads `inputs` (TEI) or `input` (OpenAI): a string, a list of strings, a
 * list of token ids, or a list of token-id lists. Fills *in, or returns an
 * error message (static or in `msg`) with *status set. */
static const char *read_inputs(const sn_server_t *s, const cJSON *v, int truncate, int left,
                               inputs_t *in, unsigned *status, char *msg, size_t cap) {
  memset(in, 0, sizeof *in);
  *status = 422;
  if (!v) return "`inputs` is missing";
  size_t n = cJSON_IsString(v) || is_int_list(v) ? 1
             : cJSON_IsArray(v)                  ? (size_t)cJSON_GetArraySize(v)
                                                 : 0;
  if (!cJSON_IsString(v) && !cJSON_IsArray(v)) return "`inputs` must be a string or a list";
  if (n == 0) return "`inputs` cannot be empty";
  if (n > (size_t)s->opts.max_client_batch) {
    *status = 413;
    snprintf(msg, cap, "batch size %zu > maximum allowed batch size %d", n,
             (int)s->opts.max_client_batch);
    return msg;
  }
  in->count = n;
  in->ids = calloc(n, sizeof *in->ids);
  in->lengths = calloc(n, sizeof *in->lengths);
  if (!in->ids || !in->lengths) return *status = 500, "out of memory";
  const cJSON *first = cJSON_IsArray(v) && !is_int_list(v) ? v->child : v;
  if (cJSON_IsString(first)) { /* texts */
    const char **texts = calloc(n, sizeof *texts);
    in->enc = calloc(n, sizeof *in->enc);
    if (!texts || !in->enc) return free(texts), *status = 500, "out of memory";
    size_t i = 0;
    for (const cJSON *e = cJSON_IsString(v) ? v : v->child; e && i < n; e = e->next, i++) {
      if (!cJSON_IsString(e)) {
        free(texts);
        free(in->enc);
        in->enc = NULL;
        snprintf(msg, cap, "`inputs[%zu]` must be a string", i);
        return msg;
      }
      texts[i] = e->valuestring;
    }
    sinter_tokenize_options_t topts = {
        0, truncate ? (left ? SINTER_TRUNCATE_LEFT : SINTER_TRUNCATE_RIGHT) : SINTER_TRUNCATE_NONE};
    sinter_error_t err;
    sinter_status_t st =
        sinter_model_tokenize_batch(s->model, n, texts, NULL, NULL, NULL, &topts, in->enc, &err);
    free(texts);
    if (st) {
      free(in->enc);
      in->enc = NULL;
      *status = st == SINTER_ERR_LIMIT ? 413 : 422;
      snprintf(msg, cap, "Input validation error: %s", err.message);
      return msg;
    }
    for (i = 0; i < n; i++) {
      in->ids[i] = in->enc[i].ids;
      in->lengths[i] = in->enc[i].length;
      in->tokens += in->lengths[i];
    }
    return NULL;
  }
  size_t i = 0; /* token ids: one list, or a list of lists */
  for (const cJSON *e = is_int_list(v) ? v : v->child; e && i < n; e = e->next, i++) {
    if (!is_int_list(e)) {
      snprintf(msg, cap, "`inputs[%zu]` must be a string or a list of token ids", i);
      return msg;
    }
    size_t len = (size_t)cJSON_GetArraySize(e);
    if (len > (size_t)s->info.max_seq_length) {
      *status = 413;
      snprintf(msg, cap, "Input validation error: `inputs[%zu]` has %zu tokens; the limit is %d", i,
               len, (int)s->info.max_seq_length);
      return msg;
    }
    in->ids[i] = malloc(len * sizeof(int32_t));
    if (!in->ids[i]) return *status = 500, "out of memory";
    size_t k = 0;
    for (const cJSON *x = e->child; x; x = x->next) {
      int32_t id = (int32_t)x->valuedouble;
      if (id < 0 || id >= s->info.vocab_size) {
        snprintf(msg, cap,
                 "Input validation error: token id %d in `inputs[%zu]` is outside the vocabulary "
                 "[0, %d)",
                 (int)id, i, (int)s->info.vocab_size);
        return msg;
      }
      in->ids[i][k++] = id;
    }
    in->lengths[i] = len;
    in->tokens += len;
  }
  return NULL;
}

/* ---------------------------------------------------------------- embeddings */

/* Appends v with 9 significant digits (a float32 round-trips). */
typedef struct out_buf {
  char *p;
  size_t n, cap;
  int oom;
} out_buf_t;

static void out_put(out_buf_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_put(out_buf_t *o, const char *fmt, ...) {
  if (o->oom) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(o->p ? o->p + o->n : NULL, o->p ? o->cap - o->n : 0, fmt, ap);
    va_end(ap);
    if (k < 0) {
      o->oom = 1;
      return;
    }
    if (o->p && o->n + (size_t)k < o->cap) {
      o->n += (size_t)k;
      return;
    }
    size_t cap = o->cap ? o->cap * 2 : 4096;
    while (cap < o->n + (size_t)k + 1) cap *= 2;
    char *grown = realloc(o->p, cap);
    if (!grown) {
      o->oom = 1;
      return;
    }
    o->p = grown;
    o->cap = cap;
  }
}

static void put_float(out_buf_t *o, float v) {
  if (isfinite(v))
    out_put(o, "%.9g", (double)v);
  else
    out_put(o, "null");
}

static void put_base64(out_buf_t *o, const float *v, size_t n) {
  static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unsigned char *b = (const unsigned char *)v; /* little-endian float32, as OpenAI sends */
  size_t len = n * 4;
  out_put(o, "\"");
  for (size_t i = 0; i < len; i += 3) {
    unsigned x = (unsigned)b[i] << 16 | (i + 1 < len ? (unsigned)b[i + 1] << 8 : 0) |
                 (i + 2 < len ? b[i + 2] : 0);
    out_put(o, "%c%c%c%c", t[x >> 18 & 63], t[x >> 12 & 63], i + 1 < len ? t[x >> 6 & 63] : '=',
            i + 2 < len ? t[x & 63] : '=');
  }
  out_put(o, "\"");
}

static enum MHD_Result embed(sn_server_t *s, struct MHD_Connection *c, api_t api,
                             const body_t *body) {
  double t0 = now_s();
  cJSON *req = cJSON_ParseWithLength(body->data ? body->data : "", body->size);
  if (!req || !cJSON_IsObject(req)) {
    cJSON_Delete(req);
    return error(c, api, api == API_OPENAI ? 400 : 422, "Validation",
                 "the request body is not a JSON object");
  }
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, api == API_OPENAI ? "input" : "inputs");
  const cJSON *norm = cJSON_GetObjectItemCaseSensitive(req, "normalize");
  const cJSON *trunc = cJSON_GetObjectItemCaseSensitive(req, "truncate");
  const cJSON *dir = cJSON_GetObjectItemCaseSensitive(req, "truncation_direction");
  const cJSON *dims = cJSON_GetObjectItemCaseSensitive(req, "dimensions");
  const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(req, "encoding_format");
  int normalize = api == API_OPENAI || !cJSON_IsBool(norm) || cJSON_IsTrue(norm);
  /* OpenAI clients expect long inputs cut; TEI cuts only when asked. */
  int truncate = api == API_OPENAI || cJSON_IsTrue(trunc);
  int left = cJSON_IsString(dir) && !strcmp(dir->valuestring, "Left");
  int base64 = cJSON_IsString(fmt) && !strcmp(fmt->valuestring, "base64");
  size_t hidden = (size_t)s->info.hidden_size, width = hidden;
  char msg[512];
  if (dims && !cJSON_IsNull(dims)) {
    if (!cJSON_IsNumber(dims) || dims->valuedouble < 1 || dims->valuedouble > (double)hidden ||
        dims->valuedouble != (double)(size_t)dims->valuedouble) {
      snprintf(msg, sizeof msg, "`dimensions` must be an integer from 1 to %zu", hidden);
      cJSON_Delete(req);
      return error(c, api, api == API_OPENAI ? 400 : 422, "Validation", msg);
    }
    width = (size_t)dims->valuedouble;
  }
  if (fmt && !cJSON_IsNull(fmt) &&
      !(cJSON_IsString(fmt) && (base64 || !strcmp(fmt->valuestring, "float")))) {
    cJSON_Delete(req);
    return error(c, api, 400, "Validation", "`encoding_format` must be \"float\" or \"base64\"");
  }
  inputs_t in;
  unsigned status;
  const char *bad = read_inputs(s, v, truncate, left, &in, &status, msg, sizeof msg);
  cJSON_Delete(req);
  if (bad) {
    inputs_free(&in);
    return error(c, api, api == API_OPENAI && status == 422 ? 400 : status,
                 status == 413 || status == 422 ? "Validation" : "Backend", bad);
  }
  double t_tok = now_s() - t0;
  float *emb = malloc(in.count * hidden * sizeof(float));
  sn_job_t job;
  memset(&job, 0, sizeof job);
  job.count = in.count;
  job.ids = (const int32_t *const *)in.ids;
  job.lengths = in.lengths;
  job.embeddings = emb;
  job.normalize = normalize;
  if (!emb) {
    inputs_free(&in);
    return error(c, api, 500, "Backend", "out of memory");
  }
  if (sn_batcher_submit(s->batcher, &job) != 0) {
    inputs_free(&in);
    free(emb);
    return error(c, api, 429, "Overloaded", "Model is overloaded: the queue is full");
  }
  sn_batcher_wait(s->batcher, &job);
  size_t tokens = in.tokens, count = in.count;
  inputs_free(&in);
  if (job.status != SINTER_OK) {
    free(emb);
    return error(c, api, job.status == SINTER_ERR_INVALID_ARGUMENT ? 422 : 500,
                 job.status == SINTER_ERR_INVALID_ARGUMENT ? "Validation" : "Backend", job.message);
  }
  out_buf_t o = {0};
  if (api == API_OPENAI)
    out_put(&o, "{\"object\":\"list\",\"data\":[");
  else
    out_put(&o, "[");
  for (size_t i = 0; i < count; i++) {
    float *e = emb + i * hidden;
    if (width < hidden && normalize) { /* truncate, then renormalise */
      double sum = 0;
      for (size_t k = 0; k < width; k++) sum += (double)e[k] * e[k];
      float scale = sum > 0 ? (float)(1.0 / sqrt(sum)) : 0.0f;
      for (size_t k = 0; k < width; k++) e[k] *= scale;
    }
    if (i) out_put(&o, ",");
    if (api == API_OPENAI) out_put(&o, "{\"object\":\"embedding\",\"index\":%zu,\"embedding\":", i);
    if (base64) {
      put_base64(&o, e, width);
    } else {
      out_put(&o, "[");
      for (size_t k = 0; k < width; k++) {
        if (k) out_put(&o, ",");
        put_float(&o, e[k]);
      }
      out_put(&o, "]");
    }
    if (api == API_OPENAI) out_put(&o, "}");
  }
  if (api == API_OPENAI) {
    char name[256];
    cJSON *n = cJSON_CreateString(s->opts.model_name);
    char *quoted = n ? cJSON_PrintUnformatted(n) : NULL;
    snprintf(name, sizeof name, "%s", quoted ? quoted : "\"\"");
    cJSON_Delete(n);
    free(quoted);
    out_put(&o, "],\"model\":%s,\"usage\":{\"prompt_tokens\":%zu,\"total_tokens\":%zu}}", name,
            tokens, tokens);
  } else {
    out_put(&o, "]");
  }
  free(emb);
  if (o.oom) {
    free(o.p);
    return error(c, api, 500, "Backend", "out of memory");
  }
  if (current_stats) {
    current_stats->tokenize_s = t_tok;
    current_stats->queue_s = job.queue_seconds;
    current_stats->infer_s = job.compute_seconds;
    current_stats->tokens = tokens;
    current_stats->inputs = count;
  }
  char total[32], tok[32], queue[32], infer[32], ntok[32];
  snprintf(total, sizeof total, "%.0f", (now_s() - t0) * 1e3);
  snprintf(tok, sizeof tok, "%.0f", t_tok * 1e3);
  snprintf(queue, sizeof queue, "%.0f", job.queue_seconds * 1e3);
  snprintf(infer, sizeof infer, "%.0f", job.compute_seconds * 1e3);
  snprintf(ntok, sizeof ntok, "%zu", tokens);
  const char *const headers[] = {"x-total-time",
                                 total,
                                 "x-tokenization-time",
                                 tok,
                                 "x-queue-time",
                                 queue,
                                 "x-inference-time",
                                 infer,
                                 "x-compute-tokens",
                                 ntok,
                                 NULL};
  return reply(c, 200, o.p, headers);
}

/* order[0..n) = the indices of score, highest score first; ties keep their
 * order. */
static void order_by_score(const float *score, size_t *order, size_t n) {
  for (size_t i = 0; i < n; i++) order[i] = i;
  for (size_t a = 1; a < n; a++)
    for (size_t b = a; b > 0 && score[order[b]] > score[order[b - 1]]; b--) {
      size_t t = order[b];
      order[b] = order[b - 1];
      order[b - 1] = t;
    }
}

/* Tokenizes texts (with pairs[i] as their pair when non-NULL), runs them
 * through the classifier, and fills logits [n * num_labels]. Returns NULL, or
 * an error message (static or in msg) with *status. The strings are
 * borrowed. */
static const char *run_classifier(sn_server_t *s, const char **texts, const char **pairs, size_t n,
                                  int truncate, float *logits, unsigned *status, char *msg,
                                  size_t cap) {
  inputs_t in = {0};
  in.count = n;
  in.ids = calloc(n, sizeof *in.ids);
  in.lengths = calloc(n, sizeof *in.lengths);
  in.enc = calloc(n, sizeof *in.enc);
  int32_t **types = calloc(n, sizeof *types);
  *status = 500;
  if (!in.ids || !in.lengths || !in.enc || !types) {
    free(types), free(in.enc), in.enc = NULL, inputs_free(&in);
    return "out of memory";
  }
  sinter_tokenize_options_t topts = {0, truncate ? SINTER_TRUNCATE_RIGHT : SINTER_TRUNCATE_NONE};
  sinter_error_t err;
  sinter_status_t st =
      sinter_model_tokenize_batch(s->model, n, texts, NULL, pairs, NULL, &topts, in.enc, &err);
  if (st) {
    free(types), free(in.enc), in.enc = NULL, inputs_free(&in);
    *status = st == SINTER_ERR_LIMIT ? 413 : 422;
    snprintf(msg, cap, "Input validation error: %s", err.message);
    return msg;
  }
  for (size_t i = 0; i < n; i++) {
    in.ids[i] = in.enc[i].ids;
    in.lengths[i] = in.enc[i].length;
    types[i] = in.enc[i].type_ids;
  }
  sn_job_t job;
  memset(&job, 0, sizeof job);
  job.count = n;
  job.ids = (const int32_t *const *)in.ids;
  job.type_ids = (const int32_t *const *)types;
  job.lengths = in.lengths;
  job.logits = logits;
  const char *bad = NULL;
  if (sn_batcher_submit(s->batcher, &job) != 0) {
    *status = 429;
    bad = "Model is overloaded: the queue is full";
  } else {
    sn_batcher_wait(s->batcher, &job);
    if (job.status != SINTER_OK) {
      *status = 422;
      snprintf(msg, cap, "%s", job.message);
      bad = msg;
    }
  }
  free(types);
  inputs_free(&in);
  return bad;
}

/* TEI's /predict: "inputs" is a text, a pair ["a", "b"], or a batch
 * [["a"], ["b", "c"]] of texts and pairs. Results are sorted by score;
 * scores are softmax (sigmoid for one logit) unless raw_scores. */
static enum MHD_Result predict(sn_server_t *s, struct MHD_Connection *c, const body_t *body) {
  cJSON *req = cJSON_ParseWithLength(body->data ? body->data : "", body->size);
  if (!req || !cJSON_IsObject(req)) {
    cJSON_Delete(req);
    return error(c, API_TEI, 422, "Validation", "the request body is not a JSON object");
  }
  if (s->info.num_labels <= 0) {
    cJSON_Delete(req);
    return error(c, API_TEI, 400, "Validation", "the model has no classification head");
  }
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, "inputs");
  int raw = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "raw_scores"));
  int truncate = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "truncate"));
  /* One input (a text or a pair), or a batch of them. */
  int batch = cJSON_IsArray(v) && v->child && cJSON_IsArray(v->child);
  size_t n = batch ? (size_t)cJSON_GetArraySize(v) : 1;
  const char **texts = calloc(n ? n : 1, sizeof *texts), **pairs = calloc(n ? n : 1, sizeof *pairs);
  const char *bad = NULL;
  char msg[512];
  if (!texts || !pairs) bad = "out of memory";
  if (!bad && !v) bad = "`inputs` is missing";
  if (!bad && n > (size_t)s->opts.max_client_batch) bad = "too many inputs";
  int any_pair = 0;
  const cJSON *e = batch ? v->child : v;
  for (size_t i = 0; !bad && i < n; i++, e = e ? e->next : NULL) {
    if (cJSON_IsString(e)) {
      texts[i] = e->valuestring;
    } else if (cJSON_IsArray(e) && cJSON_GetArraySize(e) >= 1 && cJSON_GetArraySize(e) <= 2 &&
               cJSON_IsString(e->child) && (!e->child->next || cJSON_IsString(e->child->next))) {
      texts[i] = e->child->valuestring;
      pairs[i] = e->child->next ? e->child->next->valuestring : NULL;
      any_pair |= pairs[i] != NULL;
    } else {
      snprintf(msg, sizeof msg, "`inputs%s` must be a text or a list of one or two texts (a pair)",
               batch ? "[i]" : "");
      bad = msg;
    }
  }
  size_t labels = (size_t)s->info.num_labels;
  float *logits = bad ? NULL : malloc(n * labels * sizeof(float));
  unsigned status = 422;
  if (!bad && !logits) bad = "out of memory";
  if (!bad)
    bad = run_classifier(s, texts, any_pair ? pairs : NULL, n, truncate, logits, &status, msg,
                         sizeof msg);
  cJSON_Delete(req);
  free(texts);
  free(pairs);
  if (bad) {
    free(logits);
    return error(c, API_TEI, status, status == 429 ? "Overloaded" : "Validation", bad);
  }
  out_buf_t o = {0};
  float *p = malloc(labels * sizeof *p);
  size_t *order = malloc(labels * sizeof *order), k_n = labels;
  if (!p || !order) o.oom = 1;
  if (batch) out_put(&o, "[");
  for (size_t i = 0; i < n && !o.oom; i++) {
    float *l = logits + i * labels;
    double max = l[0], sum = 0;
    for (size_t k = 1; k < labels; k++) max = l[k] > max ? l[k] : max;
    for (size_t k = 0; k < labels; k++) sum += exp((double)l[k] - max);
    for (size_t k = 0; k < k_n; k++)
      p[k] = (float)(raw           ? (double)l[k]
                     : labels == 1 ? 1.0 / (1.0 + exp(-(double)l[k]))
                                   : exp((double)l[k] - max) / sum);
    order_by_score(p, order, k_n);
    out_put(&o, "%s[", i ? "," : "");
    for (size_t k = 0; k < k_n; k++) {
      cJSON *label = cJSON_CreateString(s->info.labels[order[k]]);
      char *quoted = label ? cJSON_PrintUnformatted(label) : NULL;
      out_put(&o, "%s{\"score\":", k ? "," : "");
      put_float(&o, p[order[k]]);
      out_put(&o, ",\"label\":%s}", quoted ? quoted : "\"\"");
      free(quoted);
      cJSON_Delete(label);
    }
    out_put(&o, "]");
  }
  if (batch) out_put(&o, "]");
  free(p), free(order), free(logits);
  if (o.oom) {
    free(o.p);
    return error(c, API_TEI, 500, "Backend", "out of memory");
  }
  return reply(c, 200, o.p, NULL);
}

/* TEI's /rerank: (query, text) pairs through a one-logit cross-encoder;
 * scores are sigmoid(logit) unless raw_scores; results sorted by score. */
static enum MHD_Result rerank(sn_server_t *s, struct MHD_Connection *c, const body_t *body) {
  cJSON *req = cJSON_ParseWithLength(body->data ? body->data : "", body->size);
  if (!req || !cJSON_IsObject(req)) {
    cJSON_Delete(req);
    return error(c, API_TEI, 422, "Validation", "the request body is not a JSON object");
  }
  if (s->info.num_labels != 1) {
    cJSON_Delete(req);
    char msg[160];
    snprintf(msg, sizeof msg, "the model is not a re-ranker: it has %d labels, not 1",
             (int)s->info.num_labels);
    return error(c, API_TEI, 424, "Backend", msg);
  }
  const cJSON *query = cJSON_GetObjectItemCaseSensitive(req, "query");
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(req, "texts");
  int raw = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "raw_scores"));
  int return_text = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "return_text"));
  int truncate = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "truncate"));
  size_t n = cJSON_IsArray(list) ? (size_t)cJSON_GetArraySize(list) : 0;
  const char *bad = NULL;
  char msg[512];
  if (!cJSON_IsString(query))
    bad = "`query` must be a string";
  else if (!cJSON_IsArray(list))
    bad = "`texts` must be a list of strings";
  else if (n == 0)
    bad = "`texts` cannot be empty";
  else if (n > (size_t)s->opts.max_client_batch)
    bad = "too many texts";
  const char **texts = bad ? NULL : calloc(n, sizeof *texts),
             **queries = bad ? NULL : calloc(n, sizeof *queries);
  float *logits = bad ? NULL : malloc(n * sizeof(float));
  if (!bad && (!texts || !queries || !logits)) bad = "out of memory";
  size_t i = 0;
  for (const cJSON *e = bad ? NULL : list->child; e; e = e->next, i++) {
    if (!cJSON_IsString(e)) {
      snprintf(msg, sizeof msg, "`texts[%zu]` must be a string", i);
      bad = msg;
      break;
    }
    queries[i] = query->valuestring; /* the query is text A of every pair */
    texts[i] = e->valuestring;
  }
  unsigned status = 422;
  if (!bad) bad = run_classifier(s, queries, texts, n, truncate, logits, &status, msg, sizeof msg);
  size_t *order = bad ? NULL : malloc(n * sizeof *order);
  if (!bad && !order) bad = "out of memory", status = 500;
  out_buf_t o = {0};
  if (!bad) {
    for (i = 0; !raw && i < n; i++) logits[i] = (float)(1.0 / (1.0 + exp(-(double)logits[i])));
    order_by_score(logits, order, n);
    out_put(&o, "[");
    for (i = 0; i < n; i++) {
      out_put(&o, "%s{\"index\":%zu,\"score\":", i ? "," : "", order[i]);
      put_float(&o, logits[order[i]]);
      if (return_text) {
        cJSON *t = cJSON_CreateString(texts[order[i]]);
        char *quoted = t ? cJSON_PrintUnformatted(t) : NULL;
        out_put(&o, ",\"text\":%s", quoted ? quoted : "\"\"");
        free(quoted);
        cJSON_Delete(t);
      }
      out_put(&o, "}");
    }
    out_put(&o, "]");
  }
  cJSON_Delete(req);
  free(texts), free(queries), free(logits), free(order);
  if (bad) {
    free(o.p);
    return error(c, API_TEI, status, status == 429 ? "Overloaded" : "Validation", bad);
  }
  if (o.oom) {
    free(o.p);
    return error(c, API_TEI, 500, "Backend", "out of memory");
  }
  return reply(c, 200, o.p, NULL);
}

static void put_histogram(out_buf_t *o, const char *name, const char *help, histogram_t *h,
                          double unit) {
  out_put(o, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
  unsigned long long cum = 0;
  for (size_t k = 0; k <= N_BUCKETS; k++) {
    cum += atomic_load(&h->bucket[k]);
    if (k < N_BUCKETS)
      out_put(o, "%s_bucket{le=\"%g\"} %llu\n", name, BUCKETS[k] * unit, cum);
    else
      out_put(o, "%s_bucket{le=\"+Inf\"} %llu\n", name, cum);
  }
  double sum = (double)atomic_load(&h->sum_us) / (unit == 1 ? 1e6 : 1);
  out_put(o, "%s_sum %.6f\n%s_count %llu\n", name, sum, name, atomic_load(&h->count));
}

/* GET /metrics: Prometheus text, with TEI's metric names so dashboards
 * carry over, and sinter's own under sinter_. */
static enum MHD_Result metrics(sn_server_t *s, struct MHD_Connection *c) {
  metrics_t *m = &s->metrics;
  out_buf_t o = {0};
  out_put(&o, "# HELP te_request_count Requests received\n# TYPE te_request_count counter\n");
  out_put(&o, "te_request_count %llu\n", atomic_load(&m->requests));
  out_put(&o, "# HELP te_request_success Requests answered\n# TYPE te_request_success counter\n");
  out_put(&o, "te_request_success %llu\n", atomic_load(&m->success));
  out_put(&o,
          "# HELP te_request_failure Requests refused, by error\n"
          "# TYPE te_request_failure counter\n");
  for (int k = 0; k < ERR_COUNT; k++)
    out_put(&o, "te_request_failure{err=\"%s\"} %llu\n", ERR_NAMES[k], atomic_load(&m->failure[k]));
  int64_t queued = s->batcher ? sn_batcher_queued_tokens(s->batcher) : 0;
  out_put(&o, "# HELP te_queue_size Tokens waiting to be run\n# TYPE te_queue_size gauge\n");
  out_put(&o, "te_queue_size %lld\n", (long long)queued);
  out_put(&o,
          "# HELP te_batch_next_size Inputs of the last request\n"
          "# TYPE te_batch_next_size gauge\nte_batch_next_size %llu\n",
          atomic_load(&m->batch_inputs));
  out_put(&o,
          "# HELP te_batch_next_tokens Tokens of the last request\n"
          "# TYPE te_batch_next_tokens gauge\nte_batch_next_tokens %llu\n",
          atomic_load(&m->batch_tokens));
  put_histogram(&o, "te_request_duration", "Request time, seconds", &m->duration, 1);
  put_histogram(&o, "te_request_tokenization_duration", "Tokenization time, seconds",
                &m->tokenization, 1);
  put_histogram(&o, "te_request_queue_duration", "Time queued, seconds", &m->queue, 1);
  put_histogram(&o, "te_request_inference_duration", "Compute time, seconds", &m->inference, 1);
  put_histogram(&o, "te_request_input_length", "Tokens per request", &m->input_length, 1000);
  out_put(&o,
          "# HELP sinter_ready 1 when the model is loaded and the server not draining\n"
          "# TYPE sinter_ready gauge\nsinter_ready %d\n",
          atomic_load(&s->ready) && !atomic_load(&s->stopping));
  if (o.oom) {
    free(o.p);
    return error(c, API_TEI, 500, "Backend", "out of memory");
  }
  struct MHD_Response *r = MHD_create_response_from_buffer(o.n, o.p, MHD_RESPMEM_MUST_FREE);
  if (!r) {
    free(o.p);
    return MHD_NO;
  }
  MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4");
  enum MHD_Result ok = MHD_queue_response(c, 200, r);
  MHD_destroy_response(r);
  return ok;
}

/* Counts a finished request into the metrics. */
static void account(sn_server_t *s, const request_stats_t *r, double seconds) {
  metrics_t *m = &s->metrics;
  atomic_fetch_add(&m->requests, 1);
  if (r->status == 200) {
    atomic_fetch_add(&m->success, 1);
    observe(&m->duration, seconds, 1);
    if (r->inputs) {
      observe(&m->tokenization, r->tokenize_s, 1);
      observe(&m->queue, r->queue_s, 1);
      observe(&m->inference, r->infer_s, 1);
      observe(&m->input_length, (double)r->tokens, 1000);
      atomic_store(&m->batch_inputs, r->inputs);
      atomic_store(&m->batch_tokens, r->tokens);
    }
  } else if (r->err >= 0) {
    atomic_fetch_add(&m->failure[r->err], 1);
  }
}

static enum MHD_Result info(sn_server_t *s, struct MHD_Connection *c) {
  static const char *const dtypes[] = {"float32", "bfloat16", "int8"};
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "model_id", s->opts.model_name);
  cJSON_AddNullToObject(o, "model_sha");
  cJSON_AddStringToObject(o, "model_dtype", dtypes[s->pinfo.dtype <= 2 ? s->pinfo.dtype : 0]);
  cJSON *type = cJSON_AddObjectToObject(o, "model_type");
  if (s->info.num_labels > 0) {
    cJSON *labels =
        cJSON_AddObjectToObject(cJSON_AddObjectToObject(type, "classifier"), "id2label");
    for (int i = 0; i < s->info.num_labels; i++) {
      char k[16];
      snprintf(k, sizeof k, "%d", i);
      cJSON_AddStringToObject(labels, k, s->info.labels[i]);
    }
  } else {
    static const char *const pools[] = {"cls", "cls", "mean", "max", "mean_sqrt_len"};
    cJSON_AddStringToObject(cJSON_AddObjectToObject(type, "embedding"), "pooling",
                            pools[s->info.pooling <= 4 ? s->info.pooling : 0]);
  }
  cJSON_AddNumberToObject(o, "max_input_length", s->info.max_seq_length);
  cJSON_AddNumberToObject(o, "max_batch_tokens", (double)s->opts.max_batch_tokens);
  cJSON_AddNumberToObject(o, "max_client_batch_size", s->opts.max_client_batch);
  cJSON_AddNumberToObject(o, "tokenization_workers", s->opts.http_threads);
  cJSON_AddStringToObject(o, "version", SINTER_VERSION_STRING);
  char *json = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return reply(c, 200, json, NULL);
}

/* ---------------------------------------------------------------- routing */

static enum MHD_Result route(void *cls, struct MHD_Connection *c, const char *url,
                             const char *method, const char *version, const char *upload,
                             size_t *upload_size, void **state) {
  (void)version;
  sn_server_t *s = cls;
  if (!*state) { /* first call: headers only */
    body_t *b = calloc(1, sizeof *b);
    if (!b) return MHD_NO;
    *state = b;
    atomic_fetch_add(&s->in_flight, 1);
    return MHD_YES;
  }
  body_t *b = *state;
  if (*upload_size) { /* gather the body, within the limit */
    if (!b->too_big && b->size + *upload_size > (size_t)s->opts.payload_limit) b->too_big = 1;
    if (!b->too_big) {
      if (b->size + *upload_size + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->size + *upload_size + 1) cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p) return MHD_NO;
        b->data = p;
        b->cap = cap;
      }
      memcpy(b->data + b->size, upload, *upload_size);
      b->size += *upload_size;
      b->data[b->size] = '\0';
    }
    *upload_size = 0;
    return MHD_YES;
  }
  int post = !strcmp(method, "POST"), get = !strcmp(method, "GET");
  api_t api = !strncmp(url, "/v1/", 4) ? API_OPENAI : API_TEI;
  if (get && !strcmp(url, "/metrics")) return metrics(s, c);
  if (get && !strcmp(url, "/health")) {
    if (atomic_load(&s->ready) && !atomic_load(&s->stopping))
      return reply(c, 200, strdup("{}"), NULL);
    return error(c, api, 503, "Unhealthy",
                 atomic_load(&s->stopping) ? "shutting down" : "model is loading");
  }
  int known = (get && !strcmp(url, "/info")) || (post && !strcmp(url, "/embed")) ||
              (post && !strcmp(url, "/predict")) || (post && !strcmp(url, "/rerank")) ||
              (post && !strcmp(url, "/v1/embeddings"));
  if (!known) return error(c, api, 404, "Validation", "no such route");
  if (!atomic_load(&s->ready) || atomic_load(&s->stopping))
    return error(c, api, 503, "Unhealthy",
                 atomic_load(&s->stopping) ? "shutting down" : "model is loading");
  if (b->too_big) {
    char msg[128];
    snprintf(msg, sizeof msg, "the request body is larger than the %lld-byte limit",
             (long long)s->opts.payload_limit);
    return error(c, api, 413, "Validation", msg);
  }
  if (get) return info(s, c);
  request_stats_t stats = {0, -1, 0, 0, 0, 0, 0};
  current_stats = &stats;
  double t0 = now_s();
  enum MHD_Result r = !strcmp(url, "/predict")  ? predict(s, c, b)
                      : !strcmp(url, "/rerank") ? rerank(s, c, b)
                                                : embed(s, c, api, b);
  current_stats = NULL;
  account(s, &stats, now_s() - t0);
  return r;
}

static void completed(void *cls, struct MHD_Connection *c, void **state,
                      enum MHD_RequestTerminationCode code) {
  (void)c, (void)code;
  sn_server_t *s = cls;
  body_t *b = *state;
  if (b) {
    free(b->data);
    atomic_fetch_sub(&s->in_flight, 1);
  }
  free(b);
  *state = NULL;
}

/* ---------------------------------------------------------------- lifecycle */

sinter_status_t sn_server_start(const sn_server_options_t *options, sn_server_t **out,
                                sinter_error_t *err) {
  *out = NULL;
  sn_server_t *s = calloc(1, sizeof *s);
  if (!s) return err->status = SINTER_ERR_OUT_OF_MEMORY;
  s->opts = *options;
  if (!s->opts.host) s->opts.host = "127.0.0.1";
  if (!s->opts.model_name) s->opts.model_name = "model";
  if (s->opts.http_threads <= 0) s->opts.http_threads = 4;
  if (s->opts.payload_limit <= 0) s->opts.payload_limit = 2 << 20;
  if (s->opts.max_client_batch <= 0) s->opts.max_client_batch = 2048;
  if (s->opts.drain_timeout_s <= 0) s->opts.drain_timeout_s = 30;
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)s->opts.port);
  if (inet_pton(AF_INET, s->opts.host, &addr.sin_addr) != 1) {
    free(s);
    err->status = SINTER_ERR_INVALID_ARGUMENT;
    snprintf(err->message, sizeof err->message, "--host %s is not an IPv4 address", options->host);
    return err->status;
  }
  s->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC, 0,
                               NULL, NULL, route, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                               MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->opts.http_threads,
                               MHD_OPTION_NOTIFY_COMPLETED, completed, s,
                               MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
  if (!s->daemon) {
    free(s);
    err->status = SINTER_ERR_IO;
    snprintf(err->message, sizeof err->message, "cannot listen on %s:%d (in use?)",
             options->host ? options->host : "127.0.0.1", options->port);
    return err->status;
  }
  *out = s;
  return SINTER_OK;
}

int sn_server_port(const sn_server_t *s) {
  const union MHD_DaemonInfo *i = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
  return i ? (int)i->port : s->opts.port;
}

sinter_status_t sn_server_attach(sn_server_t *s, const sinter_program_t *program,
                                 sinter_error_t *err) {
  s->program = program;
  s->model = sinter_program_model(program);
  sinter_model_get_info(s->model, &s->info);
  sinter_program_get_info(program, &s->pinfo);
  if (s->opts.max_batch_tokens <= 0) s->opts.max_batch_tokens = s->pinfo.max_tokens;
  if (s->opts.max_batch_tokens > s->pinfo.max_tokens)
    s->opts.max_batch_tokens = s->pinfo.max_tokens;
  if (sn_batcher_create(program, s->opts.threads, s->opts.max_batch_tokens,
                        s->opts.max_queue_tokens, &s->batcher, err))
    return err->status;
  /* Warm up: the first run pays page faults and pool start-up, not a client. */
  int32_t ids[3] = {0, 0, 0};
  const int32_t *rows[1] = {ids};
  size_t len[1] = {3};
  float e[4096];
  sn_job_t job;
  memset(&job, 0, sizeof job);
  job.count = 1;
  job.ids = rows;
  job.lengths = len;
  job.embeddings = s->info.hidden_size <= 4096 ? e : NULL;
  job.normalize = 1;
  if (job.embeddings && sn_batcher_submit(s->batcher, &job) == 0) sn_batcher_wait(s->batcher, &job);
  atomic_store(&s->ready, 1);
  return SINTER_OK;
}

void sn_server_stop(sn_server_t *s) {
  if (!s) return;
  atomic_store(&s->stopping, 1);
  /* Drain: no new connections; the requests in flight get their responses
   * (within the drain timeout), then the daemon and the batcher stop. */
  MHD_socket listen = MHD_quiesce_daemon(s->daemon);
  struct timespec pause = {0, 10 * 1000 * 1000};
  for (int waited_ms = 0;
       atomic_load(&s->in_flight) > 0 && waited_ms < s->opts.drain_timeout_s * 1000;
       waited_ms += 10)
    nanosleep(&pause, NULL);
  MHD_stop_daemon(s->daemon);
  if (listen != MHD_INVALID_SOCKET) close(listen);
  sn_batcher_destroy(s->batcher);
  free(s);
}
