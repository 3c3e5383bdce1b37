/*
 * precompiled.h — the `Precompiled` normalizer: SentencePiece's compiled
 * character map (`precompiled_charsmap` in tokenizer.json of XLM-R,
 * DeBERTa-v3, CamemBERT, T5, ...), applied exactly as the Hugging Face
 * `tokenizers` library (Rust, crate spm_precompiled) applies it, alignments
 * included. See precompiled.c for the format and the Rust semantics.
 *
 * A parsed map is immutable: any number of threads may normalize with one.
 */
#ifndef SN_TOKENIZER_PRECOMPILED_H
#define SN_TOKENIZER_PRECOMPILED_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "tokenizer/internal.h"

typedef struct sn_precompiled sn_precompiled_t;

/* Decodes the base64 text b64[0..len) (standard alphabet, canonical '='
 * padding, as the Rust crate's BASE64_STANDARD requires) and parses the blob
 * (sn_precompiled_from_blob). FORMAT errors name `where` (for instance
 * "tokenizer.json: normalizer.precompiled_charsmap") and the defect. */
sinter_status_t sn_precompiled_parse(const char *b64, size_t len, const char *where,
                                     sn_precompiled_t **out, sinter_error_t *err);

/* Parses a raw charsmap blob: u32 LE trie size in bytes, the darts-clone
 * double array (trie size / 4 u32 LE units), then the NUL-separated UTF-8
 * replacement strings. Refuses (FORMAT, naming `where`) a blob shorter than 4
 * bytes, a trie size that is 0, not a multiple of 4 or beyond the blob, and
 * replacement strings that are not valid UTF-8. OUT_OF_MEMORY when a copy
 * cannot be made. */
sinter_status_t sn_precompiled_from_blob(const uint8_t *blob, size_t len, const char *where,
                                         sn_precompiled_t **out, sinter_error_t *err);

/* Releases a map (NULL is fine). */
void sn_precompiled_free(sn_precompiled_t *pc);

/* The Rust `Precompiled::transform`: the replacement of the shortest prefix
 * of key[0..n) that is a key of the trie (the search stops at a NUL byte).
 * Returns 1 and sets *repl and *repl_len (valid UTF-8, not NUL-terminated) on a
 * match, 0 when there is none or the match's value points outside the
 * replacement strings or inside a character (where the Rust crate panics). */
int sn_precompiled_transform(const sn_precompiled_t *pc, const unsigned char *key, size_t n,
                             const char **repl, size_t *repl_len);

/* Normalizes `in` (replaced by the result; tmp is scratch) as the Rust
 * Precompiled normalizer does: per extended grapheme cluster, with the
 * alignment bookkeeping of its `replace`. OUT_OF_MEMORY or LIMIT when the
 * result cannot be held. */
sinter_status_t sn_precompiled_normalize(const sn_precompiled_t *pc, sn_text_t *in, sn_text_t *tmp,
                                         sinter_error_t *err);

#endif
