/* test_kernels.c — reference kernels and the oneDNN matmul against naive
 * loops and known values. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels/gemm_int8.h"
#include "kernels/matmul.h"
#include "kernels/reference.h"
#include "test.h"

static float frand(unsigned *state) {
  *state = *state * 1103515245u + 12345u;
  return (float)((*state >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}

static void test_activations(void) {
  const float x[4] = {0.0f, 1.0f, -1.0f, 3.0f};
  float y[4];
  sn_ref_gelu(x, 4, y);
  SN_CHECK(y[0] == 0.0f && fabsf(y[1] - 0.8413447f) < 1e-6f && fabsf(y[2] + 0.1586553f) < 1e-6f);
  sn_ref_gelu_tanh(x, 4, y);
  SN_CHECK(fabsf(y[1] - 0.8411920f) < 1e-6f && fabsf(y[3] - 2.9963627f) < 1e-5f);
  sn_ref_relu(x, 4, y);
  SN_CHECK(y[1] == 1.0f && y[2] == 0.0f);
  sn_ref_tanh(x, 4, y);
  SN_CHECK(fabsf(y[1] - 0.7615942f) < 1e-6f);
}

static void test_layernorm(void) {
  float x[2 * 5] = {1, 2, 3, 4, 5, -2, 0, 2, 4, 100};
  float g[5] = {1, 1, 1, 1, 1}, b[5] = {0, 0, 0, 0, 0}, y[10];
  sn_ref_layernorm(x, g, b, 2, 5, 1e-12f, y);
  for (int r = 0; r < 2; r++) {
    double mean = 0, var = 0;
    for (int j = 0; j < 5; j++) mean += y[r * 5 + j];
    mean /= 5;
    for (int j = 0; j < 5; j++) var += (y[r * 5 + j] - mean) * (y[r * 5 + j] - mean);
    SN_CHECK(fabs(mean) < 1e-6 && fabs(var / 5 - 1) < 1e-5);
  }
  SN_CHECK(fabsf(y[0] + 1.4142135f) < 1e-5f);
}

static void test_masked_softmax(void) {
  /* batch 2, 1 head, 2 queries, 3 keys; second sequence has 2 real tokens */
  float s[12] = {1, 2, 3, 0, 0, 0, 5, 1, 9, 2, 2, 7};
  float mask[6] = {1, 1, 1, 1, 1, 0};
  float p[12];
  sn_ref_masked_softmax(s, mask, 2, 1, 2, 3, 0.5f, 0, 0, p);
  for (int r = 0; r < 4; r++) SN_CHECK(fabsf(p[r * 3] + p[r * 3 + 1] + p[r * 3 + 2] - 1) < 1e-6f);
  SN_CHECK(p[8] == 0.0f && p[11] == 0.0f);
  SN_CHECK(fabsf(p[9] - 0.5f) < 1e-6f);
  float e1 = expf(0.5f), e2 = expf(1.0f), e3 = expf(1.5f);
  SN_CHECK(fabsf(p[0] - e1 / (e1 + e2 + e3)) < 1e-6f);
}

static void test_transpose(void) {
  int64_t dims[4] = {2, 3, 4, 5};
  int perm[4] = {0, 2, 1, 3};
  float x[120], y[120];
  for (int i = 0; i < 120; i++) x[i] = (float)i;
  sn_ref_transpose(x, 4, dims, perm, y);
  int bad = 0;
  for (int a = 0; a < 2; a++)
    for (int b = 0; b < 4; b++)
      for (int c = 0; c < 3; c++)
        for (int d = 0; d < 5; d++)
          bad += y[((a * 4 + b) * 3 + c) * 5 + d] != x[((a * 3 + c) * 4 + b) * 5 + d];
  SN_CHECK(bad == 0);
  int64_t d2[2] = {3, 7};
  int p2[2] = {1, 0};
  sn_ref_transpose(x, 2, d2, p2, y);
  SN_CHECK(y[1] == x[7] && y[3 * 6 + 2] == x[2 * 7 + 6]);
}

static void test_pooling(void) {
  /* one sequence, 3 positions (last is padding), hidden 2 */
  float x[6] = {1, -4, 3, 2, 100, 100};
  float mask[3] = {1, 1, 0}, y[2];
  sn_ref_pool(x, mask, 1, 3, 2, SINTER_POOL_MEAN, y);
  SN_CHECK(y[0] == 2.0f && y[1] == -1.0f);
  sn_ref_pool(x, mask, 1, 3, 2, SINTER_POOL_MAX, y);
  SN_CHECK(y[0] == 3.0f && y[1] == 2.0f);
  sn_ref_pool(x, mask, 1, 3, 2, SINTER_POOL_CLS, y);
  SN_CHECK(y[0] == 1.0f && y[1] == -4.0f);
  sn_ref_pool(x, mask, 1, 3, 2, SINTER_POOL_MEAN_SQRT_LEN, y);
  SN_CHECK(fabsf(y[0] - 4.0f / sqrtf(2.0f)) < 1e-6f);
  float v[2] = {3, 4};
  sn_ref_l2_normalize(v, 1, 2, v);
  SN_CHECK(fabsf(v[0] - 0.6f) < 1e-7f && fabsf(v[1] - 0.8f) < 1e-7f);
  float z[2] = {0, 0};
  sn_ref_l2_normalize(z, 1, 2, z);
  SN_CHECK(z[0] == 0.0f && z[1] == 0.0f);
}

static void naive_matmul(int64_t batch, int64_t m, int64_t k, int64_t n, const float *a,
                         const float *b, int b_batched, int trans_b, float *c) {
  for (int64_t i = 0; i < batch; i++) {
    const float *bb = b + (b_batched ? i * k * n : 0);
    for (int64_t r = 0; r < m; r++)
      for (int64_t col = 0; col < n; col++) {
        double s = 0;
        for (int64_t t = 0; t < k; t++)
          s += (double)a[(i * m + r) * k + t] * (trans_b ? bb[col * k + t] : bb[t * n + col]);
        c[(i * m + r) * n + col] = (float)s;
      }
  }
}

static void test_matmul(void) {
  sinter_error_t err;
  const int64_t shapes[][6] = {/* batch, m, k, n, b_batched, trans_b */
                               {1, 7, 13, 5, 0, 1},
                               {1, 129, 64, 33, 0, 0},
                               {3, 5, 32, 9, 1, 1},
                               {4, 1, 17, 3, 1, 0},
                               {2, 8, 8, 8, 0, 1}};
  unsigned seed = 7;
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    int64_t batch = shapes[s][0], m = shapes[s][1], k = shapes[s][2], n = shapes[s][3];
    int bb = (int)shapes[s][4], tb = (int)shapes[s][5];
    size_t na = (size_t)(batch * m * k), nb = (size_t)((bb ? batch : 1) * k * n);
    size_t nc = (size_t)(batch * m * n);
    float *a = malloc(na * 4), *b = malloc(nb * 4), *c = malloc(nc * 4), *ref = malloc(nc * 4);
    for (size_t i = 0; i < na; i++) a[i] = frand(&seed);
    for (size_t i = 0; i < nb; i++) b[i] = frand(&seed);
    SN_CHECK_OK(sn_matmul_f32(batch, m, k, n, a, b, bb, tb, c, &err), &err);
    naive_matmul(batch, m, k, n, a, b, bb, tb, ref);
    double max_diff = 0;
    for (size_t i = 0; i < nc; i++) max_diff = fmax(max_diff, fabs((double)c[i] - ref[i]));
    SN_CHECK_MSG(max_diff < 1e-4, "shape %zu: max diff %g", s, max_diff);
    free(a), free(b), free(c), free(ref);
  }
}

/* An int8 linear (sn_linear_* with desc.int8) runs the int8 GEMM: its output
 * equals the dequantised exact integer products of the operands it reports
 * (gemm_int8.h: per-token activation scale, per-channel weight scale), and a
 * row's output does not depend on the other rows of the batch. A layout of
 * the wrong kind for the desc is refused. Odd K (tails) and N; the kernel
 * itself is tested on every path in test_gemm_int8.c. */
static void test_int8_linear_is_exact(void) {
  sinter_error_t err;
  sn_dnnl_t *d = NULL;
  SN_CHECK_OK(sn_dnnl_create(&d, &err), &err);
  if (!d) return;
  enum { M = 13, K = 77, N = 37 };
  unsigned seed = 5;
  float *x = malloc(M * K * sizeof(float)), *w = malloc(N * K * sizeof(float));
  float bias[N], a[M * N], one[N];
  for (int i = 0; i < M * K; i++) x[i] = frand(&seed);
  for (int i = 0; i < N * K; i++) w[i] = frand(&seed);
  for (int i = 0; i < N; i++) bias[i] = frand(&seed);
  sn_linear_desc_t desc = {K, N, 0, 0, 1}, fp32 = {K, N, 0, 0, 0};
  void *data = NULL, *layout = NULL;
  size_t bytes = 0, layout_size = 0;
  sn_linear_t *l = NULL;
  SN_CHECK_ERR(sn_linear_prepack(d, &desc, SN_LINEAR_ONEDNN, w, 0, NULL, &data, &bytes, &layout,
                                 &layout_size, &err),
               SINTER_ERR_INTERNAL, &err, "int8 kernel");
  SN_CHECK_OK(sn_linear_prepack(d, &desc, SN_LINEAR_GEMM_INT8, w, 0, NULL, &data, &bytes, &layout,
                                &layout_size, &err),
              &err);
  SN_CHECK(layout && !strcmp(sn_linear_layout_kind(layout, layout_size), "int8"));
  SN_CHECK_ERR(sn_linear_create(d, &fp32, layout, layout_size, bytes, &l, &err), SINTER_ERR_FORMAT,
               &err, "packed as int8");
  SN_CHECK_ERR(sn_linear_create(d, &desc, layout, layout_size, bytes - 1, &l, &err),
               SINTER_ERR_FORMAT, &err, "bytes");
  SN_CHECK_OK(sn_linear_create(d, &desc, layout, layout_size, bytes, &l, &err), &err);
  if (l) {
    SN_CHECK_OK(sn_linear_run(l, M, x, data, bias, a, &err), &err);
    /* The reference: the same quantisation, exact integer sums in int64. */
    const int8_t *qw;
    const float *sw;
    sn_gemm_i8_parts(K, N, data, &qw, &sw, NULL, NULL, NULL);
    int8_t q[80];
    double worst = 0;
    for (int r = 0; r < M; r++) {
      float s = sn_gemm_i8_quantize_row(K, N, data, x + r * K, q);
      for (int c = 0; c < N; c++) {
        int64_t sum = 0;
        for (int k = 0; k < K; k++)
          sum += (int64_t)q[k] * qw[(c / 16) * 80 * 16 + k / 4 * 64 + 4 * (c % 16) + k % 4];
        double want = (double)sum * s * sw[c] + bias[c];
        worst = fmax(worst, fabs(want - a[r * N + c]));
      }
    }
    SN_CHECK_MSG(worst < 1e-5, "int8 linear: worst error %g against exact integer sums", worst);
    /* Row 5 alone gives the same bits as row 5 in the batch. */
    SN_CHECK_OK(sn_linear_run(l, 1, x + 5 * K, data, bias, one, &err), &err);
    int same = 1;
    for (int c = 0; c < N; c++) same &= one[c] == a[5 * N + c];
    SN_CHECK_MSG(same, "int8 linear: a row's output depends on its batch");
  }
  sn_linear_destroy(l);
  free(data), free(layout);
  free(x), free(w);
  sn_dnnl_destroy(d);
}

int main(void) {
  SN_RUN(test_activations);
  SN_RUN(test_layernorm);
  SN_RUN(test_masked_softmax);
  SN_RUN(test_transpose);
  SN_RUN(test_pooling);
  SN_RUN(test_matmul);
  SN_RUN(test_int8_linear_is_exact);
  return SN_TEST_REPORT();
}
