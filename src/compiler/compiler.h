/*
 * compiler.h — the ahead-of-time compiler: lowers a model's unfused graph to
 * an optimised, packed, memory-planned graph through passes, one per file:
 *
 *   cleanup          drop dropout (identity at inference) and dead nodes
 *   fold_scale       fold 1/sqrt(head_dim) into the query weights and bias
 *   merge_qkv        one matmul for linears sharing an input (Q, K, V)
 *   fuse_attention   scores, mask, softmax, weighted sum -> one attention op
 *   fuse_embeddings  gathers + sums + LayerNorm -> one embedding op
 *   fuse_epilogues   matmul + bias (+ activation | + residual) -> one linear
 *   fuse_layernorm   (residual add +) LayerNorm -> one op
 *   pack             padded [B, S, ...] tensors -> packed [T, ...] rows
 *   fuse_pool        SPLADE pool over a linear -> one pooled linear (no [T, vocab])
 *   plan_memory      liveness -> one arena with an offset per intermediate
 *   prepack          per-matmul kernel choice and weights in its layout
 *
 * The compiled graph becomes a program (program/program.h); options and the
 * report are defined there. Each pass mutates the graph and leaves it verified; passes may append
 * nodes out of order and call sn_compiler_compact to restore topological
 * order and drop the dead.
 */
#ifndef SN_COMPILER_COMPILER_H
#define SN_COMPILER_COMPILER_H

#include <stdio.h>

#include "ir/builder.h"
#include "program/program.h"

/* A pass: rewrites g in place, filling *report (name is set by the caller). */
typedef sinter_status_t (*sn_pass_fn)(sn_ir_graph_t *g, const sn_compile_options_t *opts,
                                      sn_pass_report_t *report, sinter_error_t *err);

/* Builds the model's graph and runs every pass. On success *out holds the
 * compiled graph (caller deinits) and *report what each pass did. */
sinter_status_t sn_compile_model(const sinter_model_t *model, const sn_build_options_t *build,
                                 const sn_compile_options_t *opts, sn_ir_graph_t *out,
                                 sn_compile_report_t *report, sinter_error_t *err);

/* Prints a report as a table. */
void sn_compile_report_print(const sn_compile_report_t *report, FILE *out);

/* The passes, in pipeline order. */
sinter_status_t sn_pass_cleanup(sn_ir_graph_t *, const sn_compile_options_t *, sn_pass_report_t *,
                                sinter_error_t *);
sinter_status_t sn_pass_fold_scale(sn_ir_graph_t *, const sn_compile_options_t *,
                                   sn_pass_report_t *, sinter_error_t *);
sinter_status_t sn_pass_merge_qkv(sn_ir_graph_t *, const sn_compile_options_t *, sn_pass_report_t *,
                                  sinter_error_t *);
sinter_status_t sn_pass_fuse_attention(sn_ir_graph_t *, const sn_compile_options_t *,
                                       sn_pass_report_t *, sinter_error_t *);
sinter_status_t sn_pass_fuse_glu(sn_ir_graph_t *, const sn_compile_options_t *, sn_pass_report_t *,
                                 sinter_error_t *);
sinter_status_t sn_pass_fuse_embeddings(sn_ir_graph_t *, const sn_compile_options_t *,
                                        sn_pass_report_t *, sinter_error_t *);
sinter_status_t sn_pass_fuse_epilogues(sn_ir_graph_t *, const sn_compile_options_t *,
                                       sn_pass_report_t *, sinter_error_t *);
sinter_status_t sn_pass_fuse_layernorm(sn_ir_graph_t *, const sn_compile_options_t *,
                                       sn_pass_report_t *, sinter_error_t *);
sinter_status_t sn_pass_pack(sn_ir_graph_t *, const sn_compile_options_t *, sn_pass_report_t *,
                             sinter_error_t *);
sinter_status_t sn_pass_fuse_pool(sn_ir_graph_t *, const sn_compile_options_t *, sn_pass_report_t *,
                                  sinter_error_t *);
sinter_status_t sn_pass_plan_memory(sn_ir_graph_t *, const sn_compile_options_t *,
                                    sn_pass_report_t *, sinter_error_t *);
/* The fp32 linear kernel (sn_linear_kernel_t, kernels/matmul.h) prepack picks
 * for these options: sinter's GEMM unless the target has AVX-512, where
 * oneDNN's kernels are the faster ones. SINTER_GEMM=onednn|sinter in the
 * environment overrides it (A/B measurements); the choice is part of the
 * artifact's content key. */
int sn_compile_linear_kernel(const sn_compile_options_t *opts);

sinter_status_t sn_pass_prepack(sn_ir_graph_t *, const sn_compile_options_t *, sn_pass_report_t *,
                                sinter_error_t *);

/* --- rewrite helpers (rewrite.c) --- */

/* Number of readers of each node (graph outputs count as readers); the
 * caller frees the returned array. NULL on allocation failure. */
int32_t *sn_compiler_use_counts(const sn_ir_graph_t *g);

/* Points every reader of node `from` (inputs and outputs) at node `to`. */
void sn_compiler_replace_uses(sn_ir_graph_t *g, int32_t from, int32_t to);

/* Drops nodes no output depends on and restores topological order (inputs
 * before readers), renumbering nodes; then verifies. */
sinter_status_t sn_compiler_compact(sn_ir_graph_t *g, sinter_error_t *err);

/* Appends a WEIGHT node that owns `data` (nbytes of float32 with the given
 * shape); the graph frees it. Returns the id or -1 (data freed). */
int32_t sn_compiler_owned_weight(sn_ir_graph_t *g, const char *name, float *data, int rank,
                                 const int64_t *dims);

/* For x = ADD(MATMUL(in, W, trans_b), bias) with weight operands, sets the
 * node ids and returns 1; else 0. */
int sn_compiler_match_linear(const sn_ir_graph_t *g, int32_t x, int32_t *matmul, int32_t *weight,
                             int32_t *bias);

#endif
