/*
 * normalizer.c — the normalization stage (BertNormalizer, NFD, Lowercase,
 * StripAccents, Strip) over code-point arrays that carry original offsets.
 *
 * Every stage reproduces the Rust NormalizedString::transform alignment rules,
 * because token offsets are computed from them: a produced character marked
 * "change 0" takes the alignment of the next consumed input character, one
 * marked "change 1" (inserted) takes the alignment of the last consumed input
 * character, or (0, 0) at the very start. NFD's canonical reordering moves
 * characters but not alignments, which the positional rule reproduces (a
 * reordered mark keeps the slot of the character it displaced, exactly as the
 * Rust library reports).
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/internal.h"

void sn_text_free(sn_text_t *t) {
  free(t->cp);
  free(t->start);
  free(t->end);
  memset(t, 0, sizeof *t);
}

sinter_status_t sn_text_reserve(sn_text_t *t, size_t extra, sinter_error_t *err) {
  if (t->len + extra <= t->cap) return SINTER_OK;
  size_t cap = t->cap ? t->cap : 64;
  while (cap < t->len + extra) {
    if (cap > SIZE_MAX / 8) return sn_error_set(err, SINTER_ERR_LIMIT, "text buffer too large");
    cap *= 2;
  }
  uint32_t *cp = realloc(t->cp, cap * sizeof *cp);
  if (cp) t->cp = cp;
  uint32_t *st = cp ? realloc(t->start, cap * sizeof *st) : NULL;
  if (st) t->start = st;
  uint32_t *en = st ? realloc(t->end, cap * sizeof *en) : NULL;
  if (en) t->end = en;
  if (!cp || !st || !en) {
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "tokenizer: cannot grow text buffer to %zu",
                        cap);
  }
  t->cap = cap;
  return SINTER_OK;
}

/* Alignment of an inserted character: the last consumed input character's. */
static void last_align(const sn_text_t *in, size_t consumed, uint32_t *s, uint32_t *e) {
  if (consumed == 0) {
    *s = 0;
    *e = 0;
  } else {
    *s = in->start[consumed - 1];
    *e = in->end[consumed - 1];
  }
}

/* clean_text: drop NUL, U+FFFD and control characters; whitespace -> ' '. In
 * place: filtering only removes, so alignments travel with their characters. */
static void clean_text(sn_text_t *t) {
  size_t w = 0;
  for (size_t i = 0; i < t->len; i++) {
    uint32_t c = t->cp[i];
    if (c == 0 || c == 0xFFFD || sn_uc_is_bert_control(c)) continue;
    if (sn_uc_is_bert_whitespace(c)) c = ' ';
    t->cp[w] = c;
    t->start[w] = t->start[i];
    t->end[w] = t->end[i];
    w++;
  }
  t->len = w;
}

static sinter_status_t chinese_chars(sn_text_t *in, sn_text_t *out, sinter_error_t *err) {
  size_t n = 0;
  for (size_t i = 0; i < in->len; i++) n += sn_uc_is_chinese(in->cp[i]) ? 3 : 1;
  if (n == in->len) return SINTER_OK; /* nothing to pad */
  out->len = 0;
  SN_TRY(sn_text_reserve(out, n, err));
  for (size_t i = 0; i < in->len; i++) {
    uint32_t c = in->cp[i];
    if (sn_uc_is_chinese(c)) {
      uint32_t s, e;
      last_align(in, i, &s, &e);
      sn_text_push(out, ' ', s, e);
      sn_text_push(out, c, in->start[i], in->end[i]);
      sn_text_push(out, ' ', in->start[i], in->end[i]);
    } else {
      sn_text_push(out, c, in->start[i], in->end[i]);
    }
  }
  sn_text_t t = *in;
  *in = *out;
  *out = t;
  return SINTER_OK;
}

static int needs_nfd(const sn_text_t *t) {
  for (size_t i = 0; i < t->len; i++) {
    if (t->cp[i] >= 0xC0) return 1;
  }
  return 0;
}

/* NFD with the Rust alignment rules. Produced items carry a "change" flag (1
 * for the second and later characters of a decomposition); runs of non-starters
 * are stably sorted by combining class with their flags, then alignments are
 * assigned positionally. */
static sinter_status_t nfd(sn_text_t *in, sn_text_t *out, sinter_error_t *err) {
  if (!needs_nfd(in)) return SINTER_OK;
  out->len = 0;
  /* out->end temporarily holds (ccc << 1 | change) for each produced item. */
  SN_TRY(sn_text_reserve(out, in->len + 8, err));
  for (size_t i = 0; i < in->len; i++) {
    uint32_t d[8];
    int k = sn_uc_decompose(in->cp[i], d);
    SN_TRY(sn_text_reserve(out, (size_t)k, err));
    for (int j = 0; j < k; j++) {
      uint32_t ccc = (uint32_t)sn_uc_combining_class(d[j]);
      out->cp[out->len] = d[j];
      out->end[out->len] = (ccc << 1) | (j > 0 ? 1u : 0u);
      out->len++;
    }
  }
  /* Canonical ordering: insertion sort of each run of non-starters (runs are short). */
  for (size_t i = 0; i < out->len;) {
    if ((out->end[i] >> 1) == 0) {
      i++;
      continue;
    }
    size_t j = i;
    while (j < out->len && (out->end[j] >> 1) != 0) j++;
    for (size_t a = i + 1; a < j; a++) {
      uint32_t cp = out->cp[a], meta = out->end[a];
      size_t b = a;
      while (b > i && (out->end[b - 1] >> 1) > (meta >> 1)) {
        out->cp[b] = out->cp[b - 1];
        out->end[b] = out->end[b - 1];
        b--;
      }
      out->cp[b] = cp;
      out->end[b] = meta;
    }
    i = j;
  }
  size_t consumed = 0;
  for (size_t i = 0; i < out->len; i++) {
    int change = (int)(out->end[i] & 1u);
    if (!change && consumed < in->len) {
      out->start[i] = in->start[consumed];
      out->end[i] = in->end[consumed];
      consumed++;
    } else {
      last_align(in, consumed, &out->start[i], &out->end[i]);
    }
  }
  sn_text_t t = *in;
  *in = *out;
  *out = t;
  return SINTER_OK;
}

static void strip_accents(sn_text_t *t) {
  size_t w = 0;
  for (size_t i = 0; i < t->len; i++) {
    if (sn_uc_is_mark_nonspacing(t->cp[i])) continue;
    t->cp[w] = t->cp[i];
    t->start[w] = t->start[i];
    t->end[w] = t->end[i];
    w++;
  }
  t->len = w;
}

static sinter_status_t lowercase(sn_text_t *in, sn_text_t *out, sinter_error_t *err) {
  size_t extra = 0;
  for (size_t i = 0; i < in->len; i++) {
    uint32_t c = in->cp[i];
    if (c < 0x80) {
      if (c >= 'A' && c <= 'Z') in->cp[i] = c + 32;
    } else if (c == 0x130) {
      extra++; /* the only character whose lowercase is two code points */
    } else {
      uint32_t lo[2];
      sn_uc_to_lowercase(c, lo);
      in->cp[i] = lo[0];
    }
  }
  if (extra == 0) return SINTER_OK;
  out->len = 0;
  SN_TRY(sn_text_reserve(out, in->len + extra, err));
  for (size_t i = 0; i < in->len; i++) {
    if (in->cp[i] == 0x130) {
      sn_text_push(out, 'i', in->start[i], in->end[i]);
      sn_text_push(out, 0x307, in->start[i], in->end[i]);
    } else {
      sn_text_push(out, in->cp[i], in->start[i], in->end[i]);
    }
  }
  sn_text_t t = *in;
  *in = *out;
  *out = t;
  return SINTER_OK;
}

static void strip(sn_text_t *t, int left, int right) {
  size_t a = 0, b = t->len;
  if (left) {
    while (a < b && sn_uc_is_whitespace(t->cp[a])) a++;
  }
  if (right) {
    while (b > a && sn_uc_is_whitespace(t->cp[b - 1])) b--;
  }
  if (a > 0) {
    memmove(t->cp, t->cp + a, (b - a) * sizeof *t->cp);
    memmove(t->start, t->start + a, (b - a) * sizeof *t->start);
    memmove(t->end, t->end + a, (b - a) * sizeof *t->end);
  }
  t->len = b - a;
}

sinter_status_t sn_normalize(const sn_normalizer_t *n, sn_text_t *in, sn_text_t *tmp,
                             sinter_error_t *err) {
  for (int s = 0; s < n->count; s++) {
    const sn_norm_step_t *st = &n->steps[s];
    switch (st->kind) {
      case SN_NORM_BERT:
        if (st->clean_text) clean_text(in);
        if (st->handle_chinese) SN_TRY(chinese_chars(in, tmp, err));
        if (st->strip_accents) {
          SN_TRY(nfd(in, tmp, err));
          strip_accents(in);
        }
        if (st->lowercase) SN_TRY(lowercase(in, tmp, err));
        break;
      case SN_NORM_NFD: SN_TRY(nfd(in, tmp, err)); break;
      case SN_NORM_LOWERCASE: SN_TRY(lowercase(in, tmp, err)); break;
      case SN_NORM_STRIP_ACCENTS: strip_accents(in); break;
      case SN_NORM_STRIP: strip(in, st->clean_text, st->handle_chinese); break;
    }
  }
  return SINTER_OK;
}
