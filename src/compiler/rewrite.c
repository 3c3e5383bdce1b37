/* rewrite.c — graph surgery shared by the passes: use counts, rewiring,
 * compaction (dead-node removal + topological renumbering). */
#include <stdlib.h>
#include <string.h>

#include "compiler/compiler.h"

int32_t *sn_compiler_use_counts(const sn_ir_graph_t *g) {
  int32_t *uses = calloc((size_t)g->count + 1, sizeof *uses);
  if (!uses) return NULL;
  for (int32_t i = 0; i < g->count; i++)
    for (int k = 0; k < g->nodes[i].num_inputs; k++) uses[g->nodes[i].inputs[k]]++;
  for (int k = 0; k < g->num_outputs; k++) uses[g->outputs[k].node]++;
  return uses;
}

void sn_compiler_replace_uses(sn_ir_graph_t *g, int32_t from, int32_t to) {
  for (int32_t i = 0; i < g->count; i++)
    for (int k = 0; k < g->nodes[i].num_inputs; k++)
      if (g->nodes[i].inputs[k] == from) g->nodes[i].inputs[k] = to;
  for (int k = 0; k < g->num_outputs; k++)
    if (g->outputs[k].node == from) g->outputs[k].node = to;
}

/* Post-order DFS from `root` appends each node after its inputs. Iterative,
 * so deep models cannot overflow the stack. state: 0 new, 1 open, 2 done. */
static int visit(const sn_ir_graph_t *g, int32_t root, unsigned char *state, int32_t *order,
                 int32_t *n_order, int32_t *stack, int32_t *next_input) {
  int32_t top = 0;
  if (state[root] == 2) return 0;
  stack[top++] = root;
  state[root] = 1;
  next_input[root] = 0;
  while (top > 0) {
    int32_t v = stack[top - 1];
    const sn_ir_node_t *n = &g->nodes[v];
    if (next_input[v] < n->num_inputs) {
      int32_t u = n->inputs[next_input[v]++];
      if (u < 0 || u >= g->count) return -1;
      if (state[u] == 1) return -1; /* a cycle: a pass bug */
      if (state[u] == 0) {
        state[u] = 1;
        next_input[u] = 0;
        stack[top++] = u;
      }
      continue;
    }
    state[v] = 2;
    order[(*n_order)++] = v;
    top--;
  }
  return 0;
}

sinter_status_t sn_compiler_compact(sn_ir_graph_t *g, sinter_error_t *err) {
  size_t n = (size_t)g->count;
  unsigned char *state = calloc(n + 1, 1);
  int32_t *order = malloc((n + 1) * sizeof *order), *remap = malloc((n + 1) * sizeof *remap);
  int32_t *stack = malloc((n + 1) * sizeof *stack), *next = malloc((n + 1) * sizeof *next);
  sn_ir_node_t *nodes = malloc((n + 1) * sizeof *nodes);
  sinter_status_t st = SINTER_OK;
  int32_t n_order = 0;
  if (!state || !order || !remap || !stack || !next || !nodes) {
    st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "compiler: compaction");
    goto done;
  }
  /* Roots in output order keep the result close to the builder's order. */
  for (int k = 0; k < g->num_outputs; k++) {
    if (visit(g, g->outputs[k].node, state, order, &n_order, stack, next) != 0) {
      st = sn_error_set(err, SINTER_ERR_INTERNAL, "compiler: graph has a cycle or a bad input");
      goto done;
    }
  }
  for (size_t i = 0; i < n; i++) remap[i] = -1;
  for (int32_t i = 0; i < n_order; i++) remap[order[i]] = i;
  for (int32_t i = 0; i < n_order; i++) {
    nodes[i] = g->nodes[order[i]];
    for (int k = 0; k < nodes[i].num_inputs; k++) nodes[i].inputs[k] = remap[nodes[i].inputs[k]];
  }
  for (size_t i = 0; i < n; i++) {
    if (remap[i] >= 0) continue;
    free(g->nodes[i].name);
    free(g->nodes[i].owned);
    free(g->nodes[i].layout);
  }
  for (int k = 0; k < g->num_outputs; k++) g->outputs[k].node = remap[g->outputs[k].node];
  free(g->nodes);
  g->nodes = nodes;
  g->count = g->cap = n_order ? n_order : 0;
  if (!n_order) {
    free(nodes);
    g->nodes = NULL;
  }
  nodes = NULL;
  st = sn_ir_verify(g, err);
done:
  free(state), free(order), free(remap), free(stack), free(next), free(nodes);
  return st;
}

int32_t sn_compiler_owned_weight(sn_ir_graph_t *g, const char *name, float *data, int rank,
                                 const int64_t *dims) {
  sn_ir_node_t n;
  memset(&n, 0, sizeof n);
  n.op = SN_OP_WEIGHT;
  n.shape.rank = rank;
  memcpy(n.shape.dims, dims, (size_t)rank * sizeof *dims);
  n.name = strdup(name);
  n.owned = data;
  n.data = data;
  n.arena_offset = -1;
  if (!n.name) {
    free(data);
    return -1;
  }
  return sn_ir_append(g, &n);
}

int sn_compiler_match_linear(const sn_ir_graph_t *g, int32_t x, int32_t *matmul, int32_t *weight,
                             int32_t *bias) {
  if (x < 0) return 0;
  const sn_ir_node_t *add = &g->nodes[x];
  if (add->op != SN_OP_ADD) return 0;
  const sn_ir_node_t *mm = &g->nodes[add->inputs[0]];
  const sn_ir_node_t *b = &g->nodes[add->inputs[1]];
  if (mm->op != SN_OP_MATMUL || !mm->trans_b || b->op != SN_OP_WEIGHT || b->shape.rank != 1)
    return 0;
  const sn_ir_node_t *w = &g->nodes[mm->inputs[1]];
  if (w->op != SN_OP_WEIGHT || w->shape.rank != 2 || w->layout) return 0;
  *matmul = add->inputs[0];
  *weight = mm->inputs[1];
  *bias = add->inputs[1];
  return 1;
}
