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
#include "tokenizer/precompiled.h"

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
    *s = in->base;
    *e = in->base;
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

/* Gives every produced character its alignment from its change, as the
 * Rust transform does: change <= 0 takes the next consumed input
 * character's and consumes 1 - change of them; change 1 (inserted) takes the
 * last consumed one's. out->start holds the changes on entry. */
static void assign_alignments(const sn_text_t *in, sn_text_t *out) {
  size_t consumed = 0;
  for (size_t i = 0; i < out->len; i++) {
    int32_t change = (int32_t)out->start[i];
    if (change <= 0 && consumed < in->len) {
      out->start[i] = in->start[consumed];
      out->end[i] = in->end[consumed];
      consumed += (size_t)(1 - change);
    } else {
      last_align(in, consumed > in->len ? in->len : consumed, &out->start[i], &out->end[i]);
    }
  }
}

/* Decomposes `in` into `out` (canonically, or for compatibility) with the
 * unicode-normalization-alignments changes: 0 for the first character of a
 * decomposition, 1 for the others; runs of non-starters are stably sorted by
 * combining class, each character keeping its change. On return out->start
 * holds the changes and out->end the combining classes. */
static sinter_status_t decompose(const sn_text_t *in, sn_text_t *out, int compat,
                                 sinter_error_t *err) {
  out->len = 0;
  out->base = in->base;
  SN_TRY(sn_text_reserve(out, in->len + 8, err));
  for (size_t i = 0; i < in->len; i++) {
    uint32_t d[SN_UC_MAX_DECOMP];
    int k = compat ? sn_uc_decompose_compat(in->cp[i], d) : sn_uc_decompose(in->cp[i], d);
    SN_TRY(sn_text_reserve(out, (size_t)k, err));
    for (int j = 0; j < k; j++) {
      out->cp[out->len] = d[j];
      out->start[out->len] = j > 0 ? 1u : 0u;
      out->end[out->len] = (uint32_t)sn_uc_combining_class(d[j]);
      out->len++;
    }
  }
  /* Canonical ordering: insertion sort of each run of non-starters (runs are short). */
  for (size_t i = 0; i < out->len;) {
    if (out->end[i] == 0) {
      i++;
      continue;
    }
    size_t j = i;
    while (j < out->len && out->end[j] != 0) j++;
    for (size_t a = i + 1; a < j; a++) {
      uint32_t cp = out->cp[a], chg = out->start[a], ccc = out->end[a];
      size_t b = a;
      while (b > i && out->end[b - 1] > ccc) {
        out->cp[b] = out->cp[b - 1];
        out->start[b] = out->start[b - 1];
        out->end[b] = out->end[b - 1];
        b--;
      }
      out->cp[b] = cp;
      out->start[b] = chg;
      out->end[b] = ccc;
    }
    i = j;
  }
  return SINTER_OK;
}

/* Canonical composition of a decomposed `t` in place, as the Rust
 * Recompositions iterator does it: a starter (the composee) absorbs each
 * following character it composes with and that is not blocked; the
 * composite's change is the sum of both changes minus one, so that it
 * consumes what both consumed. The composee is written at `w` and the
 * characters it could not absorb wait right after it, at [w + 1, w + 1 +
 * pending), so that everything stays in place. */
static void compose(sn_text_t *t) {
  size_t w = 0, pending = 0;
  int have = 0;
  int last_ccc = -1;
  uint32_t k = 0;
  int32_t kc = 0;
  for (size_t i = 0; i < t->len; i++) {
    uint32_t ch = t->cp[i];
    int32_t chg = (int32_t)t->start[i];
    int cls = (int)t->end[i];
    if (!have) {
      if (cls != 0) {
        t->cp[w] = ch;
        t->start[w] = (uint32_t)chg;
        w++;
        continue;
      }
      have = 1;
      k = ch;
      kc = chg;
      continue;
    }
    if (last_ccc >= 0 && last_ccc >= cls) {
      /* Blocked from the composee. */
      if (cls == 0) {
        t->cp[w] = k;
        t->start[w] = (uint32_t)kc;
        w += 1 + pending;
        pending = 0;
        last_ccc = -1;
        k = ch;
        kc = chg;
        continue;
      }
    } else {
      uint32_t r = sn_uc_compose(k, ch);
      if (r) {
        k = r;
        kc = kc + chg - 1;
        continue;
      }
      if (last_ccc < 0 && cls == 0) {
        t->cp[w] = k;
        t->start[w] = (uint32_t)kc;
        w++;
        k = ch;
        kc = chg;
        continue;
      }
    }
    t->cp[w + 1 + pending] = ch;
    t->start[w + 1 + pending] = (uint32_t)chg;
    pending++;
    last_ccc = cls;
  }
  if (have) {
    t->cp[w] = k;
    t->start[w] = (uint32_t)kc;
    w += 1 + pending;
  }
  t->len = w;
}

/* NFD, NFKD, NFC or NFKC with the Rust alignment rules. */
static sinter_status_t unicode_normalize(sn_text_t *in, sn_text_t *out, int compat, int composed,
                                         sinter_error_t *err) {
  /* Quick checks: below U+00C0 nothing decomposes canonically, below
   * U+0300 nothing changes under NFC, and ASCII is NFKC-stable. */
  uint32_t limit = compat ? 0x80 : composed ? 0x300 : 0xC0;
  size_t i = 0;
  while (i < in->len && in->cp[i] < limit) i++;
  if (i == in->len) return SINTER_OK;
  SN_TRY(decompose(in, out, compat, err));
  if (composed) compose(out);
  assign_alignments(in, out);
  sn_text_t t = *in;
  *in = *out;
  *out = t;
  return SINTER_OK;
}

static sinter_status_t nfd(sn_text_t *in, sn_text_t *out, sinter_error_t *err) {
  if (!needs_nfd(in)) return SINTER_OK;
  return unicode_normalize(in, out, 0, 0, err);
}

/* Replace: every match of the pattern becomes `content`, each of its
 * characters inserted (change 1) after the removed ones, so it takes the
 * range of the match's last character (of the character before an empty
 * match; the text's start before the first). */
static sinter_status_t replace(const sn_norm_step_t *st, sn_text_t *in, sn_text_t *out,
                               sn_regex_scratch_t *rx, sn_spans_t *matches, sinter_error_t *err) {
  matches->len = 0;
  sn_span_t all = {0, (uint32_t)in->len};
  SN_TRY(sn_regex_find(&st->pattern, in, all, rx, matches, err));
  if (matches->len == 0) return SINTER_OK;
  size_t need = in->len + matches->len * st->content_len;
  out->len = 0;
  out->base = in->base;
  SN_TRY(sn_text_reserve(out, need, err));
  size_t prev = 0;
  for (size_t m = 0; m < matches->len; m++) {
    sn_span_t r = matches->v[m];
    for (size_t i = prev; i < r.start; i++) sn_text_push(out, in->cp[i], in->start[i], in->end[i]);
    uint32_t s, e;
    last_align(in, r.end, &s, &e);
    for (size_t j = 0; j < st->content_len; j++) sn_text_push(out, st->content[j], s, e);
    prev = r.end;
  }
  for (size_t i = prev; i < in->len; i++) sn_text_push(out, in->cp[i], in->start[i], in->end[i]);
  sn_text_t t = *in;
  *in = *out;
  *out = t;
  return SINTER_OK;
}

/* Prepend: `content` before the first character, every inserted character
 * (and the first one) with the first character's range. */
static sinter_status_t prepend(const sn_norm_step_t *st, sn_text_t *in, sn_text_t *out,
                               sinter_error_t *err) {
  if (in->len == 0 || st->content_len == 0) return SINTER_OK;
  out->len = 0;
  out->base = in->base;
  SN_TRY(sn_text_reserve(out, in->len + st->content_len, err));
  for (size_t j = 0; j < st->content_len; j++)
    sn_text_push(out, st->content[j], in->start[0], in->end[0]);
  for (size_t i = 0; i < in->len; i++) sn_text_push(out, in->cp[i], in->start[i], in->end[i]);
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

void sn_normalizer_free(sn_normalizer_t *n) {
  for (int s = 0; s < n->count; s++) {
    sn_norm_step_t *st = &n->steps[s];
    sn_regex_free(&st->pattern);
    free(st->content);
    sn_precompiled_free(st->precompiled);
    st->content = NULL;
    st->precompiled = NULL;
  }
  n->count = 0;
}

sinter_status_t sn_normalize(const sn_normalizer_t *n, sn_text_t *in, sn_text_t *tmp,
                             sn_regex_scratch_t *rx, sn_spans_t *matches, sinter_error_t *err) {
  tmp->base = in->base; /* the two swap roles below */
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
      case SN_NORM_NFC: SN_TRY(unicode_normalize(in, tmp, 0, 1, err)); break;
      case SN_NORM_NFKC: SN_TRY(unicode_normalize(in, tmp, 1, 1, err)); break;
      case SN_NORM_NFKD: SN_TRY(unicode_normalize(in, tmp, 1, 0, err)); break;
      case SN_NORM_REPLACE: SN_TRY(replace(st, in, tmp, rx, matches, err)); break;
      case SN_NORM_PREPEND: SN_TRY(prepend(st, in, tmp, err)); break;
      case SN_NORM_PRECOMPILED:
        SN_TRY(sn_precompiled_normalize(st->precompiled, in, tmp, err));
        break;
    }
  }
  return SINTER_OK;
}
