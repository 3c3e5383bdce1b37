/* plan_codec.c — the serialised form of a compiled plan (the PLAN section of
 * an artifact): a header, the outputs, then every node's fields in order;
 * weight nodes add their name, offset and size in the tensor bytes and their
 * packed layout descriptor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "program/program.h"

size_t sn_plan_weight_bytes(const sn_ir_node_t *n) {
  return n->layout ? n->nbytes : (size_t)sn_ir_shape_bind(&n->shape, 1, 1, NULL) * 4;
}

static void write_node(sn_wbuf_t *w, const sn_ir_node_t *n, uint64_t tensor_offset) {
  sn_wbuf_u32(w, (uint32_t)n->op);
  sn_wbuf_u32(w, (uint32_t)n->num_inputs);
  for (int k = 0; k < SN_IR_MAX_INPUTS; k++) sn_wbuf_u32(w, (uint32_t)n->inputs[k]);
  sn_wbuf_u32(w, (uint32_t)n->dtype);
  sn_wbuf_u32(w, (uint32_t)n->shape.rank);
  for (int k = 0; k < SN_IR_MAX_RANK; k++) sn_wbuf_u64(w, (uint64_t)n->shape.dims[k]);
  sn_wbuf_f32(w, n->eps);
  sn_wbuf_f32(w, n->scale);
  sn_wbuf_u32(w, (uint32_t)n->trans_b);
  for (int k = 0; k < SN_IR_MAX_RANK; k++) sn_wbuf_u32(w, (uint32_t)n->perm[k]);
  sn_wbuf_u32(w, (uint32_t)n->input);
  sn_wbuf_u32(w, (uint32_t)n->pool);
  sn_wbuf_u64(w, (uint64_t)n->begin);
  sn_wbuf_u64(w, (uint64_t)n->end);
  sn_wbuf_u32(w, (uint32_t)n->act);
  sn_wbuf_u32(w, (uint32_t)n->int8);
  sn_wbuf_u32(w, (uint32_t)n->heads);
  sn_wbuf_u32(w, (uint32_t)n->head_dim);
  sn_wbuf_u32(w, (uint32_t)n->window);
  sn_wbuf_u32(w, (uint32_t)n->causal);
  sn_wbuf_u32(w, (uint32_t)n->kv_heads);
  sn_wbuf_u64(w, (uint64_t)n->arena_offset);
  if (n->op == SN_OP_WEIGHT) {
    sn_wbuf_str(w, n->name);
    sn_wbuf_u64(w, tensor_offset);
    sn_wbuf_u64(w, n->layout ? n->nbytes : (uint64_t)sn_ir_shape_bind(&n->shape, 1, 1, NULL) * 4);
    sn_wbuf_u32(w, (uint32_t)(n->layout ? n->layout_size : 0));
    if (n->layout) sn_wbuf_bytes(w, n->layout, n->layout_size);
  }
}

void sn_plan_encode(const sn_ir_graph_t *g, sn_wbuf_t *plan, uint64_t *tensors_size,
                    uint64_t *tensors_checksum) {
  static const unsigned char zeros[SN_PLAN_WEIGHT_ALIGN];
  XXH3_state_t *hash = XXH3_createState();
  if (!hash) {
    plan->oom = 1;
    return;
  }
  XXH3_64bits_reset(hash);
  uint64_t at = 0;
  sn_wbuf_u32(plan, (uint32_t)g->count);
  sn_wbuf_u32(plan, (uint32_t)g->packed);
  sn_wbuf_u64(plan, (uint64_t)g->max_tokens);
  sn_wbuf_u64(plan, (uint64_t)g->max_seqs);
  sn_wbuf_u64(plan, (uint64_t)g->arena_bytes);
  sn_wbuf_u32(plan, (uint32_t)g->num_outputs);
  for (int k = 0; k < g->num_outputs; k++) {
    char name[32] = {0};
    snprintf(name, sizeof name, "%s", g->outputs[k].name);
    sn_wbuf_bytes(plan, name, sizeof name);
    sn_wbuf_u32(plan, (uint32_t)g->outputs[k].node);
  }
  for (int32_t i = 0; i < g->count; i++) {
    const sn_ir_node_t *n = &g->nodes[i];
    uint64_t offset = 0;
    if (n->op == SN_OP_WEIGHT) {
      size_t pad =
          (size_t)((SN_PLAN_WEIGHT_ALIGN - at % SN_PLAN_WEIGHT_ALIGN) % SN_PLAN_WEIGHT_ALIGN);
      XXH3_64bits_update(hash, zeros, pad);
      offset = at += pad;
      XXH3_64bits_update(hash, n->data, sn_plan_weight_bytes(n));
      at += sn_plan_weight_bytes(n);
    }
    write_node(plan, n, offset);
  }
  *tensors_size = at;
  *tensors_checksum = XXH3_64bits_digest(hash);
  XXH3_freeState(hash);
}

#define PLAN_MAX_NODES 1000000
#define PLAN_MAX_TOKENS (1 << 24)
#define PLAN_MAX_ARENA ((uint64_t)64 << 30)

sinter_status_t sn_plan_decode(const unsigned char *data, size_t size, const unsigned char *tensors,
                               size_t tensors_size, const char *label, sn_ir_graph_t *g,
                               sinter_error_t *err) {
  sn_rbuf_t r = {data, size, 0, 0};
  sn_ir_graph_init(g);
  uint32_t count = sn_rbuf_u32(&r);
  g->packed = (int)sn_rbuf_u32(&r);
  uint64_t max_tokens = sn_rbuf_u64(&r), max_seqs = sn_rbuf_u64(&r), arena = sn_rbuf_u64(&r);
  uint32_t n_out = sn_rbuf_u32(&r);
  if (r.bad || count == 0 || count > PLAN_MAX_NODES || g->packed != 1 || max_tokens < 1 ||
      max_tokens > PLAN_MAX_TOKENS || max_seqs < 1 || max_seqs > max_tokens ||
      arena > PLAN_MAX_ARENA || n_out < 1 || n_out > SN_IR_MAX_OUTPUTS)
    return sn_error_set(err, SINTER_ERR_FORMAT,
                        "%s: PLAN header is invalid (nodes %u, tokens %llu, sequences %llu, arena "
                        "%llu, outputs %u)",
                        label, count, (unsigned long long)max_tokens, (unsigned long long)max_seqs,
                        (unsigned long long)arena, n_out);
  g->max_tokens = (int64_t)max_tokens;
  g->max_seqs = (int64_t)max_seqs;
  g->arena_bytes = (int64_t)arena;
  g->num_outputs = (int)n_out;
  for (uint32_t k = 0; k < n_out; k++) {
    const char *name = sn_rbuf_bytes(&r, 32);
    g->outputs[k].node = (int32_t)sn_rbuf_u32(&r);
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
    n->op = (sn_ir_op_t)sn_rbuf_u32(&r);
    n->num_inputs = (int)sn_rbuf_u32(&r);
    for (int k = 0; k < SN_IR_MAX_INPUTS; k++) n->inputs[k] = (int32_t)sn_rbuf_u32(&r);
    n->dtype = (sn_ir_dtype_t)sn_rbuf_u32(&r);
    n->shape.rank = (int)sn_rbuf_u32(&r);
    for (int k = 0; k < SN_IR_MAX_RANK; k++) n->shape.dims[k] = (int64_t)sn_rbuf_u64(&r);
    n->eps = sn_rbuf_f32(&r);
    n->scale = sn_rbuf_f32(&r);
    n->trans_b = (int)sn_rbuf_u32(&r);
    for (int k = 0; k < SN_IR_MAX_RANK; k++) n->perm[k] = (int)sn_rbuf_u32(&r);
    n->input = (sn_ir_input_t)sn_rbuf_u32(&r);
    n->pool = (sinter_pooling_t)sn_rbuf_u32(&r);
    n->begin = (int64_t)sn_rbuf_u64(&r);
    n->end = (int64_t)sn_rbuf_u64(&r);
    n->act = (sn_activation_t)sn_rbuf_u32(&r);
    n->int8 = (int32_t)sn_rbuf_u32(&r);
    n->heads = (int32_t)sn_rbuf_u32(&r);
    n->head_dim = (int32_t)sn_rbuf_u32(&r);
    n->window = (int32_t)sn_rbuf_u32(&r);
    n->causal = (int32_t)sn_rbuf_u32(&r);
    n->kv_heads = (int32_t)sn_rbuf_u32(&r);
    n->arena_offset = (int64_t)sn_rbuf_u64(&r);
    if (r.bad) break;
    if (n->op < 0 || n->op >= SN_OP_COUNT_ || !sn_ir_op_is_packed(n->op) || n->num_inputs < 0 ||
        n->num_inputs > SN_IR_MAX_INPUTS || n->shape.rank < 1 || n->shape.rank > SN_IR_MAX_RANK ||
        n->dtype > SN_IR_I32 ||
        (n->op == SN_OP_INPUT && n->input != SN_INPUT_IDS && n->input != SN_INPUT_TYPE_IDS) ||
        (n->op == SN_OP_POOL && (n->pool < SINTER_POOL_CLS || n->pool > SINTER_POOL_SPLADE)) ||
        (n->op == SN_OP_LINEAR && (n->act < SN_ACT_NONE || n->act > SN_ACT_TANH)) ||
        (n->op == SN_OP_GLU && (n->act <= SN_ACT_NONE || n->act > SN_ACT_SILU)) ||
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
      uint32_t name_len = sn_rbuf_u32(&r);
      const char *name = name_len < 4096 ? sn_rbuf_bytes(&r, name_len) : NULL;
      uint64_t at = sn_rbuf_u64(&r), nbytes = sn_rbuf_u64(&r);
      uint32_t layout_size = sn_rbuf_u32(&r);
      const void *layout = layout_size <= 4096 ? sn_rbuf_bytes(&r, layout_size) : NULL;
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
      if (at % SN_PLAN_WEIGHT_ALIGN || at > tensors_size || nbytes > tensors_size - at ||
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
  return SINTER_OK;
}
