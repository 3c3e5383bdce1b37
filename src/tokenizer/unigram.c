/*
 * unigram.c — the Unigram model (SentencePiece's), as the Rust `Unigram`
 * encodes: a Viterbi search over the word's bytes for the segmentation of
 * highest total score, where every piece of the vocabulary that starts at a
 * character boundary is a candidate (found with a byte trie), and a
 * character no single piece covers is the unknown token at the lowest score
 * minus 10. Consecutive unknown characters fuse into one unknown token, as
 * the Rust model always does (fuse_unk), and with byte_fallback a piece
 * outside the vocabulary becomes its "<0xNN>" byte tokens when all exist.
 *
 * Ties: a candidate replaces the best path ending at a position only when
 * its score is strictly higher, and candidates are tried in trie order
 * (shortest first) from each start position, start positions left to right
 * — the order of the Rust loop, so equal scores resolve the same way.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/internal.h"

/* Scores are log probabilities; the unknown token's is the lowest minus this
 * (sentencepiece's kUnkPenalty). */
#define UNK_PENALTY 10.0

/* A trie node: its children are nodes[first, first + count), sorted by the
 * byte on the edge into them (label). */
typedef struct trie_node {
  uint32_t first;
  uint32_t count;
  int32_t id; /* piece ending here, -1 none */
  uint8_t label;
} trie_node_t;

struct sn_unigram {
  sn_vocab_t vocab; /* piece -> id (a later duplicate wins), id -> piece */
  double *score;    /* per id */
  size_t count;
  double min_score;
  int32_t unk_id;
  uint8_t byte_fallback;
  int32_t byte_ids[256]; /* ids of "<0xNN>", -1 absent */
  trie_node_t *nodes;    /* nodes[0] is the root */
  size_t nodes_len;
};

struct sn_unigram_scratch {
  double *best;
  int32_t *from; /* start byte of the best path's last piece, -1 none */
  int32_t *id;
  size_t cap;
};

void sn_unigram_scratch_free(struct sn_unigram_scratch *s) {
  if (!s) return;
  free(s->best);
  free(s->from);
  free(s->id);
  free(s);
}

static void unigram_destroy(void *p) {
  sn_unigram_t *u = p;
  if (!u) return;
  sn_vocab_free(&u->vocab);
  free(u->score);
  free(u->nodes);
  free(u);
}

/* ------------------------------------------------------------ building */

static _Thread_local const sn_vocab_t *sort_vocab;

/* Orders entry indices by their piece's bytes (a prefix first). */
static int cmp_piece(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  const sn_vocab_t *v = sort_vocab;
  size_t lx = v->key_len[x], ly = v->key_len[y];
  int c = memcmp(v->arena + v->key_off[x], v->arena + v->key_off[y], lx < ly ? lx : ly);
  if (c) return c;
  return lx < ly ? -1 : lx > ly ? 1 : (x < y ? -1 : x > y);
}

/* Builds the trie over every distinct piece, breadth first so that each
 * node's children are contiguous. */
static sinter_status_t build_trie(sn_unigram_t *u, sinter_error_t *err) {
  const sn_vocab_t *v = &u->vocab;
  size_t n = v->count;
  uint32_t *order = malloc((n ? n : 1) * sizeof *order);
  size_t total = 1;
  for (size_t i = 0; i < n; i++) total += v->key_len[i];
  u->nodes = malloc(total * sizeof *u->nodes);
  /* Queue entries: node, key range [lo, hi), depth. */
  uint32_t *queue = malloc(total * 4 * sizeof *queue);
  if (!order || !u->nodes || !queue) {
    free(order);
    free(queue);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "Unigram: out of memory for the trie");
  }
  for (size_t i = 0; i < n; i++) order[i] = (uint32_t)i;
  sort_vocab = v; /* qsort has no context argument */
  qsort(order, n, sizeof *order, cmp_piece);
  u->nodes[0] = (trie_node_t){0, 0, -1, 0};
  u->nodes_len = 1;
  size_t qh = 0, qt = 0;
  queue[qt++] = 0;
  queue[qt++] = 0;
  queue[qt++] = (uint32_t)n;
  queue[qt++] = 0;
  while (qh < qt) {
    uint32_t node = queue[qh++], lo = queue[qh++], hi = queue[qh++], depth = queue[qh++];
    while (lo < hi && v->key_len[order[lo]] == depth) {
      if (depth > 0) {
        const char *k = v->arena + v->key_off[order[lo]];
        u->nodes[node].id = sn_vocab_get(v, k, depth);
      }
      lo++;
    }
    u->nodes[node].first = (uint32_t)u->nodes_len;
    u->nodes[node].count = 0;
    for (uint32_t a = lo; a < hi;) {
      unsigned char c = (unsigned char)v->arena[v->key_off[order[a]] + depth];
      uint32_t b = a + 1;
      while (b < hi && (unsigned char)v->arena[v->key_off[order[b]] + depth] == c) b++;
      uint32_t child = (uint32_t)u->nodes_len++;
      u->nodes[child] = (trie_node_t){0, 0, -1, c};
      u->nodes[node].count++;
      queue[qt++] = child;
      queue[qt++] = a;
      queue[qt++] = b;
      queue[qt++] = depth + 1;
      a = b;
    }
  }
  free(order);
  free(queue);
  return SINTER_OK;
}

sinter_status_t sn_unigram_create(sn_vocab_t *vocab, double *scores, size_t count, int32_t unk_id,
                                  int byte_fallback, sn_unigram_t **out, sinter_error_t *err) {
  *out = NULL;
  sn_unigram_t *u = calloc(1, sizeof *u);
  if (!u) {
    sn_vocab_free(vocab);
    free(scores);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "Unigram: out of memory");
  }
  u->vocab = *vocab;
  memset(vocab, 0, sizeof *vocab);
  u->score = scores;
  u->count = count;
  u->unk_id = unk_id;
  u->byte_fallback = (uint8_t)(byte_fallback != 0);
  sinter_status_t st = sn_vocab_finish(&u->vocab, err);
  if (st == SINTER_OK) st = build_trie(u, err);
  if (st != SINTER_OK) {
    unigram_destroy(u);
    return st;
  }
  u->min_score = 0;
  for (size_t i = 0; i < count; i++) {
    if (i == 0 || scores[i] < u->min_score) u->min_score = scores[i];
  }
  for (int b = 0; b < 256; b++) {
    char key[8];
    static const char hex[] = "0123456789ABCDEF";
    memcpy(key, "<0x", 3);
    key[3] = hex[b >> 4];
    key[4] = hex[b & 15];
    key[5] = '>';
    u->byte_ids[b] = sn_vocab_get(&u->vocab, key, 6);
  }
  *out = u;
  return SINTER_OK;
}

/* ------------------------------------------------------------ encoding */

static int32_t child_of(const sn_unigram_t *u, uint32_t node, unsigned char c) {
  const trie_node_t *nd = &u->nodes[node];
  uint32_t lo = nd->first, hi = nd->first + nd->count;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (u->nodes[mid].label < c) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo < nd->first + nd->count && u->nodes[lo].label == c ? (int32_t)lo : -1;
}

/* The Viterbi lattice for a word of nbytes bytes. */
static sinter_status_t ensure_lattice(sn_model_scratch_t *sc, size_t nbytes, sinter_error_t *err) {
  if (!sc->unigram) {
    sc->unigram = calloc(1, sizeof *sc->unigram);
    if (!sc->unigram) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "Unigram: out of memory");
  }
  struct sn_unigram_scratch *s = sc->unigram;
  if (nbytes + 1 > s->cap) {
    size_t cap = nbytes + 1 < 512 ? 512 : nbytes + 1;
    double *best = realloc(s->best, cap * sizeof *best);
    if (best) s->best = best;
    int32_t *from = best ? realloc(s->from, cap * sizeof *from) : NULL;
    if (from) s->from = from;
    int32_t *id = from ? realloc(s->id, cap * sizeof *id) : NULL;
    if (id) s->id = id;
    if (!best || !from || !id) {
      return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "Unigram: out of memory");
    }
    s->cap = cap;
  }
  return SINTER_OK;
}

/* Emits the token(s) for bytes [a, b) of the word whose lattice id is `id`
 * (Unigram::tokenize): a fused run of unknown characters is looked up as a
 * whole, then byte fallback, then the unknown token. */
static sinter_status_t emit(const sn_unigram_t *u, const sn_model_scratch_t *sc, sn_span_t word,
                            int32_t id, size_t a, size_t b, int fused, sn_raw_tokens_t *out,
                            sinter_error_t *err) {
  uint32_t s = word.start + sc->byte_cp[a];
  uint32_t e = word.start + sc->byte_cp[b - 1] + 1;
  if (fused) {
    id = sn_vocab_get(&u->vocab, (const char *)sc->bytes + a, b - a);
    if (id < 0 && u->byte_fallback) {
      size_t k = a;
      while (k < b && u->byte_ids[sc->bytes[k]] >= 0) k++;
      if (k == b) {
        for (k = a; k < b; k++)
          SN_TRY(sn_raw_tokens_push(out, u->byte_ids[sc->bytes[k]], s, e, err));
        return SINTER_OK;
      }
    }
    if (id < 0) id = u->unk_id;
  }
  return sn_raw_tokens_push(out, id, s, e, err);
}

static sinter_status_t unigram_tokenize(const void *model, const sn_text_t *text, sn_span_t word,
                                        sn_model_scratch_t *sc, sn_raw_tokens_t *out,
                                        sinter_error_t *err) {
  const sn_unigram_t *u = model;
  size_t nchars = word.end - word.start;
  if (nchars == 0) return SINTER_OK;
  size_t n = 0;
  SN_TRY(sn_model_word_bytes(sc, text, word, &n, err));
  SN_TRY(ensure_lattice(sc, n, err));
  const unsigned char *w = sc->bytes;
  struct sn_unigram_scratch *lat = sc->unigram;
  for (size_t i = 0; i <= n; i++) {
    lat->from[i] = -1;
    lat->best[i] = 0;
    lat->id[i] = -1;
  }
  double unk_score = u->min_score - UNK_PENALTY;
  for (size_t start = 0; start < n;) {
    double here = lat->best[start];
    size_t mblen = 1;
    while (start + mblen < n && (w[start + mblen] & 0xC0) == 0x80) mblen++;
    int single = 0;
    uint32_t node = 0;
    for (size_t end = start; end < n; end++) {
      int32_t next = child_of(u, node, w[end]);
      if (next < 0) break;
      node = (uint32_t)next;
      int32_t id = u->nodes[node].id;
      if (id < 0) continue;
      size_t to = end + 1;
      double cand = here + ((size_t)id < u->count ? u->score[id] : 0.0);
      if (lat->from[to] < 0 || cand > lat->best[to]) {
        lat->best[to] = cand;
        lat->from[to] = (int32_t)start;
        lat->id[to] = id;
      }
      if (to - start == mblen) single = 1;
    }
    if (!single) {
      size_t to = start + mblen;
      double cand = here + unk_score;
      if (lat->from[to] < 0 || cand > lat->best[to]) {
        if (u->unk_id < 0) {
          return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                              "Unigram: a character has no piece and the model has no unk_id");
        }
        lat->best[to] = cand;
        lat->from[to] = (int32_t)start;
        lat->id[to] = u->unk_id;
      }
    }
    start += mblen;
  }
  /* Walk back from the end; the pieces come out reversed, so they are
   * written backwards into `out` once counted. Runs of unknown pieces fuse. */
  size_t count = 0;
  for (size_t end = n; end > 0;) {
    size_t start = (size_t)lat->from[end];
    int unk = lat->id[end] == u->unk_id;
    while (unk && start > 0 && lat->id[start] == u->unk_id) start = (size_t)lat->from[start];
    count++;
    end = start;
  }
  /* The piece boundaries, front to back. */
  size_t stack[64];
  size_t *bounds = count + 1 <= 64 ? stack : malloc((count + 1) * sizeof *bounds);
  if (!bounds) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "Unigram: out of memory");
  size_t k = count;
  bounds[k] = n;
  for (size_t end = n; end > 0;) {
    size_t start = (size_t)lat->from[end];
    int unk = lat->id[end] == u->unk_id;
    while (unk && start > 0 && lat->id[start] == u->unk_id) start = (size_t)lat->from[start];
    bounds[--k] = start;
    end = start;
  }
  sinter_status_t st = SINTER_OK;
  for (size_t i = 0; i < count && st == SINTER_OK; i++) {
    size_t a = bounds[i], b = bounds[i + 1];
    int32_t id = lat->id[b];
    st = emit(u, sc, word, id, a, b, id == u->unk_id, out, err);
  }
  if (bounds != stack) free(bounds);
  return st;
}

static int32_t unigram_token_to_id(const void *model, const char *tok, size_t len) {
  const sn_unigram_t *u = model;
  return sn_vocab_get(&u->vocab, tok, len);
}

static const char *unigram_id_to_token(const void *model, int32_t id, size_t *len) {
  const sn_unigram_t *u = model;
  return sn_vocab_token(&u->vocab, id, len);
}

static int32_t unigram_max_id(const void *model) {
  const sn_unigram_t *u = model;
  return u->vocab.max_id;
}

const sn_model_vtable_t sn_unigram_vtable = {
    .name = "Unigram",
    .tokenize = unigram_tokenize,
    .token_to_id = unigram_token_to_id,
    .id_to_token = unigram_id_to_token,
    .max_id = unigram_max_id,
    .destroy = unigram_destroy,
};
