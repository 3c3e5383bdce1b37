/*
 * tokenize_bench.c — single-threaded tokenizer throughput driver for
 * bench/bench_tokenize.py: loads a model folder's tokenizer, reads a file of
 * texts (one per line), encodes them all in batches `rounds` times and prints
 * one JSON line with texts, tokens, bytes, seconds, tokens/s and MB/s.
 *
 *   tokenize_bench MODEL_DIR TEXT_FILE [ROUNDS] [BATCH]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/file.h"
#include "tokenizer/tokenizer.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s MODEL_DIR TEXT_FILE [ROUNDS] [BATCH]\n", argv[0]);
    return 2;
  }
  int rounds = argc > 3 ? atoi(argv[3]) : 3;
  size_t batch = argc > 4 ? (size_t)atoi(argv[4]) : 64;
  if (rounds < 1 || batch < 1) return 2;
  sinter_error_t err;
  sn_tokenizer_t *tok;
  if (sn_tokenizer_load_dir(argv[1], &tok, &err) != SINTER_OK) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  sn_tokenizer_set_truncation(tok, NULL);
  sn_tokenizer_set_padding(tok, NULL);
  char *data;
  size_t size;
  if (sn_file_read_all(argv[2], (size_t)1 << 31, &data, &size, &err) != SINTER_OK) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  size_t n = 0, cap = 1024;
  const char **texts = malloc(cap * sizeof *texts);
  size_t *lens = malloc(cap * sizeof *lens);
  for (char *p = data; p < data + size;) {
    char *nl = memchr(p, '\n', (size_t)(data + size - p));
    size_t len = nl ? (size_t)(nl - p) : (size_t)(data + size - p);
    if (n == cap) {
      cap *= 2;
      texts = realloc(texts, cap * sizeof *texts);
      lens = realloc(lens, cap * sizeof *lens);
    }
    texts[n] = p;
    lens[n++] = len;
    p += len + 1;
  }
  sn_encoding_t *encs = calloc(batch, sizeof *encs);
  for (size_t i = 0; i < batch; i++) sn_encoding_init(&encs[i]);
  size_t tokens = 0, bytes = 0;
  double best = 1e30;
  for (int r = 0; r < rounds; r++) {
    size_t tk = 0;
    double t0 = now();
    for (size_t i = 0; i < n; i += batch) {
      size_t m = n - i < batch ? n - i : batch;
      if (sn_tokenizer_encode_batch(tok, m, texts + i, lens + i, NULL, NULL, NULL, encs, &err) !=
          SINTER_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
      }
      for (size_t k = 0; k < m; k++) tk += encs[k].length;
    }
    double dt = now() - t0;
    if (dt < best) best = dt;
    tokens = tk;
  }
  for (size_t i = 0; i < n; i++) bytes += lens[i];
  printf(
      "{\"texts\": %zu, \"tokens\": %zu, \"bytes\": %zu, \"seconds\": %.6f, "
      "\"tokens_per_s\": %.1f, \"mb_per_s\": %.3f}\n",
      n, tokens, bytes, best, (double)tokens / best, (double)bytes / best / 1e6);
  for (size_t i = 0; i < batch; i++) sn_encoding_deinit(&encs[i]);
  free(encs);
  free(texts);
  free(lens);
  free(data);
  sn_tokenizer_destroy(tok);
  return 0;
}
