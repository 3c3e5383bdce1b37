/*
 * fuzz_tokenizer.c — libFuzzer target: encodes arbitrary bytes, alone and as a
 * pair, with each fixture tokenizer kind (loaded once: MiniLM's WordPiece,
 * the byte-level BPE of RoBERTa and Qwen, the Unigram of XLM-R, DeBERTa-v3
 * and CamemBERT with their charsmaps, and the synthetic pipelines
 * spm_options and split_behaviors), plus decode of the result. Invalid UTF-8
 * must be refused cleanly; everything else must encode without crashes, leaks
 * or undefined behaviour, and every offset must lie inside its text.
 *
 * The tokenizer folder comes from SINTER_FUZZ_TOKENIZER_DIR (that one only),
 * else from those folders under tests/fixtures/tokenizer/ next to this file's
 * repository.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

#define KINDS 8
static sn_tokenizer_t *g_tok[KINDS];
static size_t g_count;
static sn_encoding_t g_enc;

static sn_tokenizer_t *load(const char *dir) {
  sn_tokenizer_t *tok = NULL;
  sinter_error_t err;
  if (sn_tokenizer_load_dir(dir, &tok, &err) != SINTER_OK) {
    fprintf(stderr, "fuzz_tokenizer: cannot load %s: %s\n", dir, err.message);
    abort();
  }
  sn_tokenizer_set_truncation(tok, NULL);
  sn_tokenizer_set_padding(tok, NULL);
  return tok;
}

static void load_once(void) {
  if (g_count) return;
  sn_encoding_init(&g_enc);
  const char *dir = getenv("SINTER_FUZZ_TOKENIZER_DIR");
  if (dir) {
    g_tok[g_count++] = load(dir);
    return;
  }
  /* __FILE__ is .../fuzz/fuzz_tokenizer.c: go up to the repository root. */
  char root[4096];
  snprintf(root, sizeof root, "%s", __FILE__);
  for (int up = 0; up < 2; up++) {
    char *slash = strrchr(root, '/');
    if (slash) {
      *slash = '\0';
    } else {
      snprintf(root, sizeof root, ".");
      break;
    }
  }
  static const char *const kinds[KINDS] = {"minilm",      "roberta",        "qwen",
                                           "xlmr",        "deberta_v3",     "camembert",
                                           "spm_options", "split_behaviors"};
  for (int k = 0; k < KINDS; k++) {
    char buf[4200];
    snprintf(buf, sizeof buf, "%s/tests/fixtures/tokenizer/%s", root, kinds[k]);
    g_tok[g_count++] = load(buf);
  }
}

static void check(const sn_encoding_t *e, size_t alen, size_t blen) {
  for (size_t i = 0; i < e->length; i++) {
    size_t lim = e->sequence_ids[i] == 1 ? blen : alen;
    if (e->offsets[i].start > e->offsets[i].end || e->offsets[i].end > lim) abort();
    if (e->char_offsets[i].start > e->char_offsets[i].end) abort();
  }
}

static void run(const sn_tokenizer_t *tok, const uint8_t *data, size_t size) {
  sinter_error_t err;
  const char *text = (const char *)data;
  if (sn_tokenizer_encode(tok, text, size, NULL, 0, NULL, &g_enc, &err) == SINTER_OK) {
    check(&g_enc, size, 0);
    char *out = NULL;
    if (sn_tokenizer_decode(tok, g_enc.ids, g_enc.length, size & 1, &out, NULL, &err) ==
        SINTER_OK) {
      free(out);
    }
  }
  /* The same bytes split in two as a pair, with truncation and padding on. */
  size_t cut = size ? data[0] % (size + 1) : 0;
  sn_truncation_t tr = {1, 16 + (size % 7), (sn_truncation_strategy_t)(size % 3),
                        (sn_side_t)(size % 2)};
  sn_padding_t pad = {SN_PAD_LONGEST, 0, 8, (sn_side_t)((size / 2) % 2), 0, 0};
  sn_encode_options_t o = sn_encode_options_default();
  o.truncation = &tr;
  o.padding = &pad;
  if (sn_tokenizer_encode(tok, text, cut, text + cut, size - cut, &o, &g_enc, &err) == SINTER_OK) {
    check(&g_enc, cut, size - cut);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  load_once();
  for (size_t k = 0; k < g_count; k++) run(g_tok[k], data, size);
  return 0;
}
