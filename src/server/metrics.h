/*
 * metrics.h — the server's Prometheus metrics: TEI's names (te_request_count,
 * te_request_success, te_request_failure{err}, te_queue_size, the duration,
 * tokenization, queue and inference histograms, te_request_input_length,
 * te_batch_next_size/tokens) so existing dashboards work, plus sinter's own
 * per model (tokens computed, runs, batch fill, queued tokens and requests,
 * dropped requests, the measured token rate). Counters are atomics: any
 * thread records, any thread writes the text.
 */
#ifndef SN_SERVER_METRICS_H
#define SN_SERVER_METRICS_H

#include <stdatomic.h>
#include <stddef.h>

#include "server/engine.h"

#define SN_METRICS_BUCKETS 13

typedef struct sn_histogram {
  atomic_ullong bucket[SN_METRICS_BUCKETS + 1]; /* the last is +Inf */
  atomic_ullong count;
  atomic_ullong sum; /* microseconds, or tokens */
} sn_histogram_t;

enum { SN_ERR_KINDS = 7 };

typedef struct sn_metrics {
  atomic_ullong requests, success, failure[SN_ERR_KINDS];
  sn_histogram_t duration, tokenization, queue, inference, input_length;
  atomic_ullong batch_inputs, batch_tokens; /* of the last request */
} sn_metrics_t;

/* What one request did. */
typedef struct sn_request_record {
  unsigned status;
  const char *kind; /* its error kind (sn_parse_error_t.kind), or NULL */
  int computed;     /* 1 when it went through the batcher */
  double seconds, tokenize_s, queue_s, infer_s;
  size_t tokens, inputs;
} sn_request_record_t;

void sn_metrics_record(sn_metrics_t *m, const sn_request_record_t *r);

/* What the server holds for its clients, beside the models' queues. */
typedef struct sn_server_gauges {
  int ready;                    /* every model loaded, not draining */
  long long answer_bytes;       /* held by answers being computed or sent */
  long long answer_bytes_limit; /* --max-response-bytes */
  unsigned long long timed_out; /* connections closed past a deadline */
} sn_server_gauges_t;

/* The Prometheus text (free()), or NULL when out of memory. */
char *sn_metrics_write(sn_metrics_t *m, const sn_served_t *models, size_t count,
                       const sn_server_gauges_t *server);

#endif
