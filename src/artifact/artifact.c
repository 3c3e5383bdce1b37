/* artifact.c — writing, validating and loading .sinter artifacts. */
#include "artifact/artifact.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "base/file.h"
#include "base/json.h"
#include "kernels/matmul.h"
#include "model/safetensors.h"
#include "tokenizer/tokenizer.h"

#define HEADER_BYTES 256
#define HEADER_CHECKED 240 /* bytes covered by the header checksum */
#define ENTRY_BYTES 32
#define MAX_SECTIONS 16
#define ALIGN 64
static const unsigned char MAGIC[8] = {'S', 'I', 'N', 'T', 'E', 'R', 'A', 0x1a};

/* Files of a folder's tokenizer carried in the TOKENIZER section. */
static const char *const TOKENIZER_FILES[] = {
    "tokenizer.json",          "vocab.txt",         "tokenizer_config.json",
    "special_tokens_map.json", "added_tokens.json", "sentence_bert_config.json",
};
#define N_TOKENIZER_FILES (sizeof TOKENIZER_FILES / sizeof TOKENIZER_FILES[0])

struct sn_artifact {
  sn_mapped_file_t map;
};

/* ------------------------------------------------------------ CPU features */

uint64_t sn_cpu_features(void) {
  uint64_t f = 0;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) f |= SN_FEATURE_AVX2;
  if (__builtin_cpu_supports("fma")) f |= SN_FEATURE_FMA;
  if (__builtin_cpu_supports("avx512f")) f |= SN_FEATURE_AVX512F;
  if (__builtin_cpu_supports("avx512bw")) f |= SN_FEATURE_AVX512BW;
  if (__builtin_cpu_supports("avx512vl")) f |= SN_FEATURE_AVX512VL;
  if (__builtin_cpu_supports("avx512dq")) f |= SN_FEATURE_AVX512DQ;
  if (__builtin_cpu_supports("avx512bf16")) f |= SN_FEATURE_AVX512_BF16;
  if (__builtin_cpu_supports("avx512vnni")) f |= SN_FEATURE_AVX512_VNNI;
  return f;
}

void sn_features_format(uint64_t mask, char *buf, size_t cap) {
  static const char *names[] = {"avx2",     "fma",      "avx512f",     "avx512bw",
                                "avx512vl", "avx512dq", "avx512_bf16", "avx512_vnni"};
  size_t n = 0;
  buf[0] = '\0';
  for (int i = 0; i < 8; i++)
    if ((mask >> i) & 1)
      n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "%s%s", n ? " " : "", names[i]);
  if (!n) snprintf(buf, cap, "(none)");
}

uint64_t sn_target_features(const sn_compile_options_t *opts) {
  /* The matmul kernels oneDNN picks depend on these; bf16/VNNI only matter
   * for those dtypes, which record them when they use them. */
  const uint64_t isa = SN_FEATURE_AVX2 | SN_FEATURE_FMA | SN_FEATURE_AVX512F | SN_FEATURE_AVX512BW |
                       SN_FEATURE_AVX512VL | SN_FEATURE_AVX512DQ;
  return (opts->target_features ? opts->target_features : sn_cpu_features()) & isa;
}

/* ------------------------------------------------------------ byte buffers */

typedef struct wbuf {
  unsigned char *p;
  size_t n, cap;
  int oom;
} wbuf_t;

static void w_bytes(wbuf_t *w, const void *data, size_t len) {
  if (w->oom) return;
  if (w->n + len > w->cap) {
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < w->n + len) cap *= 2;
    unsigned char *p = realloc(w->p, cap);
    if (!p) {
      w->oom = 1;
      return;
    }
    w->p = p;
    w->cap = cap;
  }
  if (len) memcpy(w->p + w->n, data, len);
  w->n += len;
}
static void w_u32(wbuf_t *w, uint32_t v) {
  w_bytes(w, &v, 4);
}
static void w_u64(wbuf_t *w, uint64_t v) {
  w_bytes(w, &v, 8);
}
static void w_f32(wbuf_t *w, float v) {
  w_bytes(w, &v, 4);
}
static void w_str(wbuf_t *w, const char *s) {
  w_u32(w, (uint32_t)strlen(s));
  w_bytes(w, s, strlen(s));
}

/* A bounds-checked reader: reads past the end set `bad` and yield zeros. */
typedef struct rbuf {
  const unsigned char *p;
  size_t n, at;
  int bad;
} rbuf_t;

static const void *r_bytes(rbuf_t *r, size_t len) {
  if (r->bad || len > r->n - r->at) {
    r->bad = 1;
    return NULL;
  }
  const void *p = r->p + r->at;
  r->at += len;
  return p;
}
static uint32_t r_u32(rbuf_t *r) {
  uint32_t v = 0;
  const void *p = r_bytes(r, 4);
  if (p) memcpy(&v, p, 4);
  return v;
}
static uint64_t r_u64(rbuf_t *r) {
  uint64_t v = 0;
  const void *p = r_bytes(r, 8);
  if (p) memcpy(&v, p, 8);
  return v;
}
static float r_f32(rbuf_t *r) {
  float v = 0;
  const void *p = r_bytes(r, 4);
  if (p) memcpy(&v, p, 4);
  return v;
}

/* ------------------------------------------------------------ plan codec */

static void write_node(wbuf_t *w, const sn_ir_node_t *n, uint64_t tensor_offset) {
  w_u32(w, (uint32_t)n->op);
  w_u32(w, (uint32_t)n->num_inputs);
  for (int k = 0; k < SN_IR_MAX_INPUTS; k++) w_u32(w, (uint32_t)n->inputs[k]);
  w_u32(w, (uint32_t)n->dtype);
  w_u32(w, (uint32_t)n->shape.rank);
  for (int k = 0; k < SN_IR_MAX_RANK; k++) w_u64(w, (uint64_t)n->shape.dims[k]);
  w_f32(w, n->eps);
  w_f32(w, n->scale);
  w_u32(w, (uint32_t)n->trans_b);
  for (int k = 0; k < SN_IR_MAX_RANK; k++) w_u32(w, (uint32_t)n->perm[k]);
  w_u32(w, (uint32_t)n->input);
  w_u32(w, (uint32_t)n->pool);
  w_u64(w, (uint64_t)n->begin);
  w_u64(w, (uint64_t)n->end);
  w_u32(w, (uint32_t)n->act);
  w_u32(w, (uint32_t)n->int8);
  w_u32(w, (uint32_t)n->heads);
  w_u32(w, (uint32_t)n->head_dim);
  w_u64(w, (uint64_t)n->arena_offset);
  if (n->op == SN_OP_WEIGHT) {
    w_str(w, n->name);
    w_u64(w, tensor_offset);
    w_u64(w, n->layout ? n->nbytes : (uint64_t)sn_ir_shape_bind(&n->shape, 1, 1, NULL) * 4);
    w_u32(w, (uint32_t)(n->layout ? n->layout_size : 0));
    if (n->layout) w_bytes(w, n->layout, n->layout_size);
  }
}

static size_t weight_bytes(const sn_ir_node_t *n) {
  return n->layout ? n->nbytes : (size_t)sn_ir_shape_bind(&n->shape, 1, 1, NULL) * 4;
}

/* Serialises the plan into `plan`. Weights are not copied: their offsets in
 * the TENSORS section are laid out here (64-byte aligned), the section's size
 * and checksum computed by streaming over them, and the writer copies each
 * weight from where it lives straight into the file. */
static void write_plan(const sn_ir_graph_t *g, wbuf_t *plan, uint64_t *tensors_size,
                       uint64_t *tensors_checksum) {
  static const unsigned char zeros[ALIGN];
  XXH3_state_t *hash = XXH3_createState();
  if (!hash) {
    plan->oom = 1;
    return;
  }
  XXH3_64bits_reset(hash);
  uint64_t at = 0;
  w_u32(plan, (uint32_t)g->count);
  w_u32(plan, (uint32_t)g->packed);
  w_u64(plan, (uint64_t)g->max_tokens);
  w_u64(plan, (uint64_t)g->arena_bytes);
  w_u32(plan, (uint32_t)g->num_outputs);
  for (int k = 0; k < g->num_outputs; k++) {
    char name[32] = {0};
    snprintf(name, sizeof name, "%s", g->outputs[k].name);
    w_bytes(plan, name, sizeof name);
    w_u32(plan, (uint32_t)g->outputs[k].node);
  }
  for (int32_t i = 0; i < g->count; i++) {
    const sn_ir_node_t *n = &g->nodes[i];
    uint64_t offset = 0;
    if (n->op == SN_OP_WEIGHT) {
      size_t pad = (size_t)((ALIGN - at % ALIGN) % ALIGN);
      XXH3_64bits_update(hash, zeros, pad);
      offset = at += pad;
      XXH3_64bits_update(hash, n->data, weight_bytes(n));
      at += weight_bytes(n);
    }
    write_node(plan, n, offset);
  }
  *tensors_size = at;
  *tensors_checksum = XXH3_64bits_digest(hash);
  XXH3_freeState(hash);
}

/* Writes the TENSORS section: each weight at its laid-out offset. */
static sinter_status_t write_tensors(int fd, const sn_ir_graph_t *g, const char *path,
                                     sinter_error_t *err);

#define PLAN_MAX_NODES 1000000
#define PLAN_MAX_TOKENS (1 << 24)
#define PLAN_MAX_ARENA ((uint64_t)64 << 30)

/* Parses and checks the PLAN section; weights point into `tensors`. */
static sinter_status_t read_plan(const unsigned char *data, size_t size,
                                 const unsigned char *tensors, size_t tensors_size,
                                 const char *label, sn_ir_graph_t *g, sinter_error_t *err) {
  rbuf_t r = {data, size, 0, 0};
  sn_ir_graph_init(g);
  uint32_t count = r_u32(&r);
  g->packed = (int)r_u32(&r);
  uint64_t max_tokens = r_u64(&r), arena = r_u64(&r);
  uint32_t n_out = r_u32(&r);
  if (r.bad || count == 0 || count > PLAN_MAX_NODES || g->packed != 1 || max_tokens < 1 ||
      max_tokens > PLAN_MAX_TOKENS || arena > PLAN_MAX_ARENA || n_out < 1 ||
      n_out > SN_IR_MAX_OUTPUTS)
    return sn_error_set(
        err, SINTER_ERR_FORMAT,
        "%s: PLAN header is invalid (nodes %u, tokens %llu, arena %llu, outputs %u)", label, count,
        (unsigned long long)max_tokens, (unsigned long long)arena, n_out);
  g->max_tokens = (int64_t)max_tokens;
  g->arena_bytes = (int64_t)arena;
  g->num_outputs = (int)n_out;
  for (uint32_t k = 0; k < n_out; k++) {
    const char *name = r_bytes(&r, 32);
    g->outputs[k].node = (int32_t)r_u32(&r);
    if (!name || !memchr(name, 0, 32) || g->outputs[k].node < 0 ||
        (uint32_t)g->outputs[k].node >= count)
      return sn_error_set(err, SINTER_ERR_FORMAT, "%s: PLAN output %u is invalid", label, k);
    memcpy(g->outputs[k].name, name, 32);
  }
  g->nodes = calloc(count, sizeof *g->nodes);
  if (!g->nodes) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "%s: plan", label);
  g->cap = (int32_t)count;
  for (uint32_t i = 0; i < count; i++) {
    sn_ir_node_t *n = &g->nodes[i];
    g->count = (int32_t)i + 1; /* so deinit frees what was read on error */
    size_t node_at = r.at;
    n->op = (sn_ir_op_t)r_u32(&r);
    n->num_inputs = (int)r_u32(&r);
    for (int k = 0; k < SN_IR_MAX_INPUTS; k++) n->inputs[k] = (int32_t)r_u32(&r);
    n->dtype = (sn_ir_dtype_t)r_u32(&r);
    n->shape.rank = (int)r_u32(&r);
    for (int k = 0; k < SN_IR_MAX_RANK; k++) n->shape.dims[k] = (int64_t)r_u64(&r);
    n->eps = r_f32(&r);
    n->scale = r_f32(&r);
    n->trans_b = (int)r_u32(&r);
    for (int k = 0; k < SN_IR_MAX_RANK; k++) n->perm[k] = (int)r_u32(&r);
    n->input = (sn_ir_input_t)r_u32(&r);
    n->pool = (sinter_pooling_t)r_u32(&r);
    n->begin = (int64_t)r_u64(&r);
    n->end = (int64_t)r_u64(&r);
    n->act = (sn_activation_t)r_u32(&r);
    n->int8 = (int32_t)r_u32(&r);
    n->heads = (int32_t)r_u32(&r);
    n->head_dim = (int32_t)r_u32(&r);
    n->arena_offset = (int64_t)r_u64(&r);
    if (r.bad) break;
    if (n->op < 0 || n->op >= SN_OP_COUNT_ || !sn_ir_op_is_packed(n->op) || n->num_inputs < 0 ||
        n->num_inputs > SN_IR_MAX_INPUTS || n->shape.rank < 1 || n->shape.rank > SN_IR_MAX_RANK ||
        n->dtype > SN_IR_I32 ||
        (n->op == SN_OP_INPUT && n->input != SN_INPUT_IDS && n->input != SN_INPUT_TYPE_IDS) ||
        (n->op == SN_OP_POOL && (n->pool < SINTER_POOL_CLS || n->pool > SINTER_POOL_MEAN_SQRT_LEN)) ||
        (n->op == SN_OP_LINEAR && (n->act < SN_ACT_NONE || n->act > SN_ACT_TANH)) ||
        (n->int8 != 0 && (n->op != SN_OP_LINEAR || n->int8 != 1)))
      return sn_error_set(err, SINTER_ERR_FORMAT,
                          "%s: PLAN node %u at byte %zu is invalid (op %d, %d inputs)", label, i,
                          node_at, (int)n->op, n->num_inputs);
    for (int k = 0; k < n->num_inputs; k++)
      if (n->inputs[k] < 0 || (uint32_t)n->inputs[k] >= i)
        return sn_error_set(err, SINTER_ERR_FORMAT,
                            "%s: PLAN node %u reads node %d, which is not before it", label, i,
                            (int)n->inputs[k]);
    if (n->op == SN_OP_WEIGHT) {
      uint32_t name_len = r_u32(&r);
      const char *name = name_len < 4096 ? r_bytes(&r, name_len) : NULL;
      uint64_t at = r_u64(&r), nbytes = r_u64(&r);
      uint32_t layout_size = r_u32(&r);
      const void *layout = layout_size <= 4096 ? r_bytes(&r, layout_size) : NULL;
      if (r.bad || !name || (layout_size && !layout))
        return sn_error_set(err, SINTER_ERR_FORMAT, "%s: PLAN weight node %u is truncated", label,
                            i);
      n->name = strndup(name, name_len);
      if (layout_size) {
        n->layout = malloc(layout_size);
        if (n->layout) memcpy(n->layout, layout, layout_size);
        n->layout_size = layout_size;
        n->nbytes = (size_t)nbytes;
      }
      if (!n->name || (layout_size && !n->layout))
        return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "%s: plan", label);
      int64_t numel = 1;
      for (int k = 0; k < n->shape.rank; k++) {
        if (n->shape.dims[k] < 1 || n->shape.dims[k] > ((int64_t)1 << 31))
          return sn_error_set(err, SINTER_ERR_FORMAT, "%s: weight \"%s\" has a bad shape", label,
                              n->name);
        numel *= n->shape.dims[k];
      }
      if (at % ALIGN || at > tensors_size || nbytes > tensors_size - at ||
          (!layout_size && nbytes != (uint64_t)numel * 4))
        return sn_error_set(err, SINTER_ERR_FORMAT,
                            "%s: weight \"%s\" (%llu bytes at %llu) is outside the TENSORS "
                            "section of %zu bytes or has the wrong size",
                            label, n->name, (unsigned long long)nbytes, (unsigned long long)at,
                            tensors_size);
      n->data = (const float *)(tensors + at);
    }
  }
  if (r.bad)
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: PLAN section is truncated at byte %zu", label,
                        r.at);
  if (r.at != size)
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: PLAN section has %zu unread bytes", label,
                        size - r.at);
  /* Shapes and dtypes must be what the inputs give. */
  SN_TRY(sn_ir_verify(g, err));
  /* Every intermediate's slot, at the largest batch, lies inside the arena. */
  for (int32_t i = 0; i < g->count; i++) {
    const sn_ir_node_t *n = &g->nodes[i];
    if (n->op == SN_OP_WEIGHT || n->op == SN_OP_INPUT) continue;
    int64_t bytes = sn_ir_shape_bind(&n->shape, g->max_tokens, g->max_tokens, NULL) * 4;
    for (int k = 0; k < n->shape.rank; k++)
      if (n->shape.dims[k] < SN_DIM_T || n->shape.dims[k] > ((int64_t)1 << 31))
        return sn_error_set(err, SINTER_ERR_FORMAT, "%s: node %d has a bad shape", label, (int)i);
    if (n->arena_offset < 0 || bytes < 0 || n->arena_offset > g->arena_bytes ||
        bytes > g->arena_bytes - n->arena_offset)
      return sn_error_set(err, SINTER_ERR_FORMAT,
                          "%s: node %d's buffer (%lld bytes at %lld) is outside the %lld-byte "
                          "arena",
                          label, (int)i, (long long)bytes, (long long)n->arena_offset,
                          (long long)g->arena_bytes);
  }
  return SINTER_OK;
}

/* ------------------------------------------------------------ config codec */

static char *config_json(const sinter_model_t *m, sinter_error_t *err) {
  char *path = sn_path_join(m->dir, "config.json"), *text = NULL;
  size_t size = 0;
  if (!path) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "config"), NULL;
  sinter_status_t st = sn_file_read_all(path, SN_JSON_MAX_FILE_BYTES, &text, &size, err);
  free(path);
  if (st) return NULL;
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "config.json", text);
  free(text);
  cJSON_AddBoolToObject(o, "sentence_transformers", m->modules.present);
  cJSON_AddStringToObject(o, "pooling", sn_pooling_name(m->modules.pooling));
  cJSON_AddBoolToObject(o, "normalize", m->modules.normalize);
  cJSON_AddNumberToObject(o, "max_seq_length", m->modules.max_seq_length);
  cJSON_AddBoolToObject(o, "do_lower_case", m->modules.do_lower_case);
  cJSON_AddBoolToObject(o, "has_pooler", m->has_pooler);
  cJSON_AddNumberToObject(o, "parameter_count", (double)m->parameter_count);
  cJSON_AddStringToObject(o, "source", m->dir);
  char *out = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  if (!out) sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "config");
  return out;
}

static sinter_status_t read_config(const char *text, size_t size, const char *label,
                                   sinter_model_t *m, sinter_error_t *err) {
  cJSON *o = NULL;
  SN_TRY(sn_json_parse(text, size, label, &o, err));
  sinter_status_t st = SINTER_OK;
  const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(o, "config.json");
  const char *pool = NULL;
  int64_t v;
  if (!cJSON_IsObject(o) || !cJSON_IsString(cfg)) {
    st = sn_error_set(err, SINTER_ERR_FORMAT, "%s: CONFIG section lacks config.json", label);
    goto done;
  }
  if ((st = sn_config_parse(cfg->valuestring, strlen(cfg->valuestring), label, &m->config, err)))
    goto done;
  if ((st = sn_json_get_bool(o, "sentence_transformers", 0, label, &m->modules.present, err)) ||
      (st = sn_json_get_string(o, "pooling", "cls", label, &pool, err)) ||
      (st = sn_json_get_bool(o, "normalize", 0, label, &m->modules.normalize, err)) ||
      (st = sn_json_get_bool(o, "do_lower_case", 0, label, &m->modules.do_lower_case, err)) ||
      (st = sn_json_get_bool(o, "has_pooler", 0, label, &m->has_pooler, err)) ||
      (st = sn_json_get_int(o, "max_seq_length", 0, 0, 1 << 20, label, &v, err)))
    goto done;
  m->modules.max_seq_length = (int32_t)v;
  if ((st = sn_json_get_int(o, "parameter_count", 0, 0, (int64_t)1 << 50, label, &v, err)))
    goto done;
  m->parameter_count = v;
  if (sn_pooling_parse(pool, &m->modules.pooling) != 0)
    st = sn_error_set(err, SINTER_ERR_FORMAT, "%s: unknown pooling \"%s\"", label, pool);
done:
  cJSON_Delete(o);
  return st;
}

/* The plan's embedding tables must agree with the config the session uses
 * to validate token ids, or a bad id could read outside a table. */
static sinter_status_t check_plan_against_config(const sn_ir_graph_t *g, const sn_config_t *c,
                                                 const char *label, sinter_error_t *err) {
  int embeds = 0;
  for (int32_t i = 0; i < g->count; i++) {
    const sn_ir_node_t *n = &g->nodes[i];
    if (n->op != SN_OP_EMBED_LN) continue;
    embeds++;
    const sn_ir_node_t *word = &g->nodes[n->inputs[1]], *pos = &g->nodes[n->inputs[2]];
    const sn_ir_node_t *type = n->num_inputs == 7 ? &g->nodes[n->inputs[6]] : NULL;
    if (word->op != SN_OP_WEIGHT || pos->op != SN_OP_WEIGHT || word->layout || pos->layout ||
        word->shape.dims[0] != c->vocab_size || pos->shape.dims[0] != c->max_position_embeddings ||
        (type && (type->op != SN_OP_WEIGHT || type->shape.dims[0] != c->type_vocab_size)) ||
        (!type && c->type_vocab_size > 0) || word->shape.dims[1] != c->hidden_size)
      return sn_error_set(err, SINTER_ERR_FORMAT,
                          "%s: the plan's embedding tables do not match its config", label);
  }
  for (int32_t i = 0; i < g->count; i++) {
    const sn_ir_node_t *n = &g->nodes[i];
    if (n->op == SN_OP_LINEAR &&
        (g->nodes[n->inputs[1]].op != SN_OP_WEIGHT || !g->nodes[n->inputs[1]].layout))
      return sn_error_set(err, SINTER_ERR_FORMAT, "%s: linear node %d has no packed weight", label,
                          (int)i);
  }
  if (embeds != 1)
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: the plan has %d embedding ops", label, embeds);
  return SINTER_OK;
}

/* ------------------------------------------------------------ tokenizer files */

static sinter_status_t write_tokenizer_files(const char *dir, wbuf_t *w, sinter_error_t *err) {
  uint32_t count = 0;
  size_t count_at = w->n;
  w_u32(w, 0);
  for (size_t i = 0; i < N_TOKENIZER_FILES; i++) {
    char *path = sn_path_join(dir, TOKENIZER_FILES[i]), *text = NULL;
    size_t size = 0;
    if (!path) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "tokenizer files");
    if (!sn_file_exists(path)) {
      free(path);
      continue;
    }
    sinter_status_t st = sn_file_read_all(path, SN_JSON_MAX_FILE_BYTES, &text, &size, err);
    free(path);
    if (st) return st;
    w_str(w, TOKENIZER_FILES[i]);
    w_u64(w, size);
    w_bytes(w, text, size);
    free(text);
    count++;
  }
  if (!w->oom) memcpy(w->p + count_at, &count, 4);
  return SINTER_OK;
}

/* Loads the tokenizer stored in the TOKENIZER section: its files go to a
 * private temporary folder the folder loader reads, then are removed. */
static sinter_status_t read_tokenizer(const unsigned char *data, size_t size, const char *label,
                                      sinter_model_t *m, sinter_error_t *err) {
  rbuf_t r = {data, size, 0, 0};
  uint32_t count = r_u32(&r);
  if (r.bad || count > N_TOKENIZER_FILES)
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: TOKENIZER section is invalid", label);
  if (count == 0) return SINTER_OK;
  const char *tmp = getenv("TMPDIR");
  char dir[512];
  snprintf(dir, sizeof dir, "%s/sinter-tok-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir))
    return sn_error_set(err, SINTER_ERR_IO, "%s: cannot make a temporary folder: %s", label,
                        strerror(errno));
  sinter_status_t st = SINTER_OK;
  char written[N_TOKENIZER_FILES][600];
  uint32_t n_written = 0;
  for (uint32_t i = 0; i < count && !st; i++) {
    uint32_t name_len = r_u32(&r);
    const char *name = name_len < 64 ? r_bytes(&r, name_len) : NULL;
    uint64_t len = r_u64(&r);
    const void *bytes = len <= size ? r_bytes(&r, (size_t)len) : NULL;
    int known = 0;
    for (size_t k = 0; name && k < N_TOKENIZER_FILES; k++)
      known |=
          strlen(TOKENIZER_FILES[k]) == name_len && !memcmp(TOKENIZER_FILES[k], name, name_len);
    if (r.bad || !name || !bytes || !known) {
      st = sn_error_set(err, SINTER_ERR_FORMAT, "%s: TOKENIZER file %u is invalid", label, i);
      break;
    }
    snprintf(written[n_written], sizeof written[0], "%s/%.*s", dir, (int)name_len, name);
    int fd = open(written[n_written], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      st = sn_error_set(err, SINTER_ERR_IO, "%s: %s", written[n_written], strerror(errno));
      break;
    }
    n_written++;
    size_t done = 0;
    while (done < len) {
      ssize_t k = write(fd, (const char *)bytes + done, (size_t)len - done);
      if (k <= 0) break;
      done += (size_t)k;
    }
    close(fd);
    if (done != len)
      st = sn_error_set(err, SINTER_ERR_IO, "%s: short write", written[n_written - 1]);
  }
  if (!st) st = sn_model_load_tokenizer_from(m, dir, err);
  for (uint32_t i = 0; i < n_written; i++) unlink(written[i]);
  rmdir(dir);
  return st;
}

/* ------------------------------------------------------------ file level */

typedef struct section {
  uint32_t kind;
  uint64_t offset, size, checksum;
} section_t;

static sinter_status_t write_all(int fd, const void *p, size_t n, const char *path,
                                 sinter_error_t *err) {
  const char *c = p;
  while (n) {
    ssize_t k = write(fd, c, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0)
      return sn_error_set(err, SINTER_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    c += k;
    n -= (size_t)k;
  }
  return SINTER_OK;
}

sinter_status_t sn_artifact_write(const sinter_model_t *model, const sn_compile_options_t *opts,
                                  const uint8_t key[32], const sn_compile_report_t *report,
                                  const char *path, sinter_error_t *err) {
  if (!model->plan) return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT, "model is not compiled");
  wbuf_t sec[5] = {{0}};
  static const uint32_t kinds[5] = {SN_SECTION_CONFIG, SN_SECTION_PLAN, SN_SECTION_TENSORS,
                                    SN_SECTION_TOKENIZER, SN_SECTION_METADATA};
  sinter_status_t st = SINTER_OK;
  char *cfg = config_json(model, err);
  if (!cfg) return err->status;
  w_bytes(&sec[0], cfg, strlen(cfg));
  free(cfg);
  uint64_t tensors_size = 0, tensors_checksum = 0;
  write_plan(model->plan, &sec[1], &tensors_size, &tensors_checksum);
  if ((st = write_tokenizer_files(model->dir, &sec[3], err))) goto done;
  {
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "source", model->dir);
    cJSON_AddNumberToObject(meta, "created_unix", (double)time(NULL));
    cJSON_AddStringToObject(meta, "compiler", "sinter " SN_COMPILER_VERSION);
    cJSON_AddStringToObject(meta, "onednn", sn_dnnl_version());
    cJSON_AddNumberToObject(meta, "arena_bytes", (double)model->plan->arena_bytes);
    if (report) {
      cJSON *passes = cJSON_AddArrayToObject(meta, "passes");
      for (int i = 0; i < report->num_passes; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "name", report->passes[i].name);
        cJSON_AddNumberToObject(p, "ops_in", report->passes[i].nodes_before);
        cJSON_AddNumberToObject(p, "ops_out", report->passes[i].nodes_after);
        cJSON_AddNumberToObject(p, "rewrites", report->passes[i].rewrites);
        cJSON_AddNumberToObject(p, "bytes_folded", (double)report->passes[i].bytes_folded);
        cJSON_AddItemToArray(passes, p);
      }
    }
    char *text = cJSON_PrintUnformatted(meta);
    cJSON_Delete(meta);
    if (text) w_bytes(&sec[4], text, strlen(text));
    free(text);
  }
  for (int i = 0; i < 5; i++)
    if (sec[i].oom) {
      st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "artifact: serialising");
      goto done;
    }
  /* Header and table, then the sections at 64-byte aligned offsets. */
  section_t table[5];
  uint64_t at = HEADER_BYTES + ALIGN * ((5 * ENTRY_BYTES + ALIGN - 1) / ALIGN);
  for (int i = 0; i < 5; i++) {
    if (kinds[i] == SN_SECTION_TENSORS) {
      table[i] = (section_t){kinds[i], at, tensors_size, tensors_checksum};
    } else {
      table[i] = (section_t){kinds[i], at, sec[i].n, XXH3_64bits(sec[i].p, sec[i].n)};
    }
    at = (at + table[i].size + ALIGN - 1) / ALIGN * ALIGN;
  }
  uint64_t file_size = table[4].offset + table[4].size;
  wbuf_t head = {0}, tab = {0};
  for (int i = 0; i < 5; i++) {
    w_u32(&tab, table[i].kind);
    w_u32(&tab, 0);
    w_u64(&tab, table[i].offset);
    w_u64(&tab, table[i].size);
    w_u64(&tab, table[i].checksum);
  }
  char version[16] = {0}, dnnl[16] = {0};
  snprintf(version, sizeof version, "%s", SN_COMPILER_VERSION);
  snprintf(dnnl, sizeof dnnl, "%s", sn_dnnl_version());
  static const uint8_t no_key[32];
  w_bytes(&head, MAGIC, 8);
  w_u32(&head, SN_ARTIFACT_FORMAT_VERSION);
  w_u32(&head, HEADER_BYTES);
  w_bytes(&head, version, 16);
  w_bytes(&head, dnnl, 16);
  w_u64(&head,
        sn_cpu_features() & (SN_FEATURE_AVX2 | SN_FEATURE_FMA | SN_FEATURE_AVX512F |
                             SN_FEATURE_AVX512BW | SN_FEATURE_AVX512VL | SN_FEATURE_AVX512DQ));
  w_u32(&head, (uint32_t)opts->dtype);
  w_u32(&head, 5);
  w_u64(&head, (uint64_t)opts->max_tokens);
  w_u64(&head, (uint64_t)opts->max_seq);
  w_bytes(&head, key ? key : no_key, 32);
  w_u64(&head, file_size);
  w_u64(&head, XXH3_64bits(tab.p, tab.n));
  while (head.n < HEADER_CHECKED) w_bytes(&head, "", 1);
  w_u64(&head, XXH3_64bits(head.p, HEADER_CHECKED));
  while (head.n < HEADER_BYTES) w_bytes(&head, "", 1);
  while (tab.n < table[0].offset - HEADER_BYTES) w_bytes(&tab, "", 1);

  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    st = sn_error_set(err, SINTER_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    goto done_head;
  }
  static const unsigned char zeros[ALIGN];
  st = write_all(fd, head.p, head.n, tmp, err);
  if (!st) st = write_all(fd, tab.p, tab.n, tmp, err);
  for (int i = 0; i < 5 && !st; i++) {
    st = kinds[i] == SN_SECTION_TENSORS ? write_tensors(fd, model->plan, tmp, err)
                                        : write_all(fd, sec[i].p, sec[i].n, tmp, err);
    size_t pad = i < 4 ? (size_t)(table[i + 1].offset - table[i].offset - table[i].size) : 0;
    if (!st && pad) st = write_all(fd, zeros, pad, tmp, err);
  }
  if (!st && fsync(fd) != 0)
    st = sn_error_set(err, SINTER_ERR_IO, "%s: fsync: %s", tmp, strerror(errno));
  close(fd);
  if (!st && rename(tmp, path) != 0)
    st =
        sn_error_set(err, SINTER_ERR_IO, "%s: cannot rename into place: %s", path, strerror(errno));
  if (st) unlink(tmp);
done_head:
  free(head.p), free(tab.p);
done:
  for (int i = 0; i < 5; i++) free(sec[i].p);
  return st;
}

static sinter_status_t write_tensors(int fd, const sn_ir_graph_t *g, const char *path,
                                     sinter_error_t *err) {
  static const unsigned char zeros[ALIGN];
  uint64_t at = 0;
  for (int32_t i = 0; i < g->count; i++) {
    const sn_ir_node_t *n = &g->nodes[i];
    if (n->op != SN_OP_WEIGHT) continue;
    size_t pad = (size_t)((ALIGN - at % ALIGN) % ALIGN);
    if (pad) SN_TRY(write_all(fd, zeros, pad, path, err));
    SN_TRY(write_all(fd, n->data, weight_bytes(n), path, err));
    at += pad + weight_bytes(n);
  }
  return SINTER_OK;
}

/* Parsed header and table of an image. */
typedef struct image {
  uint32_t version;
  char compiler[17], dnnl[17];
  uint64_t features, file_size;
  uint32_t dtype, n_sections;
  int64_t max_tokens, max_seq;
  uint8_t key[32];
  section_t sections[MAX_SECTIONS];
} image_t;

static const section_t *find_section(const image_t *im, uint32_t kind) {
  for (uint32_t i = 0; i < im->n_sections; i++)
    if (im->sections[i].kind == kind) return &im->sections[i];
  return NULL;
}

static const char *section_name(uint32_t kind) {
  switch (kind) {
    case SN_SECTION_CONFIG: return "CONFIG";
    case SN_SECTION_PLAN: return "PLAN";
    case SN_SECTION_TENSORS: return "TENSORS";
    case SN_SECTION_TOKENIZER: return "TOKENIZER";
    case SN_SECTION_METADATA: return "METADATA";
  }
  return "?";
}

/* Header, table, bounds and checksums of every section. */
static sinter_status_t check_image(const unsigned char *p, size_t size, const char *label,
                                   image_t *im, int check_cpu, sinter_error_t *err) {
  memset(im, 0, sizeof *im);
  if (size < HEADER_BYTES || memcmp(p, MAGIC, 8) != 0)
    return sn_error_set(err, SINTER_ERR_FORMAT,
                        "%s: not a sinter artifact (bad magic or %zu bytes)", label, size);
  rbuf_t r = {p, HEADER_BYTES, 8, 0};
  im->version = r_u32(&r);
  uint32_t header_bytes = r_u32(&r);
  memcpy(im->compiler, r_bytes(&r, 16), 16);
  memcpy(im->dnnl, r_bytes(&r, 16), 16);
  im->features = r_u64(&r);
  im->dtype = r_u32(&r);
  im->n_sections = r_u32(&r);
  im->max_tokens = (int64_t)r_u64(&r);
  im->max_seq = (int64_t)r_u64(&r);
  memcpy(im->key, r_bytes(&r, 32), 32);
  im->file_size = r_u64(&r);
  uint64_t table_sum = r_u64(&r);
  uint64_t header_sum;
  memcpy(&header_sum, p + HEADER_CHECKED, 8);
  if (im->version != SN_ARTIFACT_FORMAT_VERSION)
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: artifact format version %u; this build reads version %d (recompile)",
                        label, im->version, SN_ARTIFACT_FORMAT_VERSION);
  if (header_bytes != HEADER_BYTES || XXH3_64bits(p, HEADER_CHECKED) != header_sum)
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: header checksum mismatch (corrupt header)",
                        label);
  if (im->file_size != size)
    return sn_error_set(err, SINTER_ERR_FORMAT,
                        "%s: file is %zu bytes but its header says %llu (truncated or extended)",
                        label, size, (unsigned long long)im->file_size);
  if (im->n_sections < 1 || im->n_sections > MAX_SECTIONS ||
      (uint64_t)im->n_sections * ENTRY_BYTES > size - HEADER_BYTES)
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: %u sections is invalid", label,
                        im->n_sections);
  if (XXH3_64bits(p + HEADER_BYTES, (size_t)im->n_sections * ENTRY_BYTES) != table_sum)
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: section table checksum mismatch", label);
  if (im->dnnl[0] && strcmp(im->dnnl, sn_dnnl_version()) != 0 && check_cpu)
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: compiled with oneDNN %s; this build has oneDNN %s (recompile)", label,
                        im->dnnl, sn_dnnl_version());
  uint64_t missing = im->features & ~sn_cpu_features();
  if (check_cpu && missing) {
    char names[128];
    sn_features_format(missing, names, sizeof names);
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: compiled for a CPU with %s, which this CPU lacks", label, names);
  }
  rbuf_t t = {p + HEADER_BYTES, (size_t)im->n_sections * ENTRY_BYTES, 0, 0};
  uint64_t table_end = HEADER_BYTES + (uint64_t)im->n_sections * ENTRY_BYTES;
  for (uint32_t i = 0; i < im->n_sections; i++) {
    section_t *s = &im->sections[i];
    s->kind = r_u32(&t);
    r_u32(&t);
    s->offset = r_u64(&t);
    s->size = r_u64(&t);
    s->checksum = r_u64(&t);
    if (s->kind < SN_SECTION_CONFIG || s->kind > SN_SECTION_METADATA || s->offset % ALIGN ||
        s->offset < table_end || s->offset > size || s->size > size - s->offset)
      return sn_error_set(err, SINTER_ERR_FORMAT,
                          "%s: section %u (%s) at %llu, %llu bytes, is out of bounds", label, i,
                          section_name(s->kind), (unsigned long long)s->offset,
                          (unsigned long long)s->size);
    for (uint32_t j = 0; j < i; j++) {
      const section_t *o = &im->sections[j];
      if (o->kind == s->kind ||
          (s->offset < o->offset + o->size && o->offset < s->offset + s->size))
        return sn_error_set(err, SINTER_ERR_FORMAT, "%s: sections %s and %s overlap or repeat",
                            label, section_name(o->kind), section_name(s->kind));
    }
    if (XXH3_64bits(p + s->offset, (size_t)s->size) != s->checksum)
      return sn_error_set(err, SINTER_ERR_FORMAT,
                          "%s: section %s checksum mismatch (corrupt bytes in %llu..%llu)", label,
                          section_name(s->kind), (unsigned long long)s->offset,
                          (unsigned long long)(s->offset + s->size));
  }
  static const uint32_t required[] = {SN_SECTION_CONFIG, SN_SECTION_PLAN, SN_SECTION_TENSORS,
                                      SN_SECTION_TOKENIZER};
  for (size_t i = 0; i < 4; i++)
    if (!find_section(im, required[i]))
      return sn_error_set(err, SINTER_ERR_FORMAT, "%s: section %s is missing", label,
                          section_name(required[i]));
  return SINTER_OK;
}

/* Builds a model from a checked image (weights point into it). */
static sinter_status_t load_image(const unsigned char *p, size_t size, const char *label,
                                  int check_cpu, int with_tokenizer, sinter_model_t *m, image_t *im,
                                  sinter_error_t *err) {
  SN_TRY(check_image(p, size, label, im, check_cpu, err));
  const section_t *cfg = find_section(im, SN_SECTION_CONFIG);
  const section_t *plan = find_section(im, SN_SECTION_PLAN);
  const section_t *tens = find_section(im, SN_SECTION_TENSORS);
  const section_t *tok = find_section(im, SN_SECTION_TOKENIZER);
  SN_TRY(read_config((const char *)p + cfg->offset, (size_t)cfg->size, label, m, err));
  m->plan = calloc(1, sizeof *m->plan);
  if (!m->plan) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "plan");
  SN_TRY(read_plan(p + plan->offset, (size_t)plan->size, p + tens->offset, (size_t)tens->size,
                   label, m->plan, err));
  SN_TRY(check_plan_against_config(m->plan, &m->config, label, err));
  if (with_tokenizer) SN_TRY(read_tokenizer(p + tok->offset, (size_t)tok->size, label, m, err));
  return SINTER_OK;
}

sinter_status_t sn_artifact_open(const char *path, sinter_model_t **out, sinter_error_t *err) {
  *out = NULL;
  sinter_model_t *m = calloc(1, sizeof *m);
  struct sn_artifact *a = calloc(1, sizeof *a);
  if (!m || !a || !(m->dir = strdup(path))) {
    free(m), free(a);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "artifact");
  }
  m->artifact = a;
  image_t im;
  /* Every byte is read (checksums, then the weights), so map it all at once. */
  sinter_status_t st = sn_file_map_all(path, &a->map, err);
  if (!st) st = load_image(a->map.data, a->map.size, path, 1, 1, m, &im, err);
  if (st) {
    sinter_model_close(m);
    return st;
  }
  *out = m;
  return SINTER_OK;
}

void sn_artifact_release(struct sn_artifact *a) {
  if (!a) return;
  sn_file_unmap(&a->map);
  free(a);
}

sinter_status_t sn_artifact_check(const void *data, size_t size, const char *label,
                                  sinter_error_t *err) {
  sinter_model_t m;
  memset(&m, 0, sizeof m);
  image_t im;
  sinter_status_t st = load_image(data, size, label, 0, 0, &m, &im, err);
  if (m.plan) {
    sn_ir_graph_deinit(m.plan);
    free(m.plan);
  }
  sn_config_deinit(&m.config);
  return st;
}

/* ------------------------------------------------------------ inspect */

sinter_status_t sn_artifact_inspect(const char *path, FILE *out, sinter_error_t *err) {
  sn_mapped_file_t map = {0};
  SN_TRY(sn_file_map(path, &map, err));
  sinter_model_t m;
  memset(&m, 0, sizeof m);
  image_t im;
  sinter_status_t st = load_image(map.data, map.size, path, 0, 0, &m, &im, err);
  if (im.version) {
    char features[128], key[65];
    sn_features_format(im.features, features, sizeof features);
    for (int i = 0; i < 32; i++) snprintf(key + 2 * i, 3, "%02x", im.key[i]);
    fprintf(out, "artifact:        %s (%zu bytes)\n", path, map.size);
    fprintf(out, "format version:  %u\n", im.version);
    fprintf(out, "compiler:        sinter %s, oneDNN %s\n", im.compiler, im.dnnl);
    fprintf(out, "target features: %s\n", features);
    fprintf(out, "options:         dtype %s, max tokens %lld, max seq %lld\n",
            im.dtype == 0   ? "f32"
            : im.dtype == 1 ? "bf16"
                            : "int8",
            (long long)im.max_tokens, (long long)im.max_seq);
    fprintf(out, "content key:     %s\n", key);
    fprintf(out, "sections:\n");
    for (uint32_t i = 0; i < im.n_sections; i++) {
      const section_t *s = &im.sections[i];
      int ok = s->offset <= map.size && s->size <= map.size - s->offset &&
               XXH3_64bits(map.data + s->offset, (size_t)s->size) == s->checksum;
      fprintf(out, "  %-10s offset %10llu  size %11llu  xxh3 %016llx %s\n", section_name(s->kind),
              (unsigned long long)s->offset, (unsigned long long)s->size,
              (unsigned long long)s->checksum, ok ? "ok" : "MISMATCH");
    }
    const section_t *meta = find_section(&im, SN_SECTION_METADATA);
    if (meta && meta->offset <= map.size && meta->size <= map.size - meta->offset)
      fprintf(out, "metadata:        %.*s\n", (int)meta->size, map.data + meta->offset);
  }
  if (!st) {
    fprintf(out, "model:           %s %s, %d layers, hidden %d, %d heads, %lld parameters\n",
            m.config.model_type == SN_MODEL_BERT ? "bert" : "distilbert", m.config.architecture,
            (int)m.config.num_layers, (int)m.config.hidden_size, (int)m.config.num_heads,
            (long long)m.parameter_count);
    fprintf(out, "pooling:         %s%s\n", sn_pooling_name(m.modules.pooling),
            m.modules.normalize ? " + L2 normalize" : "");
    if (m.config.head == SN_HEAD_SEQUENCE) {
      fprintf(out, "labels:         ");
      for (int i = 0; i < m.config.num_labels; i++) fprintf(out, " %d=%s", i, m.config.labels[i]);
      fprintf(out, "\n");
    }
    fprintf(out, "plan:            %d ops, arena %lld bytes for %lld tokens\n", (int)m.plan->count,
            (long long)m.plan->arena_bytes, (long long)m.plan->max_tokens);
    int kinds[4] = {0, 0, 0, 0}; /* sinter f32, sinter bf16, oneDNN f32, oneDNN int8 */
    for (int32_t i = 0; i < m.plan->count; i++) {
      const sn_ir_node_t *n = &m.plan->nodes[i];
      if (n->op != SN_OP_LINEAR) continue;
      const sn_ir_node_t *w = &m.plan->nodes[n->inputs[1]];
      const char *kind = sn_linear_layout_kind(w->layout, w->layout_size);
      kinds[n->int8 ? 3 : !strcmp(kind, "f32") ? 0 : !strcmp(kind, "bf16") ? 1 : 2]++;
    }
    fprintf(out,
            "linear kernels:  %d sinter-gemm f32, %d sinter-gemm bf16 weights, %d oneDNN f32, "
            "%d oneDNN int8\n",
            kinds[0], kinds[1], kinds[2], kinds[3]);
    sn_ir_print(m.plan, out);
  }
  if (m.plan) {
    sn_ir_graph_deinit(m.plan);
    free(m.plan);
  }
  sn_config_deinit(&m.config);
  sn_file_unmap(&map);
  return st;
}

/* ------------------------------------------------------------ content key */

static sinter_status_t hash_file(EVP_MD_CTX *ctx, const char *dir, const char *name,
                                 sinter_error_t *err) {
  char *path = sn_path_join(dir, name);
  if (!path) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "key");
  sinter_status_t st = SINTER_OK;
  if (sn_file_exists(path)) {
    sn_mapped_file_t map;
    st = sn_file_map(path, &map, err);
    if (!st) {
      uint64_t n = map.size;
      EVP_DigestUpdate(ctx, name, strlen(name) + 1);
      EVP_DigestUpdate(ctx, &n, sizeof n);
      if (map.size) EVP_DigestUpdate(ctx, map.data, map.size);
      sn_file_unmap(&map);
    }
  }
  free(path);
  return st;
}

sinter_status_t sn_artifact_key(const sinter_model_t *model, const sn_compile_options_t *opts,
                                uint8_t key[32], sinter_error_t *err) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(ctx);
    return sn_error_set(err, SINTER_ERR_INTERNAL, "SHA-256 unavailable");
  }
  char versions[160];
  snprintf(versions, sizeof versions, "sinter %s format %d onednn %s features %llx linear %d.%d",
           SN_COMPILER_VERSION, SN_ARTIFACT_FORMAT_VERSION, sn_dnnl_version(),
           (unsigned long long)sn_target_features(opts), sn_compile_linear_kernel(opts),
           SN_LINEAR_LAYOUT_REVISION);
  EVP_DigestUpdate(ctx, versions, strlen(versions) + 1);
  int64_t o[3] = {(int64_t)opts->dtype, opts->max_tokens, opts->max_seq};
  EVP_DigestUpdate(ctx, o, sizeof o);
  /* The folder's inputs: config, modules, tokenizer files and weights (every
   * shard the index names is a file of the folder; hashing all .safetensors
   * files it lists is done through the index's own bytes plus the shards). */
  static const char *files[] = {"config.json",           "modules.json",
                                "1_Pooling/config.json", "sentence_bert_config.json",
                                "model.safetensors",     "model.safetensors.index.json"};
  sinter_status_t st = SINTER_OK;
  for (size_t i = 0; i < sizeof files / sizeof files[0] && !st; i++)
    st = hash_file(ctx, model->dir, files[i], err);
  for (size_t i = 0; i < N_TOKENIZER_FILES && !st; i++)
    st = hash_file(ctx, model->dir, TOKENIZER_FILES[i], err);
  /* Shards: the distinct files the archive holds tensors from. */
  const char *last = NULL;
  for (size_t i = 0; !st && model->archive && i < sn_st_count(model->archive); i++) {
    const char *file = sn_st_at(model->archive, i)->file;
    if (last && !strcmp(last, file)) continue;
    const char *slash = strrchr(file, '/');
    const char *base = slash ? slash + 1 : file;
    if (strcmp(base, "model.safetensors") != 0) {
      int seen = 0;
      for (size_t j = 0; j < i && !seen; j++)
        seen = !strcmp(sn_st_at(model->archive, j)->file, file);
      if (!seen) st = hash_file(ctx, model->dir, base, err);
    }
    last = file;
  }
  unsigned int len = 0;
  if (!st && EVP_DigestFinal_ex(ctx, key, &len) != 1)
    st = sn_error_set(err, SINTER_ERR_INTERNAL, "SHA-256 failed");
  EVP_MD_CTX_free(ctx);
  return st;
}
