/*
 * internal.h — data structures shared by the tokenizer module's files.
 *
 * The pipeline mirrors the Hugging Face `tokenizers` Rust library stage by stage
 * (added-token split, normalizer, pre-tokenizer, model, post-processor, padding),
 * because exact token-for-token parity is easiest to keep when every stage has
 * the same semantics as its Rust counterpart. Text is processed as arrays of code
 * points, each carrying the byte range of the original character it came from
 * (the Rust library's "alignments"), so offsets survive every normalization.
 *
 * Nothing here is visible outside src/tokenizer/; other modules use tokenizer.h.
 */
#ifndef SN_TOKENIZER_INTERNAL_H
#define SN_TOKENIZER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "tokenizer/tokenizer.h"

/* ------------------------------------------------------------ unicode.c */

/* Decodes one UTF-8 scalar at s[0..n) (n >= 1). Returns its length in bytes and
 * stores the code point, or returns 0 for an invalid sequence (overlong,
 * surrogate, beyond U+10FFFF, truncated). */
size_t sn_utf8_decode(const unsigned char *s, size_t n, uint32_t *out_cp);

/* Encodes cp (a valid scalar) into out (>= 4 bytes); returns the length. */
size_t sn_utf8_encode(uint32_t cp, unsigned char *out);

/* Validates UTF-8; on failure returns INVALID_ARGUMENT naming `what` and the
 * byte offset of the first bad byte. */
sinter_status_t sn_utf8_validate(const char *s, size_t n, const char *what, sinter_error_t *err);

/* Character predicates with the Rust library's semantics (see unicode.c for
 * the cases where its tables and utf8proc's disagree). */
int sn_uc_is_whitespace(uint32_t c);      /* Rust char::is_whitespace */
int sn_uc_is_bert_control(uint32_t c);    /* BertNormalizer is_control */
int sn_uc_is_bert_whitespace(uint32_t c); /* BertNormalizer is_whitespace */
int sn_uc_is_chinese(uint32_t c);         /* BertNormalizer is_chinese_char */
int sn_uc_is_punctuation(uint32_t c);     /* BertPreTokenizer is_bert_punc */
int sn_uc_is_mark_nonspacing(uint32_t c); /* unicode_categories is_mark_nonspacing */
int sn_uc_is_word(uint32_t c);            /* regex \w as used by Whitespace */
int sn_uc_is_numeric(uint32_t c);         /* Rust char::is_numeric (Nd, Nl, No) */
/* Rust char::to_lowercase: writes 1 or 2 code points, returns the count. */
int sn_uc_to_lowercase(uint32_t c, uint32_t out[2]);
/* Canonical decomposition (NFD) of one code point; returns the count (<= 4
 * for every Unicode 15 character; out has room for 8). */
int sn_uc_decompose(uint32_t c, uint32_t out[8]);
/* Compatibility decomposition (NFKD) of one code point; returns the count. */
#define SN_UC_MAX_DECOMP 24
int sn_uc_decompose_compat(uint32_t c, uint32_t out[SN_UC_MAX_DECOMP]);
/* The primary composite of a + b (canonical composition), or 0. */
uint32_t sn_uc_compose(uint32_t a, uint32_t b);
/* Canonical combining class. */
int sn_uc_combining_class(uint32_t c);
/* Properties for Python's Final_Sigma rule. */
int sn_uc_is_cased(uint32_t c);
int sn_uc_is_case_ignorable(uint32_t c);

/* ------------------------------------------------------------ text buffer */

/* A run of code points, each with the original byte range [start, end) of the
 * character it came from. Structure of arrays, grown geometrically. */
typedef struct sn_text {
  uint32_t *cp;
  uint32_t *start;
  uint32_t *end;
  size_t len, cap;
  /* Byte offset of the text's start in its sequence: where a character
   * inserted before every consumed one is aligned (the Rust slice's
   * original_shift with an empty alignment). */
  uint32_t base;
} sn_text_t;

void sn_text_free(sn_text_t *t);
/* Ensures room for `extra` more code points. OUT_OF_MEMORY on failure. */
sinter_status_t sn_text_reserve(sn_text_t *t, size_t extra, sinter_error_t *err);
static inline void sn_text_push(sn_text_t *t, uint32_t cp, uint32_t start, uint32_t end) {
  t->cp[t->len] = cp;
  t->start[t->len] = start;
  t->end[t->len] = end;
  t->len++;
}

/* ------------------------------------------------------------ normalizer.c */

typedef enum sn_norm_kind {
  SN_NORM_BERT = 1,
  SN_NORM_NFD,
  SN_NORM_LOWERCASE,
  SN_NORM_STRIP_ACCENTS,
  SN_NORM_STRIP, /* Strip{strip_left, strip_right}: removes Rust whitespace */
  SN_NORM_NFC,
  SN_NORM_NFKC,
  SN_NORM_NFKD,
  SN_NORM_REPLACE,     /* every match of `pattern` becomes `content` */
  SN_NORM_PREPEND,     /* `content` before a non-empty text */
  SN_NORM_PRECOMPILED, /* SentencePiece's compiled charsmap (precompiled.c) */
} sn_norm_kind_t;

/* ------------------------------------------------------------ regex.c */

/* A pattern of a tokenizer.json: an Oniguruma regex, or a literal string
 * matched on code points. Immutable once compiled; shareable. */
typedef struct sn_regex {
  void *onig;    /* OnigRegex, owned; NULL for a literal */
  uint32_t *lit; /* the literal's code points, owned */
  size_t lit_len;
  int literal;
} sn_regex_t;

/* Per-encoding working memory of a search. */
typedef struct sn_regex_scratch {
  unsigned char *utf8; /* the searched span as UTF-8 */
  uint32_t *cp_at;     /* byte offset -> code point index */
  size_t cap;
  void *region; /* OnigRegion */
} sn_regex_scratch_t;

/* Compiles `pattern` (a literal when `literal`), \p{L} and \p{N} widened to
 * Unicode 16 (regex.c). FORMAT naming `what` when it does not compile. */
sinter_status_t sn_regex_compile(sn_regex_t *re, const char *pattern, size_t len, int literal,
                                 const char *what, sinter_error_t *err);
void sn_regex_free(sn_regex_t *re);
void sn_regex_scratch_free(sn_regex_scratch_t *sc);
/* One Oniguruma search of a compiled (non-literal) regex in s[from..n):
 * *found, and the match's byte range. */
sinter_status_t sn_regex_search(const sn_regex_t *re, const unsigned char *s, size_t n, size_t from,
                                sn_regex_scratch_t *sc, int *found, size_t *ms, size_t *me,
                                sinter_error_t *err);

struct sn_precompiled;

typedef struct sn_norm_step {
  sn_norm_kind_t kind;
  /* BertNormalizer flags, or Strip's left/right in clean_text/handle_chinese. */
  uint8_t clean_text, handle_chinese, strip_accents, lowercase;
  int8_t strip_accents_raw; /* BertNormalizer's JSON value: -1 null, 0 false, 1 true */
  sn_regex_t pattern;       /* Replace */
  uint32_t *content;        /* Replace, Prepend: code points, owned */
  size_t content_len;
  struct sn_precompiled *precompiled; /* Precompiled, owned */
} sn_norm_step_t;

#define SN_NORM_MAX_STEPS 16

typedef struct sn_normalizer {
  int count; /* 0: no normalizer */
  sn_norm_step_t steps[SN_NORM_MAX_STEPS];
} sn_normalizer_t;

struct sn_spans;

/* Runs the normalizer over `in`, leaving the result in `in` (tmp, rx and
 * matches are scratch). Alignment rules follow the Rust
 * NormalizedString::transform. */
sinter_status_t sn_normalize(const sn_normalizer_t *n, sn_text_t *in, sn_text_t *tmp,
                             sn_regex_scratch_t *rx, struct sn_spans *matches, sinter_error_t *err);
/* Releases what the steps own (patterns, contents, charsmaps). */
void sn_normalizer_free(sn_normalizer_t *n);

/* ------------------------------------------------------------ pretokenizer.c */

typedef enum sn_pretok_kind {
  SN_PRETOK_BERT = 1,
  SN_PRETOK_WHITESPACE,       /* \w+|[^\w\s]+ */
  SN_PRETOK_WHITESPACE_SPLIT, /* split on whitespace, removed */
  SN_PRETOK_PUNCTUATION,      /* punctuation characters, with a behavior */
  SN_PRETOK_DIGITS,           /* numeric characters: Isolated or Contiguous */
  SN_PRETOK_SPLIT,            /* a pattern, with a behavior and invert */
  SN_PRETOK_METASPACE,        /* maps the words' text (metaspace.c), then may cut */
} sn_pretok_kind_t;

/* The Rust SplitDelimiterBehavior: what happens to a match. */
typedef enum sn_split_behavior {
  SN_SPLIT_REMOVED = 0,
  SN_SPLIT_ISOLATED,
  SN_SPLIT_MERGED_WITH_PREVIOUS,
  SN_SPLIT_MERGED_WITH_NEXT,
  SN_SPLIT_CONTIGUOUS,
} sn_split_behavior_t;

typedef struct sn_pretok_step {
  sn_pretok_kind_t kind;
  sn_split_behavior_t behavior; /* Punctuation, Digits, Split */
  uint8_t invert;               /* Split: the gaps are the matches */
  sn_regex_t pattern;           /* Split, owned */
} sn_pretok_step_t;

#define SN_PRETOK_MAX_STEPS 8

/* GPT-2's byte-level pre-tokenizer (bytelevel.c). It is always the last
 * step: the steps before it cut words, then each word gets the prefix space,
 * the split regex and the byte-to-char map. */
typedef struct sn_bytelevel {
  uint8_t add_prefix_space;
  uint8_t use_regex;
  sn_regex_t regex; /* GPT-2's pattern when use_regex */
} sn_bytelevel_t;

/* SentencePiece's Metaspace pre-tokenizer (metaspace.c): ' ' becomes
 * `replacement`, which is prepended per `prepend`, then words are cut before
 * each replacement character when `split`. At most one per pipeline; the
 * words after it index the text it made. */
typedef enum sn_prepend_scheme {
  SN_PREPEND_ALWAYS = 0,
  SN_PREPEND_FIRST,
  SN_PREPEND_NEVER,
} sn_prepend_scheme_t;

typedef struct sn_metaspace {
  uint32_t replacement;
  sn_prepend_scheme_t prepend;
  uint8_t split;
} sn_metaspace_t;

typedef struct sn_pretokenizer {
  int count; /* 0: the whole segment is one word */
  sn_pretok_step_t steps[SN_PRETOK_MAX_STEPS];
  int has_bytelevel; /* 1: `bytelevel` follows the steps */
  sn_bytelevel_t bytelevel;
  int has_metaspace; /* 1: one step is SN_PRETOK_METASPACE, with `metaspace` */
  sn_metaspace_t metaspace;
} sn_pretokenizer_t;

/* A [start, end) range of code-point indices into an sn_text_t. */
typedef struct sn_span {
  uint32_t start, end;
} sn_span_t;

typedef struct sn_spans {
  sn_span_t *v;
  size_t len, cap;
} sn_spans_t;

sinter_status_t sn_spans_push(sn_spans_t *s, uint32_t start, uint32_t end, sinter_error_t *err);

/* Appends the matches of `re` in t[r] (code point ranges, in order, never
 * overlapping), with the onig crate's find_iter rules for empty matches. */
sinter_status_t sn_regex_find(const sn_regex_t *re, const sn_text_t *t, sn_span_t r,
                              sn_regex_scratch_t *sc, sn_spans_t *out, sinter_error_t *err);

/* ------------------------------------------------------------ bytelevel.c */

/* GPT-2's byte -> char map and its inverse (-1: not a byte char). */
uint32_t sn_bytelevel_char(uint8_t b);
int sn_bytelevel_byte(uint32_t c);
/* Characters the ByteLevel offset trimming counts: 'Ġ' or Rust whitespace. */
int sn_bytelevel_is_trim_char(uint32_t c);

/* Compiles the split regex when use_regex (INTERNAL naming `name` when
 * Oniguruma refuses it). sn_bytelevel_free releases it. */
sinter_status_t sn_bytelevel_compile(sn_bytelevel_t *bl, const char *name, sinter_error_t *err);
void sn_bytelevel_free(sn_bytelevel_t *bl);

/* Working memory of the byte-level split, per encoding. */
typedef struct sn_bytelevel_scratch {
  sn_text_t text;    /* the word as byte chars, each with its original range */
  sn_spans_t pieces; /* the regex's pieces, indices into text */
  unsigned char *utf8;
  size_t utf8_cap;
  sn_regex_scratch_t rx;
} sn_bytelevel_scratch_t;

void sn_bytelevel_scratch_free(sn_bytelevel_scratch_t *sc);

/* ByteLevel.pre_tokenize on one word text[word]: fills sc->text with its byte
 * chars (after the prefix space when configured and the word does not start
 * with ' ') and sc->pieces with the regex split (Isolated). */
sinter_status_t sn_bytelevel_split(const sn_bytelevel_t *bl, const sn_text_t *text, sn_span_t word,
                                   sn_bytelevel_scratch_t *sc, sinter_error_t *err);

/* Decoder helpers. sn_bytelevel_token_bytes writes the bytes a token stands
 * for (its byte chars mapped back, or its own UTF-8 when one character is not
 * a byte char) into out (>= n bytes) and returns their count.
 * sn_utf8_lossy writes s[0..n) as UTF-8 with every invalid sequence replaced
 * by U+FFFD as Rust's String::from_utf8_lossy does (out >= 3 * n bytes) and
 * returns the length written. */
size_t sn_bytelevel_token_bytes(const char *tok, size_t n, unsigned char *out);
size_t sn_utf8_lossy(const unsigned char *s, size_t n, char *out);

/* ------------------------------------------------------------ metaspace.c */

/* Metaspace.pre_tokenize on one word text[word]: appends to `out` the word,
 * ' ' replaced and the replacement prepended per the scheme, and to `pieces`
 * its words as ranges of `out` (cut before each replacement when split). */
sinter_status_t sn_metaspace_map(const sn_metaspace_t *ms, const sn_text_t *text, sn_span_t word,
                                 sn_text_t *out, sn_spans_t *pieces, sinter_error_t *err);

/* ------------------------------------------------------------ pretokenizer.c */

/* Working memory of the pre-tokenizer, per encoding. */
typedef struct sn_pretok_scratch {
  sn_spans_t tmp; /* words between steps */
  sn_spans_t next;
  sn_text_t mapped;  /* the text a Metaspace step made */
  sn_spans_t found;  /* a pattern's matches in one word */
  sn_spans_t events; /* the word cut into matches and gaps, in order */
  uint8_t *is_match; /* per event */
  size_t is_match_cap;
  sn_regex_scratch_t rx;
} sn_pretok_scratch_t;

void sn_pretok_scratch_free(sn_pretok_scratch_t *sc);
void sn_pretokenizer_free(sn_pretokenizer_t *p);

/* Splits text[range] into words, appended to `out` as ranges of *words_text:
 * `text`, or the text a Metaspace step made (in sc, valid until the next
 * call). */
sinter_status_t sn_pretokenize(const sn_pretokenizer_t *p, const sn_text_t *text, sn_span_t range,
                               sn_spans_t *out, sn_pretok_scratch_t *sc,
                               const sn_text_t **words_text, sinter_error_t *err);

/* ------------------------------------------------------------ vocab.c */

/* Token string -> id hash table (open addressing), plus id -> string. Keys are
 * copied into one arena owned by the vocab. */
typedef struct sn_vocab {
  char *arena;
  size_t arena_len, arena_cap;
  uint32_t *key_off; /* per entry: offset of key in arena */
  uint32_t *key_len;
  int32_t *key_id;
  size_t count, entries_cap;
  uint32_t *slots; /* entry index + 1, 0 = empty */
  size_t nslots;   /* power of two */
  /* id -> entry index + 1 (0 = none), dense over [0, max_id]. */
  uint32_t *by_id;
  int32_t max_id;
} sn_vocab_t;

void sn_vocab_free(sn_vocab_t *v);
/* Inserts or overwrites key -> id (later inserts win, like a dict). */
sinter_status_t sn_vocab_put(sn_vocab_t *v, const char *key, size_t len, int32_t id,
                             sinter_error_t *err);
/* Builds the id -> string index; call once after the last put. */
sinter_status_t sn_vocab_finish(sn_vocab_t *v, sinter_error_t *err);
/* Returns the id of key or -1. */
int32_t sn_vocab_get(const sn_vocab_t *v, const char *key, size_t len);
/* Returns the string of id (not NUL-terminated; *len set) or NULL. */
const char *sn_vocab_token(const sn_vocab_t *v, int32_t id, size_t *len);
uint64_t sn_hash_bytes(const void *p, size_t n);

/* ------------------------------------------------------------ model (vtable) */

/* A token produced by the model stage: id and a [start, end) range of code
 * point indices into the normalized text. */
typedef struct sn_raw_token {
  int32_t id;
  uint32_t start, end;
} sn_raw_token_t;

typedef struct sn_raw_tokens {
  sn_raw_token_t *v;
  size_t len, cap;
} sn_raw_tokens_t;

sinter_status_t sn_raw_tokens_push(sn_raw_tokens_t *t, int32_t id, uint32_t start, uint32_t end,
                                   sinter_error_t *err);

/* Per-call scratch a model may use (owned by the encoding object). */
struct sn_bpe_scratch;
struct sn_unigram_scratch;

typedef struct sn_model_scratch {
  unsigned char *bytes; /* UTF-8 of the current word */
  uint32_t *byte_cp;    /* for each byte, index of its code point in the word */
  size_t cap;
  struct sn_bpe_scratch *bpe;         /* BPE symbols and merge queue (bpe.c) */
  struct sn_unigram_scratch *unigram; /* the Viterbi lattice (unigram.c) */
} sn_model_scratch_t;

/* Writes the UTF-8 of text[word] into sc->bytes and, for each byte, the index
 * of its code point within the word into sc->byte_cp (both grown as needed);
 * *n is the byte count. For the models that work on bytes (BPE, Unigram). */
sinter_status_t sn_model_word_bytes(sn_model_scratch_t *sc, const sn_text_t *text, sn_span_t word,
                                    size_t *n, sinter_error_t *err);

/* The model stage: turns one pre-tokenized word into tokens. WordPiece is the
 * only implementation today; byte-level BPE and Unigram would be new vtables. */
typedef struct sn_model_vtable {
  const char *name;
  /* Tokenizes text[word] and appends tokens. Must be thread-safe for a shared
   * immutable model (all state in scratch/out). */
  sinter_status_t (*tokenize)(const void *model, const sn_text_t *text, sn_span_t word,
                              sn_model_scratch_t *scratch, sn_raw_tokens_t *out,
                              sinter_error_t *err);
  int32_t (*token_to_id)(const void *model, const char *tok, size_t len);
  const char *(*id_to_token)(const void *model, int32_t id, size_t *len);
  int32_t (*max_id)(const void *model);
  void (*destroy)(void *model);
} sn_model_vtable_t;

typedef struct sn_wordpiece {
  sn_vocab_t vocab; /* full vocabulary */
  sn_vocab_t cont;  /* continuation pieces keyed without the prefix */
  char *unk_token;
  int32_t unk_id; /* -1 when the vocabulary has no unk token */
  char *prefix;   /* continuing_subword_prefix, usually "##" */
  size_t max_input_chars_per_word;
  size_t max_token_bytes; /* longest key, bounds the greedy search */
} sn_wordpiece_t;

extern const sn_model_vtable_t sn_wordpiece_vtable;

/* Creates a WordPiece model taking ownership of `vocab` (finished or not). */
sinter_status_t sn_wordpiece_create(sn_vocab_t *vocab, const char *unk_token, const char *prefix,
                                    size_t max_input_chars_per_word, sn_wordpiece_t **out,
                                    sinter_error_t *err);

typedef struct sn_bpe_options {
  const char *unk_token;                 /* NULL: none */
  const char *continuing_subword_prefix; /* NULL: none */
  const char *end_of_word_suffix;        /* NULL: none */
  int fuse_unk, byte_fallback, ignore_merges;
} sn_bpe_options_t;

struct sn_bpe_cache;

typedef struct sn_bpe {
  sn_vocab_t vocab;
  /* Merges: open addressing over (left id << 32 | right id), UINT64_MAX empty. */
  uint64_t *merge_key;
  uint32_t *merge_rank;
  int32_t *merge_new;
  size_t merge_slots, merge_count;
  char *unk_token, *prefix, *suffix; /* NULL: none */
  size_t prefix_len, suffix_len;
  int32_t unk_id;        /* -1: no unk token or not in the vocabulary */
  int32_t byte_ids[256]; /* ids of "<0xNN>" (byte_fallback), -1 absent */
  uint8_t fuse_unk, byte_fallback, ignore_merges;
  struct sn_bpe_cache *cache; /* shared, bounded; see bpe.c */
} sn_bpe_t;

extern const sn_model_vtable_t sn_bpe_vtable;

/* Creates a BPE model taking ownership of `vocab` (not finished); merges are
 * added after with sn_bpe_add_merge (merges_hint: how many will come). */
sinter_status_t sn_bpe_create(sn_vocab_t *vocab, const sn_bpe_options_t *opt, size_t merges_hint,
                              sn_bpe_t **out, sinter_error_t *err);
/* Adds the merge a + b with the given rank: FORMAT when a, b or their merge
 * (b without the continuing-subword prefix) is not in the vocabulary. */
sinter_status_t sn_bpe_add_merge(sn_bpe_t *bpe, const char *a, size_t alen, const char *b,
                                 size_t blen, uint32_t rank, sinter_error_t *err);
void sn_bpe_scratch_free(struct sn_bpe_scratch *s);

typedef struct sn_unigram sn_unigram_t;

extern const sn_model_vtable_t sn_unigram_vtable;

/* Creates a Unigram model taking ownership of `vocab` (piece -> id, not
 * finished) and `scores` (count entries, by id; malloc'd). unk_id: -1 for
 * none. */
sinter_status_t sn_unigram_create(sn_vocab_t *vocab, double *scores, size_t count, int32_t unk_id,
                                  int byte_fallback, sn_unigram_t **out, sinter_error_t *err);
void sn_unigram_scratch_free(struct sn_unigram_scratch *s);

/* ------------------------------------------------------------ added tokens */

typedef struct sn_added_token {
  char *content;
  size_t len;
  int32_t id;
  uint8_t special, normalized, lstrip, rstrip, single_word;
} sn_added_token_t;

/* A trie over added-token contents for leftmost-longest matching. Symbols are
 * bytes (raw matching) or code points (matching on normalized text). */
typedef struct sn_trie_node {
  int32_t first_child; /* -1 none */
  int32_t next_sibling;
  int32_t token; /* index into tok->added, -1 when no token ends here */
  uint32_t sym;
} sn_trie_node_t;

typedef struct sn_trie {
  sn_trie_node_t *nodes; /* nodes[0] is the root once anything is inserted */
  size_t len, cap;
  uint8_t first_sym[256]; /* low byte of every first symbol */
} sn_trie_t;

void sn_trie_free(sn_trie_t *t);
sinter_status_t sn_trie_insert(sn_trie_t *t, const uint32_t *sym, size_t n, int32_t token,
                               sinter_error_t *err);

/* Receives the splits of a text, in order and covering it: token >= 0 for an
 * added token (index into tok->added), -1 for text between matches. */
typedef sinter_status_t (*sn_added_cb)(void *ctx, int32_t token, size_t start, size_t end,
                                       sinter_error_t *err);

/* Splits raw text s[0..n) on non-normalized added tokens (byte offsets). */
sinter_status_t sn_added_find_raw(const sn_tokenizer_t *tok, const unsigned char *s, size_t n,
                                  sn_added_cb cb, void *ctx, sinter_error_t *err);
/* Splits text[range] on normalized added tokens (code point indices). */
sinter_status_t sn_added_find_normalized(const sn_tokenizer_t *tok, const sn_text_t *text,
                                         sn_span_t range, sn_added_cb cb, void *ctx,
                                         sinter_error_t *err);

/* ------------------------------------------------------------ post-processing */

typedef struct sn_template_piece {
  int is_sequence; /* 1: $A or $B; 0: special token */
  int sequence;    /* 0 = A, 1 = B */
  int32_t type_id;
  int special_index; /* into sn_post_t.specials */
} sn_template_piece_t;

typedef struct sn_special_entry {
  char *name;
  int32_t *ids;
  size_t count;
} sn_special_entry_t;

typedef struct sn_post {
  int kind; /* 0 none, 1 template */
  /* ByteLevel / RobertaProcessing: trim the spaces a token's string starts
   * or ends with off its offsets (bytelevel.c's process_offsets rules). */
  int trim_offsets;
  int trim_add_prefix_space;
  int zero_type_ids; /* RobertaProcessing: every type id is 0 */
  sn_template_piece_t *single, *pair;
  size_t single_len, pair_len;
  sn_special_entry_t *specials;
  size_t specials_len;
} sn_post_t;

/* The tokens of one sequence before post-processing: ids, byte offsets
 * into that sequence's text and, for offset trimming, how many trim
 * characters the token's string starts (ws.start) and ends (ws.end) with. */
typedef struct sn_seq {
  int32_t *ids;
  sn_offset_t *off;
  sn_offset_t *ws;
  size_t len, cap;
} sn_seq_t;

sinter_status_t sn_seq_push(sn_seq_t *s, int32_t id, uint32_t start, uint32_t end,
                            sinter_error_t *err);
sinter_status_t sn_seq_push_ws(sn_seq_t *s, int32_t id, uint32_t start, uint32_t end, uint32_t lead,
                               uint32_t trail, sinter_error_t *err);

/* Working memory of an encoding object, reused across calls. */
struct sn_encoding_scratch {
  sn_text_t seg, tmp;
  sn_spans_t words;
  sn_pretok_scratch_t pretok;
  sn_regex_scratch_t norm_rx; /* the normalizer's Replace patterns */
  sn_spans_t norm_matches;
  sn_raw_tokens_t raw;
  sn_model_scratch_t model;
  sn_bytelevel_scratch_t bytelevel;
  sn_seq_t seq[2];
  /* The last text A encoded with reuse_repeated_text, before truncation: a
   * reranker's query is tokenized once for all its pairs. */
  sn_seq_t memo;
  const char *memo_text;
  size_t memo_len;
};

/* Padding never makes an encoding longer than this many tokens (LIMIT). */
#define SN_TOKENIZER_MAX_PADDED (1u << 20)

/* Grows enc's arrays to hold n tokens. */
sinter_status_t sn_encoding_reserve(sn_encoding_t *enc, size_t n, sinter_error_t *err);

/* Truncates, adds special tokens and writes the final encoding (postprocess.c).
 * b and text_b are NULL for a single text. */
sinter_status_t sn_post_assemble(const sn_tokenizer_t *tok, const sn_encode_options_t *opts,
                                 sn_seq_t *a, const char *text_a, size_t len_a, sn_seq_t *b,
                                 const char *text_b, size_t len_b, sn_encoding_t *enc,
                                 sinter_error_t *err);

/* The padded length for an encoding of `len` tokens (or a batch whose longest
 * is `len`) under `pad`. */
size_t sn_padding_target(const sn_padding_t *pad, size_t len);
/* Pads enc up to `target` tokens. */
sinter_status_t sn_encoding_pad(sn_encoding_t *enc, size_t target, const sn_padding_t *pad,
                                sinter_error_t *err);

/* ------------------------------------------------------------ the tokenizer */

struct sn_decoder;

struct sn_tokenizer {
  const sn_model_vtable_t *model_vt;
  void *model;
  sn_normalizer_t normalizer;
  sn_pretokenizer_t pretokenizer;
  sn_post_t post;
  sn_added_token_t *added;
  size_t added_len;
  sn_trie_t raw_trie;         /* added tokens with normalized = false */
  sn_trie_t norm_trie;        /* added tokens with normalized = true, by normalized content */
  sn_vocab_t added_vocab;     /* content -> id of added tokens */
  sn_vocab_t added_names;     /* id -> name: the normalized content when normalized = true */
  sn_vocab_t special_vocab;   /* contents of special added tokens (for decode) */
  int chunkable;              /* long plain segments may be cut at ASCII whitespace */
  struct sn_decoder *decoder; /* NULL: tokens joined by spaces (decoder.c) */
  sn_truncation_t truncation;
  sn_padding_t padding;
};

/* Builds both added-token tries (normalizing contents of normalized tokens with
 * the tokenizer's normalizer) and the added vocab. */
sinter_status_t sn_tokenizer_finish_added(sn_tokenizer_t *tok, sinter_error_t *err);

/* A NUL-terminated heap copy of s[0..n), or NULL when out of memory. */
char *sn_tok_strndup(const char *s, size_t n);
/* Allocates an empty tokenizer (no model yet). */
sn_tokenizer_t *sn_tokenizer_alloc(void);

/* Post-processing template helpers (postprocess.c). */
void sn_post_free(sn_post_t *p);
/* Number of special tokens the template adds for a single text or a pair. */
size_t sn_post_added_count(const sn_post_t *p, int pair);

#endif
