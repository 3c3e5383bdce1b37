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
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return printf("%s", usage), 0;
    int r = cli_parse_common(&opts, argc, argv, &i);
    if (r < 0) return SN_EXIT_USAGE;
    if (r == 0) return cli_usage_error(usage, "unexpected argument \"%s\"", argv[i]);
  }
  if (!opts.model_dir) return cli_usage_error(usage, "--model is required");
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
  sn_build_options_t build = {sn_model_modules(model)->pooling, sn_model_modules(model)->normalize};
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
