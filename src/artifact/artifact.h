/*
 * artifact.h — the .sinter artifact: a compiled model in one file that loads
 * by mmap with no copy and no recompilation.
 *
 * Layout (all integers little-endian):
 *   header (256 bytes): magic "SINTERA\x1a", format version, compiler and
 *     oneDNN versions, CPU features the plan needs, compile options, the
 *     content key of the inputs, section count, XXH3 checksum of the header
 *   section table: {kind, offset, size, XXH3-64 checksum} per section
 *   sections, each 64-byte aligned:
 *     CONFIG    JSON: architecture, sizes, labels, pooling (re-validated)
 *     PLAN      the packed, memory-planned graph; weights refer to TENSORS
 *     TENSORS   weight bytes, each 64-byte aligned (pre-packed where packed)
 *     TOKENIZER the folder's tokenizer files, verbatim, by name
 *     METADATA  JSON: source, creation time, pass report (informational)
 *
 * The loader checks everything before use — magic, versions, every offset
 * and size, every checksum, that this CPU has the recorded features, and the
 * plan with the graph verifier — and refuses a bad file with a message that
 * names the section and byte offset. An artifact is data only.
 */
#ifndef SN_ARTIFACT_ARTIFACT_H
#define SN_ARTIFACT_ARTIFACT_H

#include <stdint.h>
#include <stdio.h>

#include "compiler/compiler.h"
#include "model/model.h"

#define SN_ARTIFACT_FORMAT_VERSION 2
#define SN_COMPILER_VERSION SINTER_VERSION_STRING

enum {
  SN_SECTION_CONFIG = 1,
  SN_SECTION_PLAN = 2,
  SN_SECTION_TENSORS = 3,
  SN_SECTION_TOKENIZER = 4,
  SN_SECTION_METADATA = 5,
};

/* CPU features an artifact may require (bit flags). */
enum {
  SN_FEATURE_AVX2 = 1u << 0,
  SN_FEATURE_FMA = 1u << 1,
  SN_FEATURE_AVX512F = 1u << 2,
  SN_FEATURE_AVX512BW = 1u << 3,
  SN_FEATURE_AVX512VL = 1u << 4,
  SN_FEATURE_AVX512DQ = 1u << 5,
  SN_FEATURE_AVX512_BF16 = 1u << 6,
  SN_FEATURE_AVX512_VNNI = 1u << 7,
};

/* The features of the running CPU. */
uint64_t sn_cpu_features(void);

/* The features an artifact compiled with `opts` requires of a CPU. */
uint64_t sn_target_features(const sn_compile_options_t *opts);

/* Names of the features in `mask` ("avx2 fma ...") into buf. */
void sn_features_format(uint64_t mask, char *buf, size_t cap);

/* Writes the compiled `model` (model->plan set) to `path` atomically (a
 * temporary file, fsync, rename). `key` is the 32-byte content key of the
 * inputs (may be NULL: zeros); `report` is recorded in METADATA (may be NULL). */
sinter_status_t sn_artifact_write(const sinter_model_t *model, const sn_compile_options_t *opts,
                                  const uint8_t key[32], const sn_compile_report_t *report,
                                  const char *path, sinter_error_t *err);

/* Opens the artifact at `path` as a compiled model whose weights are in the
 * file's mapping. *out is owned by the caller (sinter_model_close). */
sinter_status_t sn_artifact_open(const char *path, sinter_model_t **out, sinter_error_t *err);

/* Validates `size` bytes of an artifact image (header, table, checksums,
 * config, plan) without building a model: for the fuzzer and `cache verify`.
 * `label` names it in errors. */
sinter_status_t sn_artifact_check(const void *data, size_t size, const char *label,
                                  sinter_error_t *err);

/* Prints the header, sections (with checksum status), config, metadata and
 * the plan of the artifact at `path`. Returns the validation status. */
sinter_status_t sn_artifact_inspect(const char *path, FILE *out, sinter_error_t *err);

/* Computes the content key of compiling the folder of `model` with `opts`:
 * SHA-256 over the config, weight and tokenizer files' bytes, the options,
 * compiler and format versions, the oneDNN version and the CPU features. */
sinter_status_t sn_artifact_key(const sinter_model_t *model, const sn_compile_options_t *opts,
                                uint8_t key[32], sinter_error_t *err);

/* Opens `path` compiled: an artifact file as it is; a model folder through
 * the compile cache (local directory, then the remote in `cache_url` or
 * SINTER_CACHE_URL, then compiling and storing the result in both). Cache
 * warnings become model warnings. *out_origin (may be NULL) tells where the
 * artifact came from; *out_compile_seconds (may be NULL) is 0 unless it was
 * compiled here. opts->max_seq 0 means the folder's max_seq_length. */
sinter_status_t sn_open_compiled(const char *path, const sn_compile_options_t *opts,
                                 const char *cache_url, sinter_model_t **out, int *out_origin,
                                 double *out_compile_seconds, sinter_error_t *err);

/* Compiles the folder model `model` into the artifact file `path`. */
sinter_status_t sn_compile_to_file(sinter_model_t *model, const sn_compile_options_t *opts,
                                   const char *path, sn_compile_report_t *report,
                                   sinter_error_t *err);

/* Releases the artifact mapping of a model opened by sn_artifact_open. */
void sn_artifact_release(struct sn_artifact *artifact);

#endif
