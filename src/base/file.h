/*
 * file.h — whole-file reads and read-only memory maps.
 */
#ifndef SN_BASE_FILE_H
#define SN_BASE_FILE_H

#include <stddef.h>

#include "base/status.h"

/* A read-only view of a file's bytes. Mapped with mmap when the file is not
 * empty; `data` is NULL for an empty file. Caller-owned storage. */
typedef struct sn_mapped_file {
  const unsigned char *data;
  size_t size;
} sn_mapped_file_t;

/* Maps `path` read-only. Errors: IO naming the path and the OS reason. */
sinter_status_t sn_file_map(const char *path, sn_mapped_file_t *out, sinter_error_t *err);

/* Like sn_file_map, but maps every page up front (MAP_POPULATE): one pass
 * instead of a page fault per 4 KiB when all of the file will be read. */
sinter_status_t sn_file_map_all(const char *path, sn_mapped_file_t *out, sinter_error_t *err);

/* Unmaps a file mapped by sn_file_map (zero-initialised storage is allowed). */
void sn_file_unmap(sn_mapped_file_t *file);

/* Reads all of `path` into a new NUL-terminated heap buffer (*out_data, caller
 * frees with free()). Refuses files larger than max_bytes with LIMIT. */
sinter_status_t sn_file_read_all(const char *path, size_t max_bytes, char **out_data,
                                 size_t *out_size, sinter_error_t *err);

/* 1 when `path` names an existing regular file, else 0. */
int sn_file_exists(const char *path);

/* 1 when something exists at `path` (any type, links followed). Optional
 * files are looked up with this, so that a FIFO, a device or a folder in
 * their place is opened — and refused as not a regular file — instead of
 * being taken for absent. */
int sn_path_exists(const char *path);

/* 1 when `path` exists and is not a directory (a file, FIFO, device...). */
int sn_path_is_non_directory(const char *path);

/* Joins dir and name with one '/' into a new heap string (caller frees), or
 * NULL on allocation failure. */
char *sn_path_join(const char *dir, const char *name);

#endif
