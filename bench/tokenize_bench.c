/*
 * tokenize_bench.c — tokenizer throughput driver for bench/bench_tokenize.py:
 * loads a model folder's tokenizer (truncation and padding off), reads a file
 * of texts (one per line, split on '\n' only), encodes them all in batches
 * `rounds` times and prints one JSON line with texts, tokens, bytes, the best
 * pass's seconds, tokens/s and MB/s. THREADS > 1 spreads the batches over
 * OpenMP threads, each with its own encodings (the tokenizer is shared,
 * immutable). BATCH 1 on a one-line file times a single encode.
 *
 *   tokenize_bench MODEL_DIR TEXT_FILE [ROUNDS] [BATCH] [THREADS]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <omp.h>
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
    fprintf(stderr, "usage: %s MODEL_DIR TEXT_FILE [ROUNDS] [BATCH] [THREADS]\n", argv[0]);
    return 2;
  }
  int rounds = argc > 3 ? atoi(argv[3]) : 3;
  size_t batch = argc > 4 ? (size_t)atoi(argv[4]) : 64;
  int threads = argc > 5 ? atoi(argv[5]) : 1; /* batches are spread over threads */
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
  if (threads < 1) threads = 1;
  sn_encoding_t *encs = calloc(batch * (size_t)threads, sizeof *encs);
  for (size_t i = 0; i < batch * (size_t)threads; i++) sn_encoding_init(&encs[i]);
  size_t tokens = 0, bytes = 0;
  double best = 1e30;
  for (int r = 0; r < rounds; r++) {
    size_t tk = 0;
    int failed = 0;
    double t0 = now();
#pragma omp parallel for num_threads(threads) schedule(dynamic) reduction(+ : tk, failed)
    for (size_t i = 0; i < n; i += batch) {
      size_t m = n - i < batch ? n - i : batch;
      sn_encoding_t *mine = encs + batch * (size_t)omp_get_thread_num();
      sinter_error_t e;
      if (sn_tokenizer_encode_batch(tok, m, texts + i, lens + i, NULL, NULL, NULL, mine, &e) !=
          SINTER_OK) {
        failed++;
        continue;
      }
      for (size_t k = 0; k < m; k++) tk += mine[k].length;
    }
    if (failed) {
      fprintf(stderr, "%d batches failed to encode\n", failed);
      return 1;
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
  for (size_t i = 0; i < batch * (size_t)threads; i++) sn_encoding_deinit(&encs[i]);
  free(encs);
  free(texts);
  free(lens);
  free(data);
  sn_tokenizer_destroy(tok);
  return 0;
}
