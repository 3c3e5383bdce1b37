/*
 * program.h — a compiled program: what the compiler made of a model. It holds
 * the packed, memory-planned plan (an IR graph whose weights are pre-packed
 * for the kernels chosen), the options it was compiled with, the content key
 * of its inputs, and whatever memory its weights live in (an artifact's
 * mapping, or the model's own weights when compiled in memory).
 *
 * A program is created by the compiler (sn_program_create over a fresh plan)
 * or by reading an artifact, and is the public sinter_program_t. It is
 * immutable once created — the setters below are for its creator, before it
 * is shared — so any number of sessions on any threads may run one program.
 *
 * The plan's serialisation (plan_codec.c) and the checks that make a decoded
 * plan safe to run (verify.c) live here too: they are about the program, not
 * about the container format that carries it.
 */
#ifndef SN_PROGRAM_PROGRAM_H
#define SN_PROGRAM_PROGRAM_H

#include <stdint.h>

#include "base/bytes.h"
#include "base/file.h"
#include "ir/graph.h"
#include "model/model.h"

/* How a program is compiled. Part of the content key. */
/* Activation statistics for int8 linears, from running the fp32 program on
 * calibration texts (api/calibrate.c): for linear i, named by its weight
 * (names[i], as in the compiled graph), the largest |x| seen in each of its
 * k[i] input channels. The compiler keeps the largest few channels of each
 * int8 linear in fp32 (pass_prepack.c). */
typedef struct sn_int8_calibration {
  int32_t linears;
  const char *const *names;        /* [linears] */
  const int64_t *k;                /* [linears] */
  const float *const *channel_max; /* [linears][k[i]] */
} sn_int8_calibration_t;

/* Revision of the built-in int8 calibration texts (api/calibrate.c): part of
 * an int8 artifact's content key, as a calibration file's bytes are. */
#define SN_INT8_SAMPLES_REVISION 1

typedef struct sn_compile_options {
  sinter_dtype_t dtype;
  int64_t max_tokens;       /* largest packed batch the arena is planned for */
  int64_t max_seq;          /* longest sequence accepted */
  int64_t max_seqs;         /* most sequences in one run, which sizes the [B, ..] buffers;
                               0: max_tokens (one token each) */
  uint64_t target_features; /* CPU features the plan may use (SN_FEATURE_*); 0: this CPU */
  int sparse;               /* 1: the plan has the SPLADE output "sparse" (MLM head) */
  /* int8 only; used while compiling, never stored in an artifact: */
  const char *calibration_file;             /* texts, one per line; NULL: built-in sentences */
  const sn_int8_calibration_t *calibration; /* made by the api layer from those texts */
} sn_compile_options_t;

/* What one compiler pass did, for `sinter compile --explain`. */
typedef struct sn_pass_report {
  const char *name; /* a constant string */
  int32_t nodes_before, nodes_after;
  int64_t bytes_folded; /* weight bytes created or rewritten */
  int32_t rewrites;     /* patterns matched */
} sn_pass_report_t;

#define SN_MAX_PASSES 16

typedef struct sn_compile_report {
  sn_pass_report_t passes[SN_MAX_PASSES];
  int num_passes;
  int64_t arena_bytes;
  int64_t weight_bytes;
} sn_compile_report_t;

/* Where a program came from (the public sinter_program_origin_t values). */
typedef enum sn_program_origin {
  SN_PROGRAM_FROM_FILE = 0,         /* an artifact file opened as it is */
  SN_PROGRAM_FROM_LOCAL_CACHE = 1,  /* the local compile cache */
  SN_PROGRAM_FROM_REMOTE_CACHE = 2, /* downloaded from the remote cache */
  SN_PROGRAM_COMPILED = 3,          /* compiled by this process */
} sn_program_origin_t;

/* Creates a program over `plan`, whose contents it takes (the struct is
 * moved: *plan is left zeroed), running `model` (borrowed: it must outlive
 * the program unless handed over with sn_program_own_model). *out is owned by
 * the caller (sinter_program_release). Errors: OUT_OF_MEMORY (the plan is
 * released then too). */
sinter_status_t sn_program_create(const sinter_model_t *model, sn_ir_graph_t *plan,
                                  const sn_compile_options_t *options, sinter_program_t **out,
                                  sinter_error_t *err);

/* Setters for the creator, before the program is shared. */
void sn_program_own_model(sinter_program_t *p, sinter_model_t *model); /* closed with p */
/* The model the program owns (an artifact's description), or NULL. */
sinter_model_t *sn_program_owned_model(sinter_program_t *p);
/* The mapping is moved (unmapped with p); `path` names the file (copied). */
void sn_program_own_mapping(sinter_program_t *p, sn_mapped_file_t *map, const char *path);
void sn_program_set_key(sinter_program_t *p, const uint8_t key[32]);
void sn_program_set_report(sinter_program_t *p, const sn_compile_report_t *report);
void sn_program_set_origin(sinter_program_t *p, sn_program_origin_t origin, double compile_seconds);
/* Appends a warning (copied); a failed allocation drops it. */
void sn_program_add_warning(sinter_program_t *p, const char *fmt, ...) SN_PRINTF(2, 3);

/* Accessors; every pointer is borrowed from the program. */
const sn_ir_graph_t *sn_program_plan(const sinter_program_t *p);
const sinter_model_t *sn_program_model(const sinter_program_t *p);
const sn_compile_options_t *sn_program_options(const sinter_program_t *p);
const uint8_t *sn_program_key(const sinter_program_t *p);                /* NULL: none */
const sn_compile_report_t *sn_program_report(const sinter_program_t *p); /* NULL: none */

/* ---------------------------------------------------------------- plan codec */

/* Weights in the serialised TENSORS bytes start at multiples of this. */
#define SN_PLAN_WEIGHT_ALIGN 64

/* Bytes of a WEIGHT node's data as stored (packed size, or numel * 4). */
size_t sn_plan_weight_bytes(const sn_ir_node_t *n);

/* Serialises plan `g` into `out`. Weights are not copied: their offsets in
 * the tensor bytes are laid out (SN_PLAN_WEIGHT_ALIGN apart, zero padding
 * between), and the size and XXH3-64 checksum of those bytes are computed by
 * streaming over the weights, so a writer can then copy each weight from
 * where it lives in g's node order. out->oom reports a failed allocation. */
void sn_plan_encode(const sn_ir_graph_t *g, sn_wbuf_t *out, uint64_t *out_tensors_size,
                    uint64_t *out_tensors_checksum);

/* Decodes a serialised plan into *g (caller storage, initialised here;
 * sn_ir_graph_deinit it whatever the result). Weight nodes point into
 * tensors[0..tensors_size). Every field is range-checked and every weight
 * bound to the tensor bytes; `label` names the source in messages. The result
 * still needs sn_program_verify before it may run. Errors: FORMAT, naming the
 * node and byte offset; OUT_OF_MEMORY. */
sinter_status_t sn_plan_decode(const unsigned char *data, size_t size, const unsigned char *tensors,
                               size_t tensors_size, const char *label, sn_ir_graph_t *g,
                               sinter_error_t *err);

/* ---------------------------------------------------------------- verifier */

/* Checks that a decoded plan is safe to run for a model of config `c`:
 * shapes and dtypes as the graph verifier derives them, every intermediate's
 * arena slot inside the arena at the largest batch, the embedding tables the
 * sizes the session validates token ids against, every linear reading a
 * packed weight. Errors: FORMAT, naming `label` and the node. */
sinter_status_t sn_program_verify(const sn_ir_graph_t *g, const sn_config_t *c, const char *label,
                                  sinter_error_t *err);

#endif
