/*
 * postprocess.c — what happens after the model: truncation (the Rust
 * truncate_encodings with stride 0), the post-processor template that adds
 * [CLS]/[SEP] and token types, byte -> code point offsets, and padding.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/internal.h"

void sn_post_free(sn_post_t *p) {
  free(p->single);
  free(p->pair);
  for (size_t i = 0; i < p->specials_len; i++) {
    free(p->specials[i].name);
    free(p->specials[i].ids);
  }
  free(p->specials);
  memset(p, 0, sizeof *p);
}

size_t sn_post_added_count(const sn_post_t *p, int pair) {
  if (p->kind == 0) return 0;
  const sn_template_piece_t *v = pair ? p->pair : p->single;
  size_t n = pair ? p->pair_len : p->single_len, count = 0;
  for (size_t i = 0; i < n; i++) {
    if (!v[i].is_sequence) count += p->specials[v[i].special_index].count;
  }
  return count;
}

sinter_status_t sn_seq_push_ws(sn_seq_t *s, int32_t id, uint32_t start, uint32_t end, uint32_t lead,
                               uint32_t trail, sinter_error_t *err) {
  if (s->len == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 256;
    int32_t *ids = realloc(s->ids, cap * sizeof *ids);
    if (ids) s->ids = ids;
    sn_offset_t *off = ids ? realloc(s->off, cap * sizeof *off) : NULL;
    if (off) s->off = off;
    sn_offset_t *ws = off ? realloc(s->ws, cap * sizeof *ws) : NULL;
    if (ws) s->ws = ws;
    if (!ids || !off || !ws)
      return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "tokenizer: out of memory");
    s->cap = cap;
  }
  s->ids[s->len] = id;
  s->off[s->len].start = start;
  s->off[s->len].end = end;
  s->ws[s->len].start = lead;
  s->ws[s->len].end = trail;
  s->len++;
  return SINTER_OK;
}

sinter_status_t sn_seq_push(sn_seq_t *s, int32_t id, uint32_t start, uint32_t end,
                            sinter_error_t *err) {
  return sn_seq_push_ws(s, id, start, end, 0, 0, err);
}

sinter_status_t sn_encoding_reserve(sn_encoding_t *enc, size_t n, sinter_error_t *err) {
  if (n <= enc->capacity) return SINTER_OK;
  size_t cap = enc->capacity ? enc->capacity : 64;
  while (cap < n) cap *= 2;
  int32_t **arrays[] = {&enc->ids, &enc->type_ids, &enc->attention_mask, &enc->special_tokens_mask,
                        &enc->sequence_ids};
  for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
    int32_t *p = realloc(*arrays[i], cap * sizeof *p);
    if (!p) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "encoding: out of memory");
    *arrays[i] = p;
  }
  sn_offset_t *o = realloc(enc->offsets, cap * sizeof *o);
  if (!o) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "encoding: out of memory");
  enc->offsets = o;
  o = realloc(enc->char_offsets, cap * sizeof *o);
  if (!o) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "encoding: out of memory");
  enc->char_offsets = o;
  enc->capacity = cap;
  return SINTER_OK;
}

/* Keeps `keep` tokens of s: the first ones (right truncation) or the last. */
static void truncate_seq(sn_seq_t *s, size_t keep, sn_side_t dir) {
  if (s->len <= keep) return;
  if (dir == SN_SIDE_LEFT) {
    size_t drop = s->len - keep;
    memmove(s->ids, s->ids + drop, keep * sizeof *s->ids);
    memmove(s->off, s->off + drop, keep * sizeof *s->off);
    memmove(s->ws, s->ws + drop, keep * sizeof *s->ws);
  }
  s->len = keep;
}

static sinter_status_t truncate(const sn_truncation_t *tr, size_t max_length, sn_seq_t *a,
                                sn_seq_t *b, sinter_error_t *err) {
  if (max_length == 0) {
    truncate_seq(a, 0, tr->direction);
    if (b) truncate_seq(b, 0, tr->direction);
    return SINTER_OK;
  }
  size_t total = a->len + (b ? b->len : 0);
  if (total <= max_length) return SINTER_OK;
  size_t to_remove = total - max_length;
  switch (tr->strategy) {
    case SN_TRUNCATE_LONGEST_FIRST:
      if (b) {
        size_t n1 = a->len, n2 = b->len;
        int swap = 0;
        if (n1 > n2) {
          swap = 1;
          size_t t = n1;
          n1 = n2;
          n2 = t;
        }
        if (n1 > max_length) {
          n2 = n1;
        } else {
          n2 = n1 > max_length - n1 ? n1 : max_length - n1;
        }
        if (n1 + n2 > max_length) {
          n1 = max_length / 2;
          n2 = n1 + max_length % 2;
        }
        if (swap) {
          size_t t = n1;
          n1 = n2;
          n2 = t;
        }
        truncate_seq(a, n1, tr->direction);
        truncate_seq(b, n2, tr->direction);
      } else {
        truncate_seq(a, total - to_remove, tr->direction);
      }
      return SINTER_OK;
    case SN_TRUNCATE_ONLY_FIRST:
    case SN_TRUNCATE_ONLY_SECOND: {
      sn_seq_t *target = tr->strategy == SN_TRUNCATE_ONLY_FIRST ? a : b;
      if (!target) {
        return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                            "truncation only_second needs a pair of texts");
      }
      if (target->len <= to_remove) {
        return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                            "truncation: the %s text (%zu tokens) is too short to remove %zu "
                            "tokens for max_length %zu",
                            target == a ? "first" : "second", target->len, to_remove, max_length);
      }
      truncate_seq(target, target->len - to_remove, tr->direction);
      return SINTER_OK;
    }
  }
  return SINTER_OK;
}

/* Converts byte offsets to code point offsets with a cursor that walks the text
 * forward (offsets are almost always non-decreasing) or back when needed. */
typedef struct char_cursor {
  const unsigned char *s;
  size_t byte, chr;
} char_cursor_t;

static uint32_t cursor_chars(char_cursor_t *c, size_t byte) {
  while (c->byte < byte) {
    if ((c->s[c->byte] & 0xC0) != 0x80) c->chr++;
    c->byte++;
  }
  while (c->byte > byte) {
    c->byte--;
    if ((c->s[c->byte] & 0xC0) != 0x80) c->chr--;
  }
  return (uint32_t)c->chr;
}

static void write_token(sn_encoding_t *enc, size_t i, int32_t id, int32_t type_id, int special,
                        int32_t seq, sn_offset_t off, char_cursor_t *cur) {
  enc->ids[i] = id;
  enc->type_ids[i] = type_id;
  enc->attention_mask[i] = 1;
  enc->special_tokens_mask[i] = special;
  enc->sequence_ids[i] = seq;
  enc->offsets[i] = off;
  if (cur) {
    enc->char_offsets[i].start = cursor_chars(cur, off.start);
    enc->char_offsets[i].end = cursor_chars(cur, off.end);
  } else {
    enc->char_offsets[i] = off;
  }
}

/* The Rust process_offsets (pre_tokenizers/byte_level.rs) on one offset
 * pair, in the unit it is given: the ByteLevel and RobertaProcessing
 * post-processors move a token's offsets past the spaces its string starts
 * and ends with. Python sees char offsets, trimmed in chars; byte offsets are
 * trimmed in bytes, as the Rust byte-offset encode does. `index` is the
 * token's place in its own sequence. */
static void trim_offsets(sn_offset_t *o, size_t index, uint32_t lead, uint32_t trail,
                         int add_prefix_space) {
  if (lead > 0) {
    int is_first = index == 0 || o->start == 0;
    if (is_first && add_prefix_space && lead == 1) lead = 0;
    uint32_t s = o->start + lead;
    o->start = s < o->end ? s : o->end;
  }
  if (trail > 0 && o->end >= trail) {
    uint32_t e = o->end - trail;
    o->end = e > o->start ? e : o->start;
  }
}

/* Writes token i of sequence s at k, with its offsets trimmed when the
 * post-processor asks for it. */
static void write_seq_token(const sn_post_t *post, sn_encoding_t *enc, size_t k, const sn_seq_t *s,
                            size_t i, int32_t type_id, int32_t seq, char_cursor_t *cur) {
  write_token(enc, k, s->ids[i], type_id, 0, seq, s->off[i], cur);
  if (post->trim_offsets && (s->ws[i].start || s->ws[i].end)) {
    trim_offsets(&enc->offsets[k], i, s->ws[i].start, s->ws[i].end, post->trim_add_prefix_space);
    trim_offsets(&enc->char_offsets[k], i, s->ws[i].start, s->ws[i].end,
                 post->trim_add_prefix_space);
  }
}

sinter_status_t sn_post_assemble(const sn_tokenizer_t *tok, const sn_encode_options_t *opts,
                                 sn_seq_t *a, const char *text_a, size_t len_a, sn_seq_t *b,
                                 const char *text_b, size_t len_b, sn_encoding_t *enc,
                                 sinter_error_t *err) {
  (void)len_a;
  (void)len_b;
  int add_special = opts->add_special_tokens && tok->post.kind != 0;
  const sn_truncation_t *tr = opts->truncation ? opts->truncation : &tok->truncation;
  if (tr->enabled) {
    size_t n_added = add_special ? sn_post_added_count(&tok->post, b != NULL) : 0;
    /* Like the Rust library, a max_length smaller than the special tokens
     * disables truncation rather than failing. */
    if (tr->max_length >= n_added) SN_TRY(truncate(tr, tr->max_length - n_added, a, b, err));
  }
  /* Size the output by walking what will be written: a template may name a
   * sequence more than once (or not at all). */
  size_t total = 0;
  if (!add_special) {
    total = a->len + (b ? b->len : 0);
  } else {
    const sn_template_piece_t *v = b ? tok->post.pair : tok->post.single;
    size_t n = b ? tok->post.pair_len : tok->post.single_len;
    for (size_t p = 0; p < n; p++) {
      if (!v[p].is_sequence) {
        total += tok->post.specials[v[p].special_index].count;
      } else if (v[p].sequence == 0 || b) {
        total += v[p].sequence == 0 ? a->len : b->len;
      }
    }
  }
  SN_TRY(sn_encoding_reserve(enc, total, err));
  char_cursor_t ca = {(const unsigned char *)text_a, 0, 0};
  char_cursor_t cb = {(const unsigned char *)text_b, 0, 0};
  sn_offset_t zero = {0, 0};
  size_t k = 0;
  if (!add_special) {
    const sn_post_t *post = &tok->post;
    for (size_t i = 0; i < a->len; i++) write_seq_token(post, enc, k++, a, i, 0, 0, &ca);
    if (b) {
      int32_t type_b = post->zero_type_ids ? 0 : 1;
      for (size_t i = 0; i < b->len; i++) write_seq_token(post, enc, k++, b, i, type_b, 1, &cb);
    }
  } else {
    const sn_template_piece_t *v = b ? tok->post.pair : tok->post.single;
    size_t n = b ? tok->post.pair_len : tok->post.single_len;
    for (size_t p = 0; p < n; p++) {
      if (v[p].is_sequence) {
        sn_seq_t *s = v[p].sequence == 0 ? a : b;
        char_cursor_t *c = v[p].sequence == 0 ? &ca : &cb;
        if (!s) continue;
        for (size_t i = 0; i < s->len; i++) {
          write_seq_token(&tok->post, enc, k++, s, i, v[p].type_id, v[p].sequence, c);
        }
      } else {
        const sn_special_entry_t *e = &tok->post.specials[v[p].special_index];
        for (size_t i = 0; i < e->count; i++) {
          write_token(enc, k++, e->ids[i], v[p].type_id, 1, -1, zero, NULL);
        }
      }
    }
  }
  enc->length = k;
  return SINTER_OK;
}

size_t sn_padding_target(const sn_padding_t *pad, size_t len) {
  size_t target = pad->strategy == SN_PAD_FIXED ? pad->length : len;
  if (pad->multiple_of > 0 && target % pad->multiple_of != 0) {
    target += pad->multiple_of - target % pad->multiple_of;
  }
  return target;
}

sinter_status_t sn_encoding_pad(sn_encoding_t *enc, size_t target, const sn_padding_t *pad,
                                sinter_error_t *err) {
  if (pad->strategy == SN_PAD_NONE || enc->length >= target) return SINTER_OK;
  if (target > SN_TOKENIZER_MAX_PADDED) {
    return sn_error_set(err, SINTER_ERR_LIMIT, "padding to %zu tokens exceeds the limit of %u",
                        target, SN_TOKENIZER_MAX_PADDED);
  }
  SN_TRY(sn_encoding_reserve(enc, target, err));
  size_t n = target - enc->length;
  size_t at = enc->length;
  if (pad->direction == SN_SIDE_LEFT) {
    size_t len = enc->length;
    memmove(enc->ids + n, enc->ids, len * sizeof *enc->ids);
    memmove(enc->type_ids + n, enc->type_ids, len * sizeof *enc->type_ids);
    memmove(enc->attention_mask + n, enc->attention_mask, len * sizeof *enc->attention_mask);
    memmove(enc->special_tokens_mask + n, enc->special_tokens_mask,
            len * sizeof *enc->special_tokens_mask);
    memmove(enc->sequence_ids + n, enc->sequence_ids, len * sizeof *enc->sequence_ids);
    memmove(enc->offsets + n, enc->offsets, len * sizeof *enc->offsets);
    memmove(enc->char_offsets + n, enc->char_offsets, len * sizeof *enc->char_offsets);
    at = 0;
  }
  for (size_t i = at; i < at + n; i++) {
    enc->ids[i] = pad->pad_id;
    enc->type_ids[i] = pad->pad_type_id;
    enc->attention_mask[i] = 0;
    enc->special_tokens_mask[i] = 1;
    enc->sequence_ids[i] = -1;
    enc->offsets[i].start = enc->offsets[i].end = 0;
    enc->char_offsets[i].start = enc->char_offsets[i].end = 0;
  }
  enc->length = target;
  return SINTER_OK;
}
