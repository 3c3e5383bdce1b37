/* cmd_serve.c — `sinter serve`: the HTTP server (src/server/). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "server/server.h"

static const char usage[] =
    "usage: sinter serve --model [NAME=]DIR|ARTIFACT [--model ...] [--host 127.0.0.1]\n"
    "                    [--port 8080] [--threads N] [--http-threads N]\n"
    "                    [--max-batch-tokens N] [--max-queue-tokens N]\n"
    "                    [--max-client-batch-size N] [--max-input-chars N]\n"
    "                    [--payload-limit BYTES] [--request-timeout MS] [--drain-timeout S]\n"
    "                    [--api-key KEY | --api-key-file F] [--cors-origin ORIGIN]\n"
    "                    [--max-response-bytes BYTES] [--header-timeout S] [--io-timeout S]\n"
    "                    [--idle-timeout S] [--max-connections N]\n"
    "                    [--max-connections-per-ip N] [--probe-port PORT]\n"
    "                    [--cache URL] [--dtype f32|bf16|int8] [--default-prompt-name NAME]\n"
    "                    [--pooling splade] [--rerank-instruction TEXT]\n"
    "                    [--rerank-template TEXT]\n\n"
    "Serves the models over HTTP with the APIs clients already call:\n"
    "  text-embeddings-inference  POST /embed /embed_all /embed_sparse /predict /rerank\n"
    "                             /similarity /tokenize /decode, and POST / (what the first model\n"
    "                             does: embed or similarity, predict, rerank);\n"
    "                             GET / /info /health /metrics\n"
    "  OpenAI                     POST /v1/embeddings; GET /v1/models\n"
    "  Cohere v2 / Jina rerank    POST /v1/rerank /v2/rerank\n"
    "  KServe v2                  GET /v2 /v2/health/{live,ready} /v2/models/M[/ready];\n"
    "                             POST /v2/models/M/infer\n"
    "  TorchServe                 GET /ping; POST /predictions/M\n"
    "  SageMaker                  GET /ping; POST /invocations (as POST /)\n"
    "  OpenAPI document           GET /openapi.json; Swagger UI at GET /docs when\n"
    "                             Debian's python3-flasgger is installed\n"
    "--model may repeat; requests pick one by its NAME (the `model` field or the\n"
    "route), and the first is the default. Each is opened through the compile cache\n"
    "(--cache s3://... downloads an artifact instead of compiling) and warmed up.\n"
    "The server listens at once and answers 503 until every model is ready.\n"
    "Requests are batched continuously by token budget, shortest first with\n"
    "ageing; a full queue answers 429 with Retry-After, an expired deadline 504.\n"
    "With --api-key, every route but health and metrics needs `Authorization:\n"
    "Bearer KEY`. SIGTERM or SIGINT: readiness turns 503, the requests in flight\n"
    "finish (up to --drain-timeout), and the process exits 0; requests still queued\n"
    "then are answered 503 with Retry-After.\n"
    "What one client can hold is bounded: answers being computed or sent hold at\n"
    "most --max-response-bytes in all (512 MiB; a larger answer is refused 413, one\n"
    "that does not fit now 429); a request line and headers must arrive within\n"
    "--header-timeout (10 s) whatever the client trickles, a body and the reading of\n"
    "a response each within --io-timeout (60 s), and a kept-alive connection waits\n"
    "--idle-timeout (60 s) for its next request; at most --max-connections (4096)\n"
    "connections, --max-connections-per-ip (256; 0 lifts the cap, e.g. behind a\n"
    "load balancer that is one address) from one address. --probe-port serves\n"
    "/, /health, /metrics, /ping and /v2/health/* on a listener of their own, which\n"
    "answers while the main port is saturated.\n"
    "SAGEMAKER_BIND_TO_PORT, when set, is the port (it wins over --port).\n"
    "--default-prompt-name NAME: TEI's: the prompt (config_sentence_transformers.json)\n"
    "put before each text of /embed and /tokenize requests that name none; every\n"
    "model must define it.\n"
    "--pooling splade: TEI's: the models (masked-LM checkpoints, *ForMaskedLM) are\n"
    "compiled with SPLADE sparse output, which POST /embed_sparse answers ([[{\"index\",\n"
    "\"value\"}]] per input); every run then also computes the vocabulary logits.\n"
    "A model without a masked-LM head stops the server at start, naming it. Other\n"
    "poolings come from each model folder.\n"
    "--rerank-instruction TEXT, --rerank-template TEXT: for the models with a reranker\n"
    "template (rerank_template.json, Qwen3-Reranker), the {instruction} and the body\n"
    "(with {query} and {document}) every rerank pair is put through instead of the\n"
    "folder's; models without a template ignore them.\n";

static int flag_int(const char *v, int lo, int hi, int *out, const char *name) {
  if (cli_parse_int(v, lo, hi, out) != 0) {
    fprintf(stderr, "sinter: %s needs a number from %d to %d\n", name, lo, hi);
    return -1;
  }
  return 0;
}

/* Reads the first line of `path` (the key, without its newline). */
static char *read_key(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "sinter: --api-key-file %s: cannot be read\n", path);
    return NULL;
  }
  char line[1024];
  char *got = fgets(line, sizeof line, f);
  fclose(f);
  if (got) line[strcspn(line, "\r\n")] = '\0';
  if (!got || !line[0]) {
    fprintf(stderr, "sinter: --api-key-file %s: the first line is empty\n", path);
    return NULL;
  }
  return strdup(line);
}

/* The name a model is served under when none is given: its file or folder
 * name. */
static void default_name(const char *path, char *out, size_t cap) {
  size_t len = strlen(path);
  while (len > 1 && path[len - 1] == '/') len--;
  size_t start = len;
  while (start > 0 && path[start - 1] != '/') start--;
  snprintf(out, cap, "%.*s", (int)(len - start), path + start);
}

typedef struct served_arg {
  char name[256];
  const char *path;
} served_arg_t;

int sn_cmd_serve(int argc, char **argv) {
  cli_common_t opts = {0};
  sn_server_options_t so = {0};
  so.port = 8080;
  served_arg_t models[SN_SERVER_MAX_MODELS];
  size_t n_models = 0;
  char *key = NULL;
  int v;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) return printf("%s", usage), 0;
    int has = i + 1 < argc;
    if (!strcmp(a, "--model") && has) {
      if (n_models == SN_SERVER_MAX_MODELS)
        return cli_usage_error(usage, "at most %d --model", SN_SERVER_MAX_MODELS);
      const char *m = argv[++i], *eq = strchr(m, '=');
      served_arg_t *s = &models[n_models++];
      if (eq && eq != m && (size_t)(eq - m) < sizeof s->name) {
        snprintf(s->name, sizeof s->name, "%.*s", (int)(eq - m), m);
        m = eq + 1;
      } else {
        default_name(m, s->name, sizeof s->name);
      }
      s->path = m;
      continue;
    }
    int r = cli_parse_common(&opts, argc, argv, &i);
    if (r < 0) return SN_EXIT_USAGE;
    if (r > 0) continue;
    if (!strcmp(a, "--host") && has) {
      so.host = argv[++i];
    } else if (!strcmp(a, "--port") && has) {
      if (flag_int(argv[++i], 0, 65535, &so.port, a)) return SN_EXIT_USAGE;
    } else if (!strcmp(a, "--http-threads") && has) {
      if (flag_int(argv[++i], 1, 256, &so.http_threads, a)) return SN_EXIT_USAGE;
    } else if (!strcmp(a, "--max-batch-tokens") && has) {
      if (flag_int(argv[++i], 1, 1 << 20, &v, a)) return SN_EXIT_USAGE;
      so.max_batch_tokens = v;
    } else if (!strcmp(a, "--max-queue-tokens") && has) {
      if (flag_int(argv[++i], 1, 1 << 30, &v, a)) return SN_EXIT_USAGE;
      so.max_queue_tokens = v;
    } else if (!strcmp(a, "--max-client-batch-size") && has) {
      if (flag_int(argv[++i], 1, 1 << 20, &v, a)) return SN_EXIT_USAGE;
      so.max_client_batch = v;
    } else if (!strcmp(a, "--max-input-chars") && has) {
      if (flag_int(argv[++i], 1, 1 << 30, &v, a)) return SN_EXIT_USAGE;
      so.max_input_chars = v;
    } else if (!strcmp(a, "--request-timeout") && has) {
      if (flag_int(argv[++i], 1, 3600 * 1000, &so.request_timeout_ms, a)) return SN_EXIT_USAGE;
    } else if (!strcmp(a, "--drain-timeout") && has) {
      if (flag_int(argv[++i], 1, 3600, &so.drain_timeout_s, a)) return SN_EXIT_USAGE;
    } else if (!strcmp(a, "--payload-limit") && has) {
      if (flag_int(argv[++i], 1024, 1 << 30, &v, a)) return SN_EXIT_USAGE;
      so.payload_limit = v;
    } else if (!strcmp(a, "--api-key") && has) {
      so.api_key = argv[++i];
    } else if (!strcmp(a, "--api-key-file") && has) {
      free(key);
      if (!(key = read_key(argv[++i]))) return SN_EXIT_USAGE;
      so.api_key = key;
    } else if (!strcmp(a, "--cors-origin") && has) {
      so.cors_origin = argv[++i];
    } else if (!strcmp(a, "--pooling") && has) {
      if (strcmp(argv[++i], "splade")) {
        free(key);
        return cli_usage_error(usage,
                               "--pooling takes splade (sparse output); the other poolings come "
                               "from each model folder, not \"%s\"",
                               argv[i]);
      }
      opts.sparse = 1;
    } else if (!strcmp(a, "--default-prompt-name") && has) {
      so.default_prompt_name = argv[++i];
    } else if (!strcmp(a, "--rerank-instruction") && has) {
      so.rerank_instruction = argv[++i];
    } else if (!strcmp(a, "--rerank-template") && has) {
      so.rerank_template = argv[++i];
      if (!strstr(so.rerank_template, "{query}") || !strstr(so.rerank_template, "{document}")) {
        free(key);
        return cli_usage_error(usage, "--rerank-template must hold {query} and {document}");
      }
    } else if (!strcmp(a, "--max-response-bytes") && has) {
      if (flag_int(argv[++i], 1 << 16, 1 << 30, &v, a)) return SN_EXIT_USAGE;
      so.max_response_bytes = v;
    } else if (!strcmp(a, "--header-timeout") && has) {
      if (flag_int(argv[++i], 1, 3600, &so.header_timeout_s, a)) return SN_EXIT_USAGE;
    } else if (!strcmp(a, "--io-timeout") && has) {
      if (flag_int(argv[++i], 1, 3600, &so.io_timeout_s, a)) return SN_EXIT_USAGE;
    } else if (!strcmp(a, "--idle-timeout") && has) {
      if (flag_int(argv[++i], 1, 3600, &so.idle_timeout_s, a)) return SN_EXIT_USAGE;
    } else if (!strcmp(a, "--max-connections") && has) {
      if (flag_int(argv[++i], 1, 1 << 20, &so.max_connections, a)) return SN_EXIT_USAGE;
    } else if (!strcmp(a, "--max-connections-per-ip") && has) {
      if (flag_int(argv[++i], 0, 1 << 20, &so.max_connections_per_ip, a)) return SN_EXIT_USAGE;
      if (!so.max_connections_per_ip) so.max_connections_per_ip = -1; /* no cap */
    } else if (!strcmp(a, "--probe-port") && has) {
      if (flag_int(argv[++i], 1, 65535, &so.probe_port, a)) return SN_EXIT_USAGE;
    } else {
      free(key);
      return cli_usage_error(usage, "unexpected argument \"%s\"", a);
    }
  }
  if (!n_models && opts.model_dir) { /* --model given as a common option */
    models[0].path = opts.model_dir;
    default_name(opts.model_dir, models[0].name, sizeof models[0].name);
    n_models = 1;
  }
  if (!n_models) {
    free(key);
    return cli_usage_error(usage, "--model is required");
  }
  if (so.api_key && !so.api_key[0]) {
    free(key);
    return cli_usage_error(usage, "--api-key is empty");
  }
  /* SageMaker's hosting contract: the platform names the port in
   * SAGEMAKER_BIND_TO_PORT (as for TEI's SageMaker image), and it wins over
   * --port, which an image's command line fixes. */
  const char *sagemaker = getenv("SAGEMAKER_BIND_TO_PORT");
  if (sagemaker && sagemaker[0]) {
    int port_was = so.port;
    if (cli_parse_int(sagemaker, 1, 65535, &so.port) != 0) {
      free(key);
      return cli_usage_error(usage, "SAGEMAKER_BIND_TO_PORT=%.32s is not a port (1 to 65535)",
                             sagemaker);
    }
    if (port_was != so.port)
      fprintf(stderr, "sinter: port %d from SAGEMAKER_BIND_TO_PORT (not %d)\n", so.port, port_was);
  }
  so.threads = opts.threads;
  /* Each connection takes two descriptors (the socket and the guard's
   * duplicate): let --max-connections have them, within the hard limit. */
  struct rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY) {
    rlim_t want = 2 * (rlim_t)(so.max_connections > 0 ? so.max_connections : 4096) + 256;
    if (files.rlim_cur < want) {
      files.rlim_cur =
          files.rlim_max == RLIM_INFINITY || files.rlim_max > want ? want : files.rlim_max;
      setrlimit(RLIMIT_NOFILE, &files);
    }
  }
  /* Signals go to sigwait below, not to whichever thread they hit. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  sinter_error_t err;
  sn_server_t *server = NULL;
  if (sn_server_start(&so, &server, &err)) {
    free(key);
    return cli_fail(&err);
  }
  fprintf(stderr, "sinter: listening on http://%s:%d (not ready: loading %zu model%s)\n",
          so.host ? so.host : "127.0.0.1", sn_server_port(server), n_models,
          n_models == 1 ? "" : "s");
  if (sn_server_probe_port(server))
    fprintf(stderr, "sinter: probes on http://%s:%d\n", so.host ? so.host : "127.0.0.1",
            sn_server_probe_port(server));
  cli_model_t opened[SN_SERVER_MAX_MODELS];
  memset(opened, 0, sizeof opened);
  int rc = SN_EXIT_OK;
  for (size_t i = 0; i < n_models && rc == SN_EXIT_OK; i++) {
    opts.model_dir = models[i].path;
    if (cli_open_model(&opts, &opened[i], &err) || !opened[i].program) {
      if (!opened[i].program && err.status == SINTER_OK)
        cli_error(&err, SINTER_ERR_INVALID_ARGUMENT,
                  "serve runs compiled programs (no --mode eager)");
      rc = cli_fail(&err);
    } else if (sn_server_add_model(server, models[i].name, opened[i].program, &err)) {
      rc = cli_fail(&err);
    } else {
      fprintf(stderr, "sinter: model %s ready (%s)\n", models[i].name, models[i].path);
    }
  }
  if (rc == SN_EXIT_OK) {
    sn_server_set_ready(server);
    fprintf(stderr, "sinter: ready\n");
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "sinter: %s: draining\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  }
  sn_server_stop(server);
  for (size_t i = 0; i < n_models; i++) cli_model_close(&opened[i]);
  free(key);
  return rc;
}
