/* verify.c — the checks that make a decoded plan safe to run. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "program/program.h"

/* The plan's embedding tables must agree with the config the session uses
 * to validate token ids, or a bad id could read outside a table. */
static sinter_status_t check_against_config(const sn_ir_graph_t *g, const sn_config_t *c,
                                            const char *label, sinter_error_t *err) {
  int embeds = 0;
  for (int32_t i = 0; i < g->count; i++) {
    const sn_ir_node_t *n = &g->nodes[i];
    if (n->op == SN_OP_GATHER) { /* the word rows alone (Qwen3: no embedding norm) */
      const sn_ir_node_t *table = &g->nodes[n->inputs[0]], *idx = &g->nodes[n->inputs[1]];
      embeds++;
      if (table->op != SN_OP_WEIGHT || table->layout || table->shape.dims[0] != c->vocab_size ||
          table->shape.dims[1] != c->hidden_size || idx->op != SN_OP_INPUT ||
          idx->input != SN_INPUT_IDS)
        return sn_error_set(err, SINTER_ERR_FORMAT,
                            "%s: the plan's embedding gather does not match its config", label);
      continue;
    }
    if (n->op != SN_OP_EMBED_LN) continue;
    embeds++;
    const sn_ir_node_t *word = &g->nodes[n->inputs[1]];
    const sn_ir_node_t *pos = n->num_inputs == 4 ? NULL : &g->nodes[n->inputs[2]];
    const sn_ir_node_t *type = n->num_inputs == 7 ? &g->nodes[n->inputs[6]] : NULL;
    if (word->op != SN_OP_WEIGHT || word->layout ||
        (pos && (pos->op != SN_OP_WEIGHT || pos->layout)) || word->shape.dims[0] != c->vocab_size ||
        (pos && pos->shape.dims[0] != c->max_positions) ||
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
    /* DeBERTa-v2: every distance a sequence may have is in the index table
     * (its rows themselves are checked with the op's shapes). */
    if (n->op == SN_OP_ATTENTION && n->num_inputs == 3 &&
        (g->nodes[n->inputs[1]].shape.dims[0] - 1) / 2 < (int64_t)c->max_positions - 1)
      return sn_error_set(err, SINTER_ERR_FORMAT,
                          "%s: attention node %d has an index table of %lld distances, under the "
                          "config's %d positions",
                          label, (int)i, (long long)(g->nodes[n->inputs[1]].shape.dims[0] - 1) / 2,
                          (int)c->max_positions);
    /* Every position a sequence may have must be a row of a rotary table. */
    if (n->op == SN_OP_ROTARY_QK && g->nodes[n->inputs[1]].shape.dims[0] < c->max_positions)
      return sn_error_set(err, SINTER_ERR_FORMAT,
                          "%s: rotary node %d has a table of %lld positions, under the config's %d",
                          label, (int)i, (long long)g->nodes[n->inputs[1]].shape.dims[0],
                          (int)c->max_positions);
  }
  if (embeds != 1)
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: the plan has %d embedding ops", label, embeds);
  return SINTER_OK;
}

/* Most buffers a plan may keep live at once: real plans keep a handful; the
 * cap bounds the overlap check's work on a hostile one. */
#define MAX_LIVE 1024
#define SLOT_ALIGN 64

/* Bytes of node n's slot at the plan's largest run (max_tokens rows,
 * max_seqs sequences), or -1 when a dimension is out of range or the product
 * overflows. */
static int64_t slot_bytes(const sn_ir_node_t *n, const sn_ir_graph_t *g) {
  int64_t bytes = 4;
  for (int k = 0; k < n->shape.rank; k++) {
    int64_t d = n->shape.dims[k];
    if (d < SN_DIM_T || d > ((int64_t)1 << 31)) return -1;
    if (d < 0) d = d == SN_DIM_B ? g->max_seqs : g->max_tokens;
    if (d && bytes > INT64_MAX / d) return -1;
    bytes *= d;
  }
  return bytes;
}

typedef struct live_slot {
  int32_t node;
  int64_t start, end;
} live_slot_t;

/* Buffers that are live at the same time never share a byte, except a node
 * written over the input it may overwrite (sn_ir_inplace_input) when that
 * input dies there and the two slots are the same. */
static sinter_status_t check_overlap(const sn_ir_graph_t *g, const int64_t *bytes,
                                     const char *label, sinter_error_t *err) {
  int32_t n = g->count;
  int32_t *last = malloc((size_t)n * sizeof *last);
  live_slot_t *live = malloc(MAX_LIVE * sizeof *live);
  sinter_status_t st = SINTER_OK;
  if (!last || !live) {
    st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "%s: verifier", label);
    goto done;
  }
  for (int32_t i = 0; i < n; i++) {
    last[i] = i;
    for (int k = 0; k < g->nodes[i].num_inputs; k++) last[g->nodes[i].inputs[k]] = i;
  }
  for (int k = 0; k < g->num_outputs; k++) last[g->outputs[k].node] = n; /* read after the run */
  int32_t n_live = 0;
  for (int32_t i = 0; i < n && !st; i++) {
    const sn_ir_node_t *node = &g->nodes[i];
    if (node->op == SN_OP_WEIGHT || node->op == SN_OP_INPUT) continue;
    int64_t start = node->arena_offset, end = start + bytes[i];
    int ip = sn_ir_inplace_input(node);
    int32_t reuse = ip >= 0 && ip < node->num_inputs ? node->inputs[ip] : -1;
    int32_t kept = 0;
    for (int32_t s = 0; s < n_live; s++) {
      const live_slot_t *o = &live[s];
      if (last[o->node] < i) continue; /* dead before this node runs */
      if (o->start < end && start < o->end) {
        if (!(o->node == reuse && last[o->node] == i && o->start == start && o->end == end)) {
          st = sn_error_set(err, SINTER_ERR_FORMAT,
                            "%s: nodes %d and %d are live at once and share arena bytes "
                            "(%lld..%lld and %lld..%lld)",
                            label, (int)o->node, (int)i, (long long)o->start, (long long)o->end,
                            (long long)start, (long long)end);
          break;
        }
        continue; /* overwritten in place: i takes the slot over */
      }
      live[kept++] = *o;
    }
    if (st) break;
    n_live = kept;
    if (n_live == MAX_LIVE) {
      st = sn_error_set(err, SINTER_ERR_FORMAT, "%s: more than %d buffers are live at once", label,
                        MAX_LIVE);
      break;
    }
    live[n_live++] = (live_slot_t){i, start, end};
  }
done:
  free(last);
  free(live);
  return st;
}

/* The outputs the session reads must be there, with the widths it copies. */
static sinter_status_t check_outputs(const sn_ir_graph_t *g, const sn_config_t *c,
                                     const char *label, sinter_error_t *err) {
  static const struct {
    const char *name;
    int64_t rows; /* SN_DIM_T: one row a token; SN_DIM_B: one a sequence */
    int labels;   /* width num_labels (2: vocab_size; else hidden_size) */
    int required; /* 1 always, 2 with a classification head, 0 optional */
  } want[] = {{"last_hidden_state", SN_DIM_T, 0, 1},
              {"embeddings", SN_DIM_B, 0, 1},
              {"pooler_output", SN_DIM_B, 0, 0},
              {"logits", SN_DIM_B, 1, 2},
              {"scores", SN_DIM_B, 1, 2},
              {"sparse", SN_DIM_B, 2, 0}};
  int head = c->head == SN_HEAD_SEQUENCE;
  for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
    int found = 0;
    int64_t width = want[w].labels == 2 ? c->vocab_size
                    : want[w].labels    ? c->num_labels
                                        : c->hidden_size;
    /* sentence-transformers Dense modules give the embedding its own width */
    if (!strcmp(want[w].name, "embeddings") && c->embedding_dim > 0) width = c->embedding_dim;
    for (int k = 0; k < g->num_outputs; k++) {
      if (strcmp(g->outputs[k].name, want[w].name) != 0) continue;
      found = 1;
      const sn_ir_shape_t *s = &g->nodes[g->outputs[k].node].shape;
      if (want[w].labels == 1 && !head)
        return sn_error_set(err, SINTER_ERR_FORMAT,
                            "%s: the plan has a \"%s\" output but its config no classification "
                            "head",
                            label, want[w].name);
      if (s->rank != 2 || s->dims[0] != want[w].rows || s->dims[1] != width)
        return sn_error_set(err, SINTER_ERR_FORMAT,
                            "%s: plan output \"%s\" is not [%s, %lld] as its config says", label,
                            want[w].name, want[w].rows == SN_DIM_T ? "T" : "B", (long long)width);
    }
    if (!found && (want[w].required == 1 || (want[w].required == 2 && head)))
      return sn_error_set(err, SINTER_ERR_FORMAT, "%s: the plan has no \"%s\" output", label,
                          want[w].name);
  }
  return SINTER_OK;
}

sinter_status_t sn_program_verify(const sn_ir_graph_t *g, const sn_config_t *c, const char *label,
                                  sinter_error_t *err) {
  /* Shapes and dtypes must be what the inputs give. For a compiled graph a
   * mismatch is a compiler bug; for a decoded plan it is a bad file. */
  if (sn_ir_verify(g, err) != SINTER_OK) {
    if (err) err->status = SINTER_ERR_FORMAT;
    return sn_error_prefix(err, "%s", label);
  }
  /* Every intermediate's slot, at the largest batch, lies inside the arena,
   * aligned as the kernels assume. */
  int64_t *bytes = calloc((size_t)g->count + 1, sizeof *bytes);
  if (!bytes) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "%s: verifier", label);
  sinter_status_t st = SINTER_OK;
  for (int32_t i = 0; i < g->count && !st; i++) {
    const sn_ir_node_t *n = &g->nodes[i];
    if (n->op == SN_OP_WEIGHT || n->op == SN_OP_INPUT) continue;
    bytes[i] = slot_bytes(n, g);
    if (bytes[i] < 0)
      st = sn_error_set(err, SINTER_ERR_FORMAT, "%s: node %d has a bad shape", label, (int)i);
    else if (n->arena_offset < 0 || n->arena_offset > g->arena_bytes ||
             bytes[i] > g->arena_bytes - n->arena_offset)
      st = sn_error_set(err, SINTER_ERR_FORMAT,
                        "%s: node %d's buffer (%lld bytes at %lld) is outside the %lld-byte "
                        "arena",
                        label, (int)i, (long long)bytes[i], (long long)n->arena_offset,
                        (long long)g->arena_bytes);
    else if (n->arena_offset % SLOT_ALIGN)
      st = sn_error_set(err, SINTER_ERR_FORMAT,
                        "%s: node %d's buffer at %lld is not %d-byte aligned", label, (int)i,
                        (long long)n->arena_offset, SLOT_ALIGN);
  }
  if (!st) st = check_overlap(g, bytes, label, err);
  free(bytes);
  if (!st) st = check_outputs(g, c, label, err);
  if (st) return st;
  return check_against_config(g, c, label, err);
}
