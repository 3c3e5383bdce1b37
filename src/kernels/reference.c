/* reference.c — straightforward kernels for the eager executor. */
#include "kernels/reference.h"

#include <float.h>
#include <math.h>
#include <string.h>

void sn_ref_gather(const float *table, int64_t h, const int32_t *ids, int64_t n, float *out) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) memcpy(out + i * h, table + (int64_t)ids[i] * h, (size_t)h * 4);
}

void sn_ref_add(const float *a, int64_t na, const float *b, int64_t nb, float *out) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < na / nb; r++)
    for (int64_t j = 0; j < nb; j++) out[r * nb + j] = a[r * nb + j] + b[j];
}

void sn_ref_scale(const float *x, int64_t n, float s, float *out) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) out[i] = x[i] * s;
}

void sn_ref_transpose(const float *x, int rank, const int64_t *dims, const int *perm, float *out) {
  /* Pad to rank 4 with leading unit dims so one loop nest serves all ranks. */
  int64_t d[4] = {1, 1, 1, 1}, in_stride[4], od[4];
  int p[4] = {0, 1, 2, 3};
  int pad = 4 - rank;
  for (int i = 0; i < rank; i++) {
    d[pad + i] = dims[i];
    p[pad + i] = pad + perm[i];
  }
  in_stride[3] = 1;
  for (int i = 2; i >= 0; i--) in_stride[i] = in_stride[i + 1] * d[i + 1];
  for (int i = 0; i < 4; i++) od[i] = d[p[i]];
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t i0 = 0; i0 < od[0]; i0++)
    for (int64_t i1 = 0; i1 < od[1]; i1++)
      for (int64_t i2 = 0; i2 < od[2]; i2++) {
        float *o = out + ((i0 * od[1] + i1) * od[2] + i2) * od[3];
        const float *src = x + i0 * in_stride[p[0]] + i1 * in_stride[p[1]] + i2 * in_stride[p[2]];
        int64_t step = in_stride[p[3]];
        for (int64_t i3 = 0; i3 < od[3]; i3++) o[i3] = src[i3 * step];
      }
}

void sn_ref_masked_softmax(const float *scores, const float *mask, int64_t b, int64_t heads,
                           int64_t sq, int64_t sk, float scale, float *out) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t bi = 0; bi < b; bi++)
    for (int64_t r = 0; r < heads * sq; r++) {
      const float *row = scores + (bi * heads * sq + r) * sk;
      const float *m = mask + bi * sk;
      float *o = out + (bi * heads * sq + r) * sk;
      float mx = -FLT_MAX;
      int any = 0;
      for (int64_t j = 0; j < sk; j++)
        if (m[j] != 0.0f) {
          float v = row[j] * scale;
          mx = v > mx ? v : mx;
          any = 1;
        }
      double sum = 0;
      for (int64_t j = 0; j < sk; j++) {
        float e = (m[j] != 0.0f || !any) ? expf(row[j] * scale - (any ? mx : 0.0f)) : 0.0f;
        o[j] = e;
        sum += e;
      }
      float inv = (float)(1.0 / sum);
      for (int64_t j = 0; j < sk; j++) o[j] *= inv;
    }
}

void sn_ref_layernorm(const float *x, const float *gamma, const float *beta, int64_t rows,
                      int64_t h, float eps, float *out) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float *row = x + r * h;
    float *o = out + r * h;
    double mean = 0, var = 0;
    for (int64_t j = 0; j < h; j++) mean += row[j];
    mean /= (double)h;
    for (int64_t j = 0; j < h; j++) var += (row[j] - mean) * (row[j] - mean);
    var /= (double)h;
    float inv = (float)(1.0 / sqrt(var + eps));
    for (int64_t j = 0; j < h; j++) o[j] = (float)(row[j] - mean) * inv * gamma[j] + beta[j];
  }
}

void sn_ref_gelu(const float *x, int64_t n, float *out) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) out[i] = 0.5f * x[i] * (1.0f + erff(x[i] * (float)M_SQRT1_2));
}

void sn_ref_gelu_tanh(const float *x, int64_t n, float *out) {
  const float k = 0.7978845608028654f; /* sqrt(2 / pi) */
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    float v = x[i];
    out[i] = 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v)));
  }
}

void sn_ref_relu(const float *x, int64_t n, float *out) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) out[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void sn_ref_tanh(const float *x, int64_t n, float *out) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) out[i] = tanhf(x[i]);
}

void sn_ref_slice_first(const float *x, int64_t b, int64_t s, int64_t h, float *out) {
  for (int64_t i = 0; i < b; i++) memcpy(out + i * h, x + i * s * h, (size_t)h * sizeof(float));
}

void sn_ref_pool(const float *x, const float *mask, int64_t b, int64_t s, int64_t h,
                 sinter_pooling_t mode, float *out) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < b; i++) {
    float *o = out + i * h;
    const float *m = mask + i * s;
    const float *seq = x + i * s * h;
    if (mode == SINTER_POOL_CLS) {
      memcpy(o, seq, (size_t)h * sizeof(float));
      continue;
    }
    double count = 0;
    for (int64_t t = 0; t < s; t++) count += m[t];
    for (int64_t j = 0; j < h; j++) {
      if (mode == SINTER_POOL_MAX) {
        /* sentence-transformers sets padded positions to -1e9 before max. */
        float mx = -FLT_MAX;
        for (int64_t t = 0; t < s; t++) {
          float v = m[t] != 0.0f ? seq[t * h + j] : -1e9f;
          mx = v > mx ? v : mx;
        }
        o[j] = mx;
      } else {
        double sum = 0;
        for (int64_t t = 0; t < s; t++) sum += (double)seq[t * h + j] * m[t];
        double denom = count > 1e-9 ? count : 1e-9;
        o[j] = (float)(mode == SINTER_POOL_MEAN ? sum / denom : sum / sqrt(denom));
      }
    }
  }
}

void sn_ref_l2_normalize(const float *x, int64_t rows, int64_t h, float *out) {
  for (int64_t r = 0; r < rows; r++) {
    double ss = 0;
    for (int64_t j = 0; j < h; j++) ss += (double)x[r * h + j] * x[r * h + j];
    double norm = sqrt(ss);
    float inv = (float)(1.0 / (norm > 1e-12 ? norm : 1e-12));
    for (int64_t j = 0; j < h; j++) out[r * h + j] = x[r * h + j] * inv;
  }
}

void sn_ref_softmax(const float *x, int64_t rows, int64_t n, float *out) {
  for (int64_t r = 0; r < rows; r++) {
    const float *row = x + r * n;
    float mx = -FLT_MAX;
    for (int64_t j = 0; j < n; j++) mx = row[j] > mx ? row[j] : mx;
    double sum = 0;
    for (int64_t j = 0; j < n; j++) sum += (out[r * n + j] = expf(row[j] - mx));
    for (int64_t j = 0; j < n; j++) out[r * n + j] = (float)(out[r * n + j] / sum);
  }
}
