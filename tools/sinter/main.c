/* main.c — the sinter command line: dispatch to one subcommand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(int argc, char **argv) {
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
