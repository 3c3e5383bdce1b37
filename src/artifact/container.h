/*
 * container.h — the byte layout of a .sinter file, internal to src/artifact/:
 * the header, the section table and the checks of both. See artifact.h for
 * the layout as a whole.
 */
#ifndef SN_ARTIFACT_CONTAINER_H
#define SN_ARTIFACT_CONTAINER_H

#include <stddef.h>
#include <stdint.h>

#include "artifact/artifact.h"

#define SN_HEADER_BYTES 256
#define SN_HEADER_CHECKED 240 /* bytes covered by the header checksum */
#define SN_ENTRY_BYTES 32
#define SN_MAX_SECTIONS 16
#define SN_SECTION_ALIGN 64

/* "SINTERA\x1a": the first 8 bytes of every artifact. */
extern const unsigned char sn_artifact_magic[8];

typedef struct sn_section {
  uint32_t kind;
  uint64_t offset, size, checksum;
} sn_section_t;

/* A parsed header and table. */
typedef struct sn_image {
  uint32_t version;
  char compiler[17], dnnl[17];
  uint64_t features, file_size;
  uint32_t dtype, n_sections;
  int64_t max_tokens, max_seq;
  uint8_t key[32];
  sn_section_t sections[SN_MAX_SECTIONS];
} sn_image_t;

/* Checks p[0..size) as an artifact: magic, versions, header and table
 * checksums, every section's bounds, overlap and checksum, the required
 * sections present; with check_cpu, also the oneDNN version and that this CPU
 * has the recorded features. Fills *im as far as it got (im->version is
 * non-zero once the header was read). Errors: FORMAT or UNSUPPORTED naming
 * `label`. */
sinter_status_t sn_image_check(const unsigned char *p, size_t size, const char *label,
                               sn_image_t *im, int check_cpu, sinter_error_t *err);

/* Checks the image p[0..size) (sn_image_check) and decodes every section but
 * METADATA into *c (zeroed by the caller; its map is left alone). reader.c. */
sinter_status_t sn_artifact_decode(const unsigned char *p, size_t size, const char *label,
                                   int check_cpu, sn_artifact_contents_t *c, sinter_error_t *err);

/* The section of `kind`, or NULL. */
const sn_section_t *sn_image_section(const sn_image_t *im, uint32_t kind);

/* "CONFIG", "PLAN", ...; "?" for an unknown kind. */
const char *sn_section_name(uint32_t kind);

/* Writes all n bytes to fd (retrying short writes); IO naming path. */
sinter_status_t sn_write_all(int fd, const void *p, size_t n, const char *path,
                             sinter_error_t *err);

#endif
