/*
 * fuzz_tokenizer_json.c — libFuzzer target: the tokenizer.json loader on
 * arbitrary bytes. Whatever loads must also encode a few fixed texts without
 * crashing, since a hostile tokenizer.json must not be able to break encode.
 */
#include <stdint.h>
#include <stdlib.h>

#include "tokenizer/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sn_tokenizer_t *tok = NULL;
  sinter_error_t err;
  if (sn_tokenizer_load_json((const char *)data, size, "fuzz.json", &tok, &err) != SINTER_OK) {
    return 0;
  }
  static const char *const texts[] = {"", "Hello, world! [CLS] x[MASK]y", "naïve 東京 İ ΣΑΣ \t\n",
                                      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
  sn_encoding_t enc;
  sn_encoding_init(&enc);
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    size_t n = 0;
    while (texts[i][n]) n++;
    if (sn_tokenizer_encode(tok, texts[i], n, texts[0], 0, NULL, &enc, &err) == SINTER_OK) {
      char *out = NULL;
      if (sn_tokenizer_decode(tok, enc.ids, enc.length, 1, &out, NULL, &err) == SINTER_OK) {
        free(out);
      }
    }
  }
  sn_encoding_deinit(&enc);
  (void)sn_tokenizer_vocab_size(tok);
  sn_tokenizer_destroy(tok);
  return 0;
}
