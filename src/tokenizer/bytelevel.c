/*
 * bytelevel.c — GPT-2's byte-level stage as the Rust `ByteLevel` component
 * does it: as a pre-tokenizer (optional prefix space, the GPT-2 split regex,
 * every UTF-8 byte turned into one printable "byte char"), as the offset
 * trimming of the ByteLevel and RobertaProcessing post-processors, and as the
 * ByteLevel decoder (byte chars back to bytes, then lossy UTF-8).
 *
 * The split regex runs on Oniguruma (regex.c), the engine the Rust library
 * uses, so \p{L}, \p{N}, \s and the look-ahead in `\s+(?!\S)` mean exactly
 * what they mean there. The pattern is compiled once per tokenizer; a search
 * keeps its match region in the caller's scratch, so encoding allocates
 * nothing once the scratch has grown.
 *
 * Offsets: every byte char carries the original byte range of the character
 * it came from (the Rust transform gives each byte of a character that
 * character's alignment), and the prepended space carries the range of the
 * word's first character (NormalizedString::prepend).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/internal.h"

/* The Rust library's pattern (pre_tokenizers/byte_level.rs); regex.c widens
 * \p{L} and \p{N} to Unicode 16 as the Rust library's Oniguruma has them. */
static const char GPT2_PATTERN[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/* GPT-2's bytes_to_unicode: the printable bytes '!'..'~', 0xA1..0xAC and
 * 0xAE..0xFF stand for themselves; the other 68 bytes, in order, become
 * U+0100.. (0x00..0x20 -> U+0100..U+0120, 0x7F..0xA0 -> U+0121..U+0142,
 * 0xAD -> U+0143). */
uint32_t sn_bytelevel_char(uint8_t b) {
  if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE) return b;
  if (b <= 0x20) return 0x100u + b;
  if (b >= 0x7F && b <= 0xA0) return 0x121u + (uint32_t)(b - 0x7F);
  return 0x143; /* 0xAD */
}

int sn_bytelevel_byte(uint32_t c) {
  if ((c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF)) return (int)c;
  if (c >= 0x100 && c <= 0x120) return (int)(c - 0x100);
  if (c >= 0x121 && c <= 0x142) return (int)(0x7F + (c - 0x121));
  if (c == 0x143) return 0xAD;
  return -1;
}

int sn_bytelevel_is_trim_char(uint32_t c) {
  return c == 0x120 || sn_uc_is_whitespace(c);
}

/* ------------------------------------------------------------ the regex */

sinter_status_t sn_bytelevel_compile(sn_bytelevel_t *bl, const char *name, sinter_error_t *err) {
  memset(&bl->regex, 0, sizeof bl->regex);
  if (!bl->use_regex) return SINTER_OK;
  char what[160];
  snprintf(what, sizeof what, "%s: pre_tokenizer ByteLevel", name);
  return sn_regex_compile(&bl->regex, GPT2_PATTERN, sizeof GPT2_PATTERN - 1, 0, what, err);
}

void sn_bytelevel_free(sn_bytelevel_t *bl) {
  sn_regex_free(&bl->regex);
}

void sn_bytelevel_scratch_free(sn_bytelevel_scratch_t *sc) {
  sn_text_free(&sc->text);
  free(sc->pieces.v);
  free(sc->utf8);
  sn_regex_scratch_free(&sc->rx);
  memset(sc, 0, sizeof *sc);
}

/* ------------------------------------------------------------ pre-tokenizer */

sinter_status_t sn_bytelevel_split(const sn_bytelevel_t *bl, const sn_text_t *text, sn_span_t word,
                                   sn_bytelevel_scratch_t *sc, sinter_error_t *err) {
  sn_text_t *out = &sc->text;
  out->len = 0;
  sc->pieces.len = 0;
  if (word.start >= word.end) return SINTER_OK;
  /* One byte char per UTF-8 byte, plus the prefix space. */
  size_t need = 1;
  for (uint32_t i = word.start; i < word.end; i++) {
    uint32_t c = text->cp[i];
    need += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  SN_TRY(sn_text_reserve(out, need, err));
  if (need > sc->utf8_cap) {
    unsigned char *u = realloc(sc->utf8, need);
    if (!u) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "ByteLevel: out of memory");
    sc->utf8 = u;
    sc->utf8_cap = need;
  }
  size_t n = 0;
  if (bl->add_prefix_space && text->cp[word.start] != ' ') {
    sc->utf8[n++] = ' ';
    sn_text_push(out, sn_bytelevel_char(' '), text->start[word.start], text->end[word.start]);
  }
  for (uint32_t i = word.start; i < word.end; i++) {
    unsigned char b[4];
    size_t k = sn_utf8_encode(text->cp[i], b);
    for (size_t j = 0; j < k; j++) {
      sc->utf8[n++] = b[j];
      sn_text_push(out, sn_bytelevel_char(b[j]), text->start[i], text->end[i]);
    }
  }
  if (!bl->use_regex) return sn_spans_push(&sc->pieces, 0, (uint32_t)n, err);
  /* Isolated splits, like the Rust Pattern::find_matches over onig's
   * find_iter: each match and each non-empty gap between matches is a
   * piece. GPT-2's pattern never matches the empty string. */
  size_t prev = 0;
  while (prev < n) {
    int found = 0;
    size_t ms = 0, me = 0;
    SN_TRY(sn_regex_search(&bl->regex, sc->utf8, n, prev, &sc->rx, &found, &ms, &me, err));
    if (!found) break;
    if (me <= ms) break; /* cannot happen with this pattern; never loop */
    if (ms > prev) SN_TRY(sn_spans_push(&sc->pieces, (uint32_t)prev, (uint32_t)ms, err));
    SN_TRY(sn_spans_push(&sc->pieces, (uint32_t)ms, (uint32_t)me, err));
    prev = me;
  }
  if (prev < n) SN_TRY(sn_spans_push(&sc->pieces, (uint32_t)prev, (uint32_t)n, err));
  return SINTER_OK;
}

/* ------------------------------------------------------------ decoder */

size_t sn_bytelevel_token_bytes(const char *tok, size_t n, unsigned char *out) {
  const unsigned char *s = (const unsigned char *)tok;
  size_t w = 0;
  for (size_t i = 0; i < n;) {
    uint32_t c = 0;
    size_t k = sn_utf8_decode(s + i, n - i, &c);
    int b = k ? sn_bytelevel_byte(c) : -1;
    if (b < 0) {
      /* A character outside the byte alphabet: the token goes out as it is. */
      memcpy(out, tok, n);
      return n;
    }
    out[w++] = (unsigned char)b;
    i += k;
  }
  return w;
}

size_t sn_utf8_lossy(const unsigned char *s, size_t n, char *out) {
  size_t w = 0;
  for (size_t i = 0; i < n;) {
    unsigned char b = s[i];
    if (b < 0x80) {
      out[w++] = (char)b;
      i++;
      continue;
    }
    /* Rust's Utf8Chunks: a maximal prefix of a valid sequence that cannot be
     * completed becomes one U+FFFD. */
    size_t width = b >= 0xC2 && b <= 0xDF   ? 2
                   : b >= 0xE0 && b <= 0xEF ? 3
                   : b >= 0xF0 && b <= 0xF4 ? 4
                                            : 0;
    size_t k = 1;
    if (width > 0 && i + 1 < n) {
      unsigned char c = s[i + 1];
      unsigned char lo = 0x80, hi = 0xBF;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
      if (c >= lo && c <= hi) {
        k = 2;
        while (k < width && i + k < n && s[i + k] >= 0x80 && s[i + k] <= 0xBF) k++;
      }
    }
    if (width > 0 && k == width) {
      memcpy(out + w, s + i, k);
      w += k;
    } else {
      memcpy(out + w, "\xEF\xBF\xBD", 3);
      w += 3;
    }
    i += k;
  }
  return w;
}
