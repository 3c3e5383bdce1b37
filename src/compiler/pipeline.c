/* pipeline.c — runs the passes in order and records what each did. */
#include <string.h>

#include "compiler/compiler.h"

static const struct {
  const char *name;
  sn_pass_fn fn;
} pipeline[] = {
    {"cleanup", sn_pass_cleanup},
    {"fold_scale", sn_pass_fold_scale},
    {"merge_qkv", sn_pass_merge_qkv},
    {"fuse_attention", sn_pass_fuse_attention},
    {"fuse_embeddings", sn_pass_fuse_embeddings},
    {"fuse_glu", sn_pass_fuse_glu},
    {"fuse_epilogues", sn_pass_fuse_epilogues},
    {"fuse_layernorm", sn_pass_fuse_layernorm},
    {"pack", sn_pass_pack},
    {"fuse_pool", sn_pass_fuse_pool},
    {"plan_memory", sn_pass_plan_memory},
    {"prepack", sn_pass_prepack},
};

sinter_status_t sn_compile_model(const sinter_model_t *model, const sn_build_options_t *build,
                                 const sn_compile_options_t *opts, sn_ir_graph_t *out,
                                 sn_compile_report_t *report, sinter_error_t *err) {
  memset(report, 0, sizeof *report);
  if (opts->max_tokens < 1 || opts->max_seq < 1 || opts->max_seq > opts->max_tokens)
    return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                        "compile: need 1 <= max_seq (%lld) <= max_tokens (%lld)",
                        (long long)opts->max_seq, (long long)opts->max_tokens);
  const sn_config_t *cfg = sn_model_config(model);
  if (opts->max_seq > cfg->max_positions)
    return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                        "compile: max_seq %lld exceeds the model's %d positions "
                        "(max_position_embeddings %d)",
                        (long long)opts->max_seq, (int)cfg->max_positions,
                        (int)cfg->max_position_embeddings);
  SN_TRY(sn_ir_build(model, build, out, err));
  for (size_t p = 0; p < sizeof pipeline / sizeof pipeline[0]; p++) {
    sn_pass_report_t *r = &report->passes[report->num_passes++];
    r->name = pipeline[p].name;
    r->nodes_before = out->count;
    sinter_status_t st = pipeline[p].fn(out, opts, r, err);
    r->nodes_after = out->count;
    if (st) {
      sn_error_prefix(err, "compiler pass %s", pipeline[p].name);
      sn_ir_graph_deinit(out);
      return st;
    }
  }
  report->arena_bytes = out->arena_bytes;
  for (int32_t i = 0; i < out->count; i++) {
    const sn_ir_node_t *n = &out->nodes[i];
    if (n->op == SN_OP_WEIGHT)
      report->weight_bytes +=
          n->layout ? (int64_t)n->nbytes : sn_ir_shape_bind(&n->shape, 1, 1, NULL) * 4;
  }
  return SINTER_OK;
}

void sn_compile_report_print(const sn_compile_report_t *r, FILE *out) {
  fprintf(out, "%-16s %8s %8s %9s %14s\n", "pass", "ops in", "ops out", "rewrites", "bytes folded");
  for (int i = 0; i < r->num_passes; i++) {
    const sn_pass_report_t *p = &r->passes[i];
    fprintf(out, "%-16s %8d %8d %9d %14lld\n", p->name, (int)p->nodes_before, (int)p->nodes_after,
            (int)p->rewrites, (long long)p->bytes_folded);
  }
  fprintf(out, "arena: %lld bytes (%.2f MiB); weights: %lld bytes (%.1f MiB)\n",
          (long long)r->arena_bytes, (double)r->arena_bytes / (1 << 20), (long long)r->weight_bytes,
          (double)r->weight_bytes / (1 << 20));
}
