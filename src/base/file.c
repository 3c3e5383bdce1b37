/* file.c — whole-file reads and read-only memory maps (POSIX). */
#define _POSIX_C_SOURCE 200809L
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static sinter_status_t open_regular(const char *path, int *out_fd, size_t *out_size,
                                    sinter_error_t *err) {
  /* O_NONBLOCK: opening a FIFO (or a device) must not wait for a writer; it
   * is refused below as not a regular file. Reads of regular files ignore it. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return sn_error_set(err, SINTER_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return sn_error_set(err, SINTER_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return sn_error_set(err, SINTER_ERR_IO, "%s: not a regular file", path);
  }
  *out_fd = fd;
  *out_size = (size_t)st.st_size;
  return SINTER_OK;
}

static sinter_status_t map_file(const char *path, int flags, sn_mapped_file_t *out,
                                sinter_error_t *err) {
  out->data = NULL;
  out->size = 0;
  int fd = -1;
  size_t size = 0;
  SN_TRY(open_regular(path, &fd, &size, err));
  if (size == 0) {
    close(fd);
    return SINTER_OK;
  }
  void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE | flags, fd, 0);
  int e = errno;
  close(fd);
  if (p == MAP_FAILED)
    return sn_error_set(err, SINTER_ERR_IO, "%s: cannot mmap: %s", path, strerror(e));
  out->data = p;
  out->size = size;
  return SINTER_OK;
}

sinter_status_t sn_file_map(const char *path, sn_mapped_file_t *out, sinter_error_t *err) {
  return map_file(path, 0, out, err);
}

sinter_status_t sn_file_map_all(const char *path, sn_mapped_file_t *out, sinter_error_t *err) {
  return map_file(path, MAP_POPULATE, out, err);
}

void sn_file_unmap(sn_mapped_file_t *file) {
  if (file && file->data) munmap((void *)file->data, file->size);
  if (file) {
    file->data = NULL;
    file->size = 0;
  }
}

sinter_status_t sn_file_read_all(const char *path, size_t max_bytes, char **out_data,
                                 size_t *out_size, sinter_error_t *err) {
  *out_data = NULL;
  if (out_size) *out_size = 0;
  int fd = -1;
  size_t size = 0;
  SN_TRY(open_regular(path, &fd, &size, err));
  if (size > max_bytes) {
    close(fd);
    return sn_error_set(err, SINTER_ERR_LIMIT, "%s: file is %zu bytes, limit is %zu", path, size,
                        max_bytes);
  }
  char *buf = malloc(size + 1);
  if (!buf) {
    close(fd);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", path, size);
  }
  size_t got = 0;
  while (got < size) {
    ssize_t n = read(fd, buf + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      free(buf);
      close(fd);
      return sn_error_set(err, SINTER_ERR_IO, "%s: read failed at byte %zu: %s", path, got,
                          n == 0 ? "unexpected end of file" : strerror(e));
    }
    got += (size_t)n;
  }
  close(fd);
  buf[size] = '\0';
  *out_data = buf;
  if (out_size) *out_size = size;
  return SINTER_OK;
}

int sn_file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int sn_path_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

int sn_path_is_non_directory(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

char *sn_path_join(const char *dir, const char *name) {
  size_t a = strlen(dir), b = strlen(name);
  int slash = a > 0 && dir[a - 1] != '/';
  char *s = malloc(a + (size_t)slash + b + 1);
  if (!s) return NULL;
  memcpy(s, dir, a);
  if (slash) s[a] = '/';
  memcpy(s + a + (size_t)slash, name, b + 1);
  return s;
}
