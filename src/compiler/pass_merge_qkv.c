/* pass_merge_qkv.c — linears that read the same input (attention's query,
 * key and value projections) become one matmul with the weights stacked
 * [Wq; Wk; Wv] and the biases concatenated; each former output becomes a
 * column slice of the merged one. One pass over x instead of three, and one
 * larger GEMM that keeps the cores busier. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/compiler.h"

#define MAX_GROUP 8

sinter_status_t sn_pass_merge_qkv(sn_ir_graph_t *g, const sn_compile_options_t *opts,
                                  sn_pass_report_t *report, sinter_error_t *err) {
  (void)opts;
  int32_t count = g->count;
  unsigned char *done = calloc((size_t)count + 1, 1);
  if (!done) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "merge_qkv");
  for (int32_t i = 0; i < count; i++) {
    int32_t mm, w, b;
    if (done[i] || !sn_compiler_match_linear(g, i, &mm, &w, &b)) continue;
    int32_t x = g->nodes[mm].inputs[0];
    int64_t k = g->nodes[w].shape.dims[1];
    /* Gather every linear over the same x, in graph order. */
    int32_t group[MAX_GROUP], n = 0;
    for (int32_t j = i; j < count && n < MAX_GROUP; j++) {
      int32_t mj, wj, bj;
      if (done[j] || !sn_compiler_match_linear(g, j, &mj, &wj, &bj)) continue;
      if (g->nodes[mj].inputs[0] == x && g->nodes[wj].shape.dims[1] == k) group[n++] = j;
    }
    if (n < 2) continue;
    int64_t total = 0;
    for (int32_t t = 0; t < n; t++) {
      done[group[t]] = 1;
      sn_compiler_match_linear(g, group[t], &mm, &w, &b);
      total += g->nodes[w].shape.dims[0];
    }
    float *wdata = malloc((size_t)(total * k) * sizeof(float));
    float *bdata = malloc((size_t)total * sizeof(float));
    if (!wdata || !bdata) {
      free(wdata), free(bdata), free(done);
      return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "merge_qkv: weights");
    }
    char wname[256] = "", bname[256];
    int64_t row = 0;
    for (int32_t t = 0; t < n; t++) {
      sn_compiler_match_linear(g, group[t], &mm, &w, &b);
      int64_t rows = g->nodes[w].shape.dims[0];
      memcpy(wdata + row * k, g->nodes[w].data, (size_t)(rows * k) * sizeof(float));
      memcpy(bdata + row, g->nodes[b].data, (size_t)rows * sizeof(float));
      row += rows;
      if (t == 0) snprintf(wname, sizeof wname, "%s", g->nodes[w].name);
    }
    /* "encoder.layer.0.attention.self.query.weight*scale" -> "...self.merged" */
    char *dot = strstr(wname, ".query");
    if (!dot) dot = strstr(wname, ".q_lin");
    if (dot) *dot = '\0';
    snprintf(bname, sizeof bname, "%s.qkv.bias", wname);
    strncat(wname, ".qkv.weight", sizeof wname - strlen(wname) - 1);
    int64_t wdims[2] = {total, k}, bdims[1] = {total};
    int32_t wid = sn_compiler_owned_weight(g, wname, wdata, 2, wdims);
    int32_t bid = sn_compiler_owned_weight(g, bname, bdata, 1, bdims);
    int32_t merged = sn_ir_binary(g, SN_OP_ADD, sn_ir_matmul(g, x, wid, 1), bid);
    report->bytes_folded += (total * k + total) * (int64_t)sizeof(float);
    int64_t col = 0;
    for (int32_t t = 0; t < n; t++) {
      sn_compiler_match_linear(g, group[t], &mm, &w, &b);
      int64_t rows = g->nodes[w].shape.dims[0];
      sn_ir_node_t slice;
      memset(&slice, 0, sizeof slice);
      slice.op = SN_OP_SLICE_COLS;
      slice.num_inputs = 1;
      slice.inputs[0] = merged;
      slice.begin = col;
      slice.end = col + rows;
      slice.arena_offset = -1;
      col += rows;
      int32_t sid = sn_ir_append(g, &slice);
      if (sid >= 0) sn_compiler_replace_uses(g, group[t], sid);
    }
    report->rewrites++;
  }
  free(done);
  if (g->build_status != SINTER_OK)
    return sn_error_set(err, g->build_status, "merge_qkv: %s", g->build_error);
  return sn_compiler_compact(g, err);
}
