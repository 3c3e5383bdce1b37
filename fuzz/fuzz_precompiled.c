/*
 * fuzz_precompiled.c — libFuzzer target: the Precompiled normalizer
 * (src/tokenizer/precompiled.c) on arbitrary charsmaps and texts. Parsing
 * must refuse bad blobs cleanly, normalizing must never read outside the
 * trie or the replacement strings, and every output character's original
 * range must lie inside the text.
 *
 * Input layout: byte 0 picks the mode (low 2 bits), bytes 1-2 (LE) the split
 * between a charsmap part and a text part of the rest:
 *   0: the charsmap part is a raw blob (sn_precompiled_from_blob);
 *   1: the charsmap part is base64 text (sn_precompiled_parse);
 *   2: SentencePiece's nmt_nfkc map, the whole rest is text;
 *   3: the hand-made map of the fixture, the whole rest is text.
 * Texts are UTF-8-ish: invalid bytes become U+FFFD (one per byte), as
 * they could not reach the normalizer otherwise. The real maps come from
 * tests/fixtures/tokenizer/precompiled_cases.json next to this file's
 * repository (SINTER_FUZZ_PRECOMPILED names another copy).
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "tokenizer/internal.h"
#include "tokenizer/precompiled.h"

static sn_precompiled_t *g_real[2]; /* nmt_nfkc, hand */
static int g_loaded;
static sn_text_t g_text, g_tmp;

/* Parses the fixture's charsmaps once; aborts when they cannot be had. */
static void load_once(void) {
  if (g_loaded) return;
  g_loaded = 1;
  char path[4200];
  const char *env = getenv("SINTER_FUZZ_PRECOMPILED");
  if (env) {
    snprintf(path, sizeof path, "%s", env);
  } else {
    /* __FILE__ is .../fuzz/fuzz_precompiled.c: go up to the repository root. */
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
    snprintf(path, sizeof path, "%s/tests/fixtures/tokenizer/precompiled_cases.json", root);
  }
  char *data = NULL;
  size_t size = 0;
  sinter_error_t err;
  if (sn_file_read_all(path, 64u << 20, &data, &size, &err) != SINTER_OK) {
    fprintf(stderr, "fuzz_precompiled: %s\n", err.message);
    abort();
  }
  cJSON *doc = cJSON_ParseWithLength(data, size);
  free(data);
  static const char *const names[2] = {"nmt_nfkc", "hand"};
  const cJSON *m;
  cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(doc, "charsmaps")) {
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(m, "name");
    const cJSON *cm = cJSON_GetObjectItemCaseSensitive(m, "charsmap");
    for (int k = 0; k < 2; k++) {
      if (!cJSON_IsString(nm) || !cJSON_IsString(cm) || strcmp(nm->valuestring, names[k]) != 0) {
        continue;
      }
      if (sn_precompiled_parse(cm->valuestring, strlen(cm->valuestring), names[k], &g_real[k],
                               &err) != SINTER_OK) {
        fprintf(stderr, "fuzz_precompiled: %s\n", err.message);
        abort();
      }
    }
  }
  cJSON_Delete(doc);
  if (!g_real[0] || !g_real[1]) {
    fprintf(stderr, "fuzz_precompiled: %s lacks the nmt_nfkc or hand charsmap\n", path);
    abort();
  }
}

/* Normalizes s[0..n) (as UTF-8-ish text) with pc and checks the ranges. */
static void run(const sn_precompiled_t *pc, const uint8_t *s, size_t n) {
  sinter_error_t err;
  g_text.len = 0;
  if (sn_text_reserve(&g_text, n + 1, &err) != SINTER_OK) return;
  for (size_t i = 0; i < n;) {
    uint32_t cp = 0xFFFD;
    size_t k = sn_utf8_decode(s + i, n - i, &cp);
    if (k == 0) {
      cp = 0xFFFD;
      k = 1;
    }
    sn_text_push(&g_text, cp, (uint32_t)i, (uint32_t)(i + k));
    i += k;
  }
  if (sn_precompiled_normalize(pc, &g_text, &g_tmp, &err) != SINTER_OK) return;
  for (size_t i = 0; i < g_text.len; i++) {
    if (g_text.start[i] > g_text.end[i] || g_text.end[i] > n) abort();
    if (g_text.cp[i] > 0x10FFFF || (g_text.cp[i] >= 0xD800 && g_text.cp[i] < 0xE000)) abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  load_once();
  if (size < 3) return 0;
  int mode = data[0] & 3;
  const uint8_t *rest = data + 3;
  size_t nrest = size - 3;
  if (mode >= 2) {
    run(g_real[mode - 2], rest, nrest);
    return 0;
  }
  size_t split = ((size_t)data[1] | (size_t)data[2] << 8) % (nrest + 1);
  const uint8_t *text = rest + split;
  size_t ntext = nrest - split;
  /* Any replacement may be as long as the blob: keep the output bounded. */
  if (ntext > 512) ntext = 512;
  sn_precompiled_t *pc = NULL;
  sinter_error_t err;
  sinter_status_t st = mode == 0
                           ? sn_precompiled_from_blob(rest, split, "fuzz", &pc, &err)
                           : sn_precompiled_parse((const char *)rest, split, "fuzz", &pc, &err);
  if (st != SINTER_OK) {
    if (pc || (st != SINTER_ERR_FORMAT && st != SINTER_ERR_OUT_OF_MEMORY)) abort();
    return 0;
  }
  run(pc, text, ntext);
  sn_precompiled_free(pc);
  return 0;
}
