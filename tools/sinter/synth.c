/* synth.c — synthetic models for benchmarks: `--config bert-base`,
 * `--config bert-large` or `--config qwen3-0.6b` writes a Hugging Face folder
 * (config.json and a model.safetensors of random weights, fixed seed) under
 * $TMPDIR once and reuses it, so benchmarks need no downloaded weights.
 * SINTER_SYNTH_LAYERS=N (a test knob) overrides the layer count; such a folder
 * gets its own name (sinter-synth-NAME-Nl), so it never stands in for the real
 * shape. */
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

enum { SYNTH_BERT, SYNTH_QWEN3 };

typedef struct synth_config {
  const char *name;
  int family; /* SYNTH_BERT or SYNTH_QWEN3: tensor names and config.json */
  int hidden, layers, heads, intermediate;
  int kv_heads, head_dim, vocab; /* Qwen3 only (BERT: heads of hidden / heads, VOCAB) */
} synth_config_t;

static const synth_config_t configs[] = {
    {"bert-base", SYNTH_BERT, 768, 12, 12, 3072, 0, 0, 0},
    {"bert-large", SYNTH_BERT, 1024, 24, 16, 4096, 0, 0, 0},
    /* Qwen3-Embedding-0.6B's encoder: 16 query heads over 8 key/value heads of
     * 128 (so q_proj is 2048 wide, wider than hidden), SwiGLU of 3072. */
    {"qwen3-0.6b", SYNTH_QWEN3, 1024, 28, 16, 3072, 8, 128, 151669},
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

/* Qwen3Model's tensors as save_pretrained names them (tied embeddings: no
 * lm_head). */
static int list_qwen3_tensors(const synth_config_t *c, int layers, tensor_t *t) {
  int n = 0, H = c->hidden, I = c->intermediate, Q = c->heads * c->head_dim,
      KV = c->kv_heads * c->head_dim;
  n = add(t, n, 0, c->vocab, H, "embed_tokens.weight%.0d", 0);
  for (int l = 0; l < layers; l++) {
    n = add(t, n, 1, H, 0, "layers.%d.input_layernorm.weight", l);
    n = add(t, n, 0, Q, H, "layers.%d.self_attn.q_proj.weight", l);
    n = add(t, n, 0, KV, H, "layers.%d.self_attn.k_proj.weight", l);
    n = add(t, n, 0, KV, H, "layers.%d.self_attn.v_proj.weight", l);
    n = add(t, n, 1, c->head_dim, 0, "layers.%d.self_attn.q_norm.weight", l);
    n = add(t, n, 1, c->head_dim, 0, "layers.%d.self_attn.k_norm.weight", l);
    n = add(t, n, 0, H, Q, "layers.%d.self_attn.o_proj.weight", l);
    n = add(t, n, 1, H, 0, "layers.%d.post_attention_layernorm.weight", l);
    n = add(t, n, 0, I, H, "layers.%d.mlp.gate_proj.weight", l);
    n = add(t, n, 0, I, H, "layers.%d.mlp.up_proj.weight", l);
    n = add(t, n, 0, H, I, "layers.%d.mlp.down_proj.weight", l);
  }
  n = add(t, n, 1, H, 0, "norm.weight%.0d", 0);
  return n;
}

static int list_tensors(const synth_config_t *c, int layers, tensor_t *t) {
  if (c->family == SYNTH_QWEN3) return list_qwen3_tensors(c, layers, t);
  int n = 0, H = c->hidden, I = c->intermediate;
  n = add(t, n, 0, VOCAB, H, "embeddings.word_embeddings.weight%.0d", 0);
  n = add(t, n, 0, POSITIONS, H, "embeddings.position_embeddings.weight%.0d", 0);
  n = add(t, n, 0, 2, H, "embeddings.token_type_embeddings.weight%.0d", 0);
  n = add(t, n, 1, H, 0, "embeddings.LayerNorm.weight%.0d", 0);
  n = add(t, n, 2, H, 0, "embeddings.LayerNorm.bias%.0d", 0);
  for (int l = 0; l < layers; l++) {
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

/* Tensors one layer adds at most (BERT's 16) size the list; the cap keeps a
 * mistyped override from writing terabytes. */
#define MAX_LAYERS 128

static sinter_status_t write_folder(const synth_config_t *c, int layers, const char *dir,
                                    sinter_error_t *err) {
  tensor_t *t = calloc(16 * MAX_LAYERS + 16, sizeof *t);
  if (!t) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "synthetic model");
  int n = list_tensors(c, layers, t);
  /* Header JSON with data offsets; padded to 8 bytes like the Rust writer. */
  /* One entry is at most ~200 bytes (a 96-byte name, two shapes, two offsets). */
  size_t cap = (size_t)n * 256 + 64, len = 0;
  char *header = malloc(cap);
  int64_t widest = 1;
  for (int i = 0; i < n; i++) {
    int64_t cols = t[i].d1 ? t[i].d1 : t[i].d0;
    if (cols > widest) widest = cols;
  }
  if (!header) {
    free(t);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "synthetic model header");
  }
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
  float *row = malloc(sizeof(float) * (size_t)widest);
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
  if (fclose(f) != 0 || !row) {
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
                        "unknown --config \"%s\" (bert-base, bert-large, qwen3-0.6b)", name);
  int layers = c->layers;
  const char *override = getenv("SINTER_SYNTH_LAYERS");
  if (override && *override) {
    char *end;
    long v = strtol(override, &end, 10);
    if (*end || v < 1 || v > MAX_LAYERS)
      return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                          "SINTER_SYNTH_LAYERS=\"%s\": needs a layer count from 1 to %d", override,
                          MAX_LAYERS);
    layers = (int)v;
  }
  const char *tmp = getenv("TMPDIR");
  if (layers != c->layers)
    snprintf(out_dir, cap, "%s/sinter-synth-%s-%dl", tmp && *tmp ? tmp : "/tmp", name, layers);
  else
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
  if (c->family == SYNTH_QWEN3)
    fprintf(f,
            "{\"model_type\": \"qwen3\", \"architectures\": [\"Qwen3Model\"], \"vocab_size\": %d, "
            "\"hidden_size\": %d, \"num_hidden_layers\": %d, \"num_attention_heads\": %d, "
            "\"num_key_value_heads\": %d, \"head_dim\": %d, \"intermediate_size\": %d, "
            "\"hidden_act\": \"silu\", \"max_position_embeddings\": 32768, "
            "\"rms_norm_eps\": 1e-06, \"rope_theta\": 1000000.0, \"attention_bias\": false, "
            "\"use_sliding_window\": false, \"tie_word_embeddings\": true, "
            "\"torch_dtype\": \"float32\"}\n",
            c->vocab, c->hidden, layers, c->heads, c->kv_heads, c->head_dim, c->intermediate);
  else
    fprintf(f,
            "{\"model_type\": \"bert\", \"architectures\": [\"BertModel\"], \"vocab_size\": %d, "
            "\"hidden_size\": %d, \"num_hidden_layers\": %d, \"num_attention_heads\": %d, "
            "\"intermediate_size\": %d, \"max_position_embeddings\": %d, \"type_vocab_size\": 2, "
            "\"hidden_act\": \"gelu\", \"layer_norm_eps\": 1e-12}\n",
            VOCAB, c->hidden, layers, c->heads, c->intermediate, POSITIONS);
  fclose(f);
  fprintf(stderr, "sinter: writing synthetic %s weights to %s (once)\n", name, out_dir);
  return write_folder(c, layers, out_dir, err);
}
