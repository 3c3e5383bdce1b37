/* synth.c — synthetic BERT models for benchmarks: `--config bert-base` or
 * `--config bert-large` writes a Hugging Face folder (config.json and a
 * model.safetensors of random weights, fixed seed) under $TMPDIR once and
 * reuses it, so benchmarks need no downloaded weights. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "base/status.h"
#include "cli.h"

typedef struct synth_config {
  const char *name;
  int hidden, layers, heads, intermediate;
} synth_config_t;

static const synth_config_t configs[] = {
    {"bert-base", 768, 12, 12, 3072},
    {"bert-large", 1024, 24, 16, 4096},
};

#define VOCAB 30522
#define POSITIONS 512

typedef struct tensor {
  char name[96];
  int64_t d0, d1; /* d1 == 0: a vector */
  int kind;       /* 0 random weight, 1 ones, 2 zeros */
} tensor_t;

static int add(tensor_t *t, int n, int kind, int64_t d0, int64_t d1, const char *fmt, int layer) {
  snprintf(t[n].name, sizeof t[n].name, fmt, layer);
  t[n].d0 = d0, t[n].d1 = d1, t[n].kind = kind;
  return n + 1;
}

static int list_tensors(const synth_config_t *c, tensor_t *t) {
  int n = 0, H = c->hidden, I = c->intermediate;
  n = add(t, n, 0, VOCAB, H, "embeddings.word_embeddings.weight%.0d", 0);
  n = add(t, n, 0, POSITIONS, H, "embeddings.position_embeddings.weight%.0d", 0);
  n = add(t, n, 0, 2, H, "embeddings.token_type_embeddings.weight%.0d", 0);
  n = add(t, n, 1, H, 0, "embeddings.LayerNorm.weight%.0d", 0);
  n = add(t, n, 2, H, 0, "embeddings.LayerNorm.bias%.0d", 0);
  for (int l = 0; l < c->layers; l++) {
    static const char *qkv[] = {"query", "key", "value"};
    for (int j = 0; j < 3; j++) {
      char fmt[96];
      snprintf(fmt, sizeof fmt, "encoder.layer.%%d.attention.self.%s.weight", qkv[j]);
      n = add(t, n, 0, H, H, fmt, l);
      snprintf(fmt, sizeof fmt, "encoder.layer.%%d.attention.self.%s.bias", qkv[j]);
      n = add(t, n, 2, H, 0, fmt, l);
    }
    n = add(t, n, 0, H, H, "encoder.layer.%d.attention.output.dense.weight", l);
    n = add(t, n, 2, H, 0, "encoder.layer.%d.attention.output.dense.bias", l);
    n = add(t, n, 1, H, 0, "encoder.layer.%d.attention.output.LayerNorm.weight", l);
    n = add(t, n, 2, H, 0, "encoder.layer.%d.attention.output.LayerNorm.bias", l);
    n = add(t, n, 0, I, H, "encoder.layer.%d.intermediate.dense.weight", l);
    n = add(t, n, 2, I, 0, "encoder.layer.%d.intermediate.dense.bias", l);
    n = add(t, n, 0, H, I, "encoder.layer.%d.output.dense.weight", l);
    n = add(t, n, 2, H, 0, "encoder.layer.%d.output.dense.bias", l);
    n = add(t, n, 1, H, 0, "encoder.layer.%d.output.LayerNorm.weight", l);
    n = add(t, n, 2, H, 0, "encoder.layer.%d.output.LayerNorm.bias", l);
  }
  n = add(t, n, 0, H, H, "pooler.dense.weight%.0d", 0);
  n = add(t, n, 2, H, 0, "pooler.dense.bias%.0d", 0);
  return n;
}

static sinter_status_t write_folder(const synth_config_t *c, const char *dir, sinter_error_t *err) {
  tensor_t *t = calloc(512, sizeof *t);
  if (!t) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "synthetic model");
  int n = list_tensors(c, t);
  /* Header JSON with data offsets; padded to 8 bytes like the Rust writer. */
  size_t cap = 64 * 1024, len = 0;
  char *header = malloc(cap);
  uint64_t at = 0;
  len += (size_t)snprintf(header + len, cap - len, "{");
  for (int i = 0; i < n; i++) {
    uint64_t bytes = (uint64_t)(t[i].d0 * (t[i].d1 ? t[i].d1 : 1)) * 4;
    if (t[i].d1)
      len += (size_t)snprintf(header + len, cap - len,
                              "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%lld,%lld],"
                              "\"data_offsets\":[%llu,%llu]}",
                              i ? "," : "", t[i].name, (long long)t[i].d0, (long long)t[i].d1,
                              (unsigned long long)at, (unsigned long long)(at + bytes));
    else
      len += (size_t)snprintf(header + len, cap - len,
                              "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%lld],"
                              "\"data_offsets\":[%llu,%llu]}",
                              i ? "," : "", t[i].name, (long long)t[i].d0, (unsigned long long)at,
                              (unsigned long long)(at + bytes));
    at += bytes;
  }
  len += (size_t)snprintf(header + len, cap - len, "}");
  while (len % 8) header[len++] = ' ';
  char *path = sn_path_join(dir, "model.safetensors.tmp");
  FILE *f = path ? fopen(path, "wb") : NULL;
  sinter_status_t st = SINTER_OK;
  if (!f) {
    st = sn_error_set(err, SINTER_ERR_IO, "%s: cannot create: %s", path ? path : dir,
                      strerror(errno));
    goto done;
  }
  uint64_t hlen = len;
  fwrite(&hlen, 8, 1, f);
  fwrite(header, 1, len, f);
  uint64_t rng = 0x853C49E6748FEA9Bull;
  float *row = malloc(sizeof(float) * 4096);
  for (int i = 0; i < n && row; i++) {
    int64_t rows = t[i].d1 ? t[i].d0 : 1, cols = t[i].d1 ? t[i].d1 : t[i].d0;
    for (int64_t r = 0; r < rows; r++) {
      for (int64_t k = 0; k < cols; k++) {
        if (t[i].kind == 0) { /* uniform with std 0.02, as BERT's initialiser */
          rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
          row[k] = ((float)(rng >> 40) / 16777216.0f - 0.5f) * 0.0693f;
        } else {
          row[k] = t[i].kind == 1 ? 1.0f : 0.0f;
        }
      }
      fwrite(row, sizeof(float), (size_t)cols, f);
    }
  }
  if (!row || fclose(f) != 0) {
    st = sn_error_set(err, SINTER_ERR_IO, "%s: write failed", path);
    goto done;
  }
  free(row);
  char *final_path = sn_path_join(dir, "model.safetensors");
  if (!final_path || rename(path, final_path) != 0)
    st = sn_error_set(err, SINTER_ERR_IO, "%s: cannot rename", path);
  free(final_path);
done:
  free(path);
  free(header);
  free(t);
  return st;
}

sinter_status_t cli_synth_model(const char *name, char *out_dir, size_t cap, sinter_error_t *err) {
  const synth_config_t *c = NULL;
  for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++)
    if (!strcmp(name, configs[i].name)) c = &configs[i];
  if (!c)
    return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                        "unknown --config \"%s\" (bert-base, bert-large)", name);
  const char *tmp = getenv("TMPDIR");
  snprintf(out_dir, cap, "%s/sinter-synth-%s", tmp && *tmp ? tmp : "/tmp", name);
  char *weights = sn_path_join(out_dir, "model.safetensors");
  int ready = weights && sn_file_exists(weights);
  free(weights);
  if (ready) return SINTER_OK;
  mkdir(out_dir, 0755);
  char *cfg_path = sn_path_join(out_dir, "config.json");
  FILE *f = cfg_path ? fopen(cfg_path, "w") : NULL;
  free(cfg_path);
  if (!f) return sn_error_set(err, SINTER_ERR_IO, "%s: cannot write config.json", out_dir);
  fprintf(f,
          "{\"model_type\": \"bert\", \"architectures\": [\"BertModel\"], \"vocab_size\": %d, "
          "\"hidden_size\": %d, \"num_hidden_layers\": %d, \"num_attention_heads\": %d, "
          "\"intermediate_size\": %d, \"max_position_embeddings\": %d, \"type_vocab_size\": 2, "
          "\"hidden_act\": \"gelu\", \"layer_norm_eps\": 1e-12}\n",
          VOCAB, c->hidden, c->layers, c->heads, c->intermediate, POSITIONS);
  fclose(f);
  fprintf(stderr, "sinter: writing synthetic %s weights to %s (once)\n", name, out_dir);
  return write_folder(c, out_dir, err);
}
