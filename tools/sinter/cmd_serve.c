/* cmd_serve.c — `sinter serve`: the HTTP server (src/server/). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "server/server.h"

static const char usage[] =
    "usage: sinter serve --model [NAME=]DIR|ARTIFACT [--host 127.0.0.1] [--port 8080]\n"
    "                    [--threads N] [--max-batch-tokens N] [--max-queue-tokens N]\n"
    "                    [--max-client-batch-size N] [--payload-limit BYTES]\n"
    "                    [--drain-timeout S]\n"
    "                    [--cache URL] [--dtype f32|bf16|int8]\n\n"
    "Serves the model over HTTP: Hugging Face text-embeddings-inference's\n"
    "GET /health, GET /info and POST /embed, and OpenAI's POST /v1/embeddings.\n"
    "It listens at once and answers 503 until the model is loaded (through the\n"
    "compile cache) and warmed up. Requests are batched continuously by token\n"
    "budget; a full queue answers 429. SIGTERM or SIGINT: readiness turns 503, the\n"
    "requests in flight finish, and the process exits 0.\n";

static int flag_int(const char *v, int lo, int hi, int *out, const char *name) {
  if (cli_parse_int(v, lo, hi, out) != 0) {
    fprintf(stderr, "sinter: %s needs a number from %d to %d\n", name, lo, hi);
    return -1;
  }
  return 0;
}

int sn_cmd_serve(int argc, char **argv) {
  cli_common_t opts = {0};
  sn_server_options_t so = {0};
  so.port = 8080;
  int v;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) return printf("%s", usage), 0;
    int has = i + 1 < argc;
    if (!strcmp(a, "--model") && has) {
      const char *m = argv[++i], *eq = strchr(m, '=');
      if (eq && eq != m) {
        static char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(eq - m), m);
        so.model_name = name;
        m = eq + 1;
      }
      opts.model_dir = m;
      continue;
    }
    int r = cli_parse_common(&opts, argc, argv, &i);
    if (r < 0) return SN_EXIT_USAGE;
    if (r > 0) continue;
    if (!strcmp(a, "--host") && has) {
      so.host = argv[++i];
    } else if (!strcmp(a, "--port") && has) {
      if (flag_int(argv[++i], 0, 65535, &so.port, a)) return SN_EXIT_USAGE;
    } else if (!strcmp(a, "--max-batch-tokens") && has) {
      if (flag_int(argv[++i], 1, 1 << 20, &v, a)) return SN_EXIT_USAGE;
      so.max_batch_tokens = v;
    } else if (!strcmp(a, "--max-queue-tokens") && has) {
      if (flag_int(argv[++i], 1, 1 << 30, &v, a)) return SN_EXIT_USAGE;
      so.max_queue_tokens = v;
    } else if (!strcmp(a, "--max-client-batch-size") && has) {
      if (flag_int(argv[++i], 1, 1 << 20, &v, a)) return SN_EXIT_USAGE;
      so.max_client_batch = v;
    } else if (!strcmp(a, "--drain-timeout") && has) {
      if (flag_int(argv[++i], 1, 3600, &so.drain_timeout_s, a)) return SN_EXIT_USAGE;
    } else if (!strcmp(a, "--payload-limit") && has) {
      if (flag_int(argv[++i], 1024, 1 << 30, &v, a)) return SN_EXIT_USAGE;
      so.payload_limit = v;
    } else {
      return cli_usage_error(usage, "unexpected argument \"%s\"", a);
    }
  }
  if (!opts.model_dir) return cli_usage_error(usage, "--model is required");
  if (!so.model_name) so.model_name = opts.model_dir;
  so.threads = opts.threads;
  /* Signals go to sigwait below, not to whichever thread they hit. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  sinter_error_t err;
  sn_server_t *server = NULL;
  if (sn_server_start(&so, &server, &err)) return cli_fail(&err);
  fprintf(stderr, "sinter: listening on http://%s:%d (not ready: loading %s)\n",
          so.host ? so.host : "127.0.0.1", sn_server_port(server), opts.model_dir);
  cli_model_t model = {0};
  int rc = SN_EXIT_OK;
  if (cli_open_model(&opts, &model, &err) || !model.program) {
    if (!model.program && err.status == SINTER_OK)
      cli_error(&err, SINTER_ERR_INVALID_ARGUMENT,
                "serve runs compiled programs (no --mode eager)");
    rc = cli_fail(&err);
  } else if (sn_server_attach(server, model.program, &err)) {
    rc = cli_fail(&err);
  } else {
    fprintf(stderr, "sinter: ready\n");
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "sinter: %s: draining\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  }
  sn_server_stop(server);
  cli_model_close(&model);
  return rc;
}
