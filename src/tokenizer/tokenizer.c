/*
 * tokenizer.c — the encode pipeline (added tokens, normalizer, pre-tokenizer,
 * model), batches, decode and lookups.
 *
 * Order of stages follows the Rust Tokenizer::encode_single_sequence: added
 * tokens with normalized = false are split off the raw text first; each piece
 * in between is normalized on its own, then split on normalized added tokens,
 * pre-tokenized into words and tokenized word by word. Offsets are byte ranges
 * of the original text, carried through every stage by sn_text_t.
 *
 * Long plain pieces are processed in chunks cut at ASCII whitespace when the
 * configuration makes that invisible (a pre-tokenizer that splits on
 * whitespace, no normalized added tokens, no Strip), so working memory stays
 * bounded for megabyte texts.
 */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tokenizer/decoder.h"
#include "tokenizer/internal.h"

#define SN_CHUNK_BYTES (64 * 1024)

char *sn_tok_strndup(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (!p) return NULL;
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

sn_tokenizer_t *sn_tokenizer_alloc(void) {
  sn_tokenizer_t *tok = calloc(1, sizeof *tok);
  if (!tok) return NULL;
  tok->added_vocab.max_id = -1;
  tok->special_vocab.max_id = -1;
  tok->added_names.max_id = -1;
  return tok;
}

void sn_tokenizer_destroy(sn_tokenizer_t *tok) {
  if (!tok) return;
  if (tok->model_vt && tok->model) tok->model_vt->destroy(tok->model);
  sn_pretokenizer_free(&tok->pretokenizer);
  sn_normalizer_free(&tok->normalizer);
  sn_post_free(&tok->post);
  for (size_t i = 0; i < tok->added_len; i++) free(tok->added[i].content);
  free(tok->added);
  sn_trie_free(&tok->raw_trie);
  sn_trie_free(&tok->norm_trie);
  sn_vocab_free(&tok->added_vocab);
  sn_vocab_free(&tok->special_vocab);
  sn_vocab_free(&tok->added_names);
  sn_decoder_free(tok->decoder);
  free(tok);
}

sinter_status_t sn_raw_tokens_push(sn_raw_tokens_t *t, int32_t id, uint32_t start, uint32_t end,
                                   sinter_error_t *err) {
  if (t->len == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    sn_raw_token_t *v = realloc(t->v, cap * sizeof *v);
    if (!v) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "tokenizer: out of memory");
    t->v = v;
    t->cap = cap;
  }
  t->v[t->len].id = id;
  t->v[t->len].start = start;
  t->v[t->len].end = end;
  t->len++;
  return SINTER_OK;
}

sinter_status_t sn_model_word_bytes(sn_model_scratch_t *sc, const sn_text_t *text, sn_span_t word,
                                    size_t *out_n, sinter_error_t *err) {
  size_t need = (size_t)(word.end - word.start) * 4;
  if (need > sc->cap) {
    size_t cap = need < 512 ? 512 : need;
    unsigned char *b = realloc(sc->bytes, cap);
    if (b) sc->bytes = b;
    uint32_t *m = b ? realloc(sc->byte_cp, cap * sizeof *m) : NULL;
    if (m) sc->byte_cp = m;
    if (!b || !m) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "tokenizer: out of memory");
    sc->cap = cap;
  }
  size_t n = 0;
  for (uint32_t i = word.start; i < word.end; i++) {
    size_t k = sn_utf8_encode(text->cp[i], sc->bytes + n);
    for (size_t j = 0; j < k; j++) sc->byte_cp[n + j] = i - word.start;
    n += k;
  }
  *out_n = n;
  return SINTER_OK;
}

/* Decodes s[0..n) (valid UTF-8) into code points with their byte ranges. */
static sinter_status_t decode_text(const unsigned char *s, size_t n, uint32_t base, sn_text_t *t,
                                   sinter_error_t *err) {
  t->len = 0;
  t->base = base;
  SN_TRY(sn_text_reserve(t, n, err));
  size_t i = 0;
  while (i < n) {
    if (s[i] < 0x80) {
      sn_text_push(t, s[i], base + (uint32_t)i, base + (uint32_t)i + 1);
      i++;
      continue;
    }
    uint32_t cp = 0xFFFD;
    size_t k = sn_utf8_decode(s + i, n - i, &cp);
    if (k == 0) k = 1; /* validated earlier; defensive */
    sn_text_push(t, cp, base + (uint32_t)i, base + (uint32_t)(i + k));
    i += k;
  }
  return SINTER_OK;
}

sinter_status_t sn_tokenizer_finish_added(sn_tokenizer_t *tok, sinter_error_t *err) {
  sn_trie_free(&tok->raw_trie);
  sn_trie_free(&tok->norm_trie);
  sn_vocab_free(&tok->added_names);
  sn_text_t text = {0}, tmp = {0};
  sn_regex_scratch_t rx = {0};
  sn_spans_t matches = {0};
  unsigned char *utf8 = NULL;
  uint32_t *sym = NULL;
  sinter_status_t st = SINTER_OK;
  for (size_t i = 0; i < tok->added_len && st == SINTER_OK; i++) {
    sn_added_token_t *at = &tok->added[i];
    st = sn_vocab_put(&tok->added_vocab, at->content, at->len, at->id, err);
    if (st == SINTER_OK && at->special) {
      st = sn_vocab_put(&tok->special_vocab, at->content, at->len, at->id, err);
    }
    if (st != SINTER_OK || at->len == 0) continue;
    if (!at->normalized) {
      st = sn_vocab_put(&tok->added_names, at->content, at->len, at->id, err);
      if (st != SINTER_OK) break;
      uint32_t *p = realloc(sym, at->len * sizeof *sym);
      if (!p) {
        st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "added tokens: out of memory");
        break;
      }
      sym = p;
      for (size_t j = 0; j < at->len; j++) sym[j] = (unsigned char)at->content[j];
      st = sn_trie_insert(&tok->raw_trie, sym, at->len, (int32_t)i, err);
    } else {
      st = decode_text((const unsigned char *)at->content, at->len, 0, &text, err);
      if (st == SINTER_OK) st = sn_normalize(&tok->normalizer, &text, &tmp, &rx, &matches, err);
      if (st == SINTER_OK) st = sn_trie_insert(&tok->norm_trie, text.cp, text.len, (int32_t)i, err);
      /* The Rust library names a normalized token by its normalized content
       * (id_to_token), while token_to_id still takes the original content. */
      unsigned char *u = st == SINTER_OK ? realloc(utf8, text.len * 4 + 1) : NULL;
      if (st == SINTER_OK && !u) {
        st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "added tokens: out of memory");
      }
      if (u) {
        utf8 = u;
        size_t n = 0;
        for (size_t k = 0; k < text.len; k++) n += sn_utf8_encode(text.cp[k], utf8 + n);
        st = sn_vocab_put(&tok->added_names, (const char *)utf8, n, at->id, err);
      }
    }
  }
  if (st == SINTER_OK) st = sn_vocab_finish(&tok->added_vocab, err);
  if (st == SINTER_OK) st = sn_vocab_finish(&tok->special_vocab, err);
  if (st == SINTER_OK) st = sn_vocab_finish(&tok->added_names, err);
  free(sym);
  free(utf8);
  sn_text_free(&text);
  sn_text_free(&tmp);
  sn_regex_scratch_free(&rx);
  free(matches.v);
  /* Cutting a long segment at a whitespace character changes nothing when a
   * pre-tokenizer removes whitespace anyway and every normalizer works
   * character by character (no Strip, Replace, Prepend or charsmap, which
   * see the text's ends or runs of characters). */
  int ws_split = 0, local_norm = 1;
  for (int i = 0; i < tok->pretokenizer.count; i++) {
    sn_pretok_kind_t k = tok->pretokenizer.steps[i].kind;
    if (k == SN_PRETOK_BERT || k == SN_PRETOK_WHITESPACE || k == SN_PRETOK_WHITESPACE_SPLIT) {
      ws_split = 1;
    }
  }
  for (int i = 0; i < tok->normalizer.count; i++) {
    switch (tok->normalizer.steps[i].kind) {
      case SN_NORM_STRIP:
      case SN_NORM_REPLACE:
      case SN_NORM_PREPEND:
      case SN_NORM_PRECOMPILED: local_norm = 0; break;
      default: break;
    }
  }
  tok->chunkable = ws_split && local_norm && tok->norm_trie.len == 0;
  return st;
}

/* ------------------------------------------------------------ encoding objects */

sn_encode_options_t sn_encode_options_default(void) {
  sn_encode_options_t o;
  memset(&o, 0, sizeof o);
  o.add_special_tokens = 1;
  return o;
}

void sn_encoding_init(sn_encoding_t *enc) {
  memset(enc, 0, sizeof *enc);
}

void sn_encoding_deinit(sn_encoding_t *enc) {
  if (!enc) return;
  free(enc->ids);
  free(enc->type_ids);
  free(enc->attention_mask);
  free(enc->special_tokens_mask);
  free(enc->sequence_ids);
  free(enc->offsets);
  free(enc->char_offsets);
  struct sn_encoding_scratch *sc = enc->scratch;
  if (sc) {
    sn_text_free(&sc->seg);
    sn_text_free(&sc->tmp);
    free(sc->words.v);
    sn_pretok_scratch_free(&sc->pretok);
    sn_regex_scratch_free(&sc->norm_rx);
    free(sc->norm_matches.v);
    sn_unigram_scratch_free(sc->model.unigram);
    free(sc->raw.v);
    free(sc->model.bytes);
    free(sc->model.byte_cp);
    sn_bpe_scratch_free(sc->model.bpe);
    sn_bytelevel_scratch_free(&sc->bytelevel);
    for (int i = 0; i < 2; i++) {
      free(sc->seq[i].ids);
      free(sc->seq[i].off);
      free(sc->seq[i].ws);
    }
    free(sc->memo.ids);
    free(sc->memo.off);
    free(sc->memo.ws);
    free(sc);
  }
  memset(enc, 0, sizeof *enc);
}

/* ------------------------------------------------------------ one sequence */

typedef struct seq_ctx {
  const sn_tokenizer_t *tok;
  struct sn_encoding_scratch *sc;
  const unsigned char *s;
  size_t n;
  sn_seq_t *out;
} seq_ctx_t;

/* How many trim characters ('Ġ' or whitespace) the UTF-8 token string
 * s[0..n) starts and ends with, for the post-processor's offset trimming. */
static void count_trim(const unsigned char *s, size_t n, uint32_t *lead, uint32_t *trail) {
  *lead = *trail = 0;
  size_t i = 0;
  while (i < n) {
    uint32_t c = 0;
    size_t k = sn_utf8_decode(s + i, n - i, &c);
    if (!k || !sn_bytelevel_is_trim_char(c)) break;
    (*lead)++;
    i += k;
  }
  size_t j = n;
  while (j > 0) {
    size_t a = j - 1;
    while (a > 0 && (s[a] & 0xC0) == 0x80) a--;
    uint32_t c = 0;
    if (!sn_utf8_decode(s + a, j - a, &c) || !sn_bytelevel_is_trim_char(c)) break;
    (*trail)++;
    j = a;
  }
}

/* The same over code points text->cp[a, b). */
static void count_trim_cp(const sn_text_t *text, size_t a, size_t b, uint32_t *lead,
                          uint32_t *trail) {
  *lead = *trail = 0;
  size_t i = a, j = b;
  while (i < b && sn_bytelevel_is_trim_char(text->cp[i])) i++;
  while (j > a && sn_bytelevel_is_trim_char(text->cp[j - 1])) j--;
  *lead = (uint32_t)(i - a);
  *trail = (uint32_t)(b - j);
}

/* Appends the model's tokens in sc->raw (code point ranges of `text`). */
static sinter_status_t push_raw(seq_ctx_t *c, const sn_text_t *text, sinter_error_t *err) {
  const sn_tokenizer_t *tok = c->tok;
  const sn_raw_tokens_t *raw = &c->sc->raw;
  for (size_t i = 0; i < raw->len; i++) {
    const sn_raw_token_t *r = &raw->v[i];
    uint32_t lead = 0, trail = 0;
    if (tok->post.trim_offsets) {
      size_t n = 0;
      const char *t = tok->model_vt->id_to_token(tok->model, r->id, &n);
      if (t) count_trim((const unsigned char *)t, n, &lead, &trail);
    }
    SN_TRY(sn_seq_push_ws(c->out, r->id, text->start[r->start], text->end[r->end - 1], lead, trail,
                          err));
  }
  return SINTER_OK;
}

/* Pre-tokenizes seg[from, to) and runs the model over each word (each
 * byte-level piece of each word when the pre-tokenizer ends in ByteLevel). */
static sinter_status_t tokenize_words(seq_ctx_t *c, uint32_t from, uint32_t to,
                                      sinter_error_t *err) {
  struct sn_encoding_scratch *sc = c->sc;
  const sn_tokenizer_t *tok = c->tok;
  sc->words.len = 0;
  sn_span_t range = {from, to};
  const sn_text_t *text = NULL;
  SN_TRY(sn_pretokenize(&tok->pretokenizer, &sc->seg, range, &sc->words, &sc->pretok, &text, err));
  for (size_t w = 0; w < sc->words.len; w++) {
    if (!tok->pretokenizer.has_bytelevel) {
      sc->raw.len = 0;
      SN_TRY(tok->model_vt->tokenize(tok->model, text, sc->words.v[w], &sc->model, &sc->raw, err));
      SN_TRY(push_raw(c, text, err));
      continue;
    }
    sn_bytelevel_scratch_t *bl = &sc->bytelevel;
    SN_TRY(sn_bytelevel_split(&tok->pretokenizer.bytelevel, text, sc->words.v[w], bl, err));
    for (size_t p = 0; p < bl->pieces.len; p++) {
      sc->raw.len = 0;
      SN_TRY(tok->model_vt->tokenize(tok->model, &bl->text, bl->pieces.v[p], &sc->model, &sc->raw,
                                     err));
      SN_TRY(push_raw(c, &bl->text, err));
    }
  }
  return SINTER_OK;
}

static sinter_status_t on_normalized_split(void *ctx, int32_t token, size_t start, size_t end,
                                           sinter_error_t *err) {
  seq_ctx_t *c = ctx;
  if (start >= end) return SINTER_OK;
  if (token < 0) return tokenize_words(c, (uint32_t)start, (uint32_t)end, err);
  const sn_text_t *seg = &c->sc->seg;
  uint32_t lead = 0, trail = 0;
  /* An added token's string is the text it matched, stripped spaces
   * included (AddedVocabulary::split_with_indices). */
  if (c->tok->post.trim_offsets) count_trim_cp(seg, start, end, &lead, &trail);
  return sn_seq_push_ws(c->out, c->tok->added[token].id, seg->start[start], seg->end[end - 1], lead,
                        trail, err);
}

/* Normalizes and tokenizes the raw bytes s[a, b). */
static sinter_status_t tokenize_segment(seq_ctx_t *c, size_t a, size_t b, sinter_error_t *err) {
  struct sn_encoding_scratch *sc = c->sc;
  SN_TRY(decode_text(c->s + a, b - a, (uint32_t)a, &sc->seg, err));
  SN_TRY(
      sn_normalize(&c->tok->normalizer, &sc->seg, &sc->tmp, &sc->norm_rx, &sc->norm_matches, err));
  if (sc->seg.len == 0) return SINTER_OK;
  if (c->tok->norm_trie.len == 0) return tokenize_words(c, 0, (uint32_t)sc->seg.len, err);
  sn_span_t all = {0, (uint32_t)sc->seg.len};
  return sn_added_find_normalized(c->tok, &sc->seg, all, on_normalized_split, c, err);
}

static sinter_status_t on_raw_split(void *ctx, int32_t token, size_t start, size_t end,
                                    sinter_error_t *err) {
  seq_ctx_t *c = ctx;
  if (start >= end) return SINTER_OK;
  if (token >= 0) {
    uint32_t lead = 0, trail = 0;
    if (c->tok->post.trim_offsets) count_trim(c->s + start, end - start, &lead, &trail);
    return sn_seq_push_ws(c->out, c->tok->added[token].id, (uint32_t)start, (uint32_t)end, lead,
                          trail, err);
  }
  if (!c->tok->chunkable) return tokenize_segment(c, start, end, err);
  while (end - start > SN_CHUNK_BYTES) {
    size_t cut = start + SN_CHUNK_BYTES;
    while (cut < end && c->s[cut] != ' ' && c->s[cut] != '\n' && c->s[cut] != '\t' &&
           c->s[cut] != '\r') {
      cut++;
    }
    if (cut >= end) break;
    SN_TRY(tokenize_segment(c, start, cut, err));
    start = cut;
  }
  return tokenize_segment(c, start, end, err);
}

static sinter_status_t encode_sequence(const sn_tokenizer_t *tok, struct sn_encoding_scratch *sc,
                                       const char *text, size_t len, sn_seq_t *out,
                                       const char *what, sinter_error_t *err) {
  out->len = 0;
  if (len >= UINT32_MAX / 2) {
    return sn_error_set(err, SINTER_ERR_LIMIT, "%s: %zu bytes, limit is %u", what, len,
                        UINT32_MAX / 2 - 1);
  }
  if (len > 0 && !text) return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT, "%s is NULL", what);
  SN_TRY(sn_utf8_validate(text, len, what, err));
  const unsigned char *s = (const unsigned char *)text;
  seq_ctx_t c = {tok, sc, s, len, out};
  return sn_added_find_raw(tok, s, len, on_raw_split, &c, err);
}

static sinter_status_t ensure_scratch(sn_encoding_t *enc, sinter_error_t *err) {
  if (enc->scratch) return SINTER_OK;
  enc->scratch = calloc(1, sizeof *enc->scratch);
  if (!enc->scratch) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "encoding: out of memory");
  return SINTER_OK;
}

/* Copies n tokens of `from` into `to`, growing it. */
static sinter_status_t seq_copy(sn_seq_t *to, const sn_seq_t *from, sinter_error_t *err) {
  to->len = 0;
  if (from->len > to->cap) {
    int32_t *ids = realloc(to->ids, from->len * sizeof *ids);
    if (ids) to->ids = ids;
    sn_offset_t *off = ids ? realloc(to->off, from->len * sizeof *off) : NULL;
    if (off) to->off = off;
    sn_offset_t *ws = off ? realloc(to->ws, from->len * sizeof *ws) : NULL;
    if (ws) to->ws = ws;
    if (!ids || !off || !ws)
      return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "tokenizer: out of memory");
    to->cap = from->len;
  }
  if (from->len) {
    memcpy(to->ids, from->ids, from->len * sizeof *to->ids);
    memcpy(to->off, from->off, from->len * sizeof *to->off);
    memcpy(to->ws, from->ws, from->len * sizeof *to->ws);
  }
  to->len = from->len;
  return SINTER_OK;
}

/* Encodes text A into seq[0], or copies it from the memo when `reuse` and the
 * same text was encoded last (the memo keeps it before truncation cuts seq[0]). */
static sinter_status_t encode_first(const sn_tokenizer_t *tok, struct sn_encoding_scratch *sc,
                                    const char *text, size_t len, int reuse, sinter_error_t *err) {
  if (reuse && sc->memo_text && sc->memo_text == text && sc->memo_len == len)
    return seq_copy(&sc->seq[0], &sc->memo, err);
  sc->memo_text = NULL;
  SN_TRY(encode_sequence(tok, sc, text, len, &sc->seq[0], "text", err));
  if (!reuse) return SINTER_OK;
  SN_TRY(seq_copy(&sc->memo, &sc->seq[0], err));
  sc->memo_text = text;
  sc->memo_len = len;
  return SINTER_OK;
}

static sinter_status_t encode_unpadded(const sn_tokenizer_t *tok, const char *text, size_t len,
                                       const char *pair, size_t pair_len,
                                       const sn_encode_options_t *o, sn_encoding_t *enc,
                                       sinter_error_t *err) {
  enc->length = 0;
  SN_TRY(ensure_scratch(enc, err));
  struct sn_encoding_scratch *sc = enc->scratch;
  SN_TRY(encode_first(tok, sc, text, len, o->reuse_repeated_text, err));
  if (pair) SN_TRY(encode_sequence(tok, sc, pair, pair_len, &sc->seq[1], "pair text", err));
  return sn_post_assemble(tok, o, &sc->seq[0], text, len, pair ? &sc->seq[1] : NULL, pair, pair_len,
                          enc, err);
}

sinter_status_t sn_tokenizer_encode(const sn_tokenizer_t *tok, const char *text, size_t text_len,
                                    const char *pair, size_t pair_len,
                                    const sn_encode_options_t *options, sn_encoding_t *out,
                                    sinter_error_t *err) {
  sn_encode_options_t o = options ? *options : sn_encode_options_default();
  SN_TRY(encode_unpadded(tok, text, text_len, pair, pair_len, &o, out, err));
  const sn_padding_t *pad = o.padding ? o.padding : &tok->padding;
  if (pad->strategy != SN_PAD_NONE) {
    SN_TRY(sn_encoding_pad(out, sn_padding_target(pad, out->length), pad, err));
  }
  return SINTER_OK;
}

sinter_status_t sn_tokenizer_encode_batch(const sn_tokenizer_t *tok, size_t count,
                                          const char *const *texts, const size_t *lens,
                                          const char *const *pairs, const size_t *pair_lens,
                                          const sn_encode_options_t *options, sn_encoding_t *outs,
                                          sinter_error_t *err) {
  sn_encode_options_t o = options ? *options : sn_encode_options_default();
  size_t longest = 0;
  for (size_t i = 0; i < count; i++) {
    const char *t = texts[i];
    size_t tl = lens ? lens[i] : (t ? strlen(t) : 0);
    const char *p = pairs ? pairs[i] : NULL;
    size_t pl = p ? (pair_lens ? pair_lens[i] : strlen(p)) : 0;
    sinter_status_t st = encode_unpadded(tok, t, tl, p, pl, &o, &outs[i], err);
    if (st != SINTER_OK) {
      if (err) sn_error_prefix(err, "batch item %zu", i);
      return st;
    }
    if (outs[i].length > longest) longest = outs[i].length;
  }
  const sn_padding_t *pad = o.padding ? o.padding : &tok->padding;
  if (pad->strategy != SN_PAD_NONE) {
    size_t target = sn_padding_target(pad, longest);
    for (size_t i = 0; i < count; i++) SN_TRY(sn_encoding_pad(&outs[i], target, pad, err));
  }
  return SINTER_OK;
}

/* ------------------------------------------------------------ settings and lookups */

void sn_tokenizer_set_truncation(sn_tokenizer_t *tok, const sn_truncation_t *truncation) {
  if (truncation) {
    tok->truncation = *truncation;
  } else {
    memset(&tok->truncation, 0, sizeof tok->truncation);
  }
}

void sn_tokenizer_set_padding(sn_tokenizer_t *tok, const sn_padding_t *padding) {
  if (padding) {
    tok->padding = *padding;
  } else {
    memset(&tok->padding, 0, sizeof tok->padding);
  }
}

void sn_tokenizer_get_truncation(const sn_tokenizer_t *tok, sn_truncation_t *out) {
  *out = tok->truncation;
}

void sn_tokenizer_get_padding(const sn_tokenizer_t *tok, sn_padding_t *out) {
  *out = tok->padding;
}

size_t sn_tokenizer_vocab_size(const sn_tokenizer_t *tok) {
  int32_t m = tok->model_vt->max_id(tok->model);
  if (tok->added_vocab.max_id > m) m = tok->added_vocab.max_id;
  return (size_t)(m + 1);
}

int32_t sn_tokenizer_token_to_id(const sn_tokenizer_t *tok, const char *token, size_t len) {
  int32_t id = sn_vocab_get(&tok->added_vocab, token, len);
  if (id >= 0) return id;
  return tok->model_vt->token_to_id(tok->model, token, len);
}

const char *sn_tokenizer_id_to_token(const sn_tokenizer_t *tok, int32_t id, size_t *len) {
  const char *s = sn_vocab_token(&tok->added_names, id, len);
  if (s) return s;
  return tok->model_vt->id_to_token(tok->model, id, len);
}

const char *sn_tokenizer_model_name(const sn_tokenizer_t *tok) {
  return tok->model_vt->name;
}

/* ------------------------------------------------------------ decode */

sinter_status_t sn_tokenizer_decode(const sn_tokenizer_t *tok, const int32_t *ids, size_t count,
                                    int skip_special_tokens, char **out_text, size_t *out_len,
                                    sinter_error_t *err) {
  *out_text = NULL;
  if (out_len) *out_len = 0;
  const char **strs = malloc((count ? count : 1) * sizeof *strs);
  size_t *lens = malloc((count ? count : 1) * sizeof *lens);
  if (!strs || !lens) {
    free(strs);
    free(lens);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "decode: out of memory");
  }
  /* The token strings, unknown ids and (when asked) special tokens left out,
   * as the Rust Tokenizer::decode does before the decoder runs. */
  size_t n = 0;
  for (size_t i = 0; i < count; i++) {
    size_t len = 0;
    const char *s = sn_tokenizer_id_to_token(tok, ids[i], &len);
    if (!s) continue;
    if (skip_special_tokens && sn_vocab_get(&tok->special_vocab, s, len) >= 0) continue;
    strs[n] = s;
    lens[n++] = len;
  }
  size_t len = 0;
  sinter_status_t st = sn_decoder_decode(tok->decoder, strs, lens, n, out_text, &len, err);
  free(strs);
  free(lens);
  if (st == SINTER_OK && out_len) *out_len = len;
  return st;
}
