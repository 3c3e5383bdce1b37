/* pass_prepack.c — kernel selection and weight pre-packing.
 *
 * Each fp32 linear gets one of two kernels, chosen by numbers (bench/GEMM.md):
 * sinter's GEMM (gemm.h) on targets without AVX-512, where it ties oneDNN
 * 2.6's gemm:jit at 1024 rows and is 1.04-2x faster at 16-128 rows (a GELU
 * epilogue most of all); oneDNN on AVX-512 targets, where our kernel (AVX2
 * only) would run at half the machine's peak. int8 linears run sinter's
 * exact int8 GEMM (gemm_int8.h) on any target, with the input channels the
 * calibration (api/calibrate.c) found largest kept in fp32. The oneDNN path
 * is a matmul configuration for the target (row count
 * a runtime dimension, epilogue as post-ops) with the weights reordered into
 * the layout that primitive wants; sinter's path packs the weights into its
 * panels. Either way the packing happens once, here; the artifact stores the
 * packed bytes and a layout descriptor, and the loader checks the layout
 * before using them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/compiler.h"
#include "kernels/gemm_int8.h"
#include "kernels/matmul.h"
#include "kernels/target.h"

int sn_compile_linear_kernel(const sn_compile_options_t *opts) {
  return sn_target_linear_kernel(sn_target_isa_features(opts->target_features));
}

/* Which linears int8 quantises: every encoder linear and the pooler. The
 * classifier head (DistilBERT's pre_classifier too) stays fp32: it runs on
 * one row per sequence, so int8 would save nothing measurable and cost
 * accuracy where the output is read directly. */
static int quantizable(const char *name) {
  return !strstr(name, "classifier");
}

/* The input channels of the linear with weight `name` that int8 keeps in fp32: the
 * SN_GEMM_I8_OUTLIERS largest by calibrated |x| (none without calibration
 * for it). Measured on all-MiniLM-L6-v2, calibrated on half the golden
 * sentences and scored on the other half (worst / mean cosine to fp32):
 * none 0.990 / 0.996; top 4 0.9987; top 8 0.9990 / 0.9995; top 8 only where
 * they exceed 2x, 4x or 8x the median channel 0.9987, 0.9986, 0.9922;
 * SmoothQuant's migration (alpha 0.5) instead 0.9952 (bench/RESULTS.md). */
static int pick_outliers(const sn_compile_options_t *opts, const char *name, int64_t k,
                         int32_t *out) {
  const sn_int8_calibration_t *cal = opts->calibration;
  int32_t j = 0;
  while (cal && j < cal->linears && strcmp(cal->names[j], name)) j++;
  if (!cal || j >= cal->linears || cal->k[j] != k) return 0;
  const float *mx = cal->channel_max[j];
  int count = 0;
  for (int64_t c = 0; c < k; c++) {
    /* Insertion into the top list, largest first; ties keep the lower channel. */
    int pos = count;
    while (pos > 0 && mx[c] > mx[out[pos - 1]]) pos--;
    if (pos >= SN_GEMM_I8_OUTLIERS) continue;
    if (count < SN_GEMM_I8_OUTLIERS) count++;
    for (int q = count - 1; q > pos; q--) out[q] = out[q - 1];
    out[pos] = (int32_t)c;
  }
  return count;
}

sinter_status_t sn_pass_prepack(sn_ir_graph_t *g, const sn_compile_options_t *opts,
                                sn_pass_report_t *report, sinter_error_t *err) {
  sn_dnnl_t *d = NULL;
  SN_TRY(sn_dnnl_create(&d, err));
  sinter_status_t st = SINTER_OK;
  /* bf16: every linear's weights in bf16, on sinter's GEMM whatever the target. */
  sn_linear_kernel_t fp_kernel = opts->dtype == SINTER_DTYPE_BF16
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
    sn_linear_kernel_t kernel = int8 ? SN_LINEAR_GEMM_INT8 : fp_kernel;
    int32_t outliers[SN_GEMM_I8_OUTLIERS];
    int num_outliers = int8 ? pick_outliers(opts, w->name, desc.k, outliers) : 0;
    st = sn_linear_prepack(d, &desc, kernel, w->data, num_outliers, outliers, &data, &bytes,
                           &layout, &layout_size, err);
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
