/*
 * precompiled.c — the `Precompiled` normalizer: SentencePiece's compiled
 * character map, with the semantics of the Hugging Face `tokenizers` library
 * 0.23.3 (tokenizers/src/normalizers/precompiled.rs over the crate
 * spm_precompiled 0.1.4, src/lib.rs).
 *
 * The blob: u32 LE `trie_size` (bytes), trie_size / 4 u32 LE units of a
 * darts-clone double array, then `normalized`: NUL-separated UTF-8
 * replacement strings (the whole of it must be valid UTF-8, as the crate's
 * String::from_utf8 requires). A unit u has
 *   has_leaf(u) = (u >> 8) & 1,  value(u) = u & 0x7FFFFFFF,
 *   label(u) = u & (0x80000000 | 0xFF),
 *   offset(u) = (u >> 10) << ((u & (1 << 9)) >> 6),
 * and common_prefix_search(key) walks pos = offset(a[0]); for each byte c
 * (stopping at a NUL byte): pos ^= c; u = a[pos]; stop unless label(u) == c;
 * pos ^= offset(u); if has_leaf(u), value(a[pos]) is a result. The crate's
 * transform(chunk) takes results[0] — the SHORTEST prefix of the chunk that is
 * a key, even when longer keys match too — and returns the replacement string
 * at that value, up to the next NUL or the end of `normalized`.
 *
 * The normalizer (precompiled.rs) walks extended grapheme clusters: a cluster
 * shorter than 6 bytes that transform() maps is replaced as a whole (so
 * "\r\n" becomes " " when "\r" maps to " ", and "A\u0300\u0301" becomes "À":
 * only the shortest key counts); otherwise each character is transformed on
 * its own or kept. Replacements go through its `replace`:
 *   push every char of the replacement with change 0; diff = new - old chars;
 *   diff > 0: the last diff pushed chars get change 1 (inserted);
 *   diff < 0: the LAST entry of the whole list gets change += diff — when the
 *   replacement is empty that is the previous cluster's last char (which may
 *   be an inserted one: 1 + diff), and at the very start there is none, so
 *   the removal is lost and the following chars take earlier alignments
 *   ("\x1eg" gives "g" aligned to the \x1e), exactly as Rust reports.
 * (`replace` came with tokenizers PR #617, 0.10.1; earlier versions marked
 * every char after the first as inserted, and tokenizers 0.23.3 behaves as
 * above, which the fixtures check.) The shortest-prefix rule and the cluster
 * walk differ from SentencePiece itself (issues #2116 and #2334 upstream);
 * we follow the Rust library, which is what the models were converted with.
 * The list then goes through NormalizedString::transform (change <= 0: take
 * the next input char's alignment, consume it and -change more; change > 0:
 * the last consumed char's alignment, or (0, 0) at the start). Nothing is
 * rewritten when no cluster or char had a match ("modified" in Rust).
 *
 * Where the Rust crate panics (an array index outside the trie, a value past
 * the replacement strings or inside a character), this file never reads out
 * of bounds: the search ends with what it found, a bad value is no match.
 * Blobs it would accept but that are not SentencePiece charsmaps (a trie size
 * of 0, which panics on the first character, or one not a multiple of 4,
 * which the crate silently reads with the remainder glued to the strings)
 * are refused when parsed.
 *
 * Grapheme clusters: the Rust crate unicode-segmentation in tokenizers 0.23.3
 * follows Unicode 17; utf8proc 2.8 has Unicode 15.0 (and no GB9c conjunct
 * rule). Clusters only matter below 6 bytes, where the Indic conjunct rule
 * cannot apply (a consonant, a virama and a consonant are 9 bytes), so the
 * differences that show are the grapheme classes of characters new in
 * Unicode 16/17 and two reclassified ones; gcb_proxy() below hands utf8proc a
 * stand-in of the Rust class for each. The list was found by probing the
 * Rust library with every code point after "A\u0300" and before it
 * (scripts/make_precompiled_fixture.py --probe-graphemes); the fixture's
 * per-block digests of those probes check it (tests/unit/test_precompiled.c).
 */
#include "tokenizer/precompiled.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

struct sn_precompiled {
  uint32_t *units; /* the double array */
  size_t nunits;
  char *normalized; /* the replacement strings, valid UTF-8 */
  size_t nnormalized;
  /* ascii_hit[c]: the one-byte text c (or "\r\n" for '\r') has a match, so
   * an all-ASCII text without such a byte is left as it is. */
  uint8_t ascii_hit[128];
};

/* ------------------------------------------------------------ base64 */

static int b64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/* Decodes standard base64 with canonical padding (the Rust base64 0.22
 * BASE64_STANDARD engine: length a multiple of 4, at most two '=' and only at
 * the end, zero trailing bits). *out is malloc'd (NULL for an empty input). */
static sinter_status_t b64_decode(const char *s, size_t n, const char *where, uint8_t **out,
                                  size_t *out_len, sinter_error_t *err) {
  *out = NULL;
  *out_len = 0;
  if (n % 4 != 0) {
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: base64 length %zu is not a multiple of 4",
                        where, n);
  }
  size_t pad = 0;
  if (n >= 4 && s[n - 1] == '=') pad = s[n - 2] == '=' ? 2 : 1;
  for (size_t i = 0; i < n - pad; i++) {
    if (b64_value((unsigned char)s[i]) < 0) {
      return sn_error_set(err, SINTER_ERR_FORMAT, "%s: bad base64 at byte %zu (0x%02X)", where, i,
                          (unsigned char)s[i]);
    }
  }
  if (n == 0) return SINTER_OK;
  size_t len = n / 4 * 3 - pad;
  uint8_t *buf = malloc(len ? len : 1);
  if (!buf) {
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", where, len);
  }
  size_t w = 0;
  for (size_t i = 0; i < n; i += 4) {
    uint32_t v = 0;
    size_t syms = i + 4 == n ? 4 - pad : 4;
    for (size_t k = 0; k < 4; k++) {
      v <<= 6;
      if (k < syms) v |= (uint32_t)b64_value((unsigned char)s[i + k]);
    }
    if (syms == 4) {
      buf[w++] = (uint8_t)(v >> 16);
      buf[w++] = (uint8_t)(v >> 8);
      buf[w++] = (uint8_t)v;
    } else if (syms == 3) {
      if (v & 0xFF) {
        free(buf);
        return sn_error_set(err, SINTER_ERR_FORMAT,
                            "%s: bad base64 at byte %zu (non-zero trailing bits)", where, i + 2);
      }
      buf[w++] = (uint8_t)(v >> 16);
      buf[w++] = (uint8_t)(v >> 8);
    } else {
      if (v & 0xFFFF) {
        free(buf);
        return sn_error_set(err, SINTER_ERR_FORMAT,
                            "%s: bad base64 at byte %zu (non-zero trailing bits)", where, i + 1);
      }
      buf[w++] = (uint8_t)(v >> 16);
    }
  }
  *out = buf;
  *out_len = w;
  return SINTER_OK;
}

/* ------------------------------------------------------------ the trie */

static inline uint32_t unit_offset(uint32_t u) {
  return (u >> 10) << ((u & (1u << 9)) >> 6);
}

/* The first (shortest) result of common_prefix_search(key[0..n)), or -1.
 * Every index is checked: one outside the array ends the search. */
static int64_t first_match(const sn_precompiled_t *pc, const unsigned char *key, size_t n) {
  const uint32_t *a = pc->units;
  size_t na = pc->nunits;
  size_t pos = unit_offset(a[0]);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = key[i];
    if (c == 0) break;
    pos ^= c;
    if (pos >= na) return -1;
    uint32_t u = a[pos];
    if ((u & (0x80000000u | 0xFFu)) != c) return -1;
    pos ^= unit_offset(u);
    if ((u >> 8) & 1u) {
      if (pos >= na) return -1;
      return (int64_t)(a[pos] & 0x7FFFFFFFu);
    }
  }
  return -1;
}

/* The replacement string at value v (Rust normalized_at), or 0 when v is
 * past the strings or inside a character (the crate panics there). */
static int replacement_at(const sn_precompiled_t *pc, int64_t v, const char **s, size_t *n) {
  if (v < 0 || (uint64_t)v > pc->nnormalized) return 0;
  size_t at = (size_t)v;
  const char *base = pc->normalized;
  if (at < pc->nnormalized && ((unsigned char)base[at] & 0xC0) == 0x80) return 0;
  const char *nul = at < pc->nnormalized ? memchr(base + at, 0, pc->nnormalized - at) : NULL;
  *s = base + at;
  *n = nul ? (size_t)(nul - (base + at)) : pc->nnormalized - at;
  return 1;
}

int sn_precompiled_transform(const sn_precompiled_t *pc, const unsigned char *key, size_t n,
                             const char **repl, size_t *repl_len) {
  return replacement_at(pc, first_match(pc, key, n), repl, repl_len);
}

/* ------------------------------------------------------------ parsing */

sinter_status_t sn_precompiled_from_blob(const uint8_t *blob, size_t len, const char *where,
                                         sn_precompiled_t **out, sinter_error_t *err) {
  *out = NULL;
  if (len < 4) {
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: charsmap of %zu bytes is shorter than 4 bytes",
                        where, len);
  }
  uint32_t trie_size = (uint32_t)blob[0] | (uint32_t)blob[1] << 8 | (uint32_t)blob[2] << 16 |
                       (uint32_t)blob[3] << 24;
  if (trie_size == 0) return sn_error_set(err, SINTER_ERR_FORMAT, "%s: the trie is empty", where);
  if (trie_size % 4 != 0) {
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: trie size %u is not a multiple of 4", where,
                        trie_size);
  }
  if (trie_size > len - 4) {
    return sn_error_set(err, SINTER_ERR_FORMAT,
                        "%s: trie size %u is beyond the charsmap (%zu bytes after the size)", where,
                        trie_size, len - 4);
  }
  const uint8_t *strings = blob + 4 + trie_size;
  size_t nstrings = len - 4 - trie_size;
  for (size_t i = 0; i < nstrings;) {
    uint32_t cp;
    size_t k = sn_utf8_decode(strings + i, nstrings - i, &cp);
    if (k == 0) {
      return sn_error_set(err, SINTER_ERR_FORMAT,
                          "%s: replacement strings are not valid UTF-8 at byte %zu of the charsmap",
                          where, (size_t)(4 + trie_size) + i);
    }
    i += k;
  }
  sn_precompiled_t *pc = calloc(1, sizeof *pc);
  if (pc) {
    pc->nunits = trie_size / 4;
    pc->nnormalized = nstrings;
    pc->units = malloc(pc->nunits * sizeof *pc->units);
    pc->normalized = malloc(nstrings ? nstrings : 1);
  }
  if (!pc || !pc->units || !pc->normalized) {
    sn_precompiled_free(pc);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY,
                        "%s: cannot allocate the charsmap (%zu bytes)", where, len);
  }
  for (size_t i = 0; i < pc->nunits; i++) {
    const uint8_t *p = blob + 4 + 4 * i;
    pc->units[i] =
        (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
  }
  if (nstrings) memcpy(pc->normalized, strings, nstrings);
  for (unsigned c = 1; c < 128; c++) {
    const char *r;
    size_t rn;
    unsigned char key[2] = {(unsigned char)c, '\n'};
    pc->ascii_hit[c] = (uint8_t)sn_precompiled_transform(pc, key, 1, &r, &rn);
    if (c == '\r' && !pc->ascii_hit[c]) {
      pc->ascii_hit[c] = (uint8_t)sn_precompiled_transform(pc, key, 2, &r, &rn);
    }
  }
  *out = pc;
  return SINTER_OK;
}

sinter_status_t sn_precompiled_parse(const char *b64, size_t len, const char *where,
                                     sn_precompiled_t **out, sinter_error_t *err) {
  *out = NULL;
  uint8_t *blob;
  size_t n;
  SN_TRY(b64_decode(b64, len, where, &blob, &n, err));
  sinter_status_t st = sn_precompiled_from_blob(blob, n, where, out, err);
  free(blob);
  return st;
}

void sn_precompiled_free(sn_precompiled_t *pc) {
  if (!pc) return;
  free(pc->units);
  free(pc->normalized);
  free(pc);
}

/* ------------------------------------------------------------ graphemes */

typedef struct gcb_override {
  uint32_t lo, hi, proxy;
} gcb_override_t;

/* Characters whose grapheme class in the Rust library (Unicode 17) differs
 * from utf8proc 2.8's (Unicode 15.0), each mapped to a character utf8proc
 * gives that class: Extend -> U+0300, SpacingMark -> U+0903, Prepend ->
 * U+0600, Other -> 'A'. Sorted, disjoint. */
static const gcb_override_t gcb_overrides[] = {
    {0x0897, 0x0897, 0x0300},   {0x1ACF, 0x1ADD, 0x0300},   {0x1AE0, 0x1AEB, 0x0300},
    {0x10D69, 0x10D6D, 0x0300}, {0x10EFA, 0x10EFC, 0x0300}, {0x113B8, 0x113B8, 0x0300},
    {0x113B9, 0x113BA, 0x0903}, {0x113BB, 0x113C0, 0x0300}, {0x113C2, 0x113C2, 0x0300},
    {0x113C5, 0x113C5, 0x0300}, {0x113C7, 0x113C9, 0x0300}, {0x113CA, 0x113CA, 0x0903},
    {0x113CC, 0x113CD, 0x0903}, {0x113CE, 0x113D0, 0x0300}, {0x113D1, 0x113D1, 0x0600},
    {0x113D2, 0x113D2, 0x0300}, {0x113E1, 0x113E2, 0x0300}, {0x11A3A, 0x11A3A, 0x0041},
    {0x11B60, 0x11B60, 0x0300}, {0x11B61, 0x11B61, 0x0903}, {0x11B62, 0x11B64, 0x0300},
    {0x11B65, 0x11B65, 0x0903}, {0x11B66, 0x11B66, 0x0300}, {0x11B67, 0x11B67, 0x0903},
    {0x11F5A, 0x11F5A, 0x0300}, {0x1611E, 0x16129, 0x0300}, {0x1612A, 0x1612C, 0x0903},
    {0x1612D, 0x1612F, 0x0300}, {0x1E5EE, 0x1E5EF, 0x0300}, {0x1E6E3, 0x1E6E3, 0x0300},
    {0x1E6E6, 0x1E6E6, 0x0300}, {0x1E6EE, 0x1E6EF, 0x0300}, {0x1E6F5, 0x1E6F5, 0x0300},
};

/* The character utf8proc should classify in place of c. */
static uint32_t gcb_proxy(uint32_t c) {
  if (c < 0x0897) return c;
  size_t lo = 0, hi = sizeof gcb_overrides / sizeof gcb_overrides[0];
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (c < gcb_overrides[mid].lo) {
      hi = mid;
    } else if (c > gcb_overrides[mid].hi) {
      lo = mid + 1;
    } else {
      return gcb_overrides[mid].proxy;
    }
  }
  return c;
}

static inline size_t utf8_len(uint32_t c) {
  return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
}

/* ------------------------------------------------------------ normalize */

/* Appends the replacement r[0..rn) for `old` input chars with the Rust
 * `replace` bookkeeping: tmp->cp gets the chars, tmp->end their change (as
 * int32). A removal with nothing before it is lost, as in Rust. */
static sinter_status_t emit_replacement(sn_text_t *tmp, const char *r, size_t rn, size_t old,
                                        sinter_error_t *err) {
  SN_TRY(sn_text_reserve(tmp, rn, err)); /* rn bytes >= chars */
  size_t first = tmp->len;
  for (size_t i = 0; i < rn;) {
    uint32_t cp = 0;
    size_t k = sn_utf8_decode((const unsigned char *)r + i, rn - i, &cp);
    if (k == 0) k = 1; /* validated at parse; defensive */
    tmp->cp[tmp->len] = cp;
    tmp->end[tmp->len] = 0;
    tmp->len++;
    i += k;
  }
  size_t added = tmp->len - first;
  if (added > old) {
    for (size_t i = tmp->len - (added - old); i < tmp->len; i++) tmp->end[i] = 1;
  } else if (added < old && tmp->len > 0) {
    int64_t ch = (int64_t)(int32_t)tmp->end[tmp->len - 1] - (int64_t)(old - added);
    if (ch < -INT32_MAX) ch = -INT32_MAX; /* beyond any text: removes the rest */
    tmp->end[tmp->len - 1] = (uint32_t)(int32_t)ch;
  }
  return SINTER_OK;
}

sinter_status_t sn_precompiled_normalize(const sn_precompiled_t *pc, sn_text_t *in, sn_text_t *tmp,
                                         sinter_error_t *err) {
  size_t n = in->len;
  size_t i = 0;
  while (i < n && in->cp[i] < 0x80 && !pc->ascii_hit[in->cp[i]]) i++;
  if (i == n) return SINTER_OK; /* plain ASCII nothing maps: unchanged */

  tmp->len = 0;
  SN_TRY(sn_text_reserve(tmp, n, err));
  int modified = 0;
  utf8proc_int32_t state = 0;
  unsigned char key[8];
  for (size_t g = 0; g < n;) {
    /* The cluster [g, h) and its UTF-8 length. */
    size_t h = g + 1, bytes = utf8_len(in->cp[g]);
    while (h < n &&
           !utf8proc_grapheme_break_stateful((utf8proc_int32_t)gcb_proxy(in->cp[h - 1]),
                                             (utf8proc_int32_t)gcb_proxy(in->cp[h]), &state)) {
      bytes += utf8_len(in->cp[h]);
      h++;
    }
    const char *r;
    size_t rn;
    if (bytes < 6) {
      size_t kn = 0;
      for (size_t j = g; j < h; j++) kn += sn_utf8_encode(in->cp[j], key + kn);
      if (sn_precompiled_transform(pc, key, kn, &r, &rn)) {
        modified = 1;
        SN_TRY(emit_replacement(tmp, r, rn, h - g, err));
        g = h;
        continue;
      }
    }
    for (size_t j = g; j < h; j++) {
      size_t kn = sn_utf8_encode(in->cp[j], key);
      if (sn_precompiled_transform(pc, key, kn, &r, &rn)) {
        modified = 1;
        SN_TRY(emit_replacement(tmp, r, rn, 1, err));
      } else {
        SN_TRY(sn_text_reserve(tmp, 1, err));
        tmp->cp[tmp->len] = in->cp[j];
        tmp->end[tmp->len] = 0;
        tmp->len++;
      }
    }
    g = h;
  }
  if (!modified) return SINTER_OK;

  /* NormalizedString::transform: alignments from the changes. */
  size_t consumed = 0;
  for (size_t k = 0; k < tmp->len; k++) {
    int32_t change = (int32_t)tmp->end[k];
    if (change > 0 || consumed >= n) { /* inserted (the second case cannot happen) */
      tmp->start[k] = consumed ? in->start[consumed - 1] : 0;
      tmp->end[k] = consumed ? in->end[consumed - 1] : 0;
    } else {
      tmp->start[k] = in->start[consumed];
      tmp->end[k] = in->end[consumed];
      size_t eat = 1 + (size_t)(-(int64_t)change);
      consumed = eat > n - consumed ? n : consumed + eat;
    }
  }
  sn_text_t t = *in;
  *in = *tmp;
  *tmp = t;
  return SINTER_OK;
}
