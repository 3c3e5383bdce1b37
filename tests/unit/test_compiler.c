/* test_compiler.c — the compiler's passes (graph before and after each) and
 * the compiled executor against the eager one on every fixture model. */
#include <stdlib.h>
#include <string.h>

#include "compiler/compiler.h"
#include "kernels/matmul.h"
#include "kernels/target.h"
#include "model/model.h"
#include "test.h"

static sinter_model_t *open_fixture(const char *name) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s/models/%s", SN_TEST_FIXTURES, name);
  sinter_model_t *m = NULL;
  sinter_error_t err;
  SN_CHECK_OK(sinter_model_open(dir, &m, &err), &err);
  return m;
}

static int count_op(const sn_ir_graph_t *g, sn_ir_op_t op) {
  int n = 0;
  for (int32_t i = 0; i < g->count; i++) n += g->nodes[i].op == op;
  return n;
}

static const sn_compile_options_t opts = {
    .dtype = SINTER_DTYPE_F32, .max_tokens = 256, .max_seq = 64};

/* Runs passes up to and including `last` on the model's unfused graph. */
static sinter_status_t run_until(const sinter_model_t *m, int last, sn_ir_graph_t *g,
                                 sinter_error_t *err) {
  static const sn_pass_fn passes[] = {sn_pass_cleanup,         sn_pass_fold_scale,
                                      sn_pass_merge_qkv,       sn_pass_fuse_attention,
                                      sn_pass_fuse_embeddings, sn_pass_fuse_epilogues,
                                      sn_pass_fuse_layernorm,  sn_pass_pack,
                                      sn_pass_plan_memory,     sn_pass_prepack};
  sn_build_options_t build = {.pooling = sn_model_modules(m)->pooling,
                              .normalize = sn_model_modules(m)->normalize};
  SN_TRY(sn_ir_build(m, &build, g, err));
  for (int p = 0; p <= last; p++) {
    sn_pass_report_t r = {0};
    SN_TRY(passes[p](g, &opts, &r, err));
  }
  return SINTER_OK;
}

static void test_passes_step_by_step(void) {
  sinter_model_t *m = open_fixture("bert_cls");
  if (!m) return;
  sinter_error_t err;
  sn_ir_graph_t g;
  /* 2 layers: 8 linears (q, k, v, out, ffn in/out per layer) + pooler + classifier */
  SN_CHECK_OK(run_until(m, 0, &g, &err), &err);
  SN_CHECK(count_op(&g, SN_OP_DROPOUT) == 0 && count_op(&g, SN_OP_MATMUL) == 2 * 8 + 2);
  sn_ir_graph_deinit(&g);

  SN_CHECK_OK(run_until(m, 1, &g, &err), &err);
  int scaled = 0;
  for (int32_t i = 0; i < g.count; i++) {
    if (g.nodes[i].op == SN_OP_MASKED_SOFTMAX) SN_CHECK(g.nodes[i].scale == 1.0f);
    if (g.nodes[i].op == SN_OP_WEIGHT && strstr(g.nodes[i].name, "query.weight*scale")) scaled++;
  }
  SN_CHECK(scaled == 2);
  sn_ir_graph_deinit(&g);

  SN_CHECK_OK(run_until(m, 2, &g, &err), &err); /* q, k, v -> one matmul per layer */
  SN_CHECK(count_op(&g, SN_OP_MATMUL) == 2 * 6 + 2 && count_op(&g, SN_OP_SLICE_COLS) == 6);
  sn_ir_graph_deinit(&g);

  SN_CHECK_OK(run_until(m, 3, &g, &err), &err);
  SN_CHECK(count_op(&g, SN_OP_ATTENTION) == 2 && count_op(&g, SN_OP_MASKED_SOFTMAX) == 0 &&
           count_op(&g, SN_OP_TRANSPOSE) == 0 && count_op(&g, SN_OP_SLICE_COLS) == 0);
  sn_ir_graph_deinit(&g);

  SN_CHECK_OK(run_until(m, 4, &g, &err), &err);
  SN_CHECK(count_op(&g, SN_OP_EMBED_LN) == 1 && count_op(&g, SN_OP_GATHER) == 0 &&
           count_op(&g, SN_OP_ARANGE) == 0);
  sn_ir_graph_deinit(&g);

  SN_CHECK_OK(run_until(m, 6, &g, &err), &err);
  /* per layer: qkv, out (+residual), ffn in (+gelu), ffn out (+residual); pooler (+tanh);
     classifier */
  SN_CHECK(count_op(&g, SN_OP_LINEAR) == 2 * 4 + 2 && count_op(&g, SN_OP_MATMUL) == 0 &&
           count_op(&g, SN_OP_ADD) == 0 && count_op(&g, SN_OP_GELU) == 0);
  SN_CHECK(count_op(&g, SN_OP_ADD_LAYERNORM) == 4 && count_op(&g, SN_OP_LAYERNORM) == 0);
  sn_ir_graph_deinit(&g);

  SN_CHECK_OK(run_until(m, 8, &g, &err), &err);
  SN_CHECK(g.packed && g.arena_bytes > 0);
  for (int32_t i = 0; i < g.count; i++) {
    const sn_ir_node_t *n = &g.nodes[i];
    SN_CHECK(n->op != SN_OP_INPUT || n->input != SN_INPUT_MASK);
    if (n->op != SN_OP_WEIGHT && n->op != SN_OP_INPUT) SN_CHECK(n->arena_offset >= 0);
  }
  /* The arena is far below the sum of all intermediates: slots are reused. */
  int64_t sum = 0;
  for (int32_t i = 0; i < g.count; i++)
    if (g.nodes[i].arena_offset >= 0)
      sum += sn_ir_shape_bind(&g.nodes[i].shape, 256, 256, NULL) * 4;
  SN_CHECK_MSG(g.arena_bytes * 3 < sum, "arena %lld vs %lld", (long long)g.arena_bytes,
               (long long)sum);
  sn_ir_graph_deinit(&g);
  sinter_model_close(m);
}

/* Two intermediates alive at once never share bytes. */
static void test_memory_plan_has_no_overlap(void) {
  sinter_model_t *m = open_fixture("distilbert_cls");
  if (!m) return;
  sinter_error_t err;
  sn_ir_graph_t g;
  SN_CHECK_OK(run_until(m, 8, &g, &err), &err);
  int32_t n = g.count;
  int32_t *last = calloc((size_t)n, sizeof *last);
  for (int32_t i = 0; i < n; i++) {
    last[i] = i;
    for (int k = 0; k < g.nodes[i].num_inputs; k++) last[g.nodes[i].inputs[k]] = i;
  }
  for (int k = 0; k < g.num_outputs; k++) last[g.outputs[k].node] = n;
  int bad = 0;
  for (int32_t a = 0; a < n; a++)
    for (int32_t b = a + 1; b < n; b++) {
      const sn_ir_node_t *x = &g.nodes[a], *y = &g.nodes[b];
      if (x->arena_offset < 0 || y->arena_offset < 0 || last[a] <= b) continue;
      /* a is still alive when b is written: their bytes must not overlap */
      int64_t xs = sn_ir_shape_bind(&x->shape, 256, 256, NULL) * 4;
      int64_t ys = sn_ir_shape_bind(&y->shape, 256, 256, NULL) * 4;
      if (x->arena_offset < y->arena_offset + ys && y->arena_offset < x->arena_offset + xs) bad++;
    }
  SN_CHECK(bad == 0);
  free(last);
  sn_ir_graph_deinit(&g);
  sinter_model_close(m);
}

static double max_diff(const float *a, const float *b, size_t n) {
  double worst = 0;
  for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)a[i] - b[i]));
  return worst;
}

/* Compiled vs eager on a mixed-length batch, all outputs, within 1e-4, with
 * the linears on `kernel` ("sinter" or "onednn", as SINTER_GEMM takes it) at
 * the kernels' ISA level `isa`; the longest sequence has min(seq_cap, the
 * model's positions) tokens. */
static void compare_modes_with(const char *name, const char *kernel, int isa, int64_t seq_cap) {
  sinter_model_t *m = open_fixture(name);
  if (!m) return;
  sinter_error_t err;
  sinter_model_info_t info;
  sinter_model_get_info(m, &info);
  int64_t max_seq = info.max_seq_length < seq_cap ? (int64_t)info.max_seq_length : seq_cap;
  sinter_compile_options_t copts = {
      .dtype = SINTER_DTYPE_F32, .max_tokens = max_seq + 8, .max_seq = max_seq};
  setenv("SINTER_GEMM", kernel, 1);
  int saved_isa = sn_cpu_isa();
  sn_cpu_set_isa(isa);
  sinter_program_t *program = NULL;
  SN_CHECK_OK(sinter_program_compile(m, &copts, &program, &err), &err);
  sinter_session_t *eager = NULL, *compiled = NULL;
  SN_CHECK_OK(sinter_session_create_eager(m, sn_test_threads(), &eager, &err), &err);
  if (program)
    SN_CHECK_OK(sinter_session_create_compiled(program, sn_test_threads(), &compiled, &err), &err);
  if (!eager || !compiled) goto done;
  /* 6 sequences: more tokens than the budget, so it runs in parts */
  enum { B = 6 };
  size_t lengths[B] = {5, 17, 1, 32, 9, 14};
  lengths[3] = (size_t)max_seq; /* up to the model's last position */
  int32_t *ids[B], *types[B];
  unsigned seed = 11;
  for (int i = 0; i < B; i++) {
    ids[i] = malloc(lengths[i] * sizeof(int32_t));
    types[i] = malloc(lengths[i] * sizeof(int32_t));
    for (size_t t = 0; t < lengths[i]; t++) {
      seed = seed * 1103515245u + 12345u;
      ids[i][t] = (int32_t)((seed >> 8) % 128);
      types[i][t] = sn_model_config(m)->type_vocab_size > 1 && t >= lengths[i] / 2;
    }
  }
  sinter_batch_t batch = {B, (const int32_t *const *)ids, (const int32_t *const *)types, lengths};
  static const sinter_run_options_t runs[] = {{.pooling = SINTER_POOL_DEFAULT},
                                              {.pooling = SINTER_POOL_MAX, .normalize = -1},
                                              {.pooling = SINTER_POOL_CLS, .normalize = 1}};
  /* Dense modules follow the folder's pooling only (another is refused). */
  static const sinter_run_options_t dense_runs[] = {
      {.normalize = 0}, {.normalize = -1}, {.normalize = 1}};
  const sinter_run_options_t *run_list = info.dense_modules ? dense_runs : runs;
  double worst = 0;
  for (size_t r = 0; r < 3; r++) {
    sinter_outputs_t a, b;
    SN_CHECK_OK(sinter_session_run(eager, &batch, &run_list[r], &a, &err), &err);
    float *hidden = malloc(a.total_tokens * a.hidden_size * sizeof(float));
    float *emb = malloc(a.batch * a.embedding_dim * sizeof(float));
    float *pooler = a.pooler_output ? malloc(a.batch * a.hidden_size * sizeof(float)) : NULL;
    float *logits = a.logits ? malloc(a.batch * a.num_labels * sizeof(float)) : NULL;
    memcpy(hidden, a.last_hidden_state, a.total_tokens * a.hidden_size * sizeof(float));
    memcpy(emb, a.embeddings, a.batch * a.embedding_dim * sizeof(float));
    if (pooler) memcpy(pooler, a.pooler_output, a.batch * a.hidden_size * sizeof(float));
    if (logits) memcpy(logits, a.logits, a.batch * a.num_labels * sizeof(float));
    SN_CHECK_OK(sinter_session_run(compiled, &batch, &run_list[r], &b, &err), &err);
    if (err.status == SINTER_OK) {
      SN_CHECK(b.total_tokens == a.total_tokens && b.batch == a.batch);
      worst = fmax(worst, max_diff(hidden, b.last_hidden_state, a.total_tokens * a.hidden_size));
      SN_CHECK(b.embedding_dim == a.embedding_dim);
      worst = fmax(worst, max_diff(emb, b.embeddings, a.batch * a.embedding_dim));
      SN_CHECK((pooler != NULL) == (b.pooler_output != NULL));
      if (pooler && b.pooler_output)
        worst = fmax(worst, max_diff(pooler, b.pooler_output, a.batch * a.hidden_size));
      SN_CHECK((logits != NULL) == (b.logits != NULL));
      if (logits && b.logits)
        worst = fmax(worst, max_diff(logits, b.logits, a.batch * a.num_labels));
    }
    free(hidden), free(emb), free(pooler), free(logits);
  }
  printf("compiled (%s, %s) vs eager %-18s max abs diff %.3g\n", kernel, sn_cpu_isa_name(isa), name,
         worst);
  SN_CHECK_MSG(worst < 1e-4, "%s: %g", name, worst);
  for (int i = 0; i < B; i++) free(ids[i]), free(types[i]);
done:
  sinter_session_destroy(eager);
  sinter_session_destroy(compiled);
  sinter_program_release(program);
  sinter_model_close(m);
  sn_cpu_set_isa(saved_isa);
  unsetenv("SINTER_GEMM");
}

/* Both linear kernels; sinter's GEMM also on its portable path. */
static void compare_modes_up_to(const char *name, int64_t seq_cap) {
  compare_modes_with(name, "sinter", sn_cpu_isa_max(), seq_cap);
  compare_modes_with(name, "onednn", sn_cpu_isa_max(), seq_cap);
  compare_modes_with(name, "sinter", SN_ISA_PORTABLE, seq_cap);
}

static void compare_modes(const char *name) {
  compare_modes_up_to(name, 32);
}

/* The kernel choice is visible in the plan: sinter's GEMM weights carry its
 * layout descriptor (f32 here), oneDNN's a memory descriptor. */
static void test_linear_kernel_choice(void) {
  sinter_model_t *m = open_fixture("bert_cls");
  if (!m) return;
  sinter_error_t err;
  sn_compile_options_t opts = {.dtype = SINTER_DTYPE_F32, .max_tokens = 64, .max_seq = 32};
  setenv("SINTER_GEMM", "sinter", 1);
  SN_CHECK(sn_compile_linear_kernel(&opts) == SN_LINEAR_GEMM);
  sinter_compile_options_t copts = {.dtype = SINTER_DTYPE_F32, .max_tokens = 64, .max_seq = 32};
  sinter_program_t *program = NULL;
  SN_CHECK_OK(sinter_program_compile(m, &copts, &program, &err), &err);
  const sn_ir_graph_t *plan = program ? sn_program_plan(program) : NULL;
  int tagged = 0, linears = 0;
  for (int32_t i = 0; plan && i < plan->count; i++) {
    const sn_ir_node_t *n = &plan->nodes[i];
    if (n->op != SN_OP_LINEAR) continue;
    linears++;
    const sn_ir_node_t *w = &plan->nodes[n->inputs[1]];
    tagged += !strcmp(sn_linear_layout_kind(w->layout, w->layout_size), "f32");
  }
  SN_CHECK(linears > 0 && tagged == linears);
  setenv("SINTER_GEMM", "onednn", 1);
  SN_CHECK(sn_compile_linear_kernel(&opts) == SN_LINEAR_ONEDNN);
  unsetenv("SINTER_GEMM");
  /* Unforced: oneDNN exactly when the target has AVX-512. */
  opts.target_features = SN_FEATURE_AVX2 | SN_FEATURE_FMA;
  SN_CHECK(sn_compile_linear_kernel(&opts) == SN_LINEAR_GEMM);
  opts.target_features |= SN_FEATURE_AVX512F;
  SN_CHECK(sn_compile_linear_kernel(&opts) == SN_LINEAR_ONEDNN);
  sinter_program_release(program);
  sinter_model_close(m);
}

static void test_compiled_bert_cls(void) {
  compare_modes("bert_cls");
}
static void test_compiled_distilbert_cls(void) {
  compare_modes("distilbert_cls");
}
static void test_compiled_gelu_new_st(void) {
  compare_modes("bert_gelu_new_st");
}
static void test_compiled_f16(void) {
  compare_modes("bert_f16");
}
static void test_compiled_sharded(void) {
  compare_modes("bert_sharded");
}
static void test_compiled_mlm(void) {
  compare_modes("bert_mlm");
}
static void test_compiled_legacy(void) {
  compare_modes("bert_legacy_bf16");
}
static void test_compiled_roberta_family(void) {
  compare_modes("roberta_cls");
  compare_modes("xlmr_base");
  compare_modes("camembert_mlm");
}

/* MPNet's relative bias, with a sequence past its reach of 128. */
static void test_compiled_mpnet(void) {
  compare_modes_up_to("mpnet_cls", 168);
  compare_modes("mpnet_base");
}

/* ModernBERT: rotary positions, sliding windows far shorter than the
 * sequence, GeGLU, pre-norm, biases absent and present. */
static void test_compiled_modernbert(void) {
  compare_modes_up_to("modernbert_cls", 64);
  compare_modes_up_to("modernbert_base", 48);
}

/* Qwen3: causal, grouped-query attention, q/k norms, SwiGLU, RMSNorm. */
/* Dense modules after the pooling: linears on one row per sequence. */
static void test_compiled_dense_modules(void) {
  compare_modes("bert_dense_st");
  compare_modes("bert_dense_nonorm_st");
}

static void test_compiled_qwen3(void) {
  compare_modes_up_to("qwen3_base", 64);
}

/* Gemma 3: scaled embeddings, sandwich norms of (1 + weight), windows both
 * bidirectional and causal, GQA 3:1, GeGLU with the tanh GELU. */
static void test_compiled_gemma3(void) {
  compare_modes_up_to("gemma3_base", 64);
  compare_modes_up_to("gemma3_causal", 64);
}

/* DeBERTa-v2/v3: disentangled attention in the fused kernel, sequences far
 * past the bucketed span; absolute positions and token types (base). */
static void test_compiled_deberta(void) {
  compare_modes_up_to("deberta_cls", 64);
  compare_modes_up_to("deberta_base", 40);
  compare_modes_up_to("deberta_st", 64);
}

static void test_refusals(void) {
  sinter_model_t *m = open_fixture("bert_cls");
  if (!m) return;
  sinter_error_t err;
  sinter_session_t *s = NULL;
  sinter_program_t *p = NULL;
  SN_CHECK_ERR(sinter_session_create_compiled(NULL, 0, &s, &err), SINTER_ERR_INVALID_ARGUMENT, &err,
               "program is NULL");
  SN_CHECK_ERR(
      sinter_program_compile(
          m,
          &(sinter_compile_options_t){.dtype = SINTER_DTYPE_F32, .max_tokens = 256, .max_seq = 100},
          &p, &err),
      SINTER_ERR_INVALID_ARGUMENT, &err, "max_position_embeddings");
  SN_CHECK(p == NULL);
  sinter_model_close(m);
}

/* Linears with the same description share one kernel object only when their
 * weights have the same layout and size too: a tampered second weight must be
 * validated on its own, not run by the first one's kernel. */
static void test_shared_linears_validate_each_weight(void) {
  sinter_model_t *m = open_fixture("bert_cls");
  if (!m) return;
  sinter_error_t err;
  sinter_compile_options_t copts = {.dtype = SINTER_DTYPE_F32, .max_tokens = 64, .max_seq = 32};
  sinter_program_t *program = NULL;
  SN_CHECK_OK(sinter_program_compile(m, &copts, &program, &err), &err);
  /* The test plays the hostile artifact: it edits the plan in place. */
  sn_ir_graph_t *g = program ? (sn_ir_graph_t *)sn_program_plan(program) : NULL;
  int32_t first = -1, second = -1;
  for (int32_t i = 0; g && i < g->count && second < 0; i++) {
    const sn_ir_node_t *n = &g->nodes[i];
    if (n->op != SN_OP_LINEAR) continue;
    for (int32_t j = 0; j < i && first < 0; j++) {
      const sn_ir_node_t *o = &g->nodes[j];
      if (o->op == SN_OP_LINEAR && o->act == n->act && o->num_inputs == n->num_inputs &&
          g->nodes[o->inputs[1]].nbytes == g->nodes[n->inputs[1]].nbytes)
        first = j, second = i;
    }
  }
  SN_CHECK(second > 0);
  sinter_session_t *s = NULL;
  if (second > 0) {
    g->nodes[g->nodes[second].inputs[1]].nbytes -= 4; /* as a hostile artifact could say */
    SN_CHECK_ERR(sinter_session_create_compiled(program, 0, &s, &err), SINTER_ERR_FORMAT, &err,
                 "bytes");
    g->nodes[g->nodes[second].inputs[1]].nbytes += 4;
    SN_CHECK_OK(sinter_session_create_compiled(program, 0, &s, &err), &err);
  }
  sinter_session_destroy(s);
  sinter_program_release(program);
  sinter_model_close(m);
}

int main(void) {
  SN_RUN(test_passes_step_by_step);
  SN_RUN(test_memory_plan_has_no_overlap);
  SN_RUN(test_compiled_bert_cls);
  SN_RUN(test_compiled_distilbert_cls);
  SN_RUN(test_compiled_gelu_new_st);
  SN_RUN(test_compiled_f16);
  SN_RUN(test_compiled_sharded);
  SN_RUN(test_compiled_mlm);
  SN_RUN(test_compiled_legacy);
  SN_RUN(test_compiled_roberta_family);
  SN_RUN(test_compiled_mpnet);
  SN_RUN(test_compiled_modernbert);
  SN_RUN(test_compiled_qwen3);
  SN_RUN(test_compiled_dense_modules);
  SN_RUN(test_compiled_gemma3);
  SN_RUN(test_compiled_deberta);
  SN_RUN(test_refusals);
  SN_RUN(test_linear_kernel_choice);
  SN_RUN(test_shared_linears_validate_each_weight);
  return SN_TEST_REPORT();
}
