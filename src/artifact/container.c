/* container.c — the header and section table of a .sinter file. */
#include "artifact/container.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "base/bytes.h"
#include "kernels/matmul.h"
#include "kernels/target.h"

const unsigned char sn_artifact_magic[8] = {'S', 'I', 'N', 'T', 'E', 'R', 'A', 0x1a};

const sn_section_t *sn_image_section(const sn_image_t *im, uint32_t kind) {
  for (uint32_t i = 0; i < im->n_sections; i++)
    if (im->sections[i].kind == kind) return &im->sections[i];
  return NULL;
}

const char *sn_section_name(uint32_t kind) {
  switch (kind) {
    case SN_SECTION_CONFIG: return "CONFIG";
    case SN_SECTION_PLAN: return "PLAN";
    case SN_SECTION_TENSORS: return "TENSORS";
    case SN_SECTION_TOKENIZER: return "TOKENIZER";
    case SN_SECTION_METADATA: return "METADATA";
  }
  return "?";
}

sinter_status_t sn_image_check(const unsigned char *p, size_t size, const char *label,
                               sn_image_t *im, int check_cpu, sinter_error_t *err) {
  memset(im, 0, sizeof *im);
  if (size < SN_HEADER_BYTES || memcmp(p, sn_artifact_magic, 8) != 0)
    return sn_error_set(err, SINTER_ERR_FORMAT,
                        "%s: not a sinter artifact (bad magic or %zu bytes)", label, size);
  sn_rbuf_t r = {p, SN_HEADER_BYTES, 8, 0};
  im->version = sn_rbuf_u32(&r);
  uint32_t header_bytes = sn_rbuf_u32(&r);
  memcpy(im->compiler, sn_rbuf_bytes(&r, 16), 16);
  memcpy(im->dnnl, sn_rbuf_bytes(&r, 16), 16);
  im->features = sn_rbuf_u64(&r);
  im->dtype = sn_rbuf_u32(&r);
  /* Kept in a local until checked: callers walk im->sections[0..n_sections)
   * even when the check fails (inspect prints what it can). */
  uint32_t n_sections = sn_rbuf_u32(&r);
  im->max_tokens = (int64_t)sn_rbuf_u64(&r);
  im->max_seq = (int64_t)sn_rbuf_u64(&r);
  memcpy(im->key, sn_rbuf_bytes(&r, 32), 32);
  im->file_size = sn_rbuf_u64(&r);
  uint64_t table_sum = sn_rbuf_u64(&r);
  uint64_t header_sum;
  memcpy(&header_sum, p + SN_HEADER_CHECKED, 8);
  if (im->version != SN_ARTIFACT_FORMAT_VERSION)
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: artifact format version %u; this build reads version %d (recompile)",
                        label, im->version, SN_ARTIFACT_FORMAT_VERSION);
  if (header_bytes != SN_HEADER_BYTES || XXH3_64bits(p, SN_HEADER_CHECKED) != header_sum)
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: header checksum mismatch (corrupt header)",
                        label);
  if (im->file_size != size)
    return sn_error_set(err, SINTER_ERR_FORMAT,
                        "%s: file is %zu bytes but its header says %llu (truncated or extended)",
                        label, size, (unsigned long long)im->file_size);
  if (n_sections < 1 || n_sections > SN_MAX_SECTIONS ||
      (uint64_t)n_sections * SN_ENTRY_BYTES > size - SN_HEADER_BYTES)
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: %u sections is invalid", label, n_sections);
  if (XXH3_64bits(p + SN_HEADER_BYTES, (size_t)n_sections * SN_ENTRY_BYTES) != table_sum)
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: section table checksum mismatch", label);
  im->n_sections = n_sections;
  if (im->dnnl[0] && strcmp(im->dnnl, sn_dnnl_version()) != 0 && check_cpu)
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: compiled with oneDNN %s; this build has oneDNN %s (recompile)", label,
                        im->dnnl, sn_dnnl_version());
  uint64_t missing = im->features & ~sn_target_cpu_features();
  if (check_cpu && missing) {
    char names[128];
    sn_target_features_format(missing, names, sizeof names);
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: compiled for a CPU with %s, which this CPU lacks", label, names);
  }
  sn_rbuf_t t = {p + SN_HEADER_BYTES, (size_t)im->n_sections * SN_ENTRY_BYTES, 0, 0};
  uint64_t table_end = SN_HEADER_BYTES + (uint64_t)im->n_sections * SN_ENTRY_BYTES;
  for (uint32_t i = 0; i < im->n_sections; i++) {
    sn_section_t *s = &im->sections[i];
    s->kind = sn_rbuf_u32(&t);
    sn_rbuf_u32(&t);
    s->offset = sn_rbuf_u64(&t);
    s->size = sn_rbuf_u64(&t);
    s->checksum = sn_rbuf_u64(&t);
    if (s->kind < SN_SECTION_CONFIG || s->kind > SN_SECTION_METADATA ||
        s->offset % SN_SECTION_ALIGN || s->offset < table_end || s->offset > size ||
        s->size > size - s->offset)
      return sn_error_set(err, SINTER_ERR_FORMAT,
                          "%s: section %u (%s) at %llu, %llu bytes, is out of bounds", label, i,
                          sn_section_name(s->kind), (unsigned long long)s->offset,
                          (unsigned long long)s->size);
    for (uint32_t j = 0; j < i; j++) {
      const sn_section_t *o = &im->sections[j];
      if (o->kind == s->kind ||
          (s->offset < o->offset + o->size && o->offset < s->offset + s->size))
        return sn_error_set(err, SINTER_ERR_FORMAT, "%s: sections %s and %s overlap or repeat",
                            label, sn_section_name(o->kind), sn_section_name(s->kind));
    }
    if (XXH3_64bits(p + s->offset, (size_t)s->size) != s->checksum)
      return sn_error_set(err, SINTER_ERR_FORMAT,
                          "%s: section %s checksum mismatch (corrupt bytes in %llu..%llu)", label,
                          sn_section_name(s->kind), (unsigned long long)s->offset,
                          (unsigned long long)(s->offset + s->size));
  }
  static const uint32_t required[] = {SN_SECTION_CONFIG, SN_SECTION_PLAN, SN_SECTION_TENSORS,
                                      SN_SECTION_TOKENIZER};
  for (size_t i = 0; i < 4; i++)
    if (!sn_image_section(im, required[i]))
      return sn_error_set(err, SINTER_ERR_FORMAT, "%s: section %s is missing", label,
                          sn_section_name(required[i]));
  return SINTER_OK;
}

sinter_status_t sn_write_all(int fd, const void *p, size_t n, const char *path,
                             sinter_error_t *err) {
  const char *c = p;
  while (n) {
    ssize_t k = write(fd, c, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0)
      return sn_error_set(err, SINTER_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    c += k;
    n -= (size_t)k;
  }
  return SINTER_OK;
}
