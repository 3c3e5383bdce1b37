/*
 * plan.h — the compiled executor: runs a packed, memory-planned graph (the
 * compiler's output) on packed batches with no per-request graph work. All
 * intermediates live in one arena allocated when the executor is created;
 * matmul primitives are created then too.
 */
#ifndef SN_RUNTIME_PLAN_H
#define SN_RUNTIME_PLAN_H

#include <stdint.h>

#include "ir/graph.h"

typedef struct sn_plan_exec sn_plan_exec_t;

/* Creates an executor for the compiled graph g (borrowed: it must outlive
 * the executor). Errors: UNSUPPORTED when a pre-packed weight layout does not
 * suit this CPU; OUT_OF_MEMORY for the arena. */
sinter_status_t sn_plan_exec_create(const sn_ir_graph_t *g, sn_plan_exec_t **out,
                                    sinter_error_t *err);

/* Releases an executor (NULL allowed). */
void sn_plan_exec_destroy(sn_plan_exec_t *e);

/* Runs one packed batch: ids and type_ids (NULL: zeros) [total], offsets
 * [num_seqs + 1] with offsets[num_seqs] = total <= the graph's max_tokens
 * and num_seqs <= its max_seqs (LIMIT otherwise). Output k of the graph is then at
 * sn_plan_exec_output(e, k), valid until the next run. */
sinter_status_t sn_plan_exec_run(sn_plan_exec_t *e, const int32_t *ids, const int32_t *type_ids,
                                 const int32_t *offsets, int32_t num_seqs, sinter_error_t *err);

/* Per-op-kind wall time, accumulated over runs while profiling is on
 * (sn_plan_exec_profile(e, 1)); seconds[op] and calls[op] for each
 * sn_ir_op_t. Off by default: timing costs two clock reads per node. */
void sn_plan_exec_profile(sn_plan_exec_t *e, int on);
void sn_plan_exec_profile_get(const sn_plan_exec_t *e, double *seconds, int64_t *calls);

/* Called before each LINEAR node runs with the name of its weight and its
 * input x [rows, k] (borrowed for the call), on the thread that runs the
 * plan. For int8 calibration (api/calibrate.c); fn NULL turns it off. */
typedef void (*sn_plan_observer_fn)(void *ctx, const char *weight, const float *x, int64_t rows,
                                    int64_t k);
void sn_plan_exec_observe(sn_plan_exec_t *e, sn_plan_observer_fn fn, void *ctx);

/* The k-th graph output of the last run (rows: total tokens or sequences). */
const float *sn_plan_exec_output(const sn_plan_exec_t *e, int k);

#endif
