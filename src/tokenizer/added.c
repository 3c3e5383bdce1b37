/*
 * added.c — added (and special) tokens: a trie over their contents and the
 * leftmost-longest matcher with the single_word / lstrip / rstrip rules of the
 * Rust AddedVocabulary::find_matches.
 *
 * Tokens with normalized = false are matched on the raw text (trie symbols are
 * bytes); tokens with normalized = true are matched on each normalized segment
 * (trie symbols are code points of their normalized content). The trie is tiny
 * (a few nodes per added token), so first-child/next-sibling lists suffice; a
 * 256-entry table of first bytes makes the common "no match here" test O(1).
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/internal.h"

static sinter_status_t trie_node(sn_trie_t *t, uint32_t sym, int32_t *out, sinter_error_t *err) {
  if (t->len == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    sn_trie_node_t *n = realloc(t->nodes, cap * sizeof *n);
    if (!n) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "added tokens: out of memory");
    t->nodes = n;
    t->cap = cap;
  }
  sn_trie_node_t *n = &t->nodes[t->len];
  n->first_child = -1;
  n->next_sibling = -1;
  n->token = -1;
  n->sym = sym;
  *out = (int32_t)t->len++;
  return SINTER_OK;
}

void sn_trie_free(sn_trie_t *t) {
  free(t->nodes);
  memset(t, 0, sizeof *t);
}

sinter_status_t sn_trie_insert(sn_trie_t *t, const uint32_t *sym, size_t n, int32_t token,
                               sinter_error_t *err) {
  if (n == 0) return SINTER_OK; /* empty contents never match */
  int32_t root;
  if (t->len == 0) SN_TRY(trie_node(t, 0, &root, err));
  int32_t cur = 0;
  for (size_t i = 0; i < n; i++) {
    int32_t child = t->nodes[cur].first_child;
    while (child >= 0 && t->nodes[child].sym != sym[i]) child = t->nodes[child].next_sibling;
    if (child < 0) {
      SN_TRY(trie_node(t, sym[i], &child, err));
      t->nodes[child].next_sibling = t->nodes[cur].first_child;
      t->nodes[cur].first_child = child;
    }
    cur = child;
  }
  /* The first token with this content wins, like the Rust map of contents. */
  if (t->nodes[cur].token < 0) t->nodes[cur].token = token;
  t->first_sym[sym[0] & 0xFF] = 1;
  return SINTER_OK;
}

/* Longest token matching at position i of a symbol sequence; returns its end
 * (exclusive) and sets *token, or returns i when nothing matches. */
#define TRIE_LONGEST(t, get, n, i, token_out, end_out)                              \
  do {                                                                              \
    int32_t cur_ = 0;                                                               \
    size_t j_ = (i);                                                                \
    (end_out) = (i);                                                                \
    while (j_ < (n)) {                                                              \
      uint32_t s_ = get(j_);                                                        \
      int32_t c_ = (t)->nodes[cur_].first_child;                                    \
      while (c_ >= 0 && (t)->nodes[c_].sym != s_) c_ = (t)->nodes[c_].next_sibling; \
      if (c_ < 0) break;                                                            \
      cur_ = c_;                                                                    \
      j_++;                                                                         \
      if ((t)->nodes[cur_].token >= 0) {                                            \
        (token_out) = (t)->nodes[cur_].token;                                       \
        (end_out) = j_;                                                             \
      }                                                                             \
    }                                                                               \
  } while (0)

/* ---- raw (byte) matching */

static uint32_t prev_cp(const unsigned char *s, size_t pos, size_t *start) {
  size_t k = pos;
  do {
    k--;
  } while (k > 0 && (s[k] & 0xC0) == 0x80);
  uint32_t cp = 0xFFFD;
  if (!sn_utf8_decode(s + k, pos - k, &cp)) cp = 0xFFFD;
  *start = k;
  return cp;
}

static uint32_t next_cp(const unsigned char *s, size_t n, size_t pos, size_t *len) {
  uint32_t cp = 0xFFFD;
  size_t k = sn_utf8_decode(s + pos, n - pos, &cp);
  *len = k ? k : 1;
  return cp;
}

sinter_status_t sn_added_find_raw(const sn_tokenizer_t *tok, const unsigned char *s, size_t n,
                                  sn_added_cb cb, void *ctx, sinter_error_t *err) {
  const sn_trie_t *t = &tok->raw_trie;
  size_t start_offset = 0;
  if (t->len > 0) {
    size_t p = 0;
#define RAW_AT(j) ((uint32_t)s[j])
    while (p < n) {
      if (!t->first_sym[s[p]]) {
        p++;
        continue;
      }
      int32_t token = -1;
      size_t mend;
      TRIE_LONGEST(t, RAW_AT, n, p, token, mend);
      if (mend == p) {
        p++;
        continue;
      }
      size_t start = p, stop = mend;
      p = mend;
      const sn_added_token_t *at = &tok->added[token];
      if (at->single_word) {
        size_t k, l;
        int start_space = start == 0 || !sn_uc_is_word(prev_cp(s, start, &k));
        int stop_space = stop == n || !sn_uc_is_word(next_cp(s, n, stop, &l));
        if (!start_space || !stop_space) continue;
      }
      if (at->lstrip) {
        size_t ns = start;
        while (ns > 0) {
          size_t k;
          uint32_t c = prev_cp(s, ns, &k);
          if (!sn_uc_is_whitespace(c)) break;
          ns = k;
        }
        start = ns > start_offset ? ns : start_offset;
      }
      if (at->rstrip) {
        while (stop < n) {
          size_t l;
          uint32_t c = next_cp(s, n, stop, &l);
          if (!sn_uc_is_whitespace(c)) break;
          stop += l;
        }
      }
      if (start_offset < start) SN_TRY(cb(ctx, -1, start_offset, start, err));
      SN_TRY(cb(ctx, token, start, stop, err));
      start_offset = stop;
    }
#undef RAW_AT
  }
  if (start_offset < n || n == 0) SN_TRY(cb(ctx, -1, start_offset, n, err));
  return SINTER_OK;
}

/* ---- normalized (code point) matching over text[range] */

sinter_status_t sn_added_find_normalized(const sn_tokenizer_t *tok, const sn_text_t *text,
                                         sn_span_t range, sn_added_cb cb, void *ctx,
                                         sinter_error_t *err) {
  const sn_trie_t *t = &tok->norm_trie;
  size_t start_offset = range.start;
  size_t n = range.end;
  if (t->len > 0) {
    size_t p = range.start;
#define CP_AT(j) (text->cp[j])
    while (p < n) {
      if (!t->first_sym[text->cp[p] & 0xFF]) {
        p++;
        continue;
      }
      int32_t token = -1;
      size_t mend;
      TRIE_LONGEST(t, CP_AT, n, p, token, mend);
      if (mend == p) {
        p++;
        continue;
      }
      size_t start = p, stop = mend;
      p = mend;
      const sn_added_token_t *at = &tok->added[token];
      if (at->single_word) {
        int start_space = start == range.start || !sn_uc_is_word(text->cp[start - 1]);
        int stop_space = stop == n || !sn_uc_is_word(text->cp[stop]);
        if (!start_space || !stop_space) continue;
      }
      if (at->lstrip) {
        size_t ns = start;
        while (ns > range.start && sn_uc_is_whitespace(text->cp[ns - 1])) ns--;
        start = ns > start_offset ? ns : start_offset;
      }
      if (at->rstrip) {
        while (stop < n && sn_uc_is_whitespace(text->cp[stop])) stop++;
      }
      if (start_offset < start) SN_TRY(cb(ctx, -1, start_offset, start, err));
      SN_TRY(cb(ctx, token, start, stop, err));
      start_offset = stop;
    }
#undef CP_AT
  }
  if (start_offset < n) SN_TRY(cb(ctx, -1, start_offset, n, err));
  return SINTER_OK;
}
