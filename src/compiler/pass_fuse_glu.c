/* pass_fuse_glu.c — a gated linear unit becomes one op (GeGLU, SwiGLU).
 *
 * Matches what the builder (and a tracer, for `input, gate = x.chunk(2, -1);
 * act(input) * gate`) produce:
 *   mul(act(slice_cols(x, 0, I)), slice_cols(x, I, 2I))
 * with x [.., 2I] and act one of the activations, and replaces it with
 * glu(x): one pass over x's rows instead of two slices, an activation and a
 * product, each with its own buffer. */
#include "compiler/compiler.h"

/* The activation ops a GLU may apply, as the LINEAR/GLU attribute. */
static sn_activation_t activation_of(sn_ir_op_t op) {
  switch (op) {
    case SN_OP_GELU: return SN_ACT_GELU;
    case SN_OP_GELU_TANH: return SN_ACT_GELU_TANH;
    case SN_OP_RELU: return SN_ACT_RELU;
    case SN_OP_TANH: return SN_ACT_TANH;
    case SN_OP_SILU: return SN_ACT_SILU;
    default: return SN_ACT_NONE;
  }
}

/* If x is slice_cols(src, begin, begin + width) returns src, else -1. */
static int32_t slice_of(const sn_ir_graph_t *g, int32_t x, int64_t begin, int64_t width) {
  const sn_ir_node_t *n = &g->nodes[x];
  if (n->op != SN_OP_SLICE_COLS || n->begin != begin || n->end != begin + width) return -1;
  return n->inputs[0];
}

sinter_status_t sn_pass_fuse_glu(sn_ir_graph_t *g, const sn_compile_options_t *opts,
                                 sn_pass_report_t *report, sinter_error_t *err) {
  (void)opts;
  for (int32_t i = 0; i < g->count; i++) {
    sn_ir_node_t *mul = &g->nodes[i];
    if (mul->op != SN_OP_MUL) continue;
    const sn_ir_node_t *act = &g->nodes[mul->inputs[0]];
    sn_activation_t a = activation_of(act->op);
    int64_t inner = mul->shape.dims[mul->shape.rank - 1];
    if (a == SN_ACT_NONE) continue;
    int32_t src = slice_of(g, act->inputs[0], 0, inner);
    if (src < 0 || slice_of(g, mul->inputs[1], inner, inner) != src ||
        g->nodes[src].shape.dims[g->nodes[src].shape.rank - 1] != 2 * inner)
      continue;
    mul->op = SN_OP_GLU;
    mul->num_inputs = 1;
    mul->inputs[0] = src;
    mul->inputs[1] = 0;
    mul->act = a;
    report->rewrites++;
  }
  return sn_compiler_compact(g, err);
}
