/* test_graph.c — graph construction, shape inference, verifier, printer. */
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"
#include "test.h"

static const float weights[64 * 8];

static void build_small(sn_ir_graph_t *g) {
  sn_ir_graph_init(g);
  int64_t table[2] = {64, 8}, vec[1] = {8}, proj[2] = {4, 8};
  int32_t ids = sn_ir_input(g, SN_INPUT_IDS);
  int32_t mask = sn_ir_input(g, SN_INPUT_MASK);
  int32_t emb = sn_ir_binary(g, SN_OP_GATHER, sn_ir_weight(g, "emb", weights, 2, table), ids);
  int32_t gamma = sn_ir_weight(g, "ln.weight", weights, 1, vec);
  int32_t h = sn_ir_layernorm(g, emb, gamma, gamma, 1e-5f);
  int32_t p = sn_ir_matmul(g, h, sn_ir_weight(g, "proj", weights, 2, proj), 1);
  sn_ir_mark_output(g, "last_hidden_state", h);
  sn_ir_mark_output(g, "embeddings", sn_ir_pool(g, p, mask, SINTER_POOL_MEAN));
}

static void test_shapes_and_verify(void) {
  sn_ir_graph_t g;
  sinter_error_t err;
  build_small(&g);
  SN_CHECK_OK(sn_ir_graph_finish(&g, &err), &err);
  int32_t out = sn_ir_find_output(&g, "embeddings");
  SN_CHECK(out >= 0 && g.nodes[out].shape.rank == 2 && g.nodes[out].shape.dims[0] == SN_DIM_B &&
           g.nodes[out].shape.dims[1] == 4);
  int64_t dims[4];
  int32_t h = sn_ir_find_output(&g, "last_hidden_state");
  SN_CHECK(sn_ir_shape_bind(&g.nodes[h].shape, 3, 5, dims) == 3 * 5 * 8 && dims[1] == 5);
  /* A tampered shape is caught by the verifier. */
  g.nodes[h].shape.dims[2] = 9;
  SN_CHECK_ERR(sn_ir_verify(&g, &err), SINTER_ERR_INTERNAL, &err, "records shape [B, S, 9]");
  g.nodes[h].shape.dims[2] = 8;
  /* So is an input that refers forward. */
  g.nodes[3].inputs[1] = 5;
  SN_CHECK_ERR(sn_ir_verify(&g, &err), SINTER_ERR_INTERNAL, &err, "not defined before it");
  sn_ir_graph_deinit(&g);
}

static void test_builder_errors_stick(void) {
  sn_ir_graph_t g;
  sinter_error_t err;
  sn_ir_graph_init(&g);
  int64_t w1[2] = {5, 7}, w2[2] = {3, 9};
  int32_t a = sn_ir_weight(&g, "a", weights, 2, w1);
  int32_t b = sn_ir_weight(&g, "b", weights, 2, w2);
  int32_t bad = sn_ir_matmul(&g, a, b, 0); /* 7 vs 3 */
  SN_CHECK(bad == -1);
  SN_CHECK(sn_ir_unary(&g, SN_OP_RELU, bad) == -1);
  SN_CHECK_ERR(sn_ir_graph_finish(&g, &err), SINTER_ERR_INTERNAL, &err,
               "matmul inner dimensions differ: 7 vs 3");
  sn_ir_graph_deinit(&g);

  sn_ir_graph_init(&g);
  int32_t ids = sn_ir_input(&g, SN_INPUT_IDS);
  int64_t r[2] = {SN_DIM_B, 7};
  SN_CHECK(sn_ir_reshape(&g, ids, 2, r) == -1);
  SN_CHECK_ERR(sn_ir_graph_finish(&g, &err), SINTER_ERR_INTERNAL, &err,
               "reshape changes the number of elements");
  sn_ir_graph_deinit(&g);
}

/* DeBERTa-v2's disentangled_bias: scores [B, h, S, S], q and k [B, h, S, d],
 * an index table of non-decreasing rows in [0, 2 span) and positions
 * [4 span, h d]; anything else is refused when built. */
static int32_t disentangled(const float *index_rows, int64_t index_len, int64_t pos_cols) {
  sn_ir_graph_t g;
  sn_ir_graph_init(&g);
  int64_t table[2] = {64, 8}, split[4] = {SN_DIM_B, SN_DIM_S, 2, 4}, pos_dims[2] = {8, pos_cols};
  const int perm[4] = {0, 2, 1, 3};
  int32_t ids = sn_ir_input(&g, SN_INPUT_IDS);
  int32_t x = sn_ir_binary(&g, SN_OP_GATHER, sn_ir_weight(&g, "emb", weights, 2, table), ids);
  int32_t qh = sn_ir_transpose(&g, sn_ir_reshape(&g, x, 4, split), perm);
  int32_t scores = sn_ir_matmul(&g, qh, qh, 1);
  int32_t index = sn_ir_weight(&g, "index", index_rows, 1, &index_len);
  int32_t pos = sn_ir_weight(&g, "pos", weights, 2, pos_dims);
  int32_t out = sn_ir_disentangled_bias(&g, scores, qh, qh, index, pos, 0.5f);
  if (out >= 0)
    SN_CHECK(g.nodes[out].shape.rank == 4 && g.nodes[out].shape.dims[1] == 2 &&
             g.nodes[out].shape.dims[3] == SN_DIM_S);
  else
    SN_CHECK(strstr(g.build_error, "disentangled_bias needs") != NULL);
  sn_ir_graph_deinit(&g);
  return out;
}

static void test_disentangled_bias_shapes(void) {
  static const float ok[5] = {0, 0, 1, 2, 3}, past[5] = {0, 1, 2, 3, 4}, down[5] = {0, 2, 1, 2, 3},
                     frac[5] = {0, 0.5f, 1, 2, 3};
  SN_CHECK(disentangled(ok, 5, 8) >= 0); /* span 2: rows [0, 4) */
  SN_CHECK(disentangled(past, 5, 8) == -1);
  SN_CHECK(disentangled(down, 5, 8) == -1);
  SN_CHECK(disentangled(frac, 5, 8) == -1);
  SN_CHECK(disentangled(ok, 4, 8) == -1); /* an even table has no centre */
  SN_CHECK(disentangled(ok, 5, 7) == -1); /* positions not h d wide */
}

static void test_printer(void) {
  sn_ir_graph_t g;
  sinter_error_t err;
  build_small(&g);
  SN_CHECK_OK(sn_ir_graph_finish(&g, &err), &err);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  sn_ir_print(&g, f);
  fclose(f);
  SN_CHECK(strstr(text, "%3 = gather %2, %0 : f32[B, S, 8]") != NULL);
  SN_CHECK(strstr(text, "matmul %5, %6 trans_b : f32[B, S, 4]") != NULL);
  SN_CHECK(strstr(text, "pool %7, %1 mode=mean : f32[B, 4]") != NULL);
  SN_CHECK(strstr(text, "output embeddings = %8") != NULL);
  free(text);
  sn_ir_graph_deinit(&g);
}

int main(void) {
  SN_RUN(test_shapes_and_verify);
  SN_RUN(test_builder_errors_stick);
  SN_RUN(test_printer);
  SN_RUN(test_disentangled_bias_shapes);
  return SN_TEST_REPORT();
}
