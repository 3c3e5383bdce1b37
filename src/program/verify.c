/* verify.c — the checks that make a decoded plan safe to run. */
#include "program/program.h"

/* The plan's embedding tables must agree with the config the session uses
 * to validate token ids, or a bad id could read outside a table. */
static sinter_status_t check_against_config(const sn_ir_graph_t *g, const sn_config_t *c,
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

sinter_status_t sn_program_verify(const sn_ir_graph_t *g, const sn_config_t *c, const char *label,
                                  sinter_error_t *err) {
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
  return check_against_config(g, c, label, err);
}
