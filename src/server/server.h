/*
 * server.h — `sinter serve`: an HTTP server (libmicrohttpd, its internal
 * epoll thread pool) over one or more compiled programs. It speaks Hugging
 * Face text-embeddings-inference's routes, OpenAI's embeddings, Cohere/Jina
 * rerank, KServe v2 and TorchServe (api.h), with continuous batching per
 * model (batcher.h), admission by queued tokens, deadlines, cancellation when
 * a client leaves, Bearer auth, CORS, Prometheus metrics (metrics.h) and a
 * graceful drain. A front end: it uses the public API only.
 *
 * A request's life: its body is gathered on an I/O thread, parsed by its
 * API's parser, tokenized, and queued on its model's batcher; the connection
 * is then suspended, so I/O threads never wait for compute. When the batcher
 * finishes the job it resumes the connection, and the response is written.
 */
#ifndef SN_SERVER_SERVER_H
#define SN_SERVER_SERVER_H

#include <stdint.h>

#include "sinter.h"

typedef struct sn_server_options {
  const char *host;         /* address to bind; default 127.0.0.1 */
  int port;                 /* default 8080; 0 picks a free one */
  int threads;              /* compute threads; <= 0: sinter_cpu_count() */
  int http_threads;         /* I/O (and tokenization) threads; <= 0: the compute threads */
  int64_t max_batch_tokens; /* <= 0: each program's token budget */
  int64_t max_queue_tokens; /* per model; <= 0: 16 batches' worth */
  int64_t payload_limit;    /* body bytes; <= 0: 2 MiB */
  int32_t max_client_batch; /* inputs per request; <= 0: 2048 */
  int64_t max_input_chars;  /* characters per text; <= 0: no limit but the payload's */
  int request_timeout_ms;   /* a request's deadline; <= 0: none (x-request-timeout sets one) */
  int drain_timeout_s;      /* how long stop waits for requests in flight; <= 0: 30 */
  const char *api_key;      /* Bearer key for every route but health and metrics; NULL: open */
  const char *cors_origin;  /* Access-Control-Allow-Origin; NULL: no CORS headers */
  /* What one client can hold (the limits are deliberate: see DESIGN.md §2.1). */
  int64_t max_response_bytes; /* memory all answers hold until sent; <= 0: 512 MiB */
  int header_timeout_s;       /* a request's line and headers arrive within; <= 0: 10 */
  int io_timeout_s;           /* a body arrives, and a response is read, within; <= 0: 60 */
  int idle_timeout_s;         /* a keep-alive connection waits for its next request; <= 0: 60 */
  int max_connections;        /* open at once; <= 0: 4096 */
  int max_connections_per_ip; /* from one client address; < 0: no cap; 0: 256 */
  int probe_port; /* > 0: a second listener for health, readiness and metrics only; 0: none */
  const char *default_prompt_name; /* TEI's --default-prompt-name: the prompt of /embed and
                                      /tokenize requests that name none; NULL: none */
  /* The body and the {instruction} of the reranker template of the models
   * that have one (rerank_template.json), instead of the folder's; NULL: the
   * folder's. Models without a template ignore them. */
  const char *rerank_template, *rerank_instruction;
} sn_server_options_t;

typedef struct sn_server sn_server_t;

/* The most models one server runs. */
#define SN_SERVER_MAX_MODELS 16

/* Starts listening at once (health answers 503 "not ready" until
 * sn_server_set_ready). *out is owned by the caller (sn_server_stop).
 * Errors: INVALID_ARGUMENT (host), IO when the address cannot be bound. */
sinter_status_t sn_server_start(const sn_server_options_t *options, sn_server_t **out,
                                sinter_error_t *err);

/* The port it listens on. */
int sn_server_port(const sn_server_t *server);

/* The port of the probe listener (--probe-port), or 0 when there is none. */
int sn_server_probe_port(const sn_server_t *server);

/* Adds a model under `name` (copied; requests name it in `model` or the
 * route) running `program` (borrowed: it outlives the server), and warms it
 * up. The first model added is the default. Errors: INVALID_ARGUMENT (a name
 * taken, or too many models), those of creating a session. */
sinter_status_t sn_server_add_model(sn_server_t *server, const char *name,
                                    const sinter_program_t *program, sinter_error_t *err);

/* Turns ready: every model is added. */
void sn_server_set_ready(sn_server_t *server);

/* Readiness off (health answers 503), new requests refused with 503, the
 * requests in flight finished within the drain timeout (those still queued
 * after it are dropped); then everything is released. NULL allowed. */
void sn_server_stop(sn_server_t *server);

#endif
