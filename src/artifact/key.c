/* key.c — the content key of compiling a model folder, and its memo. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifact/artifact.h"
#include "kernels/matmul.h"
#include "kernels/target.h"

static int is_hex_key(const char *s) {
  for (int i = 0; i < 64; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
  return s[64] == '\0';
}

static sinter_status_t hash_file(EVP_MD_CTX *ctx, const char *dir, const char *name,
                                 sinter_error_t *err) {
  char *path = sn_path_join(dir, name);
  if (!path) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "key");
  sinter_status_t st = SINTER_OK;
  if (sn_file_exists(path)) {
    sn_mapped_file_t map;
    st = sn_file_map(path, &map, err);
    if (!st) {
      uint64_t n = map.size;
      EVP_DigestUpdate(ctx, name, strlen(name) + 1);
      EVP_DigestUpdate(ctx, &n, sizeof n);
      if (map.size) EVP_DigestUpdate(ctx, map.data, map.size);
      sn_file_unmap(&map);
    }
  }
  free(path);
  return st;
}

/* int8 programs depend on their calibration texts: the built-in set's
 * revision, or the calibration file's bytes. */
static sinter_status_t hash_calibration(EVP_MD_CTX *ctx, const sn_compile_options_t *opts,
                                        sinter_error_t *err) {
  if (opts->dtype != SINTER_DTYPE_INT8) return SINTER_OK;
  char what[64];
  snprintf(what, sizeof what, "calibration %s %d", opts->calibration_file ? "file" : "builtin",
           opts->calibration_file ? 0 : SN_INT8_SAMPLES_REVISION);
  EVP_DigestUpdate(ctx, what, strlen(what) + 1);
  if (!opts->calibration_file) return SINTER_OK;
  char *data = NULL;
  size_t size = 0;
  SN_TRY(sn_file_read_all(opts->calibration_file, 16u << 20, &data, &size, err));
  uint64_t n = size;
  EVP_DigestUpdate(ctx, &n, sizeof n);
  EVP_DigestUpdate(ctx, data, size);
  free(data);
  return SINTER_OK;
}

sinter_status_t sn_artifact_key(const sinter_model_t *model, const sn_compile_options_t *opts,
                                uint8_t key[32], sinter_error_t *err) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(ctx);
    return sn_error_set(err, SINTER_ERR_INTERNAL, "SHA-256 unavailable");
  }
  char versions[160];
  snprintf(versions, sizeof versions, "sinter %s format %d onednn %s features %llx linear %d.%d",
           SN_COMPILER_VERSION, SN_ARTIFACT_FORMAT_VERSION, sn_dnnl_version(),
           (unsigned long long)sn_target_isa_features(opts->target_features),
           sn_target_linear_kernel(sn_target_isa_features(opts->target_features)),
           SN_LINEAR_LAYOUT_REVISION);
  EVP_DigestUpdate(ctx, versions, strlen(versions) + 1);
  int64_t o[3] = {(int64_t)opts->dtype, opts->max_tokens, opts->max_seq};
  EVP_DigestUpdate(ctx, o, sizeof o);
  /* Only when set, so that every other program keeps its key. */
  if (opts->sparse) EVP_DigestUpdate(ctx, "sparse", 7);
  sinter_status_t st = hash_calibration(ctx, opts, err);
  /* The folder's inputs: exactly the files the model was read from (config,
   * modules and the Pooling config modules.json names, tokenizer files,
   * weight index and shards), by name and content. */
  const char *dir = sn_model_source(model), *name;
  for (size_t i = 0; !st && (name = sn_model_source_file(model, i)); i++)
    st = hash_file(ctx, dir, name, err);
  unsigned int len = 0;
  if (!st && EVP_DigestFinal_ex(ctx, key, &len) != 1)
    st = sn_error_set(err, SINTER_ERR_INTERNAL, "SHA-256 failed");
  EVP_MD_CTX_free(ctx);
  return st;
}

/* Hashing every weight byte (hundreds of MB) on each start would dominate a
 * cache hit, so the content key is remembered per "stat fingerprint" of the
 * folder's files (path, size, mtime in ns, inode), like ccache's direct mode:
 * DIR/keys/<fingerprint> holds the content key. Any change to a file's size,
 * mtime or inode misses the memo and the content is hashed again. */
static int fingerprint(const sinter_model_t *m, const sn_compile_options_t *opts, char *hex) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(ctx);
    return -1;
  }
  char real[4096];
  if (!realpath(sn_model_source(m), real)) snprintf(real, sizeof real, "%s", sn_model_source(m));
  EVP_DigestUpdate(ctx, real, strlen(real) + 1);
  int64_t o[4] = {(int64_t)opts->dtype, opts->max_tokens, opts->max_seq,
                  (int64_t)sn_target_isa_features(opts->target_features)};
  EVP_DigestUpdate(ctx, o, sizeof o);
  if (opts->sparse) EVP_DigestUpdate(ctx, "sparse", 7);
  /* Everything the content key covers besides file contents. */
  char versions[160];
  snprintf(versions, sizeof versions, "sinter %s format %d onednn %s linear %d.%d",
           SN_COMPILER_VERSION, SN_ARTIFACT_FORMAT_VERSION, sn_dnnl_version(),
           sn_target_linear_kernel(sn_target_isa_features(opts->target_features)),
           SN_LINEAR_LAYOUT_REVISION);
  EVP_DigestUpdate(ctx, versions, strlen(versions) + 1);
  sinter_error_t ignored;
  if (hash_calibration(ctx, opts, &ignored) != SINTER_OK) {
    EVP_MD_CTX_free(ctx);
    return -1;
  }
  /* The same files the content key hashes. */
  const char *name;
  for (size_t i = 0; (name = sn_model_source_file(m, i)); i++) {
    char *path = sn_path_join(sn_model_source(m), name);
    struct stat st;
    if (path && stat(path, &st) == 0) {
      int64_t f[4] = {(int64_t)st.st_size, (int64_t)st.st_mtim.tv_sec, (int64_t)st.st_mtim.tv_nsec,
                      (int64_t)st.st_ino};
      EVP_DigestUpdate(ctx, path, strlen(path) + 1);
      EVP_DigestUpdate(ctx, f, sizeof f);
    }
    free(path);
  }
  unsigned char d[32];
  unsigned int len = 0;
  int ok = EVP_DigestFinal_ex(ctx, d, &len) == 1;
  EVP_MD_CTX_free(ctx);
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
  return ok ? 0 : -1;
}

static int hex_to_key(const char *hex, uint8_t key[32]) {
  for (int i = 0; i < 32; i++) {
    unsigned v;
    if (sscanf(hex + 2 * i, "%2x", &v) != 1) return -1;
    key[i] = (uint8_t)v;
  }
  return 0;
}

sinter_status_t sn_artifact_key_memoized(const sinter_model_t *m, const sn_compile_options_t *opts,
                                         const char *cache_dir, uint8_t key[32],
                                         sinter_error_t *err) {
  char fp[65], memo[4096], text[80] = "";
  int have_fp = fingerprint(m, opts, fp) == 0;
  if (have_fp) {
    snprintf(memo, sizeof memo, "%s/keys/%s", cache_dir, fp);
    FILE *f = fopen(memo, "r");
    if (f) {
      size_t got = fread(text, 1, 64, f);
      fclose(f);
      text[got] = '\0';
      if (got == 64 && is_hex_key(text) && hex_to_key(text, key) == 0) return SINTER_OK;
    }
  }
  SN_TRY(sn_artifact_key(m, opts, key, err));
  if (have_fp) { /* best effort: a missing memo only costs a rehash */
    char dir[4096], tmp[4200];
    mkdir(cache_dir, 0755);
    snprintf(dir, sizeof dir, "%s/keys", cache_dir);
    mkdir(dir, 0755);
    snprintf(tmp, sizeof tmp, "%s.%d", memo, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (f) {
      for (int i = 0; i < 32; i++) fprintf(f, "%02x", key[i]);
      if (fclose(f) == 0 && rename(tmp, memo) == 0) return SINTER_OK;
      unlink(tmp);
    }
  }
  return SINTER_OK;
}
