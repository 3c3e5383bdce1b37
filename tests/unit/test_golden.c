/* test_golden.c — the eager executor against Hugging Face reference outputs
 * (tests/fixtures/golden, made by scripts/make_fixtures.py with transformers
 * and sentence-transformers). fp32 outputs must agree within 1e-4 max
 * absolute difference; the observed maximum per model is printed. */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "sinter.h"
#include "test.h"
#include "test_batch.h"

#define TOLERANCE 1e-4

#ifndef SN_TEST_DEFAULT_MODEL
#define SN_TEST_DEFAULT_MODEL SN_TEST_FIXTURES "/../../.cache/models/all-MiniLM-L6-v2"
#endif

/* Max |got - want| over a row-major [rows, n] block against a JSON array of rows. */
static double diff_rows(const float *got, size_t stride, const cJSON *rows) {
  double worst = 0;
  size_t r = 0;
  const cJSON *row;
  cJSON_ArrayForEach(row, rows) {
    size_t j = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, row) {
      double d = fabs((double)got[r * stride + j] - x->valuedouble);
      worst = d > worst ? d : worst;
      j++;
    }
    r++;
  }
  return worst;
}

static double run_model_golden(const char *name) {
  char dir[512], path[512];
  snprintf(dir, sizeof dir, "%s/models/%s", SN_TEST_FIXTURES, name);
  snprintf(path, sizeof path, "%s/golden/%s.json", SN_TEST_FIXTURES, name);
  sinter_error_t err;
  cJSON *golden = NULL;
  sinter_model_t *model = NULL;
  sinter_session_t *session = NULL;
  double worst = 0;
  SN_CHECK_OK(sn_json_load(path, &golden, &err), &err);
  SN_CHECK_OK(sinter_model_open(dir, &model, &err), &err);
  if (model)
    SN_CHECK_OK(sinter_session_create_eager(model, sn_test_threads(), &session, &err), &err);
  if (!golden || !session) goto done;
  const cJSON *c;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(golden, "cases")) {
    json_batch_t jb;
    batch_from_json(&jb, cJSON_GetObjectItem(c, "input_ids"),
                    cJSON_GetObjectItem(c, "token_type_ids"));
    sinter_outputs_t o;
    sinter_run_options_t opts = {.pooling = SINTER_POOL_DEFAULT, .normalize = -1};
    SN_CHECK_OK(sinter_session_run(session, &jb.batch, &opts, &o, &err), &err);
    if (err.status == SINTER_OK) {
      /* last_hidden_state holds only real tokens per sequence in the golden. */
      const cJSON *seqs = cJSON_GetObjectItem(c, "last_hidden_state");
      for (size_t i = 0; i < jb.batch.count; i++) {
        double d = diff_rows(o.last_hidden_state + o.offsets[i] * o.hidden_size, o.hidden_size,
                             cJSON_GetArrayItem(seqs, (int)i));
        worst = d > worst ? d : worst;
      }
      const cJSON *pooler = cJSON_GetObjectItem(c, "pooler_output");
      SN_CHECK_MSG(cJSON_IsArray(pooler) == (o.pooler_output != NULL), "%s: pooler presence", name);
      if (cJSON_IsArray(pooler) && o.pooler_output)
        worst = fmax(worst, diff_rows(o.pooler_output, o.hidden_size, pooler));
      const cJSON *logits = cJSON_GetObjectItem(c, "logits");
      SN_CHECK_MSG(cJSON_IsArray(logits) == (o.logits != NULL), "%s: logits presence", name);
      if (cJSON_IsArray(logits) && o.logits)
        worst = fmax(worst, diff_rows(o.logits, o.num_labels, logits));
    }
    /* Every pooling mode, unnormalized. */
    static const struct {
      const char *key;
      sinter_pooling_t mode;
    } pools[] = {{"cls", SINTER_POOL_CLS},
                 {"mean", SINTER_POOL_MEAN},
                 {"max", SINTER_POOL_MAX},
                 {"mean_sqrt_len", SINTER_POOL_MEAN_SQRT_LEN},
                 {"lasttoken", SINTER_POOL_LAST_TOKEN},
                 {"weightedmean", SINTER_POOL_WEIGHTED_MEAN}};
    for (size_t p = 0; p < sizeof pools / sizeof pools[0]; p++) {
      /* Goldens made before the last two modes do not hold them. */
      if (!cJSON_GetObjectItem(cJSON_GetObjectItem(c, "pooled"), pools[p].key)) continue;
      sinter_run_options_t po = {.pooling = pools[p].mode, .normalize = -1};
      SN_CHECK_OK(sinter_session_run(session, &jb.batch, &po, &o, &err), &err);
      if (err.status == SINTER_OK)
        worst = fmax(
            worst, diff_rows(o.embeddings, o.hidden_size,
                             cJSON_GetObjectItem(cJSON_GetObjectItem(c, "pooled"), pools[p].key)));
    }
    batch_free(&jb);
  }
  printf("golden %-18s max abs diff %.3g\n", name, worst);
  SN_CHECK_MSG(worst < TOLERANCE, "%s: max abs diff %g exceeds %g", name, worst, TOLERANCE);
done:
  sinter_session_destroy(session);
  sinter_model_close(model);
  cJSON_Delete(golden);
  return worst;
}

static void test_bert_cls(void) {
  run_model_golden("bert_cls");
}
static void test_distilbert_cls(void) {
  run_model_golden("distilbert_cls");
}
static void test_bert_gelu_new_st(void) {
  run_model_golden("bert_gelu_new_st");
}
static void test_bert_f16(void) {
  run_model_golden("bert_f16");
}
static void test_bert_sharded(void) {
  run_model_golden("bert_sharded");
}
static void test_bert_mlm(void) {
  run_model_golden("bert_mlm");
}
static void test_bert_legacy_bf16(void) {
  run_model_golden("bert_legacy_bf16");
}
/* The RoBERTa family: positions after the padding index, its classifier. */
static void test_roberta_family(void) {
  run_model_golden("roberta_cls");
  run_model_golden("xlmr_base");
  run_model_golden("camembert_mlm");
}

static void test_mpnet_family(void) {
  run_model_golden("mpnet_cls");
  run_model_golden("mpnet_base");
}

static void test_modernbert_family(void) {
  run_model_golden("modernbert_cls");
  run_model_golden("modernbert_base");
  run_model_golden("modernbert_mlm"); /* masked-LM checkpoints as encoders */
  run_model_golden("modernbert_mlm_bias");
}

static void test_qwen3_family(void) {
  run_model_golden("qwen3_base");
}

/* DeBERTa-v2/v3: disentangled attention (c2p and p2c over log buckets
 * shorter than the sequences; c2p alone over exact distances), absolute
 * positions and token types or none, ContextPooler's classifier. */
static void test_deberta_family(void) {
  run_model_golden("deberta_cls");
  run_model_golden("deberta_base");
  run_model_golden("deberta_mlm");
  run_model_golden("deberta_mlm_v3");
}

static void test_gemma3_family(void) {
  run_model_golden("gemma3_base");
  run_model_golden("gemma3_causal");
}

/* A real sentence-transformers folder's embeddings (`golden` in
 * tests/fixtures/golden) against sentence-transformers encode. */
static void run_st_golden(const char *golden_name, const char *dir, const char *label,
                          const char *fetch) {
  char path[512];
  snprintf(path, sizeof path, "%s/golden/%s.json", SN_TEST_FIXTURES, golden_name);
  sinter_error_t err;
  cJSON *golden = NULL;
  sinter_model_t *model = NULL;
  sinter_session_t *session = NULL;
  SN_CHECK_OK(sn_json_load(path, &golden, &err), &err);
  SN_CHECK_OK(sinter_model_open(dir, &model, &err), &err);
  if (!model) {
    fprintf(stderr, "%s is fetched by scripts/%s\n", label, fetch);
    goto done;
  }
  SN_CHECK_OK(sinter_session_create_eager(model, sn_test_threads(), &session, &err), &err);
  if (!golden || !session) goto done;
  /* One sentence a run: padded to the longest, the eager graph's score
   * matrices would be [37, heads, 384, 384]. */
  double worst = 0;
  size_t count = 0;
  const cJSON *c;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(golden, "cases")) {
    cJSON *ids = cJSON_CreateArray(), *want = cJSON_CreateArray();
    cJSON_AddItemToArray(ids, cJSON_Duplicate(cJSON_GetObjectItem(c, "input_ids"), 1));
    cJSON_AddItemToArray(want, cJSON_Duplicate(cJSON_GetObjectItem(c, "embedding"), 1));
    json_batch_t jb;
    batch_from_json(&jb, ids, NULL);
    sinter_outputs_t o;
    SN_CHECK_OK(sinter_session_run(session, &jb.batch, NULL, &o, &err), &err);
    if (err.status == SINTER_OK)
      worst = fmax(worst, diff_rows(o.embeddings, o.embedding_dim, want));
    count++;
    batch_free(&jb);
    cJSON_Delete(ids);
    cJSON_Delete(want);
  }
  printf("golden %-18s max abs diff %.3g over %zu sentences\n", label, worst, count);
  SN_CHECK_MSG(count > 0 && worst < TOLERANCE, "%s: max abs diff %g", label, worst);
done:
  sinter_session_destroy(session);
  sinter_model_close(model);
  cJSON_Delete(golden);
}

static void test_default_model(void) {
  run_st_golden("all_minilm_l6_v2", SN_TEST_DEFAULT_MODEL, "all-MiniLM-L6-v2", "fetch_model.sh");
}

/* The real all-mpnet-base-v2: MPNet's relative bias on trained weights. */
static void test_all_mpnet_base_v2(void) {
  run_st_golden("all_mpnet_base_v2", SN_TEST_FIXTURES "/../../.cache/models/all-mpnet-base-v2",
                "all-mpnet-base-v2", "fetch_mpnet.sh");
}

/* sentence-transformers Dense modules (make_bert_dense_st: 32 -> 40 Tanh
 * with bias, 40 -> 24 Identity without, Normalize; make_bert_dense_nonorm_st:
 * CLS, 16 -> 12 GELU, no Normalize): eager and compiled against
 * SentenceTransformer.encode over one batch of all the golden sentences;
 * each normalization choice compiled as eager; another pooling refused. */
static void dense_golden(const char *name) {
  char dir[512], path[512];
  snprintf(dir, sizeof dir, "%s/models/%s", SN_TEST_FIXTURES, name);
  snprintf(path, sizeof path, "%s/golden/%s.json", SN_TEST_FIXTURES, name);
  sinter_error_t err;
  cJSON *golden = NULL, *ids = cJSON_CreateArray(), *want = cJSON_CreateArray();
  sinter_model_t *model = NULL;
  sinter_program_t *program = NULL;
  sinter_session_t *s[2] = {NULL, NULL};
  float *eager = NULL;
  SN_CHECK_OK(sn_json_load(path, &golden, &err), &err);
  SN_CHECK_OK(sinter_model_open(dir, &model, &err), &err);
  if (!golden || !model) goto done;
  sinter_model_info_t info;
  sinter_model_get_info(model, &info);
  int dim = cJSON_GetObjectItem(golden, "embedding_dim")->valueint;
  SN_CHECK(info.embedding_dim == dim && info.dense_modules > 0 && info.hidden_size != dim);
  sinter_compile_options_t copts = {.dtype = SINTER_DTYPE_F32};
  SN_CHECK_OK(sinter_program_compile(model, &copts, &program, &err), &err);
  SN_CHECK_OK(sinter_session_create_eager(model, sn_test_threads(), &s[0], &err), &err);
  if (program)
    SN_CHECK_OK(sinter_session_create_compiled(program, sn_test_threads(), &s[1], &err), &err);
  if (!s[0] || !s[1]) goto done;
  const cJSON *c;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(golden, "cases")) {
    cJSON_AddItemToArray(ids, cJSON_Duplicate(cJSON_GetObjectItem(c, "input_ids"), 1));
    cJSON_AddItemToArray(want, cJSON_Duplicate(cJSON_GetObjectItem(c, "embedding"), 1));
  }
  json_batch_t jb;
  batch_from_json(&jb, ids, NULL);
  size_t n = jb.batch.count;
  eager = malloc(n * (size_t)dim * sizeof *eager);
  double worst = 0, modes = 0;
  for (int v = 0; v < 2; v++) {
    sinter_outputs_t o;
    SN_CHECK_OK(sinter_session_run(s[v], &jb.batch, NULL, &o, &err), &err);
    if (err.status) continue;
    SN_CHECK(o.embedding_dim == (size_t)dim && o.hidden_size == (size_t)info.hidden_size);
    worst = fmax(worst, diff_rows(o.embeddings, o.embedding_dim, want));
  }
  for (int norm = -1; norm <= 1; norm++) {
    sinter_run_options_t ro = {.pooling = SINTER_POOL_DEFAULT, .normalize = norm};
    for (int v = 0; v < 2; v++) {
      sinter_outputs_t o;
      SN_CHECK_OK(sinter_session_run(s[v], &jb.batch, &ro, &o, &err), &err);
      if (err.status) continue;
      if (v == 0) memcpy(eager, o.embeddings, n * (size_t)dim * sizeof *eager);
      for (size_t k = 0; v == 1 && k < n * (size_t)dim; k++)
        modes = fmax(modes, fabs((double)eager[k] - o.embeddings[k]));
      double sq = 0;
      for (int k = 0; k < dim; k++) sq += (double)o.embeddings[k] * o.embeddings[k];
      SN_CHECK_MSG((fabs(sq - 1.0) < 1e-5) == (norm == 1 || (norm == 0 && info.normalize)),
                   "%s: normalize %d gives |e|^2 = %g", name, norm, sq);
    }
  }
  /* The Dense layers follow the folder's pooling: no other, in either mode. */
  sinter_run_options_t other = {.pooling = info.pooling == SINTER_POOL_CLS ? SINTER_POOL_MEAN
                                                                           : SINTER_POOL_CLS};
  for (int v = 0; v < 2; v++) {
    sinter_outputs_t o;
    SN_CHECK_ERR(sinter_session_run(s[v], &jb.batch, &other, &o, &err), SINTER_ERR_UNSUPPORTED,
                 &err, "pooling is refused: the model's");
  }
  batch_free(&jb);
  printf("golden %-18s max abs diff %.3g (eager and compiled), compiled vs eager %.3g\n", name,
         worst, modes);
  SN_CHECK_MSG(worst < TOLERANCE && modes < TOLERANCE, "%s: %g, %g", name, worst, modes);
done:
  free(eager);
  sinter_session_destroy(s[0]);
  sinter_session_destroy(s[1]);
  sinter_program_release(program);
  sinter_model_close(model);
  cJSON_Delete(golden);
  cJSON_Delete(ids);
  cJSON_Delete(want);
}

static void test_dense_modules(void) {
  dense_golden("bert_dense_st");
  dense_golden("bert_dense_nonorm_st");
}

int main(void) {
  SN_RUN(test_bert_cls);
  SN_RUN(test_distilbert_cls);
  SN_RUN(test_bert_gelu_new_st);
  SN_RUN(test_bert_f16);
  SN_RUN(test_bert_sharded);
  SN_RUN(test_bert_mlm);
  SN_RUN(test_roberta_family);
  SN_RUN(test_mpnet_family);
  SN_RUN(test_modernbert_family);
  SN_RUN(test_qwen3_family);
  SN_RUN(test_gemma3_family);
  SN_RUN(test_deberta_family);
  SN_RUN(test_bert_legacy_bf16);
  SN_RUN(test_dense_modules);
  SN_RUN(test_default_model);
  SN_RUN(test_all_mpnet_base_v2);
  return SN_TEST_REPORT();
}
