/* cmd_info.c — `sinter info`: what a model folder holds. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: sinter info --model DIR\n\n"
    "Prints the architecture, sizes, parameter count, pooling and labels.\n\n"
    "options:\n" CLI_COMMON_USAGE;

static const char *pooling_name(sinter_pooling_t p) {
  switch (p) {
    case SINTER_POOL_CLS: return "cls";
    case SINTER_POOL_MEAN: return "mean";
    case SINTER_POOL_MAX: return "max";
    case SINTER_POOL_MEAN_SQRT_LEN: return "mean_sqrt_len";
    case SINTER_POOL_LAST_TOKEN: return "lasttoken";
    case SINTER_POOL_WEIGHTED_MEAN: return "weightedmean";
    default: return "default";
  }
}

int sn_cmd_info(int argc, char **argv) {
  cli_common_t opts = {0};
  int rc = cli_parse_only_common(&opts, argc, argv, usage);
  if (rc >= 0) return rc;
  sinter_error_t err;
  cli_model_t model = {0};
  if (cli_open_as_is(&opts, &model, &err)) return cli_fail(&err);
  sinter_model_info_t info;
  sinter_model_get_info(model.model, &info);
  printf("model:            %s\n", opts.model_dir);
  printf("model type:       %s\n", info.model_type);
  printf("architecture:     %s\n", info.architecture);
  printf("layers:           %d\n", info.num_layers);
  printf("hidden size:      %d\n", info.hidden_size);
  printf("attention heads:  %d (head size %d)\n", info.num_heads, info.head_dim);
  if (info.num_kv_heads != info.num_heads)
    printf("key/value heads:  %d (grouped-query attention)\n", info.num_kv_heads);
  printf("attention:        %s", info.causal ? "causal" : "bidirectional");
  if (info.sliding_layers)
    printf(", %d of %d layers see %d positions %s", info.sliding_layers, info.num_layers,
           info.sliding_window, info.causal ? "back" : "each side");
  printf("\n");
  printf("intermediate:     %d\n", info.intermediate_size);
  printf("activation:       %s\n", info.hidden_act);
  printf("vocabulary:       %d\n", info.vocab_size);
  printf("max positions:    %d\n", info.max_position_embeddings);
  printf("max seq length:   %d\n", info.max_seq_length);
  printf("token types:      %d\n", info.type_vocab_size);
  printf("layer norm eps:   %g\n", (double)info.layer_norm_eps);
  printf("parameters:       %lld (%.1f M)\n", (long long)info.parameter_count,
         (double)info.parameter_count / 1e6);
  printf("pooler:           %s\n", info.has_pooler ? "yes" : "no");
  if (info.has_mlm_head) printf("masked-LM head:   yes (SPLADE: embed --sparse)\n");
  printf("pooling:          %s%s%s\n", pooling_name(info.pooling),
         info.dense_modules ? " + Dense" : "", info.normalize ? " + L2 normalize" : "");
  printf("embedding size:   %d\n", info.embedding_dim);
  if (info.num_labels) {
    printf("labels:           %d:", info.num_labels);
    for (int i = 0; i < info.num_labels; i++) printf(" %d=%s", i, info.labels[i]);
    printf("\n");
  } else {
    printf("labels:           none (encoder)\n");
  }
  cli_model_close(&model);
  return SN_EXIT_OK;
}
