/*
 * bench_linear_m.c — how should a compiled linear handle a row count M it has
 * not seen? Measures, for oneDNN f32 matmuls with bias on BERT shapes, the three
 * options issue 5 names:
 *
 *   runtime  one primitive with M = DNNL_RUNTIME_DIM_VAL, made at load time
 *            (what src/kernels/matmul.c does);
 *   exact    a primitive made for this exact M (oneDNN's primitive cache off,
 *            so the first-use creation cost is visible), weights in the layout
 *            that primitive asks for;
 *   bucket   a primitive for M rounded up to a power of two (>= 16), run on
 *            a zero-padded input: a few primitives cover every M, at the price
 *            of computing the padding rows.
 *
 * A standalone driver, not a test. Build and run from the repository root:
 *   gcc -std=c11 -D_GNU_SOURCE -O2 -fopenmp bench/bench_linear_m.c -ldnnl -o /tmp/blm &&
 *   OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=2 /tmp/blm
 * Results go in bench/RESULTS.md ("Row counts: runtime M vs per-M primitives").
 */
#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#define CHECK(x)                                                              \
  do {                                                                        \
    dnnl_status_t s_ = (x);                                                   \
    if (s_) {                                                                 \
      fprintf(stderr, "%s:%d: %s failed (%d)\n", __FILE__, __LINE__, #x, s_); \
      exit(1);                                                                \
    }                                                                         \
  } while (0)

static dnnl_engine_t engine;
static dnnl_stream_t stream;

/* A matmul primitive for [m, k] x [k, n] + bias; m may be DNNL_RUNTIME_DIM_VAL.
 * *wmd receives the weights layout the primitive wants. */
static dnnl_primitive_t make(int64_t m, int64_t k, int64_t n, dnnl_memory_desc_t *wmd,
                             double *seconds) {
  dnnl_memory_desc_t src, wei, bias, dst;
  dnnl_dims_t sd = {m, k}, ss = {k, 1}, wd = {k, n}, bd = {1, n}, dd = {m, n}, ds = {n, 1};
  double t0 = now();
  CHECK(dnnl_memory_desc_init_by_strides(&src, 2, sd, dnnl_f32, ss));
  CHECK(dnnl_memory_desc_init_by_tag(&wei, 2, wd, dnnl_f32, dnnl_format_tag_any));
  CHECK(dnnl_memory_desc_init_by_tag(&bias, 2, bd, dnnl_f32, dnnl_ab));
  CHECK(dnnl_memory_desc_init_by_strides(&dst, 2, dd, dnnl_f32, ds));
  dnnl_matmul_desc_t md;
  CHECK(dnnl_matmul_desc_init(&md, &src, &wei, &bias, &dst));
  dnnl_primitive_desc_t pd;
  CHECK(dnnl_primitive_desc_create(&pd, &md, NULL, engine, NULL));
  *wmd = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
  dnnl_primitive_t p;
  CHECK(dnnl_primitive_create(&p, pd));
  *seconds = now() - t0;
  dnnl_primitive_desc_destroy(pd);
  return p;
}

/* Median seconds of `reps` runs of p on m rows. */
static double run(dnnl_primitive_t p, int64_t m, int64_t k, int64_t n,
                  const dnnl_memory_desc_t *wmd, float *x, float *w, float *b, float *y, int reps) {
  dnnl_memory_desc_t src, bias, dst;
  dnnl_dims_t sd = {m, k}, ss = {k, 1}, bd = {1, n}, dd = {m, n}, ds = {n, 1};
  CHECK(dnnl_memory_desc_init_by_strides(&src, 2, sd, dnnl_f32, ss));
  CHECK(dnnl_memory_desc_init_by_tag(&bias, 2, bd, dnnl_f32, dnnl_ab));
  CHECK(dnnl_memory_desc_init_by_strides(&dst, 2, dd, dnnl_f32, ds));
  dnnl_memory_t ms, mw, mb, md;
  CHECK(dnnl_memory_create(&ms, &src, engine, x));
  CHECK(dnnl_memory_create(&mw, wmd, engine, w));
  CHECK(dnnl_memory_create(&mb, &bias, engine, b));
  CHECK(dnnl_memory_create(&md, &dst, engine, y));
  dnnl_exec_arg_t args[4] = {
      {DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_BIAS, mb}, {DNNL_ARG_DST, md}};
  double t[64];
  for (int r = -1; r < reps; r++) {
    double t0 = now();
    CHECK(dnnl_primitive_execute(p, stream, 4, args));
    CHECK(dnnl_stream_wait(stream));
    if (r >= 0) t[r] = now() - t0;
  }
  for (int i = 1; i < reps; i++)
    for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
      double s = t[j];
      t[j] = t[j - 1], t[j - 1] = s;
    }
  dnnl_memory_destroy(ms), dnnl_memory_destroy(mw), dnnl_memory_destroy(mb),
      dnnl_memory_destroy(md);
  return t[reps / 2];
}

int main(void) {
  CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0));
  CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
  CHECK(dnnl_set_primitive_cache_capacity(0));
  static const int64_t shapes[][2] = {{768, 2304}, {768, 3072}, {3072, 768}, {384, 1536}};
  static const int64_t ms[] = {1, 16, 77, 128, 333, 979, 1024};
  const int64_t max_m = 1024, max_k = 3072, max_n = 3072;
  float *x = calloc((size_t)(max_m * max_k), 4), *w = calloc((size_t)(max_k * max_n) + 64, 4),
        *b = calloc((size_t)max_n, 4), *y = calloc((size_t)(max_m * max_n), 4);
  for (int64_t i = 0; i < max_m * max_k; i++) x[i] = (float)(i % 7) * 0.1f;
  for (int64_t i = 0; i < max_k * max_n; i++) w[i] = (float)(i % 5) * 0.01f;
  printf(
      "| K x N | M | runtime-M ms | exact-M ms | exact-M create ms | same layout | "
      "bucket M | bucket ms |\n|---|---:|---:|---:|---:|---|---:|---:|\n");
  for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
    int64_t k = shapes[s][0], n = shapes[s][1];
    dnnl_memory_desc_t w_rt, w_ex, w_bk;
    double c_rt, c_ex, c_bk;
    dnnl_primitive_t p_rt = make(DNNL_RUNTIME_DIM_VAL, k, n, &w_rt, &c_rt);
    for (size_t i = 0; i < sizeof ms / sizeof *ms; i++) {
      int64_t m = ms[i], bucket = 16;
      while (bucket < m) bucket *= 2;
      int reps = m <= 128 ? 41 : 9;
      double t_rt = run(p_rt, m, k, n, &w_rt, x, w, b, y, reps);
      dnnl_primitive_t p_ex = make(m, k, n, &w_ex, &c_ex);
      double t_ex = run(p_ex, m, k, n, &w_ex, x, w, b, y, reps);
      dnnl_primitive_t p_bk = make(bucket, k, n, &w_bk, &c_bk);
      double t_bk = run(p_bk, bucket, k, n, &w_bk, x, w, b, y, reps);
      printf("| %lld x %lld | %lld | %.3f | %.3f | %.2f | %s | %lld | %.3f |\n", (long long)k,
             (long long)n, (long long)m, t_rt * 1e3, t_ex * 1e3, c_ex * 1e3,
             dnnl_memory_desc_equal(&w_rt, &w_ex) ? "yes" : "no", (long long)bucket, t_bk * 1e3);
      fflush(stdout);
      dnnl_primitive_destroy(p_ex), dnnl_primitive_destroy(p_bk);
    }
    dnnl_primitive_destroy(p_rt);
  }
  free(x), free(w), free(b), free(y);
  dnnl_stream_destroy(stream);
  dnnl_engine_destroy(engine);
  return 0;
}
