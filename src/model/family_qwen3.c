/* family_qwen3.c — Qwen3 (transformers' modeling_qwen3.py) as an embedder:
 * Qwen3Model (Qwen3-Embedding's sentence-transformers folders), and
 * Qwen3ForCausalLM checkpoints read as the same encoder (lm_head unused),
 * or, with a reranker template (model.c), as Qwen3-Reranker: the LM head
 * folded to the yes - no row; and Qwen3ForSequenceClassification (the
 * last token's score).
 *
 * A decoder: causal attention, pre-norm layers with RMSNorm and a final
 * norm, no embedding norm, rotary positions (one theta), grouped-query
 * attention (num_key_value_heads), head_dim read from the config (heads x
 * head_dim need not be hidden_size), an RMSNorm on each q and k head before
 * the rotation (q_norm, k_norm), a SwiGLU feed-forward (gate_proj, up_proj,
 * down_proj), no biases unless attention_bias. Sliding-window layers
 * (use_sliding_window) are refused. */
#include <cjson/cJSON.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"

static sinter_status_t parse(const cJSON *root, sn_config_t *c, const char *label,
                             sinter_error_t *err) {
  /* Qwen3Config's defaults. */
  static const sn_decoder_defaults_t defaults = {151936, 4096, 32, 32, 0, 128, 22016, 32768};
  SN_TRY(sn_config_parse_decoder_sizes(root, c, &defaults, label, err));
  const char *act;
  SN_TRY(sn_json_get_string(root, "hidden_act", "silu", label, &act, err));
  SN_TRY(sn_config_set_activation(c, act, label, err));
  int sliding;
  SN_TRY(sn_json_get_bool(root, "use_sliding_window", 0, label, &sliding, err));
  if (sliding)
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: use_sliding_window=true is not supported for qwen3", label);
  /* rope_parameters (transformers 5) or rope_theta; only the default rope. */
  double theta = 1000000.0;
  const cJSON *rp = cJSON_GetObjectItemCaseSensitive(root, "rope_parameters");
  const cJSON *rs = cJSON_GetObjectItemCaseSensitive(root, "rope_scaling");
  if (cJSON_IsObject(rs))
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED, "%s: rope_scaling is not supported", label);
  if (cJSON_IsObject(rp)) {
    const char *kind;
    SN_TRY(sn_json_get_string(rp, "rope_type", "default", label, &kind, err));
    if (strcmp(kind, "default"))
      return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                          "%s: rope_type \"%s\" is not supported (only \"default\")", label, kind);
    SN_TRY(sn_json_get_double(rp, "rope_theta", theta, label, &theta, err));
  } else {
    SN_TRY(sn_json_get_double(root, "rope_theta", theta, label, &theta, err));
  }
  if (!(theta > 1.0) || theta > 1e12)
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: rope_theta %g is out of range", label, theta);
  c->rope_theta_global = (float)theta;
  if (c->head_dim % 2 != 0)
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: rotary positions need an even head_dim (%d)", label, (int)c->head_dim);
  return SINTER_OK;
}

static const char *const model_types[] = {"qwen3", NULL};

static const sn_family_arch_t archs[] = {
    {"Qwen3Model", SN_HEAD_NONE},
    {"Qwen3ForCausalLM", SN_HEAD_NONE},
    /* A reranker converted from the LM head (score = lm_head[yes] - lm_head[no]) or
     * trained as one: the last token's score, no bias. */
    {"Qwen3ForSequenceClassification", SN_HEAD_SEQUENCE},
};

static const char *const unused[] = {"lm_head.", NULL};

const sn_family_t sn_family_qwen3 = {
    .name = "qwen3",
    .model_types = model_types,
    .prefix = "model.",
    .archs = archs,
    .arch_count = sizeof archs / sizeof archs[0],
    .parse = parse,
    .names =
        {
            .word = "embed_tokens.weight",
            .q = "layers.%d.self_attn.q_proj",
            .k = "layers.%d.self_attn.k_proj",
            .v = "layers.%d.self_attn.v_proj",
            .q_norm = "layers.%d.self_attn.q_norm",
            .k_norm = "layers.%d.self_attn.k_norm",
            .attn_out = "layers.%d.self_attn.o_proj",
            .attn_norm = "layers.%d.input_layernorm",
            .ffn_gate = "layers.%d.mlp.gate_proj",
            .ffn_in = "layers.%d.mlp.up_proj",
            .ffn_out = "layers.%d.mlp.down_proj",
            .ffn_norm = "layers.%d.post_attention_layernorm",
            .final_norm = "norm",
            .cls_out = "score",
        },
    .cls_head = SN_CLS_LAST_TOKEN,
    .positions = SN_POSITIONS_FROM_ZERO,
    .layout = SN_LAYOUT_PRE_NORM,
    .ffn = SN_FFN_GLU,
    .rms_norm = 1,
    .causal = 1,
    .unused = unused,
};
