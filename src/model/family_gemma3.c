/* family_gemma3.c — Gemma 3's text model (transformers' modeling_gemma3.py)
 * as an embedder: Gemma3TextModel (EmbeddingGemma's sentence-transformers
 * folders) and Gemma3ForCausalLM checkpoints read as the same encoder
 * (lm_head unused).
 *
 * Word embeddings scaled by sqrt(hidden_size); sandwich-norm layers (an
 * RMSNorm before and after both the attention and the feed-forward block)
 * and a final norm, all RMSNorms that multiply by (1 + weight); an RMSNorm
 * on each q and k head before the rotation; rotary positions with one theta
 * for the global layers and one for the sliding-window layers (layer_types,
 * or every sliding_window_pattern-th layer global); grouped-query attention
 * with head_dim from the config; scores scaled by query_pre_attn_scalar^-0.5;
 * a GeGLU feed-forward block (gate_proj, up_proj, down_proj) with the tanh
 * GELU. Attention is causal, or bidirectional with use_bidirectional_attention
 * (EmbeddingGemma). Logit soft-capping of the attention is refused. */
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"

/* Which layers slide: config.json's layer_types, else every
 * sliding_window_pattern-th layer (counting from 1) is global. */
static sinter_status_t layer_types(const cJSON *root, sn_config_t *c, const char *label,
                                   sinter_error_t *err) {
  int listed;
  SN_TRY(sn_config_parse_layer_types(root, c, label, &listed, err));
  if (listed) return SINTER_OK;
  int32_t pattern;
  SN_TRY(sn_config_get_i32(root, "sliding_window_pattern", 6, 1, SN_CONFIG_MAX_LAYERS, label,
                           &pattern, err));
  for (int i = 0; i < c->num_layers; i++) c->layer_local[i] = (i + 1) % pattern != 0;
  return SINTER_OK;
}

static sinter_status_t parse(const cJSON *root, sn_config_t *c, const char *label,
                             sinter_error_t *err) {
  /* Gemma3TextConfig's defaults. */
  static const sn_decoder_defaults_t defaults = {262208, 2304, 26, 8, 4, 256, 9216, 131072};
  SN_TRY(sn_config_parse_decoder_sizes(root, c, &defaults, label, err));
  const char *act;
  SN_TRY(sn_json_get_string(root, "hidden_activation", "gelu_pytorch_tanh", label, &act, err));
  SN_TRY(sn_config_set_activation(c, act, label, err));
  const cJSON *cap = cJSON_GetObjectItemCaseSensitive(root, "attn_logit_softcapping");
  if (cap && !cJSON_IsNull(cap))
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: attn_logit_softcapping is not supported (only null)", label);
  double scalar;
  SN_TRY(sn_json_get_double(root, "query_pre_attn_scalar", 256, label, &scalar, err));
  if (!(scalar > 0) || scalar > 1e9)
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: query_pre_attn_scalar %g is out of range",
                        label, scalar);
  c->attn_scale = (float)pow(scalar, -0.5); /* as Python computes scalar**-0.5 */
  int bidirectional;
  SN_TRY(sn_json_get_bool(root, "use_bidirectional_attention", 0, label, &bidirectional, err));
  c->causal = !bidirectional;
  SN_TRY(layer_types(root, c, label, err));
  /* The window transformers masks with: bidirectional layers see |i - j| <
   * sliding_window / 2 + 1 (the config halves it, "exclusive bounds"),
   * causal ones i - j < sliding_window. */
  int32_t window;
  SN_TRY(sn_config_get_i32(root, "sliding_window", 4096, 1, SN_CONFIG_MAX_POSITIONS, label, &window,
                           err));
  c->local_window = bidirectional ? window / 2 : window - 1;
  SN_TRY(sn_config_rope_theta(root, "full_attention", "rope_theta", 1000000.0, label,
                              &c->rope_theta_global, err));
  SN_TRY(sn_config_rope_theta(root, "sliding_attention", "rope_local_base_freq", 10000.0, label,
                              &c->rope_theta_local, err));
  if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "rope_scaling")))
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED, "%s: rope_scaling is not supported", label);
  if (c->head_dim % 2 != 0)
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: rotary positions need an even head_dim (%d)", label, (int)c->head_dim);
  return SINTER_OK;
}

static const char *const model_types[] = {"gemma3_text", NULL};

static const sn_family_arch_t archs[] = {
    {"Gemma3TextModel", SN_HEAD_NONE},
    {"Gemma3ForCausalLM", SN_HEAD_NONE},
};

static const char *const unused[] = {"lm_head.", NULL};

const sn_family_t sn_family_gemma3 = {
    .name = "gemma3",
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
            .attn_post_norm = "layers.%d.post_attention_layernorm",
            .ffn_gate = "layers.%d.mlp.gate_proj",
            .ffn_in = "layers.%d.mlp.up_proj",
            .ffn_out = "layers.%d.mlp.down_proj",
            .ffn_norm = "layers.%d.pre_feedforward_layernorm",
            .ffn_post_norm = "layers.%d.post_feedforward_layernorm",
            .final_norm = "norm",
        },
    .positions = SN_POSITIONS_FROM_ZERO,
    .layout = SN_LAYOUT_SANDWICH_NORM,
    .ffn = SN_FFN_GLU,
    .rms_norm = 1,
    .norm_offset = 1.0f,
    .scale_embeddings = 1,
    .causal = 1,
    .unused = unused,
};
