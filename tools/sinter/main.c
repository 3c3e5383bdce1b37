/* main.c — the sinter command line: dispatch to one subcommand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "sinter.h"

static const struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} commands[] = {
    {"info", sn_cmd_info, "describe a model folder"},
    {"embed", sn_cmd_embed, "sentence embeddings as JSON lines (or a similarity matrix)"},
    {"classify", sn_cmd_classify, "labels and scores from a classification model"},
    {"rerank", sn_cmd_rerank, "documents sorted by relevance to a query (a cross-encoder)"},
    {"tokenize", sn_cmd_tokenize, "token ids, tokens, type ids and offsets"},
    {"graph", sn_cmd_graph, "print the unfused graph of a model"},
    {"compile", sn_cmd_compile, "compile a model folder into a .sinter artifact"},
    {"inspect", sn_cmd_inspect, "print and validate a .sinter artifact"},
    {"bench", sn_cmd_bench, "throughput and latency of eager or compiled runs"},
    {"profile", sn_cmd_profile, "sweep batch and length, recommend a configuration"},
    {"cache", sn_cmd_cache, "list, verify, remove and prune compile-cache entries"},
    {"serve", sn_cmd_serve, "HTTP server: TEI /embed, OpenAI /v1/embeddings, continuous batching"},
};

static void usage(FILE *out) {
  fprintf(out,
          "sinter %s — compiler and runtime for BERT-family inference\n\n"
          "usage: sinter COMMAND [OPTIONS]\n\ncommands:\n",
          SINTER_VERSION_STRING);
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\n'sinter COMMAND --help' describes each command.\n");
}

/* sinter's kernels run on its own thread pool (a bounded spin, then sleep).
 * Only oneDNN still runs on OpenMP: the fp32 linears the compiler gives it
 * on AVX-512 machines (target.c; SINTER_GEMM=onednn forces it), where our
 * AVX2 GEMM would run at half the peak. There, OpenMP threads that spin while
 * waiting burn a core when idle and fight the thread doing the work
 * (first-result latency varied 40 ms to 440 ms with libgomp's default
 * 300000-iteration spin), and threads that sleep at once pay a futex wake-up
 * per parallel region; a short spin, then sleep, gets both. libgomp reads
 * these only at start-up, so on such a machine the CLI sets them and
 * re-executes itself once, unless the user chose a policy. Elsewhere no
 * OpenMP thread ever starts and nothing is re-executed. */
static void ensure_wait_policy(char **argv) {
  if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return;
  const char *gemm = getenv("SINTER_GEMM");
  int onednn = gemm ? strcmp(gemm, "onednn") == 0 : __builtin_cpu_supports("avx512f");
  if (!onednn) return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  setenv("GOMP_SPINCOUNT", "10000", 1);
  execv("/proc/self/exe", argv);
  /* If re-executing fails, go on with libgomp's default. */
}

int main(int argc, char **argv) {
  ensure_wait_policy(argv);
  if (argc < 2) {
    usage(stderr);
    return SN_EXIT_USAGE;
  }
  if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return SN_EXIT_OK;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("sinter %s\n", SINTER_VERSION_STRING);
    return SN_EXIT_OK;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "sinter: unknown command \"%s\"\n\n", argv[1]);
  usage(stderr);
  return SN_EXIT_USAGE;
}
