/*
 * pretokenizer.c — splits normalized text into words (BertPreTokenizer,
 * Whitespace, WhitespaceSplit, Punctuation and sequences of them).
 *
 * Each pre-tokenizer refines a list of spans over the normalized code points,
 * like the Rust PreTokenizedString::split: removed delimiters vanish, isolated
 * ones become their own word, and empty pieces are dropped.
 */
#include <stdlib.h>

#include "tokenizer/internal.h"

sinter_status_t sn_spans_push(sn_spans_t *s, uint32_t start, uint32_t end, sinter_error_t *err) {
  if (s->len == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    sn_span_t *v = realloc(s->v, cap * sizeof *v);
    if (!v) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "tokenizer: cannot grow word list");
    s->v = v;
    s->cap = cap;
  }
  s->v[s->len].start = start;
  s->v[s->len].end = end;
  s->len++;
  return SINTER_OK;
}

/* Splits one span according to `kind`, appending the pieces. */
static sinter_status_t split_span(sn_pretok_kind_t kind, const sn_text_t *t, sn_span_t r,
                                  sn_spans_t *out, sinter_error_t *err) {
  uint32_t word = r.start; /* start of the current piece */
  int word_class = -1;     /* Whitespace: class of the current run */
  for (uint32_t i = r.start; i < r.end; i++) {
    uint32_t c = t->cp[i];
    switch (kind) {
      case SN_PRETOK_BERT:
      case SN_PRETOK_WHITESPACE_SPLIT:
      case SN_PRETOK_PUNCTUATION: {
        int ws = kind != SN_PRETOK_PUNCTUATION && sn_uc_is_whitespace(c);
        int punct = !ws && kind != SN_PRETOK_WHITESPACE_SPLIT && sn_uc_is_punctuation(c);
        if (ws || punct) {
          if (word < i) SN_TRY(sn_spans_push(out, word, i, err));
          if (punct) SN_TRY(sn_spans_push(out, i, i + 1, err));
          word = i + 1;
        }
        break;
      }
      case SN_PRETOK_WHITESPACE: {
        /* \w+|[^\w\s]+ : runs of word characters or of other non-spaces. */
        int cls = sn_uc_is_word(c) ? 1 : sn_uc_is_whitespace(c) ? 0 : 2;
        if (cls != word_class) {
          if (word_class > 0 && word < i) SN_TRY(sn_spans_push(out, word, i, err));
          word = i;
          word_class = cls;
        }
        break;
      }
    }
  }
  if (kind == SN_PRETOK_WHITESPACE) {
    if (word_class > 0 && word < r.end) SN_TRY(sn_spans_push(out, word, r.end, err));
  } else if (word < r.end) {
    SN_TRY(sn_spans_push(out, word, r.end, err));
  }
  return SINTER_OK;
}

sinter_status_t sn_pretokenize(const sn_pretokenizer_t *p, const sn_text_t *text, sn_span_t range,
                               sn_spans_t *out, sn_spans_t *tmp, sinter_error_t *err) {
  if (range.start >= range.end) return SINTER_OK;
  if (p->count == 0) return sn_spans_push(out, range.start, range.end, err);
  if (p->count == 1) return split_span(p->steps[0], text, range, out, err);
  /* Sequence: refine step by step, ping-ponging between tmp and a second list
   * kept at the tail of `out`. */
  tmp->len = 0;
  SN_TRY(split_span(p->steps[0], text, range, tmp, err));
  size_t base = out->len;
  for (int s = 1; s < p->count; s++) {
    out->len = base;
    for (size_t i = 0; i < tmp->len; i++)
      SN_TRY(split_span(p->steps[s], text, tmp->v[i], out, err));
    if (s + 1 < p->count) {
      tmp->len = 0;
      for (size_t i = base; i < out->len; i++) {
        SN_TRY(sn_spans_push(tmp, out->v[i].start, out->v[i].end, err));
      }
    }
  }
  return SINTER_OK;
}
