/*
 * server.h — `sinter serve`: an HTTP server (libmicrohttpd, its internal
 * epoll thread pool) speaking Hugging Face text-embeddings-inference's routes
 * and OpenAI's embeddings route over one compiled program, with continuous
 * batching (batcher.h). A front end: it uses the public API only.
 *
 * This is the first step of the server: one model; GET /health, /info;
 * POST /embed, /v1/embeddings. Errors are JSON in the shape each API uses.
 */
#ifndef SN_SERVER_SERVER_H
#define SN_SERVER_SERVER_H

#include <stdint.h>

#include "sinter.h"

typedef struct sn_server_options {
  const char *host;         /* address to bind; default 127.0.0.1 */
  int port;                 /* default 8080; 0 picks a free one */
  const char *model_name;   /* the model id routes report */
  int threads;              /* compute threads; <= 0: sinter_cpu_count() */
  int http_threads;         /* I/O threads; <= 0: 4 */
  int64_t max_batch_tokens; /* <= 0: the program's token budget */
  int64_t max_queue_tokens; /* <= 0: 16 batches' worth */
  int64_t payload_limit;    /* body bytes; <= 0: 2 MiB */
  int32_t max_client_batch; /* inputs per request; <= 0: 2048 */
  int drain_timeout_s;      /* how long stop waits for requests in flight; <= 0: 30 */
} sn_server_options_t;

typedef struct sn_server sn_server_t;

/* Starts listening at once (answering 503 "not ready" until a program is
 * attached). *out is owned by the caller (sn_server_stop). Errors: IO when
 * the address cannot be bound. */
sinter_status_t sn_server_start(const sn_server_options_t *options, sn_server_t **out,
                                sinter_error_t *err);

/* The port it listens on. */
int sn_server_port(const sn_server_t *server);

/* Attaches the program (borrowed: it outlives the server) and turns ready. */
sinter_status_t sn_server_attach(sn_server_t *server, const sinter_program_t *program,
                                 sinter_error_t *err);

/* Readiness off (health answers 503), new requests refused with 503, the
 * requests in flight finished; then everything is released. NULL allowed. */
void sn_server_stop(sn_server_t *server);

#endif
