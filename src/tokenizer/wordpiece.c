/*
 * wordpiece.c — the WordPiece model: greedy longest-match-first over a word,
 * continuation pieces prefixed with "##", and the whole word becoming one
 * unknown token when it is longer than max_input_chars_per_word or when some
 * part of it matches no piece (the Rust library's rules exactly).
 *
 * Continuation pieces are kept in a second hash table keyed without the prefix,
 * so a probe hashes a slice of the word directly instead of building
 * "##" + slice. Probes never try a slice longer than the longest key, which
 * keeps the search linear in the word length.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/internal.h"

static void wordpiece_destroy(void *p) {
  sn_wordpiece_t *wp = p;
  if (!wp) return;
  sn_vocab_free(&wp->vocab);
  sn_vocab_free(&wp->cont);
  free(wp->unk_token);
  free(wp->prefix);
  free(wp);
}

sinter_status_t sn_wordpiece_create(sn_vocab_t *vocab, const char *unk_token, const char *prefix,
                                    size_t max_input_chars_per_word, sn_wordpiece_t **out,
                                    sinter_error_t *err) {
  *out = NULL;
  sn_wordpiece_t *wp = calloc(1, sizeof *wp);
  if (!wp) {
    sn_vocab_free(vocab);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "WordPiece: out of memory");
  }
  wp->vocab = *vocab;
  memset(vocab, 0, sizeof *vocab);
  wp->cont.max_id = -1;
  wp->unk_token = sn_tok_strndup(unk_token, strlen(unk_token));
  wp->prefix = sn_tok_strndup(prefix, strlen(prefix));
  if (!wp->unk_token || !wp->prefix) {
    wordpiece_destroy(wp);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "WordPiece: out of memory");
  }
  wp->max_input_chars_per_word = max_input_chars_per_word;
  size_t plen = strlen(prefix);
  sinter_status_t st = SINTER_OK;
  for (size_t e = 0; e < wp->vocab.count && st == SINTER_OK; e++) {
    const char *k = wp->vocab.arena + wp->vocab.key_off[e];
    size_t klen = wp->vocab.key_len[e];
    if (klen > wp->max_token_bytes) wp->max_token_bytes = klen;
    if (plen > 0 && klen >= plen && memcmp(k, prefix, plen) == 0) {
      st = sn_vocab_put(&wp->cont, k + plen, klen - plen, wp->vocab.key_id[e], err);
    }
  }
  if (st == SINTER_OK) st = sn_vocab_finish(&wp->vocab, err);
  if (st != SINTER_OK) {
    wordpiece_destroy(wp);
    return st;
  }
  wp->unk_id = sn_vocab_get(&wp->vocab, unk_token, strlen(unk_token));
  *out = wp;
  return SINTER_OK;
}

static sinter_status_t push_unk(const sn_wordpiece_t *wp, sn_span_t word, sn_raw_tokens_t *out,
                                sinter_error_t *err) {
  if (wp->unk_id < 0) {
    return sn_error_set(err, SINTER_ERR_FORMAT,
                        "WordPiece: the unknown token \"%s\" is missing from the vocabulary",
                        wp->unk_token);
  }
  return sn_raw_tokens_push(out, wp->unk_id, word.start, word.end, err);
}

static sinter_status_t wordpiece_tokenize(const void *model, const sn_text_t *text, sn_span_t word,
                                          sn_model_scratch_t *sc, sn_raw_tokens_t *out,
                                          sinter_error_t *err) {
  const sn_wordpiece_t *wp = model;
  size_t nchars = word.end - word.start;
  if (nchars == 0) return SINTER_OK;
  if (nchars > wp->max_input_chars_per_word) return push_unk(wp, word, out, err);

  size_t need = nchars * 4;
  if (need > sc->cap) {
    size_t cap = need < 512 ? 512 : need;
    unsigned char *b = realloc(sc->bytes, cap);
    if (!b) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "WordPiece: out of memory");
    sc->bytes = b;
    uint32_t *m = realloc(sc->byte_cp, cap * sizeof *m);
    if (!m) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "WordPiece: out of memory");
    sc->byte_cp = m;
    sc->cap = cap;
  }
  size_t n = 0;
  for (size_t i = 0; i < nchars; i++) {
    uint32_t c = text->cp[word.start + i];
    if (c < 0x80) {
      sc->bytes[n] = (unsigned char)c;
      sc->byte_cp[n++] = (uint32_t)i;
    } else {
      size_t k = sn_utf8_encode(c, sc->bytes + n);
      for (size_t j = 0; j < k; j++) sc->byte_cp[n + j] = (uint32_t)i;
      n += k;
    }
  }
  const char *w = (const char *)sc->bytes;

  /* Whole word in the vocabulary: the common case. */
  int32_t id = sn_vocab_get(&wp->vocab, w, n);
  if (id >= 0) return sn_raw_tokens_push(out, id, word.start, word.end, err);

  size_t first = out->len;
  size_t start = 0;
  while (start < n) {
    const sn_vocab_t *table = start == 0 ? &wp->vocab : &wp->cont;
    size_t end = n;
    if (end - start > wp->max_token_bytes) {
      end = start + wp->max_token_bytes;
      while (end > start && (sc->bytes[end] & 0xC0) == 0x80) end--; /* char boundary */
    }
    int32_t found = -1;
    while (end > start) {
      found = sn_vocab_get(table, w + start, end - start);
      if (found >= 0) break;
      end--;
      while (end > start && (sc->bytes[end] & 0xC0) == 0x80) end--;
    }
    if (found < 0) {
      out->len = first; /* the whole word becomes [UNK] */
      return push_unk(wp, word, out, err);
    }
    uint32_t a = word.start + sc->byte_cp[start];
    uint32_t b = word.start + sc->byte_cp[end - 1] + 1;
    SN_TRY(sn_raw_tokens_push(out, found, a, b, err));
    start = end;
  }
  return SINTER_OK;
}

static int32_t wordpiece_token_to_id(const void *model, const char *tok, size_t len) {
  const sn_wordpiece_t *wp = model;
  return sn_vocab_get(&wp->vocab, tok, len);
}

static const char *wordpiece_id_to_token(const void *model, int32_t id, size_t *len) {
  const sn_wordpiece_t *wp = model;
  return sn_vocab_token(&wp->vocab, id, len);
}

static int32_t wordpiece_max_id(const void *model) {
  const sn_wordpiece_t *wp = model;
  return wp->vocab.max_id;
}

const sn_model_vtable_t sn_wordpiece_vtable = {
    .name = "WordPiece",
    .tokenize = wordpiece_tokenize,
    .token_to_id = wordpiece_token_to_id,
    .id_to_token = wordpiece_id_to_token,
    .max_id = wordpiece_max_id,
    .destroy = wordpiece_destroy,
};
