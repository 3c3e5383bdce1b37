/*
 * eager.h — the eager executor: interprets the unfused graph op by op with a
 * fresh buffer per op, freed after its last use. Simple on purpose: it is the
 * correctness oracle and the honest baseline for the compiled path.
 */
#ifndef SN_RUNTIME_EAGER_H
#define SN_RUNTIME_EAGER_H

#include <stdint.h>

#include "ir/graph.h"
#include "kernels/matmul.h"

/* Largest single intermediate the eager executor will allocate. */
#define SN_EAGER_MAX_BUFFER_BYTES ((int64_t)8 << 30)
/* The most bytes of intermediates one eager run may hold at once; checked
 * before the run allocates anything. */
#define SN_EAGER_MAX_RUN_BYTES ((int64_t)12 << 30)

/* Padded inputs of one run: b sequences of s positions. */
typedef struct sn_eager_inputs {
  int64_t batch, seq;
  const int32_t *input_ids;      /* [b, s] */
  const int32_t *token_type_ids; /* [b, s] */
  const float *attention_mask;   /* [b, s], 1 real token, 0 padding */
} sn_eager_inputs_t;

/* Runs graph g. For each of the graph's outputs k, out_values[k] receives a
 * new malloc'd float buffer (caller frees each) holding the output bound to
 * (batch, seq). Its kernels run on the calling thread's current pool.
 * Errors: LIMIT or OUT_OF_MEMORY for an intermediate too large. On error no
 * buffer is left allocated. */
sinter_status_t sn_eager_run(const sn_ir_graph_t *g, const sn_eager_inputs_t *in,
                             float **out_values, sinter_error_t *err);

#endif
