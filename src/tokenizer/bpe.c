/*
 * bpe.c — the BPE model, merge for merge the Rust `tokenizers` one
 * (models/bpe/model.rs and word.rs):
 *
 *   - a word starts as one symbol per character (the continuing-subword
 *     prefix on every character but the first, the end-of-word suffix on the
 *     last); a character missing from the vocabulary becomes its <0xNN> byte
 *     tokens (byte_fallback), else the unknown token (fused with a previous
 *     unknown when fuse_unk), else nothing;
 *   - merges then apply by rank through a min-heap of (rank, position), with
 *     the Rust library's rule for stale entries (an entry is applied when the
 *     pair now at its position merges into the same new id), so that even
 *     vocabularies where two pairs make the same token merge identically;
 *   - ignore_merges: a word found whole in the vocabulary is one token.
 *
 * Token offsets are the Rust ones: each symbol keeps its length in bytes of
 * the word and tokens cover consecutive byte ranges, mapped back to the word's
 * characters. The heap makes a word of n characters O(n log n), so a
 * megabyte without a space is still fast.
 *
 * A bounded cache (direct-mapped, fixed size, allocated with the model) keeps
 * the tokens of short words. The model is shared by threads: the cache is
 * taken with a try-lock and simply skipped when another thread holds it, as
 * the Rust library does with its RwLock.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/internal.h"

#define CACHE_SLOTS 4096 /* power of two */
#define CACHE_KEY 32     /* longest word (UTF-8 bytes) the cache holds */
#define CACHE_TOKENS 8   /* most tokens of a cached word */

typedef struct cache_slot {
  uint64_t hash;
  uint8_t key_len; /* 0: empty */
  uint8_t count;
  uint8_t lens[CACHE_TOKENS]; /* bytes of the word per token */
  int32_t ids[CACHE_TOKENS];
  unsigned char key[CACHE_KEY];
} cache_slot_t;

struct sn_bpe_cache {
  pthread_mutex_t lock;
  cache_slot_t slots[CACHE_SLOTS];
};

typedef struct symbol {
  int32_t id;
  int32_t prev, next; /* -1: none */
  uint32_t len;       /* bytes of the word; 0: merged into its left neighbour */
} symbol_t;

typedef struct merge_entry {
  uint32_t rank;
  uint32_t pos;
  int32_t new_id;
} merge_entry_t;

/* Per-call working memory, owned by the encoding's model scratch. */
struct sn_bpe_scratch {
  symbol_t *sym;
  size_t sym_cap;
  merge_entry_t *heap;
  size_t heap_len, heap_cap;
  char *key; /* prefix + one character + suffix */
  size_t key_cap;
};

void sn_bpe_scratch_free(struct sn_bpe_scratch *s) {
  if (!s) return;
  free(s->sym);
  free(s->heap);
  free(s->key);
  free(s);
}

static void bpe_destroy(void *p) {
  sn_bpe_t *bpe = p;
  if (!bpe) return;
  sn_vocab_free(&bpe->vocab);
  free(bpe->merge_key);
  free(bpe->merge_rank);
  free(bpe->merge_new);
  free(bpe->unk_token);
  free(bpe->prefix);
  free(bpe->suffix);
  if (bpe->cache) {
    pthread_mutex_destroy(&bpe->cache->lock);
    free(bpe->cache);
  }
  free(bpe);
}

static char *dup_opt(const char *s, int *failed) {
  if (!s) return NULL;
  char *d = sn_tok_strndup(s, strlen(s));
  if (!d) *failed = 1;
  return d;
}

sinter_status_t sn_bpe_create(sn_vocab_t *vocab, const sn_bpe_options_t *opt, size_t merges_hint,
                              sn_bpe_t **out, sinter_error_t *err) {
  *out = NULL;
  sn_bpe_t *bpe = calloc(1, sizeof *bpe);
  if (!bpe) {
    sn_vocab_free(vocab);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "BPE: out of memory");
  }
  bpe->vocab = *vocab;
  memset(vocab, 0, sizeof *vocab);
  int failed = 0;
  bpe->unk_token = dup_opt(opt->unk_token, &failed);
  bpe->prefix = dup_opt(opt->continuing_subword_prefix, &failed);
  bpe->suffix = dup_opt(opt->end_of_word_suffix, &failed);
  bpe->prefix_len = bpe->prefix ? strlen(bpe->prefix) : 0;
  bpe->suffix_len = bpe->suffix ? strlen(bpe->suffix) : 0;
  bpe->fuse_unk = (uint8_t)opt->fuse_unk;
  bpe->byte_fallback = (uint8_t)opt->byte_fallback;
  bpe->ignore_merges = (uint8_t)opt->ignore_merges;
  size_t slots = 16;
  while (slots < merges_hint * 2 + 16) slots *= 2;
  bpe->merge_slots = slots;
  bpe->merge_key = malloc(slots * sizeof *bpe->merge_key);
  bpe->merge_rank = malloc(slots * sizeof *bpe->merge_rank);
  bpe->merge_new = malloc(slots * sizeof *bpe->merge_new);
  bpe->cache = calloc(1, sizeof *bpe->cache);
  if (failed || !bpe->merge_key || !bpe->merge_rank || !bpe->merge_new || !bpe->cache) {
    bpe_destroy(bpe);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "BPE: out of memory");
  }
  memset(bpe->merge_key, 0xFF, slots * sizeof *bpe->merge_key);
  if (pthread_mutex_init(&bpe->cache->lock, NULL) != 0) {
    free(bpe->cache);
    bpe->cache = NULL;
    bpe_destroy(bpe);
    return sn_error_set(err, SINTER_ERR_INTERNAL, "BPE: cannot create the cache lock");
  }
  sinter_status_t st = sn_vocab_finish(&bpe->vocab, err);
  if (st != SINTER_OK) {
    bpe_destroy(bpe);
    return st;
  }
  for (int b = 0; b < 256; b++) {
    char code[8];
    /* Rust's format!("<{b:#04X}>"): "<0x" then two upper-case digits. */
    static const char hex[] = "0123456789ABCDEF";
    memcpy(code, "<0x", 3);
    code[3] = hex[b >> 4];
    code[4] = hex[b & 15];
    code[5] = '>';
    bpe->byte_ids[b] = sn_vocab_get(&bpe->vocab, code, 6);
  }
  bpe->unk_id =
      bpe->unk_token ? sn_vocab_get(&bpe->vocab, bpe->unk_token, strlen(bpe->unk_token)) : -1;
  *out = bpe;
  return SINTER_OK;
}

static uint64_t pair_key(int32_t a, int32_t b) {
  return ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
}

static size_t pair_slot(const sn_bpe_t *bpe, uint64_t key) {
  uint64_t h = key * 0x9E3779B97F4A7C15ull;
  h ^= h >> 29;
  size_t mask = bpe->merge_slots - 1, i = (size_t)h & mask;
  while (bpe->merge_key[i] != UINT64_MAX && bpe->merge_key[i] != key) i = (i + 1) & mask;
  return i;
}

/* The merge of the pair (a, b): 1 with its rank and new id, or 0. */
static int find_merge(const sn_bpe_t *bpe, int32_t a, int32_t b, uint32_t *rank, int32_t *new_id) {
  size_t i = pair_slot(bpe, pair_key(a, b));
  if (bpe->merge_key[i] == UINT64_MAX) return 0;
  *rank = bpe->merge_rank[i];
  *new_id = bpe->merge_new[i];
  return 1;
}

sinter_status_t sn_bpe_add_merge(sn_bpe_t *bpe, const char *a, size_t alen, const char *b,
                                 size_t blen, uint32_t rank, sinter_error_t *err) {
  int32_t ia = sn_vocab_get(&bpe->vocab, a, alen);
  int32_t ib = sn_vocab_get(&bpe->vocab, b, blen);
  if (ia < 0 || ib < 0) {
    const char *m = ia < 0 ? a : b;
    int ml = (int)(ia < 0 ? alen : blen);
    return sn_error_set(err, SINTER_ERR_FORMAT, "merge token \"%.*s\" is not in the vocabulary", ml,
                        m);
  }
  /* The new token is a + b without b's continuing-subword prefix; the Rust
   * library slices it off blindly, so b must be at least that long. */
  size_t cut = bpe->prefix_len;
  if (blen < cut || (cut < blen && ((unsigned char)b[cut] & 0xC0) == 0x80)) {
    return sn_error_set(err, SINTER_ERR_FORMAT,
                        "merge \"%.*s %.*s\": the second token is shorter than the continuing "
                        "subword prefix",
                        (int)alen, a, (int)blen, b);
  }
  size_t nlen = alen + blen - cut;
  char stackbuf[256];
  char *joined = nlen <= sizeof stackbuf ? stackbuf : malloc(nlen);
  if (!joined) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "BPE: out of memory");
  memcpy(joined, a, alen);
  memcpy(joined + alen, b + cut, blen - cut);
  int32_t inew = sn_vocab_get(&bpe->vocab, joined, nlen);
  if (inew < 0) {
    sinter_status_t st =
        sn_error_set(err, SINTER_ERR_FORMAT, "merge token \"%.*s\" is not in the vocabulary",
                     (int)(nlen > 200 ? 200 : nlen), joined);
    if (joined != stackbuf) free(joined);
    return st;
  }
  if (joined != stackbuf) free(joined);
  if (bpe->merge_count * 2 + 2 > bpe->merge_slots) {
    /* Grow: rehash into a table twice as large. */
    size_t slots = bpe->merge_slots * 2;
    uint64_t *k = malloc(slots * sizeof *k);
    uint32_t *r = malloc(slots * sizeof *r);
    int32_t *nw = malloc(slots * sizeof *nw);
    if (!k || !r || !nw) {
      free(k);
      free(r);
      free(nw);
      return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "BPE: out of memory");
    }
    memset(k, 0xFF, slots * sizeof *k);
    uint64_t *ok = bpe->merge_key;
    uint32_t *orank = bpe->merge_rank;
    int32_t *onew = bpe->merge_new;
    size_t oslots = bpe->merge_slots;
    bpe->merge_key = k;
    bpe->merge_rank = r;
    bpe->merge_new = nw;
    bpe->merge_slots = slots;
    for (size_t i = 0; i < oslots; i++) {
      if (ok[i] == UINT64_MAX) continue;
      size_t j = pair_slot(bpe, ok[i]);
      k[j] = ok[i];
      r[j] = orank[i];
      nw[j] = onew[i];
    }
    free(ok);
    free(orank);
    free(onew);
  }
  /* A pair listed twice keeps its last rank, as the Rust HashMap collect. */
  uint64_t key = pair_key(ia, ib);
  size_t i = pair_slot(bpe, key);
  if (bpe->merge_key[i] == UINT64_MAX) bpe->merge_count++;
  bpe->merge_key[i] = key;
  bpe->merge_rank[i] = rank;
  bpe->merge_new[i] = inew;
  return SINTER_OK;
}

/* ------------------------------------------------------------ merge queue */

static int entry_before(const merge_entry_t *x, const merge_entry_t *y) {
  return x->rank != y->rank ? x->rank < y->rank : x->pos < y->pos;
}

static sinter_status_t heap_push(struct sn_bpe_scratch *s, merge_entry_t e, sinter_error_t *err) {
  if (s->heap_len == s->heap_cap) {
    size_t cap = s->heap_cap ? s->heap_cap * 2 : 64;
    merge_entry_t *h = realloc(s->heap, cap * sizeof *h);
    if (!h) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "BPE: out of memory");
    s->heap = h;
    s->heap_cap = cap;
  }
  size_t i = s->heap_len++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!entry_before(&e, &s->heap[p])) break;
    s->heap[i] = s->heap[p];
    i = p;
  }
  s->heap[i] = e;
  return SINTER_OK;
}

static merge_entry_t heap_pop(struct sn_bpe_scratch *s) {
  merge_entry_t top = s->heap[0];
  merge_entry_t last = s->heap[--s->heap_len];
  size_t n = s->heap_len, i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && entry_before(&s->heap[c + 1], &s->heap[c])) c++;
    if (!entry_before(&s->heap[c], &last)) break;
    s->heap[i] = s->heap[c];
    i = c;
  }
  if (n > 0) s->heap[i] = last;
  return top;
}

/* Word::merge_all without dropout. */
static sinter_status_t merge_all(const sn_bpe_t *bpe, struct sn_bpe_scratch *s, size_t nsym,
                                 sinter_error_t *err) {
  symbol_t *sym = s->sym;
  s->heap_len = 0;
  for (size_t i = 0; i + 1 < nsym; i++) {
    merge_entry_t e = {0, (uint32_t)i, 0};
    if (find_merge(bpe, sym[i].id, sym[i + 1].id, &e.rank, &e.new_id)) SN_TRY(heap_push(s, e, err));
  }
  while (s->heap_len > 0) {
    merge_entry_t top = heap_pop(s);
    symbol_t *cur = &sym[top.pos];
    if (cur->len == 0 || cur->next < 0) continue;
    symbol_t right = sym[cur->next];
    uint32_t rank;
    int32_t new_id;
    /* An entry made stale by an earlier merge is skipped unless the pair now
     * at its position makes the same token (the Rust rule, kept exactly). */
    if (!find_merge(bpe, cur->id, right.id, &rank, &new_id) || new_id != top.new_id) continue;
    sym[cur->next].len = 0;
    cur->id = top.new_id;
    cur->len += right.len;
    cur->next = right.next;
    if (right.next >= 0) sym[right.next].prev = (int32_t)top.pos;
    if (cur->prev >= 0) {
      merge_entry_t e = {0, (uint32_t)cur->prev, 0};
      if (find_merge(bpe, sym[cur->prev].id, cur->id, &e.rank, &e.new_id))
        SN_TRY(heap_push(s, e, err));
    }
    if (cur->next >= 0) {
      merge_entry_t e = {0, top.pos, 0};
      if (find_merge(bpe, cur->id, sym[cur->next].id, &e.rank, &e.new_id))
        SN_TRY(heap_push(s, e, err));
    }
  }
  return SINTER_OK;
}

/* ------------------------------------------------------------ tokenize */

static sinter_status_t add_symbol(struct sn_bpe_scratch *s, size_t *n, int32_t id, uint32_t len,
                                  sinter_error_t *err) {
  if (*n == s->sym_cap) {
    size_t cap = s->sym_cap ? s->sym_cap * 2 : 64;
    symbol_t *v = realloc(s->sym, cap * sizeof *v);
    if (!v) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "BPE: out of memory");
    s->sym = v;
    s->sym_cap = cap;
  }
  symbol_t *sy = &s->sym[*n];
  sy->id = id;
  sy->len = len;
  sy->prev = *n > 0 ? (int32_t)(*n - 1) : -1;
  sy->next = -1;
  if (*n > 0) s->sym[*n - 1].next = (int32_t)*n;
  (*n)++;
  return SINTER_OK;
}

static sinter_status_t unk_missing(const sn_bpe_t *bpe, sinter_error_t *err) {
  return sn_error_set(err, SINTER_ERR_FORMAT,
                      "BPE: the unknown token \"%s\" is missing from the vocabulary",
                      bpe->unk_token);
}

/* BPE::merge_word's first half: the word's initial symbols. */
static sinter_status_t initial_symbols(const sn_bpe_t *bpe, struct sn_bpe_scratch *s,
                                       const unsigned char *w, size_t nbytes, size_t *nsym,
                                       sinter_error_t *err) {
  int have_unk = 0;
  uint32_t unk_len = 0;
  int32_t unk_id = bpe->unk_id;
  *nsym = 0;
  for (size_t i = 0; i < nbytes;) {
    size_t k = 1;
    while (i + k < nbytes && (w[i + k] & 0xC0) == 0x80) k++;
    int first = i == 0, last = i + k == nbytes;
    const char *key = (const char *)w + i;
    size_t klen = k;
    if ((!first && bpe->prefix) || (last && bpe->suffix)) {
      klen = 0;
      if (!first && bpe->prefix) {
        memcpy(s->key, bpe->prefix, bpe->prefix_len);
        klen = bpe->prefix_len;
      }
      memcpy(s->key + klen, w + i, k);
      klen += k;
      if (last && bpe->suffix) {
        memcpy(s->key + klen, bpe->suffix, bpe->suffix_len);
        klen += bpe->suffix_len;
      }
      key = s->key;
    }
    int32_t id = sn_vocab_get(&bpe->vocab, key, klen);
    if (id >= 0) {
      if (have_unk) SN_TRY(add_symbol(s, nsym, unk_id, unk_len, err));
      have_unk = 0;
      SN_TRY(add_symbol(s, nsym, id, (uint32_t)k, err));
    } else {
      int done = 0;
      if (bpe->byte_fallback) {
        int all = 1;
        for (size_t j = 0; j < klen; j++) all &= bpe->byte_ids[(unsigned char)key[j]] >= 0;
        if (all) {
          /* The Rust code adds the byte tokens without flushing a pending
           * unknown token first; keep that order. */
          for (size_t j = 0; j < klen; j++)
            SN_TRY(add_symbol(s, nsym, bpe->byte_ids[(unsigned char)key[j]], 1, err));
          done = 1;
        }
      }
      if (!done && bpe->unk_token) {
        if (have_unk && bpe->fuse_unk) {
          unk_len += (uint32_t)k;
        } else {
          if (have_unk) SN_TRY(add_symbol(s, nsym, unk_id, unk_len, err));
          if (unk_id < 0) return unk_missing(bpe, err);
          have_unk = 1;
          unk_len = (uint32_t)k;
        }
      }
    }
    i += k;
  }
  if (have_unk) SN_TRY(add_symbol(s, nsym, unk_id, unk_len, err));
  return SINTER_OK;
}

static sinter_status_t ensure_scratch(const sn_bpe_t *bpe, sn_model_scratch_t *sc,
                                      sinter_error_t *err) {
  if (!sc->bpe) {
    sc->bpe = calloc(1, sizeof *sc->bpe);
    if (!sc->bpe) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "BPE: out of memory");
  }
  struct sn_bpe_scratch *s = sc->bpe;
  size_t kneed = bpe->prefix_len + bpe->suffix_len + 4;
  if (kneed > s->key_cap) {
    char *k = realloc(s->key, kneed);
    if (!k) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "BPE: out of memory");
    s->key = k;
    s->key_cap = kneed;
  }
  return SINTER_OK;
}

/* Appends a token covering bytes [a, b) of the word. */
static sinter_status_t push_bytes(const sn_model_scratch_t *sc, sn_span_t word, int32_t id,
                                  size_t a, size_t b, sn_raw_tokens_t *out, sinter_error_t *err) {
  uint32_t s = word.start + sc->byte_cp[a];
  uint32_t e = word.start + sc->byte_cp[b - 1] + 1;
  return sn_raw_tokens_push(out, id, s, e, err);
}

static int cache_get(const sn_bpe_t *bpe, const unsigned char *w, size_t n, uint64_t h,
                     const sn_model_scratch_t *sc, sn_span_t word, sn_raw_tokens_t *out,
                     sinter_error_t *err, sinter_status_t *st) {
  struct sn_bpe_cache *c = bpe->cache;
  if (pthread_mutex_trylock(&c->lock) != 0) return 0;
  const cache_slot_t *slot = &c->slots[h & (CACHE_SLOTS - 1)];
  if (slot->key_len != n || slot->hash != h || memcmp(slot->key, w, n) != 0) {
    pthread_mutex_unlock(&c->lock);
    return 0;
  }
  cache_slot_t copy = *slot;
  pthread_mutex_unlock(&c->lock);
  size_t pos = 0;
  *st = SINTER_OK;
  for (size_t i = 0; i < copy.count && *st == SINTER_OK; i++) {
    *st = push_bytes(sc, word, copy.ids[i], pos, pos + copy.lens[i], out, err);
    pos += copy.lens[i];
  }
  return 1;
}

static void cache_put(const sn_bpe_t *bpe, const unsigned char *w, size_t n, uint64_t h,
                      const symbol_t *sym, size_t nsym) {
  cache_slot_t slot;
  memset(&slot, 0, sizeof slot);
  slot.hash = h;
  slot.key_len = (uint8_t)n;
  memcpy(slot.key, w, n);
  for (size_t i = 0; i < nsym; i++) {
    if (sym[i].len == 0) continue;
    if (slot.count == CACHE_TOKENS) return;
    slot.ids[slot.count] = sym[i].id;
    slot.lens[slot.count++] = (uint8_t)sym[i].len;
  }
  struct sn_bpe_cache *c = bpe->cache;
  if (pthread_mutex_trylock(&c->lock) != 0) return;
  c->slots[h & (CACHE_SLOTS - 1)] = slot;
  pthread_mutex_unlock(&c->lock);
}

static sinter_status_t bpe_tokenize(const void *model, const sn_text_t *text, sn_span_t word,
                                    sn_model_scratch_t *sc, sn_raw_tokens_t *out,
                                    sinter_error_t *err) {
  const sn_bpe_t *bpe = model;
  size_t nchars = word.end - word.start;
  if (nchars == 0) return SINTER_OK;
  SN_TRY(ensure_scratch(bpe, sc, err));
  size_t n = 0;
  SN_TRY(sn_model_word_bytes(sc, text, word, &n, err));
  const unsigned char *w = sc->bytes;
  if (bpe->ignore_merges) {
    int32_t id = sn_vocab_get(&bpe->vocab, (const char *)w, n);
    if (id >= 0) return sn_raw_tokens_push(out, id, word.start, word.end, err);
  }
  /* Byte-fallback tokens are one byte long, so a cached length always fits
   * in a byte: the cache key is at most CACHE_KEY bytes. */
  uint64_t h = 0;
  int cacheable = n <= CACHE_KEY;
  if (cacheable) {
    h = sn_hash_bytes(w, n);
    sinter_status_t st = SINTER_OK;
    if (cache_get(bpe, w, n, h, sc, word, out, err, &st)) return st;
  }
  struct sn_bpe_scratch *s = sc->bpe;
  size_t nsym = 0;
  SN_TRY(initial_symbols(bpe, s, w, n, &nsym, err));
  SN_TRY(merge_all(bpe, s, nsym, err));
  size_t pos = 0;
  for (size_t i = 0; i < nsym; i++) {
    if (s->sym[i].len == 0) continue;
    size_t end = pos + s->sym[i].len;
    if (end > n) {
      return sn_error_set(err, SINTER_ERR_INTERNAL, "BPE: token offsets run past the word");
    }
    SN_TRY(push_bytes(sc, word, s->sym[i].id, pos, end, out, err));
    pos = end;
  }
  if (cacheable) cache_put(bpe, w, n, h, s->sym, nsym);
  return SINTER_OK;
}

static int32_t bpe_token_to_id(const void *model, const char *tok, size_t len) {
  const sn_bpe_t *bpe = model;
  return sn_vocab_get(&bpe->vocab, tok, len);
}

static const char *bpe_id_to_token(const void *model, int32_t id, size_t *len) {
  const sn_bpe_t *bpe = model;
  return sn_vocab_token(&bpe->vocab, id, len);
}

static int32_t bpe_max_id(const void *model) {
  const sn_bpe_t *bpe = model;
  return bpe->vocab.max_id;
}

const sn_model_vtable_t sn_bpe_vtable = {
    .name = "BPE",
    .tokenize = bpe_tokenize,
    .token_to_id = bpe_token_to_id,
    .id_to_token = bpe_id_to_token,
    .max_id = bpe_max_id,
    .destroy = bpe_destroy,
};
