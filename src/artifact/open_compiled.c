/* open_compiled.c — a model folder to a running compiled model, through the
 * compile cache: look up local, then remote, then compile once (under the
 * per-key lock, so concurrent processes compile once) and store. */
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "artifact/artifact.h"
#include "cache/cache.h"
#include "base/file.h"
#include "base/time.h"
#include "kernels/matmul.h"
#include "model/safetensors.h"

sinter_status_t sn_compile_to_file(sinter_model_t *model, const sn_compile_options_t *opts,
                                   const char *path, sn_compile_report_t *report,
                                   sinter_error_t *err) {
  uint8_t key[32];
  SN_TRY(sn_artifact_key(model, opts, key, err));
  sn_build_options_t build = {model->modules.pooling, model->modules.normalize};
  sn_ir_graph_t *g = calloc(1, sizeof *g);
  if (!g) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "plan");
  sinter_status_t st = sn_compile_model(model, &build, opts, g, report, err);
  if (st) {
    free(g);
    return st;
  }
  if (model->plan) {
    sn_ir_graph_deinit(model->plan);
    free(model->plan);
  }
  model->plan = g;
  return sn_artifact_write(model, opts, key, report, path, err);
}

/* Hashing every weight byte (hundreds of MB) on each start would dominate a
 * cache hit, so the content key is remembered per "stat fingerprint" of the
 * folder's files (path, size, mtime in ns, inode), like ccache's direct mode:
 * DIR/keys/<fingerprint> holds the content key. Any change to a file's size,
 * mtime or inode misses the memo and the content is hashed again. */
static const char *const FINGERPRINT_FILES[] = {
    "config.json",           "modules.json",
    "1_Pooling/config.json", "sentence_bert_config.json",
    "model.safetensors",     "model.safetensors.index.json",
    "tokenizer.json",        "vocab.txt",
    "tokenizer_config.json", "special_tokens_map.json",
    "added_tokens.json"};

static int fingerprint(const sinter_model_t *m, const sn_compile_options_t *opts, char *hex) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(ctx);
    return -1;
  }
  char real[4096];
  if (!realpath(m->dir, real)) snprintf(real, sizeof real, "%s", m->dir);
  EVP_DigestUpdate(ctx, real, strlen(real) + 1);
  int64_t o[4] = {(int64_t)opts->dtype, opts->max_tokens, opts->max_seq,
                  (int64_t)sn_target_features(opts)};
  EVP_DigestUpdate(ctx, o, sizeof o);
  /* Everything the content key covers besides file contents. */
  char versions[160];
  snprintf(versions, sizeof versions, "sinter %s format %d onednn %s linear %d.%d",
           SN_COMPILER_VERSION, SN_ARTIFACT_FORMAT_VERSION, sn_dnnl_version(),
           sn_compile_linear_kernel(opts), SN_LINEAR_LAYOUT_REVISION);
  EVP_DigestUpdate(ctx, versions, strlen(versions) + 1);
  /* Shards too: every distinct file the weights come from. */
  size_t n = m->archive ? sn_st_count(m->archive) : 0;
  for (size_t i = 0; i < sizeof FINGERPRINT_FILES / sizeof *FINGERPRINT_FILES + n; i++) {
    char *path =
        i < sizeof FINGERPRINT_FILES / sizeof *FINGERPRINT_FILES
            ? sn_path_join(m->dir, FINGERPRINT_FILES[i])
            : strdup(sn_st_at(m->archive, i - sizeof FINGERPRINT_FILES / sizeof *FINGERPRINT_FILES)
                         ->file);
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

/* The content key of the folder, from the memo when its files are unchanged. */
static sinter_status_t content_key(const sinter_model_t *m, const sn_compile_options_t *opts,
                                   const char *cache_dir, uint8_t key[32], sinter_error_t *err) {
  char fp[65], memo[4096], text[80] = "";
  int have_fp = fingerprint(m, opts, fp) == 0;
  if (have_fp) {
    snprintf(memo, sizeof memo, "%s/keys/%s", cache_dir, fp);
    FILE *f = fopen(memo, "r");
    if (f) {
      size_t got = fread(text, 1, 64, f);
      fclose(f);
      text[got] = '\0';
      if (got == 64 && sn_cache_key_is_valid(text) && hex_to_key(text, key) == 0) return SINTER_OK;
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

/* The cache's validator opens the artifact fully and keeps it, so a hit is
 * checked and loaded once. */
typedef struct open_ctx {
  sinter_model_t *model;
} open_ctx_t;

static sinter_status_t validate_and_keep(const char *path, void *p, sinter_error_t *err) {
  open_ctx_t *ctx = p;
  sinter_model_close(ctx->model);
  ctx->model = NULL;
  return sn_artifact_open(path, &ctx->model, err);
}

static void add_warnings(sinter_model_t *m, sn_cache_t *cache) {
  for (size_t i = 0; i < sn_cache_warning_count(cache); i++) {
    char **p = realloc(m->warnings, (m->warning_count + 1) * sizeof *p);
    if (!p) return;
    m->warnings = p;
    char buf[1200];
    snprintf(buf, sizeof buf, "cache: %s", sn_cache_warning(cache, i));
    if ((p[m->warning_count] = strdup(buf))) m->warning_count++;
  }
}

sinter_status_t sn_open_compiled(const char *path, const sn_compile_options_t *opts,
                                 const char *cache_url, sinter_model_t **out, int *out_origin,
                                 double *out_compile_seconds, sinter_error_t *err) {
  *out = NULL;
  if (out_origin) *out_origin = SN_CACHE_MISS;
  if (out_compile_seconds) *out_compile_seconds = 0;
  if (sn_file_exists(path)) return sn_artifact_open(path, out, err);

  sinter_model_t *folder = NULL;
  sn_cache_t *cache = NULL;
  open_ctx_t ctx = {NULL};
  sn_cache_lock_t lock = {-1};
  char *cached = NULL, hex[SN_CACHE_KEY_LEN + 1];
  uint8_t key[32];
  sn_cache_origin_t origin = SN_CACHE_MISS;
  sn_compile_options_t with_seq = *opts;
  sinter_status_t st = sinter_model_open(path, &folder, err);
  if (!st && !with_seq.max_seq) { /* default: the folder's own limit */
    sinter_model_info_t info;
    sinter_model_get_info(folder, &info);
    with_seq.max_seq =
        info.max_seq_length < with_seq.max_tokens ? info.max_seq_length : with_seq.max_tokens;
  }
  opts = &with_seq;
  if (!st) st = sn_cache_create(NULL, cache_url, &cache, err);
  if (!st) st = content_key(folder, opts, sn_cache_dir(cache), key, err);
  if (st) goto done;
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", key[i]);
  /* A miss is NOT_FOUND; anything else is a real error. */
  st = sn_cache_lookup(cache, hex, validate_and_keep, &ctx, &cached, &origin, err);
  if (st == SINTER_ERR_NOT_FOUND) st = SINTER_OK, origin = SN_CACHE_MISS;
  if (st) goto done;
  if (origin == SN_CACHE_MISS) {
    /* Compile once per key: whoever holds the lock compiles, the others
     * wait and then find the entry. */
    if ((st = sn_cache_acquire(cache, hex, &lock, err))) goto done;
    free(cached);
    cached = NULL;
    st = sn_cache_lookup(cache, hex, validate_and_keep, &ctx, &cached, &origin, err);
    if (st == SINTER_ERR_NOT_FOUND) st = SINTER_OK, origin = SN_CACHE_MISS;
    if (st) goto done;
    if (origin == SN_CACHE_MISS) {
      char tmp[4096];
      snprintf(tmp, sizeof tmp, "%s/%s.compile.%d", sn_cache_dir(cache), hex, (int)getpid());
      sn_compile_report_t report;
      double t0 = sn_time_now();
      st = sn_compile_to_file(folder, opts, tmp, &report, err);
      if (out_compile_seconds) *out_compile_seconds = sn_time_now() - t0;
      if (!st) st = sn_cache_put(cache, hex, tmp, SN_CACHE_PUT_MOVE, &cached, err);
      unlink(tmp);
      if (!st) st = validate_and_keep(cached, &ctx, err);
    }
  }
  if (st) goto done;
  if (out_origin) *out_origin = (int)origin;
  /* Load warnings of the folder (unexpected tensors) and of the cache. */
  for (size_t i = 0; i < folder->warning_count; i++) {
    char **p = realloc(ctx.model->warnings, (ctx.model->warning_count + 1) * sizeof *p);
    if (!p) break;
    ctx.model->warnings = p;
    if ((p[ctx.model->warning_count] = strdup(folder->warnings[i]))) ctx.model->warning_count++;
  }
  add_warnings(ctx.model, cache);
  *out = ctx.model;
  ctx.model = NULL;
done:
  sn_cache_release(&lock);
  free(cached);
  sinter_model_close(ctx.model);
  sinter_model_close(folder);
  sn_cache_destroy(cache);
  return st;
}
