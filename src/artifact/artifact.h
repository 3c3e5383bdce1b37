/*
 * artifact.h — the .sinter file format: a compiled program in one file that
 * loads by mmap with no copy and no recompilation.
 *
 * Layout (all integers little-endian; container.h has the constants):
 *   header (256 bytes): magic "SINTERA\x1a", format version, compiler and
 *     oneDNN versions, CPU features the plan needs, compile options, the
 *     content key of the inputs, section count, XXH3 checksum of the header
 *   section table: {kind, offset, size, XXH3-64 checksum} per section
 *   sections, each 64-byte aligned:
 *     CONFIG    JSON: the folder's config.json text, modules, has_pooler, ...
 *     PLAN      the packed, memory-planned plan (program/plan_codec.c)
 *     TENSORS   weight bytes, each 64-byte aligned (pre-packed where packed)
 *     TOKENIZER the tokenizer files the model was loaded from, by name
 *     METADATA  JSON: source, creation time, pass report (informational)
 *
 * The reader checks everything before use — magic, versions, every offset
 * and size, every checksum, that this CPU has the recorded features, and the
 * plan with the program verifier — and refuses a bad file with a message that
 * names the section and byte offset. An artifact is data only. The reader
 * returns the parts it read; building a model and a program from them is the
 * caller's (src/api/).
 *
 * Files: container.c (header and table), writer.c, reader.c, inspect.c,
 * key.c (the content key of compiling a folder).
 */
#ifndef SN_ARTIFACT_ARTIFACT_H
#define SN_ARTIFACT_ARTIFACT_H

#include <stdint.h>
#include <stdio.h>

#include "program/program.h"

#define SN_ARTIFACT_FORMAT_VERSION 4
#define SN_COMPILER_VERSION SINTER_VERSION_STRING

enum {
  SN_SECTION_CONFIG = 1,
  SN_SECTION_PLAN = 2,
  SN_SECTION_TENSORS = 3,
  SN_SECTION_TOKENIZER = 4,
  SN_SECTION_METADATA = 5,
};

/* Most tokenizer files one TOKENIZER section may hold. */
#define SN_ARTIFACT_MAX_TOKENIZER_FILES 16

/* Writes `program` (its plan, options, key and report, and the model
 * description it runs) to `path` atomically: a temporary file beside it,
 * fsync, rename. Errors: IO naming the path; OUT_OF_MEMORY. */
sinter_status_t sn_artifact_write(const sinter_program_t *program, const char *path,
                                  sinter_error_t *err);

/* What sn_artifact_read found in a file. Pointers into `map` stay valid while
 * the mapping lives (move it into the program with sn_program_own_mapping). */
typedef struct sn_artifact_contents {
  sn_mapped_file_t map;         /* the whole file */
  sn_model_description_t model; /* source is the artifact's path (borrowed) */
  sn_tokenizer_file_t tokenizer_files[SN_ARTIFACT_MAX_TOKENIZER_FILES]; /* bytes in map */
  char tokenizer_names[SN_ARTIFACT_MAX_TOKENIZER_FILES][64];
  char *config_json;            /* owned copy of the CONFIG section's config.json text */
  sn_rerank_template_t *rerank; /* owned: the CONFIG section's reranker, or NULL */
  sn_ir_graph_t plan;           /* decoded and verified; weights point into map */
  sn_compile_options_t options; /* as recorded in the header */
  uint8_t key[32];
} sn_artifact_contents_t;

/* Maps and checks the artifact at `path` and decodes its parts into *out
 * (caller storage; sn_artifact_contents_deinit whatever the result).
 * Errors: IO; FORMAT naming the section and offset; UNSUPPORTED (format
 * version, oneDNN version, CPU features this CPU lacks). */
sinter_status_t sn_artifact_read(const char *path, sn_artifact_contents_t *out,
                                 sinter_error_t *err);

/* Releases what sn_artifact_read left in *c (a moved mapping is skipped). */
void sn_artifact_contents_deinit(sn_artifact_contents_t *c);

/* Validates `size` bytes of an artifact image (header, table, checksums,
 * config, tokenizer section, plan) without building anything: for the fuzzer
 * and `cache verify`. With `expected_key` (32 bytes, may be NULL) the header's
 * content key must be that one. `label` names it in errors. */
sinter_status_t sn_artifact_check(const void *data, size_t size, const char *label,
                                  const uint8_t *expected_key, sinter_error_t *err);

/* Prints the header, sections (with checksum status), config, metadata and
 * the plan of the artifact at `path`. Returns the validation status. */
sinter_status_t sn_artifact_inspect(const char *path, FILE *out, sinter_error_t *err);

/* Computes the content key of compiling the folder of `model` with `opts`:
 * SHA-256 over the config, weight and tokenizer files' bytes, the options,
 * compiler and format versions, the oneDNN version, the CPU features and the
 * linear kernel choice. */
sinter_status_t sn_artifact_key(const sinter_model_t *model, const sn_compile_options_t *opts,
                                uint8_t key[32], sinter_error_t *err);

/* The same key, remembered in `memo_dir`/keys/ per stat fingerprint of the
 * folder's files (path, size, mtime, inode), so that a cache hit does not
 * hash hundreds of MB of weights again. Writing the memo is best effort. */
sinter_status_t sn_artifact_key_memoized(const sinter_model_t *model,
                                         const sn_compile_options_t *opts, const char *memo_dir,
                                         uint8_t key[32], sinter_error_t *err);

#endif
