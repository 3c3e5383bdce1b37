/* cmd_embed.c — `sinter embed` and `sinter classify`. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char embed_usage[] =
    "usage: sinter embed --model DIR [--pool cls|mean|max|mean_sqrt_len|lasttoken|weightedmean]\n"
    "                    [--normalize|--no-normalize] [--similarity | --sparse]\n"
    "                    [--prompt-name NAME | --prompt TEXT] [TEXT...]\n\n"
    "Prints one JSON line per input: {\"index\", \"text\", \"tokens\", \"embedding\"}.\n"
    "Without TEXT, reads one input per line from stdin. --similarity prints the\n"
    "cosine-similarity matrix of the inputs instead. --prompt-name prepends the\n"
    "folder's prompt of that name (config_sentence_transformers.json) to every text,\n"
    "--prompt TEXT the text given; without either, the folder's default_prompt_name,\n"
    "if any, as sentence-transformers does. --sparse prints SPLADE vectors from a\n"
    "*ForMaskedLM checkpoint's head instead of embeddings (TEI's --pooling splade):\n"
    "{\"index\", \"text\", \"tokens\", \"sparse\": [{\"index\", \"value\"}, ...]}, the\n"
    "nonzero vocabulary entries in index order.\n\n"
    "options:\n" CLI_COMMON_USAGE;

static const char classify_usage[] =
    "usage: sinter classify --model DIR [--pair] [TEXT...]\n\n"
    "Prints one JSON line per input: {\"index\", \"text\", \"label\", \"score\",\n"
    "\"scores\", \"logits\"}. Without TEXT, reads one input per line from stdin.\n\n"
    "options:\n"
    "  --pair              inputs are text pairs for a cross-encoder, tokenized as a\n"
    "                      pair: TEXT arguments two at a time (TEXT PAIR ...), or\n"
    "                      stdin lines split at their first TAB; lines gain "
    "\"pair\"\n" CLI_COMMON_USAGE;

typedef struct embed_ctx {
  int similarity;
  float *all; /* every embedding, for --similarity */
  size_t hidden;
} embed_ctx_t;

static int print_embeddings(void *p, const cli_inputs_t *in, size_t first,
                            const sinter_outputs_t *o) {
  embed_ctx_t *ctx = p;
  ctx->hidden = o->embedding_dim;
  for (size_t r = 0; r < o->batch; r++) {
    const float *e = o->embeddings + r * o->embedding_dim;
    if (ctx->similarity) {
      memcpy(ctx->all + (first + r) * o->embedding_dim, e, o->embedding_dim * sizeof(float));
      continue;
    }
    printf("{\"index\":%zu,\"text\":", in->index[first + r]);
    cli_put_json_string(stdout, in->texts[first + r]);
    printf(",\"tokens\":%zu,\"embedding\":", in->lengths[first + r]);
    cli_put_floats(stdout, e, o->embedding_dim);
    printf("}\n");
  }
  return 0;
}

/* SPLADE vectors: their nonzero entries as [{"index", "value"}], in index
 * order (TEI's /embed_sparse). */
static int print_sparse(void *p, const cli_inputs_t *in, size_t first, const sinter_outputs_t *o) {
  (void)p;
  for (size_t r = 0; r < o->batch; r++) {
    const float *v = o->sparse + r * o->vocab_size;
    printf("{\"index\":%zu,\"text\":", in->index[first + r]);
    cli_put_json_string(stdout, in->texts[first + r]);
    printf(",\"tokens\":%zu,\"sparse\":[", in->lengths[first + r]);
    int any = 0;
    for (size_t k = 0; k < o->vocab_size; k++) {
      if (v[k] == 0.0f) continue;
      printf("%s{\"index\":%zu,\"value\":", any ? "," : "", k);
      cli_put_float(stdout, v[k]);
      putchar('}');
      any = 1;
    }
    printf("]}\n");
  }
  return 0;
}

static void print_similarity(const embed_ctx_t *ctx, const cli_inputs_t *in) {
  size_t n = in->count, h = ctx->hidden;
  printf("cosine similarity of %zu inputs:\n", n);
  for (size_t i = 0; i < n; i++) printf("  [%zu] %s\n", i, in->texts[i]);
  printf("\n     ");
  for (size_t j = 0; j < n; j++) printf(" %6zu", j);
  printf("\n");
  for (size_t i = 0; i < n; i++) {
    printf("%4zu ", i);
    for (size_t j = 0; j < n; j++) {
      const float *a = ctx->all + i * h, *b = ctx->all + j * h;
      double dot = 0, na = 0, nb = 0;
      for (size_t k = 0; k < h; k++) {
        dot += (double)a[k] * b[k];
        na += (double)a[k] * a[k];
        nb += (double)b[k] * b[k];
      }
      /* A NaN compares false with everything: say so rather than print 0. */
      if (!isfinite(dot) || !isfinite(na) || !isfinite(nb))
        printf(" %6s", "nan");
      else
        printf(" %6.3f", na > 0 && nb > 0 ? dot / sqrt(na * nb) : 0.0);
    }
    printf("\n");
  }
}

/* cli_stream, and the exit code: 1 when any input failed (each was named on
 * stderr as it came) or the run did. */
static int stream(const cli_common_t *opts, const cli_model_t *m, const sinter_run_options_t *run,
                  cli_row_fn fn, void *ctx) {
  sinter_error_t err;
  size_t bad = 0;
  if (cli_stream(opts, m, run, fn, ctx, &bad, &err)) return cli_fail(&err);
  if (bad) {
    fprintf(stderr, "sinter: %zu input(s) failed (named above); the others ran\n", bad);
    return SN_EXIT_FAILURE;
  }
  return SN_EXIT_OK;
}

int sn_cmd_embed(int argc, char **argv) {
  cli_common_t opts = {0};
  sinter_run_options_t run = {0};
  embed_ctx_t ctx = {0};
  const char *prompt_name = NULL, *prompt = NULL;
  const char *texts[argc];
  opts.texts = texts;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) return printf("%s", embed_usage), 0;
    int r = cli_parse_common(&opts, argc, argv, &i);
    if (r < 0) return SN_EXIT_USAGE;
    if (r > 0) continue;
    if (!strcmp(a, "--pool")) {
      static const char *names[] = {"cls",           "mean",      "max",
                                    "mean_sqrt_len", "lasttoken", "weightedmean"};
      static const sinter_pooling_t modes[] = {SINTER_POOL_CLS,        SINTER_POOL_MEAN,
                                               SINTER_POOL_MAX,        SINTER_POOL_MEAN_SQRT_LEN,
                                               SINTER_POOL_LAST_TOKEN, SINTER_POOL_WEIGHTED_MEAN};
      if (i + 1 >= argc) return cli_usage_error(embed_usage, "--pool needs a mode");
      const char *v = argv[++i];
      for (int k = 0; k < 6; k++)
        if (!strcmp(v, names[k])) run.pooling = modes[k];
      if (run.pooling == SINTER_POOL_DEFAULT)
        return cli_usage_error(embed_usage, "unknown pooling \"%s\"", v);
    } else if (!strcmp(a, "--normalize")) {
      run.normalize = 1;
    } else if (!strcmp(a, "--no-normalize")) {
      run.normalize = -1;
    } else if (!strcmp(a, "--similarity")) {
      ctx.similarity = 1;
    } else if (!strcmp(a, "--sparse")) {
      opts.sparse = run.sparse = 1;
    } else if (!strcmp(a, "--prompt-name") || !strcmp(a, "--prompt")) {
      if (i + 1 >= argc) return cli_usage_error(embed_usage, "%s needs a value", a);
      if (prompt_name || prompt) return cli_usage_error(embed_usage, "one prompt at most");
      *(!strcmp(a, "--prompt") ? &prompt : &prompt_name) = argv[++i];
    } else if (a[0] == '-' && a[1] == '-' && a[2]) {
      return cli_usage_error(embed_usage, "unknown option \"%s\"", a);
    } else {
      texts[opts.text_count++] = a;
    }
  }
  if (!opts.model_dir) return cli_usage_error(embed_usage, "--model is required");
  if (opts.sparse && (ctx.similarity || run.pooling || run.normalize))
    return cli_usage_error(embed_usage,
                           "--sparse gives SPLADE vectors: it takes no --similarity, --pool or "
                           "--normalize");
  sinter_error_t err;
  cli_model_t model = {0};
  cli_inputs_t in = {0};
  int rc = SN_EXIT_OK;
  if (cli_open_model(&opts, &model, &err)) {
    rc = cli_fail(&err);
    goto done;
  }
  /* The folder's default prompt applies to texts, not to --ids. */
  opts.prompt = prompt                          ? prompt
                : prompt_name || !opts.ids_mode ? sinter_model_prompt(model.model, prompt_name)
                                                : NULL;
  if (prompt_name && !opts.prompt) {
    cli_error(&err, SINTER_ERR_INVALID_ARGUMENT,
              "--prompt-name \"%s\": %s defines no prompt of that name (%zu prompts)", prompt_name,
              opts.model_dir, sinter_model_prompt_count(model.model));
    rc = cli_fail(&err);
    goto done;
  }
  if (opts.prompt && opts.ids_mode) {
    cli_error(&err, SINTER_ERR_INVALID_ARGUMENT, "a prompt takes texts, not --ids");
    rc = cli_fail(&err);
    goto done;
  }
  if (!ctx.similarity) { /* one line per input, as its batch finishes */
    rc = stream(&opts, &model, &run, opts.sparse ? print_sparse : print_embeddings, &ctx);
    goto done;
  }
  if (cli_read_inputs(&opts, model.model, &in, &err)) {
    rc = cli_fail(&err);
    goto done;
  }
  {
    sinter_model_info_t info;
    sinter_model_get_info(model.model, &info);
    ctx.all = calloc(in.count * (size_t)info.embedding_dim, sizeof(float));
    if (!ctx.all) {
      cli_error(&err, SINTER_ERR_OUT_OF_MEMORY, "embeddings");
      rc = cli_fail(&err);
      goto done;
    }
  }
  if (cli_run_batches(&opts, &model, &in, &run, print_embeddings, &ctx, &err)) {
    rc = cli_fail(&err);
    goto done;
  }
  if (ctx.similarity) print_similarity(&ctx, &in);
done:
  free(ctx.all);
  cli_inputs_free(&in);
  cli_model_close(&model);
  return rc;
}

typedef struct classify_ctx {
  const sinter_model_info_t *info;
} classify_ctx_t;

static int print_classes(void *p, const cli_inputs_t *in, size_t first, const sinter_outputs_t *o) {
  const sinter_model_info_t *info = ((classify_ctx_t *)p)->info;
  for (size_t r = 0; r < o->batch; r++) {
    const float *scores = o->scores + r * o->num_labels;
    size_t best = 0;
    for (size_t k = 1; k < o->num_labels; k++)
      if (scores[k] > scores[best]) best = k;
    printf("{\"index\":%zu,\"text\":", in->index[first + r]);
    cli_put_json_string(stdout, in->texts[first + r]);
    if (in->pairs) {
      printf(",\"pair\":");
      cli_put_json_string(stdout, in->pairs[first + r]);
    }
    printf(",\"label\":");
    cli_put_json_string(stdout, info->labels[best]);
    printf(",\"score\":");
    cli_put_float(stdout, scores[best]);
    printf(",\"scores\":{");
    for (size_t k = 0; k < o->num_labels; k++) {
      if (k) putchar(',');
      cli_put_json_string(stdout, info->labels[k]);
      putchar(':');
      cli_put_float(stdout, scores[k]);
    }
    printf("},\"logits\":");
    cli_put_floats(stdout, o->logits + r * o->num_labels, o->num_labels);
    printf("}\n");
  }
  return 0;
}

int sn_cmd_classify(int argc, char **argv) {
  cli_common_t opts = {0};
  const char *texts[argc];
  opts.texts = texts;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) return printf("%s", classify_usage), 0;
    int r = cli_parse_common(&opts, argc, argv, &i);
    if (r < 0) return SN_EXIT_USAGE;
    if (r > 0) continue;
    if (!strcmp(a, "--pair")) {
      opts.pairs = CLI_PAIRS_SPLIT;
      continue;
    }
    if (a[0] == '-' && a[1] == '-' && a[2])
      return cli_usage_error(classify_usage, "unknown option \"%s\"", a);
    texts[opts.text_count++] = a;
  }
  if (!opts.model_dir) return cli_usage_error(classify_usage, "--model is required");
  if (opts.pairs && opts.ids_mode)
    return cli_usage_error(classify_usage,
                           "--pair takes texts; with --ids, give a pair's token type ids after "
                           "'|'");
  if (opts.pairs && opts.text_count % 2)
    return cli_usage_error(classify_usage,
                           "--pair takes TEXT PAIR two at a time, but %zu texts were given (an "
                           "odd count)",
                           opts.text_count);
  sinter_error_t err;
  cli_model_t model = {0};
  cli_inputs_t in = {0};
  int rc = SN_EXIT_OK;
  sinter_model_info_t info;
  if (cli_open_model(&opts, &model, &err)) {
    rc = cli_fail(&err);
    goto done;
  }
  sinter_model_get_info(model.model, &info);
  if (info.num_labels == 0) {
    cli_error(&err, SINTER_ERR_UNSUPPORTED,
              "%s: architecture %s has no classification head (a *ForSequenceClassification "
              "model is needed); use `sinter embed` for encoders",
              opts.model_dir, info.architecture);
    rc = cli_fail(&err);
    goto done;
  }
  classify_ctx_t ctx = {&info};
  rc = stream(&opts, &model, NULL, print_classes, &ctx);
done:
  cli_inputs_free(&in);
  cli_model_close(&model);
  return rc;
}
