/*
 * fuzz_tokenizer_json.c — libFuzzer target: the folder loader on arbitrary
 * files held in memory. The input is split at NUL bytes into tokenizer.json,
 * tokenizer_config.json, special_tokens_map.json, sentence_bert_config.json and
 * vocab.txt (an empty piece is an absent file), so an input without NUL is a
 * lone tokenizer.json. Whatever loads must also encode a few fixed texts
 * without crashing, since hostile files must not be able to break encode.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

/* libFuzzer's entry point: loads `data` as above, encodes and decodes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const names[] = {"tokenizer.json", "tokenizer_config.json",
                                      "special_tokens_map.json", "sentence_bert_config.json",
                                      "vocab.txt"};
  sn_tokenizer_file_t files[5];
  size_t count = 0, start = 0;
  for (size_t piece = 0; piece < 5 && start < size; piece++) {
    const uint8_t *nul = memchr(data + start, 0, size - start);
    size_t end = nul ? (size_t)(nul - data) : size;
    if (end > start) {
      files[count++] = (sn_tokenizer_file_t){names[piece], (const char *)data + start, end - start};
    }
    start = end + 1;
  }
  sn_tokenizer_t *tok = NULL;
  sinter_error_t err;
  if (sn_tokenizer_load_files(files, count, "fuzz", &tok, &err) != SINTER_OK) return 0;
  static const char *const texts[] = {"",
                                      "Hello, world! [CLS] x[MASK]y",
                                      "naïve 東京 İ ΣΑΣ \t\n",
                                      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                      " it's  <s>x</s> <mask>  😀\xc2\xa0 123 ",
                                      "abcdabcdabcd ab cd"};
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
