/* test_sparse.c — SPLADE sparse output (the masked-LM head, log(1 +
 * ReLU(logits)) max-pooled over each sequence's tokens) against
 * transformers' values (tests/fixtures/golden/<model>_sparse.json, made by
 * scripts/make_fixtures.py --only splade_golden), eager and compiled, and
 * the refusals: no MLM head, a program compiled without it, splade as an
 * embedding pooling, int8. */
#include <stdlib.h>
#include <unistd.h>

#include "api/api.h"
#include "base/file.h"
#include "base/json.h"
#include "program/program.h"
#include "sinter.h"
#include "test.h"
#include "test_batch.h"

#define TOLERANCE 1e-4

/* Max |got - want| of the [batch, vocab] output against the golden rows;
 * also counts the golden's nonzeros that came out zero or the reverse. */
static double diff_sparse(const sinter_outputs_t *o, const cJSON *rows, int *support_mismatch) {
  double worst = 0;
  size_t r = 0;
  const cJSON *row;
  cJSON_ArrayForEach(row, rows) {
    size_t j = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, row) {
      float got = o->sparse[r * o->vocab_size + j];
      double d = fabs((double)got - x->valuedouble);
      worst = d > worst ? d : worst;
      /* A value near zero may fall either side; a clear one must not. */
      if ((got == 0.0f) != (x->valuedouble == 0.0) && fabs(x->valuedouble) > 1e-4)
        (*support_mismatch)++;
      j++;
    }
    SN_CHECK(j == o->vocab_size);
    r++;
  }
  SN_CHECK(r == o->batch);
  return worst;
}

/* Runs the golden cases of `name` through a session asking for sparse
 * output. Returns the worst difference. */
static double run_golden(const char *name, sinter_session_t *session) {
  char path[512];
  snprintf(path, sizeof path, "%s/golden/%s_sparse.json", SN_TEST_FIXTURES, name);
  sinter_error_t err;
  cJSON *golden = NULL;
  double worst = 0;
  int mismatch = 0, cases = 0;
  SN_CHECK_OK(sn_json_load(path, &golden, &err), &err);
  if (!golden) return 1e9;
  const cJSON *c;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(golden, "cases")) {
    json_batch_t jb;
    batch_from_json(&jb, cJSON_GetObjectItem(c, "input_ids"),
                    cJSON_GetObjectItem(c, "token_type_ids"));
    sinter_outputs_t o;
    sinter_run_options_t opts = {.sparse = 1};
    SN_CHECK_OK(sinter_session_run(session, &jb.batch, &opts, &o, &err), &err);
    if (err.status == SINTER_OK) {
      SN_CHECK_MSG(o.sparse != NULL, "%s: no sparse output", name);
      if (o.sparse)
        worst = fmax(worst, diff_sparse(&o, cJSON_GetObjectItem(c, "sparse"), &mismatch));
      /* Embeddings are still there beside it. */
      SN_CHECK(o.embeddings != NULL && o.last_hidden_state != NULL);
      cases++;
    } else {
      worst = 1e9;
    }
    batch_free(&jb);
  }
  SN_CHECK_MSG(cases > 0 && mismatch == 0, "%s: %d entries differ in support", name, mismatch);
  cJSON_Delete(golden);
  return worst;
}

static void check_compiled(const char *name, const sinter_model_t *model, int max_tokens) {
  sinter_error_t err;
  sinter_program_t *program = NULL, *reopened = NULL;
  sinter_session_t *session = NULL;
  sinter_compile_options_t copts = {.max_tokens = max_tokens, .sparse = 1};
  SN_CHECK_OK(sinter_program_compile(model, &copts, &program, &err), &err);
  if (!program) return;
  sinter_program_info_t pinfo;
  sinter_program_get_info(program, &pinfo);
  SN_CHECK(pinfo.sparse == 1);
  SN_CHECK_OK(sinter_session_create_compiled(program, 1, &session, &err), &err);
  if (session) {
    double d = run_golden(name, session);
    printf("sparse %-16s compiled max abs diff %.3g (max_tokens %d)\n", name, d, max_tokens);
    SN_CHECK_MSG(d < TOLERANCE, "%s compiled: %g", name, d);
  }
  sinter_session_destroy(session);
  session = NULL;
  /* Through an artifact: the plan codec and verifier take the splade pool
   * and the [B, vocab] output. */
  char path[256];
  snprintf(path, sizeof path, "/tmp/sinter_test_sparse_%d.sinter", (int)getpid());
  SN_CHECK_OK(sinter_program_save(program, path, &err), &err);
  SN_CHECK_OK(sinter_program_open(path, NULL, &reopened, &err), &err);
  if (reopened) {
    sinter_program_get_info(reopened, &pinfo);
    SN_CHECK(pinfo.sparse == 1);
    SN_CHECK_OK(sinter_session_create_compiled(reopened, 1, &session, &err), &err);
    if (session) SN_CHECK(run_golden(name, session) < TOLERANCE);
    sinter_session_destroy(session);
  }
  unlink(path);
  sinter_program_release(reopened);
  sinter_program_release(program);
}

static void check_model(const char *name) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s/models/%s", SN_TEST_FIXTURES, name);
  sinter_error_t err;
  sinter_model_t *model = NULL;
  sinter_session_t *session = NULL;
  SN_CHECK_OK(sinter_model_open(dir, &model, &err), &err);
  if (!model) return;
  sinter_model_info_t info;
  sinter_model_get_info(model, &info);
  SN_CHECK_MSG(info.has_mlm_head == 1, "%s: has_mlm_head", name);
  /* The head's tensors are used now: no "unexpected tensor" warning. */
  for (size_t i = 0; i < sinter_model_warning_count(model); i++)
    SN_CHECK_MSG(!strstr(sinter_model_warning(model, i), "unexpected"), "%s: %s", name,
                 sinter_model_warning(model, i));
  SN_CHECK_OK(sinter_session_create_eager(model, 0, &session, &err), &err);
  if (session) {
    double d = run_golden(name, session);
    printf("sparse %-16s eager    max abs diff %.3g\n", name, d);
    SN_CHECK_MSG(d < TOLERANCE, "%s eager: %g", name, d);
  }
  sinter_session_destroy(session);
  check_compiled(name, model, 0);
  check_compiled(name, model, 64); /* batches run in several parts */
  sinter_model_close(model);
}

static void test_bert(void) {
  check_model("bert_mlm");
}
static void test_camembert(void) {
  check_model("camembert_mlm");
}
static void test_distilbert(void) {
  check_model("distilbert_mlm");
}
static void test_mpnet(void) {
  check_model("mpnet_mlm");
}
/* ModernBERT: the classifier's prediction head (classifier_activation),
 * biases as the config says, a tied or a stored decoder; sliding windows. */
static void test_modernbert(void) {
  check_model("modernbert_mlm");
  check_model("modernbert_mlm_bias");
}
/* DeBERTa-v2: cls.predictions.* (legacy) and lm_predictions.lm_head.*. */
static void test_deberta(void) {
  check_model("deberta_mlm");
  check_model("deberta_mlm_v3");
}

/* A model without a masked-LM head says so, and compiling it with sparse
 * output is refused by name. */
static void check_no_mlm_head(const sinter_model_t *model) {
  sinter_model_info_t info;
  sinter_model_get_info(model, &info);
  SN_CHECK(info.has_mlm_head == 0);
  sinter_error_t err;
  sinter_program_t *program = NULL;
  sinter_compile_options_t copts = {.sparse = 1};
  SN_CHECK_ERR(sinter_program_compile(model, &copts, &program, &err), SINTER_ERR_UNSUPPORTED, &err,
               "masked-LM head");
  SN_CHECK(program == NULL);
  sinter_program_release(program);
}

/* A ModernBERT classifier's head.* has the MLM head's names but feeds the
 * labels: no masked-LM head, and sparse is refused. */
static void test_modernbert_classifier_is_no_mlm(void) {
  sinter_error_t err;
  sinter_model_t *model = NULL;
  SN_CHECK_OK(sinter_model_open(SN_TEST_FIXTURES "/models/modernbert_cls", &model, &err), &err);
  if (model) check_no_mlm_head(model);
  sinter_model_close(model);
}

/* A decoder that is not tied to the word table (tie_word_embeddings false)
 * and not stored is refused by name, never replaced by the word table. */
static void test_untied_decoder_must_be_stored(void) {
  char dir[] = "/tmp/sinter-untied-XXXXXX", path[256], from[512];
  SN_CHECK(mkdtemp(dir) != NULL);
  const char *src = SN_TEST_FIXTURES "/models/modernbert_mlm";
  snprintf(path, sizeof path, "%s/model.safetensors", dir);
  snprintf(from, sizeof from, "%s/model.safetensors", src);
  char *weights = NULL;
  size_t size = 0;
  sinter_error_t err;
  SN_CHECK_OK(sn_file_read_all(from, 1 << 24, &weights, &size, &err), &err);
  FILE *copy = fopen(path, "wb");
  SN_CHECK(copy && weights && fwrite(weights, 1, size, copy) == size);
  if (copy) fclose(copy);
  free(weights);
  snprintf(from, sizeof from, "%s/config.json", src);
  FILE *in = fopen(from, "rb");
  SN_CHECK(in != NULL);
  if (!in) return;
  char text[8192];
  size_t n = fread(text, 1, sizeof text - 1, in);
  fclose(in);
  text[n] = '\0';
  char *tie = strstr(text, "\"tie_word_embeddings\": true");
  SN_CHECK(tie != NULL);
  if (!tie) return;
  *tie = '\0';
  snprintf(path, sizeof path, "%s/config.json", dir);
  FILE *out = fopen(path, "wb");
  fprintf(out, "%s\"tie_word_embeddings\": false%s", text,
          tie + strlen("\"tie_word_embeddings\": true"));
  fclose(out);
  sinter_model_t *model = NULL;
  sinter_program_t *program = NULL;
  SN_CHECK_OK(sinter_model_open(dir, &model, &err), &err);
  sinter_compile_options_t copts = {.sparse = 1};
  if (model)
    SN_CHECK_ERR(sinter_program_compile(model, &copts, &program, &err), SINTER_ERR_NOT_FOUND, &err,
                 "tie_word_embeddings is false");
  sinter_program_release(program);
  sinter_model_close(model);
  snprintf(path, sizeof path, "%s/model.safetensors", dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/config.json", dir);
  unlink(path);
  rmdir(dir);
}

/* What is refused, and how. */
static void test_refusals(void) {
  sinter_error_t err;
  sinter_model_t *plain = NULL, *mlm = NULL;
  sinter_program_t *program = NULL;
  sinter_session_t *session = NULL;
  SN_CHECK_OK(sinter_model_open(SN_TEST_FIXTURES "/models/bert_cls", &plain, &err), &err);
  SN_CHECK_OK(sinter_model_open(SN_TEST_FIXTURES "/models/bert_mlm", &mlm, &err), &err);
  if (!plain || !mlm) goto done;
  /* No MLM head: compiling with sparse, and an eager run asking for it. */
  check_no_mlm_head(plain);
  int32_t ids[] = {2, 5, 7, 3};
  const int32_t *rows[] = {ids};
  size_t lengths[] = {4};
  sinter_batch_t batch = {1, rows, NULL, lengths};
  sinter_outputs_t o;
  sinter_run_options_t want = {.sparse = 1};
  SN_CHECK_OK(sinter_session_create_eager(plain, 1, &session, &err), &err);
  if (session)
    SN_CHECK_ERR(sinter_session_run(session, &batch, &want, &o, &err), SINTER_ERR_UNSUPPORTED, &err,
                 "masked-LM head");
  sinter_session_destroy(session);
  session = NULL;
  /* int8 with sparse. */
  sinter_compile_options_t i8 = {.dtype = SINTER_DTYPE_INT8, .sparse = 1};
  SN_CHECK_ERR(sinter_program_compile(mlm, &i8, &program, &err), SINTER_ERR_UNSUPPORTED, &err,
               "int8");
  /* A program compiled without sparse has no sparse output, and says so
   * when asked; plain runs of an MLM checkpoint carry none. */
  SN_CHECK_OK(sinter_program_compile(mlm, NULL, &program, &err), &err);
  if (program) {
    sinter_program_info_t pinfo;
    sinter_program_get_info(program, &pinfo);
    SN_CHECK(pinfo.sparse == 0);
    SN_CHECK_OK(sinter_session_create_compiled(program, 1, &session, &err), &err);
    if (session) {
      SN_CHECK_OK(sinter_session_run(session, &batch, NULL, &o, &err), &err);
      SN_CHECK(o.sparse == NULL && o.vocab_size == 0);
      SN_CHECK_ERR(sinter_session_run(session, &batch, &want, &o, &err), SINTER_ERR_UNSUPPORTED,
                   &err, "compiled without sparse");
    }
  }
  sinter_session_destroy(session);
  session = NULL;
  /* splade is not an embedding pooling. */
  SN_CHECK_OK(sinter_session_create_eager(mlm, 1, &session, &err), &err);
  if (session) {
    sinter_run_options_t bad = {.pooling = SINTER_POOL_SPLADE};
    SN_CHECK_ERR(sinter_session_run(session, &batch, &bad, &o, &err), SINTER_ERR_INVALID_ARGUMENT,
                 &err, "splade");
    /* Eager: sparse only when asked, and gone again when not. */
    SN_CHECK_OK(sinter_session_run(session, &batch, &want, &o, &err), &err);
    SN_CHECK(o.sparse != NULL && o.vocab_size == 128);
    SN_CHECK_OK(sinter_session_run(session, &batch, NULL, &o, &err), &err);
    SN_CHECK(o.sparse == NULL);
  }
done:
  sinter_session_destroy(session);
  sinter_program_release(program);
  sinter_model_close(plain);
  sinter_model_close(mlm);
}

/* The program verifier holds a decoded plan's "sparse" output to the
 * config's vocabulary (what the session copies per sequence). */
static void test_verifier_checks_the_width(void) {
  sinter_error_t err;
  sinter_model_t *model = NULL;
  sinter_program_t *program = NULL;
  SN_CHECK_OK(sinter_model_open(SN_TEST_FIXTURES "/models/bert_mlm", &model, &err), &err);
  sinter_compile_options_t copts = {.sparse = 1};
  if (model) SN_CHECK_OK(sinter_program_compile(model, &copts, &program, &err), &err);
  if (program) {
    const sn_ir_graph_t *plan = sn_program_plan(program);
    sn_config_t config = *sn_model_config(model);
    SN_CHECK_OK(sn_program_verify(plan, &config, "plan", &err), &err);
    config.vocab_size = 4096;
    SN_CHECK_ERR(sn_program_verify(plan, &config, "plan", &err), SINTER_ERR_FORMAT, &err,
                 "plan output \"sparse\" is not [B, 4096]");
  }
  sinter_program_release(program);
  sinter_model_close(model);
}

/* Max |compiled - eager| of the sparse output of `batch` (11 sequences),
 * and how many entries differ in support. */
static double compare_with_eager(sinter_program_t *program, sinter_session_t *eager,
                                 const sinter_batch_t *batch, int *support) {
  sinter_error_t err;
  sinter_session_t *compiled = NULL;
  sinter_run_options_t want = {.sparse = 1};
  sinter_outputs_t a, b;
  double worst = 1e9;
  size_t n = batch->count * 128;
  float *ref = malloc(n * sizeof *ref);
  *support = -1;
  SN_CHECK_OK(sinter_session_run(eager, batch, &want, &a, &err), &err);
  if (!ref || err.status || !a.sparse) goto done;
  memcpy(ref, a.sparse, n * sizeof *ref);
  SN_CHECK_OK(sinter_session_create_compiled(program, 0, &compiled, &err), &err);
  if (compiled) SN_CHECK_OK(sinter_session_run(compiled, batch, &want, &b, &err), &err);
  if (!compiled || err.status || !b.sparse) goto done;
  worst = 0;
  *support = 0;
  for (size_t k = 0; k < n; k++) {
    worst = fmax(worst, fabs((double)b.sparse[k] - ref[k]));
    *support += (b.sparse[k] > 0) != (ref[k] > 0);
  }
done:
  free(ref);
  sinter_session_destroy(compiled);
  return worst;
}

/* The compiled plan pools the vocabulary linear as it goes (the pooled
 * linear of pass fuse_pool): no [T, vocab] buffer, and a batch longer than
 * one chunk of rows (256 here), with sequences across chunk boundaries,
 * gives what the eager oracle gives; so does a plan of at most 3 sequences a
 * run (its [B, vocab] buffers sized for 3), which runs the batch in parts. */
static void test_long_batch_in_chunks(void) {
  sinter_error_t err;
  sinter_model_t *model = NULL;
  sinter_program_t *program = NULL, *three = NULL, *reopened = NULL;
  sinter_session_t *eager = NULL;
  SN_CHECK_OK(sinter_model_open(SN_TEST_FIXTURES "/models/bert_mlm", &model, &err), &err);
  sinter_compile_options_t copts = {.sparse = 1};
  if (model) SN_CHECK_OK(sinter_program_compile(model, &copts, &program, &err), &err);
  if (!program) goto done;
  const sn_ir_graph_t *plan = sn_program_plan(program);
  int pooled = 0, logits = 0;
  for (int32_t i = 0; i < plan->count; i++) {
    const sn_ir_node_t *n = &plan->nodes[i];
    pooled += n->op == SN_OP_LINEAR && n->pool == SINTER_POOL_SPLADE;
    logits += n->shape.rank == 2 && n->shape.dims[0] == SN_DIM_T && n->shape.dims[1] == 128;
  }
  SN_CHECK_MSG(pooled == 1 && logits == 0, "%d pooled linears, %d [T, vocab] buffers", pooled,
               logits);
  SN_CHECK_OK(sinter_session_create_eager(model, 1, &eager, &err), &err);
  if (!eager) goto done;
  enum { SEQS = 11 };
  static const size_t lengths[SEQS] = {60, 3, 64, 50, 64, 17, 64, 64, 1, 40, 64}; /* 491 */
  int32_t ids[SEQS][64];
  const int32_t *rows[SEQS];
  uint32_t seed = 7;
  for (int s = 0; s < SEQS; s++) {
    for (int t = 0; t < 64; t++) {
      seed = seed * 1664525u + 1013904223u;
      ids[s][t] = 5 + (int32_t)(seed >> 8) % 120;
    }
    rows[s] = ids[s];
  }
  sinter_batch_t batch = {SEQS, rows, NULL, lengths};
  int support;
  double d = compare_with_eager(program, eager, &batch, &support);
  printf("sparse bert_mlm, 491 tokens in chunks: max abs diff %.3g, support %d\n", d, support);
  SN_CHECK_MSG(d < TOLERANCE && support == 0, "%g, %d", d, support);
  /* At most 3 sequences a run, through an artifact (the plan codec keeps it). */
  sn_compile_options_t in = {.sparse = 1, .max_seqs = 3};
  sn_compile_options_t opts = sn_api_compile_options(model, &in);
  SN_CHECK_OK(sn_api_compile(model, &opts, &three, &err), &err);
  if (!three) goto done;
  char path[256];
  snprintf(path, sizeof path, "/tmp/sinter_test_sparse_seqs_%d.sinter", (int)getpid());
  SN_CHECK_OK(sinter_program_save(three, path, &err), &err);
  SN_CHECK_OK(sinter_program_open(path, NULL, &reopened, &err), &err);
  unlink(path);
  if (!reopened) goto done;
  SN_CHECK(sn_program_plan(reopened)->max_seqs == 3);
  d = compare_with_eager(reopened, eager, &batch, &support);
  printf("sparse bert_mlm, 3 sequences a run: max abs diff %.3g, support %d\n", d, support);
  SN_CHECK_MSG(d < TOLERANCE && support == 0, "%g, %d", d, support);
done:
  sinter_session_destroy(eager);
  sinter_program_release(reopened);
  sinter_program_release(three);
  sinter_program_release(program);
  sinter_model_close(model);
}

int main(void) {
  SN_RUN(test_bert);
  SN_RUN(test_camembert);
  SN_RUN(test_distilbert);
  SN_RUN(test_mpnet);
  SN_RUN(test_modernbert);
  SN_RUN(test_deberta);
  SN_RUN(test_modernbert_classifier_is_no_mlm);
  SN_RUN(test_refusals);
  SN_RUN(test_untied_decoder_must_be_stored);
  SN_RUN(test_verifier_checks_the_width);
  SN_RUN(test_long_batch_in_chunks);
  return SN_TEST_REPORT();
}
