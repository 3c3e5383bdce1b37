/* matmul.c — oneDNN matmul with plain layouts (eager path). */
#include "kernels/matmul.h"

#include <oneapi/dnnl/dnnl.h>
#include <stdlib.h>

struct sn_dnnl {
  dnnl_engine_t engine;
  dnnl_stream_t stream;
};

sinter_status_t sn_dnnl_create(sn_dnnl_t **out, sinter_error_t *err) {
  *out = NULL;
  sn_dnnl_t *d = calloc(1, sizeof *d);
  if (!d) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "oneDNN context");
  if (dnnl_engine_create(&d->engine, dnnl_cpu, 0) != dnnl_success ||
      dnnl_stream_create(&d->stream, d->engine, dnnl_stream_default_flags) != dnnl_success) {
    sn_dnnl_destroy(d);
    return sn_error_set(err, SINTER_ERR_INTERNAL, "oneDNN: cannot create a CPU engine and stream");
  }
  *out = d;
  return SINTER_OK;
}

void sn_dnnl_destroy(sn_dnnl_t *d) {
  if (!d) return;
  if (d->stream) dnnl_stream_destroy(d->stream);
  if (d->engine) dnnl_engine_destroy(d->engine);
  free(d);
}

sinter_status_t sn_matmul_f32(sn_dnnl_t *d, int64_t batch, int64_t m, int64_t k, int64_t n,
                              const float *a, const float *b, int b_batched, int trans_b,
                              float *c, sinter_error_t *err) {
  dnnl_memory_desc_t a_md, b_md, c_md;
  dnnl_dims_t a_dims = {batch, m, k}, a_strides = {m * k, k, 1};
  dnnl_dims_t b_dims = {b_batched ? batch : 1, k, n};
  dnnl_dims_t b_strides = {k * n, trans_b ? 1 : n, trans_b ? k : 1};
  dnnl_dims_t c_dims = {batch, m, n}, c_strides = {m * n, n, 1};
  dnnl_primitive_desc_t pd = NULL;
  dnnl_primitive_t prim = NULL;
  dnnl_memory_t mem[3] = {NULL, NULL, NULL};
  dnnl_status_t s;
  dnnl_matmul_desc_t desc;
  sinter_status_t st = SINTER_OK;
  if ((s = dnnl_memory_desc_init_by_strides(&a_md, 3, a_dims, dnnl_f32, a_strides)) ||
      (s = dnnl_memory_desc_init_by_strides(&b_md, 3, b_dims, dnnl_f32, b_strides)) ||
      (s = dnnl_memory_desc_init_by_strides(&c_md, 3, c_dims, dnnl_f32, c_strides)) ||
      (s = dnnl_matmul_desc_init(&desc, &a_md, &b_md, NULL, &c_md)) ||
      (s = dnnl_primitive_desc_create(&pd, &desc, NULL, d->engine, NULL)) ||
      (s = dnnl_primitive_create(&prim, pd)) ||
      (s = dnnl_memory_create(&mem[0], &a_md, d->engine, (void *)a)) ||
      (s = dnnl_memory_create(&mem[1], &b_md, d->engine, (void *)b)) ||
      (s = dnnl_memory_create(&mem[2], &c_md, d->engine, c))) {
    st = sn_error_set(err, SINTER_ERR_INTERNAL,
                      "oneDNN matmul [%lld x %lld x %lld x %lld]: setup failed (status %d)",
                      (long long)batch, (long long)m, (long long)k, (long long)n, (int)s);
    goto done;
  }
  dnnl_exec_arg_t args[3] = {
      {DNNL_ARG_SRC, mem[0]}, {DNNL_ARG_WEIGHTS, mem[1]}, {DNNL_ARG_DST, mem[2]}};
  if ((s = dnnl_primitive_execute(prim, d->stream, 3, args)) || (s = dnnl_stream_wait(d->stream)))
    st = sn_error_set(err, SINTER_ERR_INTERNAL, "oneDNN matmul: execution failed (status %d)",
                      (int)s);
done:
  for (int i = 0; i < 3; i++)
    if (mem[i]) dnnl_memory_destroy(mem[i]);
  if (prim) dnnl_primitive_destroy(prim);
  if (pd) dnnl_primitive_desc_destroy(pd);
  return st;
}
