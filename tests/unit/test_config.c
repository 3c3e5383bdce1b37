/* test_config.c — config.json and sentence-transformers module parsing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/config.h"
#include "model/family.h"
#include "test.h"

static sinter_status_t parse(const char *json, sn_config_t *c, sinter_error_t *err) {
  return sn_config_parse(json, strlen(json), "cfg/config.json", c, err);
}

static void test_bert_defaults_and_fields(void) {
  sn_config_t c;
  sinter_error_t err;
  SN_CHECK_OK(parse("{\"model_type\":\"bert\",\"hidden_size\":384,\"num_attention_heads\":12,"
                    "\"hidden_act\":\"gelu_new\",\"layer_norm_eps\":1e-7}",
                    &c, &err),
              &err);
  SN_CHECK(!strcmp(c.family->name, "bert") && c.position_offset == 0 && c.max_positions == 512);
  SN_CHECK(c.hidden_size == 384 && c.num_heads == 12);
  SN_CHECK(c.num_layers == 12 && c.vocab_size == 30522 && c.intermediate_size == 3072);
  SN_CHECK(c.activation == SN_ACT_GELU_TANH);
  SN_CHECK(fabsf(c.layer_norm_eps - 1e-7f) < 1e-12f);
  SN_CHECK(c.head == SN_HEAD_NONE && !strcmp(c.architecture, "BertModel"));
  sn_config_deinit(&c);
}

static void test_classifier_labels(void) {
  sn_config_t c;
  sinter_error_t err;
  SN_CHECK_OK(
      parse("{\"model_type\":\"bert\",\"architectures\":[\"BertForSequenceClassification\"],"
            "\"id2label\":{\"1\":\"POS\",\"0\":\"NEG\",\"2\":\"MID\"}}",
            &c, &err),
      &err);
  SN_CHECK(c.head == SN_HEAD_SEQUENCE && c.num_labels == 3);
  SN_CHECK(!strcmp(c.labels[0], "NEG") && !strcmp(c.labels[1], "POS") &&
           !strcmp(c.labels[2], "MID"));
  sn_config_deinit(&c);
  SN_CHECK_ERR(
      parse("{\"model_type\":\"bert\",\"architectures\":[\"BertForSequenceClassification\"],"
            "\"id2label\":{\"0\":\"A\",\"5\":\"B\"}}",
            &c, &err),
      SINTER_ERR_FORMAT, &err, "id2label key \"5\"");
}

static void test_roberta_family(void) {
  sn_config_t c;
  sinter_error_t err;
  SN_CHECK_OK(parse("{\"model_type\":\"xlm-roberta\",\"hidden_size\":48,\"num_attention_heads\":3,"
                    "\"max_position_embeddings\":40,\"type_vocab_size\":1,\"vocab_size\":99,"
                    "\"architectures\":[\"XLMRobertaForSequenceClassification\"],\"num_labels\":3}",
                    &c, &err),
              &err);
  /* pad_token_id defaults to 1 (RobertaConfig); positions start at 2. */
  SN_CHECK(!strcmp(c.family->name, "roberta") && c.pad_token_id == 1);
  SN_CHECK(c.position_offset == 2 && c.max_positions == 38 && c.type_vocab_size == 1);
  SN_CHECK(c.head == SN_HEAD_SEQUENCE && c.num_labels == 3);
  sn_config_deinit(&c);
  SN_CHECK_OK(parse("{\"model_type\":\"camembert\",\"pad_token_id\":0}", &c, &err), &err);
  SN_CHECK(c.position_offset == 1 && !strcmp(c.architecture, "RobertaModel"));
  sn_config_deinit(&c);
}

/* MPNet: no token types, positions after the fixed padding index 1 (even
 * with another pad_token_id), the relative-bias table's rows. */
static void test_mpnet_family(void) {
  sn_config_t c;
  sinter_error_t err;
  SN_CHECK_OK(parse("{\"model_type\":\"mpnet\",\"max_position_embeddings\":514,"
                    "\"pad_token_id\":0,\"relative_attention_num_buckets\":40,"
                    "\"architectures\":[\"MPNetForSequenceClassification\"]}",
                    &c, &err),
              &err);
  SN_CHECK(!strcmp(c.family->name, "mpnet") && c.type_vocab_size == 0);
  SN_CHECK(c.position_offset == 2 && c.max_positions == 512 && c.relative_buckets == 40);
  SN_CHECK(c.head == SN_HEAD_SEQUENCE);
  sn_config_deinit(&c);
}

/* ModernBERT: which layers slide, from global_attn_every_n_layers (older
 * configs) or layer_types, the thetas from either form, the window, the
 * biases it leaves out; refusals name the field. */
static void test_modernbert_family(void) {
  sn_config_t c;
  sinter_error_t err;
  SN_CHECK_OK(parse("{\"model_type\":\"modernbert\",\"num_hidden_layers\":4,"
                    "\"global_attn_every_n_layers\":2,\"global_rope_theta\":1000.0,"
                    "\"local_attention\":16,\"classifier_pooling\":\"mean\",\"pad_token_id\":0,"
                    "\"vocab_size\":100,\"hidden_size\":24,\"num_attention_heads\":2}",
                    &c, &err),
              &err);
  SN_CHECK(!strcmp(c.family->name, "modernbert") && c.position_offset == 0);
  SN_CHECK(c.layer_local[0] == 0 && c.layer_local[1] == 1 && c.layer_local[2] == 0 &&
           c.layer_local[3] == 1);
  SN_CHECK(c.rope_theta_global == 1000.0f && c.rope_theta_local == 10000.0f && c.local_window == 8);
  SN_CHECK(c.attention_bias == 0 && c.norm_bias == 0 && c.classifier_pooling == SINTER_POOL_MEAN);
  sn_config_deinit(&c);
  SN_CHECK_OK(parse("{\"model_type\":\"modernbert\",\"num_hidden_layers\":2,\"pad_token_id\":0,"
                    "\"vocab_size\":100,\"hidden_size\":24,\"num_attention_heads\":2,"
                    "\"layer_types\":[\"sliding_attention\",\"full_attention\"],"
                    "\"rope_parameters\":{\"full_attention\":{\"rope_type\":\"default\","
                    "\"rope_theta\":500.0},\"sliding_attention\":{\"rope_theta\":50.0}}}",
                    &c, &err),
              &err);
  SN_CHECK(c.layer_local[0] == 1 && c.layer_local[1] == 0);
  SN_CHECK(c.rope_theta_global == 500.0f && c.rope_theta_local == 50.0f);
  sn_config_deinit(&c);
  SN_CHECK_ERR(parse("{\"model_type\":\"modernbert\",\"num_hidden_layers\":2,\"pad_token_id\":0,"
                     "\"layer_types\":[\"full_attention\"]}",
                     &c, &err),
               SINTER_ERR_FORMAT, &err, "one type per layer (2)");
  SN_CHECK_ERR(parse("{\"model_type\":\"modernbert\",\"pad_token_id\":0,\"rope_parameters\":"
                     "{\"full_attention\":{\"rope_type\":\"yarn\"}}}",
                     &c, &err),
               SINTER_ERR_UNSUPPORTED, &err, "rope_type \"yarn\" of full_attention");
  SN_CHECK_ERR(parse("{\"model_type\":\"modernbert\",\"pad_token_id\":0,"
                     "\"classifier_pooling\":\"max\"}",
                     &c, &err),
               SINTER_ERR_UNSUPPORTED, &err, "classifier_pooling \"max\"");
}

/* Qwen3: grouped-query heads, head_dim from the config (heads x head_dim !=
 * hidden), RMSNorm eps, SiLU; refusals name the field. */
static void test_qwen3_family(void) {
  sn_config_t c;
  sinter_error_t err;
  SN_CHECK_OK(parse("{\"model_type\":\"qwen3\",\"hidden_size\":36,\"num_attention_heads\":4,"
                    "\"num_key_value_heads\":2,\"head_dim\":10,\"vocab_size\":100,"
                    "\"rms_norm_eps\":1e-5,\"rope_theta\":1000.0}",
                    &c, &err),
              &err);
  SN_CHECK(!strcmp(c.family->name, "qwen3") && c.num_kv_heads == 2 && c.head_dim == 10);
  SN_CHECK(c.activation == SN_ACT_SILU && c.rope_theta_global == 1000.0f);
  SN_CHECK(c.attention_bias == 0 && c.mlp_bias == 0);
  sn_config_deinit(&c);
  SN_CHECK_ERR(parse("{\"model_type\":\"qwen3\",\"num_attention_heads\":4,"
                     "\"num_key_value_heads\":3}",
                     &c, &err),
               SINTER_ERR_FORMAT, &err, "4 attention heads are not a multiple of 3");
  SN_CHECK_ERR(parse("{\"model_type\":\"qwen3\",\"use_sliding_window\":true}", &c, &err),
               SINTER_ERR_UNSUPPORTED, &err, "use_sliding_window");
  SN_CHECK_ERR(parse("{\"model_type\":\"qwen3\",\"rope_scaling\":{\"type\":\"yarn\"}}", &c, &err),
               SINTER_ERR_UNSUPPORTED, &err, "rope_scaling");
}

/* DeBERTa-v2/v3: v3's settings (pos_att_type as a list or a '|' string),
 * the span from the buckets or max_relative_positions, the scale of three
 * terms; each refusal names its config.json field. */
static void test_deberta_family(void) {
  sn_config_t c;
  sinter_error_t err;
  const char *v3 =
      "{\"model_type\":\"deberta-v2\",\"hidden_size\":768,\"num_attention_heads\":12,"
      "\"relative_attention\":true,\"position_buckets\":256,\"norm_rel_ebd\":"
      "\"layer_norm\",\"share_att_key\":true,\"pos_att_type\":\"p2c|c2p\","
      "\"max_relative_positions\":-1,\"position_biased_input\":false,"
      "\"type_vocab_size\":0,\"vocab_size\":128100}";
  SN_CHECK_OK(parse(v3, &c, &err), &err);
  SN_CHECK(!strcmp(c.family->name, "deberta-v2") && c.rel_span == 256 && c.rel_c2p && c.rel_p2c);
  SN_CHECK(c.max_relative_positions == 512 && c.rel_norm && c.no_position_table);
  SN_CHECK(c.type_vocab_size == 0 && fabsf(c.layer_norm_eps - 1e-7f) < 1e-12f);
  SN_CHECK(fabsf(c.attn_scale - 1.0f / sqrtf(64.0f * 3.0f)) < 1e-9f);
  SN_CHECK(!strcmp(c.architecture, "DebertaV2Model"));
  sn_config_deinit(&c);
  SN_CHECK_OK(parse("{\"model_type\":\"deberta-v2\",\"hidden_size\":32,\"num_attention_heads\":4,"
                    "\"relative_attention\":true,\"max_relative_positions\":12,"
                    "\"share_att_key\":true,\"pos_att_type\":[\"c2p\"]}",
                    &c, &err),
              &err);
  SN_CHECK(c.rel_span == 12 && c.rel_c2p && !c.rel_p2c && !c.rel_norm && !c.no_position_table);
  sn_config_deinit(&c);
  static const struct {
    const char *json, *want;
  } bad[] = {
      {"\"relative_attention\":true,\"pos_att_type\":[\"c2p\"],\"share_att_key\":false",
       "share_att_key false"},
      {"\"conv_kernel_size\":3", "conv_kernel_size 3"},
      {"\"hidden_size\":32,\"embedding_size\":16", "embedding_size 16"},
      {"\"hidden_size\":32,\"num_attention_heads\":4,\"attention_head_size\":16",
       "attention_head_size 16"},
      {"\"type_vocab_size\":2,\"position_biased_input\":false", "type_vocab_size 2"},
      {"\"pos_att_type\":[\"p2p\"]", "pos_att_type \"p2p\""},
      {"\"pos_att_type\":\"c2p|p2p\"", "pos_att_type \"p2p\""},
      {"\"norm_rel_ebd\":\"batch_norm\"", "norm_rel_ebd \"batch_norm\""},
      {"\"hidden_size\":32,\"pooler_hidden_size\":16", "pooler_hidden_size 16"},
      {"\"relative_attention\":true,\"position_buckets\":1", "position_buckets 1"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char json[512];
    snprintf(json, sizeof json, "{\"model_type\":\"deberta-v2\",%s}", bad[i].json);
    SN_CHECK_ERR(parse(json, &c, &err), SINTER_ERR_UNSUPPORTED, &err, bad[i].want);
  }
  SN_CHECK_ERR(parse("{\"model_type\":\"deberta-v2\",\"pos_att_type\":7}", &c, &err),
               SINTER_ERR_FORMAT, &err, "pos_att_type must be a list or a string");
}

static void test_distilbert(void) {
  sn_config_t c;
  sinter_error_t err;
  SN_CHECK_OK(parse("{\"model_type\":\"distilbert\",\"dim\":32,\"n_heads\":4,\"n_layers\":2,"
                    "\"hidden_dim\":64,\"activation\":\"relu\"}",
                    &c, &err),
              &err);
  SN_CHECK(!strcmp(c.family->name, "distilbert") && c.hidden_size == 32 && c.num_layers == 2);
  SN_CHECK(c.type_vocab_size == 0 && c.activation == SN_ACT_RELU);
  sn_config_deinit(&c);
}

static void test_refusals(void) {
  sn_config_t c;
  sinter_error_t err;
  SN_CHECK_ERR(parse("{\"model_type\":\"electra\"}", &c, &err), SINTER_ERR_UNSUPPORTED, &err,
               "unsupported model_type \"electra\" (supported: bert, distilbert, roberta, "
               "xlm-roberta, camembert, mpnet, modernbert, qwen3, ");
  SN_CHECK_ERR(parse("{\"model_type\":\"mpnet\",\"relative_attention_num_buckets\":16}", &c, &err),
               SINTER_ERR_UNSUPPORTED, &err,
               "relative_attention_num_buckets 16 is under the 32 buckets");
  SN_CHECK_ERR(parse("{\"model_type\":\"roberta\",\"architectures\":[\"BertModel\"]}", &c, &err),
               SINTER_ERR_UNSUPPORTED, &err,
               "unsupported architecture \"BertModel\" for model_type roberta");
  SN_CHECK_ERR(parse("{\"model_type\":\"roberta\",\"max_position_embeddings\":2}", &c, &err),
               SINTER_ERR_FORMAT, &err, "leaves no position");
  SN_CHECK_ERR(
      parse("{\"model_type\":\"bert\",\"position_embedding_type\":\"relative_key\"}", &c, &err),
      SINTER_ERR_UNSUPPORTED, &err, "relative_key");
  SN_CHECK_ERR(parse("{\"model_type\":\"bert\",\"hidden_act\":\"swish\"}", &c, &err),
               SINTER_ERR_UNSUPPORTED, &err, "activation \"swish\"");
  SN_CHECK_ERR(parse("{\"model_type\":\"bert\",\"hidden_size\":0}", &c, &err), SINTER_ERR_FORMAT,
               &err, "\"hidden_size\" is 0");
  SN_CHECK_ERR(parse("{\"model_type\":\"bert\",\"num_hidden_layers\":-3}", &c, &err),
               SINTER_ERR_FORMAT, &err, "\"num_hidden_layers\" is -3");
  SN_CHECK_ERR(
      parse("{\"model_type\":\"bert\",\"hidden_size\":100,\"num_attention_heads\":12}", &c, &err),
      SINTER_ERR_FORMAT, &err, "not a multiple of the number of attention heads");
  SN_CHECK_ERR(parse("{\"model_type\":\"bert\",\"hidden_size\":38.5}", &c, &err), SINTER_ERR_FORMAT,
               &err, "must be an integer");
  SN_CHECK_ERR(
      parse("{\"model_type\":\"bert\",\"architectures\":[\"BertForQuestionAnswering\"]}", &c, &err),
      SINTER_ERR_UNSUPPORTED, &err, "BertForQuestionAnswering");
  SN_CHECK_ERR(parse("{\"model_type\":\"bert\",\"is_decoder\":true}", &c, &err),
               SINTER_ERR_UNSUPPORTED, &err, "is_decoder");
  SN_CHECK_ERR(parse("{\"hidden_size\":32}", &c, &err), SINTER_ERR_FORMAT, &err,
               "missing field \"model_type\"");
  SN_CHECK_ERR(parse("[1,2]", &c, &err), SINTER_ERR_FORMAT, &err, "expected a JSON object");
  SN_CHECK_ERR(parse("{\"model_type\":\"bert\",", &c, &err), SINTER_ERR_FORMAT, &err,
               "invalid JSON");
  SN_CHECK_ERR(parse("{\"model_type\":\"bert\",\"x\":\"\xff\xfe\"}", &c, &err), SINTER_ERR_FORMAT,
               &err, "invalid UTF-8 at byte 26");
  SN_CHECK_ERR(parse("{\"model_type\":\"bert\"} trailing", &c, &err), SINTER_ERR_FORMAT, &err,
               "unexpected data after JSON");
}

static void test_missing_file(void) {
  sn_config_t c;
  sinter_error_t err;
  SN_CHECK_ERR(sn_config_load("/nonexistent-sinter-dir", &c, &err), SINTER_ERR_IO, &err,
               "/nonexistent-sinter-dir/config.json: cannot open");
}

static void write_file(const char *dir, const char *name, const char *text) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f) return;
  fputs(text, f);
  fclose(f);
}

static void test_sentence_transformers_modules(void) {
  char dir[] = "/tmp/sinter-st-XXXXXX";
  if (!mkdtemp(dir)) return;
  char sub[600];
  snprintf(sub, sizeof sub, "%s/1_Pooling", dir);
  mkdir(sub, 0700);
  sn_st_modules_t m;
  sinter_error_t err;
  SN_CHECK_OK(sn_st_modules_load(dir, &m, &err), &err); /* no modules.json: defaults */
  SN_CHECK(!m.present && m.pooling == SINTER_POOL_CLS && !m.normalize);

  write_file(dir, "modules.json",
             "[{\"idx\":0,\"name\":\"0\",\"path\":\"\",\"type\":\"sentence_transformers.models."
             "Transformer\"},{\"idx\":1,\"name\":\"1\",\"path\":\"1_Pooling\",\"type\":"
             "\"sentence_transformers.models.Pooling\"},{\"idx\":2,\"name\":\"2\",\"path\":\"2_"
             "Normalize\",\"type\":\"sentence_transformers.models.Normalize\"}]");
  write_file(dir, "1_Pooling/config.json",
             "{\"word_embedding_dimension\":384,\"pooling_mode_cls_token\":false,"
             "\"pooling_mode_mean_tokens\":false,\"pooling_mode_max_tokens\":true}");
  write_file(dir, "sentence_bert_config.json", "{\"max_seq_length\":128,\"do_lower_case\":true}");
  SN_CHECK_OK(sn_st_modules_load(dir, &m, &err), &err);
  SN_CHECK(m.present && m.pooling == SINTER_POOL_MAX && m.normalize);
  SN_CHECK(m.max_seq_length == 128 && m.do_lower_case == 1);

  write_file(dir, "1_Pooling/config.json",
             "{\"pooling_mode_cls_token\":false,\"pooling_mode_lasttoken\":true}");
  SN_CHECK_OK(sn_st_modules_load(dir, &m, &err), &err);
  SN_CHECK(m.pooling == SINTER_POOL_LAST_TOKEN);
  write_file(dir, "1_Pooling/config.json", "{\"pooling_mode_weightedmean_tokens\":true}");
  SN_CHECK_OK(sn_st_modules_load(dir, &m, &err), &err);
  SN_CHECK(m.pooling == SINTER_POOL_WEIGHTED_MEAN);
  write_file(dir, "1_Pooling/config.json", "{\"pooling_mode\":\"lasttoken\"}");
  SN_CHECK_OK(sn_st_modules_load(dir, &m, &err), &err);
  SN_CHECK(m.pooling == SINTER_POOL_LAST_TOKEN);

  write_file(dir, "1_Pooling/config.json",
             "{\"pooling_mode_cls_token\":true,\"pooling_mode_mean_tokens\":true}");
  SN_CHECK_ERR(sn_st_modules_load(dir, &m, &err), SINTER_ERR_UNSUPPORTED, &err,
               "2 pooling modes are enabled");

  write_file(dir, "modules.json",
             "[{\"path\":\"\",\"type\":\"sentence_transformers.models.Transformer\"},"
             "{\"path\":\"2_Dense\",\"type\":\"sentence_transformers.models.WordWeights\"}]");
  SN_CHECK_ERR(sn_st_modules_load(dir, &m, &err), SINTER_ERR_UNSUPPORTED, &err,
               "sentence_transformers.models.WordWeights");
  write_file(dir, "modules.json", "[{\"path\":\"../x\",\"type\":\"Pooling\"}]");
  SN_CHECK_ERR(sn_st_modules_load(dir, &m, &err), SINTER_ERR_FORMAT, &err,
               "leaves the model folder");
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  SN_CHECK(system(cmd) == 0);
}

/* Dense modules: parsed in order, chained, and every option that would
 * change what they compute refused by name. */
static void test_dense_modules(void) {
  char dir[] = "/tmp/sinter-dense-XXXXXX";
  if (!mkdtemp(dir)) return;
  static const char *const subs[] = {"1_Pooling", "2_Dense", "3_Dense"};
  for (int i = 0; i < 3; i++) {
    char sub[600];
    snprintf(sub, sizeof sub, "%s/%s", dir, subs[i]);
    mkdir(sub, 0700);
  }
  sn_st_modules_t m;
  sinter_error_t err;
  static const char *const modules =
      "[{\"path\":\"\",\"type\":\"sentence_transformers.models.Transformer\"},"
      "{\"path\":\"1_Pooling\",\"type\":\"sentence_transformers.models.Pooling\"},"
      "{\"path\":\"2_Dense\",\"type\":\"sentence_transformers.models.Dense\"},"
      "{\"path\":\"3_Dense\",\"type\":\"sentence_transformers.models.Dense\"},"
      "{\"path\":\"4_Normalize\",\"type\":\"sentence_transformers.models.Normalize\"}]";
  write_file(dir, "modules.json", modules);
  write_file(dir, "1_Pooling/config.json", "{\"pooling_mode_mean_tokens\":true}");
  write_file(dir, "2_Dense/config.json",
             "{\"in_features\":32,\"out_features\":40,\"bias\":true,\"activation_function\":"
             "\"torch.nn.modules.activation.Tanh\"}");
  write_file(dir, "3_Dense/config.json",
             "{\"in_features\":40,\"out_features\":24,\"bias\":false,\"activation_function\":"
             "\"torch.nn.modules.linear.Identity\",\"module_input_name\":\"sentence_embedding\"}");
  SN_CHECK_OK(sn_st_modules_load(dir, &m, &err), &err);
  SN_CHECK(m.dense_count == 2 && m.normalize && m.pooling == SINTER_POOL_MEAN);
  SN_CHECK(!strcmp(m.dense[0].path, "2_Dense") && m.dense[0].bias &&
           m.dense[0].activation == SN_ACT_TANH && m.dense[0].out_features == 40);
  SN_CHECK(!m.dense[1].bias && m.dense[1].activation == SN_ACT_NONE);
  SN_CHECK(sn_st_embedding_dim(&m, 32) == 24);
  SN_CHECK_OK(sn_st_modules_check_dense(&m, 32, "folder", &err), &err);
  SN_CHECK_ERR(sn_st_modules_check_dense(&m, 36, "folder", &err), SINTER_ERR_FORMAT, &err,
               "2_Dense/config.json: in_features 32 does not match the 36 features");
  m.dense[1].in_features = 41;
  SN_CHECK_ERR(sn_st_modules_check_dense(&m, 32, "folder", &err), SINTER_ERR_FORMAT, &err,
               "in_features 41 does not match the 40 features of the Dense module before it");

  /* Absent activation: the constructor's Tanh; null: Identity. */
  write_file(dir, "3_Dense/config.json",
             "{\"in_features\":40,\"out_features\":24,\"activation_function\":null}");
  SN_CHECK_OK(sn_st_modules_load(dir, &m, &err), &err);
  SN_CHECK(m.dense[1].activation == SN_ACT_NONE && m.dense[1].bias);
  write_file(dir, "3_Dense/config.json", "{\"in_features\":40,\"out_features\":24}");
  SN_CHECK_OK(sn_st_modules_load(dir, &m, &err), &err);
  SN_CHECK(m.dense[1].activation == SN_ACT_TANH);

  static const struct {
    const char *config, *needle;
    sinter_status_t status;
  } bad[] = {
      {"{\"in_features\":40,\"out_features\":24,\"activation_function\":"
       "\"torch.nn.modules.activation.Sigmoid\"}",
       "unsupported activation_function \"torch.nn.modules.activation.Sigmoid\"",
       SINTER_ERR_UNSUPPORTED},
      {"{\"in_features\":40,\"out_features\":24,\"activation_function\":\"my.module.Act\"}",
       "unsupported activation_function \"my.module.Act\"", SINTER_ERR_UNSUPPORTED},
      {"{\"in_features\":40,\"out_features\":24,\"use_residual\":true}", "use_residual",
       SINTER_ERR_UNSUPPORTED},
      {"{\"in_features\":40,\"out_features\":24,\"module_input_name\":\"token_embeddings\"}",
       "module_input_name \"token_embeddings\"", SINTER_ERR_UNSUPPORTED},
      {"{\"out_features\":24}", "missing field \"in_features\"", SINTER_ERR_FORMAT},
      {"{\"in_features\":40,\"out_features\":0}", "out_features", SINTER_ERR_FORMAT},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    write_file(dir, "3_Dense/config.json", bad[i].config);
    SN_CHECK_ERR(sn_st_modules_load(dir, &m, &err), bad[i].status, &err, bad[i].needle);
    SN_CHECK_MSG(strstr(err.message, "3_Dense/config.json") != NULL, "%s", err.message);
  }
  write_file(dir, "3_Dense/config.json", "{\"in_features\":40,\"out_features\":24}");
  /* A Dense reads the pooled embedding and comes before the Normalize. */
  write_file(dir, "modules.json",
             "[{\"path\":\"\",\"type\":\"sentence_transformers.models.Transformer\"},"
             "{\"path\":\"2_Dense\",\"type\":\"sentence_transformers.models.Dense\"},"
             "{\"path\":\"1_Pooling\",\"type\":\"sentence_transformers.models.Pooling\"}]");
  SN_CHECK_ERR(sn_st_modules_load(dir, &m, &err), SINTER_ERR_UNSUPPORTED, &err,
               "must come after the Pooling");
  write_file(dir, "modules.json",
             "[{\"path\":\"1_Pooling\",\"type\":\"sentence_transformers.models.Pooling\"},"
             "{\"path\":\"4_Normalize\",\"type\":\"sentence_transformers.models.Normalize\"},"
             "{\"path\":\"2_Dense\",\"type\":\"sentence_transformers.models.Dense\"}]");
  SN_CHECK_ERR(sn_st_modules_load(dir, &m, &err), SINTER_ERR_UNSUPPORTED, &err,
               "before the Normalize");
  sn_activation_t act;
  SN_CHECK(sn_st_dense_activation("torch.nn.GELU", &act) == 0 && act == SN_ACT_GELU);
  SN_CHECK(sn_st_dense_activation("torch.nn.modules.activation.ReLU", &act) == 0 &&
           act == SN_ACT_RELU);
  SN_CHECK(sn_st_dense_activation("mypkg.nn.Tanh", &act) == -1);
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  SN_CHECK(system(cmd) == 0);
}

static void test_pool_names(void) {
  sinter_pooling_t m;
  SN_CHECK(sn_pooling_parse("mean_sqrt_len", &m) == 0 && m == SINTER_POOL_MEAN_SQRT_LEN);
  SN_CHECK(sn_pooling_parse("median", &m) == -1);
  SN_CHECK(!strcmp(sn_pooling_name(SINTER_POOL_MAX), "max"));
}

int main(void) {
  SN_RUN(test_bert_defaults_and_fields);
  SN_RUN(test_classifier_labels);
  SN_RUN(test_distilbert);
  SN_RUN(test_roberta_family);
  SN_RUN(test_mpnet_family);
  SN_RUN(test_modernbert_family);
  SN_RUN(test_qwen3_family);
  SN_RUN(test_deberta_family);
  SN_RUN(test_refusals);
  SN_RUN(test_missing_file);
  SN_RUN(test_sentence_transformers_modules);
  SN_RUN(test_dense_modules);
  SN_RUN(test_pool_names);
  return SN_TEST_REPORT();
}
