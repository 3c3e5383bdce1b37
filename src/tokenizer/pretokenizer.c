/*
 * pretokenizer.c — splits normalized text into words (BertPreTokenizer,
 * Whitespace, WhitespaceSplit, Punctuation, Digits, Split and sequences of
 * them).
 *
 * Each pre-tokenizer refines a list of spans over the normalized code points,
 * like the Rust PreTokenizedString::split. A step first cuts a word into
 * events, alternating gaps and matches as the Rust Pattern::find_matches does
 * (a character predicate makes each matching character its own match; a
 * regex makes each of its matches one), then folds them by the step's
 * SplitDelimiterBehavior, and empty pieces are dropped. The four historical
 * pre-tokenizers keep a direct one-pass loop, which gives the same words.
 * A Metaspace step rewrites the words' text (metaspace.c); the steps after
 * it work on that text.
 */
#include <stdlib.h>
#include <string.h>

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

void sn_pretok_scratch_free(sn_pretok_scratch_t *sc) {
  free(sc->tmp.v);
  free(sc->next.v);
  sn_text_free(&sc->mapped);
  free(sc->found.v);
  free(sc->events.v);
  free(sc->is_match);
  sn_regex_scratch_free(&sc->rx);
  memset(sc, 0, sizeof *sc);
}

void sn_pretokenizer_free(sn_pretokenizer_t *p) {
  for (int i = 0; i < p->count; i++) sn_regex_free(&p->steps[i].pattern);
  sn_regex_free(&p->bytelevel.regex);
}

/* The one-pass splitters of the four historical pre-tokenizers. */
static sinter_status_t split_simple(sn_pretok_kind_t kind, const sn_text_t *t, sn_span_t r,
                                    sn_spans_t *out, sinter_error_t *err) {
  uint32_t word = r.start; /* start of the current piece */
  int word_class = -1;     /* Whitespace: class of the current run */
  for (uint32_t i = r.start; i < r.end; i++) {
    uint32_t c = t->cp[i];
    if (kind == SN_PRETOK_WHITESPACE) {
      /* \w+|[^\w\s]+ : runs of word characters or of other non-spaces. */
      int cls = sn_uc_is_word(c) ? 1 : sn_uc_is_whitespace(c) ? 0 : 2;
      if (cls != word_class) {
        if (word_class > 0 && word < i) SN_TRY(sn_spans_push(out, word, i, err));
        word = i;
        word_class = cls;
      }
      continue;
    }
    int ws = kind != SN_PRETOK_PUNCTUATION && sn_uc_is_whitespace(c);
    int punct = !ws && kind != SN_PRETOK_WHITESPACE_SPLIT && sn_uc_is_punctuation(c);
    if (ws || punct) {
      if (word < i) SN_TRY(sn_spans_push(out, word, i, err));
      if (punct) SN_TRY(sn_spans_push(out, i, i + 1, err));
      word = i + 1;
    }
  }
  if (kind == SN_PRETOK_WHITESPACE) {
    if (word_class > 0 && word < r.end) SN_TRY(sn_spans_push(out, word, r.end, err));
  } else if (word < r.end) {
    SN_TRY(sn_spans_push(out, word, r.end, err));
  }
  return SINTER_OK;
}

static sinter_status_t push_event(sn_pretok_scratch_t *sc, uint32_t start, uint32_t end,
                                  int is_match, sinter_error_t *err) {
  if (sc->events.len == sc->is_match_cap) {
    size_t cap = sc->is_match_cap ? sc->is_match_cap * 2 : 64;
    uint8_t *m = realloc(sc->is_match, cap);
    if (!m) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "tokenizer: out of memory");
    sc->is_match = m;
    sc->is_match_cap = cap;
  }
  sc->is_match[sc->events.len] = (uint8_t)(is_match != 0);
  return sn_spans_push(&sc->events, start, end, err);
}

/* Rust char::is_numeric: general categories Nd, Nl and No. */
static int is_numeric(uint32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  return sn_uc_is_numeric(c);
}

/* Cuts t[r] into events (gaps and matches) for the step. */
static sinter_status_t find_events(const sn_pretok_step_t *st, const sn_text_t *t, sn_span_t r,
                                   sn_pretok_scratch_t *sc, sinter_error_t *err) {
  sc->events.len = 0;
  if (st->kind == SN_PRETOK_SPLIT) {
    sc->found.len = 0;
    SN_TRY(sn_regex_find(&st->pattern, t, r, &sc->rx, &sc->found, err));
    uint32_t prev = r.start;
    for (size_t i = 0; i < sc->found.len; i++) {
      sn_span_t m = sc->found.v[i];
      if (prev != m.start) SN_TRY(push_event(sc, prev, m.start, st->invert, err));
      SN_TRY(push_event(sc, m.start, m.end, !st->invert, err));
      prev = m.end;
    }
    if (prev != r.end) SN_TRY(push_event(sc, prev, r.end, st->invert, err));
    return SINTER_OK;
  }
  uint32_t gap = r.start;
  for (uint32_t i = r.start; i < r.end; i++) {
    uint32_t c = t->cp[i];
    int hit = st->kind == SN_PRETOK_DIGITS ? is_numeric(c) : sn_uc_is_punctuation(c);
    if (!hit) continue;
    if (gap < i) SN_TRY(push_event(sc, gap, i, 0, err));
    SN_TRY(push_event(sc, i, i + 1, 1, err));
    gap = i + 1;
  }
  if (gap < r.end) SN_TRY(push_event(sc, gap, r.end, 0, err));
  return SINTER_OK;
}

static sinter_status_t push_piece(sn_spans_t *out, uint32_t start, uint32_t end,
                                  sinter_error_t *err) {
  return start < end ? sn_spans_push(out, start, end, err) : SINTER_OK;
}

/* Folds the events into words by the behavior (NormalizedString::split). */
static sinter_status_t fold_events(sn_split_behavior_t behavior, const sn_pretok_scratch_t *sc,
                                   sn_spans_t *out, sinter_error_t *err) {
  const sn_span_t *ev = sc->events.v;
  const uint8_t *m = sc->is_match;
  size_t n = sc->events.len;
  switch (behavior) {
    case SN_SPLIT_REMOVED:
      for (size_t i = 0; i < n; i++) {
        if (!m[i]) SN_TRY(push_piece(out, ev[i].start, ev[i].end, err));
      }
      return SINTER_OK;
    case SN_SPLIT_ISOLATED:
      for (size_t i = 0; i < n; i++) SN_TRY(push_piece(out, ev[i].start, ev[i].end, err));
      return SINTER_OK;
    case SN_SPLIT_CONTIGUOUS:
    case SN_SPLIT_MERGED_WITH_PREVIOUS: {
      /* A match joins the piece before it when that piece ended in a match
       * (Contiguous) or in a gap (MergedWithPrevious). */
      size_t i = 0;
      while (i < n) {
        uint32_t start = ev[i].start, end = ev[i].end;
        size_t j = i + 1;
        if (behavior == SN_SPLIT_CONTIGUOUS) {
          while (j < n && m[j] && m[j - 1]) end = ev[j++].end;
        } else if (!m[i] && j < n && m[j]) {
          end = ev[j++].end;
        }
        SN_TRY(push_piece(out, start, end, err));
        i = j;
      }
      return SINTER_OK;
    }
    case SN_SPLIT_MERGED_WITH_NEXT:
      /* A match followed by a gap starts that gap's piece. */
      for (size_t i = 0; i < n; i++) {
        if (m[i] && i + 1 < n && !m[i + 1]) {
          SN_TRY(push_piece(out, ev[i].start, ev[i + 1].end, err));
          i++;
        } else {
          SN_TRY(push_piece(out, ev[i].start, ev[i].end, err));
        }
      }
      return SINTER_OK;
  }
  return SINTER_OK;
}

static sinter_status_t split_span(const sn_pretok_step_t *st, const sn_text_t *t, sn_span_t r,
                                  sn_spans_t *out, sn_pretok_scratch_t *sc, sinter_error_t *err) {
  switch (st->kind) {
    case SN_PRETOK_BERT:
    case SN_PRETOK_WHITESPACE:
    case SN_PRETOK_WHITESPACE_SPLIT: return split_simple(st->kind, t, r, out, err);
    case SN_PRETOK_PUNCTUATION:
      if (st->behavior == SN_SPLIT_ISOLATED) return split_simple(st->kind, t, r, out, err);
      break;
    case SN_PRETOK_DIGITS:
    case SN_PRETOK_SPLIT: break;
    case SN_PRETOK_METASPACE: return sn_spans_push(out, r.start, r.end, err); /* not here */
  }
  SN_TRY(find_events(st, t, r, sc, err));
  return fold_events(st->behavior, sc, out, err);
}

sinter_status_t sn_pretokenize(const sn_pretokenizer_t *p, const sn_text_t *text, sn_span_t range,
                               sn_spans_t *out, sn_pretok_scratch_t *sc,
                               const sn_text_t **words_text, sinter_error_t *err) {
  *words_text = text;
  if (range.start >= range.end) return SINTER_OK;
  if (p->count == 0) return sn_spans_push(out, range.start, range.end, err);
  if (p->count == 1 && p->steps[0].kind != SN_PRETOK_METASPACE) {
    return split_span(&p->steps[0], text, range, out, sc, err);
  }
  /* A sequence: the words of each step are the input of the next. */
  sn_spans_t *cur = &sc->tmp, *next = &sc->next;
  cur->len = 0;
  SN_TRY(sn_spans_push(cur, range.start, range.end, err));
  for (int s = 0; s < p->count; s++) {
    next->len = 0;
    if (p->steps[s].kind == SN_PRETOK_METASPACE) {
      sc->mapped.len = 0;
      sc->mapped.base = text->base;
      for (size_t i = 0; i < cur->len; i++) {
        SN_TRY(sn_metaspace_map(&p->metaspace, text, cur->v[i], &sc->mapped, next, err));
      }
      text = &sc->mapped;
    } else {
      for (size_t i = 0; i < cur->len; i++) {
        SN_TRY(split_span(&p->steps[s], text, cur->v[i], next, sc, err));
      }
    }
    sn_spans_t *t = cur;
    cur = next;
    next = t;
  }
  for (size_t i = 0; i < cur->len; i++)
    SN_TRY(sn_spans_push(out, cur->v[i].start, cur->v[i].end, err));
  *words_text = text;
  return SINTER_OK;
}
