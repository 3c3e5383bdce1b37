/* test_rerank.c — Qwen3ForCausalLM read as Qwen3-Reranker (rerank_template.json,
 * src/model/rerank.c): the pairs through the template against the token ids
 * of the reference code, the scores against transformers' (golden
 * tests/fixtures/golden/qwen3_rerank*.json, made by scripts/make_fixtures.py
 * --only qwen3_rerank, with the LM head of its own in bf16 or tied to the
 * word embeddings, and the same model converted to
 * Qwen3ForSequenceClassification: qwen3_seqcls) eager, compiled and
 * through an artifact, with the
 * instruction and the body overridden and with the body truncated; and the
 * refusals: a body without a placeholder, a true token that is not one
 * vocabulary entry, a template on a model without an LM head. */
#include <stdlib.h>
#include <unistd.h>

#include "base/json.h"
#include "sinter.h"
#include "test.h"

#define TOLERANCE 1e-4

static const char *const models[] = {"qwen3_rerank", "qwen3_rerank_tied", "qwen3_seqcls"};

static cJSON *golden(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/golden/%s.json", SN_TEST_FIXTURES, name);
  sinter_error_t err;
  cJSON *g = NULL;
  SN_CHECK_OK(sn_json_load(path, &g, &err), &err);
  return g;
}

/* Tokenizes the cases' pairs with `opts`, checks the ids against the
 * golden's, runs them through `s` and checks score = sigmoid(logit) and
 * the logit against the golden. Returns the worst score difference. */
static double check_cases(const sinter_model_t *model, sinter_session_t *s, const cJSON *cases,
                          const sinter_tokenize_options_t *opts, const char *what) {
  size_t n = (size_t)cJSON_GetArraySize(cases);
  const char **q = calloc(n, sizeof *q), **d = calloc(n, sizeof *d);
  sinter_encoding_t *enc = calloc(n, sizeof *enc);
  const int32_t **ids = calloc(n, sizeof *ids);
  size_t *lens = calloc(n, sizeof *lens);
  for (size_t i = 0; i < n; i++) {
    const cJSON *c = cJSON_GetArrayItem(cases, (int)i);
    q[i] = cJSON_GetObjectItem(c, "query")->valuestring;
    d[i] = cJSON_GetObjectItem(c, "document")->valuestring;
  }
  sinter_error_t err;
  double worst = 0;
  SN_CHECK_OK(sinter_model_tokenize_batch(model, n, q, NULL, d, NULL, opts, enc, &err), &err);
  for (size_t i = 0; i < n; i++) {
    const cJSON *want = cJSON_GetObjectItem(cJSON_GetArrayItem(cases, (int)i), "input_ids");
    int same = enc[i].length == (size_t)cJSON_GetArraySize(want);
    size_t t = 0;
    for (; same && t < enc[i].length; t++)
      same = enc[i].ids[t] == (int32_t)cJSON_GetArrayItem(want, (int)t)->valuedouble;
    SN_CHECK_MSG(same, "%s: pair %zu: %zu tokens, not the reference's %d (first at %zu: %d)", what,
                 i, enc[i].length, cJSON_GetArraySize(want), t ? t - 1 : 0,
                 t ? (int)enc[i].ids[t - 1] : -1);
    ids[i] = enc[i].ids;
    lens[i] = enc[i].length;
  }
  sinter_batch_t batch = {n, ids, NULL, lens};
  sinter_outputs_t o;
  SN_CHECK_OK(sinter_session_run(s, &batch, NULL, &o, &err), &err);
  SN_CHECK(o.num_labels == 1 && o.logits);
  for (size_t i = 0; o.logits && i < n; i++) {
    const cJSON *c = cJSON_GetArrayItem(cases, (int)i);
    double score = 1.0 / (1.0 + exp(-(double)o.logits[i]));
    double ds = fabs(score - cJSON_GetObjectItem(c, "score")->valuedouble);
    double dl = fabs(o.logits[i] - cJSON_GetObjectItem(c, "logit")->valuedouble);
    SN_CHECK_MSG(ds <= TOLERANCE && dl <= TOLERANCE, "%s: pair %zu: score %.7f logit %.7f", what, i,
                 score, o.logits[i]);
    worst = ds > worst ? ds : worst;
  }
  sinter_encodings_free(enc, n);
  free(q), free(d), free(enc), free(ids), free(lens);
  return worst;
}

/* Every golden set of one model through one session. */
static void check_model(const sinter_model_t *model, sinter_session_t *s, const char *name,
                        const char *how) {
  cJSON *g = golden(name);
  if (!g) return;
  char what[128];
  sinter_tokenize_options_t opts = {0};
  snprintf(what, sizeof what, "%s %s", name, how);
  double worst = check_cases(model, s, cJSON_GetObjectItem(g, "cases"), &opts, what);
  opts.rerank_instruction = cJSON_GetObjectItem(g, "other_instruction")->valuestring;
  double w = check_cases(model, s, cJSON_GetObjectItem(g, "other_instruction_cases"), &opts, what);
  worst = w > worst ? w : worst;
  opts.rerank_instruction = NULL;
  opts.rerank_template = cJSON_GetObjectItem(g, "other_body")->valuestring;
  w = check_cases(model, s, cJSON_GetObjectItem(g, "other_body_cases"), &opts, what);
  worst = w > worst ? w : worst;
  opts.rerank_template = NULL;
  opts.max_length = (int32_t)cJSON_GetObjectItem(g, "max_length")->valuedouble;
  w = check_cases(model, s, cJSON_GetObjectItem(g, "truncated_cases"), &opts, what);
  worst = w > worst ? w : worst;
  printf("%s: max |score - transformers| = %.3g\n", what, worst);
  cJSON_Delete(g);
}

static void test_golden_eager_and_compiled(void) {
  for (size_t k = 0; k < sizeof models / sizeof models[0]; k++) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/models/%s", SN_TEST_FIXTURES, models[k]);
    sinter_error_t err;
    sinter_model_t *model = NULL;
    SN_CHECK_OK(sinter_model_open(dir, &model, &err), &err);
    if (!model) continue;
    sinter_model_info_t info;
    sinter_model_get_info(model, &info);
    SN_CHECK(info.num_labels == 1);
    SN_CHECK(sinter_model_rerank_template(model) &&
             strstr(sinter_model_rerank_template(model), "<Query>: {query}"));
    sinter_session_t *s = NULL;
    SN_CHECK_OK(sinter_session_create_eager(model, 2, &s, &err), &err);
    if (s) check_model(model, s, models[k], "eager");
    sinter_session_destroy(s);
    sinter_program_t *p = NULL;
    SN_CHECK_OK(sinter_program_compile(model, NULL, &p, &err), &err);
    s = NULL;
    if (p) SN_CHECK_OK(sinter_session_create_compiled(p, 2, &s, &err), &err);
    if (s) check_model(model, s, models[k], "compiled");
    sinter_session_destroy(s);
    /* Through an artifact: its description carries the template and the
     * folded head. */
    char art[] = "/tmp/sinter_rerank_XXXXXX";
    int fd = mkstemp(art);
    if (fd >= 0) close(fd);
    if (p) SN_CHECK_OK(sinter_program_save(p, art, &err), &err);
    sinter_program_release(p);
    p = NULL;
    sinter_open_options_t oo = {0};
    oo.cache_url = "";
    SN_CHECK_OK(sinter_program_open(art, &oo, &p, &err), &err);
    s = NULL;
    if (p) SN_CHECK_OK(sinter_session_create_compiled(p, 2, &s, &err), &err);
    if (s) check_model(sinter_program_model(p), s, models[k], "artifact");
    sinter_session_destroy(s);
    sinter_program_release(p);
    unlink(art);
    sinter_model_close(model);
  }
}

/* A copy of the qwen3_rerank folder with rerank_template.json replaced. */
static void folder_with_template(char *dir, size_t cap, const char *json) {
  char tmpl[] = "/tmp/sinter_rerank_dir_XXXXXX";
  if (!mkdtemp(tmpl)) return;
  snprintf(dir, cap, "%s", tmpl);
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "cp %s/models/qwen3_rerank/* %s/", SN_TEST_FIXTURES, dir);
  SN_CHECK(system(cmd) == 0);
  char path[600];
  snprintf(path, sizeof path, "%s/rerank_template.json", dir);
  FILE *f = fopen(path, "w");
  if (f) fputs(json, f), fclose(f);
}

static void remove_folder(const char *dir) {
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  SN_CHECK(system(cmd) == 0);
}

static void test_refusals(void) {
  sinter_error_t err;
  sinter_model_t *m = NULL;
  char dir[256] = "";
  folder_with_template(dir, sizeof dir, "{\"body\": \"<Query>: {query}\\n<Doc>: {doc}\"}");
  SN_CHECK_ERR(sinter_model_open(dir, &m, &err), SINTER_ERR_FORMAT, &err, "{document}");
  remove_folder(dir);
  folder_with_template(dir, sizeof dir, "{\"true_token\": \"maybe\"}");
  SN_CHECK_ERR(sinter_model_open(dir, &m, &err), SINTER_ERR_FORMAT, &err,
               "true_token \"maybe\" is not a single token");
  remove_folder(dir);
  folder_with_template(dir, sizeof dir, "{\"false_token\": \"yes\"}");
  SN_CHECK_ERR(sinter_model_open(dir, &m, &err), SINTER_ERR_FORMAT, &err, "the same");
  remove_folder(dir);
  folder_with_template(dir, sizeof dir, "[1]");
  SN_CHECK_ERR(sinter_model_open(dir, &m, &err), SINTER_ERR_FORMAT, &err, "JSON object");
  remove_folder(dir);
  SN_CHECK(m == NULL);
  /* An override without a placeholder is the caller's error. */
  char path[512];
  snprintf(path, sizeof path, "%s/models/qwen3_rerank", SN_TEST_FIXTURES);
  SN_CHECK_OK(sinter_model_open(path, &m, &err), &err);
  const char *q = "q", *d = "d";
  sinter_encoding_t e;
  sinter_tokenize_options_t opts = {0};
  opts.rerank_template = "{query} only";
  if (m)
    SN_CHECK_ERR(sinter_model_tokenize_batch(m, 1, &q, NULL, &d, NULL, &opts, &e, &err),
                 SINTER_ERR_INVALID_ARGUMENT, &err, "{document}");
  opts.rerank_template = NULL;
  opts.max_length = 20; /* below the template's own tokens */
  if (m)
    SN_CHECK_ERR(sinter_model_tokenize_batch(m, 1, &q, NULL, &d, NULL, &opts, &e, &err),
                 SINTER_ERR_INVALID_ARGUMENT, &err, "leaves no room");
  sinter_model_close(m);
}

/* The embedder fixtures have no template and stay embedders. */
static void test_no_template_no_head(void) {
  char path[512];
  snprintf(path, sizeof path, "%s/models/qwen3_st", SN_TEST_FIXTURES);
  sinter_error_t err;
  sinter_model_t *m = NULL;
  SN_CHECK_OK(sinter_model_open(path, &m, &err), &err);
  sinter_model_info_t info;
  if (m) sinter_model_get_info(m, &info);
  SN_CHECK(m && info.num_labels == 0 && !sinter_model_rerank_template(m));
  sinter_model_close(m);
}

int main(void) {
  SN_RUN(test_golden_eager_and_compiled);
  SN_RUN(test_refusals);
  SN_RUN(test_no_template_no_head);
  return SN_TEST_REPORT();
}
