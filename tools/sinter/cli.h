/*
 * cli.h — helpers shared by the CLI's subcommands: option parsing, model
 * loading, reading inputs (text or token ids) and running them in batches.
 */
#ifndef SINTER_CLI_H
#define SINTER_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "commands.h"
#include "sinter.h"

/* How a command's inputs become text pairs (a cross-encoder's two segments,
 * tokenized as a pair, the second with token type 1). */
typedef enum cli_pairs {
  CLI_PAIRS_NONE = 0, /* one text per input */
  CLI_PAIRS_SPLIT,    /* --pair: TEXT arguments two at a time (text, pair); a
                         stdin line is split at its first TAB */
  CLI_PAIRS_QUERY,    /* every input is the pair of `query` and that input */
} cli_pairs_t;

/* Options every model-running subcommand accepts. */
typedef struct cli_common {
  const char *model_dir;
  int threads;
  int ids_mode;            /* --ids: inputs are token ids, not text */
  int batch_size;          /* sequences per run */
  int eager;               /* --mode eager: interpret the unfused graph */
  const char *cache_url;   /* --cache s3://bucket/prefix */
  int max_tokens;          /* --max-tokens: compile option */
  int dtype;               /* --dtype f32|bf16|int8: compile option (sinter_dtype_t) */
  const char *calibration; /* --calibrate FILE: int8 calibration texts (compile option) */
  const char **texts;      /* positional inputs (borrowed from argv) */
  size_t text_count;       /* with CLI_PAIRS_SPLIT, twice the number of inputs */
  cli_pairs_t pairs;       /* set by the command: never with ids_mode */
  const char *query;       /* the first text of every pair with CLI_PAIRS_QUERY */
  const char *prompt;      /* prepended to every text before tokenizing it, or NULL */
  int sparse;              /* embed --sparse: compile with the SPLADE output */
  /* rerank --template / --instruction: a reranker template's body and
   * instruction instead of the folder's (sinter_tokenize_options_t), or NULL */
  const char *rerank_template, *rerank_instruction;
} cli_common_t;

/* Parses a whole decimal integer in [min, max] (no wrap-around, no trailing
 * characters). Returns 0, or -1 when `s` is not one. */
int cli_parse_int(const char *s, int min, int max, int *out);

/* Tries to consume argv[*i] (and its value) as a common option. Returns 1
 * when consumed, 0 when not a common option, -1 on a usage error (printed). */
int cli_parse_common(cli_common_t *opts, int argc, char **argv, int *i);

/* Parses argv for a command that takes the common options and nothing else,
 * and requires --model. Returns -1 to go on, or the exit code to return
 * (help printed, or a usage error). */
int cli_parse_only_common(cli_common_t *opts, int argc, char **argv, const char *usage);

/* cli_parse_common plus `--config bert-base|bert-large|qwen3-0.6b` (a synthetic model
 * folder, made once, becomes model_dir), for bench and profile. Returns as
 * cli_parse_common, or -2 (error printed) when the model cannot be made. */
int cli_parse_benchmark(cli_common_t *opts, int argc, char **argv, int *i);

/* Propagates a non-OK status from an expression. */
#define CLI_TRY(expr)                           \
  do {                                          \
    sinter_status_t cli_try_ = (expr);          \
    if (cli_try_ != SINTER_OK) return cli_try_; \
  } while (0)

/* Prints "sinter: <status>: <message>" to stderr and returns SN_EXIT_FAILURE. */
int cli_fail(const sinter_error_t *err);

/* Fills err (non-NULL) with `status` and a printf-style message; returns status. */
sinter_status_t cli_error(sinter_error_t *err, sinter_status_t status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prints a usage error and returns SN_EXIT_USAGE. */
int cli_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Inputs of one invocation: owned copies. */
typedef struct cli_inputs {
  size_t count;
  size_t *index;      /* each input's number among all of the command's inputs */
  char **texts;       /* original lines or arguments; with pairs, the first text */
  char **pairs;       /* the second text of each pair; NULL without pairs */
  int32_t **ids;      /* token ids per input */
  int32_t **type_ids; /* token types per input (may hold NULLs) */
  size_t *lengths;
} cli_inputs_t;

/* Gathers inputs from the positional arguments, or one per stdin line when
 * there are none, and turns each into token ids (parsing them with --ids,
 * tokenizing otherwise, as pairs when opts->pairs says so). Errors name the
 * input's index. */
sinter_status_t cli_read_inputs(const cli_common_t *opts, const sinter_model_t *model,
                                cli_inputs_t *out, sinter_error_t *err);

/* What a command runs: a compiled program (the default), or a model folder
 * (eager mode, or commands that only describe). `model` is the description
 * in use either way (borrowed from the program when there is one). */
typedef struct cli_model {
  sinter_model_t *folder;    /* owned; NULL when opened compiled */
  sinter_program_t *program; /* owned; NULL in eager mode */
  const sinter_model_t *model;
} cli_model_t;

/* Releases what cli_open_* opened and zeroes *m. */
void cli_model_close(cli_model_t *m);

/* Creates the session that runs `m`: compiled over its program, else eager. */
sinter_status_t cli_create_session(const cli_common_t *opts, const cli_model_t *m,
                                   sinter_session_t **out, sinter_error_t *err);

/* Frees what cli_read_inputs allocated. */
void cli_inputs_free(cli_inputs_t *in);

/* Called once per output row by cli_run_batches: `first` is the input index
 * of row 0 of `outputs`. Return non-zero to stop. */
typedef int (*cli_row_fn)(void *ctx, const cli_inputs_t *in, size_t first,
                          const sinter_outputs_t *outputs);

/* Streams the inputs through a session over `m`: the positional arguments,
 * else stdin lines in batches of opts->batch_size (pairs as opts->pairs
 * says). A batch runs as soon as it is full or no more input is waiting, so
 * results appear as they are computed and memory stays bounded by one batch
 * whatever the number of lines. An input that cannot be used (bad ids,
 * invalid UTF-8, a NUL byte, a line over the limit, a --pair line without a
 * TAB) is reported on stderr with its number and skipped; *out_bad counts
 * those. fn sees each batch, in->index giving the numbers. */
sinter_status_t cli_stream(const cli_common_t *opts, const cli_model_t *m,
                           const sinter_run_options_t *run, cli_row_fn fn, void *ctx,
                           size_t *out_bad, sinter_error_t *err);

/* Runs every input through a session over `m` in batches of
 * opts->batch_size, calling fn for each batch. */
sinter_status_t cli_run_batches(const cli_common_t *opts, const cli_model_t *m,
                                const cli_inputs_t *in, const sinter_run_options_t *run,
                                cli_row_fn fn, void *ctx, sinter_error_t *err);

/* Open options from the common options (max_seq left 0: the model's). */
sinter_open_options_t cli_open_options(const cli_common_t *opts);

/* Opens opts->model_dir: compiled through the cache (an artifact file as it
 * is) unless --mode eager; prints load and cache warnings to stderr. */
sinter_status_t cli_open_model(const cli_common_t *opts, cli_model_t *out, sinter_error_t *err);

/* Opens opts->model_dir as it is, compiling nothing: a folder as a model, an
 * artifact as its program; prints load warnings. */
sinter_status_t cli_open_as_is(const cli_common_t *opts, cli_model_t *out, sinter_error_t *err);

/* 1 when `path` names an existing file or folder that is not a directory. */
int cli_is_file(const char *path);

/* Makes (once, under $TMPDIR) a model folder with random weights for the
 * named configuration ("bert-base", "bert-large", "qwen3-0.6b") and writes its
 * path (SINTER_SYNTH_LAYERS=N: N layers, in a folder of its own). */
sinter_status_t cli_synth_model(const char *name, char *out_dir, size_t cap, sinter_error_t *err);

/* Writes `s` as a JSON string literal. */
void cli_put_json_string(FILE *out, const char *s);

/* Writes a float that round-trips (9 significant digits); a non-finite one
 * (NaN or infinite weights upstream) as JSON null, which every parser reads,
 * with one warning per process on stderr. */
void cli_put_float(FILE *out, float v);

/* Writes n floats as a JSON array, as cli_put_float does each. */
void cli_put_floats(FILE *out, const float *v, size_t n);

/* Text of the common options for usage messages. */
#define CLI_COMMON_USAGE                                                            \
  "  --model DIR         Hugging Face model folder (required)\n"                    \
  "  --threads N         threads to use (default: the CPUs this process may use,\n" \
  "                      from its affinity and cgroup CPU quota)\n"                 \
  "  --ids               inputs are token ids (spaces or commas between them),\n"   \
  "                      optionally followed by '|' and token type ids\n"           \
  "  --batch-size N      sequences per run (default 32)\n"                          \
  "  --mode MODE         compiled (default: through the compile cache) or eager\n"  \
  "  --cache URL         remote compile cache, s3://bucket/prefix\n"                \
  "  --max-tokens N      token budget of one compiled run (default 8192)\n"         \
  "  --dtype T           matmul precision of the compiled plan: f32 (default),\n"   \
  "                      int8, or bf16 (bf16 weights, fp32 arithmetic)\n"           \
  "  --calibrate FILE    int8: calibrate on these texts, one per line (default:\n"  \
  "                      built-in sentences; part of the cache key)\n"              \
  "  -h, --help          show this help\n"

#endif
