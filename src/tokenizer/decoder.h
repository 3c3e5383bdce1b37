/*
 * decoder.h — the tokenizer.json "decoder": token strings back to text.
 *
 * The Rust `tokenizers` library decodes with a chain of steps, each mapping a
 * list of strings to a list of strings (Decoder::decode_chain), and joins the
 * last list with "" (Decoder::decode); without a decoder the tokens are joined
 * with " ". This module mirrors that chain step by step, so that every
 * tokenizer.json decoder we accept decodes byte for byte as the Rust library
 * 0.23 does. A Sequence is flattened into its steps at load time.
 *
 * Module-internal: nothing outside src/tokenizer/ (and its unit test) uses it.
 */
#ifndef SN_TOKENIZER_DECODER_H
#define SN_TOKENIZER_DECODER_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "base/status.h"

/* Decoders may nest this deep through Sequences (the top-level decoder is
 * depth 1); deeper nesting is refused with LIMIT rather than recursing
 * without bound (the Rust library has no limit of its own but serde_json's
 * recursion limit of 128). */
#define SN_DECODER_MAX_DEPTH 8

/* A loaded decoder chain: immutable after load, so one may be shared by
 * threads decoding at the same time (all working memory is per call). */
typedef struct sn_decoder sn_decoder_t;

/* Reads the tokenizer.json "decoder" value. NULL or JSON null means no
 * decoder: *out is set to NULL and SINTER_OK returned. An unknown type, an
 * unknown field value (prepend_scheme) or a Replace with a Regex pattern is
 * UNSUPPORTED ("unsupported decoder \"X\" in <name>"); a value the Rust
 * library would refuse to deserialize (missing or mistyped field, a "char"
 * that is not one character) is FORMAT naming `name` and the field's path,
 * e.g. "decoder.decoders[1].content"; Sequences nested deeper than
 * SN_DECODER_MAX_DEPTH are LIMIT, with the path of the first decoder too
 * deep. Unknown fields are ignored, as serde does. */
sinter_status_t sn_decoder_from_json(const cJSON *json, const char *name, sn_decoder_t **out,
                                     sinter_error_t *err);

/* Frees a decoder (NULL is fine). */
void sn_decoder_free(sn_decoder_t *d);

/* Decodes `count` token strings (tokens[i], lens[i] bytes each, already
 * filtered for skip_special_tokens by the caller) into one malloc'd
 * NUL-terminated string: the decoder chain's output joined with "", or, when
 * d is NULL, the tokens joined with " ". *out_len (when out_len is non-NULL)
 * gets its length; the text may hold NUL bytes (a "<0x00>" byte token).
 * OUT_OF_MEMORY when an allocation fails, with *out NULL. */
sinter_status_t sn_decoder_decode(const sn_decoder_t *d, const char *const *tokens,
                                  const size_t *lens, size_t count, char **out, size_t *out_len,
                                  sinter_error_t *err);

#endif
