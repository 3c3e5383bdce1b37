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

#endif
