/* test_program.c — the program verifier (src/program/verify.c): a compiled
 * plan passes, and each rule that makes a decoded plan safe to run refuses
 * the edit a hostile artifact could make, with its own message. */
#include <stdlib.h>
#include <string.h>

#include "program/program.h"
#include "test.h"

#define BERT_CLS SN_TEST_FIXTURES "/models/bert_cls"

static sinter_model_t *model;
static sinter_program_t *program;
static sn_ir_graph_t *plan; /* the program's plan, edited in place and restored */
static sn_config_t config;  /* a copy of the model's, edited in place */

static void expect_refused(const char *needle) {
  sinter_error_t err;
  SN_CHECK_ERR(sn_program_verify(plan, &config, "plan", &err), SINTER_ERR_FORMAT, &err, needle);
}

static int32_t output_node(const char *name) {
  for (int k = 0; k < plan->num_outputs; k++)
    if (!strcmp(plan->outputs[k].name, name)) return plan->outputs[k].node;
  return -1;
}

static void test_compiled_plan_passes(void) {
  sinter_error_t err;
  SN_CHECK_OK(sn_program_verify(plan, &config, "plan", &err), &err);
  /* It has in-place slots, which the overlap rule must allow. */
  int in_place = 0;
  for (int32_t i = 0; i < plan->count; i++) {
    int ip = sn_ir_inplace_input(&plan->nodes[i]);
    if (ip >= 0 && plan->nodes[plan->nodes[i].inputs[ip]].op != SN_OP_WEIGHT &&
        plan->nodes[plan->nodes[i].inputs[ip]].arena_offset == plan->nodes[i].arena_offset)
      in_place++;
  }
  SN_CHECK(in_place > 0);
}

static void test_outputs_present(void) {
  int32_t k;
  for (k = 0; k < plan->num_outputs && strcmp(plan->outputs[k].name, "embeddings"); k++) {
  }
  SN_CHECK(k < plan->num_outputs);
  char saved[32];
  memcpy(saved, plan->outputs[k].name, 32);
  snprintf(plan->outputs[k].name, 32, "renamed");
  expect_refused("no \"embeddings\" output");
  memcpy(plan->outputs[k].name, saved, 32);
  for (k = 0; k < plan->num_outputs && strcmp(plan->outputs[k].name, "last_hidden_state"); k++) {
  }
  snprintf(plan->outputs[k].name, 32, "renamed");
  expect_refused("no \"last_hidden_state\" output");
  snprintf(plan->outputs[k].name, 32, "last_hidden_state");
}

static void test_output_widths_match_config(void) {
  int32_t labels = config.num_labels;
  config.num_labels = 4096; /* the CONFIG section's word against a 3-wide plan */
  expect_refused("plan output \"logits\" is not [B, 4096]");
  config.num_labels = labels;
  config.head = SN_HEAD_NONE;
  expect_refused("\"logits\" output but its config no classification head");
  config.head = SN_HEAD_SEQUENCE;
  int32_t hidden = output_node("last_hidden_state");
  int64_t rows = plan->nodes[hidden].shape.dims[0];
  plan->nodes[hidden].shape.dims[0] = SN_DIM_B;
  sinter_error_t err;
  SN_CHECK(sn_program_verify(plan, &config, "plan", &err) == SINTER_ERR_FORMAT);
  plan->nodes[hidden].shape.dims[0] = rows;
}

/* The last node in the arena, and an earlier one still live when it runs. */
static void live_pair(int32_t *a, int32_t *b) {
  *b = output_node("scores");
  *a = output_node("last_hidden_state");
}

static void test_slots_aligned(void) {
  int32_t a, b;
  live_pair(&a, &b);
  plan->nodes[b].arena_offset += 4;
  expect_refused("is not 64-byte aligned");
  plan->nodes[b].arena_offset -= 4;
}

static void test_live_slots_never_overlap(void) {
  int32_t a, b;
  live_pair(&a, &b);
  int64_t saved = plan->nodes[b].arena_offset;
  plan->nodes[b].arena_offset = plan->nodes[a].arena_offset; /* scores over the hidden state */
  expect_refused("are live at once and share arena bytes");
  plan->nodes[b].arena_offset = saved;
  /* A node reading an input that shares its bytes, not in place. */
  int32_t logits = output_node("logits");
  int32_t x = plan->nodes[logits].inputs[0];
  saved = plan->nodes[logits].arena_offset;
  plan->nodes[logits].arena_offset = plan->nodes[x].arena_offset;
  expect_refused("are live at once and share arena bytes");
  plan->nodes[logits].arena_offset = saved;
}

static void test_slots_inside_arena(void) {
  int32_t a, b;
  live_pair(&a, &b);
  int64_t saved = plan->nodes[b].arena_offset;
  plan->nodes[b].arena_offset = plan->arena_bytes;
  expect_refused("outside the");
  plan->nodes[b].arena_offset = -64;
  expect_refused("outside the");
  plan->nodes[b].arena_offset = saved;
}

static void test_embedding_tables_match_config(void) {
  int32_t vocab = config.vocab_size;
  config.vocab_size = vocab + 1000; /* ids the session would accept, past the table */
  expect_refused("embedding tables do not match its config");
  config.vocab_size = vocab;
}

/* The compiled plan of a fixture, its first attention node (which must have
 * `inputs` inputs) and a rank-1 weight that is no table (a gamma), to point
 * the attention's tables at; 0 (after a failed check) when any is missing.
 * The caller releases *p and closes *m either way. */
static int attention_plan(const char *fixture, int inputs, sinter_model_t **m, sinter_program_t **p,
                          sn_ir_graph_t **g, int32_t *att, int32_t *gamma) {
  sinter_error_t err;
  char dir[512];
  snprintf(dir, sizeof dir, "%s/models/%s", SN_TEST_FIXTURES, fixture);
  SN_CHECK_OK(sinter_model_open(dir, m, &err), &err);
  if (*m) SN_CHECK_OK(sinter_program_compile(*m, NULL, p, &err), &err);
  if (!*p) return 0;
  *g = (sn_ir_graph_t *)sn_program_plan(*p);
  *att = *gamma = -1;
  for (int32_t i = 0; i < (*g)->count; i++) {
    const sn_ir_node_t *n = &(*g)->nodes[i];
    if (n->op == SN_OP_ATTENTION && *att < 0) *att = i;
    if (n->op == SN_OP_WEIGHT && n->shape.rank == 1 && *gamma < 0) *gamma = i;
  }
  int ok = *att >= 0 && *gamma >= 0 && (*g)->nodes[*att].num_inputs == inputs;
  SN_CHECK_MSG(ok, "%s: no attention with %d inputs", fixture, inputs);
  return ok;
}

/* MPNet's attention reads a relative-bias table [heads, 2D + 1]: a plan
 * whose table has other heads, an even width, or is another tensor is
 * refused before any kernel indexes it. */
static void test_relative_bias_table_checked(void) {
  sinter_error_t err;
  sinter_model_t *m = NULL;
  sinter_program_t *p = NULL;
  sn_ir_graph_t *g;
  int32_t att, gamma;
  if (!attention_plan("mpnet_cls", 2, &m, &p, &g, &att, &gamma)) goto done;
  const sn_config_t *c = sn_model_config(m);
  SN_CHECK_OK(sn_program_verify(g, c, "plan", &err), &err);
  sn_ir_node_t *table = &g->nodes[g->nodes[att].inputs[1]];
  SN_CHECK(table->shape.dims[0] == c->num_heads && table->shape.dims[1] == 257);
  table->shape.dims[0]++;
  SN_CHECK_ERR(sn_program_verify(g, c, "plan", &err), SINTER_ERR_FORMAT, &err, "bias table");
  table->shape.dims[0]--;
  table->shape.dims[1]--;
  SN_CHECK_ERR(sn_program_verify(g, c, "plan", &err), SINTER_ERR_FORMAT, &err, "bias table");
  table->shape.dims[1]++;
  int32_t saved = g->nodes[att].inputs[1];
  g->nodes[att].inputs[1] = gamma;
  SN_CHECK_ERR(sn_program_verify(g, c, "plan", &err), SINTER_ERR_FORMAT, &err, "bias table");
  g->nodes[att].inputs[1] = saved;
  SN_CHECK_OK(sn_program_verify(g, c, "plan", &err), &err);
done:
  sinter_program_release(p);
  sinter_model_close(m);
}

/* With sentence-transformers Dense modules the embeddings have the last
 * module's width, not the hidden size: the session copies that many floats
 * a row, so the plan must give exactly that. */
static void test_dense_embedding_width_checked(void) {
  sinter_error_t err;
  sinter_model_t *m = NULL;
  sinter_program_t *p = NULL;
  SN_CHECK_OK(sinter_model_open(SN_TEST_FIXTURES "/models/bert_dense_st", &m, &err), &err);
  if (m) SN_CHECK_OK(sinter_program_compile(m, NULL, &p, &err), &err);
  if (!p) goto done;
  const sn_ir_graph_t *g = sn_program_plan(p);
  sn_config_t c = *sn_model_config(m);
  SN_CHECK(c.embedding_dim == 24 && c.hidden_size == 32);
  SN_CHECK_OK(sn_program_verify(g, &c, "plan", &err), &err);
  c.embedding_dim = 0; /* a config that says the embeddings are hidden wide */
  SN_CHECK_ERR(sn_program_verify(g, &c, "plan", &err), SINTER_ERR_FORMAT, &err,
               "plan output \"embeddings\" is not [B, 32]");
  c.embedding_dim = 40;
  SN_CHECK_ERR(sn_program_verify(g, &c, "plan", &err), SINTER_ERR_FORMAT, &err,
               "plan output \"embeddings\" is not [B, 40]");
done:
  sinter_program_release(p);
  sinter_model_close(m);
}

/* DeBERTa-v2's attention reads position rows at an index table: a plan whose
 * table has a row outside [0, 2 span), decreases, is shorter than the
 * config's distances, or whose position table is another tensor is refused
 * before the kernel reads at it. */
static void test_disentangled_tables_checked(void) {
  sinter_error_t err;
  sinter_model_t *m = NULL;
  sinter_program_t *p = NULL;
  sn_ir_graph_t *g;
  int32_t att, gamma;
  if (!attention_plan("deberta_cls", 3, &m, &p, &g, &att, &gamma)) goto done;
  const sn_config_t *c = sn_model_config(m);
  SN_CHECK_OK(sn_program_verify(g, c, "plan", &err), &err);
  sn_ir_node_t *index = &g->nodes[g->nodes[att].inputs[1]];
  SN_CHECK(index->shape.dims[0] == 2 * 63 + 1); /* max_position_embeddings 64 */
  float *rows = (float *)index->data, saved = rows[5];
  rows[5] = 16.0f; /* span 8: rows [0, 16) */
  SN_CHECK_ERR(sn_program_verify(g, c, "plan", &err), SINTER_ERR_FORMAT, &err, "attention needs");
  rows[5] = rows[6] + 1.0f; /* decreasing */
  SN_CHECK_ERR(sn_program_verify(g, c, "plan", &err), SINTER_ERR_FORMAT, &err, "attention needs");
  rows[5] = saved;
  index->shape.dims[0] -= 2;
  SN_CHECK_ERR(sn_program_verify(g, c, "plan", &err), SINTER_ERR_FORMAT, &err,
               "index table of 62 distances");
  index->shape.dims[0] += 2;
  int32_t pos = g->nodes[att].inputs[2];
  g->nodes[att].inputs[2] = gamma;
  SN_CHECK_ERR(sn_program_verify(g, c, "plan", &err), SINTER_ERR_FORMAT, &err, "attention needs");
  g->nodes[att].inputs[2] = pos;
  SN_CHECK_OK(sn_program_verify(g, c, "plan", &err), &err);
done:
  sinter_program_release(p);
  sinter_model_close(m);
}

/* ModernBERT's plan: a rotary table shorter than the positions a sequence
 * may have, a negative window, or a window on another op is refused. */
static void test_rotary_and_window_checked(void) {
  sinter_error_t err;
  sinter_model_t *m = NULL;
  sinter_program_t *p = NULL;
  SN_CHECK_OK(sinter_model_open(SN_TEST_FIXTURES "/models/modernbert_cls", &m, &err), &err);
  if (m) SN_CHECK_OK(sinter_program_compile(m, NULL, &p, &err), &err);
  if (!p) goto done;
  sn_ir_graph_t *g = (sn_ir_graph_t *)sn_program_plan(p);
  const sn_config_t *c = sn_model_config(m);
  int32_t rot = -1, att = -1, glu = -1;
  for (int32_t i = 0; i < g->count; i++) {
    if (g->nodes[i].op == SN_OP_ROTARY_QK && rot < 0) rot = i;
    if (g->nodes[i].op == SN_OP_ATTENTION && g->nodes[i].window && att < 0) att = i;
    if (g->nodes[i].op == SN_OP_GLU && glu < 0) glu = i;
  }
  SN_CHECK(rot >= 0 && att >= 0 && glu >= 0);
  if (rot < 0 || att < 0 || glu < 0) goto done;
  SN_CHECK_OK(sn_program_verify(g, c, "plan", &err), &err);
  sn_ir_node_t *table = &g->nodes[g->nodes[rot].inputs[1]];
  table->shape.dims[0]--;
  SN_CHECK_ERR(sn_program_verify(g, c, "plan", &err), SINTER_ERR_FORMAT, &err,
               "table of 63 positions, under the config's 64");
  table->shape.dims[0]++;
  table->shape.dims[1]++;
  SN_CHECK_ERR(sn_program_verify(g, c, "plan", &err), SINTER_ERR_FORMAT, &err, "rotary_qk needs");
  table->shape.dims[1]--;
  int32_t w = g->nodes[att].window;
  g->nodes[att].window = -3;
  SN_CHECK_ERR(sn_program_verify(g, c, "plan", &err), SINTER_ERR_FORMAT, &err, "out of range");
  g->nodes[att].window = w;
  g->nodes[glu].window = 2;
  SN_CHECK_ERR(sn_program_verify(g, c, "plan", &err), SINTER_ERR_FORMAT, &err,
               "glu takes no attention window");
  g->nodes[glu].window = 0;
  SN_CHECK_OK(sn_program_verify(g, c, "plan", &err), &err);
done:
  sinter_program_release(p);
  sinter_model_close(m);
}

/* A SPLADE plan: its pooled linear keeps to what the executor runs (splade
 * over packed rows, no activation), and its [B, vocab] slots are held to
 * the plan's max_seqs. */
static void test_pooled_linear_checked(void) {
  sinter_error_t err;
  sinter_model_t *m = NULL;
  sinter_program_t *p = NULL;
  SN_CHECK_OK(sinter_model_open(SN_TEST_FIXTURES "/models/bert_mlm", &m, &err), &err);
  sinter_compile_options_t sparse = {.sparse = 1};
  if (m) SN_CHECK_OK(sinter_program_compile(m, &sparse, &p, &err), &err);
  if (!p) goto done;
  sn_ir_graph_t *g = (sn_ir_graph_t *)sn_program_plan(p);
  sn_config_t c = *sn_model_config(m);
  int32_t pooled = -1;
  for (int32_t i = 0; i < g->count; i++)
    if (g->nodes[i].op == SN_OP_LINEAR && g->nodes[i].pool == SINTER_POOL_SPLADE) pooled = i;
  SN_CHECK(pooled >= 0);
  if (pooled < 0) goto done;
  SN_CHECK_OK(sn_program_verify(g, &c, "plan", &err), &err);
  sn_ir_node_t *n = &g->nodes[pooled];
  n->act = SN_ACT_GELU;
  SN_CHECK_ERR(sn_program_verify(g, &c, "plan", &err), SINTER_ERR_FORMAT, &err, "pooled linear");
  n->act = SN_ACT_NONE;
  n->pool = SINTER_POOL_MEAN;
  SN_CHECK_ERR(sn_program_verify(g, &c, "plan", &err), SINTER_ERR_FORMAT, &err, "pooled linear");
  n->pool = SINTER_POOL_SPLADE;
  int64_t seqs = g->max_seqs;
  g->max_seqs = (int64_t)1 << 30;
  SN_CHECK_ERR(sn_program_verify(g, &c, "plan", &err), SINTER_ERR_FORMAT, &err, "outside the");
  g->max_seqs = seqs;
  SN_CHECK_OK(sn_program_verify(g, &c, "plan", &err), &err);
done:
  sinter_program_release(p);
  sinter_model_close(m);
}

int main(void) {
  sinter_error_t err;
  if (sinter_model_open(BERT_CLS, &model, &err) != SINTER_OK ||
      sinter_program_compile(model, NULL, &program, &err) != SINTER_OK) {
    fprintf(stderr, "set-up: %s\n", err.message);
    return 1;
  }
  plan = (sn_ir_graph_t *)sn_program_plan(program);
  config = *sn_model_config(model); /* labels stay the model's: never freed here */
  SN_RUN(test_compiled_plan_passes);
  SN_RUN(test_outputs_present);
  SN_RUN(test_output_widths_match_config);
  SN_RUN(test_slots_aligned);
  SN_RUN(test_live_slots_never_overlap);
  SN_RUN(test_slots_inside_arena);
  SN_RUN(test_embedding_tables_match_config);
  SN_RUN(test_compiled_plan_passes); /* every edit was undone */
  SN_RUN(test_relative_bias_table_checked);
  SN_RUN(test_dense_embedding_width_checked);
  SN_RUN(test_disentangled_tables_checked);
  SN_RUN(test_rotary_and_window_checked);
  SN_RUN(test_pooled_linear_checked);
  sinter_program_release(program);
  sinter_model_close(model);
  return SN_TEST_REPORT();
}
