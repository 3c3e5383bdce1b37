/*
 * api.h — the top layer: it implements the entry points of include/sinter.h
 * that span modules (opening a model or a program, compiling, saving,
 * tokenizing) over model, compiler, artifact, cache and runtime, and owns the
 * decision "folder, artifact file, or through the compile cache".
 *
 * The calls below are the same operations with the internal compile options
 * (a target's CPU features, say), for the CLI commands that are about
 * internals (compile --target, bench). Everything else uses sinter.h.
 */
#ifndef SN_API_API_H
#define SN_API_API_H

#include "program/program.h"

/* Fills in the defaults of `in` for `model`: max_tokens 8192 when <= 0;
 * max_seq, when <= 0, the model's max_seq_length capped at max_tokens. */
sn_compile_options_t sn_api_compile_options(const sinter_model_t *model,
                                            const sn_compile_options_t *in);

/* The one way a model becomes a program: builds the graph, runs the passes,
 * records the report; the program borrows `model`. Options as given (call
 * sn_api_compile_options first for defaults). */
sinter_status_t sn_api_compile(const sinter_model_t *model, const sn_compile_options_t *opts,
                               sinter_program_t **out, sinter_error_t *err);

/* sinter_program_open with internal options: an artifact file as it is, a
 * folder through the cache in `cache_dir` (NULL: the environment's) and the
 * remote `cache_url` (NULL: SINTER_CACHE_URL, "": none). */
sinter_status_t sn_api_open_program(const char *path, const sn_compile_options_t *opts,
                                    const char *cache_dir, const char *cache_url,
                                    sinter_program_t **out, sinter_error_t *err);

/* Opens the artifact file `path` as a program that owns its model
 * description and the file's mapping. */
sinter_status_t sn_api_open_artifact(const char *path, sinter_program_t **out, sinter_error_t *err);

/* ------------------------------------------------------ int8 calibration */

/* Activation statistics for int8 (calibrate.c), owned. */
typedef struct sn_api_calibration sn_api_calibration_t;

/* Compiles `model` in fp32 with opts' shape limits, runs it on the texts of
 * opts->calibration_file (one per line; NULL: the built-in calibration
 * sentences; a model without a tokenizer gets fixed pseudo-random ids) and
 * records the largest |x| per input channel of every linear. *out is the
 * caller's (sn_api_calibration_free). Errors: the file's (IO, LIMIT,
 * INVALID_ARGUMENT for one without a non-empty line or a tokenizer error),
 * and those of compiling and running. */
sinter_status_t sn_api_calibrate(const sinter_model_t *model, const sn_compile_options_t *opts,
                                 sn_api_calibration_t **out, sinter_error_t *err);

/* The statistics as the compiler takes them (sn_compile_options_t), borrowed. */
const sn_int8_calibration_t *sn_api_calibration_view(const sn_api_calibration_t *c);

void sn_api_calibration_free(sn_api_calibration_t *c);

/* The built-in sample texts: the calibration set (report 0) or the report
 * set (1), which share no sentence. */
const char *const *sn_api_sample_texts(int report, size_t *count);

/* How an int8 program's outputs compare with the fp32 program's. */
typedef struct sn_api_int8_report {
  size_t samples;
  double worst_cosine, mean_cosine; /* of sentence embeddings, or logits for a classifier */
  int classifier;
  int synthetic;         /* 1: pseudo-random token ids (the model has no tokenizer) */
  size_t labels_changed; /* classifiers: samples whose top label differs */
} sn_api_int8_report_t;

/* Compiles `model` in fp32 (int8's shape limits), runs it and `int8` on the
 * texts of texts_file (NULL: the built-in report sentences) and compares.
 * Errors: as sn_api_calibrate. */
sinter_status_t sn_api_int8_report(const sinter_model_t *model, const sinter_program_t *int8,
                                   const char *texts_file, sn_api_int8_report_t *out,
                                   sinter_error_t *err);

#endif
