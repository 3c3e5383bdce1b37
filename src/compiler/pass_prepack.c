/* pass_prepack.c — kernel selection and weight pre-packing.
 *
 * Each fp32 linear gets one of two kernels, chosen by numbers (bench/GEMM.md):
 * sinter's GEMM (gemm.h) on targets without AVX-512, where it ties oneDNN
 * 2.6's gemm:jit at 1024 rows and is 1.04-2x faster at 16-128 rows (a GELU
 * epilogue most of all); oneDNN on AVX-512 targets, where our kernel (AVX2
 * only) would run at half the machine's peak. int8 linears use oneDNN's s8
 * matmul. The oneDNN path is a matmul configuration for the target (row count
 * a runtime dimension, epilogue as post-ops) with the weights reordered into
 * the layout that primitive wants; sinter's path packs the weights into its
 * panels. Either way the packing happens once, here; the artifact stores the
 * packed bytes and a layout descriptor, and the loader checks the layout
 * before using them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/compiler.h"
#include "kernels/matmul.h"
#include "kernels/target.h"

int sn_compile_linear_kernel(const sn_compile_options_t *opts) {
  return sn_target_linear_kernel(sn_target_isa_features(opts->target_features));
}

/* Which linears int8 quantises. Dynamic per-token s8 activations lose too
 * much on inputs with outlier channels; measured on all-MiniLM-L6-v2 (worst
 * / mean cosine of the 37 golden sentence embeddings to fp32, bench/RESULTS.md):
 * every encoder linear 0.987 / 0.995; Q/K/V + FFN-up 0.990 / 0.996; Q/K/V only
 * 0.993 / 0.997; FFN-up only 0.997 / 0.999. So the FFN up-projection (BERT's
 * largest GEMM, 1/3 of the FLOPs) and the pooler are quantised; attention,
 * the FFN down-projection and the classifier stay fp32. */
static int quantizable(const char *name) {
  return strstr(name, "intermediate.dense") || strstr(name, "ffn.lin1") || strstr(name, "pooler");
}

sinter_status_t sn_pass_prepack(sn_ir_graph_t *g, const sn_compile_options_t *opts,
                                sn_pass_report_t *report, sinter_error_t *err) {
  sn_dnnl_t *d = NULL;
  SN_TRY(sn_dnnl_create(&d, err));
  sinter_status_t st = SINTER_OK;
  /* bf16: every linear's weights in bf16, on sinter's GEMM whatever the target. */
  sn_linear_kernel_t kernel = opts->dtype == SINTER_DTYPE_BF16
                                  ? SN_LINEAR_GEMM_BF16
                                  : (sn_linear_kernel_t)sn_compile_linear_kernel(opts);
  int32_t count = g->count;
  for (int32_t i = 0; i < count && !st; i++) {
    if (g->nodes[i].op != SN_OP_LINEAR) continue;
    const sn_ir_node_t *w = &g->nodes[g->nodes[i].inputs[1]];
    if (w->layout) continue;
    int int8 = opts->dtype == SINTER_DTYPE_INT8 && quantizable(w->name);
    g->nodes[i].int8 = int8;
    sn_linear_desc_t desc = {w->shape.dims[1], w->shape.dims[0], (int)g->nodes[i].act,
                             g->nodes[i].num_inputs == 4, int8};
    void *data = NULL, *layout = NULL;
    size_t bytes = 0, layout_size = 0;
    st = sn_linear_prepack(d, &desc, kernel, w->data, &data, &bytes, &layout, &layout_size, err);
    if (st) break;
    if (!data) { /* already in the wanted layout: record it, copy nothing */
      sn_ir_node_t *wn = &g->nodes[g->nodes[i].inputs[1]];
      wn->layout = layout;
      wn->layout_size = layout_size;
      wn->nbytes = bytes;
      report->rewrites++;
      continue;
    }
    char name[256];
    snprintf(name, sizeof name, "%s", w->name);
    int64_t dims[2] = {w->shape.dims[0], w->shape.dims[1]};
    int32_t id = sn_compiler_owned_weight(g, name, data, 2, dims);
    if (id < 0) {
      free(layout);
      st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "prepack");
      break;
    }
    g->nodes[id].layout = layout;
    g->nodes[id].layout_size = layout_size;
    g->nodes[id].nbytes = bytes;
    g->nodes[i].inputs[1] = id;
    report->bytes_folded += (int64_t)bytes;
    report->rewrites++;
  }
  sn_dnnl_destroy(d);
  if (st) return st;
  return sn_compiler_compact(g, err);
}
