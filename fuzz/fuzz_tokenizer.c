/*
 * fuzz_tokenizer.c — libFuzzer target: encodes arbitrary bytes, alone and as a
 * pair, with the fixture MiniLM tokenizer (loaded once), plus decode of the
 * result. Invalid UTF-8 must be refused cleanly; everything else must encode
 * without crashes, leaks or undefined behaviour, and every offset must lie
 * inside its text.
 *
 * The tokenizer folder comes from SINTER_FUZZ_TOKENIZER_DIR, else from
 * tests/fixtures/tokenizer/minilm next to this file's repository.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

static sn_tokenizer_t *g_tok;
static sn_encoding_t g_enc;

static void load_once(void) {
  if (g_tok) return;
  const char *dir = getenv("SINTER_FUZZ_TOKENIZER_DIR");
  char buf[4096];
  if (!dir) {
    /* __FILE__ is .../fuzz/fuzz_tokenizer.c: go up to the repository root. */
    snprintf(buf, sizeof buf, "%s", __FILE__);
    char *slash = strrchr(buf, '/');
    if (slash) *slash = '\0';
    slash = strrchr(buf, '/');
    if (slash) {
      *slash = '\0';
      strncat(buf, "/tests/fixtures/tokenizer/minilm", sizeof buf - strlen(buf) - 1);
    } else {
      snprintf(buf, sizeof buf, "tests/fixtures/tokenizer/minilm");
    }
    dir = buf;
  }
  sinter_error_t err;
  if (sn_tokenizer_load_dir(dir, &g_tok, &err) != SINTER_OK) {
    fprintf(stderr, "fuzz_tokenizer: cannot load %s: %s\n", dir, err.message);
    abort();
  }
  sn_tokenizer_set_truncation(g_tok, NULL);
  sn_tokenizer_set_padding(g_tok, NULL);
  sn_encoding_init(&g_enc);
}

static void check(const sn_encoding_t *e, size_t alen, size_t blen) {
  for (size_t i = 0; i < e->length; i++) {
    size_t lim = e->sequence_ids[i] == 1 ? blen : alen;
    if (e->offsets[i].start > e->offsets[i].end || e->offsets[i].end > lim) abort();
    if (e->char_offsets[i].start > e->char_offsets[i].end) abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  load_once();
  sinter_error_t err;
  const char *text = (const char *)data;
  if (sn_tokenizer_encode(g_tok, text, size, NULL, 0, NULL, &g_enc, &err) == SINTER_OK) {
    check(&g_enc, size, 0);
    char *out = NULL;
    if (sn_tokenizer_decode(g_tok, g_enc.ids, g_enc.length, size & 1, &out, NULL, &err) ==
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
  if (sn_tokenizer_encode(g_tok, text, cut, text + cut, size - cut, &o, &g_enc, &err) ==
      SINTER_OK) {
    check(&g_enc, cut, size - cut);
  }
  return 0;
}
