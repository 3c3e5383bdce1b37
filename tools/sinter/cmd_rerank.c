/* cmd_rerank.c — `sinter rerank`: a query against documents through a
 * one-logit cross-encoder, the documents sorted by relevance. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char rerank_usage[] =
    "usage: sinter rerank --model DIR [--raw-scores] [--top-n N] [--instruction TEXT]\n"
    "                     [--template TEXT] QUERY [DOC...]\n\n"
    "Scores each (QUERY, DOC) pair with a cross-encoder (a classification model\n"
    "with exactly one label) and prints one JSON line per document, the most\n"
    "relevant first (ties keep their input order): {\"index\", \"score\", \"text\"}.\n"
    "The score is sigmoid(logit). Without DOC, reads one document per line from\n"
    "stdin. A folder with rerank_template.json (Qwen3-Reranker: a Qwen3ForCausalLM\n"
    "whose score is P(yes) against no) puts each pair through its template.\n\n"
    "options:\n"
    "  --raw-scores        print the logit itself as the score\n"
    "  --top-n N           print only the N most relevant documents\n"
    "  --instruction TEXT  the template's {instruction} instead of the folder's\n"
    "  --template TEXT     the template's body instead of the folder's; it must hold\n"
    "                      {query} and {document}, and may hold {instruction}\n" CLI_COMMON_USAGE;

typedef struct ranked {
  size_t index; /* the document's number among the inputs */
  size_t order; /* its position among the documents scored, for ties */
  float score;
  char *text;
} ranked_t;

typedef struct rerank_ctx {
  int raw_scores;
  ranked_t *rows;
  size_t count, cap;
  int failed; /* out of memory while collecting */
} rerank_ctx_t;

static int collect(void *p, const cli_inputs_t *in, size_t first, const sinter_outputs_t *o) {
  rerank_ctx_t *ctx = p;
  for (size_t r = 0; r < o->batch; r++) {
    if (ctx->count == ctx->cap) {
      size_t cap = ctx->cap ? ctx->cap * 2 : 64;
      ranked_t *rows = realloc(ctx->rows, cap * sizeof *rows);
      if (!rows) return ctx->failed = 1;
      ctx->rows = rows;
      ctx->cap = cap;
    }
    float logit = o->logits[r * o->num_labels];
    char *text = strdup(in->pairs[first + r]);
    if (!text) return ctx->failed = 1;
    ctx->rows[ctx->count] =
        (ranked_t){in->index[first + r], ctx->count,
                   ctx->raw_scores ? logit : (float)(1.0 / (1.0 + exp(-(double)logit))), text};
    ctx->count++;
  }
  return 0;
}

/* Descending score, a NaN below every number; ties in input order. */
static int by_score(const void *pa, const void *pb) {
  const ranked_t *a = pa, *b = pb;
  int na = isnan(a->score), nb = isnan(b->score);
  if (na != nb) return na - nb;
  if (!na && a->score != b->score) return a->score > b->score ? -1 : 1;
  return a->order < b->order ? -1 : a->order > b->order;
}

int sn_cmd_rerank(int argc, char **argv) {
  cli_common_t opts = {0};
  rerank_ctx_t ctx = {0};
  int top_n = INT_MAX;
  const char *texts[argc];
  opts.texts = texts;
  opts.pairs = CLI_PAIRS_QUERY;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) return printf("%s", rerank_usage), 0;
    int r = cli_parse_common(&opts, argc, argv, &i);
    if (r < 0) return SN_EXIT_USAGE;
    if (r > 0) continue;
    if (!strcmp(a, "--raw-scores")) {
      ctx.raw_scores = 1;
    } else if (!strcmp(a, "--top-n")) {
      if (i + 1 >= argc || cli_parse_int(argv[i + 1], 1, INT_MAX, &top_n) != 0)
        return cli_usage_error(rerank_usage, "--top-n needs a number from 1");
      i++;
    } else if (!strcmp(a, "--instruction") || !strcmp(a, "--template")) {
      if (i + 1 >= argc) return cli_usage_error(rerank_usage, "%s needs a text", a);
      *(a[2] == 'i' ? &opts.rerank_instruction : &opts.rerank_template) = argv[++i];
    } else if (a[0] == '-' && a[1] == '-' && a[2]) {
      return cli_usage_error(rerank_usage, "unknown option \"%s\"", a);
    } else if (!opts.query) {
      opts.query = a;
    } else {
      texts[opts.text_count++] = a;
    }
  }
  if (!opts.model_dir) return cli_usage_error(rerank_usage, "--model is required");
  if (opts.ids_mode)
    return cli_usage_error(rerank_usage, "rerank takes texts: a query and its documents");
  if (!opts.query) return cli_usage_error(rerank_usage, "QUERY is required");
  if (opts.rerank_template &&
      (!strstr(opts.rerank_template, "{query}") || !strstr(opts.rerank_template, "{document}")))
    return cli_usage_error(rerank_usage, "--template must hold {query} and {document}");
  sinter_error_t err;
  cli_model_t model = {0};
  sinter_model_info_t info;
  int rc = SN_EXIT_OK;
  size_t bad = 0;
  if (cli_open_model(&opts, &model, &err)) {
    rc = cli_fail(&err);
    goto done;
  }
  sinter_model_get_info(model.model, &info);
  if ((opts.rerank_instruction || opts.rerank_template) &&
      !sinter_model_rerank_template(model.model)) {
    cli_error(&err, SINTER_ERR_UNSUPPORTED,
              "%s: --instruction and --template need a reranker template (rerank_template.json); "
              "the model has none",
              opts.model_dir);
    rc = cli_fail(&err);
    goto done;
  }
  if (info.num_labels != 1) {
    if (info.num_labels == 0)
      cli_error(&err, SINTER_ERR_UNSUPPORTED,
                "%s: architecture %s has no classification head; rerank needs a cross-encoder "
                "(a *ForSequenceClassification model with one label)",
                opts.model_dir, info.architecture);
    else
      cli_error(&err, SINTER_ERR_UNSUPPORTED,
                "%s: the model has %zu labels; rerank needs a cross-encoder with exactly one "
                "(a relevance logit); use `sinter classify --pair` for the others",
                opts.model_dir, (size_t)info.num_labels);
    rc = cli_fail(&err);
    goto done;
  }
  if (cli_stream(&opts, &model, NULL, collect, &ctx, &bad, &err)) {
    rc = cli_fail(&err);
    goto done;
  }
  if (ctx.failed) {
    cli_error(&err, SINTER_ERR_OUT_OF_MEMORY, "rerank: the scored documents");
    rc = cli_fail(&err);
    goto done;
  }
  qsort(ctx.rows, ctx.count, sizeof *ctx.rows, by_score);
  for (size_t k = 0; k < ctx.count && k < (size_t)top_n; k++) {
    printf("{\"index\":%zu,\"score\":", ctx.rows[k].index);
    cli_put_float(stdout, ctx.rows[k].score);
    printf(",\"text\":");
    cli_put_json_string(stdout, ctx.rows[k].text);
    printf("}\n");
  }
  if (bad) {
    fprintf(stderr, "sinter: %zu input(s) failed (named above); the others were ranked\n", bad);
    rc = SN_EXIT_FAILURE;
  }
done:
  for (size_t k = 0; k < ctx.count; k++) free(ctx.rows[k].text);
  free(ctx.rows);
  cli_model_close(&model);
  return rc;
}
