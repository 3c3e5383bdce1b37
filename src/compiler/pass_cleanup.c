/* pass_cleanup.c — inference clean-up: dropout is the identity at inference,
 * so its readers read its input; then dead nodes go. */
#include "compiler/compiler.h"

sinter_status_t sn_pass_cleanup(sn_ir_graph_t *g, const sn_compile_options_t *opts,
                                sn_pass_report_t *report, sinter_error_t *err) {
  (void)opts;
  for (int32_t i = 0; i < g->count; i++) {
    if (g->nodes[i].op != SN_OP_DROPOUT) continue;
    sn_compiler_replace_uses(g, i, g->nodes[i].inputs[0]);
    report->rewrites++;
  }
  return sn_compiler_compact(g, err);
}
