/* open.c — models and programs from folders, artifact files and the compile
 * cache: the public open, compile and save calls. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "artifact/artifact.h"
#include "base/file.h"
#include "base/time.h"
#include "cache/cache.h"
#include "compiler/compiler.h"
#include "model/family.h"

#define DEFAULT_MAX_TOKENS 8192

sinter_status_t sinter_model_open(const char *path, sinter_model_t **out_model,
                                  sinter_error_t *error) {
  sinter_error_t local;
  sinter_error_t *err = error ? error : &local;
  sn_error_clear(err);
  *out_model = NULL;
  if (!path) return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT, "model directory is NULL");
  if (!sn_path_is_non_directory(path)) return sn_model_load_dir(path, out_model, err);
  /* A .sinter file: the model description it carries. */
  sn_artifact_contents_t c;
  sinter_status_t st = sn_artifact_read(path, &c, err);
  if (!st) st = sn_model_create_described(&c.model, out_model, err);
  sn_artifact_contents_deinit(&c);
  return st;
}

sinter_status_t sn_api_open_artifact(const char *path, sinter_program_t **out,
                                     sinter_error_t *err) {
  *out = NULL;
  sn_artifact_contents_t c;
  sinter_model_t *model = NULL;
  sinter_program_t *program = NULL;
  sinter_status_t st = sn_artifact_read(path, &c, err);
  if (!st) st = sn_model_create_described(&c.model, &model, err);
  if (!st) st = sn_program_create(model, &c.plan, &c.options, &program, err);
  if (st) {
    sinter_model_close(model);
    sn_artifact_contents_deinit(&c);
    return st;
  }
  sn_program_own_model(program, model);
  sn_program_own_mapping(program, &c.map, path);
  sn_program_set_key(program, c.key);
  sn_program_set_origin(program, SN_PROGRAM_FROM_FILE, 0);
  sn_artifact_contents_deinit(&c);
  *out = program;
  return SINTER_OK;
}

sn_compile_options_t sn_api_compile_options(const sinter_model_t *model,
                                            const sn_compile_options_t *in) {
  sn_compile_options_t o = *in;
  sinter_model_info_t info;
  sinter_model_get_info(model, &info);
  if (o.max_tokens <= 0) o.max_tokens = DEFAULT_MAX_TOKENS;
  if (o.max_seq <= 0)
    o.max_seq = info.max_seq_length < o.max_tokens ? info.max_seq_length : o.max_tokens;
  if (o.sparse && o.max_seqs <= 0) {
    /* The sparse output is [sequences, vocab] floats in the arena (the
     * [tokens, vocab] logits never are: pass fuse_pool). At most ~64 MiB of
     * it a run: 549 sequences of a 30,522-word vocabulary, 67 of XLM-R's
     * 250,002; a batch with more runs in parts. Derived from the vocabulary
     * and `sparse`, both in the content key. */
    int64_t fit = ((int64_t)1 << 24) / (info.vocab_size > 0 ? info.vocab_size : 1);
    o.max_seqs = fit < 1 ? 1 : fit < o.max_tokens ? fit : o.max_tokens;
  }
  return o;
}

/* Compiling reads every weight anyway: a NaN or infinity among them is said
 * here, once per tensor, rather than only as null results later. */
static void warn_non_finite(const sinter_model_t *model, sinter_program_t *program) {
  const sn_weight_t *w;
  for (size_t i = 0; (w = sn_model_weight_at(model, i)); i++) {
    if (!w->data) continue; /* never read (sn_model_materialize ran before any compile) */
    int64_t bad = 0;
    for (int64_t k = 0; k < w->numel; k++) bad += !isfinite(w->data[k]);
    if (bad)
      sn_program_add_warning(program,
                             "%s: weight \"%s\" has %lld non-finite values (NaN or infinity); "
                             "results will be null",
                             sn_model_source(model), w->name, (long long)bad);
  }
}

/* An int8 program of a family whose int8 was never measured on a real
 * checkpoint says so when compiled and each time it is opened (an artifact
 * file, a cache entry, named by its folder). */
static void warn_int8_unmeasured(const sinter_model_t *model, sinter_program_t *program) {
  const sn_family_t *family = sn_model_config(model)->family;
  sinter_program_info_t info;
  sinter_program_get_info(program, &info);
  if (info.dtype != SINTER_DTYPE_INT8 || family->int8_measured) return;
  sn_program_add_warning(program,
                         "%s: int8 is not measured on a real %s checkpoint (where it is, sinter "
                         "requires a cosine to fp32 of 0.998 or refuses it): compare this "
                         "model's int8 with fp32 by `sinter compile --dtype int8 --report`",
                         sn_model_source(model), family->name);
}

sinter_status_t sn_api_compile(const sinter_model_t *model, const sn_compile_options_t *opts,
                               sinter_program_t **out, sinter_error_t *err) {
  *out = NULL;
  if (!sn_model_archive(model))
    return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                        "%s is already a compiled artifact; compiling takes a model folder",
                        sn_model_source(model));
  const sn_st_modules_t *mod = sn_model_modules(model);
  /* With Dense modules the plan's embeddings stop before the Normalize: a
   * run that asks for another normalization than the folder's cannot get it
   * back from the rows (the Dense layers sit between); the session
   * normalizes instead (sinter_session_run). */
  sn_build_options_t build = {mod->pooling, mod->normalize && !mod->dense_count, opts->sparse};
  sn_ir_graph_t plan;
  sn_compile_report_t report;
  double t0 = sn_time_now();
  const sn_family_t *family = sn_model_config(model)->family;
  if (opts->dtype == SINTER_DTYPE_INT8 && family->int8_refusal)
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED, "%s: int8 is refused for the %s family: %s",
                        sn_model_source(model), family->name, family->int8_refusal);
  if (opts->sparse && !sn_model_has_mlm_head(model))
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: sparse (SPLADE) output needs a masked-LM head: a *ForMaskedLM "
                        "checkpoint whose weights hold %s (this %s checkpoint has none)",
                        sn_model_source(model),
                        family->names.mlm_dense ? family->names.mlm_dense : "one", family->name);
  if (opts->sparse && opts->dtype == SINTER_DTYPE_INT8)
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: sparse (SPLADE) output is not compiled in int8 (its vocabulary "
                        "logits are read directly); use --dtype f32 or bf16",
                        sn_model_source(model));
  if (opts->dtype == SINTER_DTYPE_INT8 && !opts->calibration) {
    /* int8 needs activation statistics: from the fp32 program, first. */
    sn_api_calibration_t *cal;
    SN_TRY(sn_api_calibrate(model, opts, &cal, err));
    sn_compile_options_t with = *opts;
    with.calibration = sn_api_calibration_view(cal);
    sinter_status_t st = sn_api_compile(model, &with, out, err);
    sn_api_calibration_free(cal);
    if (!st) sn_program_set_origin(*out, SN_PROGRAM_COMPILED, sn_time_now() - t0);
    return st;
  }
  SN_TRY(sn_compile_model(model, &build, opts, &plan, &report, err));
  SN_TRY(sn_program_create(model, &plan, opts, out, err));
  warn_non_finite(model, *out);
  warn_int8_unmeasured(model, *out);
  sn_program_set_report(*out, &report);
  sn_program_set_origin(*out, SN_PROGRAM_COMPILED, sn_time_now() - t0);
  return SINTER_OK;
}

static sn_compile_options_t internal_options(const sinter_compile_options_t *options) {
  sinter_compile_options_t defaults = {0};
  if (!options) options = &defaults;
  sn_compile_options_t o = {.dtype = options->dtype,
                            .max_tokens = options->max_tokens,
                            .max_seq = options->max_seq,
                            .calibration_file = options->int8_calibration_file,
                            .sparse = options->sparse != 0};
  return o;
}

sinter_status_t sinter_program_compile(const sinter_model_t *model,
                                       const sinter_compile_options_t *options,
                                       sinter_program_t **out_program, sinter_error_t *error) {
  sinter_error_t local;
  sinter_error_t *err = error ? error : &local;
  sn_error_clear(err);
  *out_program = NULL;
  if (!model) return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT, "model is NULL");
  sn_compile_options_t in = internal_options(options);
  sn_compile_options_t opts = sn_api_compile_options(model, &in);
  return sn_api_compile(model, &opts, out_program, err);
}

sinter_status_t sinter_program_save(const sinter_program_t *program, const char *path,
                                    sinter_error_t *error) {
  sinter_error_t local;
  sinter_error_t *err = error ? error : &local;
  sn_error_clear(err);
  if (!program || !path)
    return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT, "program or path is NULL");
  return sn_artifact_write(program, path, err);
}

/* ------------------------------------------------------------ through the cache */

/* The most bytes an artifact of `folder` can take: its weights pre-packed
 * (at most twice their stored size, which covers F16/BF16 checkpoints widened
 * to F32 and packing), its tokenizer and config files, and a margin. */
static uint64_t artifact_size_bound(const sinter_model_t *folder) {
  uint64_t total = 64u << 20;
  const char *name;
  for (size_t i = 0; (name = sn_model_source_file(folder, i)); i++) {
    char *path = sn_path_join(sn_model_source(folder), name);
    struct stat st;
    if (path && stat(path, &st) == 0) total += 2 * (uint64_t)st.st_size;
    free(path);
  }
  return total;
}

/* What the cache's validator keeps: the program of a hit, for the key asked. */
typedef struct kept_program {
  sinter_program_t *program;
  const uint8_t *key;
} kept_program_t;

/* The cache's validator opens the artifact fully and keeps it, so a hit is
 * checked and loaded once; an entry is the right one only when the artifact
 * says it was compiled for the key it is stored under (another instance, or
 * a copy, may have put any valid artifact there). */
static sinter_status_t validate_and_keep(const char *path, void *ctx, sinter_error_t *err) {
  kept_program_t *kept = ctx;
  sinter_program_release(kept->program);
  kept->program = NULL;
  SN_TRY(sn_api_open_artifact(path, &kept->program, err));
  const uint8_t *have = sn_program_key(kept->program);
  if (have && !memcmp(have, kept->key, 32)) return SINTER_OK;
  char want_hex[65], have_hex[65];
  for (int i = 0; i < 32; i++) {
    snprintf(want_hex + 2 * i, 3, "%02x", kept->key[i]);
    snprintf(have_hex + 2 * i, 3, "%02x", have ? have[i] : 0);
  }
  sinter_program_release(kept->program);
  kept->program = NULL;
  return sn_error_set(err, SINTER_ERR_FORMAT,
                      "%s: the artifact was compiled for key %s, not for %s (a copy of another "
                      "entry)",
                      path, have_hex, want_hex);
}

/* A miss is NOT_FOUND; anything else is a real error. */
static sinter_status_t lookup(sn_cache_t *cache, const char *hex, kept_program_t *kept,
                              sn_cache_origin_t *origin, sinter_error_t *err) {
  char *path = NULL;
  sinter_status_t st = sn_cache_lookup(cache, hex, validate_and_keep, kept, &path, origin, err);
  free(path);
  if (st == SINTER_ERR_NOT_FOUND) st = SINTER_OK, *origin = SN_CACHE_MISS;
  return st;
}

/* Compiles `folder` into the cache entry `hex` and opens the entry. When the
 * compile succeeds but the cache cannot take it (read-only or full disk),
 * *out_uncached holds the program compiled in memory (it borrows `folder`)
 * and `err` the reason; a compile error is returned as it is. */
static sinter_status_t compile_into(sn_cache_t *cache, const char *hex, const uint8_t key[32],
                                    const sinter_model_t *folder, const sn_compile_options_t *opts,
                                    kept_program_t *kept, double *out_seconds,
                                    sinter_program_t **out_uncached, sinter_error_t *err) {
  char *entry = NULL;
  sinter_program_t *compiled = NULL;
  double t0 = sn_time_now();
  SN_TRY(sn_api_compile(folder, opts, &compiled, err));
  *out_seconds = sn_time_now() - t0;
  sn_program_set_key(compiled, key);
  /* The cache's compile temporary: the next compile of this key removes it
   * if this process dies before it is renamed (sn_cache_acquire). */
  char *tmp = sn_cache_compile_temp_path(cache, hex);
  sinter_status_t st = tmp ? sn_artifact_write(compiled, tmp, err)
                           : sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "out of memory");
  if (!st) st = sn_cache_put(cache, hex, tmp, SN_CACHE_PUT_MOVE, &entry, err);
  if (tmp) unlink(tmp);
  free(tmp);
  if (st) {
    *out_uncached = compiled;
    return st;
  }
  st = validate_and_keep(entry, kept, err);
  for (size_t i = 0; !st && i < sinter_program_warning_count(compiled); i++)
    sn_program_add_warning(kept->program, "%s", sinter_program_warning(compiled, i));
  sinter_program_release(compiled);
  free(entry);
  return st;
}

sinter_status_t sn_api_open_program(const char *path, const sn_compile_options_t *in,
                                    const char *cache_dir, const char *cache_url,
                                    sinter_program_t **out, sinter_error_t *err) {
  *out = NULL;
  if (!path) return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT, "path is NULL");
  if (sn_path_is_non_directory(path)) {
    SN_TRY(sn_api_open_artifact(path, out, err));
    warn_int8_unmeasured(sn_program_model(*out), *out);
    return SINTER_OK;
  }

  sinter_model_t *folder = NULL;
  sn_cache_t *cache = NULL;
  kept_program_t kept = {NULL, NULL};
  sn_cache_lock_t lock = {-1};
  char hex[SN_CACHE_KEY_LEN + 1];
  uint8_t key[32];
  sn_cache_origin_t origin = SN_CACHE_MISS;
  double seconds = 0;
  sn_compile_options_t opts;
  sinter_program_t *uncached = NULL;
  sinter_status_t st = sn_model_load_dir(path, &folder, err);
  if (st) goto done;
  opts = sn_api_compile_options(folder, in);
  st = sn_cache_create(cache_dir, cache_url, &cache, err);
  if (st == SINTER_ERR_INVALID_ARGUMENT) goto done; /* a bad URL or credentials: the caller's */
  if (!st) st = sn_artifact_key_memoized(folder, &opts, sn_cache_dir(cache), key, err);
  if (!st) sn_cache_set_max_download(cache, artifact_size_bound(folder));
  if (!st) {
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", key[i]);
    kept.key = key;
    st = lookup(cache, hex, &kept, &origin, err);
  }
  if (!st && origin == SN_CACHE_MISS) {
    /* Compile once per key: whoever holds the lock compiles, the others
     * wait and then find the entry. */
    st = sn_cache_acquire(cache, hex, &lock, err);
    if (!st) st = lookup(cache, hex, &kept, &origin, err);
    if (!st && origin == SN_CACHE_MISS)
      st = compile_into(cache, hex, key, folder, &opts, &kept, &seconds, &uncached, err);
  }
  if (st && st != SINTER_ERR_IO && st != SINTER_ERR_NOT_FOUND) goto done;
  if (st) {
    /* The cache cannot be used (no directory, read-only, full disk): run
     * uncached, say why, and leave the caller's work undisturbed. */
    char reason[sizeof err->message];
    snprintf(reason, sizeof reason, "%s", err ? err->message : "the cache failed");
    if (!uncached) {
      double t0 = sn_time_now();
      if ((st = sn_api_compile(folder, &opts, &uncached, err))) goto done;
      seconds = sn_time_now() - t0;
    }
    sn_program_own_model(uncached, folder);
    folder = NULL;
    sinter_program_release(kept.program);
    kept.program = uncached;
    uncached = NULL;
    origin = SN_CACHE_MISS;
    sn_error_clear(err);
    st = SINTER_OK;
    sn_program_add_warning(kept.program,
                           "cache: %s; running a program compiled in memory, not "
                           "cached",
                           reason);
  }
  sn_program_set_origin(kept.program,
                        origin == SN_CACHE_REMOTE  ? SN_PROGRAM_FROM_REMOTE_CACHE
                        : origin == SN_CACHE_LOCAL ? SN_PROGRAM_FROM_LOCAL_CACHE
                                                   : SN_PROGRAM_COMPILED,
                        seconds);
  /* The prompts are the folder's text, not part of the artifact. */
  if (folder && sn_program_owned_model(kept.program))
    sn_model_move_prompts(sn_program_owned_model(kept.program), folder);
  /* Load warnings of the folder (unexpected tensors) and of the cache. */
  const sinter_model_t *described = folder ? folder : sn_program_model(kept.program);
  if (origin != SN_CACHE_MISS) warn_int8_unmeasured(described, kept.program);
  for (size_t i = 0; i < sinter_model_warning_count(described); i++)
    sn_program_add_warning(kept.program, "%s", sinter_model_warning(described, i));
  for (size_t i = 0; cache && i < sn_cache_warning_count(cache); i++)
    sn_program_add_warning(kept.program, "cache: %s", sn_cache_warning(cache, i));
  *out = kept.program;
  kept.program = NULL;
done:
  sn_cache_release(&lock);
  sinter_program_release(uncached);
  sinter_program_release(kept.program);
  sinter_model_close(folder);
  sn_cache_destroy(cache);
  return st;
}

sinter_status_t sinter_program_open(const char *path, const sinter_open_options_t *options,
                                    sinter_program_t **out_program, sinter_error_t *error) {
  sinter_error_t local;
  sinter_error_t *err = error ? error : &local;
  sn_error_clear(err);
  *out_program = NULL;
  sinter_open_options_t defaults = {0};
  if (!options) options = &defaults;
  sn_compile_options_t opts = internal_options(&options->compile);
  return sn_api_open_program(path, &opts, options->cache_dir, options->cache_url, out_program, err);
}
