/* graph.c — graph construction, shape inference, verifier and printer. */
#include "ir/graph.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *const op_names[SN_OP_COUNT_] = {
    [SN_OP_INPUT] = "input",
    [SN_OP_WEIGHT] = "weight",
    [SN_OP_ARANGE] = "arange",
    [SN_OP_GATHER] = "gather",
    [SN_OP_ADD] = "add",
    [SN_OP_MUL_SCALAR] = "mul_scalar",
    [SN_OP_MATMUL] = "matmul",
    [SN_OP_RESHAPE] = "reshape",
    [SN_OP_TRANSPOSE] = "transpose",
    [SN_OP_MASKED_SOFTMAX] = "masked_softmax",
    [SN_OP_LAYERNORM] = "layernorm",
    [SN_OP_GELU] = "gelu",
    [SN_OP_GELU_TANH] = "gelu_tanh",
    [SN_OP_RELU] = "relu",
    [SN_OP_TANH] = "tanh",
    [SN_OP_SLICE_FIRST] = "slice_first",
    [SN_OP_POOL] = "pool",
    [SN_OP_L2_NORMALIZE] = "l2_normalize",
    [SN_OP_SOFTMAX] = "softmax",
    [SN_OP_DROPOUT] = "dropout",
    [SN_OP_REL_BIAS] = "rel_bias",
    [SN_OP_ROTARY] = "rotary",
    [SN_OP_MUL] = "mul",
    [SN_OP_ROTARY_QK] = "rotary_qk",
    [SN_OP_GLU] = "glu",
    [SN_OP_SILU] = "silu",
    [SN_OP_RMSNORM] = "rmsnorm",
    [SN_OP_REPEAT_HEADS] = "repeat_heads",
    [SN_OP_DISENTANGLED_BIAS] = "disentangled_bias",
    [SN_OP_SLICE_COLS] = "slice_cols",
    [SN_OP_LINEAR] = "linear",
    [SN_OP_ATTENTION] = "attention",
    [SN_OP_ADD_LAYERNORM] = "add_layernorm",
    [SN_OP_EMBED_LN] = "embed_layernorm",
};

int sn_ir_inplace_input(const sn_ir_node_t *n) {
  switch (n->op) {
    case SN_OP_LINEAR: return n->num_inputs == 4 ? 3 : -1;
    case SN_OP_ADD_LAYERNORM:
    case SN_OP_GELU:
    case SN_OP_GELU_TANH:
    case SN_OP_RELU:
    case SN_OP_TANH:
    case SN_OP_L2_NORMALIZE:
    case SN_OP_ROTARY_QK:
    case SN_OP_SILU:
    case SN_OP_MUL_SCALAR:
    case SN_OP_SOFTMAX: return 0;
    case SN_OP_RMSNORM: return n->num_inputs == 3 ? 2 : 0; /* the residual stream */
    default: return -1;
  }
}

int sn_ir_op_is_packed(sn_ir_op_t op) {
  switch (op) {
    case SN_OP_INPUT:
    case SN_OP_WEIGHT:
    case SN_OP_EMBED_LN:
    case SN_OP_LINEAR:
    case SN_OP_ATTENTION:
    case SN_OP_ROTARY_QK:
    case SN_OP_GLU:
    case SN_OP_RMSNORM:
    case SN_OP_GATHER:
    case SN_OP_MUL_SCALAR:
    case SN_OP_ADD_LAYERNORM:
    case SN_OP_SLICE_FIRST:
    case SN_OP_POOL:
    case SN_OP_L2_NORMALIZE:
    case SN_OP_SOFTMAX:
    case SN_OP_GELU:
    case SN_OP_GELU_TANH:
    case SN_OP_RELU:
    case SN_OP_SILU: /* unfused only outside gated blocks: a head's activation */
    case SN_OP_TANH: return 1;
    default: return 0;
  }
}

const char *sn_ir_op_name(sn_ir_op_t op) {
  return op >= 0 && op < SN_OP_COUNT_ ? op_names[op] : "?";
}

void sn_ir_graph_init(sn_ir_graph_t *g) {
  memset(g, 0, sizeof *g);
}

void sn_ir_graph_deinit(sn_ir_graph_t *g) {
  for (int32_t i = 0; i < g->count; i++) {
    free(g->nodes[i].name);
    free(g->nodes[i].owned);
    free(g->nodes[i].layout);
  }
  free(g->nodes);
  memset(g, 0, sizeof *g);
}

int64_t sn_ir_shape_bind(const sn_ir_shape_t *shape, int64_t b, int64_t s, int64_t *dims) {
  int64_t n = 1;
  for (int i = 0; i < shape->rank; i++) {
    /* Packed graphs bind T (total tokens) through the `s` argument. */
    int64_t d = shape->dims[i] == SN_DIM_B                                 ? b
                : shape->dims[i] == SN_DIM_S || shape->dims[i] == SN_DIM_T ? s
                                                                           : shape->dims[i];
    if (dims) dims[i] = d;
    n *= d;
  }
  return n;
}

static void format_dim(int64_t d, char *buf, size_t cap) {
  if (d == SN_DIM_T) {
    snprintf(buf, cap, "T");
  } else if (d == SN_DIM_B) {
    snprintf(buf, cap, "B");
  } else if (d == SN_DIM_S) {
    snprintf(buf, cap, "S");
  } else {
    snprintf(buf, cap, "%lld", (long long)d);
  }
}

static void format_shape(const sn_ir_shape_t *s, char *buf, size_t cap) {
  size_t n = (size_t)snprintf(buf, cap, "[");
  for (int i = 0; i < s->rank && n < cap; i++) {
    char d[24];
    format_dim(s->dims[i], d, sizeof d);
    n += (size_t)snprintf(buf + n, cap - n, i ? ", %s" : "%s", d);
  }
  if (n < cap) snprintf(buf + n, cap - n, "]");
}

static int same_dims(const int64_t *a, const int64_t *b, int n) {
  for (int i = 0; i < n; i++)
    if (a[i] != b[i]) return 0;
  return 1;
}

/* Symbolic element counts are equal when the constant products and the
 * number of each symbol agree. */
static int same_numel(const sn_ir_shape_t *a, const sn_ir_shape_t *b) {
  int64_t p[2] = {1, 1};
  int sym[2][3] = {{0, 0, 0}, {0, 0, 0}};
  const sn_ir_shape_t *s[2] = {a, b};
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < s[k]->rank; i++) {
      int64_t d = s[k]->dims[i];
      if (d < 0)
        sym[k][-d - 1]++;
      else
        p[k] *= d;
    }
  return p[0] == p[1] && !memcmp(sym[0], sym[1], sizeof sym[0]);
}

/* A relative-bias table for `heads` heads: f32 [heads, 2D + 1], D bounded. */
static int rel_table_ok(const sn_ir_node_t *t, int64_t heads) {
  return t->dtype == SN_IR_F32 && t->shape.rank == 2 && t->shape.dims[0] == heads && heads >= 1 &&
         t->shape.dims[1] >= 1 && t->shape.dims[1] % 2 == 1 &&
         t->shape.dims[1] <= 2 * (int64_t)SN_IR_MAX_REL_DISTANCE + 1;
}

/* DeBERTa-v2's disentangled inputs for `hidden` = heads x head_dim: an index
 * table f32 [2D + 1] (D bounded) and the position keys and queries f32
 * [4 span, hidden]. Every index must be a row of [0, 2 span), in
 * non-decreasing order: the kernels read pos at it, so the check is on the
 * data. */
static int disentangled_ok(const sn_ir_node_t *index, const sn_ir_node_t *pos, int64_t hidden) {
  if (index->op != SN_OP_WEIGHT || pos->op != SN_OP_WEIGHT || index->layout || pos->layout ||
      index->dtype != SN_IR_F32 || index->shape.rank != 1 || index->shape.dims[0] < 1 ||
      index->shape.dims[0] % 2 != 1 ||
      index->shape.dims[0] > 2 * (int64_t)SN_IR_MAX_REL_DISTANCE + 1 || pos->dtype != SN_IR_F32 ||
      pos->shape.rank != 2 || pos->shape.dims[0] < 4 || pos->shape.dims[0] % 4 != 0 ||
      pos->shape.dims[1] != hidden || !index->data)
    return 0;
  const float span2 = (float)(pos->shape.dims[0] / 2);
  for (int64_t x = 0; x < index->shape.dims[0]; x++) {
    float r = index->data[x];
    /* rows of [0, 2 span), never decreasing with the distance (the fused
     * kernel caches a query's terms over the range its keys need) */
    if (!(r >= 0.0f && r < span2) || r != (float)(int64_t)r || (x && r < index->data[x - 1]))
      return 0;
  }
  return 1;
}

/* A rotary table for head size d: f32 [P, d], d even. */
static int rotary_table_ok(const sn_ir_node_t *t, int64_t d) {
  return t->dtype == SN_IR_F32 && t->shape.rank == 2 && t->shape.dims[0] >= 1 && d >= 2 &&
         d % 2 == 0 && d <= SN_IR_MAX_ROTARY_DIM && t->shape.dims[1] == d;
}

/* Infers node n's dtype and shape from its inputs and attributes. On failure
 * writes why into msg and returns -1. */
int sn_ir_infer(const sn_ir_graph_t *g, const sn_ir_node_t *n, sn_ir_dtype_t *dt,
                sn_ir_shape_t *out, char *msg, size_t cap) {
  const sn_ir_node_t *in[SN_IR_MAX_INPUTS] = {0};
  for (int i = 0; i < n->num_inputs; i++) {
    if (n->inputs[i] < 0 || n->inputs[i] >= g->count ||
        (n != NULL && &g->nodes[n->inputs[i]] >= n)) {
      snprintf(msg, cap, "input %d refers to node %d, which is not defined before it", i,
               (int)n->inputs[i]);
      return -1;
    }
    in[i] = &g->nodes[n->inputs[i]];
  }
  const sn_ir_node_t *a = in[0], *b = in[1], *c = in[2];
  /* out may be the node's own shape, which WEIGHT and RESHAPE read. */
  const sn_ir_shape_t declared = n->shape;
  *dt = SN_IR_F32;
  memset(out, 0, sizeof *out);
  if ((n->window || n->causal) && n->op != SN_OP_ATTENTION && n->op != SN_OP_MASKED_SOFTMAX) {
    snprintf(msg, cap, "%s takes no attention window", sn_ir_op_name(n->op));
    return -1;
  }
  if (n->window < 0 || (n->causal != 0 && n->causal != 1)) {
    snprintf(msg, cap, "window %d / causal %d out of range", (int)n->window, (int)n->causal);
    return -1;
  }
  switch (n->op) {
    case SN_OP_INPUT:
      *dt = n->input == SN_INPUT_MASK ? SN_IR_F32 : SN_IR_I32;
      if (g->packed && n->input == SN_INPUT_MASK) {
        snprintf(msg, cap, "a packed graph has no attention mask input");
        return -1;
      }
      *out = g->packed ? (sn_ir_shape_t){1, {SN_DIM_T}} : (sn_ir_shape_t){2, {SN_DIM_B, SN_DIM_S}};
      return 0;
    case SN_OP_WEIGHT:
      *out = declared;
      if (!n->data || declared.rank < 1 || declared.rank > 2) {
        snprintf(msg, cap, "weight without data or with rank %d", declared.rank);
        return -1;
      }
      return 0;
    case SN_OP_ARANGE:
      if (g->packed) {
        snprintf(msg, cap, "a packed graph has no arange (positions are per sequence)");
        return -1;
      }
      *dt = SN_IR_I32;
      *out = (sn_ir_shape_t){1, {SN_DIM_S}};
      return 0;
    case SN_OP_GATHER:
      if (a->dtype != SN_IR_F32 || a->shape.rank != 2 || b->dtype != SN_IR_I32 ||
          b->shape.rank >= SN_IR_MAX_RANK) {
        snprintf(msg, cap, "gather needs an f32 [R, H] table and i32 ids");
        return -1;
      }
      *out = b->shape;
      out->dims[out->rank++] = a->shape.dims[1];
      return 0;
    case SN_OP_ADD: {
      int off = a->shape.rank - b->shape.rank;
      if (a->dtype != SN_IR_F32 || b->dtype != SN_IR_F32 || off < 0 ||
          !same_dims(a->shape.dims + off, b->shape.dims, b->shape.rank)) {
        snprintf(msg, cap, "add needs f32 operands with b's dims equal to a's trailing dims");
        return -1;
      }
      *out = a->shape;
      return 0;
    }
    case SN_OP_DROPOUT:
    case SN_OP_MUL_SCALAR:
    case SN_OP_GELU:
    case SN_OP_GELU_TANH:
    case SN_OP_RELU:
    case SN_OP_TANH:
    case SN_OP_L2_NORMALIZE:
    case SN_OP_SOFTMAX:
      if (a->dtype != SN_IR_F32) {
        snprintf(msg, cap, "%s needs an f32 operand", sn_ir_op_name(n->op));
        return -1;
      }
      *out = a->shape;
      return 0;
    case SN_OP_MATMUL: {
      int ra = a->shape.rank, rb = b->shape.rank;
      if (a->dtype != SN_IR_F32 || b->dtype != SN_IR_F32 || ra < 2 || (rb != 2 && rb != ra) ||
          (rb == ra && !same_dims(a->shape.dims, b->shape.dims, ra - 2))) {
        snprintf(msg, cap, "matmul needs a [..., M, K] and b [K, N] or with a's batch dims");
        return -1;
      }
      int64_t k = a->shape.dims[ra - 1];
      int64_t bk = b->shape.dims[rb - (n->trans_b ? 1 : 2)];
      int64_t bn = b->shape.dims[rb - (n->trans_b ? 2 : 1)];
      if (k != bk) {
        char ka[24], kb[24];
        format_dim(k, ka, sizeof ka);
        format_dim(bk, kb, sizeof kb);
        snprintf(msg, cap, "matmul inner dimensions differ: %s vs %s", ka, kb);
        return -1;
      }
      *out = a->shape;
      out->dims[ra - 1] = bn;
      return 0;
    }
    case SN_OP_RESHAPE:
      *dt = a->dtype;
      *out = declared;
      if (!same_numel(&a->shape, &declared)) {
        snprintf(msg, cap, "reshape changes the number of elements");
        return -1;
      }
      return 0;
    case SN_OP_TRANSPOSE: {
      int seen = 0;
      *dt = a->dtype;
      out->rank = a->shape.rank;
      for (int i = 0; i < a->shape.rank; i++) {
        int p = n->perm[i];
        if (p < 0 || p >= a->shape.rank || (seen & (1 << p))) {
          snprintf(msg, cap, "transpose perm is not a permutation of %d dims", a->shape.rank);
          return -1;
        }
        seen |= 1 << p;
        out->dims[i] = a->shape.dims[p];
      }
      return 0;
    }
    case SN_OP_MASKED_SOFTMAX:
      if (a->shape.rank != 4 || b->shape.rank != 2 || b->dtype != SN_IR_F32 ||
          a->shape.dims[0] != b->shape.dims[0] || a->shape.dims[3] != b->shape.dims[1]) {
        snprintf(msg, cap, "masked_softmax needs scores [B, h, S, S] and an f32 mask [B, S]");
        return -1;
      }
      *out = a->shape;
      return 0;
    case SN_OP_LAYERNORM: {
      int64_t h = a->shape.dims[a->shape.rank - 1];
      if (a->dtype != SN_IR_F32 || b->shape.rank != 1 || c->shape.rank != 1 ||
          b->shape.dims[0] != h || c->shape.dims[0] != h) {
        snprintf(msg, cap, "layernorm needs gamma and beta of the last dim's size");
        return -1;
      }
      *out = a->shape;
      return 0;
    }
    case SN_OP_SLICE_FIRST:
    case SN_OP_POOL:
      if (g->packed) {
        if (a->shape.rank != 2 || a->shape.dims[0] != SN_DIM_T || n->num_inputs != 1) {
          snprintf(msg, cap, "%s needs packed rows [T, H]", sn_ir_op_name(n->op));
          return -1;
        }
        *out = (sn_ir_shape_t){2, {SN_DIM_B, a->shape.dims[1]}};
        return 0;
      }
      if (a->shape.rank != 3 ||
          (n->op == SN_OP_POOL &&
           (n->num_inputs != 2 || b->shape.rank != 2 || b->dtype != SN_IR_F32 ||
            !same_dims(a->shape.dims, b->shape.dims, 2)))) {
        snprintf(msg, cap, "%s needs x [B, S, H]%s", sn_ir_op_name(n->op),
                 n->op == SN_OP_POOL ? " and an f32 mask [B, S]" : "");
        return -1;
      }
      *out = (sn_ir_shape_t){2, {a->shape.dims[0], a->shape.dims[2]}};
      return 0;
    case SN_OP_SLICE_COLS: {
      int64_t last = a->shape.dims[a->shape.rank - 1];
      if (a->dtype != SN_IR_F32 || last < 0 || n->begin < 0 || n->begin >= n->end ||
          n->end > last) {
        snprintf(msg, cap, "slice_cols [%lld, %lld) is outside the last dim", (long long)n->begin,
                 (long long)n->end);
        return -1;
      }
      *out = a->shape;
      out->dims[out->rank - 1] = n->end - n->begin;
      return 0;
    }
    case SN_OP_LINEAR: {
      int64_t k = a->shape.dims[a->shape.rank - 1];
      if (a->dtype != SN_IR_F32 || b->op != SN_OP_WEIGHT || b->shape.rank != 2 ||
          b->shape.dims[1] != k || c->shape.rank != 1 || c->shape.dims[0] != b->shape.dims[0]) {
        snprintf(msg, cap, "linear needs x [.., K], a weight [N, K] and a bias [N]");
        return -1;
      }
      if (n->pool != SINTER_POOL_DEFAULT) { /* SPLADE over the linear's rows */
        if (n->pool != SINTER_POOL_SPLADE || !g->packed || a->shape.rank != 2 ||
            a->shape.dims[0] != SN_DIM_T || n->num_inputs != 3 || n->act != SN_ACT_NONE) {
          snprintf(msg, cap,
                   "a pooled linear is splade only, over packed rows [T, K], with no activation "
                   "or residual");
          return -1;
        }
        *out = (sn_ir_shape_t){2, {SN_DIM_B, b->shape.dims[0]}};
        return 0;
      }
      *out = a->shape;
      out->dims[out->rank - 1] = b->shape.dims[0];
      if (n->num_inputs == 4) {
        const sn_ir_node_t *r = in[3];
        if (r->shape.rank != out->rank || !same_dims(r->shape.dims, out->dims, out->rank)) {
          snprintf(msg, cap, "linear residual must have the output's shape");
          return -1;
        }
      }
      return 0;
    }
    case SN_OP_REL_BIAS:
      if (a->dtype != SN_IR_F32 || a->shape.rank != 4 || !rel_table_ok(b, a->shape.dims[1])) {
        snprintf(msg, cap, "rel_bias needs f32 scores [B, h, S, S] and a table [h, 2D + 1]");
        return -1;
      }
      *out = a->shape;
      return 0;
    case SN_OP_DISENTANGLED_BIAS:
      if (a->dtype != SN_IR_F32 || a->shape.rank != 4 || b->shape.rank != 4 || c->shape.rank != 4 ||
          b->dtype != SN_IR_F32 || c->dtype != SN_IR_F32 ||
          !same_dims(b->shape.dims, c->shape.dims, 4) ||
          !same_dims(a->shape.dims, b->shape.dims, 3) || a->shape.dims[3] != a->shape.dims[2] ||
          !disentangled_ok(in[3], in[4], b->shape.dims[1] * b->shape.dims[3])) {
        snprintf(msg, cap,
                 "disentangled_bias needs scores [B, h, S, S], q and k [B, h, S, d], an index "
                 "table [2D + 1] of rows in [0, 2 span) and positions [4 span, h d]");
        return -1;
      }
      *out = a->shape;
      return 0;
    case SN_OP_ROTARY:
      if (a->dtype != SN_IR_F32 || a->shape.rank != 4 || !rotary_table_ok(b, a->shape.dims[3])) {
        snprintf(msg, cap, "rotary needs f32 x [B, h, S, d] and a table [P, d], d even");
        return -1;
      }
      *out = a->shape;
      return 0;
    case SN_OP_MUL:
      if (a->dtype != SN_IR_F32 || b->dtype != SN_IR_F32 || a->shape.rank != b->shape.rank ||
          !same_dims(a->shape.dims, b->shape.dims, a->shape.rank)) {
        snprintf(msg, cap, "mul needs two f32 operands of one shape");
        return -1;
      }
      *out = a->shape;
      return 0;
    case SN_OP_ROTARY_QK: {
      int r = a->shape.rank;
      int64_t kv = n->kv_heads ? n->kv_heads : n->heads;
      int norms = n->num_inputs == 4;
      if (a->dtype != SN_IR_F32 || n->heads < 1 || n->head_dim < 2 || r < 2 || kv < 1 ||
          n->heads % kv != 0 || a->shape.dims[r - 1] != (n->heads + 2 * kv) * n->head_dim ||
          !rotary_table_ok(b, n->head_dim) || (g->packed ? r != 2 : r != 3) ||
          (n->num_inputs != 2 && !norms) ||
          (norms && (c->shape.rank != 1 || c->shape.dims[0] != n->head_dim ||
                     in[3]->shape.rank != 1 || in[3]->shape.dims[0] != n->head_dim))) {
        snprintf(msg, cap,
                 "rotary_qk needs qkv [.., (heads + 2 kv_heads) x head_dim], a table [P, d] "
                 "and, for q/k norms, two gammas [d]");
        return -1;
      }
      *out = a->shape;
      return 0;
    }
    case SN_OP_SILU:
      if (a->dtype != SN_IR_F32) {
        snprintf(msg, cap, "silu needs an f32 operand");
        return -1;
      }
      *out = a->shape;
      return 0;
    case SN_OP_RMSNORM:
      if (a->dtype != SN_IR_F32 || b->shape.rank != 1 ||
          b->shape.dims[0] != a->shape.dims[a->shape.rank - 1]) {
        snprintf(msg, cap, "rmsnorm needs x and a gamma of the last dim's size");
        return -1;
      }
      if (n->num_inputs == 3 && (in[2]->dtype != SN_IR_F32 || in[2]->shape.rank != a->shape.rank ||
                                 !same_dims(in[2]->shape.dims, a->shape.dims, a->shape.rank))) {
        snprintf(msg, cap, "rmsnorm's residual must have x's shape");
        return -1;
      }
      *out = a->shape;
      return 0;
    case SN_OP_REPEAT_HEADS:
      if (a->dtype != SN_IR_F32 || a->shape.rank != 4 || n->heads < 1 || a->shape.dims[1] < 1 ||
          n->heads % a->shape.dims[1] != 0) {
        snprintf(msg, cap, "repeat_heads needs x [B, kv, S, d] with kv dividing heads");
        return -1;
      }
      *out = a->shape;
      out->dims[1] = n->heads;
      return 0;
    case SN_OP_GLU: {
      int64_t last = a->shape.dims[a->shape.rank - 1];
      if (a->dtype != SN_IR_F32 || last < 2 || last % 2 != 0 || n->act <= SN_ACT_NONE ||
          n->act > SN_ACT_SILU) {
        snprintf(msg, cap, "glu needs f32 x [.., 2I] and an activation");
        return -1;
      }
      *out = a->shape;
      out->dims[out->rank - 1] = last / 2;
      return 0;
    }
    case SN_OP_ATTENTION: {
      int64_t hidden = (int64_t)n->heads * n->head_dim;
      int64_t kv = n->kv_heads ? n->kv_heads : n->heads;
      int r = a->shape.rank;
      /* The bias table, or DeBERTa-v2's index table and positions, follow
       * qkv when packed, qkv and the mask when not. */
      int fixed = g->packed ? 1 : 2;
      const sn_ir_node_t *table = n->num_inputs == fixed + 1 ? in[fixed] : NULL;
      int disentangled = n->num_inputs == fixed + 2;
      if (n->heads < 1 || n->head_dim < 1 || kv < 1 || n->heads % kv != 0 ||
          a->shape.dims[r - 1] != hidden + 2 * kv * n->head_dim ||
          (n->num_inputs != fixed && !table && !disentangled) ||
          (table && !rel_table_ok(table, n->heads)) ||
          (disentangled && (kv != n->heads || n->window || n->causal ||
                            !disentangled_ok(in[fixed], in[fixed + 1], hidden))) ||
          (g->packed
               ? r != 2
               : (r != 3 || b->shape.rank != 2 || !same_dims(a->shape.dims, b->shape.dims, 2)))) {
        snprintf(msg, cap, "attention needs qkv [.., (heads + 2 kv_heads) x head_dim]%s%s",
                 g->packed ? " rows" : " [B, S, 3H] and a mask [B, S]",
                 table ? " and a bias table [heads, 2D + 1]" : "");
        return -1;
      }
      *out = a->shape;
      out->dims[r - 1] = hidden;
      return 0;
    }
    case SN_OP_ADD_LAYERNORM: {
      int64_t h = a->shape.dims[a->shape.rank - 1];
      if (a->dtype != SN_IR_F32 || b->shape.rank != 1 || c->shape.rank != 1 ||
          b->shape.dims[0] != h || c->shape.dims[0] != h ||
          (n->num_inputs == 4 && (in[3]->shape.rank != a->shape.rank ||
                                  !same_dims(in[3]->shape.dims, a->shape.dims, a->shape.rank)))) {
        snprintf(msg, cap, "add_layernorm needs x, gamma [H], beta [H] and a residual like x");
        return -1;
      }
      *out = a->shape;
      return 0;
    }
    case SN_OP_EMBED_LN: {
      /* ids, word [V, H], pos [P, H], gamma [H], beta [H], type_ids?, type table?; or
       * ids, word, gamma, beta (no position table: rotary models) */
      int has_pos = n->num_inputs != 4;
      const sn_ir_node_t *word = b, *pos = has_pos ? c : NULL;
      const sn_ir_node_t *gamma = in[has_pos ? 3 : 2], *beta = in[has_pos ? 4 : 3];
      int64_t h = word->shape.dims[1];
      int has_types = n->num_inputs == 7;
      if (a->dtype != SN_IR_I32 || word->shape.rank != 2 ||
          (pos && (pos->shape.rank != 2 || pos->shape.dims[1] != h)) || gamma->shape.rank != 1 ||
          beta->shape.rank != 1 || gamma->shape.dims[0] != h || beta->shape.dims[0] != h ||
          (n->num_inputs == 6) ||
          (has_types &&
           (in[5]->dtype != SN_IR_I32 || in[6]->shape.rank != 2 || in[6]->shape.dims[1] != h))) {
        snprintf(msg, cap, "embed_layernorm needs ids, tables [.., H], gamma and beta [H]");
        return -1;
      }
      *out = a->shape;
      out->dims[out->rank++] = h;
      return 0;
    }
    case SN_OP_COUNT_: break;
  }
  snprintf(msg, cap, "unknown op %d", (int)n->op);
  return -1;
}

/* Whether an op may take n inputs (some take optional ones). */
static int inputs_ok(sn_ir_op_t op, int n) {
  switch (op) {
    case SN_OP_INPUT:
    case SN_OP_WEIGHT:
    case SN_OP_ARANGE: return n == 0;
    case SN_OP_GATHER:
    case SN_OP_ADD:
    case SN_OP_MATMUL:
    case SN_OP_MASKED_SOFTMAX:
    case SN_OP_REL_BIAS:
    case SN_OP_ROTARY:
    case SN_OP_MUL: return n == 2;
    case SN_OP_RMSNORM: return n == 2 || n == 3; /* x, gamma, residual added after */
    case SN_OP_DISENTANGLED_BIAS: return n == 5;
    case SN_OP_ROTARY_QK: return n == 2 || n == 4;
    case SN_OP_POOL: return n == 1 || n == 2;
    case SN_OP_ATTENTION: return n >= 1 && n <= 4;
    case SN_OP_LAYERNORM: return n == 3;
    case SN_OP_LINEAR:
    case SN_OP_ADD_LAYERNORM: return n == 3 || n == 4;
    case SN_OP_EMBED_LN: return n == 4 || n == 5 || n == 7;
    default: return n == 1;
  }
}

static void fail(sn_ir_graph_t *g, sinter_status_t st, const char *fmt, ...) SN_PRINTF(3, 4);

static void fail(sn_ir_graph_t *g, sinter_status_t st, const char *fmt, ...) {
  if (g->build_status != SINTER_OK) return;
  g->build_status = st;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g->build_error, sizeof g->build_error, fmt, ap);
  va_end(ap);
}

/* Appends `node` after inferring its shape; returns its id or -1. */
static void free_node(sn_ir_node_t *n) {
  free(n->name);
  free(n->owned);
  free(n->layout);
  n->name = NULL;
  n->owned = NULL;
  n->layout = NULL;
}

static int32_t add_node(sn_ir_graph_t *g, sn_ir_node_t node) {
  if (g->build_status != SINTER_OK) {
    free_node(&node);
    return -1;
  }
  for (int i = 0; i < node.num_inputs; i++) {
    if (node.inputs[i] < 0) {
      free_node(&node);
      fail(g, SINTER_ERR_INTERNAL, "%s: operand %d is invalid", sn_ir_op_name(node.op), i);
      return -1;
    }
  }
  if (g->count == g->cap) {
    int32_t cap = g->cap ? g->cap * 2 : 256;
    sn_ir_node_t *p = realloc(g->nodes, (size_t)cap * sizeof *p);
    if (!p) {
      free_node(&node);
      fail(g, SINTER_ERR_OUT_OF_MEMORY, "graph nodes");
      return -1;
    }
    g->nodes = p;
    g->cap = cap;
  }
  g->nodes[g->count] = node;
  sn_ir_node_t *n = &g->nodes[g->count];
  char msg[256];
  if (sn_ir_infer(g, n, &n->dtype, &n->shape, msg, sizeof msg) != 0) {
    free_node(n);
    fail(g, SINTER_ERR_INTERNAL, "node %%%d (%s): %s", (int)g->count, sn_ir_op_name(n->op), msg);
    return -1;
  }
  return g->count++;
}

static sn_ir_node_t make(sn_ir_op_t op, int num_inputs, int32_t a, int32_t b, int32_t c) {
  sn_ir_node_t n;
  memset(&n, 0, sizeof n);
  n.op = op;
  n.num_inputs = num_inputs;
  n.inputs[0] = a;
  n.inputs[1] = b;
  n.inputs[2] = c;
  return n;
}

int32_t sn_ir_append(sn_ir_graph_t *g, const sn_ir_node_t *node) {
  return add_node(g, *node);
}

int32_t sn_ir_input(sn_ir_graph_t *g, sn_ir_input_t which) {
  sn_ir_node_t n = make(SN_OP_INPUT, 0, 0, 0, 0);
  n.input = which;
  return add_node(g, n);
}

int32_t sn_ir_weight(sn_ir_graph_t *g, const char *name, const float *data, int rank,
                     const int64_t *dims) {
  sn_ir_node_t n = make(SN_OP_WEIGHT, 0, 0, 0, 0);
  if (rank < 1 || rank > 2) {
    fail(g, SINTER_ERR_INTERNAL, "weight %s has rank %d", name, rank);
    return -1;
  }
  n.data = data;
  n.shape.rank = rank;
  memcpy(n.shape.dims, dims, (size_t)rank * sizeof *dims);
  if (!(n.name = strdup(name))) {
    fail(g, SINTER_ERR_OUT_OF_MEMORY, "weight name");
    return -1;
  }
  return add_node(g, n);
}

int32_t sn_ir_unary(sn_ir_graph_t *g, sn_ir_op_t op, int32_t x) {
  return add_node(g, make(op, 1, x, 0, 0));
}

int32_t sn_ir_binary(sn_ir_graph_t *g, sn_ir_op_t op, int32_t a, int32_t b) {
  return add_node(g, make(op, 2, a, b, 0));
}

int32_t sn_ir_arange(sn_ir_graph_t *g) {
  return add_node(g, make(SN_OP_ARANGE, 0, 0, 0, 0));
}

int32_t sn_ir_mul_scalar(sn_ir_graph_t *g, int32_t x, float scale) {
  sn_ir_node_t n = make(SN_OP_MUL_SCALAR, 1, x, 0, 0);
  n.scale = scale;
  return add_node(g, n);
}

int32_t sn_ir_matmul(sn_ir_graph_t *g, int32_t a, int32_t b, int trans_b) {
  sn_ir_node_t n = make(SN_OP_MATMUL, 2, a, b, 0);
  n.trans_b = trans_b;
  return add_node(g, n);
}

int32_t sn_ir_reshape(sn_ir_graph_t *g, int32_t x, int rank, const int64_t *dims) {
  sn_ir_node_t n = make(SN_OP_RESHAPE, 1, x, 0, 0);
  if (rank < 1 || rank > SN_IR_MAX_RANK) {
    fail(g, SINTER_ERR_INTERNAL, "reshape to rank %d", rank);
    return -1;
  }
  n.shape.rank = rank;
  memcpy(n.shape.dims, dims, (size_t)rank * sizeof *dims);
  return add_node(g, n);
}

int32_t sn_ir_transpose(sn_ir_graph_t *g, int32_t x, const int *perm) {
  sn_ir_node_t n = make(SN_OP_TRANSPOSE, 1, x, 0, 0);
  int rank = x >= 0 && x < g->count ? g->nodes[x].shape.rank : 0;
  memcpy(n.perm, perm, (size_t)rank * sizeof *perm);
  return add_node(g, n);
}

int32_t sn_ir_masked_softmax(sn_ir_graph_t *g, int32_t scores, int32_t mask, float scale) {
  sn_ir_node_t n = make(SN_OP_MASKED_SOFTMAX, 2, scores, mask, 0);
  n.scale = scale;
  return add_node(g, n);
}

int32_t sn_ir_masked_softmax_windowed(sn_ir_graph_t *g, int32_t scores, int32_t mask, float scale,
                                      int32_t window, int32_t causal) {
  sn_ir_node_t n = make(SN_OP_MASKED_SOFTMAX, 2, scores, mask, 0);
  n.scale = scale;
  n.window = window;
  n.causal = causal;
  return add_node(g, n);
}

int32_t sn_ir_slice_cols(sn_ir_graph_t *g, int32_t x, int64_t begin, int64_t end) {
  sn_ir_node_t n = make(SN_OP_SLICE_COLS, 1, x, 0, 0);
  n.begin = begin;
  n.end = end;
  return add_node(g, n);
}

int32_t sn_ir_rmsnorm(sn_ir_graph_t *g, int32_t x, int32_t gamma, float eps) {
  sn_ir_node_t n = make(SN_OP_RMSNORM, 2, x, gamma, 0);
  n.eps = eps;
  return add_node(g, n);
}

int32_t sn_ir_repeat_heads(sn_ir_graph_t *g, int32_t x, int32_t heads) {
  sn_ir_node_t n = make(SN_OP_REPEAT_HEADS, 1, x, 0, 0);
  n.heads = heads;
  return add_node(g, n);
}

int32_t sn_ir_rotary(sn_ir_graph_t *g, int32_t x, int32_t table) {
  return add_node(g, make(SN_OP_ROTARY, 2, x, table, 0));
}

int32_t sn_ir_rel_bias(sn_ir_graph_t *g, int32_t scores, int32_t table, float scale) {
  sn_ir_node_t n = make(SN_OP_REL_BIAS, 2, scores, table, 0);
  n.scale = scale;
  return add_node(g, n);
}

int32_t sn_ir_disentangled_bias(sn_ir_graph_t *g, int32_t scores, int32_t q, int32_t k,
                                int32_t index, int32_t pos, float scale) {
  sn_ir_node_t n = make(SN_OP_DISENTANGLED_BIAS, 3, scores, q, k);
  n.num_inputs = 5;
  n.inputs[3] = index;
  n.inputs[4] = pos;
  n.scale = scale;
  return add_node(g, n);
}

int32_t sn_ir_layernorm(sn_ir_graph_t *g, int32_t x, int32_t gamma, int32_t beta, float eps) {
  sn_ir_node_t n = make(SN_OP_LAYERNORM, 3, x, gamma, beta);
  n.eps = eps;
  return add_node(g, n);
}

int32_t sn_ir_pool(sn_ir_graph_t *g, int32_t x, int32_t mask, sinter_pooling_t mode) {
  sn_ir_node_t n = make(SN_OP_POOL, 2, x, mask, 0);
  n.pool = mode;
  return add_node(g, n);
}

void sn_ir_mark_output(sn_ir_graph_t *g, const char *name, int32_t id) {
  if (g->build_status != SINTER_OK) return;
  if (id < 0 || id >= g->count || g->num_outputs == SN_IR_MAX_OUTPUTS) {
    fail(g, SINTER_ERR_INTERNAL, "cannot mark output %s", name);
    return;
  }
  sn_ir_output_t *o = &g->outputs[g->num_outputs++];
  snprintf(o->name, sizeof o->name, "%s", name);
  o->node = id;
}

int32_t sn_ir_find_output(const sn_ir_graph_t *g, const char *name) {
  for (int i = 0; i < g->num_outputs; i++)
    if (!strcmp(g->outputs[i].name, name)) return g->outputs[i].node;
  return -1;
}

sinter_status_t sn_ir_verify(const sn_ir_graph_t *g, sinter_error_t *err) {
  for (int32_t i = 0; i < g->count; i++) {
    const sn_ir_node_t *n = &g->nodes[i];
    if (n->op < 0 || n->op >= SN_OP_COUNT_)
      return sn_error_set(err, SINTER_ERR_INTERNAL, "verifier: node %%%d has unknown op %d", (int)i,
                          (int)n->op);
    if (!inputs_ok(n->op, n->num_inputs))
      return sn_error_set(err, SINTER_ERR_INTERNAL, "verifier: node %%%d (%s) has %d inputs",
                          (int)i, sn_ir_op_name(n->op), n->num_inputs);
    sn_ir_dtype_t dt;
    sn_ir_shape_t shape;
    char msg[256];
    if (sn_ir_infer(g, n, &dt, &shape, msg, sizeof msg) != 0)
      return sn_error_set(err, SINTER_ERR_INTERNAL, "verifier: node %%%d (%s): %s", (int)i,
                          sn_ir_op_name(n->op), msg);
    if (dt != n->dtype || shape.rank != n->shape.rank ||
        !same_dims(shape.dims, n->shape.dims, shape.rank)) {
      char want[96], have[96];
      format_shape(&shape, want, sizeof want);
      format_shape(&n->shape, have, sizeof have);
      return sn_error_set(err, SINTER_ERR_INTERNAL,
                          "verifier: node %%%d (%s) records shape %s but its inputs give %s",
                          (int)i, sn_ir_op_name(n->op), have, want);
    }
  }
  for (int i = 0; i < g->num_outputs; i++)
    if (g->outputs[i].node < 0 || g->outputs[i].node >= g->count)
      return sn_error_set(err, SINTER_ERR_INTERNAL, "verifier: output %s is undefined",
                          g->outputs[i].name);
  return SINTER_OK;
}

sinter_status_t sn_ir_graph_finish(sn_ir_graph_t *g, sinter_error_t *err) {
  if (g->build_status != SINTER_OK)
    return sn_error_set(err, g->build_status, "graph builder: %s", g->build_error);
  return sn_ir_verify(g, err);
}

void sn_ir_print(const sn_ir_graph_t *g, FILE *out) {
  for (int32_t i = 0; i < g->count; i++) {
    const sn_ir_node_t *n = &g->nodes[i];
    char shape[96];
    format_shape(&n->shape, shape, sizeof shape);
    fprintf(out, "%%%d = %s", (int)i, sn_ir_op_name(n->op));
    for (int k = 0; k < n->num_inputs; k++)
      fprintf(out, "%s%%%d", k ? ", " : " ", (int)n->inputs[k]);
    switch (n->op) {
      case SN_OP_INPUT:
        fprintf(out, " %s",
                n->input == SN_INPUT_IDS        ? "input_ids"
                : n->input == SN_INPUT_TYPE_IDS ? "token_type_ids"
                                                : "attention_mask");
        break;
      case SN_OP_WEIGHT: fprintf(out, " \"%s\"%s", n->name, n->layout ? " packed" : ""); break;
      case SN_OP_MUL_SCALAR:
      case SN_OP_MASKED_SOFTMAX: fprintf(out, " scale=%g", (double)n->scale); break;
      case SN_OP_MATMUL:
        if (n->trans_b) fprintf(out, " trans_b");
        break;
      case SN_OP_TRANSPOSE:
        fprintf(out, " perm=[");
        for (int k = 0; k < n->shape.rank; k++) fprintf(out, k ? ",%d" : "%d", n->perm[k]);
        fprintf(out, "]");
        break;
      case SN_OP_LAYERNORM: fprintf(out, " eps=%g", (double)n->eps); break;
      case SN_OP_POOL: fprintf(out, " mode=%s", sn_pooling_name(n->pool)); break;
      case SN_OP_SLICE_COLS:
        fprintf(out, " [%lld:%lld]", (long long)n->begin, (long long)n->end);
        break;
      case SN_OP_LINEAR: {
        static const char *acts[] = {"", " act=gelu", " act=gelu_tanh", " act=relu", " act=tanh"};
        fprintf(out, "%s%s%s", acts[n->act], n->num_inputs == 4 ? " +residual" : "",
                n->int8 ? " int8" : "");
        if (n->pool) fprintf(out, " pool=%s", sn_pooling_name(n->pool));
        break;
      }
      case SN_OP_ATTENTION:
        fprintf(out, " heads=%d head_dim=%d scale=%g%s", (int)n->heads, (int)n->head_dim,
                (double)n->scale,
                n->num_inputs == (g->packed ? 2 : 3)   ? " +bias"
                : n->num_inputs == (g->packed ? 3 : 4) ? " +disentangled"
                                                       : "");
        break;
      default: break;
    }
    if (n->window) fprintf(out, " window=%d", (int)n->window);
    if (n->kv_heads) fprintf(out, " kv_heads=%d", (int)n->kv_heads);
    if (n->causal) fprintf(out, " causal");
    switch (n->op) {
      case SN_OP_REL_BIAS:
      case SN_OP_DISENTANGLED_BIAS: fprintf(out, " scale=%g", (double)n->scale); break;
      case SN_OP_RMSNORM: fprintf(out, " eps=%g", (double)n->eps); break;
      case SN_OP_REPEAT_HEADS: fprintf(out, " heads=%d", (int)n->heads); break;
      case SN_OP_ROTARY_QK:
        fprintf(out, " heads=%d head_dim=%d", (int)n->heads, (int)n->head_dim);
        break;
      case SN_OP_GLU: {
        static const char *acts[] = {"none", "gelu", "gelu_tanh", "relu", "tanh", "silu"};
        fprintf(out, " act=%s", acts[n->act]);
        break;
      }
      case SN_OP_ADD_LAYERNORM:
      case SN_OP_EMBED_LN: fprintf(out, " eps=%g", (double)n->eps); break;
      default: break;
    }
    fprintf(out, " : %s%s\n", n->dtype == SN_IR_F32 ? "f32" : "i32", shape);
  }
  for (int i = 0; i < g->num_outputs; i++)
    fprintf(out, "output %s = %%%d\n", g->outputs[i].name, (int)g->outputs[i].node);
}
