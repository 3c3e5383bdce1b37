/* cmd_graph.c — `sinter graph`: print a model's unfused graph. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ir/builder.h"
#include "program/program.h"

static const char usage[] =
    "usage: sinter graph --model DIR\n\n"
    "Prints the unfused graph (one op a line, shapes in B and S) and verifies it.\n\n"
    "options:\n" CLI_COMMON_USAGE;

int sn_cmd_graph(int argc, char **argv) {
  cli_common_t opts = {0};
  int rc = cli_parse_only_common(&opts, argc, argv, usage);
  if (rc >= 0) return rc;
  sinter_error_t err;
  cli_model_t opened = {0};
  if (cli_open_as_is(&opts, &opened, &err)) return cli_fail(&err);
  const sinter_model_t *model = opened.model;
  if (opened.program) { /* an artifact: its compiled plan is the graph there is */
    const sn_ir_graph_t *plan = sn_program_plan(opened.program);
    sn_ir_print(plan, stdout);
    printf("# %d nodes, compiled plan\n", (int)plan->count);
    cli_model_close(&opened);
    return SN_EXIT_OK;
  }
  sn_build_options_t build = {.pooling = sn_model_modules(model)->pooling,
                              .normalize = sn_model_modules(model)->normalize};
  sn_ir_graph_t g;
  if (sn_ir_build(model, &build, &g, &err)) {
    cli_model_close(&opened);
    return cli_fail(&err);
  }
  sn_ir_print(&g, stdout);
  printf("# %d nodes, verified\n", (int)g.count);
  sn_ir_graph_deinit(&g);
  cli_model_close(&opened);
  return SN_EXIT_OK;
}
