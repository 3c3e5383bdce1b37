/* test_api.c — the public calls that span modules (src/api/): opening a
 * program from a folder through the cache and from an artifact, saving,
 * batch tokenization, and sessions on several threads at once. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/session.h"
#include "test.h"

#define MINILM SN_TEST_FIXTURES "/../../.cache/models/all-MiniLM-L6-v2"
#define BERT_CLS SN_TEST_FIXTURES "/models/bert_cls"

static char cache_dir[256];

static void test_program_open_through_cache(void) {
  snprintf(cache_dir, sizeof cache_dir, "/tmp/sinter-test-api-%d", (int)getpid());
  sinter_open_options_t o = {.compile = {.dtype = SINTER_DTYPE_F32, .max_tokens = 64},
                             .cache_dir = cache_dir,
                             .cache_url = ""};
  sinter_error_t err;
  sinter_program_t *first = NULL, *second = NULL;
  SN_CHECK_OK(sinter_program_open(BERT_CLS, &o, &first, &err), &err);
  SN_CHECK_OK(sinter_program_open(BERT_CLS, &o, &second, &err), &err);
  if (first && second) {
    sinter_program_info_t a, b;
    sinter_program_get_info(first, &a);
    sinter_program_get_info(second, &b);
    SN_CHECK(a.origin == SINTER_PROGRAM_COMPILED && a.compile_seconds > 0);
    SN_CHECK(b.origin == SINTER_PROGRAM_FROM_LOCAL_CACHE && b.compile_seconds == 0);
    SN_CHECK(a.dtype == SINTER_DTYPE_F32 && a.max_tokens == 64 && a.max_seq == 64);
    SN_CHECK(strlen(a.content_key) == 64 && !strcmp(a.content_key, b.content_key));
    SN_CHECK(a.path && b.path && !strcmp(a.path, b.path) && strstr(a.path, cache_dir) == a.path);
    SN_CHECK(!strcmp(a.source, a.path)); /* the description came from the entry */
    SN_CHECK(a.arena_bytes > 0 && a.num_ops > 0);
    sinter_model_info_t info;
    sinter_model_get_info(sinter_program_model(second), &info);
    SN_CHECK(info.num_labels == 3 && !info.has_weights);
    SN_CHECK(sinter_program_warning_count(first) == 0 && !sinter_program_warning(first, 0));
  }
  /* Other options are another entry. */
  sinter_program_t *int8 = NULL;
  o.compile.dtype = SINTER_DTYPE_INT8;
  SN_CHECK_OK(sinter_program_open(BERT_CLS, &o, &int8, &err), &err);
  if (int8 && first) {
    sinter_program_info_t a, c;
    sinter_program_get_info(first, &a);
    sinter_program_get_info(int8, &c);
    SN_CHECK(c.origin == SINTER_PROGRAM_COMPILED && c.dtype == SINTER_DTYPE_INT8);
    SN_CHECK(strcmp(a.content_key, c.content_key) != 0);
  }
  sinter_program_release(int8);
  sinter_program_release(first);
  sinter_program_release(second);
  sinter_program_release(NULL);
  /* A missing folder is the folder loader's error. */
  sinter_program_t *none = NULL;
  SN_CHECK_ERR(sinter_program_open("/nonexistent-sinter-model", &o, &none, &err), SINTER_ERR_IO,
               &err, "nonexistent");
  SN_CHECK(none == NULL);
}

/* Compile in memory, save, open the file: the same outputs, and the
 * description in the file tokenizes as the folder does (from memory). */
static void test_compile_save_open(void) {
  sinter_error_t err;
  sinter_model_t *folder = NULL, *described = NULL;
  sinter_program_t *compiled = NULL, *loaded = NULL;
  char path[300];
  snprintf(path, sizeof path, "%s/saved.sinter", cache_dir);
  SN_CHECK_OK(sinter_model_open(MINILM, &folder, &err), &err);
  if (!folder) return;
  SN_CHECK_OK(sinter_program_compile(folder, NULL, &compiled, &err), &err);
  if (compiled) SN_CHECK_OK(sinter_program_save(compiled, path, &err), &err);
  SN_CHECK_OK(sinter_program_open(path, NULL, &loaded, &err), &err);
  SN_CHECK_OK(sinter_model_open(path, &described, &err), &err);
  if (compiled && loaded && described) {
    sinter_program_info_t info;
    sinter_program_get_info(loaded, &info);
    SN_CHECK(info.origin == SINTER_PROGRAM_FROM_FILE && !strcmp(info.path, path));
    sinter_program_get_info(compiled, &info);
    SN_CHECK(info.origin == SINTER_PROGRAM_COMPILED && info.path == NULL);
    static const char text[] = "The quick brown fox jumps over the lazy dog.";
    int32_t *ids[2] = {0}, *types[2] = {0};
    size_t len[2] = {0};
    SN_CHECK_OK(
        sinter_model_tokenize(folder, text, sizeof text - 1, &ids[0], &types[0], &len[0], &err),
        &err);
    SN_CHECK_OK(
        sinter_model_tokenize(described, text, sizeof text - 1, &ids[1], &types[1], &len[1], &err),
        &err);
    SN_CHECK(len[0] > 2 && len[0] == len[1] && !memcmp(ids[0], ids[1], len[0] * sizeof(int32_t)));
    sinter_session_t *a = NULL, *b = NULL;
    SN_CHECK_OK(sinter_session_create_compiled(compiled, 1, &a, &err), &err);
    SN_CHECK_OK(sinter_session_create_compiled(loaded, 1, &b, &err), &err);
    if (a && b && ids[0]) {
      const int32_t *rows[1] = {ids[0]};
      sinter_batch_t batch = {1, rows, NULL, len};
      sinter_outputs_t oa, ob;
      SN_CHECK_OK(sinter_session_run(a, &batch, NULL, &oa, &err), &err);
      float emb[384];
      memcpy(emb, oa.embeddings, sizeof emb);
      SN_CHECK_OK(sinter_session_run(b, &batch, NULL, &ob, &err), &err);
      SN_CHECK(ob.hidden_size == 384 && !memcmp(emb, ob.embeddings, sizeof emb));
    }
    sinter_session_destroy(a);
    sinter_session_destroy(b);
    for (int i = 0; i < 2; i++) free(ids[i]), free(types[i]);
  }
  /* An artifact's description cannot be compiled again. */
  sinter_program_t *again = NULL;
  if (described)
    SN_CHECK_ERR(sinter_program_compile(described, NULL, &again, &err), SINTER_ERR_INVALID_ARGUMENT,
                 &err, "already a compiled artifact");
  sinter_program_release(loaded);
  sinter_program_release(compiled);
  sinter_model_close(described);
  sinter_model_close(folder);
  unlink(path);
}

static void test_tokenize_batch(void) {
  sinter_error_t err;
  sinter_model_t *m = NULL;
  SN_CHECK_OK(sinter_model_open(MINILM, &m, &err), &err);
  if (!m) return;
  const char *texts[3] = {"Hello, world!", "a b c d e f g h", "short"};
  const char *pairs[3] = {"How are you?", "x", "y z"};
  sinter_encoding_t enc[3];
  /* Texts alone: [CLS] hello , world ! [SEP] with byte offsets. */
  SN_CHECK_OK(sinter_model_tokenize_batch(m, 3, texts, NULL, NULL, NULL, NULL, enc, &err), &err);
  if (err.status == SINTER_OK) {
    SN_CHECK(enc[0].length == 6 && enc[0].ids[0] == 101 && enc[0].ids[5] == 102);
    SN_CHECK(enc[0].special[0] && enc[0].special[5] && !enc[0].special[1]);
    SN_CHECK(enc[0].offsets[2] == 0 && enc[0].offsets[3] == 5); /* "Hello" */
    SN_CHECK(enc[0].offsets[4] == 5 && enc[0].offsets[5] == 6); /* "," */
    SN_CHECK(!enc[0].truncated && !enc[1].truncated && !enc[0].in_pair[1]);
    sinter_encodings_free(enc, 3);
    SN_CHECK(enc[0].ids == NULL && enc[0].length == 0);
  }
  /* Pairs: type ids 1 and in_pair on the second text. */
  SN_CHECK_OK(sinter_model_tokenize_batch(m, 3, texts, NULL, pairs, NULL, NULL, enc, &err), &err);
  if (err.status == SINTER_OK) {
    size_t n = enc[2].length; /* [CLS] short [SEP] y z [SEP] */
    SN_CHECK(n == 6 && enc[2].type_ids[3] == 1 && enc[2].in_pair[3] && !enc[2].in_pair[1]);
    SN_CHECK(enc[2].type_ids[1] == 0 && enc[2].special[2] && enc[2].special[5]);
    sinter_encodings_free(enc, 3);
  }
  /* Truncation to 5 tokens, right and left, and refused. */
  sinter_tokenize_options_t right = {.max_length = 5, .truncation = SINTER_TRUNCATE_RIGHT},
                            left = {.max_length = 5, .truncation = SINTER_TRUNCATE_LEFT},
                            none = {.max_length = 5, .truncation = SINTER_TRUNCATE_NONE};
  SN_CHECK_OK(sinter_model_tokenize_batch(m, 2, texts, NULL, NULL, NULL, &right, enc, &err), &err);
  if (err.status == SINTER_OK) {
    SN_CHECK(enc[1].length == 5 && enc[1].truncated && !enc[0].truncated == (enc[0].length < 5));
    SN_CHECK(enc[1].offsets[2] == 0 && enc[1].ids[4] == 102); /* keeps "a b c" */
    sinter_encodings_free(enc, 2);
  }
  SN_CHECK_OK(sinter_model_tokenize_batch(m, 2, texts, NULL, NULL, NULL, &left, enc, &err), &err);
  if (err.status == SINTER_OK) {
    SN_CHECK(enc[1].length == 5 && enc[1].truncated && enc[1].offsets[2] == 10); /* "f g h" */
    sinter_encodings_free(enc, 2);
  }
  SN_CHECK_ERR(sinter_model_tokenize_batch(m, 2, texts, NULL, NULL, NULL, &none, enc, &err),
               SINTER_ERR_LIMIT, &err, "input 0 has 6 tokens; the limit is 5");
  /* Sizes are honoured (a NUL inside is a byte like any other here). */
  const char *bad[1] = {"ok \xff"};
  size_t sizes[1] = {4};
  SN_CHECK_ERR(sinter_model_tokenize_batch(m, 1, bad, sizes, NULL, NULL, NULL, enc, &err),
               SINTER_ERR_INVALID_ARGUMENT, &err, "input 0");
  sinter_encodings_free(NULL, 3);
  sinter_model_close(m);
  /* A model without tokenizer files. */
  SN_CHECK_OK(sinter_model_open(BERT_CLS, &m, &err), &err);
  if (m)
    SN_CHECK_ERR(sinter_model_tokenize_batch(m, 1, texts, NULL, NULL, NULL, NULL, enc, &err),
                 SINTER_ERR_NOT_FOUND, &err, "no tokenizer");
  sinter_model_close(m);
}

/* Sessions over one shared program (and one model, eager) on two threads at
 * once, with different thread counts: each keeps its own count and gets the
 * results a lone run gets. */
typedef struct worker {
  sinter_session_t *session;
  int runs, bad_threads, want_threads, failed;
  float *expected;
  size_t floats;
} worker_t;

static const int32_t shared_ids[2][9] = {{101, 7592, 1010, 2088, 999, 102}, {101, 2460, 102}};
static const size_t shared_len[2] = {6, 3};

static int run_once(sinter_session_t *s, float *out, size_t floats) {
  const int32_t *rows[2] = {shared_ids[0], shared_ids[1]};
  sinter_batch_t batch = {2, rows, NULL, shared_len};
  sinter_outputs_t o;
  sinter_error_t err;
  if (sinter_session_run(s, &batch, NULL, &o, &err) != SINTER_OK) return -1;
  if (out) memcpy(out, o.last_hidden_state, floats * sizeof(float));
  return 0;
}

static void *work(void *p) {
  worker_t *w = p;
  float *got = malloc(w->floats * sizeof(float));
  for (int i = 0; i < w->runs && got; i++) {
    if (run_once(w->session, got, w->floats) != 0 ||
        memcmp(got, w->expected, w->floats * sizeof(float)) != 0)
      w->failed++;
    if (sn_session_last_threads(w->session) != w->want_threads) w->bad_threads++;
  }
  free(got);
  return NULL;
}

static void run_pair(sinter_session_t *a, int ta, sinter_session_t *b, int tb, size_t floats) {
  worker_t w[2] = {{a, 6, 0, ta, 0, malloc(floats * sizeof(float)), floats},
                   {b, 6, 0, tb, 0, malloc(floats * sizeof(float)), floats}};
  SN_CHECK(run_once(a, w[0].expected, floats) == 0 && run_once(b, w[1].expected, floats) == 0);
  pthread_t t[2];
  for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, work, &w[i]);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < 2; i++) {
    SN_CHECK_MSG(w[i].failed == 0, "session %d: %d runs differ", i, w[i].failed);
    SN_CHECK_MSG(w[i].bad_threads == 0, "session %d ran with another thread count", i);
    free(w[i].expected);
  }
}

static void test_sessions_on_two_threads(void) {
  sinter_error_t err;
  sinter_model_t *m = NULL;
  sinter_program_t *p = NULL;
  SN_CHECK_OK(sinter_model_open(MINILM, &m, &err), &err);
  if (m) SN_CHECK_OK(sinter_program_compile(m, NULL, &p, &err), &err);
  if (!p) {
    sinter_model_close(m);
    return;
  }
  size_t floats = (shared_len[0] + shared_len[1]) * 384;
  sinter_session_t *c1 = NULL, *c2 = NULL, *e1 = NULL, *e2 = NULL;
  SN_CHECK_OK(sinter_session_create_compiled(p, 1, &c1, &err), &err);
  SN_CHECK_OK(sinter_session_create_compiled(p, 2, &c2, &err), &err);
  SN_CHECK_OK(sinter_session_create_eager(m, 2, &e1, &err), &err);
  SN_CHECK_OK(sinter_session_create_eager(m, 1, &e2, &err), &err);
  if (c1 && c2 && e1 && e2) {
    SN_CHECK(sn_session_last_threads(c1) == 0);
    run_pair(c1, 1, c2, 2, floats); /* one program, two thread counts */
    run_pair(e1, 2, e2, 1, floats); /* one model, eager */
    run_pair(c2, 2, e2, 1, floats); /* both kinds at once */
  }
  sinter_session_destroy(c1);
  sinter_session_destroy(c2);
  sinter_session_destroy(e1);
  sinter_session_destroy(e2);
  sinter_program_release(p);
  sinter_model_close(m);
}

int main(void) {
  SN_RUN(test_program_open_through_cache);
  SN_RUN(test_compile_save_open);
  SN_RUN(test_tokenize_batch);
  SN_RUN(test_sessions_on_two_threads);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", cache_dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", cache_dir);
  return SN_TEST_REPORT();
}
