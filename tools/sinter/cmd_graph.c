/* cmd_graph.c — `sinter graph`: print a model's unfused graph. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ir/builder.h"

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
  sinter_model_t *model = NULL;
  if (cli_open_as_is(&opts, &model, &err)) return cli_fail(&err);
  if (model->plan) { /* an artifact: its compiled plan is the graph there is */
    sn_ir_print(model->plan, stdout);
    printf("# %d nodes, compiled plan\n", (int)model->plan->count);
    sinter_model_close(model);
    return SN_EXIT_OK;
  }
  sn_build_options_t build = {model->modules.pooling, model->modules.normalize};
  sn_ir_graph_t g;
  if (sn_ir_build(model, &build, &g, &err)) {
    sinter_model_close(model);
    return cli_fail(&err);
  }
  sn_ir_print(&g, stdout);
  printf("# %d nodes, verified\n", (int)g.count);
  sn_ir_graph_deinit(&g);
  sinter_model_close(model);
  return SN_EXIT_OK;
}
