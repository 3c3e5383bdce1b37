/*
 * safetensors.h — reader for Hugging Face safetensors weight files, single and
 * sharded (model.safetensors.index.json + shards).
 *
 * A safetensors file is an 8-byte little-endian header length N, N bytes of
 * JSON describing each tensor (dtype, shape, data_offsets relative to the data
 * area), then the data area. The reader maps the file and validates everything
 * the Rust `safetensors` crate does — known dtypes, shapes that match byte
 * spans, offsets in bounds, tensors that tile the data area exactly with no gap
 * or overlap, no duplicate names — so that callers can trust every tensor it
 * hands out. Tensor data is never copied: `data` points into the mapping.
 *
 * Differences from the Rust crate, all deliberate or forced by cJSON: duplicate
 * tensor names, rank above SN_ST_MAX_RANK and dtypes outside sn_st_dtype_t are
 * refused; integral numbers spelled 1.0, 1e0 or -0 are accepted.
 *
 * An open archive is immutable: any number of threads may read it at once.
 * Opens on several threads are safe, but cJSON stores its last parse error in
 * a global (never read here), which ThreadSanitizer may report.
 */
#ifndef SN_MODEL_SAFETENSORS_H
#define SN_MODEL_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

/* Element types this reader accepts. Other safetensors dtypes (U16, U32, U64,
 * F8_*, ...) are refused with SINTER_ERR_UNSUPPORTED. */
typedef enum sn_st_dtype {
  SN_ST_F32,
  SN_ST_F16,
  SN_ST_BF16,
  SN_ST_F64,
  SN_ST_I64,
  SN_ST_I32,
  SN_ST_I16,
  SN_ST_I8,
  SN_ST_U8,
  SN_ST_BOOL,
} sn_st_dtype_t;

#define SN_ST_MAX_RANK 8
#define SN_ST_MAX_HEADER_BYTES (100u << 20) /* header length limit, like the Rust crate */

/* One tensor of an open archive. Everything it points to is owned by the
 * archive and valid until sn_st_close. */
typedef struct sn_st_tensor {
  const char *name;
  sn_st_dtype_t dtype;
  int rank;                      /* 0..SN_ST_MAX_RANK; 0 is a scalar */
  int64_t shape[SN_ST_MAX_RANK]; /* entries past `rank` are 0 */
  int64_t numel;                 /* product of shape (1 for a scalar) */
  const void *data;              /* little-endian elements inside the file mapping; NOT
                                    necessarily aligned (the data area starts at byte
                                    8 + header length): read with memcpy or use
                                    sn_st_to_f32, never through a typed pointer */
  size_t nbytes;                 /* numel * sn_st_dtype_size(dtype) */
  const char *file;              /* path (or buffer label) of the file holding it */
} sn_st_tensor_t;

/* An open set of tensors from one file, one buffer or all shards of a model. */
typedef struct sn_st_archive sn_st_archive_t;

/* Maps and validates the safetensors file `path`. On success *out is a new
 * archive owned by the caller (release with sn_st_close); on failure *out is
 * NULL. Errors: IO (cannot open or map), FORMAT (malformed or inconsistent
 * content, message names the file, tensor, field and byte offset), LIMIT
 * (header longer than SN_ST_MAX_HEADER_BYTES, rank above SN_ST_MAX_RANK),
 * UNSUPPORTED (a dtype outside sn_st_dtype_t), OUT_OF_MEMORY. */
sinter_status_t sn_st_open_file(const char *path, sn_st_archive_t **out, sinter_error_t *err);

/* Like sn_st_open_file over the caller-owned bytes data[0..size). The buffer is
 * not copied and must outlive the archive; tensors' `data` point into it.
 * `label` (copied; NULL means "<buffer>") names the buffer in errors and in
 * each tensor's `file`. Errors: as sn_st_open_file, plus INVALID_ARGUMENT when
 * data is NULL with a non-zero size or out is NULL. */
sinter_status_t sn_st_open_buffer(const void *data, size_t size, const char *label,
                                  sn_st_archive_t **out, sinter_error_t *err);

/* Opens the weights of the model folder `dir`: the shards listed by
 * DIR/model.safetensors.index.json when it exists, else DIR/model.safetensors.
 * The index's "weight_map" maps tensor names to shard file names, which must
 * be plain names in `dir` (no '/', not "." or "..", not empty); each shard is
 * mapped once and the archive holds the tensors of all shards. Errors:
 * NOT_FOUND when neither file exists (naming both), when a shard file is
 * missing, or when a tensor of weight_map is absent from its shard; FORMAT for
 * a malformed index, a bad shard name, a tensor found in a shard other than
 * the one weight_map names (or not listed, or in two shards); plus
 * sn_st_open_file's errors for each shard. */
sinter_status_t sn_st_open_dir(const char *dir, sn_st_archive_t **out, sinter_error_t *err);

/* Number of tensors in the archive (0 for NULL). "__metadata__" is not one. */
size_t sn_st_count(const sn_st_archive_t *a);

/* The i-th tensor in name order (strcmp), borrowed from the archive, or NULL
 * when i >= sn_st_count(a). */
const sn_st_tensor_t *sn_st_at(const sn_st_archive_t *a, size_t i);

/* The tensor called `name` (borrowed), or NULL when absent. O(log n). */
const sn_st_tensor_t *sn_st_find(const sn_st_archive_t *a, const char *name);

/* The safetensors spelling of a dtype ("F32", "BF16", ...); "?" if invalid. */
const char *sn_st_dtype_name(sn_st_dtype_t dtype);

/* Bytes per element of a dtype (BOOL is 1); 0 if invalid. */
size_t sn_st_dtype_size(sn_st_dtype_t dtype);

/* Converts the floating tensor `t` (F32, F16, BF16 or F64) to float32 in
 * dst[0..numel). F16 subnormals, infinities and NaNs convert exactly; F64
 * rounds to nearest (overflowing to infinity). Works on unaligned `data`.
 * Errors: INVALID_ARGUMENT when t is NULL, dst is NULL with numel > 0, or
 * dst_count < numel; UNSUPPORTED for integer and BOOL tensors. */
sinter_status_t sn_st_to_f32(const sn_st_tensor_t *t, float *dst, size_t dst_count,
                             sinter_error_t *err);

/* Unmaps every file of the archive and frees it and its tensors. NULL is
 * allowed. Pointers obtained from the archive become invalid. */
void sn_st_close(sn_st_archive_t *a);

#endif
