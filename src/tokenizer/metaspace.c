/*
 * metaspace.c — SentencePiece's Metaspace pre-tokenizer as the Rust
 * `Metaspace` does it: every ' ' becomes the replacement character ('▁'),
 * the replacement is prepended to a word that does not start with it (always,
 * only for the word at the very start of the sequence, or never), and with
 * `split` the word is cut before each replacement character (the Rust
 * MergedWithNext split on that character).
 *
 * Offsets: the replaced ' ' keeps its own range; the prepended '▁' takes the
 * range of the word's first character (NormalizedString::prepend), so a
 * token made of it alone points at that character.
 */
#include "tokenizer/internal.h"

sinter_status_t sn_metaspace_map(const sn_metaspace_t *ms, const sn_text_t *text, sn_span_t word,
                                 sn_text_t *out, sn_spans_t *pieces, sinter_error_t *err) {
  if (word.start >= word.end) return SINTER_OK;
  SN_TRY(sn_text_reserve(out, (size_t)(word.end - word.start) + 1, err));
  uint32_t first = text->cp[word.start] == ' ' ? ms->replacement : text->cp[word.start];
  int prepend = first != ms->replacement &&
                (ms->prepend == SN_PREPEND_ALWAYS ||
                 (ms->prepend == SN_PREPEND_FIRST && text->start[word.start] == 0));
  uint32_t from = (uint32_t)out->len;
  if (prepend) sn_text_push(out, ms->replacement, text->start[word.start], text->end[word.start]);
  for (uint32_t i = word.start; i < word.end; i++) {
    uint32_t c = text->cp[i] == ' ' ? ms->replacement : text->cp[i];
    sn_text_push(out, c, text->start[i], text->end[i]);
  }
  uint32_t to = (uint32_t)out->len;
  if (!ms->split) return sn_spans_push(pieces, from, to, err);
  uint32_t piece = from;
  for (uint32_t i = from + 1; i < to; i++) {
    if (out->cp[i] != ms->replacement) continue;
    SN_TRY(sn_spans_push(pieces, piece, i, err));
    piece = i;
  }
  return sn_spans_push(pieces, piece, to, err);
}
