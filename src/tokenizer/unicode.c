/*
 * unicode.c — UTF-8 coding and the character classes the tokenizer needs, with
 * the Rust `tokenizers` library's semantics, on top of utf8proc's Unicode data.
 *
 * The Rust library mixes three sources of Unicode data: Rust's std (recent
 * Unicode: is_whitespace, to_lowercase), the `unicode_categories` crate (an old
 * Unicode version: is_other/Cc Cf Co Cs, is_punctuation, is_mark_nonspacing) and
 * `unicode-normalization-alignments` (NFD). utf8proc 2.8 carries Unicode 15.0.
 * Where they disagree we follow the Rust library, which is what Python users
 * see. The tables below list every disagreement, found by running each of the
 * 1,112,064 code points through both (scripts/make_tokenizer_fixtures.py writes
 * per-block digests of the Rust results to tests/fixtures/tokenizer/, and
 * tests/unit/test_tokenizer.c checks every block):
 *   - characters utf8proc puts in P* that the old crate does not know as
 *     punctuation (added after Unicode 8), and two it still sees as Po;
 *   - Mn characters the old crate does not know (so accents are not stripped),
 *     and U+1734 (Mc in Unicode 15, Mn in the old crate);
 *   - Cf characters the old crate does not know (so clean_text keeps them);
 *     unassigned code points (Cn) are never dropped by the Rust library;
 *   - lowercase mappings new in Unicode 16 that Rust's std already has;
 *   - U+0130 'İ' lowercases to "i̇" (two code points) in Rust, while utf8proc's
 *     simple mapping gives 'i';
 *   - U+11938, whose canonical decomposition (Unicode 13) the NFD crate lacks,
 *     and the compatibility decompositions new since Unicode 12.1 (NFKC/NFKD);
 *   - marks whose combining class is new to the Rust NFD crate keep class 0
 *     there, so canonical reordering leaves them in place (offsets differ);
 *   - regex \w (Whitespace pre-tokenizer, single_word added tokens) includes
 *     letters and marks new in Unicode 16.
 */
#include <stdlib.h>
#include <utf8proc.h>

#include "tokenizer/internal.h"

typedef struct sn_range {
  uint32_t lo, hi;
} sn_range_t;

static const sn_range_t hf_punct_extra[] = {
    {0x166D, 0x166D},
    {0x111C9, 0x111C9},
};
static const sn_range_t hf_punct_missing[] = {
    {0x61D, 0x61D},     {0x9FD, 0x9FD},     {0xA76, 0xA76},     {0xC77, 0xC77},
    {0xC84, 0xC84},     {0x1B7D, 0x1B7E},   {0x2E43, 0x2E4F},   {0x2E52, 0x2E5D},
    {0x10EAD, 0x10EAD}, {0x10F55, 0x10F59}, {0x10F86, 0x10F89}, {0x1144B, 0x1144F},
    {0x1145A, 0x1145B}, {0x1145D, 0x1145D}, {0x11660, 0x1166C}, {0x116B9, 0x116B9},
    {0x1183B, 0x1183B}, {0x11944, 0x11946}, {0x119E2, 0x119E2}, {0x11A3F, 0x11A46},
    {0x11A9A, 0x11A9C}, {0x11A9E, 0x11AA2}, {0x11B00, 0x11B09}, {0x11C41, 0x11C45},
    {0x11C70, 0x11C71}, {0x11EF7, 0x11EF8}, {0x11F43, 0x11F4F}, {0x11FFF, 0x11FFF},
    {0x12FF1, 0x12FF2}, {0x16E97, 0x16E9A}, {0x16FE2, 0x16FE2}, {0x1E95E, 0x1E95F},
};
static const sn_range_t hf_mn_missing[] = {
    {0x7FD, 0x7FD},     {0x898, 0x89F},     {0x8CA, 0x8E1},     {0x9FE, 0x9FE},
    {0xAFA, 0xAFF},     {0xB55, 0xB55},     {0xC04, 0xC04},     {0xC3C, 0xC3C},
    {0xD00, 0xD00},     {0xD3B, 0xD3C},     {0xD81, 0xD81},     {0xEBA, 0xEBA},
    {0xECE, 0xECE},     {0x180F, 0x180F},   {0x1885, 0x1886},   {0x1ABF, 0x1ACE},
    {0x1DF6, 0x1DFB},   {0xA82C, 0xA82C},   {0xA8C5, 0xA8C5},   {0xA8FF, 0xA8FF},
    {0xA9BD, 0xA9BD},   {0x10D24, 0x10D27}, {0x10EAB, 0x10EAC}, {0x10EFD, 0x10EFF},
    {0x10F46, 0x10F50}, {0x10F82, 0x10F85}, {0x11070, 0x11070}, {0x11073, 0x11074},
    {0x110C2, 0x110C2}, {0x111C9, 0x111C9}, {0x111CF, 0x111CF}, {0x1123E, 0x1123E},
    {0x11241, 0x11241}, {0x1133B, 0x1133B}, {0x11438, 0x1143F}, {0x11442, 0x11444},
    {0x11446, 0x11446}, {0x1145E, 0x1145E}, {0x1182F, 0x11837}, {0x11839, 0x1183A},
    {0x1193B, 0x1193C}, {0x1193E, 0x1193E}, {0x11943, 0x11943}, {0x119D4, 0x119D7},
    {0x119DA, 0x119DB}, {0x119E0, 0x119E0}, {0x11A01, 0x11A0A}, {0x11A33, 0x11A38},
    {0x11A3B, 0x11A3E}, {0x11A47, 0x11A47}, {0x11A51, 0x11A56}, {0x11A59, 0x11A5B},
    {0x11A8A, 0x11A96}, {0x11A98, 0x11A99}, {0x11C30, 0x11C36}, {0x11C38, 0x11C3D},
    {0x11C3F, 0x11C3F}, {0x11C92, 0x11CA7}, {0x11CAA, 0x11CB0}, {0x11CB2, 0x11CB3},
    {0x11CB5, 0x11CB6}, {0x11D31, 0x11D36}, {0x11D3A, 0x11D3A}, {0x11D3C, 0x11D3D},
    {0x11D3F, 0x11D45}, {0x11D47, 0x11D47}, {0x11D90, 0x11D91}, {0x11D95, 0x11D95},
    {0x11D97, 0x11D97}, {0x11EF3, 0x11EF4}, {0x11F00, 0x11F01}, {0x11F36, 0x11F3A},
    {0x11F40, 0x11F40}, {0x11F42, 0x11F42}, {0x13440, 0x13440}, {0x13447, 0x13455},
    {0x16F4F, 0x16F4F}, {0x16FE4, 0x16FE4}, {0x1CF00, 0x1CF2D}, {0x1CF30, 0x1CF46},
    {0x1E000, 0x1E006}, {0x1E008, 0x1E018}, {0x1E01B, 0x1E021}, {0x1E023, 0x1E024},
    {0x1E026, 0x1E02A}, {0x1E08F, 0x1E08F}, {0x1E130, 0x1E136}, {0x1E2AE, 0x1E2AE},
    {0x1E2EC, 0x1E2EF}, {0x1E4EC, 0x1E4EF}, {0x1E944, 0x1E94A},
};
static const sn_range_t hf_mn_extra[] = {
    {0x1734, 0x1734},
};
static const sn_range_t hf_control_missing[] = {
    {0x890, 0x891},
    {0x8E2, 0x8E2},
    {0x110CD, 0x110CD},
    {0x13430, 0x1343F},
};
static const sn_range_t unicode16_word[] = {
    {0x897, 0x897},     {0x1C89, 0x1C8A},   {0xA7CB, 0xA7CD},   {0xA7DA, 0xA7DC},
    {0x105C0, 0x105F3}, {0x10D40, 0x10D65}, {0x10D69, 0x10D6D}, {0x10D6F, 0x10D85},
    {0x10EC2, 0x10EC4}, {0x10EFC, 0x10EFC}, {0x11380, 0x11389}, {0x1138B, 0x1138B},
    {0x1138E, 0x1138E}, {0x11390, 0x113B5}, {0x113B7, 0x113C0}, {0x113C2, 0x113C2},
    {0x113C5, 0x113C5}, {0x113C7, 0x113CA}, {0x113CC, 0x113D3}, {0x113E1, 0x113E2},
    {0x116D0, 0x116E3}, {0x11BC0, 0x11BE0}, {0x11BF0, 0x11BF9}, {0x11F5A, 0x11F5A},
    {0x13460, 0x143FA}, {0x16100, 0x16139}, {0x16D40, 0x16D6C}, {0x16D70, 0x16D79},
    {0x18CFF, 0x18CFF}, {0x1CCF0, 0x1CCF9}, {0x1E5D0, 0x1E5FA}, {0x2EBF0, 0x2EE5D},
};

/* Marks with a non-zero canonical combining class in Unicode 15 that the Rust
 * NFD crate (older Unicode) treats as starters (class 0), so canonical
 * reordering does not move them. */
static const sn_range_t hf_ccc_zero[] = {
    {0x7FD, 0x7FD},     {0x898, 0x89F},     {0x8CA, 0x8D3},     {0x9FE, 0x9FE},
    {0xC3C, 0xC3C},     {0xD3B, 0xD3C},     {0xEBA, 0xEBA},     {0x1715, 0x1715},
    {0x1ABF, 0x1ACE},   {0x1DF6, 0x1DFA},   {0xA82C, 0xA82C},   {0x10D24, 0x10D27},
    {0x10EAB, 0x10EAC}, {0x10EFD, 0x10EFF}, {0x10F46, 0x10F50}, {0x10F82, 0x10F85},
    {0x11070, 0x11070}, {0x1133B, 0x1133B}, {0x1145E, 0x1145E}, {0x11839, 0x1183A},
    {0x1193D, 0x1193E}, {0x11943, 0x11943}, {0x119E0, 0x119E0}, {0x11A34, 0x11A34},
    {0x11A47, 0x11A47}, {0x11A99, 0x11A99}, {0x11D42, 0x11D42}, {0x11D44, 0x11D45},
    {0x11D97, 0x11D97}, {0x11F41, 0x11F42}, {0x16FF0, 0x16FF1}, {0x1E08F, 0x1E08F},
    {0x1E130, 0x1E136}, {0x1E2AE, 0x1E2AE}, {0x1E2EC, 0x1E2EF}, {0x1E4EC, 0x1E4EF},
};

/* Lowercase mappings of Unicode 16 that utf8proc 2.8 (Unicode 15) lacks. */
typedef struct sn_case_pair {
  uint32_t from, to;
} sn_case_pair_t;
static const sn_case_pair_t unicode16_lower[] = {
    {0x1C89, 0x1C8A}, {0xA7CB, 0x0264}, {0xA7CC, 0xA7CD}, {0xA7CE, 0xA7CF},
    {0xA7D2, 0xA7D3}, {0xA7D4, 0xA7D5}, {0xA7DA, 0xA7DB}, {0xA7DC, 0x019B},
};

static int in_ranges(const sn_range_t *r, size_t n, uint32_t c) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (c < r[mid].lo) {
      hi = mid;
    } else if (c > r[mid].hi) {
      lo = mid + 1;
    } else {
      return 1;
    }
  }
  return 0;
}

#define IN(table, c) in_ranges(table, sizeof(table) / sizeof(table[0]), c)

size_t sn_utf8_decode(const unsigned char *s, size_t n, uint32_t *out_cp) {
  unsigned char b0 = s[0];
  if (b0 < 0x80) {
    *out_cp = b0;
    return 1;
  }
  if (b0 < 0xC2) return 0;
  if (b0 < 0xE0) {
    if (n < 2 || (s[1] & 0xC0) != 0x80) return 0;
    *out_cp = ((uint32_t)(b0 & 0x1F) << 6) | (s[1] & 0x3F);
    return 2;
  }
  if (b0 < 0xF0) {
    if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
    uint32_t c = ((uint32_t)(b0 & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    if (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    *out_cp = c;
    return 3;
  }
  if (b0 < 0xF5) {
    if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) {
      return 0;
    }
    uint32_t c = ((uint32_t)(b0 & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
                 ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    if (c < 0x10000 || c > 0x10FFFF) return 0;
    *out_cp = c;
    return 4;
  }
  return 0;
}

size_t sn_utf8_encode(uint32_t cp, unsigned char *out) {
  if (cp < 0x80) {
    out[0] = (unsigned char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (unsigned char)(0xC0 | (cp >> 6));
    out[1] = (unsigned char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (unsigned char)(0xE0 | (cp >> 12));
    out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (unsigned char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (unsigned char)(0xF0 | (cp >> 18));
  out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (unsigned char)(0x80 | (cp & 0x3F));
  return 4;
}

sinter_status_t sn_utf8_validate(const char *s, size_t n, const char *what, sinter_error_t *err) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    /* ASCII runs dominate real text: skip them eight bytes at a time. */
    while (i + 8 <= n) {
      uint64_t w;
      __builtin_memcpy(&w, p + i, 8);
      if (w & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= n) break;
    if (p[i] < 0x80) {
      i++;
      continue;
    }
    uint32_t cp;
    size_t k = sn_utf8_decode(p + i, n - i, &cp);
    if (k == 0) {
      return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                          "%s: invalid UTF-8 at byte offset %zu (byte 0x%02X)", what, i, p[i]);
    }
    i += k;
  }
  return SINTER_OK;
}

int sn_uc_is_whitespace(uint32_t c) {
  if (c < 0x80) return c == ' ' || (c >= 9 && c <= 13);
  if (c == 0x85) return 1;
  utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
  return k == UTF8PROC_CATEGORY_ZS || k == UTF8PROC_CATEGORY_ZL || k == UTF8PROC_CATEGORY_ZP;
}

int sn_uc_is_bert_whitespace(uint32_t c) {
  return c == '\t' || c == '\n' || c == '\r' || sn_uc_is_whitespace(c);
}

int sn_uc_is_bert_control(uint32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return 0;
  if (c < 0x80) return c < 0x20 || c == 0x7F;
  utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
  switch (k) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CS: return 1;
    case UTF8PROC_CATEGORY_CF: return !IN(hf_control_missing, c);
    default: return 0;
  }
}

int sn_uc_is_chinese(uint32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

int sn_uc_is_punctuation(uint32_t c) {
  if (c < 0x80) {
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
           (c >= 123 && c <= 126);
  }
  utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
  if (k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO) return !IN(hf_punct_missing, c);
  return IN(hf_punct_extra, c);
}

int sn_uc_is_mark_nonspacing(uint32_t c) {
  if (c < 0x300) return 0;
  if (utf8proc_category((utf8proc_int32_t)c) == UTF8PROC_CATEGORY_MN) {
    return !IN(hf_mn_missing, c);
  }
  return IN(hf_mn_extra, c);
}

/* Digits and numbers new in Unicode 16, which Rust's std knows and utf8proc
 * 2.8 does not (the EXTRA_N classes of regex.c). */
static const sn_range_t numeric_16[] = {
    {0x10D40, 0x10D49}, {0x116D0, 0x116E3}, {0x11BF0, 0x11BF9}, {0x11F50, 0x11F59},
    {0x16130, 0x16139}, {0x16D70, 0x16D79}, {0x1CCF0, 0x1CCF9}, {0x1D2C0, 0x1D2D3},
    {0x1E4F0, 0x1E4F9}, {0x1E5F1, 0x1E5FA},
};

int sn_uc_is_numeric(uint32_t c) {
  utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
  return k == UTF8PROC_CATEGORY_ND || k == UTF8PROC_CATEGORY_NL || k == UTF8PROC_CATEGORY_NO ||
         IN(numeric_16, c);
}

int sn_uc_is_word(uint32_t c) {
  if (c < 0x80) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  }
  utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
  switch (k) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_PC: return 1;
    default: break;
  }
  /* Join_Control and the Other_Alphabetic symbols (circled and squared letters). */
  if (c == 0x200C || c == 0x200D) return 1;
  if ((c >= 0x24B6 && c <= 0x24E9) || (c >= 0x1F130 && c <= 0x1F149) ||
      (c >= 0x1F150 && c <= 0x1F169) || (c >= 0x1F170 && c <= 0x1F189)) {
    return 1;
  }
  return IN(unicode16_word, c);
}

int sn_uc_to_lowercase(uint32_t c, uint32_t out[2]) {
  if (c < 0x80) {
    out[0] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
    return 1;
  }
  if (c == 0x130) {
    out[0] = 'i';
    out[1] = 0x307;
    return 2;
  }
  if (c >= 0x10D50 && c <= 0x10D65) {
    out[0] = c + 0x20; /* Garay, Unicode 16 */
    return 1;
  }
  if (c >= 0x16EA0 && c <= 0x16EB8) {
    out[0] = c + 0x1B; /* Beria Erfe, Unicode 17 */
    return 1;
  }
  for (size_t i = 0; i < sizeof unicode16_lower / sizeof unicode16_lower[0]; i++) {
    if (unicode16_lower[i].from == c) {
      out[0] = unicode16_lower[i].to;
      return 1;
    }
  }
  out[0] = (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
  return 1;
}

int sn_uc_decompose(uint32_t c, uint32_t out[8]) {
  if (c < 0xC0) {
    out[0] = c;
    return 1;
  }
  if (c == 0x11938) {
    /* DIVES AKURU VOWEL SIGN O (Unicode 13): the Rust NFD crate predates its
     * decomposition into U+11935 U+11930 and leaves it whole. */
    out[0] = c;
    return 1;
  }
  utf8proc_int32_t buf[8];
  int last_boundclass = 0;
  utf8proc_ssize_t n =
      utf8proc_decompose_char((utf8proc_int32_t)c, buf, 8, UTF8PROC_DECOMPOSE, &last_boundclass);
  if (n <= 0 || n > 8) {
    out[0] = c;
    return 1;
  }
  for (utf8proc_ssize_t i = 0; i < n; i++) out[i] = (uint32_t)buf[i];
  return (int)n;
}

/* Compatibility decompositions of Unicode 12.1–15 that the Rust NFKC/NFKD
 * crate predates (so it leaves these characters whole); none of them has a
 * canonical decomposition. Found by comparing every code point. */
static const sn_range_t compat_new[] = {
    {0x32FF, 0x32FF},   {0xA7F2, 0xA7F4},   {0xAB69, 0xAB69},   {0x10781, 0x10785},
    {0x10787, 0x107B0}, {0x107B2, 0x107BA}, {0x11938, 0x11938}, {0x1E030, 0x1E06D},
    {0x1F16C, 0x1F16C}, {0x1FBF0, 0x1FBF9},
};

int sn_uc_decompose_compat(uint32_t c, uint32_t out[SN_UC_MAX_DECOMP]) {
  if (c < 0xA0 || IN(compat_new, c)) {
    out[0] = c;
    return 1;
  }
  utf8proc_int32_t buf[SN_UC_MAX_DECOMP];
  int last_boundclass = 0;
  utf8proc_ssize_t n =
      utf8proc_decompose_char((utf8proc_int32_t)c, buf, SN_UC_MAX_DECOMP,
                              UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT, &last_boundclass);
  if (n <= 0 || n > SN_UC_MAX_DECOMP) {
    out[0] = c;
    return 1;
  }
  for (utf8proc_ssize_t i = 0; i < n; i++) out[i] = (uint32_t)buf[i];
  return (int)n;
}

uint32_t sn_uc_compose(uint32_t a, uint32_t b) {
  /* Nothing below U+0300 is ever the second character of a composition. */
  if (b < 0x300) return 0;
  if (a == 0x11935 && b == 0x11930) return 0; /* see sn_uc_decompose */
  utf8proc_int32_t buf[2] = {(utf8proc_int32_t)a, (utf8proc_int32_t)b};
  utf8proc_ssize_t n = utf8proc_normalize_utf32(buf, 2, UTF8PROC_COMPOSE);
  if (n != 1) return 0;
  /* utf8proc's pair table also holds the composition exclusions (which its
   * own NFC keeps out while decomposing); a primary composite never is one. */
  if (utf8proc_get_property(buf[0])->comp_exclusion) return 0;
  return (uint32_t)buf[0];
}

int sn_uc_combining_class(uint32_t c) {
  if (c < 0x300) return 0;
  int ccc = utf8proc_get_property((utf8proc_int32_t)c)->combining_class;
  if (ccc && IN(hf_ccc_zero, c)) return 0;
  return ccc;
}

int sn_uc_is_cased(uint32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
  if (k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT) {
    return 1;
  }
  /* Other_Lowercase / Other_Uppercase letters and symbols that have a case mapping. */
  return utf8proc_tolower((utf8proc_int32_t)c) != (utf8proc_int32_t)c ||
         utf8proc_toupper((utf8proc_int32_t)c) != (utf8proc_int32_t)c;
}

int sn_uc_is_case_ignorable(uint32_t c) {
  switch (c) {
    case 0x27:
    case 0x2E:
    case 0x3A:
    case 0x5E:
    case 0x60:
    case 0xA8:
    case 0xAD:
    case 0xAF:
    case 0xB4:
    case 0xB7:
    case 0xB8:
    case 0x387:
    case 0x5F4:
    case 0x2018:
    case 0x2019:
    case 0x2024:
    case 0x2027:
    case 0xFE13:
    case 0xFE52:
    case 0xFE55:
    case 0xFF07:
    case 0xFF0E:
    case 0xFF1A: return 1;
    default: break;
  }
  if (c < 0x80) return 0;
  utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
  return k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_ME || k == UTF8PROC_CATEGORY_CF ||
         k == UTF8PROC_CATEGORY_LM || k == UTF8PROC_CATEGORY_SK;
}
