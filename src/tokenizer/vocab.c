/*
 * vocab.c — the token string <-> id tables: an open-addressing hash table for
 * lookups by string (WordPiece probes it for every candidate piece, so it must
 * be O(1) and allocation-free), and a dense array for lookups by id.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/internal.h"

/* Ids above this are refused: the id -> string index is a dense array. */
#define SN_VOCAB_MAX_ID (1 << 24)

uint64_t sn_hash_bytes(const void *p, size_t n) {
  const unsigned char *s = p;
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)n;
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, s, 8);
    h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
    h ^= h >> 32;
    s += 8;
    n -= 8;
  }
  uint64_t w = 0;
  memcpy(&w, s, n);
  h = (h ^ w) * 0xC4CEB9FE1A85EC53ULL;
  h ^= h >> 29;
  h *= 0xFF51AFD7ED558CCDULL;
  h ^= h >> 32;
  return h;
}

void sn_vocab_free(sn_vocab_t *v) {
  free(v->arena);
  free(v->key_off);
  free(v->key_len);
  free(v->key_id);
  free(v->slots);
  free(v->by_id);
  memset(v, 0, sizeof *v);
  v->max_id = -1;
}

static size_t find_slot(const sn_vocab_t *v, const char *key, size_t len, uint64_t h) {
  size_t mask = v->nslots - 1;
  size_t i = (size_t)h & mask;
  for (;;) {
    uint32_t e = v->slots[i];
    if (e == 0) return i;
    e--;
    if (v->key_len[e] == len && memcmp(v->arena + v->key_off[e], key, len) == 0) return i;
    i = (i + 1) & mask;
  }
}

static sinter_status_t rehash(sn_vocab_t *v, size_t nslots, sinter_error_t *err) {
  uint32_t *slots = calloc(nslots, sizeof *slots);
  if (!slots) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "vocab: cannot allocate table");
  free(v->slots);
  v->slots = slots;
  v->nslots = nslots;
  for (size_t e = 0; e < v->count; e++) {
    const char *k = v->arena + v->key_off[e];
    size_t i = find_slot(v, k, v->key_len[e], sn_hash_bytes(k, v->key_len[e]));
    v->slots[i] = (uint32_t)e + 1;
  }
  return SINTER_OK;
}

sinter_status_t sn_vocab_put(sn_vocab_t *v, const char *key, size_t len, int32_t id,
                             sinter_error_t *err) {
  if (id < 0 || id >= SN_VOCAB_MAX_ID) {
    return sn_error_set(err, SINTER_ERR_FORMAT, "token id %ld out of range [0, %d)", (long)id,
                        SN_VOCAB_MAX_ID);
  }
  if (len > UINT32_MAX / 2) return sn_error_set(err, SINTER_ERR_LIMIT, "token too long");
  if ((v->count + 1) * 2 > v->nslots) {
    SN_TRY(rehash(v, v->nslots ? v->nslots * 2 : 1024, err));
  }
  uint64_t h = sn_hash_bytes(key, len);
  size_t i = find_slot(v, key, len, h);
  if (v->slots[i]) {
    v->key_id[v->slots[i] - 1] = id;
    if (id > v->max_id) v->max_id = id;
    return SINTER_OK;
  }
  if (v->count == v->entries_cap) {
    size_t cap = v->entries_cap ? v->entries_cap * 2 : 1024;
    uint32_t *ko = realloc(v->key_off, cap * sizeof *ko);
    if (ko) v->key_off = ko;
    uint32_t *kl = ko ? realloc(v->key_len, cap * sizeof *kl) : NULL;
    if (kl) v->key_len = kl;
    int32_t *ki = kl ? realloc(v->key_id, cap * sizeof *ki) : NULL;
    if (ki) v->key_id = ki;
    if (!ki) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "vocab: cannot grow entries");
    v->entries_cap = cap;
  }
  if (v->arena_len + len + 1 > v->arena_cap) {
    size_t cap = v->arena_cap ? v->arena_cap : 4096;
    while (cap < v->arena_len + len + 1) cap *= 2;
    if (cap > UINT32_MAX) return sn_error_set(err, SINTER_ERR_LIMIT, "vocab: strings exceed 4 GiB");
    char *a = realloc(v->arena, cap);
    if (!a) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "vocab: cannot grow strings");
    v->arena = a;
    v->arena_cap = cap;
  }
  memcpy(v->arena + v->arena_len, key, len);
  v->arena[v->arena_len + len] = '\0';
  v->key_off[v->count] = (uint32_t)v->arena_len;
  v->key_len[v->count] = (uint32_t)len;
  v->key_id[v->count] = id;
  v->arena_len += len + 1;
  v->slots[i] = (uint32_t)v->count + 1;
  v->count++;
  if (id > v->max_id) v->max_id = id;
  return SINTER_OK;
}

sinter_status_t sn_vocab_finish(sn_vocab_t *v, sinter_error_t *err) {
  free(v->by_id);
  v->by_id = NULL;
  if (v->count == 0) return SINTER_OK;
  v->by_id = calloc((size_t)v->max_id + 1, sizeof *v->by_id);
  if (!v->by_id) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "vocab: cannot index ids");
  /* Several strings may share an id; like a Rust HashMap inversion the result
   * is one of them — we keep the first inserted, a deterministic choice. */
  for (size_t e = 0; e < v->count; e++) {
    int32_t id = v->key_id[e];
    if (!v->by_id[id]) v->by_id[id] = (uint32_t)e + 1;
  }
  return SINTER_OK;
}

int32_t sn_vocab_get(const sn_vocab_t *v, const char *key, size_t len) {
  if (v->count == 0) return -1;
  uint32_t e = v->slots[find_slot(v, key, len, sn_hash_bytes(key, len))];
  return e ? v->key_id[e - 1] : -1;
}

const char *sn_vocab_token(const sn_vocab_t *v, int32_t id, size_t *len) {
  if (!v->by_id || id < 0 || id > v->max_id) return NULL;
  uint32_t e = v->by_id[id];
  if (!e) return NULL;
  if (len) *len = v->key_len[e - 1];
  return v->arena + v->key_off[e - 1];
}
