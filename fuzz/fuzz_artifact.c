/* fuzz_artifact.c — libFuzzer target for artifacts, as far as the data goes:
 * any bytes are checked (header, table, checksums, config, tokenizer
 * section, plan); a file that passes is inspected, opened as a program,
 * tokenized with and run through a compiled session on a small batch. A
 * hostile artifact that passes every check must still never make the
 * executor read or write outside its buffers.
 *
 * Mutations: libFuzzer's byte mutations, plus a structured one (half the
 * time) that decodes the PLAN section, changes one field of one node or
 * output (an arena offset, a dimension, an input, an attribute) and encodes
 * it again, so that the edit reaches the verifier instead of the decoder's
 * bounds checks. Checksums would make nearly every mutation fail early, so
 * the target recomputes them before loading (the checksum checks themselves
 * are covered by test_artifact); SINTER_FUZZ_RAW=1 fuzzes the raw bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xxhash.h>

#include "artifact/artifact.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

#define HEADER 256
#define ENTRY 32

static void fix_checksums(uint8_t *p, size_t size) {
  if (size < HEADER + ENTRY) return;
  uint32_t n;
  memcpy(&n, p + 60, 4); /* section count */
  if (n > 16 || HEADER + (size_t)n * ENTRY > size) return;
  for (uint32_t i = 0; i < n; i++) {
    uint64_t off, len;
    memcpy(&off, p + HEADER + ENTRY * i + 8, 8);
    memcpy(&len, p + HEADER + ENTRY * i + 16, 8);
    if (off > size || len > size - off) continue;
    uint64_t sum = XXH3_64bits(p + off, (size_t)len);
    memcpy(p + HEADER + ENTRY * i + 24, &sum, 8);
  }
  uint64_t table = XXH3_64bits(p + HEADER, (size_t)n * ENTRY);
  memcpy(p + 120, &table, 8); /* table checksum */
  uint64_t sum = XXH3_64bits(p, 240);
  memcpy(p + 240, &sum, 8);
}

/* The section of `kind` as (offset, size), or 0 when absent or out of range. */
static int find_section(const uint8_t *p, size_t size, uint32_t kind, uint64_t *off,
                        uint64_t *len) {
  uint32_t n;
  if (size < HEADER + ENTRY) return 0;
  memcpy(&n, p + 60, 4);
  if (n > 16 || HEADER + (size_t)n * ENTRY > size) return 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t k;
    memcpy(&k, p + HEADER + ENTRY * i, 4);
    memcpy(off, p + HEADER + ENTRY * i + 8, 8);
    memcpy(len, p + HEADER + ENTRY * i + 16, 8);
    if (k == kind && *off <= size && *len <= size - *off) return 1;
  }
  return 0;
}

/* One field of the decoded plan, changed: what a hostile writer would edit. */
static unsigned next_random(unsigned *r) {
  *r = *r * 1103515245u + 12345u;
  return *r >> 8;
}

static void mutate_plan(sn_ir_graph_t *g, unsigned seed) {
  unsigned r = seed * 2654435761u;
#define NEXT() next_random(&r)
  if (g->count == 0) return;
  sn_ir_node_t *n = &g->nodes[NEXT() % (unsigned)g->count];
  int64_t deltas[] = {-64, 64, 4, -4, 1 << 20, -(1 << 20), 1};
  switch (NEXT() % 9) {
    case 0: n->arena_offset += deltas[NEXT() % 7]; break;
    case 1: { /* another node's slot */
      const sn_ir_node_t *o = &g->nodes[NEXT() % (unsigned)g->count];
      n->arena_offset = o->arena_offset;
      break;
    }
    case 2:
      if (n->shape.rank) n->shape.dims[NEXT() % (unsigned)n->shape.rank] += (int)(NEXT() % 5) - 2;
      break;
    case 3:
      if (n->num_inputs) n->inputs[NEXT() % (unsigned)n->num_inputs] = (int32_t)(NEXT() % 64);
      break;
    case 4: n->act = (sn_activation_t)(NEXT() % 6); break;
    case 5: n->pool = (sinter_pooling_t)(NEXT() % 6); break;
    case 6:
      g->outputs[NEXT() % (unsigned)g->num_outputs].node = (int32_t)(NEXT() % (unsigned)g->count);
      break;
    case 7: g->arena_bytes += deltas[NEXT() % 7]; break;
    case 8: n->heads = (int32_t)(NEXT() % 8); break;
  }
#undef NEXT
}

/* Decodes PLAN, mutates it, and writes it back when the encoding keeps its
 * size (numeric edits do). Returns 1 when it changed the data. */
static int structured_mutation(uint8_t *p, size_t size, unsigned seed) {
  uint64_t poff, plen, toff, tlen;
  if (!find_section(p, size, SN_SECTION_PLAN, &poff, &plen) ||
      !find_section(p, size, SN_SECTION_TENSORS, &toff, &tlen))
    return 0;
  sn_ir_graph_t g;
  sinter_error_t err;
  int changed = 0;
  if (sn_plan_decode(p + poff, (size_t)plen, p + toff, (size_t)tlen, "fuzz", &g, &err) ==
      SINTER_OK) {
    mutate_plan(&g, seed);
    sn_wbuf_t out = {0};
    uint64_t tsize, tsum;
    sn_plan_encode(&g, &out, &tsize, &tsum);
    if (!out.oom && out.n == plen) {
      memcpy(p + poff, out.p, out.n);
      changed = 1;
    }
    free(out.p);
  }
  sn_ir_graph_deinit(&g);
  return changed;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned seed) {
  if (seed % 2 == 0 && structured_mutation(data, size, seed)) return size;
  return LLVMFuzzerMutate(data, size, max_size);
}

/* A memory file the program is opened from: the loader maps a path. */
static int artifact_fd = -1;
static char artifact_path[64];

static void run_program(const uint8_t *data, size_t size) {
  if (artifact_fd < 0) {
    artifact_fd = memfd_create("fuzz.sinter", MFD_CLOEXEC);
    if (artifact_fd < 0) return;
    snprintf(artifact_path, sizeof artifact_path, "/proc/self/fd/%d", artifact_fd);
  }
  if (ftruncate(artifact_fd, 0) != 0 || pwrite(artifact_fd, data, size, 0) != (ssize_t)size) return;
  sinter_error_t err;
  FILE *sink = fopen("/dev/null", "w");
  if (sink) {
    sn_artifact_inspect(artifact_path, sink, &err);
    fclose(sink);
  }
  sinter_program_t *program = NULL;
  if (sinter_program_open(artifact_path, NULL, &program, &err) != SINTER_OK) return;
  sinter_program_info_t info;
  sinter_program_get_info(program, &info);
  const sinter_model_t *model = sinter_program_model(program);
  sinter_model_info_t m;
  sinter_model_get_info(model, &m);
  int32_t *ids = NULL, *types = NULL;
  size_t n = 0;
  if (sinter_model_tokenize(model, "Hello, fuzzing world!", 21, &ids, &types, &n, &err) == 0) {
    free(ids);
    free(types);
  }
  /* Plans whose arena is beyond the fuzzer's memory budget are verified,
   * not run. */
  sinter_session_t *session = NULL;
  if (info.arena_bytes <= (64 << 20) &&
      sinter_session_create_compiled(program, 1, &session, &err) == SINTER_OK) {
    int32_t a[5], b[2] = {0, 0};
    for (int i = 0; i < 5; i++) a[i] = m.vocab_size > 0 ? (int32_t)((7 * i + 1) % m.vocab_size) : 0;
    const int32_t *rows[2] = {a, b};
    size_t lens[2] = {5, 2};
    sinter_batch_t batch = {2, rows, NULL, lens};
    static const sinter_run_options_t runs[] = {{.pooling = SINTER_POOL_DEFAULT},
                                                {.pooling = SINTER_POOL_MAX, .normalize = 1}};
    for (int r = 0; r < 2; r++) {
      sinter_outputs_t out;
      if (sinter_session_run(session, &batch, &runs[r], &out, &err) != SINTER_OK) break;
      /* Touch every output the session hands out, as a caller would. */
      volatile float sum = 0;
      for (size_t i = 0; i < out.total_tokens * out.hidden_size; i++)
        sum += out.last_hidden_state[i];
      for (size_t i = 0; i < out.batch * out.embedding_dim; i++) sum += out.embeddings[i];
      for (size_t i = 0; out.logits && i < out.batch * out.num_labels; i++)
        sum += out.logits[i] + out.scores[i];
      for (size_t i = 0; out.pooler_output && i < out.batch * out.hidden_size; i++)
        sum += out.pooler_output[i];
      (void)sum;
    }
  }
  sinter_session_destroy(session);
  sinter_program_release(program);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int fix = -1;
  if (fix < 0) fix = getenv("SINTER_FUZZ_RAW") == NULL;
  uint8_t *copy = malloc(size ? size : 1);
  if (!copy) return 0;
  memcpy(copy, data, size);
  if (fix) fix_checksums(copy, size);
  sinter_error_t err;
  if (sn_artifact_check(copy, size, "fuzz.sinter", NULL, &err) == SINTER_OK)
    run_program(copy, size);
  free(copy);
  return 0;
}
