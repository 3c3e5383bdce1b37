/* server.c — HTTP plumbing, routing, auth, CORS and the drain (see server.h). */
#include "server/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server/api.h"
#include "server/docs.h"
#include "server/guard.h"
#include "server/metrics.h"
#include "server/openapi.h"
#include "server/out.h"

struct sn_server {
  sn_server_options_t opts;
  struct MHD_Daemon *daemon;
  struct MHD_Daemon *probe_daemon; /* --probe-port, or NULL */
  sn_guard_t *guard;               /* per-connection deadlines */
  sn_memory_budget_t answers;      /* memory answers hold until sent */
  sn_served_t models[SN_SERVER_MAX_MODELS];
  atomic_size_t n_models;       /* published after a model is complete */
  pthread_mutex_t compute_lock; /* one session computes at a time */
  atomic_int ready;             /* health and routes answer 503 until 1 */
  atomic_int stopping;          /* draining: new requests get 503 */
  atomic_int abandon;           /* the drain timed out: queued work is dropped */
  atomic_int in_flight;         /* compute requests admitted and not yet answered */
  sn_metrics_t metrics;
};

/* ---------------------------------------------------------------- routes */

typedef enum handler {
  H_COMPUTE, /* parse, tokenize, batch, write */
  H_HEALTH,
  H_INFO,
  H_METRICS,
  H_OPENAPI,
  H_MODELS,    /* OpenAI's model list */
  H_KS_SERVER, /* GET /v2 */
  H_KS_LIVE,   /* GET /v2/health/live */
  H_KS_READY,  /* GET /v2/health/ready */
  H_KS_MODEL,  /* GET /v2/models/{m} */
  H_KS_MODEL_READY,
  H_PING,      /* TorchServe, SageMaker */
  H_DOCS,      /* GET /docs: Swagger UI's page */
  H_DOCS_FILE, /* GET /docs/{file}: Swagger UI's files */
} handler_t;

enum {
  OPEN = 1,  /* no API key needed: the server's own liveness, readiness and metrics */
  PROBE = 2, /* also served on the probe listener */
  /* The route of the default model's kind, as TEI's POST /: /predict's for a
   * classifier, /rerank's for a re-ranker (one label), its own for an encoder. */
  BY_KIND = 4,
};

typedef struct route {
  const char *method;
  const char *path; /* "{}" matches one path segment: the model */
  handler_t handler;
  int flags;
  sn_parse_fn parse;
  sn_write_fn write;
  sn_error_fn error;
  sn_stream_fn stream;         /* writes the answer piece by piece as the client reads; or NULL */
  sn_write_body_fn write_body; /* writes an answer that may hold binary data; or NULL */
} route_t;

static const route_t ROUTES[] = {
    {"GET", "/health", H_HEALTH, OPEN | PROBE, NULL, NULL, sn_tei_error, NULL, NULL},
    /* TEI's Inference API routes: GET / is health; POST / and SageMaker's
     * /invocations do what the default model does (BY_KIND). */
    {"GET", "/", H_HEALTH, OPEN | PROBE, NULL, NULL, sn_tei_error, NULL, NULL},
    {"POST", "/", H_COMPUTE, BY_KIND, sn_tei_parse_root, sn_tei_write_root, sn_tei_error, NULL,
     NULL},
    {"POST", "/invocations", H_COMPUTE, BY_KIND, sn_tei_parse_root, sn_tei_write_root, sn_tei_error,
     NULL, NULL},
    {"POST", "/similarity", H_COMPUTE, 0, sn_tei_parse_similarity, sn_tei_write_similarity,
     sn_tei_error, NULL, NULL},
    {"GET", "/docs", H_DOCS, 0, NULL, NULL, sn_tei_error, NULL, NULL},
    {"GET", "/docs/{}", H_DOCS_FILE, 0, NULL, NULL, sn_tei_error, NULL, NULL},
    {"GET", "/info", H_INFO, 0, NULL, NULL, sn_tei_error, NULL, NULL},
    {"GET", "/metrics", H_METRICS, OPEN | PROBE, NULL, NULL, sn_tei_error, NULL, NULL},
    {"GET", "/openapi.json", H_OPENAPI, 0, NULL, NULL, sn_tei_error, NULL, NULL},
    {"POST", "/embed", H_COMPUTE, 0, sn_tei_parse_embed, sn_tei_write_embed, sn_tei_error, NULL,
     NULL},
    {"POST", "/embed_all", H_COMPUTE, 0, sn_tei_parse_embed_all, NULL, sn_tei_error,
     sn_tei_stream_embed_all, NULL},
    {"POST", "/embed_sparse", H_COMPUTE, 0, sn_tei_parse_embed_sparse, sn_tei_write_embed_sparse,
     sn_tei_error, NULL, NULL},
    {"POST", "/predict", H_COMPUTE, 0, sn_tei_parse_predict, sn_tei_write_predict, sn_tei_error,
     NULL, NULL},
    {"POST", "/rerank", H_COMPUTE, 0, sn_tei_parse_rerank, sn_tei_write_rerank, sn_tei_error, NULL,
     NULL},
    {"POST", "/tokenize", H_COMPUTE, 0, sn_tei_parse_tokenize, sn_tei_write_tokenize, sn_tei_error,
     NULL, NULL},
    {"POST", "/decode", H_COMPUTE, 0, sn_tei_parse_decode, sn_tei_write_decode, sn_tei_error, NULL,
     NULL},
    {"POST", "/v1/embeddings", H_COMPUTE, 0, sn_openai_parse_embeddings, sn_openai_write_embeddings,
     sn_openai_error, NULL, NULL},
    {"POST", "/embeddings", H_COMPUTE, 0, sn_openai_parse_embeddings, sn_openai_write_embeddings,
     sn_openai_error, NULL, NULL},
    {"GET", "/v1/models", H_MODELS, 0, NULL, NULL, sn_openai_error, NULL, NULL},
    {"POST", "/v1/rerank", H_COMPUTE, 0, sn_cohere_parse_rerank, sn_cohere_write_rerank,
     sn_cohere_error, NULL, NULL},
    {"POST", "/v2/rerank", H_COMPUTE, 0, sn_cohere_parse_rerank, sn_cohere_write_rerank,
     sn_cohere_error, NULL, NULL},
    {"GET", "/v2", H_KS_SERVER, 0, NULL, NULL, sn_kserve_error, NULL, NULL},
    {"GET", "/v2/health/live", H_KS_LIVE, OPEN | PROBE, NULL, NULL, sn_kserve_error, NULL, NULL},
    {"GET", "/v2/health/ready", H_KS_READY, OPEN | PROBE, NULL, NULL, sn_kserve_error, NULL, NULL},
    {"GET", "/v2/models/{}", H_KS_MODEL, 0, NULL, NULL, sn_kserve_error, NULL, NULL},
    /* A model's readiness names a model: behind the key, so names cannot be probed. */
    {"GET", "/v2/models/{}/ready", H_KS_MODEL_READY, 0, NULL, NULL, sn_kserve_error, NULL, NULL},
    {"POST", "/v2/models/{}/infer", H_COMPUTE, 0, sn_kserve_parse_infer, NULL, sn_kserve_error,
     NULL, sn_kserve_write_infer_body},
    {"GET", "/ping", H_PING, OPEN | PROBE, NULL, NULL, sn_torchserve_error, NULL, NULL},
    {"POST", "/predictions/{}", H_COMPUTE, 0, sn_torchserve_parse_predictions,
     sn_torchserve_write_predictions, sn_torchserve_error, NULL, NULL},
};
#define N_ROUTES (sizeof ROUTES / sizeof ROUTES[0])

/* Unknown paths under /v1/ answer in OpenAI's error shape. */
static const route_t OPENAI_ERRORS = {"",   "",  H_COMPUTE, 0, NULL, NULL, sn_openai_error,
                                      NULL, NULL};

/* Matches `url` against `pattern`; the "{}" segment goes to model[]. */
static int match(const char *pattern, const char *url, char *model, size_t cap) {
  const char *hole = strstr(pattern, "{}");
  if (!hole) return !strcmp(pattern, url);
  size_t head = (size_t)(hole - pattern);
  if (strncmp(pattern, url, head)) return 0;
  const char *seg = url + head, *end = strchr(seg, '/');
  size_t len = end ? (size_t)(end - seg) : strlen(seg);
  if (!len || len >= cap || strcmp(hole + 2, seg + len)) return 0;
  memcpy(model, seg, len);
  model[len] = '\0';
  return 1;
}

/* The route for (method, url): *known_path says whether the path exists
 * with another method (405 rather than 404). */
static const route_t *find_route(const char *method, const char *url, char *model, size_t cap,
                                 const route_t **known_path) {
  *known_path = NULL;
  for (size_t i = 0; i < N_ROUTES; i++) {
    if (!match(ROUTES[i].path, url, model, cap)) continue;
    if (!strcmp(ROUTES[i].method, method)) return &ROUTES[i];
    *known_path = &ROUTES[i];
  }
  return NULL;
}

/* ---------------------------------------------------------------- connections */

/* One request's state across libmicrohttpd's calls. */
typedef struct conn {
  sn_server_t *s;
  struct MHD_Connection *c;
  char *body;
  size_t size, cap;
  int too_big;
  const route_t *route;
  char route_model[256];
  int waiting; /* suspended until the batcher finishes */
  int refused; /* sn_engine_submit's -1 (full: 429) or -2 (too big: 413), answered when resumed */
  sn_request_t req;
  sn_work_t work;
  double t0, deadline;
  sn_request_record_t record;
  int admitted; /* counted in in_flight */
  int probe;    /* arrived on the probe listener */
} conn_t;

/* The guard's handle of a connection (set when it started), or NULL. */
static sn_guarded_t *guarded(struct MHD_Connection *c) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? ci->socket_context : NULL;
}

/* The connection's deadline `seconds` from now (0: none). */
static void set_deadline(const sn_server_t *s, struct MHD_Connection *c, int seconds) {
  sn_guard_set(s->guard, guarded(c), seconds > 0 ? sn_batcher_now() + seconds : 0);
}

static void add_cors(const sn_server_t *s, struct MHD_Response *r) {
  if (!s->opts.cors_origin) return;
  MHD_add_response_header(r, "Access-Control-Allow-Origin", s->opts.cors_origin);
  MHD_add_response_header(r, "Vary", "Origin");
}

static void add_headers(const conn_t *k, struct MHD_Response *r, const char *type,
                        const char *const *headers) {
  MHD_add_response_header(r, "Content-Type", type ? type : "application/json");
  for (size_t i = 0; headers && headers[i]; i += 2)
    MHD_add_response_header(r, headers[i], headers[i + 1]);
  add_cors(k->s, r);
}

/* Queues response r (released here); the client has --io-timeout to read it. */
static enum MHD_Result queue(conn_t *k, unsigned status, struct MHD_Response *r) {
  set_deadline(k->s, k->c, k->s->opts.io_timeout_s);
  enum MHD_Result ok = MHD_queue_response(k->c, status, r);
  MHD_destroy_response(r);
  return ok;
}

/* Queues a response with the `size` bytes of `body` (owned; NULL: out of
 * memory). */
static enum MHD_Result send_bytes(conn_t *k, unsigned status, char *body, size_t size,
                                  const char *type, const char *const *headers) {
  if (!body) {
    status = 500;
    body = strdup("{\"error\":\"out of memory\",\"error_type\":\"Backend\"}");
    if (!body) return MHD_NO;
    size = strlen(body);
    type = NULL;
  }
  k->record.status = status;
  struct MHD_Response *r = MHD_create_response_from_buffer(size, body, MHD_RESPMEM_MUST_FREE);
  if (!r) {
    free(body);
    return MHD_NO;
  }
  add_headers(k, r, type, headers);
  return queue(k, status, r);
}

/* Queues a response with the text `body` (owned; NULL: out of memory). */
static enum MHD_Result send_body(conn_t *k, unsigned status, char *body, const char *type,
                                 const char *const *headers) {
  return send_bytes(k, status, body, body ? strlen(body) : 0, type, headers);
}

/* An error in the route's API shape (TEI's when no route matched). */
static enum MHD_Result send_error(conn_t *k, const sn_parse_error_t *e) {
  sn_error_fn shape = k->route ? k->route->error : sn_tei_error;
  k->record.kind = e->kind;
  unsigned status = e->status == 499 ? 400 : e->status;
  /* TEI alone answers 422, and TEI's OpenAI route for input that cannot be
   * tokenized (token ids outside the vocabulary among them). */
  int tokenizer = e->kind && !strcmp(e->kind, "Tokenizer");
  if (status == 422 && shape != sn_tei_error && !(shape == sn_openai_error && tokenizer))
    status = 400;
  const char *const retry[] = {"Retry-After", "1", NULL};
  const char *const auth[] = {"WWW-Authenticate", "Bearer", NULL};
  return send_body(k, status, shape(e), NULL,
                   status == 429 || status == 503 ? retry
                   : status == 401                ? auth
                                                  : NULL);
}

static enum MHD_Result fail(conn_t *k, unsigned status, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static enum MHD_Result fail(conn_t *k, unsigned status, const char *kind, const char *fmt, ...) {
  sn_parse_error_t e;
  sn_request_fail(&e, status, NULL, "%s", "");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e.message, sizeof e.message, fmt, ap);
  va_end(ap);
  if (kind) e.kind = kind;
  return send_error(k, &e);
}

static size_t model_count(const sn_server_t *s) {
  return atomic_load(&s->n_models);
}

static int is_ready(const sn_server_t *s) {
  return atomic_load(&s->ready) && !atomic_load(&s->stopping);
}

/* Whether the peer closed the connection (EOF or reset), without reading. */
static int client_left(void *ctx) {
  conn_t *k = ctx;
  if (atomic_load(&k->s->abandon)) return 1;
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(k->c, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (!ci) return 0;
  char byte;
  ssize_t n = recv(ci->connect_fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static void job_finished(sn_job_t *job, void *ctx) {
  (void)job;
  conn_t *k = ctx;
  MHD_resume_connection(k->c);
}

/* An answer written as the client reads it (a route's sn_stream_fn). It owns
 * the request and the work moved out of the connection, so the outputs and
 * their share of --max-response-bytes are held until libmicrohttpd releases
 * the response: after the last byte, or when the connection drops. */
typedef struct body_stream {
  const sn_server_t *s;
  sn_guarded_t *guarded; /* the connection's (valid while libmicrohttpd reads) */
  sn_request_t req;
  sn_work_t work;
  sn_stream_fn next;
  size_t pos[2];
  sn_out_t piece; /* the piece being sent */
  size_t sent;    /* bytes of it handed to libmicrohttpd */
  int more;       /* pieces remain after this one */
} body_stream_t;

static ssize_t read_stream(void *cls, uint64_t at, char *buf, size_t max) {
  body_stream_t *b = cls;
  /* libmicrohttpd asks for a block when it has sent the one before: a reader
   * that keeps taking blocks keeps its connection; one that takes less than
   * a block per --io-timeout (a trickle) is dropped, with what it holds. */
  if (at > 0) sn_guard_set(b->s->guard, b->guarded, sn_batcher_now() + b->s->opts.io_timeout_s);
  while (b->sent == b->piece.n) {
    if (!b->more) return MHD_CONTENT_READER_END_OF_STREAM;
    b->piece.n = b->sent = 0;
    b->more = b->next(&b->req, b->work.model, &b->work.res, b->pos, &b->piece);
    if (b->piece.oom) return MHD_CONTENT_READER_END_WITH_ERROR;
  }
  size_t n = b->piece.n - b->sent < max ? b->piece.n - b->sent : max;
  memcpy(buf, b->piece.p + b->sent, n);
  b->sent += n;
  return (ssize_t)n;
}

static void free_stream(void *cls) {
  body_stream_t *b = cls;
  sn_work_free(&b->work);
  sn_request_free(&b->req);
  free(b->piece.p);
  free(b);
}

/* Answers a computed request, with the timing headers TEI sends (ms). */
static enum MHD_Result respond(conn_t *k) {
  const sn_result_t *res = &k->work.res;
  char total[32], tok[32], queue_ms[32], infer[32], ntok[32];
  snprintf(total, sizeof total, "%.0f", (sn_batcher_now() - k->t0) * 1e3);
  snprintf(tok, sizeof tok, "%.0f", res->tokenize_seconds * 1e3);
  snprintf(queue_ms, sizeof queue_ms, "%.0f", res->queue_seconds * 1e3);
  snprintf(infer, sizeof infer, "%.0f", res->compute_seconds * 1e3);
  snprintf(ntok, sizeof ntok, "%zu", res->tokens);
  char json_size[32];
  const char *headers[] = {"x-compute-time",
                           total,
                           "x-total-time",
                           total,
                           "x-tokenization-time",
                           tok,
                           "x-queue-time",
                           queue_ms,
                           "x-inference-time",
                           infer,
                           "x-compute-tokens",
                           ntok,
                           NULL, /* KServe's binary data: the JSON's size */
                           NULL,
                           NULL};
  k->record.tokenize_s = res->tokenize_seconds;
  k->record.queue_s = res->queue_seconds;
  k->record.infer_s = res->compute_seconds;
  k->record.tokens = res->tokens;
  k->record.inputs = res->count;
  if (k->route->write_body) {
    sn_body_t b;
    if (k->route->write_body(&k->req, k->work.model, res, &b))
      return send_body(k, 500, NULL, NULL, NULL);
    if (b.json_size) {
      snprintf(json_size, sizeof json_size, "%zu", b.json_size);
      headers[12] = "Inference-Header-Content-Length";
      headers[13] = json_size;
    }
    return send_bytes(k, 200, b.data, b.size, b.json_size ? "application/octet-stream" : NULL,
                      headers);
  }
  if (!k->route->stream)
    return send_body(k, 200, k->route->write(&k->req, k->work.model, res), NULL, headers);
  body_stream_t *b = calloc(1, sizeof *b);
  struct MHD_Response *r = b ? MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024,
                                                                 read_stream, b, free_stream)
                             : NULL;
  if (!r) {
    free(b);
    return send_body(k, 500, NULL, NULL, NULL);
  }
  b->s = k->s;
  b->guarded = guarded(k->c);
  b->req = k->req;
  b->work = k->work;
  b->work.req = &b->req;
  b->next = k->route->stream;
  b->more = 1;
  memset(&k->req, 0, sizeof k->req); /* the stream owns them now */
  memset(&k->work, 0, sizeof k->work);
  k->record.status = 200;
  add_headers(k, r, NULL, headers);
  return queue(k, 200, r);
}

/* The route a BY_KIND route stands for: /predict's or /rerank's when the
 * default model (the first) is a classifier or a re-ranker; r itself for an
 * encoder. */
static const route_t *by_kind(const sn_server_t *s, const route_t *r) {
  if (!(r->flags & BY_KIND) || !model_count(s) || s->models[0].info.num_labels <= 0) return r;
  const char *path = s->models[0].info.num_labels == 1 ? "/rerank" : "/predict";
  for (size_t i = 0; i < N_ROUTES; i++)
    if (!strcmp(ROUTES[i].method, "POST") && !strcmp(ROUTES[i].path, path)) return &ROUTES[i];
  return r;
}

/* GET /docs and /docs/{file}: Swagger UI from the files a Debian package
 * installed (docs.h), or 404 saying what to install. */
static enum MHD_Result answer_docs(conn_t *k) {
  char dir[4096];
  if (sn_docs_locate(dir, sizeof dir)) return fail(k, 404, NULL, "%s", sn_docs_missing);
  if (k->route->handler == H_DOCS)
    return send_body(k, 200, strdup(sn_docs_page), "text/html; charset=utf-8", NULL);
  int fd;
  size_t size;
  const char *type;
  if (sn_docs_open(dir, k->route_model, &fd, &size, &type))
    return fail(k, 404, NULL,
                "no file /docs/%.128s: Swagger UI's page loads only its bundle and "
                "stylesheet",
                k->route_model);
  struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)size, fd);
  if (!r) {
    close(fd);
    return send_body(k, 500, NULL, NULL, NULL);
  }
  k->record.status = 200;
  const char *const cache[] = {"Cache-Control", "public, max-age=86400", NULL};
  add_headers(k, r, type, cache);
  return queue(k, 200, r);
}

/* Parses, resolves the model, tokenizes and queues (suspending the
 * connection), or answers at once for work without compute. */
static enum MHD_Result start_compute(conn_t *k) {
  sn_server_t *s = k->s;
  const char *ct = MHD_lookup_connection_value(k->c, MHD_HEADER_KIND, "Content-Type");
  sn_parse_input_t in = {
      k->body ? k->body : "",
      k->size,
      ct,
      k->route_model[0] ? k->route_model : NULL,
      {(size_t)s->opts.max_client_batch, (size_t)s->opts.max_input_chars},
      MHD_lookup_connection_value(k->c, MHD_HEADER_KIND, "Inference-Header-Content-Length")};
  sn_parse_error_t e;
  k->route = by_kind(s, k->route);
  if (k->route->parse(&in, &k->req, &e)) return send_error(k, &e);
  const sn_served_t *m = sn_engine_pick(s->models, model_count(s), k->req.model, k->req.op);
  if (!m) {
    sn_request_fail(&e, 404, "model", "model \"%.128s\" is not served here", k->req.model);
    return send_error(k, &e);
  }
  if (k->req.op == SN_OP_BY_MODEL)
    k->req.op = m->info.num_labels > 0 ? SN_OP_CLASSIFY : SN_OP_EMBED;
  if (k->route->parse == sn_kserve_parse_infer && sn_kserve_check_outputs(&k->req, m, &e))
    return send_error(k, &e);
  int rc = sn_engine_prepare(m, &k->req, &s->answers, &k->work, &e);
  if (rc < 0) return send_error(k, &e);
  if (rc > 0) return respond(k);
  if (k->deadline > 0 && sn_batcher_now() > k->deadline) {
    sn_request_fail(&e, 504, NULL,
                    "the request's deadline passed before it was queued "
                    "(--request-timeout or x-request-timeout)");
    return send_error(k, &e);
  }
  k->record.computed = 1;
  /* Suspend first: the batcher may finish (and resume) before we return.
   * Responses are queued only from a call on a resumed connection. While
   * it computes, the request's own deadline applies, not the guard's. */
  set_deadline(s, k->c, 0);
  k->waiting = 1;
  MHD_suspend_connection(k->c);
  int queued = sn_engine_submit(&k->work, k->deadline, client_left, job_finished, k);
  if (queued != 0) {
    k->refused = queued;
    MHD_resume_connection(k->c);
  }
  return MHD_YES;
}

static enum MHD_Result finish_compute(conn_t *k) {
  k->waiting = 0;
  if (k->refused) {
    k->record.computed = 0;
    sn_batcher_stats_t st;
    sn_batcher_get_stats(k->work.model->batcher, &st);
    if (k->refused == -2)
      return fail(k, 413, "Validation",
                  "the request has %zu tokens; the queue holds at most %lld "
                  "(--max-queue-tokens): send it in smaller requests",
                  k->work.res.tokens, (long long)st.max_queue_tokens);
    return fail(k, 429, "Overloaded",
                "Model is overloaded: %lld of %lld queue tokens are taken (--max-queue-tokens)",
                (long long)st.queued_tokens, (long long)st.max_queue_tokens);
  }
  sn_parse_error_t e;
  if (sn_engine_finish(&k->work, &e)) {
    if (e.status == 499 && atomic_load(&k->s->abandon)) /* our drain dropped it, not the client */
      sn_request_fail(&e, 503, NULL,
                      "the server is shutting down and dropped the request before computing "
                      "it (still queued when --drain-timeout passed): retry");
    return send_error(k, &e);
  }
  return respond(k);
}

/* Routes answered without compute. */
static enum MHD_Result answer(conn_t *k) {
  sn_server_t *s = k->s;
  size_t n = model_count(s);
  const sn_served_t *m = NULL;
  if (k->route->handler == H_DOCS || k->route->handler == H_DOCS_FILE) return answer_docs(k);
  if (k->route_model[0]) {
    m = sn_engine_pick(s->models, n, k->route_model, SN_OP_EMBED);
    if (!m) return fail(k, 404, NULL, "model \"%.128s\" is not served here", k->route_model);
  }
  switch (k->route->handler) {
    case H_HEALTH: return send_body(k, 200, strdup("{}"), NULL, NULL);
    case H_PING: return send_body(k, 200, strdup("{\"status\":\"Healthy\"}"), NULL, NULL);
    case H_KS_LIVE: return send_body(k, 200, strdup("{\"live\":true}"), NULL, NULL);
    case H_KS_READY: return send_body(k, 200, strdup("{\"ready\":true}"), NULL, NULL);
    case H_KS_SERVER: return send_body(k, 200, sn_kserve_write_server(), NULL, NULL);
    case H_KS_MODEL: return send_body(k, 200, sn_kserve_write_model(m), NULL, NULL);
    case H_KS_MODEL_READY: {
      sn_out_t o = {0};
      sn_out_put(&o, "{\"name\":");
      sn_out_string(&o, m->name);
      sn_out_put(&o, ",\"ready\":true}");
      return send_body(k, 200, sn_out_take(&o), NULL, NULL);
    }
    case H_MODELS: return send_body(k, 200, sn_openai_write_models(s->models, n), NULL, NULL);
    case H_OPENAPI: return send_body(k, 200, strdup(sn_openapi_json), NULL, NULL);
    case H_INFO: {
      const char *name = MHD_lookup_connection_value(k->c, MHD_GET_ARGUMENT_KIND, "model");
      m = sn_engine_pick(s->models, n, name, SN_OP_EMBED);
      if (!m) return fail(k, 404, NULL, "model \"%.128s\" is not served here", name);
      sn_batcher_stats_t st;
      sn_batcher_get_stats(m->batcher, &st);
      sn_info_limits_t lim = {st.max_batch_tokens, s->opts.max_client_batch, s->opts.http_threads};
      return send_body(k, 200, sn_tei_write_info(m, &lim), NULL, NULL);
    }
    case H_METRICS: {
      sn_server_gauges_t g = {is_ready(s), atomic_load(&s->answers.held), s->answers.limit,
                              sn_guard_closed_count(s->guard)};
      return send_body(k, 200, sn_metrics_write(&s->metrics, s->models, n, &g),
                       "text/plain; version=0.0.4", NULL);
    }
    case H_DOCS:
    case H_DOCS_FILE:
    case H_COMPUTE: break;
  }
  return fail(k, 500, NULL, "internal: no handler");
}

/* Constant-time comparison of the Bearer token with the key. */
static int authorized(const sn_server_t *s, struct MHD_Connection *c) {
  if (!s->opts.api_key) return 1;
  const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
  if (!h || strncasecmp(h, "Bearer ", 7)) return 0;
  const char *got = h + 7, *want = s->opts.api_key;
  size_t a = strlen(got), b = strlen(want);
  unsigned diff = (unsigned)(a ^ b);
  for (size_t i = 0; i < b; i++)
    diff |= (unsigned char)want[i] ^ (unsigned char)(i < a ? got[i] : 0);
  return diff == 0;
}

/* The deadline from --request-timeout, or the x-request-timeout header (ms). */
static double deadline_of(const sn_server_t *s, struct MHD_Connection *c, double t0) {
  double ms = s->opts.request_timeout_ms > 0 ? s->opts.request_timeout_ms : 0;
  const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-request-timeout");
  if (h) {
    char *end;
    double v = strtod(h, &end);
    if (end != h && *end == '\0' && v > 0 && v < 1e9) ms = v;
  }
  return ms > 0 ? t0 + ms / 1e3 : 0;
}

static enum MHD_Result handle(sn_server_t *s, int probe, struct MHD_Connection *c, const char *url,
                              const char *method, const char *upload, size_t *upload_size,
                              void **state) {
  conn_t *k = *state;
  if (!k) { /* first call: headers only */
    k = calloc(1, sizeof *k);
    if (!k) return MHD_NO;
    k->s = s;
    k->c = c;
    k->probe = probe;
    k->t0 = sn_batcher_now();
    k->deadline = deadline_of(s, c, k->t0);
    *state = k;
    set_deadline(s, c, s->opts.io_timeout_s); /* the headers are in: now the body */
    return MHD_YES;
  }
  if (k->waiting) return finish_compute(k); /* resumed by the batcher */
  if (*upload_size) {                       /* gather the body, within the limit */
    if (!k->too_big && k->size + *upload_size > (size_t)s->opts.payload_limit) k->too_big = 1;
    if (!k->too_big) {
      if (k->size + *upload_size + 1 > k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 4096;
        while (cap < k->size + *upload_size + 1) cap *= 2;
        char *p = realloc(k->body, cap);
        if (!p) return MHD_NO;
        k->body = p;
        k->cap = cap;
      }
      memcpy(k->body + k->size, upload, *upload_size);
      k->size += *upload_size;
      k->body[k->size] = '\0';
    }
    *upload_size = 0;
    return MHD_YES;
  }
  if (k->record.status) return MHD_YES;                    /* answered already */
  if (!strcmp(method, "OPTIONS") && s->opts.cors_origin) { /* a CORS preflight */
    const char *const h[] = {"Access-Control-Allow-Methods",
                             "GET, POST, OPTIONS",
                             "Access-Control-Allow-Headers",
                             "Authorization, Content-Type",
                             "Access-Control-Max-Age",
                             "600",
                             NULL};
    return send_body(k, 204, strdup(""), "text/plain", h);
  }
  const route_t *other;
  k->route = find_route(method, url, k->route_model, sizeof k->route_model, &other);
  if (k->probe && (!k->route || !(k->route->flags & PROBE))) {
    k->route = NULL;
    return fail(k, 404, NULL,
                "the probe port serves GET /, /health, /metrics, /ping and "
                "/v2/health/{live,ready} only; %s %s is on the main port",
                method, url);
  }
  if (!k->route) {
    k->route = other;
    if (other) return fail(k, 405, NULL, "%s is not allowed on %s", method, url);
    k->route = !strncmp(url, "/v1/", 4) ? &OPENAI_ERRORS : NULL;
    return fail(k, 404, NULL, "no route %s %s", method, url);
  }
  if (!(k->route->flags & OPEN) && !authorized(s, c))
    return fail(k, 401, "Validation", "a valid API key is needed (Authorization: Bearer KEY)");
  if (k->route->handler == H_METRICS || k->route->handler == H_KS_LIVE) return answer(k);
  if (!is_ready(s)) {
    const char *why = atomic_load(&s->stopping) ? "shutting down" : "the models are loading";
    if (k->route->handler == H_PING)
      return send_body(k, 503, strdup("{\"status\":\"Unhealthy\"}"), NULL, NULL);
    return fail(k, 503, "Unhealthy", "%s", why);
  }
  if (k->too_big)
    return fail(k, 413, "Validation",
                "the request body is larger than the %lld-byte limit (--payload-limit)",
                (long long)s->opts.payload_limit);
  if (k->route->handler != H_COMPUTE) return answer(k);
  /* Count first, then look at `stopping` (the drain does the reverse): either
   * the drain waits for this request or the request sees the drain. */
  atomic_fetch_add(&s->in_flight, 1);
  k->admitted = 1;
  if (atomic_load(&s->stopping)) return fail(k, 503, "Unhealthy", "shutting down");
  return start_compute(k);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **state) {
  (void)version;
  return handle(cls, 0, c, url, method, upload, upload_size, state);
}

static enum MHD_Result on_probe_request(void *cls, struct MHD_Connection *c, const char *url,
                                        const char *method, const char *version, const char *upload,
                                        size_t *upload_size, void **state) {
  (void)version;
  return handle(cls, 1, c, url, method, upload, upload_size, state);
}

/* A connection opened: its request line and headers are due within
 * --header-timeout; closed: the guard forgets it. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
  sn_server_t *s = cls;
  if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
    sn_guard_remove(s->guard, *socket_context);
    *socket_context = NULL;
    return;
  }
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
  *socket_context =
      ci ? sn_guard_add(s->guard, ci->connect_fd, sn_batcher_now() + s->opts.header_timeout_s)
         : NULL;
}

/* A request line arrived (on a kept-alive connection, the next request has
 * begun): the rest of its headers are due within --header-timeout. */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *c) {
  (void)uri;
  sn_server_t *s = cls;
  sn_guard_tighten(s->guard, guarded(c), sn_batcher_now() + s->opts.header_timeout_s);
  return NULL;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **state,
                         enum MHD_RequestTerminationCode code) {
  (void)code;
  sn_server_t *s = cls;
  conn_t *k = *state;
  /* Kept alive, the connection may wait this long for its next request. */
  set_deadline(s, c, s->opts.idle_timeout_s);
  if (!k) return;
  if (k->waiting) { /* cannot happen: a suspended connection is not closed */
    sn_batcher_wait(k->work.model->batcher, &k->work.job);
  }
  if (k->record.status && k->route && k->route->handler == H_COMPUTE && k->route->parse) {
    k->record.seconds = sn_batcher_now() - k->t0;
    sn_metrics_record(&s->metrics, &k->record);
  }
  sn_work_free(&k->work);
  sn_request_free(&k->req);
  free(k->body);
  if (k->admitted) atomic_fetch_sub(&s->in_flight, 1);
  free(k);
  *state = NULL;
}

/* ---------------------------------------------------------------- lifecycle */

/* Stops the listeners and frees what a started server holds but its models. */
static void release(sn_server_t *s) {
  if (s->probe_daemon) MHD_stop_daemon(s->probe_daemon);
  if (s->daemon) MHD_stop_daemon(s->daemon);
  sn_guard_destroy(s->guard); /* after the daemons: they have closed every connection */
  pthread_mutex_destroy(&s->compute_lock);
  free(s);
}

sinter_status_t sn_server_start(const sn_server_options_t *options, sn_server_t **out,
                                sinter_error_t *err) {
  *out = NULL;
  sn_server_t *s = calloc(1, sizeof *s);
  if (!s) return err->status = SINTER_ERR_OUT_OF_MEMORY;
  s->opts = *options;
  if (!s->opts.host) s->opts.host = "127.0.0.1";
  if (s->opts.threads <= 0) s->opts.threads = sinter_cpu_count();
  if (s->opts.http_threads <= 0) s->opts.http_threads = s->opts.threads;
  if (s->opts.payload_limit <= 0) s->opts.payload_limit = 2 << 20;
  if (s->opts.max_client_batch <= 0) s->opts.max_client_batch = 2048;
  if (s->opts.max_input_chars < 0) s->opts.max_input_chars = 0;
  if (s->opts.drain_timeout_s <= 0) s->opts.drain_timeout_s = 30;
  if (s->opts.max_response_bytes <= 0) s->opts.max_response_bytes = (int64_t)512 << 20;
  if (s->opts.header_timeout_s <= 0) s->opts.header_timeout_s = 10;
  if (s->opts.io_timeout_s <= 0) s->opts.io_timeout_s = 60;
  if (s->opts.idle_timeout_s <= 0) s->opts.idle_timeout_s = 60;
  if (s->opts.max_connections <= 0) s->opts.max_connections = 4096;
  if (s->opts.max_connections_per_ip == 0) s->opts.max_connections_per_ip = 256;
  s->answers.limit = s->opts.max_response_bytes;
  if (sn_guard_create(&s->guard, err)) {
    free(s);
    return err->status;
  }
  pthread_mutex_init(&s->compute_lock, NULL);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)s->opts.port);
  if (inet_pton(AF_INET, s->opts.host, &addr.sin_addr) != 1) {
    err->status = SINTER_ERR_INVALID_ARGUMENT;
    snprintf(err->message, sizeof err->message, "--host %s is not an IPv4 address", s->opts.host);
    release(s);
    return err->status;
  }
  /* The limits one client meets (DESIGN.md §2.1): connections per address
   * and in all, and the guard's deadlines (headers, body, response, idle);
   * libmicrohttpd's idle timeout stays as a backstop. */
  unsigned per_ip =
      s->opts.max_connections_per_ip > 0 ? (unsigned)s->opts.max_connections_per_ip : 0;
  s->daemon = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL,
      on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE,
      (unsigned)s->opts.http_threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
      MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_URI_LOG_CALLBACK, on_request_line,
      s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->opts.idle_timeout_s,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->opts.max_connections,
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip, MHD_OPTION_END);
  if (!s->daemon) {
    err->status = SINTER_ERR_IO;
    snprintf(err->message, sizeof err->message, "cannot listen on %s:%d (in use?)", s->opts.host,
             s->opts.port);
    release(s);
    return err->status;
  }
  if (s->opts.probe_port > 0) {
    /* Health, readiness and metrics on a port of their own, with one thread
     * and connections of their own: they answer while the main port is
     * saturated. */
    addr.sin_port = htons((uint16_t)s->opts.probe_port);
    s->probe_daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, on_probe_request, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        s, MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_URI_LOG_CALLBACK,
        on_request_line, s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->opts.idle_timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_END);
    if (!s->probe_daemon) {
      err->status = SINTER_ERR_IO;
      snprintf(err->message, sizeof err->message, "cannot listen on %s:%d (--probe-port; in use?)",
               s->opts.host, s->opts.probe_port);
      release(s);
      return err->status;
    }
  }
  *out = s;
  return SINTER_OK;
}

static int daemon_port(struct MHD_Daemon *d) {
  const union MHD_DaemonInfo *i = d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
  return i ? (int)i->port : 0;
}

int sn_server_port(const sn_server_t *s) {
  int port = daemon_port(s->daemon);
  return port ? port : s->opts.port;
}

int sn_server_probe_port(const sn_server_t *s) {
  return daemon_port(s->probe_daemon);
}

sinter_status_t sn_server_add_model(sn_server_t *s, const char *name,
                                    const sinter_program_t *program, sinter_error_t *err) {
  size_t n = model_count(s);
  for (size_t i = 0; i < n; i++)
    if (!strcmp(s->models[i].name, name)) {
      err->status = SINTER_ERR_INVALID_ARGUMENT;
      snprintf(err->message, sizeof err->message, "two models are named \"%s\"", name);
      return err->status;
    }
  if (n == SN_SERVER_MAX_MODELS) {
    err->status = SINTER_ERR_INVALID_ARGUMENT;
    snprintf(err->message, sizeof err->message, "at most %d models per server",
             SN_SERVER_MAX_MODELS);
    return err->status;
  }
  sn_served_t *m = &s->models[n];
  memset(m, 0, sizeof *m);
  m->name = strdup(name);
  if (!m->name) return err->status = SINTER_ERR_OUT_OF_MEMORY;
  m->program = program;
  m->model = sinter_program_model(program);
  m->default_prompt_name = s->opts.default_prompt_name;
  if (sinter_model_rerank_template(m->model)) {
    m->rerank_template = s->opts.rerank_template;
    m->rerank_instruction = s->opts.rerank_instruction;
  }
  if (m->default_prompt_name && !sinter_model_prompt(m->model, m->default_prompt_name)) {
    err->status = SINTER_ERR_INVALID_ARGUMENT;
    snprintf(err->message, sizeof err->message,
             "--default-prompt-name \"%.64s\": model \"%s\" defines no prompt of that name (%zu "
             "prompts)",
             m->default_prompt_name, name, sinter_model_prompt_count(m->model));
    free((char *)m->name);
    return err->status;
  }
  sinter_model_get_info(m->model, &m->info);
  sinter_program_get_info(program, &m->pinfo);
  m->max_input_tokens = m->info.max_seq_length;
  if (m->pinfo.max_seq > 0 && m->pinfo.max_seq < m->max_input_tokens)
    m->max_input_tokens = m->pinfo.max_seq;
  int64_t budget = s->opts.max_batch_tokens;
  if (budget <= 0 || budget > m->pinfo.max_tokens) budget = m->pinfo.max_tokens;
  if (sn_batcher_create(program, s->opts.threads, budget, s->opts.max_queue_tokens,
                        &s->compute_lock, &m->batcher, err)) {
    free((char *)m->name);
    return err->status;
  }
  /* Warm up: the first run pays page faults and pool start-up, not a client. */
  int32_t ids[3] = {0, 0, 0};
  const int32_t *rows[1] = {ids};
  size_t len[1] = {3};
  float *e = malloc((size_t)m->info.embedding_dim * sizeof *e);
  sn_job_t job;
  memset(&job, 0, sizeof job);
  job.count = 1;
  job.ids = rows;
  job.lengths = len;
  job.embeddings = e;
  job.normalize = 1;
  if (e && sn_batcher_submit(m->batcher, &job) == 0) sn_batcher_wait(m->batcher, &job);
  free(e);
  atomic_store(&s->n_models, n + 1);
  return SINTER_OK;
}

void sn_server_set_ready(sn_server_t *s) {
  atomic_store(&s->ready, 1);
}

static void wait_in_flight(sn_server_t *s, int ms) {
  struct timespec pause = {0, 10 * 1000 * 1000};
  for (int waited = 0; atomic_load(&s->in_flight) > 0 && waited < ms; waited += 10)
    nanosleep(&pause, NULL);
}

void sn_server_stop(sn_server_t *s) {
  if (!s) return;
  atomic_store(&s->stopping, 1);
  /* Drain: it keeps listening, so probes and new requests get 503 (a load
   * balancer sees readiness turn); the requests in flight get their
   * responses within the drain timeout; then what is still queued is dropped
   * (its clients get an error), and the daemon and the batchers stop. */
  wait_in_flight(s, s->opts.drain_timeout_s * 1000);
  atomic_store(&s->abandon, 1);
  wait_in_flight(s, 5000);
  if (s->probe_daemon) MHD_stop_daemon(s->probe_daemon);
  MHD_stop_daemon(s->daemon);
  s->probe_daemon = s->daemon = NULL;
  size_t n = model_count(s);
  for (size_t i = 0; i < n; i++) {
    sn_batcher_destroy(s->models[i].batcher);
    free((char *)s->models[i].name);
  }
  release(s);
}
