/*
 * tokenizer.h — text to token ids for BERT-family models, identical to the
 * Hugging Face `tokenizers` library (Rust) token for token.
 *
 * A tokenizer is loaded once from a model folder or from tokenizer.json bytes
 * and is immutable afterwards (except through the explicit sn_tokenizer_set_*
 * calls, which must happen before it is shared): any number of threads may
 * encode with one tokenizer at once (the BPE model's bounded word cache is
 * the one shared mutable part, and it locks itself). All per-call state lives in caller-owned
 * sn_encoding_t objects; reuse one per thread to avoid allocation on the hot
 * path.
 *
 * Supported today: the WordPiece and BPE models (BPE with unk_token,
 * fuse_unk, continuing_subword_prefix, end_of_word_suffix, byte_fallback,
 * ignore_merges; no dropout); BertNormalizer and sequences of NFD, Lowercase,
 * StripAccents and Strip; BertPreTokenizer, Whitespace, WhitespaceSplit,
 * Punctuation(isolated) and ByteLevel (GPT-2's, last in a sequence);
 * TemplateProcessing, BertProcessing, RobertaProcessing and ByteLevel
 * (offset trimming); the WordPiece and ByteLevel decoders; added tokens with
 * all their flags; truncation (stride 0) and padding. Anything else is
 * refused by name with SINTER_ERR_UNSUPPORTED. The model stage sits behind a
 * small vtable, so a Unigram model can be added without touching the rest of
 * the pipeline.
 *
 * Offsets: every token carries [start, end) offsets into the text it came from
 * (text A or text B), both in bytes and in Unicode code points (what Python's
 * `tokenizers` reports); special and padding tokens have (0, 0).
 */
#ifndef SN_TOKENIZER_TOKENIZER_H
#define SN_TOKENIZER_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "sinter.h"

typedef struct sn_tokenizer sn_tokenizer_t;

/* Which side truncation removes from, or padding adds to. */
typedef enum sn_side {
  SN_SIDE_RIGHT = 0,
  SN_SIDE_LEFT = 1,
} sn_side_t;

typedef enum sn_truncation_strategy {
  SN_TRUNCATE_LONGEST_FIRST = 0,
  SN_TRUNCATE_ONLY_FIRST = 1,
  SN_TRUNCATE_ONLY_SECOND = 2,
} sn_truncation_strategy_t;

/* Truncation, as the Rust TruncationParams with stride 0. max_length counts the
 * special tokens the post-processor adds. */
typedef struct sn_truncation {
  int enabled;
  size_t max_length;
  sn_truncation_strategy_t strategy;
  sn_side_t direction;
} sn_truncation_t;

typedef enum sn_padding_strategy {
  SN_PAD_NONE = 0,
  SN_PAD_LONGEST = 1, /* to the longest encoding of the batch */
  SN_PAD_FIXED = 2,   /* to `length` */
} sn_padding_strategy_t;

typedef struct sn_padding {
  sn_padding_strategy_t strategy;
  size_t length;      /* SN_PAD_FIXED only */
  size_t multiple_of; /* 0: none; else the padded length is rounded up to it */
  sn_side_t direction;
  int32_t pad_id;
  int32_t pad_type_id;
} sn_padding_t;

/* Per-call choices. Zero-initialise, then set add_special_tokens = 1 for the
 * usual behaviour (sn_encode_options_default does both). NULL truncation or
 * padding pointers mean "the tokenizer's own settings". */
typedef struct sn_encode_options {
  int add_special_tokens;
  const sn_truncation_t *truncation;
  const sn_padding_t *padding;
  /* 1: when text A is the same pointer and length as on this encoding's
   * previous encode (with this flag), its tokens are reused instead of
   * encoded again. The caller promises the bytes did not change. */
  int reuse_repeated_text;
} sn_encode_options_t;

/* The default options: special tokens on, the tokenizer's truncation/padding. */
sn_encode_options_t sn_encode_options_default(void);

typedef struct sn_offset {
  uint32_t start, end;
} sn_offset_t;

struct sn_encoding_scratch;

/* One encoded text or pair. Caller-owned storage: sn_encoding_init before first
 * use, sn_encoding_deinit when done; the arrays are owned by the encoding and
 * valid until its next encode or deinit. One encoding must not be used by two
 * threads at once. */
typedef struct sn_encoding {
  size_t length;                /* number of tokens, padding included */
  int32_t *ids;                 /* token ids */
  int32_t *type_ids;            /* token type (segment) ids */
  int32_t *attention_mask;      /* 1 for real tokens, 0 for padding */
  int32_t *special_tokens_mask; /* 1 for post-processor and padding tokens */
  int32_t *sequence_ids;        /* 0 text A, 1 text B, -1 special or padding */
  sn_offset_t *offsets;         /* byte offsets into text A or B */
  sn_offset_t *char_offsets;    /* code point offsets into text A or B */
  size_t capacity;
  struct sn_encoding_scratch *scratch; /* reusable working memory */
} sn_encoding_t;

void sn_encoding_init(sn_encoding_t *enc);
void sn_encoding_deinit(sn_encoding_t *enc);

/* Loads the tokenizer of a Hugging Face model folder: tokenizer.json when
 * present, else vocab.txt with tokenizer_config.json and special_tokens_map.json.
 * tokenizer_config.json's do_lower_case / strip_accents /
 * tokenize_chinese_chars override a BertNormalizer as transformers does, and a
 * sentence_bert_config.json adds sentence-transformers' (6.x) steps: do_lower_case
 * as a Lowercase normalizer first, truncation to max_seq_length, padding to
 * the longest; the text is not stripped.
 * On success *out is a new tokenizer owned by the caller (sn_tokenizer_destroy).
 * Errors: IO/NOT_FOUND (missing files), FORMAT (malformed JSON or vocab),
 * UNSUPPORTED (a model, normalizer, ... we do not implement, named),
 * OUT_OF_MEMORY. Thread-safe (no shared state). */
sinter_status_t sn_tokenizer_load_dir(const char *dir, sn_tokenizer_t **out, sinter_error_t *err);

/* One tokenizer file held in memory: its base name ("tokenizer.json") and
 * bytes (need not be NUL-terminated). */
typedef struct sn_tokenizer_file {
  const char *name;
  const char *data;
  size_t size;
} sn_tokenizer_file_t;

/* The base names the loader reads, NULL-terminated, in a stable order:
 * tokenizer.json, vocab.txt, tokenizer_config.json, special_tokens_map.json,
 * sentence_bert_config.json. */
extern const char *const sn_tokenizer_file_names[];

/* Loads a tokenizer from files held in memory, exactly as sn_tokenizer_load_dir
 * would from a folder holding them: a file absent from `files` is a missing
 * file (a vocab.txt beside a tokenizer.json is ignored), and `label` (not
 * NULL) stands where the folder's path stood in messages, so that with label =
 * the folder every message is the folder loader's. The bytes (which need not
 * be NUL-terminated) are borrowed for the call only: the tokenizer keeps no
 * pointer into them. On success *out is a new tokenizer owned by the caller.
 * Errors as sn_tokenizer_load_dir, plus INVALID_ARGUMENT for a name not in
 * sn_tokenizer_file_names or given twice, a NULL label, or NULL files with a
 * non-zero count. Size caps are the reader's business (sn_tokenizer_read_dir).
 * Thread-safe (no shared state). */
sinter_status_t sn_tokenizer_load_files(const sn_tokenizer_file_t *files, size_t count,
                                        const char *label, sn_tokenizer_t **out,
                                        sinter_error_t *err);

/* Reads the tokenizer files present in `dir` into memory, as the folder loader
 * reads them: with its size caps (512 MiB for tokenizer.json and vocab.txt,
 * 16 MiB for the JSON configs) and in its order, and without vocab.txt when
 * tokenizer.json is present (the loader would not parse it). *out_files is a
 * new array of *out_count files in sn_tokenizer_file_names order (names are
 * those constants, data owned by the array; release with
 * sn_tokenizer_files_free); files absent are skipped, none present is OK
 * (count 0, *out_files NULL). Errors: IO, LIMIT, OUT_OF_MEMORY; on error
 * nothing is returned. Thread-safe. */
sinter_status_t sn_tokenizer_read_dir(const char *dir, sn_tokenizer_file_t **out_files,
                                      size_t *out_count, sinter_error_t *err);

/* Frees what sn_tokenizer_read_dir returned (NULL allowed). */
void sn_tokenizer_files_free(sn_tokenizer_file_t *files, size_t count);

/* Loads a tokenizer from the bytes of a tokenizer.json (json[0..len), need not
 * be NUL-terminated); `name` is used in error messages (e.g. the file path).
 * Same semantics as the Rust Tokenizer::from_str, truncation and padding
 * included. Errors and ownership as sn_tokenizer_load_dir. */
sinter_status_t sn_tokenizer_load_json(const char *json, size_t len, const char *name,
                                       sn_tokenizer_t **out, sinter_error_t *err);

/* Releases a tokenizer. NULL is allowed. */
void sn_tokenizer_destroy(sn_tokenizer_t *tok);

/* Replaces the tokenizer's default truncation (NULL disables it) or padding
 * (NULL disables it). Not thread-safe: call before sharing the tokenizer, or
 * pass per-call settings through sn_encode_options_t instead. */
void sn_tokenizer_set_truncation(sn_tokenizer_t *tok, const sn_truncation_t *truncation);
void sn_tokenizer_set_padding(sn_tokenizer_t *tok, const sn_padding_t *padding);
/* Copies the current defaults out. */
void sn_tokenizer_get_truncation(const sn_tokenizer_t *tok, sn_truncation_t *out);
void sn_tokenizer_get_padding(const sn_tokenizer_t *tok, sn_padding_t *out);

/* Encodes `text` (text_len bytes of UTF-8) or, when `pair` is non-NULL, the
 * pair (text, pair) into `out` (initialised by the caller; its previous
 * content is replaced). options may be NULL for the defaults. Padding to the
 * longest pads only to this encoding's own length (and multiple_of).
 * Errors: INVALID_ARGUMENT (invalid UTF-8, with the byte offset; a truncation
 * that cannot be satisfied, e.g. only_second without a pair), LIMIT (a text of
 * 4 GiB or more; the split regex giving up on its backtracking limit), FORMAT
 * (a word needs the model's unknown token and the vocabulary lacks it),
 * OUT_OF_MEMORY. Thread-safe for a shared tokenizer. */
sinter_status_t sn_tokenizer_encode(const sn_tokenizer_t *tok, const char *text, size_t text_len,
                                    const char *pair, size_t pair_len,
                                    const sn_encode_options_t *options, sn_encoding_t *out,
                                    sinter_error_t *err);

/* Encodes `count` texts (pairs when `pairs` is non-NULL) into outs[0..count)
 * (each initialised by the caller), then pads them across the batch. `lens` and
 * `pair_lens` may be NULL for NUL-terminated strings. On error the message
 * names the failing batch index. Errors as sn_tokenizer_encode. */
sinter_status_t sn_tokenizer_encode_batch(const sn_tokenizer_t *tok, size_t count,
                                          const char *const *texts, const size_t *lens,
                                          const char *const *pairs, const size_t *pair_lens,
                                          const sn_encode_options_t *options, sn_encoding_t *outs,
                                          sinter_error_t *err);

/* Turns ids back into text like the Rust Tokenizer::decode: ids of special
 * added tokens are dropped when skip_special_tokens is set, unknown ids are
 * skipped, WordPiece "##" pieces are joined and, when the decoder asks for it,
 * spaces before punctuation are cleaned up; the ByteLevel decoder turns the
 * tokens' byte chars back into bytes and those into UTF-8, each invalid
 * sequence becoming U+FFFD as in Rust's from_utf8_lossy. *out_text is a new NUL-terminated
 * string owned by the caller (free()); *out_len (may be NULL) its length.
 * Errors: OUT_OF_MEMORY. Thread-safe. */
sinter_status_t sn_tokenizer_decode(const sn_tokenizer_t *tok, const int32_t *ids, size_t count,
                                    int skip_special_tokens, char **out_text, size_t *out_len,
                                    sinter_error_t *err);

/* Size of the id space: the largest id of the model or of an added token + 1. */
size_t sn_tokenizer_vocab_size(const sn_tokenizer_t *tok);

/* The id of a token string (added tokens first, then the model), or -1. */
int32_t sn_tokenizer_token_to_id(const sn_tokenizer_t *tok, const char *token, size_t len);

/* The string of an id (added tokens first, then the model), NUL-terminated and
 * borrowed from the tokenizer, or NULL for an unknown id. *len may be NULL. */
const char *sn_tokenizer_id_to_token(const sn_tokenizer_t *tok, int32_t id, size_t *len);

/* The name of the model stage ("WordPiece" or "BPE"). */
const char *sn_tokenizer_model_name(const sn_tokenizer_t *tok);

#endif
