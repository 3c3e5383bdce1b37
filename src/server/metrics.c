/* metrics.c — Prometheus metrics (see metrics.h). */
#include "server/metrics.h"

#include <string.h>
#include <strings.h>

#include "server/out.h"

/* Histogram buckets in seconds, as TEI's dashboards read them. */
static const double BUCKETS[SN_METRICS_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                   0.25,  0.5,    1,     2.5,  5,     10};
static const char *const KINDS[SN_ERR_KINDS] = {"validation", "tokenizer", "overloaded", "backend",
                                                "unhealthy",  "empty",     "cancelled"};

/* unit: 1 for seconds (summed in microseconds), or the bucket scale for counts. */
static void observe(sn_histogram_t *h, double v, double unit) {
  size_t k = 0;
  while (k < SN_METRICS_BUCKETS && v > BUCKETS[k] * unit) k++;
  atomic_fetch_add(&h->bucket[k], 1);
  atomic_fetch_add(&h->count, 1);
  atomic_fetch_add(&h->sum, (unsigned long long)(v * (unit == 1 ? 1e6 : 1)));
}

static int kind_index(const char *kind, unsigned status) {
  if (status == 499) return 6;
  for (int k = 0; kind && k < SN_ERR_KINDS; k++)
    if (!strncasecmp(kind, KINDS[k], strlen(KINDS[k]))) return k;
  return 0;
}

void sn_metrics_record(sn_metrics_t *m, const sn_request_record_t *r) {
  atomic_fetch_add(&m->requests, 1);
  if (r->status >= 200 && r->status < 300) {
    atomic_fetch_add(&m->success, 1);
    observe(&m->duration, r->seconds, 1);
    if (r->computed) {
      observe(&m->tokenization, r->tokenize_s, 1);
      observe(&m->queue, r->queue_s, 1);
      observe(&m->inference, r->infer_s, 1);
      observe(&m->input_length, (double)r->tokens, 1000);
      atomic_store(&m->batch_inputs, r->inputs);
      atomic_store(&m->batch_tokens, r->tokens);
    }
  } else {
    atomic_fetch_add(&m->failure[kind_index(r->kind, r->status)], 1);
  }
}

static void put_histogram(sn_out_t *o, const char *name, const char *help, sn_histogram_t *h,
                          double unit) {
  sn_out_put(o, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
  unsigned long long cum = 0;
  for (size_t k = 0; k <= SN_METRICS_BUCKETS; k++) {
    cum += atomic_load(&h->bucket[k]);
    if (k < SN_METRICS_BUCKETS)
      sn_out_put(o, "%s_bucket{le=\"%g\"} %llu\n", name, BUCKETS[k] * unit, cum);
    else
      sn_out_put(o, "%s_bucket{le=\"+Inf\"} %llu\n", name, cum);
  }
  double sum = (double)atomic_load(&h->sum) / (unit == 1 ? 1e6 : 1);
  sn_out_put(o, "%s_sum %.6f\n%s_count %llu\n", name, sum, name, atomic_load(&h->count));
}

/* A label value: quotes, backslashes and newlines escaped as Prometheus asks. */
static void put_label(sn_out_t *o, const char *v) {
  sn_out_put(o, "{model=\"");
  for (const char *p = v; *p; p++) {
    if (*p == '"' || *p == '\\')
      sn_out_put(o, "\\%c", *p);
    else if (*p == '\n')
      sn_out_put(o, "\\n");
    else
      sn_out_put(o, "%c", *p);
  }
  sn_out_put(o, "\"}");
}

typedef struct per_model {
  const char *name, *help, *type;
  int kind; /* which field */
} per_model_t;

char *sn_metrics_write(sn_metrics_t *m, const sn_served_t *models, size_t count,
                       const sn_server_gauges_t *server) {
  sn_out_t o = {0};
  sn_out_put(&o, "# HELP te_request_count Requests received\n# TYPE te_request_count counter\n");
  sn_out_put(&o, "te_request_count %llu\n", atomic_load(&m->requests));
  sn_out_put(&o,
             "# HELP te_request_success Requests answered\n# TYPE te_request_success counter\n");
  sn_out_put(&o, "te_request_success %llu\n", atomic_load(&m->success));
  sn_out_put(&o,
             "# HELP te_request_failure Requests refused, by error\n"
             "# TYPE te_request_failure counter\n");
  for (int k = 0; k < SN_ERR_KINDS; k++)
    sn_out_put(&o, "te_request_failure{err=\"%s\"} %llu\n", KINDS[k], atomic_load(&m->failure[k]));
  sn_batcher_stats_t st[count ? count : 1];
  int64_t queued = 0;
  for (size_t i = 0; i < count; i++) {
    sn_batcher_get_stats(models[i].batcher, &st[i]);
    queued += st[i].queued_jobs;
  }
  sn_out_put(&o, "# HELP te_queue_size Requests waiting\n# TYPE te_queue_size gauge\n");
  sn_out_put(&o, "te_queue_size %lld\n", (long long)queued);
  sn_out_put(&o,
             "# HELP te_batch_next_size Inputs of the last request\n"
             "# TYPE te_batch_next_size gauge\nte_batch_next_size %llu\n",
             atomic_load(&m->batch_inputs));
  sn_out_put(&o,
             "# HELP te_batch_next_tokens Tokens of the last request\n"
             "# TYPE te_batch_next_tokens gauge\nte_batch_next_tokens %llu\n",
             atomic_load(&m->batch_tokens));
  put_histogram(&o, "te_request_duration", "Request time, seconds", &m->duration, 1);
  put_histogram(&o, "te_request_tokenization_duration", "Tokenization time, seconds",
                &m->tokenization, 1);
  put_histogram(&o, "te_request_queue_duration", "Time queued, seconds", &m->queue, 1);
  put_histogram(&o, "te_request_inference_duration", "Compute time, seconds", &m->inference, 1);
  put_histogram(&o, "te_request_input_length", "Tokens per request", &m->input_length, 1000);
  sn_out_put(&o,
             "# HELP sinter_ready 1 when every model is loaded and the server not draining\n"
             "# TYPE sinter_ready gauge\nsinter_ready %d\n",
             server->ready);
  sn_out_put(&o,
             "# HELP sinter_answer_bytes Memory held by answers being computed or sent\n"
             "# TYPE sinter_answer_bytes gauge\nsinter_answer_bytes %lld\n"
             "# HELP sinter_answer_bytes_limit --max-response-bytes\n"
             "# TYPE sinter_answer_bytes_limit gauge\nsinter_answer_bytes_limit %lld\n"
             "# HELP sinter_connections_timed_out_total Connections closed past a deadline "
             "(headers, body, reading the answer, idle)\n"
             "# TYPE sinter_connections_timed_out_total counter\n"
             "sinter_connections_timed_out_total %llu\n",
             server->answer_bytes, server->answer_bytes_limit, server->timed_out);
  static const per_model_t rows[] = {
      {"sinter_tokens_total", "Tokens computed (rate() gives tokens per second)", "counter", 0},
      {"sinter_inputs_total", "Inputs computed", "counter", 1},
      {"sinter_runs_total", "Session runs (packed batches)", "counter", 2},
      {"sinter_busy_seconds_total", "Time spent computing", "counter", 3},
      {"sinter_queue_tokens", "Tokens queued and not yet computed", "gauge", 4},
      {"sinter_queue_requests", "Requests queued or partly computed", "gauge", 5},
      {"sinter_batch_fill", "Tokens of the last run over the token budget", "gauge", 6},
      {"sinter_tokens_per_second", "The measured compute rate the scheduler ages by", "gauge", 7},
      {"sinter_expired_total", "Requests dropped at their deadline", "counter", 8},
      {"sinter_cancelled_total", "Requests dropped when their client left", "counter", 9},
  };
  for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
    sn_out_put(&o, "# HELP %s %s\n# TYPE %s %s\n", rows[r].name, rows[r].help, rows[r].name,
               rows[r].type);
    for (size_t i = 0; i < count; i++) {
      const sn_batcher_stats_t *s = &st[i];
      double v[] = {
          (double)s->run_tokens,
          (double)s->run_inputs,
          (double)s->runs,
          s->busy_seconds,
          (double)s->queued_tokens,
          (double)s->queued_jobs,
          s->max_batch_tokens ? (double)s->last_run_tokens / (double)s->max_batch_tokens : 0,
          s->tokens_per_second,
          (double)s->expired,
          (double)s->cancelled};
      sn_out_put(&o, "%s", rows[r].name);
      put_label(&o, models[i].name);
      sn_out_put(&o, " %.9g\n", v[rows[r].kind]);
    }
  }
  return sn_out_take(&o);
}
