/*
 * decoder.c — the tokenizer.json "decoder" chain, with the semantics of the
 * Rust `tokenizers` library 0.23 (tokenizers/src/decoders/, and the
 * decoder halves of pre_tokenizers/metaspace.rs, pre_tokenizers/byte_level.rs
 * and normalizers/replace.rs).
 *
 * Each Rust decoder maps Vec<String> to Vec<String>; the number of strings a
 * step yields matters to the next one (WordPiece and Metaspace treat token 0
 * apart, BPEDecoder the last token), so the chain here is the same: each step
 * reads a list of strings and writes a new one, two lists used in turn. A
 * list is one byte buffer plus the end offset of every string, so the final
 * list's buffer already is the join with "" that Decoder::decode returns.
 *
 * Every step costs time and memory linear in its input (literal search is
 * memchr/memcmp for short needles and KMP for long ones), so a decode is
 * bounded by the input size times the chain's fixed expansion factors.
 */
#include "tokenizer/decoder.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/internal.h"

/* ------------------------------------------------------------ the chain */

typedef enum sn_dec_kind {
  SN_DEC_WORDPIECE = 1,
  SN_DEC_BYTELEVEL,
  SN_DEC_METASPACE,
  SN_DEC_BYTEFALLBACK,
  SN_DEC_FUSE,
  SN_DEC_STRIP,
  SN_DEC_REPLACE,
  SN_DEC_BPE,
  SN_DEC_CTC,
} sn_dec_kind_t;

/* Needles up to this many bytes are searched with memchr + memcmp, which is
 * linear for them; longer ones get a KMP table so no search is quadratic. */
#define SN_NEEDLE_SHORT 8

/* A literal searched for in token strings. */
typedef struct sn_needle {
  char *s;
  size_t n;
  size_t *fail; /* KMP failure table when n > SN_NEEDLE_SHORT, else NULL */
} sn_needle_t;

/* One step of the chain; which fields are used depends on `kind`. */
typedef struct sn_dec_step {
  sn_dec_kind_t kind;
  sn_needle_t pat;   /* WordPiece prefix, Replace pattern, BPEDecoder suffix, CTC pad token */
  sn_needle_t delim; /* CTC word delimiter */
  char *content;     /* Replace content */
  size_t content_len;
  unsigned char ch[4]; /* Metaspace replacement / Strip content, as UTF-8 */
  size_t ch_len;
  int flag;           /* WordPiece/CTC cleanup; Metaspace: token 0 drops the replacement */
  size_t start, stop; /* Strip */
} sn_dec_step_t;

struct sn_decoder {
  sn_dec_step_t *steps; /* Sequences flattened: applying them in order is the same */
  size_t count, cap;
};

/* ------------------------------------------------------------ buffers */

/* A growable byte buffer; an allocation failure sets `failed` and later puts
 * are no-ops, so a step checks once at its end. */
typedef struct bytebuf {
  char *p;
  size_t len, cap;
  int failed;
} bytebuf_t;

/* Ensures room for `extra` more bytes plus a NUL, failing on overflow. */
static int bb_reserve(bytebuf_t *b, size_t extra) {
  if (b->failed) return 0;
  if (extra > SIZE_MAX / 2 - b->len) {
    b->failed = 1;
    return 0;
  }
  size_t need = b->len + extra + 1;
  if (need <= b->cap) return 1;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) {
    b->failed = 1;
    return 0;
  }
  b->p = p;
  b->cap = cap;
  return 1;
}

/* Appends s[0..n). */
static void bb_put(bytebuf_t *b, const void *s, size_t n) {
  if (n == 0 || !bb_reserve(b, n)) return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

/* Swaps two buffers' contents (ping-pong between a result and a scratch). */
static void bb_swap(bytebuf_t *a, bytebuf_t *b) {
  bytebuf_t t = *a;
  *a = *b;
  *b = t;
}

/* A list of strings: string i is buf.p[i ? end[i-1] : 0 .. end[i]). Bytes
 * put after the last end form the open string, which sl_end closes. */
typedef struct strlist {
  bytebuf_t buf;
  size_t *end;
  size_t count, ecap;
} strlist_t;

/* Closes the open string (possibly empty) as the list's next string. */
static void sl_end(strlist_t *l) {
  if (l->buf.failed) return;
  if (l->count == l->ecap) {
    size_t cap = l->ecap ? l->ecap * 2 : 16;
    if (cap > SIZE_MAX / sizeof *l->end) {
      l->buf.failed = 1;
      return;
    }
    size_t *e = realloc(l->end, cap * sizeof *e);
    if (!e) {
      l->buf.failed = 1;
      return;
    }
    l->end = e;
    l->ecap = cap;
  }
  l->end[l->count++] = l->buf.len;
}

/* Empties the list, keeping its memory. */
static void sl_reset(strlist_t *l) {
  l->buf.len = 0;
  l->count = 0;
}

/* Byte length of the list's strings joined (bytes of an open string left
 * after the last end excluded). */
static size_t sl_closed_len(const strlist_t *l) {
  return l->count ? l->end[l->count - 1] : 0;
}

/* A step's input: the caller's tokens (first step) or the previous list. */
typedef struct src {
  const char *const *tokens;
  const size_t *lens;
  const strlist_t *list;
  size_t count;
} src_t;

/* String i of the input, its length in *n. */
static const char *src_get(const src_t *s, size_t i, size_t *n) {
  if (s->list) {
    size_t a = i ? s->list->end[i - 1] : 0;
    *n = s->list->end[i] - a;
    return s->list->buf.p ? s->list->buf.p + a : ""; /* NULL: only empty strings */
  }
  *n = s->lens[i];
  return s->tokens[i] ? s->tokens[i] : "";
}

/* ------------------------------------------------------------ literal search */

/* Builds the KMP table of a long needle (the length of the longest proper
 * border of each prefix). 0 on allocation failure. */
static int needle_prepare(sn_needle_t *nd) {
  nd->fail = NULL;
  if (nd->n <= SN_NEEDLE_SHORT) return 1;
  nd->fail = malloc(nd->n * sizeof *nd->fail);
  if (!nd->fail) return 0;
  nd->fail[0] = 0;
  size_t k = 0;
  for (size_t i = 1; i < nd->n; i++) {
    while (k > 0 && nd->s[i] != nd->s[k]) k = nd->fail[k - 1];
    if (nd->s[i] == nd->s[k]) k++;
    nd->fail[i] = k;
  }
  return 1;
}

/* Offset of the first occurrence of the (non-empty) needle in s[from..n), or
 * SIZE_MAX. Linear in n - from for every needle length. */
static size_t needle_find(const sn_needle_t *nd, const char *s, size_t n, size_t from) {
  size_t m = nd->n;
  if (m > n || from > n - m) return SIZE_MAX;
  if (!nd->fail) {
    while (from <= n - m) {
      const char *p = memchr(s + from, nd->s[0], n - m + 1 - from);
      if (!p) return SIZE_MAX;
      size_t at = (size_t)(p - s);
      if (memcmp(p, nd->s, m) == 0) return at;
      from = at + 1;
    }
    return SIZE_MAX;
  }
  size_t k = 0;
  for (size_t i = from; i < n; i++) {
    while (k > 0 && s[i] != nd->s[k]) k = nd->fail[k - 1];
    if (s[i] == nd->s[k]) k++;
    if (k == m) return i + 1 - m;
  }
  return SIZE_MAX;
}

/* Length of the character starting at s[i] (a lone invalid byte counts as
 * one), for the char boundaries an empty needle matches at. */
static size_t char_len(const char *s, size_t i, size_t n) {
  size_t k = 1;
  while (k < 4 && i + k < n && ((unsigned char)s[i + k] & 0xC0) == 0x80) k++;
  return k;
}

/* Appends s[0..n) with every non-overlapping occurrence of the needle,
 * leftmost first, replaced by `with`: Rust's str::replace (match_indices).
 * An empty needle matches at every char boundary, both ends included
 * ("ab".replace("", "X") == "XaXbX"). */
static void replace_append(bytebuf_t *dst, const char *s, size_t n, const sn_needle_t *nd,
                           const char *with, size_t wn) {
  if (nd->n == 0) {
    bb_put(dst, with, wn);
    for (size_t i = 0; i < n;) {
      size_t k = char_len(s, i, n);
      bb_put(dst, s + i, k);
      bb_put(dst, with, wn);
      i += k;
    }
    return;
  }
  size_t pos = 0;
  for (;;) {
    size_t hit = needle_find(nd, s, n, pos);
    if (hit == SIZE_MAX) break;
    bb_put(dst, s + pos, hit - pos);
    bb_put(dst, with, wn);
    pos = hit + nd->n;
  }
  bb_put(dst, s + pos, n - pos);
}

/* wordpiece.rs cleanup(): these str::replace calls, in this order. */
static const struct {
  const char *from, *to;
} k_cleanup[] = {
    {" .", "."},   {" ?", "?"},     {" !", "!"},     {" ,", ","},
    {" ' ", "'"},  {" n't", "n't"}, {" 'm", "'m"},   {" do not", " don't"},
    {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
};

/* Applies cleanup() to the string in *a (b is scratch; the result ends in
 * *a). A rule whose needle does not occur costs one search and no copy. */
static void cleanup(bytebuf_t *a, bytebuf_t *b) {
  for (size_t r = 0; r < sizeof k_cleanup / sizeof k_cleanup[0]; r++) {
    sn_needle_t nd = {(char *)k_cleanup[r].from, strlen(k_cleanup[r].from), NULL};
    if (a->failed || needle_find(&nd, a->p ? a->p : "", a->len, 0) == SIZE_MAX) continue;
    b->len = 0;
    replace_append(b, a->p, a->len, &nd, k_cleanup[r].to, strlen(k_cleanup[r].to));
    if (b->failed) {
      a->failed = 1;
      return;
    }
    bb_swap(a, b);
  }
}

/* ------------------------------------------------------------ the steps */

/* Scratch shared by the steps of one decode call. */
typedef struct scratch {
  bytebuf_t a, b;
} scratch_t;

/* wordpiece.rs: token i > 0 loses a leading prefix, or gets " " in front
 * when it has none; then cleanup() when configured. */
static void step_wordpiece(const sn_dec_step_t *st, const src_t *in, strlist_t *out,
                           scratch_t *sc) {
  const sn_needle_t *pre = &st->pat;
  for (size_t i = 0; i < in->count; i++) {
    size_t n;
    const char *t = src_get(in, i, &n);
    bytebuf_t *dst = st->flag ? &sc->a : &out->buf;
    if (st->flag) sc->a.len = 0;
    if (i > 0) {
      if (n >= pre->n && memcmp(t, pre->s, pre->n) == 0) {
        t += pre->n;
        n -= pre->n;
      } else {
        bb_put(dst, " ", 1);
      }
    }
    bb_put(dst, t, n);
    if (st->flag) {
      cleanup(&sc->a, &sc->b);
      if (sc->a.failed) out->buf.failed = 1;
      bb_put(&out->buf, sc->a.p, sc->a.len);
    }
    sl_end(out);
  }
}

/* byte_level.rs: every token's bytes (a token with a character outside
 * GPT-2's byte alphabet gives its own UTF-8), concatenated, then one
 * String::from_utf8_lossy: a single string, even for no tokens. */
static void step_bytelevel(const src_t *in, strlist_t *out, scratch_t *sc) {
  bytebuf_t *bytes = &sc->a;
  bytes->len = 0;
  for (size_t i = 0; i < in->count; i++) {
    size_t n;
    const char *t = src_get(in, i, &n);
    if (!bb_reserve(bytes, n)) break; /* the bytes are never longer */
    bytes->len += sn_bytelevel_token_bytes(t, n, (unsigned char *)bytes->p + bytes->len);
  }
  if (bytes->failed) {
    out->buf.failed = 1;
    return;
  }
  if (bytes->len > (SIZE_MAX / 2) / 3) {
    out->buf.failed = 1;
    return;
  }
  if (bb_reserve(&out->buf, 3 * bytes->len)) {
    out->buf.len +=
        sn_utf8_lossy((const unsigned char *)bytes->p, bytes->len, out->buf.p + out->buf.len);
  }
  sl_end(out);
}

/* metaspace.rs: each replacement char becomes ' ', except in token 0, where
 * every one is dropped unless prepend_scheme is "never". The replacement is
 * matched on its UTF-8 bytes: in valid UTF-8 those can only start at a char
 * boundary, so this is the same as comparing chars. */
static void step_metaspace(const sn_dec_step_t *st, const src_t *in, strlist_t *out) {
  const char *rep = (const char *)st->ch;
  size_t rl = st->ch_len;
  for (size_t i = 0; i < in->count; i++) {
    size_t n;
    const char *t = src_get(in, i, &n);
    int drop = i == 0 && st->flag;
    size_t pos = 0;
    while (pos < n) {
      const char *p = memchr(t + pos, rep[0], n - pos);
      size_t at = p ? (size_t)(p - t) : n;
      if (at < n && (n - at < rl || memcmp(t + at, rep, rl) != 0)) {
        bb_put(&out->buf, t + pos, at + 1 - pos); /* a lead byte, not the char */
        pos = at + 1;
        continue;
      }
      bb_put(&out->buf, t + pos, at - pos);
      if (at == n) break;
      if (!drop) bb_put(&out->buf, " ", 1);
      pos = at + rl;
    }
    sl_end(out);
  }
}

/* The byte a ByteFallback token "<0xHH>" stands for, or -1. Rust checks
 * len == 6, "<0x" and '>', then u8::from_str_radix(&t[3..5], 16), which
 * takes either case and a leading '+' ("<0x+A>" is byte 0x0A) but no '-'. */
static int byte_token(const char *t, size_t n) {
  if (n != 6 || memcmp(t, "<0x", 3) != 0 || t[5] != '>') return -1;
  int v = 0;
  for (int k = t[3] == '+' ? 4 : 3; k < 5; k++) {
    char c = t[k];
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/* Strict UTF-8 validity, as Rust's String::from_utf8. */
static int utf8_valid(const char *s, size_t n) {
  uint32_t cp;
  for (size_t i = 0; i < n;) {
    size_t k = sn_utf8_decode((const unsigned char *)s + i, n - i, &cp);
    if (!k) return 0;
    i += k;
  }
  return 1;
}

/* Emits a run of byte tokens: one string when the bytes are valid UTF-8,
 * else one U+FFFD string per byte. */
static void flush_bytes(bytebuf_t *run, strlist_t *out) {
  if (run->len == 0) return;
  if (utf8_valid(run->p, run->len)) {
    bb_put(&out->buf, run->p, run->len);
    sl_end(out);
  } else {
    for (size_t k = 0; k < run->len; k++) {
      bb_put(&out->buf, "\xEF\xBF\xBD", 3);
      sl_end(out);
    }
  }
  run->len = 0;
}

/* byte_fallback.rs: runs of "<0xHH>" tokens become their bytes (see
 * flush_bytes); other tokens pass through. */
static void step_bytefallback(const src_t *in, strlist_t *out, scratch_t *sc) {
  bytebuf_t *run = &sc->a;
  run->len = 0;
  for (size_t i = 0; i < in->count; i++) {
    size_t n;
    const char *t = src_get(in, i, &n);
    int b = byte_token(t, n);
    if (b >= 0) {
      unsigned char c = (unsigned char)b;
      bb_put(run, &c, 1);
      continue;
    }
    flush_bytes(run, out);
    bb_put(&out->buf, t, n);
    sl_end(out);
  }
  flush_bytes(run, out);
  if (run->failed) out->buf.failed = 1;
}

/* fuse.rs: all tokens joined into one string (one, even for no tokens). */
static void step_fuse(const src_t *in, strlist_t *out) {
  for (size_t i = 0; i < in->count; i++) {
    size_t n;
    const char *t = src_get(in, i, &n);
    bb_put(&out->buf, t, n);
  }
  sl_end(out);
}

/* strip.rs: up to `start` leading and then up to `stop` trailing content
 * chars removed per token. Rust 0.23 panics when the trailing loop runs past
 * the leading cut (a token of only content chars, shorter than stop, or
 * overlapping cuts); here it stops there instead, which is what later Rust
 * versions do (`self.stop.min(chars.len() - start_cut)`): such a token
 * becomes "". Everywhere Rust does not panic the result is the same. Chars
 * are compared by their UTF-8 bytes, as in step_metaspace. */
static void step_strip(const sn_dec_step_t *st, const src_t *in, strlist_t *out) {
  const unsigned char *c = st->ch;
  size_t cl = st->ch_len;
  for (size_t i = 0; i < in->count; i++) {
    size_t n;
    const char *t = src_get(in, i, &n);
    size_t a = 0, b = n;
    for (size_t k = 0; k < st->start && b - a >= cl && memcmp(t + a, c, cl) == 0; k++) a += cl;
    for (size_t k = 0; k < st->stop && b - a >= cl && memcmp(t + b - cl, c, cl) == 0; k++) b -= cl;
    bb_put(&out->buf, t + a, b - a);
    sl_end(out);
  }
}

/* replace.rs (String pattern): the pattern is searched as an escaped
 * Oniguruma regex, which for a literal finds what match_indices finds
 * (leftmost, non-overlapping; an empty pattern at every char boundary),
 * except that an empty token stays "" (Pattern::find_matches on "" yields one
 * unmatched empty span). */
static void step_replace(const sn_dec_step_t *st, const src_t *in, strlist_t *out) {
  for (size_t i = 0; i < in->count; i++) {
    size_t n;
    const char *t = src_get(in, i, &n);
    if (n > 0) replace_append(&out->buf, t, n, &st->pat, st->content, st->content_len);
    sl_end(out);
  }
}

/* bpe.rs: the suffix replaced (str::replace) by " " in every token but the
 * last, by "" in the last. */
static void step_bpe(const sn_dec_step_t *st, const src_t *in, strlist_t *out) {
  for (size_t i = 0; i < in->count; i++) {
    size_t n;
    const char *t = src_get(in, i, &n);
    int last = i + 1 == in->count;
    replace_append(&out->buf, t, n, &st->pat, " ", last ? 0 : 1);
    sl_end(out);
  }
}

/* ctc.rs: consecutive equal tokens deduplicated (itertools dedup), the pad
 * token removed (str::replace); with cleanup, cleanup() and then the word
 * delimiter replaced by " "; the strings left empty are dropped. */
static void step_ctc(const sn_dec_step_t *st, const src_t *in, strlist_t *out, scratch_t *sc) {
  const char *prev = NULL;
  size_t prev_n = 0;
  for (size_t i = 0; i < in->count; i++) {
    size_t n;
    const char *t = src_get(in, i, &n);
    if (prev && prev_n == n && memcmp(prev, t, n) == 0) continue;
    prev = t;
    prev_n = n;
    sc->a.len = 0;
    replace_append(&sc->a, t, n, &st->pat, "", 0);
    if (st->flag) {
      cleanup(&sc->a, &sc->b);
      sc->b.len = 0;
      replace_append(&sc->b, sc->a.p ? sc->a.p : "", sc->a.len, &st->delim, " ", 1);
      if (sc->a.failed) sc->b.failed = 1;
      bb_swap(&sc->a, &sc->b);
    }
    if (sc->a.failed) {
      out->buf.failed = 1;
      return;
    }
    if (sc->a.len == 0) continue;
    bb_put(&out->buf, sc->a.p, sc->a.len);
    sl_end(out);
  }
}

/* Runs one step from `in` into `out` (emptied first). */
static void run_step(const sn_dec_step_t *st, const src_t *in, strlist_t *out, scratch_t *sc) {
  sl_reset(out);
  switch (st->kind) {
    case SN_DEC_WORDPIECE: step_wordpiece(st, in, out, sc); break;
    case SN_DEC_BYTELEVEL: step_bytelevel(in, out, sc); break;
    case SN_DEC_METASPACE: step_metaspace(st, in, out); break;
    case SN_DEC_BYTEFALLBACK: step_bytefallback(in, out, sc); break;
    case SN_DEC_FUSE: step_fuse(in, out); break;
    case SN_DEC_STRIP: step_strip(st, in, out); break;
    case SN_DEC_REPLACE: step_replace(st, in, out); break;
    case SN_DEC_BPE: step_bpe(st, in, out); break;
    case SN_DEC_CTC: step_ctc(st, in, out, sc); break;
  }
  if (sc->a.failed || sc->b.failed) out->buf.failed = 1;
}

/* Joins the caller's tokens with `sep` (no decoder: " "; an empty Sequence:
 * "") into a new NUL-terminated string. */
static int join_tokens(const char *const *tokens, const size_t *lens, size_t count, const char *sep,
                       size_t sep_len, bytebuf_t *out) {
  for (size_t i = 0; i < count; i++) {
    if (i > 0) bb_put(out, sep, sep_len);
    bb_put(out, tokens[i] ? tokens[i] : "", lens[i]);
  }
  return !out->failed;
}

/* Runs the steps in turn over two lists used alternately (a step never reads
 * the list it writes), then hands the last list's buffer over as the result. */
sinter_status_t sn_decoder_decode(const sn_decoder_t *d, const char *const *tokens,
                                  const size_t *lens, size_t count, char **out, size_t *out_len,
                                  sinter_error_t *err) {
  *out = NULL;
  if (out_len) *out_len = 0;
  bytebuf_t res = {0};
  strlist_t lists[2] = {{{0}, 0, 0, 0}, {{0}, 0, 0, 0}};
  scratch_t sc = {{0}, {0}};
  int ok;
  if (!d || d->count == 0) {
    ok = join_tokens(tokens, lens, count, d ? "" : " ", d ? 0 : 1, &res);
  } else {
    src_t in = {tokens, lens, NULL, count};
    strlist_t *cur = NULL;
    ok = 1;
    for (size_t s = 0; s < d->count && ok; s++) {
      cur = &lists[s & 1];
      run_step(&d->steps[s], &in, cur, &sc);
      ok = !cur->buf.failed;
      in.list = cur;
      in.count = cur->count;
    }
    if (ok) {
      /* The buffer is the join with "" already; take it over. */
      res = cur->buf;
      res.len = sl_closed_len(cur);
      cur->buf.p = NULL;
    }
  }
  free(lists[0].buf.p);
  free(lists[0].end);
  free(lists[1].buf.p);
  free(lists[1].end);
  free(sc.a.p);
  free(sc.b.p);
  if (ok && !bb_reserve(&res, 0)) ok = 0; /* room for the NUL */
  if (!ok) {
    free(res.p);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "decode: out of memory");
  }
  res.p[res.len] = '\0';
  *out = res.p;
  if (out_len) *out_len = res.len;
  return SINTER_OK;
}

/* ------------------------------------------------------------ loading */

/* Frees every step's copies (needles, tables, content), then the chain. */
void sn_decoder_free(sn_decoder_t *d) {
  if (!d) return;
  for (size_t i = 0; i < d->count; i++) {
    sn_dec_step_t *st = &d->steps[i];
    free(st->pat.s);
    free(st->pat.fail);
    free(st->delim.s);
    free(st->delim.fail);
    free(st->content);
  }
  free(d->steps);
  free(d);
}

/* Appends a zeroed step of `kind` and returns it, or NULL when out of
 * memory. */
static sn_dec_step_t *push_step(sn_decoder_t *d, sn_dec_kind_t kind) {
  if (d->count == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 4;
    sn_dec_step_t *v = realloc(d->steps, cap * sizeof *v);
    if (!v) return NULL;
    d->steps = v;
    d->cap = cap;
  }
  sn_dec_step_t *st = &d->steps[d->count++];
  memset(st, 0, sizeof *st);
  st->kind = kind;
  return st;
}

/* The one error a load can hit besides a bad value. */
static sinter_status_t oom(sinter_error_t *err) {
  return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "decoder: out of memory");
}

/* The Rust structs have no serde defaults except where noted, so a field is
 * required unless the reader says otherwise, and JSON null is only accepted
 * for Option<_> fields. These readers name the field as "<path>.<key>". */

/* A required string field. */
static sinter_status_t req_string(const cJSON *obj, const char *key, const char *path,
                                  const char *name, const char **out, sinter_error_t *err) {
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!cJSON_IsString(j) || !j->valuestring) {
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: field \"%s.%s\" must be a string", name, path,
                        key);
  }
  *out = j->valuestring;
  return SINTER_OK;
}

/* A boolean field: required when `def` < 0; otherwise absent gives `def`,
 * and null is accepted (as absent) only when `null_ok` (an Option<bool>). */
static sinter_status_t get_bool(const cJSON *obj, const char *key, int def, int null_ok,
                                const char *path, const char *name, int *out, sinter_error_t *err) {
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (def >= 0 && (!j || (null_ok && cJSON_IsNull(j)))) {
    *out = def;
    return SINTER_OK;
  }
  if (!cJSON_IsBool(j)) {
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: field \"%s.%s\" must be a boolean", name, path,
                        key);
  }
  *out = cJSON_IsTrue(j) ? 1 : 0;
  return SINTER_OK;
}

/* A required Rust `char`: a string of exactly one Unicode scalar, kept as
 * its UTF-8 bytes. */
static sinter_status_t req_char(const cJSON *obj, const char *key, const char *path,
                                const char *name, sn_dec_step_t *st, sinter_error_t *err) {
  const char *s = NULL;
  SN_TRY(req_string(obj, key, path, name, &s, err));
  size_t n = strlen(s);
  uint32_t cp = 0;
  size_t k = n ? sn_utf8_decode((const unsigned char *)s, n, &cp) : 0;
  if (k == 0 || k != n) {
    return sn_error_set(err, SINTER_ERR_FORMAT,
                        "%s: field \"%s.%s\" must be a string of one character", name, path, key);
  }
  memcpy(st->ch, s, n);
  st->ch_len = n;
  return SINTER_OK;
}

/* A required usize. cJSON keeps numbers as doubles, so an integral value
 * written as 1.0, which serde refuses, is accepted; values past SIZE_MAX
 * (only 2^64 itself is not refused) saturate, which changes nothing since
 * they only bound loops over a token's chars. */
static sinter_status_t req_size(const cJSON *obj, const char *key, const char *path,
                                const char *name, size_t *out, sinter_error_t *err) {
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
  double v = cJSON_IsNumber(j) ? j->valuedouble : -1.0;
  /* Every double from 2^63 up is an integer; below, the cast round-trips. */
  int ok = v >= 0.0 && v <= 18446744073709551616.0 &&
           (v >= 9223372036854775808.0 || (double)(uint64_t)v == v);
  if (!ok) {
    return sn_error_set(err, SINTER_ERR_FORMAT,
                        "%s: field \"%s.%s\" must be a non-negative integer", name, path, key);
  }
  *out = v >= (double)SIZE_MAX ? SIZE_MAX : (size_t)v;
  return SINTER_OK;
}

/* Copies a needle's string and prepares its search table. */
static sinter_status_t set_needle(sn_needle_t *nd, const char *s, sinter_error_t *err) {
  nd->n = strlen(s);
  nd->s = sn_tok_strndup(s, nd->n);
  if (!nd->s || !needle_prepare(nd)) return oom(err);
  return SINTER_OK;
}

static sinter_status_t parse_decoder(sn_decoder_t *d, const cJSON *j, const char *path, int depth,
                                     const char *name, sinter_error_t *err);

/* Metaspace's custom Deserialize: replacement (char), prepend_scheme
 * (default "always", null refused), add_prefix_space (Option<bool>: false
 * requires prepend_scheme "never", true changes nothing), split and str_rep
 * (Option, unused by decoding). */
static sinter_status_t parse_metaspace(sn_decoder_t *d, const cJSON *j, const char *path,
                                       const char *name, sinter_error_t *err) {
  sn_dec_step_t tmp = {0};
  SN_TRY(req_char(j, "replacement", path, name, &tmp, err));
  int aps = -1, split = 0;
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "add_prefix_space");
  if (a && !cJSON_IsNull(a)) SN_TRY(get_bool(j, "add_prefix_space", -1, 0, path, name, &aps, err));
  SN_TRY(get_bool(j, "split", 1, 1, path, name, &split, err));
  const cJSON *rep = cJSON_GetObjectItemCaseSensitive(j, "str_rep");
  if (rep && !cJSON_IsNull(rep) && !cJSON_IsString(rep)) {
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: field \"%s.str_rep\" must be a string", name,
                        path);
  }
  const char *scheme = "always";
  if (cJSON_GetObjectItemCaseSensitive(j, "prepend_scheme")) {
    SN_TRY(req_string(j, "prepend_scheme", path, name, &scheme, err));
  }
  int never = strcmp(scheme, "never") == 0;
  if (!never && strcmp(scheme, "always") != 0 && strcmp(scheme, "first") != 0) {
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "unsupported decoder \"Metaspace\" in %s: field \"%s.prepend_scheme\" is "
                        "\"%.64s\" (not \"always\", \"first\" or \"never\")",
                        name, path, scheme);
  }
  if (aps == 0 && !never) {
    return sn_error_set(err, SINTER_ERR_FORMAT,
                        "%s: field \"%s.add_prefix_space\" is false but prepend_scheme is \"%s\" "
                        "(the Rust library refuses this mismatch)",
                        name, path, scheme);
  }
  sn_dec_step_t *st = push_step(d, SN_DEC_METASPACE);
  if (!st) return oom(err);
  memcpy(st->ch, tmp.ch, sizeof st->ch);
  st->ch_len = tmp.ch_len;
  st->flag = !never;
  return SINTER_OK;
}

/* Replace: pattern {"String": s} (exactly that one key) and content. */
static sinter_status_t parse_replace(sn_decoder_t *d, const cJSON *j, const char *path,
                                     const char *name, sinter_error_t *err) {
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "pattern");
  const cJSON *only = cJSON_IsObject(p) ? p->child : NULL;
  if (!only || only->next || !only->string ||
      (strcmp(only->string, "String") != 0 && strcmp(only->string, "Regex") != 0) ||
      !cJSON_IsString(only)) {
    return sn_error_set(err, SINTER_ERR_FORMAT,
                        "%s: field \"%s.pattern\" must be {\"String\": ...} or {\"Regex\": ...}",
                        name, path);
  }
  const char *content = NULL;
  SN_TRY(req_string(j, "content", path, name, &content, err));
  if (strcmp(only->string, "Regex") == 0) {
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "unsupported decoder \"Replace\" in %s: field \"%s.pattern\" is a Regex "
                        "(only String patterns are supported)",
                        name, path);
  }
  sn_dec_step_t *st = push_step(d, SN_DEC_REPLACE);
  if (!st) return oom(err);
  SN_TRY(set_needle(&st->pat, only->valuestring, err));
  st->content_len = strlen(content);
  st->content = sn_tok_strndup(content, st->content_len);
  if (!st->content) return oom(err);
  return SINTER_OK;
}

/* Sequence: decoders (an array), each parsed one level deeper and appended
 * in order (the flattened chain applies the same steps in the same order). */
static sinter_status_t parse_sequence(sn_decoder_t *d, const cJSON *j, const char *path, int depth,
                                      const char *name, sinter_error_t *err) {
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "decoders");
  if (!cJSON_IsArray(list)) {
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: field \"%s.decoders\" must be an array", name,
                        path);
  }
  size_t k = 0;
  for (const cJSON *c = list->child; c; c = c->next, k++) {
    char sub[256];
    snprintf(sub, sizeof sub, "%s.decoders[%zu]", path, k);
    SN_TRY(parse_decoder(d, c, sub, depth + 1, name, err));
  }
  return SINTER_OK;
}

/* Parses one decoder object at `path` (depth 1 is the top level) and
 * appends its steps to d. */
static sinter_status_t parse_decoder(sn_decoder_t *d, const cJSON *j, const char *path, int depth,
                                     const char *name, sinter_error_t *err) {
  if (depth > SN_DECODER_MAX_DEPTH) {
    return sn_error_set(err, SINTER_ERR_LIMIT,
                        "%s: field \"%s\": decoder Sequences nest more than %d levels deep", name,
                        path, SN_DECODER_MAX_DEPTH);
  }
  if (!cJSON_IsObject(j)) {
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: field \"%s\" must be an object", name, path);
  }
  const char *type = NULL;
  SN_TRY(req_string(j, "type", path, name, &type, err));
  sn_dec_step_t *st = NULL;
  if (strcmp(type, "WordPiece") == 0) {
    const char *prefix = NULL;
    int cleanup_flag = 0;
    SN_TRY(req_string(j, "prefix", path, name, &prefix, err));
    SN_TRY(get_bool(j, "cleanup", -1, 0, path, name, &cleanup_flag, err));
    if (!(st = push_step(d, SN_DEC_WORDPIECE))) return oom(err);
    st->flag = cleanup_flag;
    return set_needle(&st->pat, prefix, err);
  }
  if (strcmp(type, "ByteLevel") == 0) {
    /* The pre-tokenizer's struct: add_prefix_space and trim_offsets are
     * required, use_regex defaults to true; none changes decoding. */
    int v = 0;
    SN_TRY(get_bool(j, "add_prefix_space", -1, 0, path, name, &v, err));
    SN_TRY(get_bool(j, "trim_offsets", -1, 0, path, name, &v, err));
    SN_TRY(get_bool(j, "use_regex", 1, 0, path, name, &v, err));
    return push_step(d, SN_DEC_BYTELEVEL) ? SINTER_OK : oom(err);
  }
  if (strcmp(type, "Metaspace") == 0) return parse_metaspace(d, j, path, name, err);
  if (strcmp(type, "ByteFallback") == 0) {
    return push_step(d, SN_DEC_BYTEFALLBACK) ? SINTER_OK : oom(err);
  }
  if (strcmp(type, "Fuse") == 0) return push_step(d, SN_DEC_FUSE) ? SINTER_OK : oom(err);
  if (strcmp(type, "Strip") == 0) {
    sn_dec_step_t tmp = {0};
    SN_TRY(req_char(j, "content", path, name, &tmp, err));
    SN_TRY(req_size(j, "start", path, name, &tmp.start, err));
    SN_TRY(req_size(j, "stop", path, name, &tmp.stop, err));
    if (!(st = push_step(d, SN_DEC_STRIP))) return oom(err);
    memcpy(st->ch, tmp.ch, sizeof st->ch);
    st->ch_len = tmp.ch_len;
    st->start = tmp.start;
    st->stop = tmp.stop;
    return SINTER_OK;
  }
  if (strcmp(type, "Replace") == 0) return parse_replace(d, j, path, name, err);
  if (strcmp(type, "BPEDecoder") == 0) {
    const char *suffix = NULL;
    SN_TRY(req_string(j, "suffix", path, name, &suffix, err));
    if (!(st = push_step(d, SN_DEC_BPE))) return oom(err);
    return set_needle(&st->pat, suffix, err);
  }
  if (strcmp(type, "CTC") == 0) {
    const char *pad = NULL, *delim = NULL;
    int cleanup_flag = 0;
    SN_TRY(req_string(j, "pad_token", path, name, &pad, err));
    SN_TRY(req_string(j, "word_delimiter_token", path, name, &delim, err));
    SN_TRY(get_bool(j, "cleanup", -1, 0, path, name, &cleanup_flag, err));
    if (!(st = push_step(d, SN_DEC_CTC))) return oom(err);
    st->flag = cleanup_flag;
    SN_TRY(set_needle(&st->pat, pad, err));
    return set_needle(&st->delim, delim, err);
  }
  if (strcmp(type, "Sequence") == 0) return parse_sequence(d, j, path, depth, name, err);
  if (depth > 1) {
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED, "unsupported decoder \"%.64s\" in %s (%s)",
                        type, name, path);
  }
  return sn_error_set(err, SINTER_ERR_UNSUPPORTED, "unsupported decoder \"%.64s\" in %s", type,
                      name);
}

/* Parses into a fresh chain, freed again on any error so *out is all or
 * nothing. */
sinter_status_t sn_decoder_from_json(const cJSON *json, const char *name, sn_decoder_t **out,
                                     sinter_error_t *err) {
  *out = NULL;
  if (!json || cJSON_IsNull(json)) return SINTER_OK;
  sn_decoder_t *d = calloc(1, sizeof *d);
  if (!d) return oom(err);
  sinter_status_t st = parse_decoder(d, json, "decoder", 1, name, err);
  if (st != SINTER_OK) {
    sn_decoder_free(d);
    return st;
  }
  *out = d;
  return SINTER_OK;
}
