/*
 * cmd_tokenize.c — `sinter tokenize`: prints what the tokenizer of a model
 * folder makes of texts, one JSON line per text (or pair), so users can check
 * tokenization against Hugging Face by eye or by script.
 *
 *   sinter tokenize --model DIR [--pair] [--max-length N] [TEXT...]
 *
 * Without TEXT, texts are read from stdin, one per line (with --pair, each line
 * holds the two texts separated by a TAB). Offsets are code point offsets
 * [start, end] into the text the token came from, as Python reports them.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "tokenizer/tokenizer.h"

static void usage(FILE *f) {
  fputs(
      "usage: sinter tokenize --model DIR [--pair] [--max-length N] [TEXT...]\n"
      "\n"
      "Tokenizes each TEXT (or each line of stdin when no TEXT is given) with the\n"
      "tokenizer of the model folder DIR and prints one JSON line per text with\n"
      "\"ids\", \"tokens\", \"type_ids\", \"offsets\" (code point [start, end]) and\n"
      "\"attention_mask\".\n"
      "\n"
      "  --model DIR       model folder (tokenizer.json or vocab.txt)\n"
      "  --pair            texts are pairs: TEXT arguments two at a time, or on\n"
      "                    stdin each line holds two texts separated by a TAB\n"
      "  --max-length N    truncate to N tokens (special tokens included)\n"
      "  --help            show this help\n",
      f);
}

static cJSON *int_array(const int32_t *v, size_t n) {
  cJSON *a = cJSON_CreateArray();
  for (size_t i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
  return a;
}

/* Prints one encoding as a JSON line; returns 0 on success. */
static int print_encoding(const sn_tokenizer_t *tok, const sn_encoding_t *enc) {
  cJSON *o = cJSON_CreateObject();
  if (!o) return -1;
  cJSON_AddItemToObject(o, "ids", int_array(enc->ids, enc->length));
  cJSON *tokens = cJSON_AddArrayToObject(o, "tokens");
  for (size_t i = 0; tokens && i < enc->length; i++) {
    const char *s = sn_tokenizer_id_to_token(tok, enc->ids[i], NULL);
    cJSON_AddItemToArray(tokens, cJSON_CreateString(s ? s : ""));
  }
  cJSON_AddItemToObject(o, "type_ids", int_array(enc->type_ids, enc->length));
  cJSON *offs = cJSON_AddArrayToObject(o, "offsets");
  for (size_t i = 0; offs && i < enc->length; i++) {
    int32_t pair[2] = {(int32_t)enc->char_offsets[i].start, (int32_t)enc->char_offsets[i].end};
    cJSON_AddItemToArray(offs, int_array(pair, 2));
  }
  cJSON_AddItemToObject(o, "attention_mask", int_array(enc->attention_mask, enc->length));
  char *s = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  if (!s) return -1;
  puts(s);
  free(s);
  return 0;
}

static int encode_one(const sn_tokenizer_t *tok, const char *a, size_t alen, const char *b,
                      size_t blen, sn_encoding_t *enc) {
  sinter_error_t err;
  if (sn_tokenizer_encode(tok, a, alen, b, blen, NULL, enc, &err) != SINTER_OK) {
    fprintf(stderr, "sinter tokenize: %s\n", err.message);
    return SN_EXIT_FAILURE;
  }
  if (print_encoding(tok, enc) != 0) {
    fprintf(stderr, "sinter tokenize: out of memory\n");
    return SN_EXIT_FAILURE;
  }
  return SN_EXIT_OK;
}

int sn_cmd_tokenize(int argc, char **argv) {
  const char *model = NULL;
  int pair = 0;
  long max_length = -1;
  int first_text = argc;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return SN_EXIT_OK;
    } else if (strcmp(a, "--model") == 0 && i + 1 < argc) {
      model = argv[++i];
    } else if (strcmp(a, "--pair") == 0) {
      pair = 1;
    } else if (strcmp(a, "--max-length") == 0 && i + 1 < argc) {
      char *end;
      errno = 0;
      max_length = strtol(argv[++i], &end, 10);
      if (errno || *end || max_length < 0 || max_length > 1000000) {
        fprintf(stderr, "sinter tokenize: --max-length wants a count, got \"%s\"\n", argv[i]);
        return SN_EXIT_USAGE;
      }
    } else if (strcmp(a, "--") == 0) {
      first_text = i + 1;
      break;
    } else if (a[0] == '-' && a[1] == '-') {
      fprintf(stderr, "sinter tokenize: unknown or incomplete option \"%s\"\n", a);
      usage(stderr);
      return SN_EXIT_USAGE;
    } else {
      first_text = i;
      break;
    }
  }
  if (!model) {
    fprintf(stderr, "sinter tokenize: --model DIR is required\n");
    usage(stderr);
    return SN_EXIT_USAGE;
  }
  int ntexts = argc - first_text;
  if (pair && ntexts % 2 != 0) {
    fprintf(stderr, "sinter tokenize: --pair needs an even number of texts, got %d\n", ntexts);
    return SN_EXIT_USAGE;
  }
  sn_tokenizer_t *tok = NULL;
  sinter_error_t err;
  if (sn_tokenizer_load_dir(model, &tok, &err) != SINTER_OK) {
    fprintf(stderr, "sinter tokenize: %s\n", err.message);
    return SN_EXIT_FAILURE;
  }
  /* One text at a time: padding would only add [PAD] noise to the output. */
  sn_tokenizer_set_padding(tok, NULL);
  if (max_length >= 0) {
    /* The special tokens count against max_length; below their number the
     * Rust library's subtraction wraps around and truncation silently does
     * nothing: refuse it instead. */
    sn_encoding_t empty;
    sn_encoding_init(&empty);
    size_t specials = 0;
    if (sn_tokenizer_encode(tok, "", 0, pair ? "" : NULL, 0, NULL, &empty, &err) == SINTER_OK)
      specials = empty.length;
    sn_encoding_deinit(&empty);
    if ((size_t)max_length < specials || max_length == 0) {
      fprintf(stderr,
              "sinter tokenize: --max-length %ld is less than the %zu special tokens every "
              "encoding has\n",
              max_length, specials);
      sn_tokenizer_destroy(tok);
      return SN_EXIT_USAGE;
    }
    sn_truncation_t tr = {1, (size_t)max_length, SN_TRUNCATE_LONGEST_FIRST, SN_SIDE_RIGHT};
    sn_tokenizer_set_truncation(tok, &tr);
  }
  sn_encoding_t enc;
  sn_encoding_init(&enc);
  int rc = SN_EXIT_OK;
  if (ntexts > 0) {
    for (int i = first_text; i < argc && rc == SN_EXIT_OK; i += pair ? 2 : 1) {
      const char *b = pair ? argv[i + 1] : NULL;
      rc = encode_one(tok, argv[i], strlen(argv[i]), b, b ? strlen(b) : 0, &enc);
    }
  } else {
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    size_t lineno = 0;
    while (rc == SN_EXIT_OK && (n = getline(&line, &cap, stdin)) >= 0) {
      lineno++;
      size_t len = (size_t)n;
      if (len > 0 && line[len - 1] == '\n') len--;
      if (len > 0 && line[len - 1] == '\r') len--;
      if (pair) {
        char *tab = memchr(line, '\t', len);
        if (!tab) {
          fprintf(stderr,
                  "sinter tokenize: stdin line %zu: --pair wants two texts split by a TAB\n",
                  lineno);
          rc = SN_EXIT_FAILURE;
          break;
        }
        size_t alen = (size_t)(tab - line);
        rc = encode_one(tok, line, alen, tab + 1, len - alen - 1, &enc);
      } else {
        rc = encode_one(tok, line, len, NULL, 0, &enc);
      }
      if (rc != SN_EXIT_OK) fprintf(stderr, "sinter tokenize: (stdin line %zu)\n", lineno);
    }
    free(line);
  }
  if (fflush(stdout) != 0 && rc == SN_EXIT_OK) {
    fprintf(stderr, "sinter tokenize: cannot write output: %s\n", strerror(errno));
    rc = SN_EXIT_FAILURE;
  }
  sn_encoding_deinit(&enc);
  sn_tokenizer_destroy(tok);
  return rc;
}
