/* cli.c — shared CLI plumbing: options, inputs, batched runs. */
#include "cli.h"
#include "measure.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_LINE_BYTES (16u << 20)

int cli_parse_int(const char *s, int min, int max, int *out) {
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || !*s || *end || v < min || v > max) return -1;
  *out = (int)v;
  return 0;
}

int cli_parse_common(cli_common_t *o, int argc, char **argv, int *i) {
  const char *arg = argv[*i];
  int has_value = *i + 1 < argc;
  if (!strcmp(arg, "--model")) {
    if (!has_value) return fprintf(stderr, "sinter: --model needs a directory\n"), -1;
    o->model_dir = argv[++*i];
    return 1;
  }
  if (!strcmp(arg, "--threads") || !strcmp(arg, "--batch-size")) {
    int v;
    if (!has_value || cli_parse_int(argv[*i + 1], 1, 4096, &v) != 0)
      return fprintf(stderr, "sinter: %s needs a number from 1 to 4096\n", arg), -1;
    *(arg[2] == 't' ? &o->threads : &o->batch_size) = v;
    ++*i;
    return 1;
  }
  if (!strcmp(arg, "--max-tokens")) {
    if (!has_value || cli_parse_int(argv[*i + 1], 1, 1 << 20, &o->max_tokens) != 0)
      return fprintf(stderr, "sinter: --max-tokens needs a number from 1 to 1048576\n"), -1;
    ++*i;
    return 1;
  }
  if (!strcmp(arg, "--dtype")) {
    const char *v = has_value ? argv[*i + 1] : "";
    if (!strcmp(v, "f32"))
      o->dtype = SINTER_DTYPE_F32;
    else if (!strcmp(v, "bf16"))
      o->dtype = SINTER_DTYPE_BF16;
    else if (!strcmp(v, "int8"))
      o->dtype = SINTER_DTYPE_INT8;
    else
      return fprintf(stderr, "sinter: --dtype is f32, bf16 or int8\n"), -1;
    ++*i;
    return 1;
  }
  if (!strcmp(arg, "--calibrate")) {
    if (!has_value) return fprintf(stderr, "sinter: --calibrate needs a FILE\n"), -1;
    o->calibration = argv[++*i];
    return 1;
  }
  if (!strcmp(arg, "--mode")) {
    if (!has_value || (strcmp(argv[*i + 1], "eager") && strcmp(argv[*i + 1], "compiled")))
      return fprintf(stderr, "sinter: --mode is eager or compiled\n"), -1;
    o->eager = !strcmp(argv[++*i], "eager");
    return 1;
  }
  if (!strcmp(arg, "--cache")) {
    if (!has_value) return fprintf(stderr, "sinter: --cache needs a URL\n"), -1;
    o->cache_url = argv[++*i];
    return 1;
  }
  if (!strcmp(arg, "--ids")) {
    o->ids_mode = 1;
    return 1;
  }
  return 0;
}

int cli_parse_only_common(cli_common_t *opts, int argc, char **argv, const char *usage) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return printf("%s", usage), 0;
    int r = cli_parse_common(opts, argc, argv, &i);
    if (r < 0) return SN_EXIT_USAGE;
    if (r == 0) return cli_usage_error(usage, "unexpected argument \"%s\"", argv[i]);
  }
  if (!opts->model_dir) return cli_usage_error(usage, "--model is required");
  return -1;
}

int cli_parse_benchmark(cli_common_t *opts, int argc, char **argv, int *i) {
  static char synth_dir[512];
  if (strcmp(argv[*i], "--config") != 0 || *i + 1 >= argc)
    return cli_parse_common(opts, argc, argv, i);
  sinter_error_t err;
  if (cli_synth_model(argv[++*i], synth_dir, sizeof synth_dir, &err)) {
    cli_fail(&err);
    return -2;
  }
  opts->model_dir = synth_dir;
  return 1;
}

int cli_fail(const sinter_error_t *err) {
  fprintf(stderr, "sinter: %s: %s\n", sinter_status_name(err->status), err->message);
  return SN_EXIT_FAILURE;
}

sinter_status_t cli_error(sinter_error_t *err, sinter_status_t status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  err->status = status;
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
  return status;
}

int cli_is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

int cli_usage_error(const char *usage, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "sinter: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n\n%s", usage);
  va_end(ap);
  return SN_EXIT_USAGE;
}

sinter_open_options_t cli_open_options(const cli_common_t *opts) {
  sinter_open_options_t o = {.compile = {.dtype = opts->dtype,
                                         .max_tokens = opts->max_tokens,
                                         .int8_calibration_file = opts->calibration,
                                         .sparse = opts->sparse},
                             .cache_url = opts->cache_url};
  return o;
}

/* SINTER_VERBOSE=1 prints where start-up time goes. */
static void verbose_time(const char *what, double since) {
  if (getenv("SINTER_VERBOSE"))
    fprintf(stderr, "sinter: %s: %.1f ms\n", what, (measure_now() - since) * 1e3);
}

static void print_warnings(const cli_model_t *m) {
  if (m->folder)
    for (size_t i = 0; i < sinter_model_warning_count(m->folder); i++)
      fprintf(stderr, "sinter: warning: %s\n", sinter_model_warning(m->folder, i));
  if (m->program)
    for (size_t i = 0; i < sinter_program_warning_count(m->program); i++)
      fprintf(stderr, "sinter: warning: %s\n", sinter_program_warning(m->program, i));
}

void cli_model_close(cli_model_t *m) {
  sinter_program_release(m->program);
  sinter_model_close(m->folder);
  memset(m, 0, sizeof *m);
}

sinter_status_t cli_open_as_is(const cli_common_t *opts, cli_model_t *out, sinter_error_t *err) {
  memset(out, 0, sizeof *out);
  if (cli_is_file(opts->model_dir)) {
    if (sinter_program_open(opts->model_dir, NULL, &out->program, err)) return err->status;
    out->model = sinter_program_model(out->program);
  } else {
    if (sinter_model_open(opts->model_dir, &out->folder, err)) return err->status;
    out->model = out->folder;
  }
  print_warnings(out);
  return SINTER_OK;
}

sinter_status_t cli_open_model(const cli_common_t *opts, cli_model_t *out, sinter_error_t *err) {
  double t0 = measure_now();
  memset(out, 0, sizeof *out);
  if (opts->calibration && opts->dtype != SINTER_DTYPE_INT8)
    return cli_error(err, SINTER_ERR_INVALID_ARGUMENT, "--calibrate goes with --dtype int8");
  if (opts->eager) {
    if (cli_is_file(opts->model_dir))
      return cli_error(err, SINTER_ERR_INVALID_ARGUMENT,
                       "%s: --mode eager needs a model folder; an artifact holds only the "
                       "compiled plan",
                       opts->model_dir);
    if (sinter_model_open(opts->model_dir, &out->folder, err)) return err->status;
    out->model = out->folder;
  } else {
    sinter_open_options_t o = cli_open_options(opts);
    if (sinter_program_open(opts->model_dir, &o, &out->program, err)) return err->status;
    out->model = sinter_program_model(out->program);
    sinter_program_info_t info;
    sinter_program_get_info(out->program, &info);
    int compiled = info.origin == SINTER_PROGRAM_COMPILED;
    if (getenv("SINTER_VERBOSE") || compiled)
      fprintf(stderr, "sinter: %s\n",
              compiled ? "compiled (cache miss)"
              : info.origin == SINTER_PROGRAM_FROM_REMOTE_CACHE
                  ? "artifact downloaded from the remote cache"
              : info.origin == SINTER_PROGRAM_FROM_LOCAL_CACHE
                  ? "artifact loaded from the local cache"
                  : "artifact loaded");
  }
  verbose_time("model opened", t0);
  print_warnings(out);
  return SINTER_OK;
}

sinter_status_t cli_create_session(const cli_common_t *opts, const cli_model_t *m,
                                   sinter_session_t **out, sinter_error_t *err) {
  return m->program ? sinter_session_create_compiled(m->program, opts->threads, out, err)
                    : sinter_session_create_eager(m->model, opts->threads, out, err);
}

/* Parses a list like "101 2023, 102" into a new array; `what` names it in
 * errors. Stops at '\0' or '|'; *out_end points there. */
static sinter_status_t parse_int_list(const char *text, size_t index, const char *what,
                                      int32_t **out, size_t *out_len, const char **out_end,
                                      sinter_error_t *err) {
  size_t cap = 16, n = 0;
  int32_t *v = malloc(cap * sizeof *v);
  if (!v) return cli_error(err, SINTER_ERR_OUT_OF_MEMORY, "ids");
  const char *p = text;
  for (;;) {
    while (*p == ' ' || *p == ',' || *p == '\t' || *p == '\r' || *p == '\n') p++;
    if (!*p || *p == '|') break;
    char *end = NULL;
    errno = 0;
    long x = strtol(p, &end, 10);
    if (end == p || errno || x < INT32_MIN || x > INT32_MAX) {
      free(v);
      return cli_error(err, SINTER_ERR_INVALID_ARGUMENT,
                       "input %zu: \"%.40s\" is not a %s at character %zu", index, p, what,
                       (size_t)(p - text));
    }
    if (n == cap) {
      int32_t *grown = realloc(v, (cap *= 2) * sizeof *v);
      if (!grown) {
        free(v);
        return cli_error(err, SINTER_ERR_OUT_OF_MEMORY, "ids");
      }
      v = grown;
    }
    v[n++] = (int32_t)x;
    p = end;
  }
  *out = v;
  *out_len = n;
  *out_end = p;
  return SINTER_OK;
}

/* Parses "IDS" or "IDS | TYPE_IDS" (token ids, then optional token type ids). */
static sinter_status_t parse_ids(const char *text, size_t index, int32_t **out_ids,
                                 int32_t **out_types, size_t *out_len, sinter_error_t *err) {
  const char *end;
  size_t n_types = 0;
  CLI_TRY(parse_int_list(text, index, "token id", out_ids, out_len, &end, err));
  if (*out_len == 0)
    return cli_error(err, SINTER_ERR_INVALID_ARGUMENT, "input %zu has no token ids", index);
  if (*end != '|') return SINTER_OK;
  CLI_TRY(parse_int_list(end + 1, index, "token type id", out_types, &n_types, &end, err));
  if (*end == '|')
    return cli_error(err, SINTER_ERR_INVALID_ARGUMENT,
                     "input %zu: more than one '|' (the form is \"IDS\" or \"IDS | TYPE_IDS\")",
                     index);
  if (*end || n_types != *out_len)
    return cli_error(err, SINTER_ERR_INVALID_ARGUMENT,
                     "input %zu: %zu token ids but %zu token type ids after '|'", index, *out_len,
                     n_types);
  return SINTER_OK;
}

static char *copy_bytes(const char *s, size_t len) {
  char *copy = malloc(len + 1);
  if (copy) {
    memcpy(copy, s, len);
    copy[len] = '\0';
  }
  return copy;
}

/* Appends one input: `text`, and `pair` as its second text when non-NULL
 * (every input of one cli_inputs_t has a pair, or none has). */
static sinter_status_t append_input(cli_inputs_t *in, size_t *cap, const char *text, size_t len,
                                    const char *pair, size_t pair_len, sinter_error_t *err) {
  if (in->count == *cap) {
    size_t c = *cap ? *cap * 2 : 16;
    char **t = realloc(in->texts, c * sizeof *t);
    if (!t) return cli_error(err, SINTER_ERR_OUT_OF_MEMORY, "inputs");
    in->texts = t;
    if (pair) {
      char **p = realloc(in->pairs, c * sizeof *p);
      if (!p) return cli_error(err, SINTER_ERR_OUT_OF_MEMORY, "inputs");
      in->pairs = p;
    }
    *cap = c;
  }
  char *copy = copy_bytes(text, len), *pair_copy = pair ? copy_bytes(pair, pair_len) : NULL;
  if (!copy || (pair && !pair_copy)) {
    free(copy), free(pair_copy);
    return cli_error(err, SINTER_ERR_OUT_OF_MEMORY, "inputs");
  }
  if (pair) in->pairs[in->count] = pair_copy;
  in->texts[in->count++] = copy;
  return SINTER_OK;
}

/* The number of inputs the positional arguments hold. */
static size_t positional_count(const cli_common_t *opts) {
  return opts->pairs == CLI_PAIRS_SPLIT ? opts->text_count / 2 : opts->text_count;
}

/* Appends positional input k: an argument, two with --pair, or the query
 * and an argument. */
static sinter_status_t append_positional(const cli_common_t *opts, cli_inputs_t *in, size_t *cap,
                                         size_t k, sinter_error_t *err) {
  const char *const *t = opts->texts;
  switch (opts->pairs) {
    case CLI_PAIRS_SPLIT:
      return append_input(in, cap, t[2 * k], strlen(t[2 * k]), t[2 * k + 1], strlen(t[2 * k + 1]),
                          err);
    case CLI_PAIRS_QUERY:
      return append_input(in, cap, opts->query, strlen(opts->query), t[k], strlen(t[k]), err);
    default: return append_input(in, cap, t[k], strlen(t[k]), NULL, 0, err);
  }
}

/* Appends the input of one stdin line (newline and trailing CRs dropped).
 * Returns 1 when a --pair line has no TAB (nothing appended), else 0 with
 * *st the status. */
static int append_line(const cli_common_t *opts, cli_inputs_t *in, size_t *cap, const char *line,
                       size_t len, sinter_status_t *st, sinter_error_t *err) {
  if (opts->pairs == CLI_PAIRS_QUERY) {
    *st = append_input(in, cap, opts->query, strlen(opts->query), line, len, err);
  } else if (opts->pairs == CLI_PAIRS_SPLIT) {
    const char *tab = len ? memchr(line, '\t', len) : NULL;
    if (!tab) return 1;
    size_t n = (size_t)(tab - line);
    *st = append_input(in, cap, line, n, tab + 1, len - n - 1, err);
  } else {
    *st = append_input(in, cap, line, len, NULL, 0, err);
  }
  return 0;
}

#define NO_TAB_MESSAGE "has no TAB between the text and its pair"

/* Reads one line of at most `max` bytes (newline dropped) into *buf. Returns
 * its length, -1 at the end of input, or -2 when the line is longer (the
 * rest of it is not stored, so memory stays bounded by `max`). */
static ssize_t read_line(FILE *f, char **buf, size_t *cap, size_t max) {
  size_t n = 0;
  int c, any = 0;
  while ((c = getc_unlocked(f)) != EOF) {
    any = 1;
    if (c == '\n') break;
    if (n == max) return -2;
    if (n + 1 >= *cap) {
      size_t grown = *cap ? *cap * 2 : 256;
      char *p = realloc(*buf, grown);
      if (!p) return -3;
      *buf = p;
      *cap = grown;
    }
    (*buf)[n++] = (char)c;
  }
  if (!any) return -1;
  return (ssize_t)n;
}

static sinter_status_t read_stdin_lines(const cli_common_t *opts, cli_inputs_t *in,
                                        sinter_error_t *err) {
  size_t cap = 0, line_cap = 0;
  char *line = NULL;
  ssize_t n;
  sinter_status_t st = SINTER_OK;
  while ((n = read_line(stdin, &line, &line_cap, MAX_LINE_BYTES)) != -1) {
    if (n == -3) {
      st = cli_error(err, SINTER_ERR_OUT_OF_MEMORY, "stdin line %zu", in->count + 1);
      break;
    }
    if (n == -2) {
      st = cli_error(err, SINTER_ERR_LIMIT, "stdin line %zu is longer than %u bytes", in->count + 1,
                     MAX_LINE_BYTES);
      break;
    }
    if (n > 0 && memchr(line, '\0', (size_t)n)) {
      /* C strings end at a NUL: the text after it would be dropped silently. */
      st = cli_error(err, SINTER_ERR_INVALID_ARGUMENT,
                     "stdin line %zu contains a NUL byte at byte %zu", in->count + 1,
                     (size_t)((char *)memchr(line, '\0', (size_t)n) - line));
      break;
    }
    while (n > 0 && line[n - 1] == '\r') n--;
    if (append_line(opts, in, &cap, line ? line : "", (size_t)n, &st, err)) {
      st = cli_error(err, SINTER_ERR_INVALID_ARGUMENT, "stdin line %zu " NO_TAB_MESSAGE,
                     in->count + 1);
      break;
    }
    if (st) break;
  }
  free(line);
  return st;
}

/* The error of input `index` into *out, naming the input (parse errors
 * already do). Returns its status. */
static sinter_status_t prefixed(sinter_error_t *out, const sinter_error_t *e,
                                const cli_common_t *opts, size_t index) {
  if (opts->ids_mode) {
    *out = *e;
    return e->status;
  }
  return cli_error(out, e->status, "input %zu: %s", index, e->message);
}

/* Tokenizing a large input set on several threads: each takes the next 16
 * inputs from a shared counter (a model's tokenizer is shared read-only). */
typedef struct tokenize_job {
  const cli_common_t *opts;
  const sinter_model_t *model;
  cli_inputs_t *in;
  size_t base;
  sinter_error_t *errors;
  atomic_size_t next;
  pthread_mutex_t lock; /* the truncation counters */
  size_t truncated, first_truncated, truncated_to;
} tokenize_job_t;

static void prepare_one(tokenize_job_t *j, size_t i) {
  cli_inputs_t *in = j->in;
  in->index[i] = j->base + i;
  if (j->opts->ids_mode) {
    parse_ids(in->texts[i], j->base + i, &in->ids[i], &in->type_ids[i], &in->lengths[i],
              &j->errors[i]);
    return;
  }
  sinter_encoding_t enc;
  const char *text = in->texts[i], *pair = in->pairs ? in->pairs[i] : NULL;
  char *prompted = NULL; /* sentence-transformers prepends the prompt to the text */
  if (j->opts->prompt) {
    size_t a = strlen(j->opts->prompt), b = strlen(text);
    if (!(prompted = malloc(a + b + 1))) {
      cli_error(&j->errors[i], SINTER_ERR_OUT_OF_MEMORY, "prompt");
      return;
    }
    memcpy(prompted, j->opts->prompt, a);
    memcpy(prompted + a, text, b + 1);
    text = prompted;
  }
  sinter_tokenize_options_t topts = {0};
  topts.rerank_template = j->opts->rerank_template;
  topts.rerank_instruction = j->opts->rerank_instruction;
  sinter_status_t st = sinter_model_tokenize_batch(j->model, 1, &text, NULL, pair ? &pair : NULL,
                                                   NULL, &topts, &enc, &j->errors[i]);
  free(prompted);
  if (st != SINTER_OK) return;
  /* The ids and types are kept; the rest of the encoding goes. */
  in->ids[i] = enc.ids;
  in->type_ids[i] = enc.type_ids;
  in->lengths[i] = enc.length;
  enc.ids = enc.type_ids = NULL;
  if (enc.truncated) {
    pthread_mutex_lock(&j->lock);
    if (!j->truncated++ || i < j->first_truncated)
      j->first_truncated = i, j->truncated_to = enc.length;
    pthread_mutex_unlock(&j->lock);
  }
  sinter_encodings_free(&enc, 1);
}

static void *prepare_worker(void *p) {
  tokenize_job_t *j = p;
  for (;;) {
    size_t from = atomic_fetch_add(&j->next, 16);
    if (from >= j->in->count) return NULL;
    size_t to = from + 16 < j->in->count ? from + 16 : j->in->count;
    for (size_t i = from; i < to; i++) prepare_one(j, i);
  }
}

#define PREPARE_MAX_THREADS 64

/* Token ids for in->texts[0..count): parsed with --ids, tokenized otherwise
 * (on every thread: a model's tokenizer is shared read-only). Numbers the
 * inputs from `base`. With skip_bad, an input that fails is reported on
 * stderr and dropped (counted in *bad); otherwise the first failure is the
 * error. */
static sinter_status_t prepare_inputs(const cli_common_t *opts, const sinter_model_t *model,
                                      cli_inputs_t *in, size_t base, size_t *bad,
                                      sinter_error_t *err) {
  in->ids = calloc(in->count + 1, sizeof *in->ids);
  in->type_ids = calloc(in->count + 1, sizeof *in->type_ids);
  in->lengths = calloc(in->count + 1, sizeof *in->lengths);
  in->index = calloc(in->count + 1, sizeof *in->index);
  sinter_error_t *errors = calloc(in->count + 1, sizeof *errors);
  if (!in->ids || !in->type_ids || !in->lengths || !in->index || !errors) {
    free(errors);
    return cli_error(err, SINTER_ERR_OUT_OF_MEMORY, "inputs");
  }
  tokenize_job_t job = {.opts = opts, .model = model, .in = in, .base = base, .errors = errors};
  atomic_init(&job.next, 0);
  pthread_mutex_init(&job.lock, NULL);
  int threads = opts->threads > 0 ? opts->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (opts->ids_mode || in->count < 256 || threads < 2) threads = 1;
  if (threads > PREPARE_MAX_THREADS) threads = PREPARE_MAX_THREADS;
  pthread_t tid[PREPARE_MAX_THREADS];
  int started = 0;
  for (int t = 1; t < threads; t++) {
    if (pthread_create(&tid[t], NULL, prepare_worker, &job) != 0) break;
    started++;
  }
  prepare_worker(&job);
  for (int t = 1; t <= started; t++) pthread_join(tid[t], NULL);
  pthread_mutex_destroy(&job.lock);
  size_t truncated = job.truncated, first_truncated = job.first_truncated,
         truncated_to = job.truncated_to;
  /* Never silently: a cut input is embedded or classified from its start. */
  if (truncated)
    fprintf(stderr,
            "sinter: warning: %zu input(s) longer than the model's %zu tokens were truncated "
            "(the first: input %zu)\n",
            truncated, truncated_to, base + first_truncated);
  sinter_status_t st = SINTER_OK;
  size_t kept = in->count;
  if (!bad) { /* all or nothing: the first failure is the error */
    for (size_t i = 0; i < in->count && !st; i++)
      if (errors[i].status != SINTER_OK) st = prefixed(err, &errors[i], opts, base + i);
  } else {
    kept = 0;
    for (size_t i = 0; i < in->count; i++) {
      if (errors[i].status == SINTER_OK) {
        in->texts[kept] = in->texts[i], in->ids[kept] = in->ids[i];
        in->type_ids[kept] = in->type_ids[i], in->lengths[kept] = in->lengths[i];
        if (in->pairs) in->pairs[kept] = in->pairs[i];
        in->index[kept++] = in->index[i];
        continue;
      }
      sinter_error_t e;
      prefixed(&e, &errors[i], opts, base + i);
      fprintf(stderr, "sinter: %s: %s\n", sinter_status_name(e.status), e.message);
      (*bad)++;
      free(in->texts[i]), free(in->ids[i]), free(in->type_ids[i]);
      if (in->pairs) free(in->pairs[i]);
    }
  }
  in->count = kept;
  free(errors);
  return st;
}

sinter_status_t cli_read_inputs(const cli_common_t *opts, const sinter_model_t *model,
                                cli_inputs_t *in, sinter_error_t *err) {
  memset(in, 0, sizeof *in);
  size_t cap = 0;
  sinter_status_t st = SINTER_OK;
  if (opts->text_count) {
    for (size_t k = 0; k < positional_count(opts) && !st; k++)
      st = append_positional(opts, in, &cap, k, err);
  } else {
    st = read_stdin_lines(opts, in, err);
  }
  if (st) return st;
  if (in->count == 0) return cli_error(err, SINTER_ERR_INVALID_ARGUMENT, "no inputs given");
  return prepare_inputs(opts, model, in, 0, NULL, err);
}

void cli_inputs_free(cli_inputs_t *in) {
  for (size_t i = 0; i < in->count; i++) {
    free(in->texts[i]);
    if (in->pairs) free(in->pairs[i]);
    if (in->ids) free(in->ids[i]);
    if (in->type_ids) free(in->type_ids[i]);
  }
  free(in->index);
  free(in->texts);
  free(in->pairs);
  free(in->ids);
  free(in->type_ids);
  free(in->lengths);
  memset(in, 0, sizeof *in);
}

sinter_status_t cli_run_batches(const cli_common_t *opts, const cli_model_t *model,
                                const cli_inputs_t *in, const sinter_run_options_t *run,
                                cli_row_fn fn, void *ctx, sinter_error_t *err) {
  sinter_session_t *session = NULL;
  double t0 = measure_now();
  if (cli_create_session(opts, model, &session, err)) return err->status;
  verbose_time("session created", t0);
  size_t step = opts->batch_size > 0 ? (size_t)opts->batch_size : 32;
  sinter_status_t st = SINTER_OK;
  for (size_t first = 0; first < in->count && !st; first += step) {
    size_t n = in->count - first < step ? in->count - first : step;
    sinter_batch_t batch = {n, (const int32_t *const *)in->ids + first,
                            (const int32_t *const *)in->type_ids + first, in->lengths + first};
    sinter_outputs_t outputs;
    st = sinter_session_run(session, &batch, run, &outputs, err);
    if (!st && fn(ctx, in, first, &outputs) != 0) break;
    if (first == 0) verbose_time("first batch done", t0);
  }
  sinter_session_destroy(session);
  return st;
}

/* ------------------------------------------------------------ streaming */

/* Lines from a file descriptor, read in chunks into a bounded buffer. */
typedef struct line_reader {
  int fd;
  char *buf;
  size_t start, end, cap; /* unread bytes are buf[start..end) */
  int eof;
  size_t line; /* lines returned so far */
} line_reader_t;

/* 1 when a read of fd would not block. */
static int input_waiting(int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, 0) > 0;
}

/* The next line into *out (its bytes, newline dropped; borrowed until the
 * next call), *len its length. Returns 1 for a line, 0 at the end, -1 when
 * no whole line is buffered and `wait` is 0 and nothing is waiting, -2 for
 * a line over max (skipped to its end), -3 for a read error. */
static int next_line(line_reader_t *r, size_t max, int wait, const char **out, size_t *len) {
  for (;;) {
    /* buf is NULL until the first read: memchr on NULL is undefined even
     * for length 0 (UBSan reports it). */
    char *nl = r->end > r->start ? memchr(r->buf + r->start, '\n', r->end - r->start) : NULL;
    if (nl || (r->eof && r->end > r->start)) {
      size_t n = nl ? (size_t)(nl - (r->buf + r->start)) : r->end - r->start;
      *out = r->buf + r->start;
      *len = n;
      r->start += n + (nl != NULL);
      r->line++;
      return 1;
    }
    if (r->eof) return 0;
    if (!wait && !input_waiting(r->fd)) return -1;
    if (r->start > 0) { /* keep the partial line at the front */
      memmove(r->buf, r->buf + r->start, r->end - r->start);
      r->end -= r->start;
      r->start = 0;
    }
    if (r->end == r->cap) {
      if (r->cap > max) { /* a line over the limit: drop bytes to its newline */
        r->line++;
        for (;;) {
          ssize_t k = read(r->fd, r->buf, r->cap);
          if (k <= 0) {
            r->eof = 1;
            r->start = r->end = 0;
            return -2;
          }
          char *e = memchr(r->buf, '\n', (size_t)k);
          if (e) {
            r->start = (size_t)(e - r->buf) + 1;
            r->end = (size_t)k;
            return -2;
          }
        }
      }
      size_t cap = r->cap ? r->cap * 2 : 1 << 16;
      char *p = realloc(r->buf, cap);
      if (!p) return -3;
      r->buf = p;
      r->cap = cap;
    }
    ssize_t k = read(r->fd, r->buf + r->end, r->cap - r->end);
    if (k < 0) return -3;
    if (k == 0) r->eof = 1;
    r->end += (size_t)k;
  }
}

/* Runs one gathered batch and hands it to fn; frees it. */
static sinter_status_t run_chunk(const cli_common_t *opts, const cli_model_t *m,
                                 sinter_session_t *session, const sinter_run_options_t *run,
                                 cli_row_fn fn, void *ctx, cli_inputs_t *in, size_t base,
                                 size_t *bad, int *stop, sinter_error_t *err) {
  sinter_status_t st = prepare_inputs(opts, m->model, in, base, bad, err);
  if (!st && in->count) {
    sinter_batch_t batch = {in->count, (const int32_t *const *)in->ids,
                            (const int32_t *const *)in->type_ids, in->lengths};
    sinter_outputs_t outputs;
    st = sinter_session_run(session, &batch, run, &outputs, err);
    if (!st && fn(ctx, in, 0, &outputs) != 0) *stop = 1;
    fflush(stdout); /* a result is out as soon as its batch is done */
  }
  cli_inputs_free(in);
  return st;
}

sinter_status_t cli_stream(const cli_common_t *opts, const cli_model_t *m,
                           const sinter_run_options_t *run, cli_row_fn fn, void *ctx,
                           size_t *out_bad, sinter_error_t *err) {
  *out_bad = 0;
  size_t step = opts->batch_size > 0 ? (size_t)opts->batch_size : 32;
  sinter_session_t *session = NULL;
  double t0 = measure_now();
  if (cli_create_session(opts, m, &session, err)) return err->status;
  verbose_time("session created", t0);
  sinter_status_t st = SINTER_OK;
  size_t seen = 0;
  int stop = 0;
  if (opts->text_count) {
    size_t count = positional_count(opts);
    for (size_t first = 0; first < count && !st && !stop; first += step) {
      cli_inputs_t in = {0};
      size_t cap = 0;
      for (size_t k = first; k < count && k < first + step && !st; k++)
        st = append_positional(opts, &in, &cap, k, err);
      if (!st)
        st = run_chunk(opts, m, session, run, fn, ctx, &in, first, out_bad, &stop, err);
      else
        cli_inputs_free(&in);
    }
    seen = count;
  } else {
    line_reader_t r = {0, NULL, 0, 0, 0, 0, 0};
    while (!st && !stop) {
      cli_inputs_t in = {0};
      size_t cap = 0, base = r.line;
      /* Wait for the first line of a batch; take more only while waiting
       * input is there, so a slow writer's lines are not held back. */
      while (in.count < step && !st) {
        const char *line;
        size_t len;
        int got = next_line(&r, MAX_LINE_BYTES, in.count == 0, &line, &len);
        if (got == 0 || got == -1) break;
        if (got == -3) {
          st = cli_error(err, SINTER_ERR_IO, "stdin: read failed");
          break;
        }
        if (got == -2 || memchr(line, '\0', len)) {
          /* Unusable here, so it never reaches the tokenizer: report it
           * with its line number and go on with the others. */
          fprintf(stderr, "sinter: invalid argument: stdin line %zu %s\n", r.line,
                  got == -2 ? "is longer than the line limit (16 MiB)" : "contains a NUL byte");
          (*out_bad)++;
          if (in.count > 0) break; /* a batch's inputs stay consecutive */
          continue;
        }
        while (len > 0 && line[len - 1] == '\r') len--;
        if (append_line(opts, &in, &cap, line, len, &st, err)) {
          fprintf(stderr, "sinter: invalid argument: stdin line %zu " NO_TAB_MESSAGE "\n", r.line);
          (*out_bad)++;
          if (in.count > 0) break; /* as above */
          continue;
        }
        if (in.count == 1) base = r.line - 1;
      }
      if (st || in.count == 0) {
        cli_inputs_free(&in);
        if (r.eof || st) break;
        continue;
      }
      int first_batch = seen == 0;
      seen += in.count;
      st = run_chunk(opts, m, session, run, fn, ctx, &in, base, out_bad, &stop, err);
      if (first_batch) verbose_time("first batch done", t0);
    }
    free(r.buf);
  }
  if (!st && seen == 0 && *out_bad == 0)
    st = cli_error(err, SINTER_ERR_INVALID_ARGUMENT, "no inputs given");
  sinter_session_destroy(session);
  return st;
}

/* ------------------------------------------------------------ JSON output */

void cli_put_json_string(FILE *out, const char *s) {
  cJSON *item = cJSON_CreateString(s);
  char *text = item ? cJSON_PrintUnformatted(item) : NULL;
  fputs(text ? text : "null", out);
  free(text);
  cJSON_Delete(item);
}

static int warned_non_finite;

void cli_put_float(FILE *out, float v) {
  if (isfinite(v)) {
    fprintf(out, "%.9g", (double)v); /* 9 significant digits round-trip a float32 */
    return;
  }
  fputs("null", out);
  if (!warned_non_finite++)
    fprintf(stderr,
            "sinter: warning: the model produced non-finite values (NaN or infinity; check its "
            "weights); they are printed as null\n");
}

void cli_put_floats(FILE *out, const float *v, size_t n) {
  fputc('[', out);
  for (size_t i = 0; i < n; i++) {
    if (i) fputc(',', out);
    cli_put_float(out, v[i]);
  }
  fputc(']', out);
}
