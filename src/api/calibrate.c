/* calibrate.c — int8 calibration: the fp32 program run on sample texts, the
 * largest |x| per input channel of every linear recorded (the compiler keeps
 * each int8 linear's largest channels in fp32), and the accuracy report that
 * compares an int8 program with the fp32 one on other texts. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/file.h"
#include "runtime/plan.h"
#include "runtime/session.h"

/* Built-in samples: everyday English of several registers and lengths. The
 * calibration and report sets share no sentence (and neither shares one with
 * the golden fixtures the tests score against). Part of the content key
 * (SN_INT8_SAMPLES_REVISION, program.h): change it when the texts change. */
static const char *const calibration_texts[] = {
    "The quick brown fox jumps over the lazy dog.",
    "How do I reset my password if I no longer have access to my email?",
    ("The central bank raised interest rates by a quarter point on Wednesday, citing persistent "
     "inflation in services and a tight labour market."),
    "Preheat the oven to 200 degrees, then roast the vegetables for about forty minutes.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "She scored twice in the second half and the team won the cup final 3-1.",
    "Terms and conditions apply. Offer valid until 31 December while stocks last.",
    "Can you recommend a good hotel near the train station in Munich?",
    "The patient presented with a mild fever, a dry cough and fatigue lasting five days.",
    "git rebase -i HEAD~3 lets you squash the last three commits into one.",
    ("In 1969, Apollo 11 landed on the Moon and Neil Armstrong became the first person to walk "
     "on its surface."),
    "I absolutely loved this film: the acting, the music, everything!",
    "Worst purchase ever. It broke after two days and support never answered.",
    "What is the difference between a virus and a bacterium?",
    "The committee will review all applications and notify candidates by the end of the month.",
    "Shares of the chipmaker fell 7% after it cut its revenue forecast for the year.",
    "Plants need water, sunlight and nutrients from the soil to grow.",
    "Our API returns a 429 status code when the client exceeds its rate limit.",
    "Please find attached the invoice for March; payment is due within thirty days.",
    "Mount Everest, at 8,849 metres, is the highest mountain above sea level.",
    "He quietly closed the door, afraid the creaking hinges would wake the baby.",
    "Regular exercise lowers the risk of heart disease, diabetes and depression.",
    "The new smartphone features a larger battery, a faster processor and an improved camera.",
    "Translate the following sentence into French: where is the nearest pharmacy?",
    ("Climate change is driving more frequent heatwaves, droughts and floods across the globe, "
     "and adaptation is becoming as urgent as cutting emissions."),
    "yes",
    "Thanks!",
    "Error: connection refused (errno 111) while contacting 10.0.0.12:5432",
    "The Eiffel Tower was completed in 1889 for the World's Fair in Paris.",
    "Is it safe to take ibuprofen and paracetamol together?",
    "A balanced portfolio mixes stocks, bonds and cash according to your risk tolerance.",
    "The museum is closed on Mondays and public holidays.",
};

static const char *const report_texts[] = {
    "Where can I buy tickets for tonight's concert?",
    "The government announced a new plan to build affordable housing in the capital.",
    "Boil the pasta in salted water until al dente, about ten minutes.",
    "Neurons transmit signals through electrical and chemical synapses.",
    "The striker was sent off after a second yellow card in the 80th minute.",
    "My package was supposed to arrive on Monday, but the tracking has not updated since Friday.",
    "Quantum computers use qubits, which can represent zero and one at the same time.",
    "This restaurant has the best sushi I have ever tasted.",
    "The software update fixed the crash but the battery drains faster now.",
    "Which programming language should I learn first for data analysis?",
    ("The river burst its banks after three days of heavy rain, flooding hundreds of homes in "
     "the valley."),
    "Ok",
    "Remember to back up your files before installing the new operating system.",
    "The author's second novel explores memory, grief and the bonds between sisters.",
    "Interest on the loan is calculated daily and charged monthly.",
    "Bees pollinate many of the crops that humans rely on for food.",
};

const char *const *sn_api_sample_texts(int report, size_t *count) {
  if (report) {
    *count = sizeof report_texts / sizeof *report_texts;
    return report_texts;
  }
  *count = sizeof calibration_texts / sizeof *calibration_texts;
  return calibration_texts;
}

/* ------------------------------------------------------------- samples */

typedef struct samples {
  size_t count;
  sinter_encoding_t *enc; /* tokenized, or NULL when ids below are synthetic */
  int32_t **ids;
  size_t *lengths;
  char *file; /* a calibration file's bytes (texts point into it) */
} samples_t;

static void samples_free(samples_t *s) {
  if (s->enc)
    sinter_encodings_free(s->enc, s->count);
  else
    for (size_t i = 0; i < s->count && s->ids; i++) free(s->ids[i]);
  free(s->enc), free(s->ids), free(s->lengths), free(s->file);
  memset(s, 0, sizeof *s);
}

/* Splits a calibration file into its non-empty lines (at most max). */
static size_t split_lines(char *data, size_t size, const char **texts, size_t *sizes, size_t max) {
  size_t count = 0;
  for (size_t i = 0; i < size && count < max;) {
    size_t end = i;
    while (end < size && data[end] != '\n') end++;
    size_t len = end - i;
    if (len && data[i + len - 1] == '\r') len--;
    if (len) texts[count] = data + i, sizes[count++] = len;
    i = end + 1;
  }
  return count;
}

/* The token ids to run: the texts tokenized by the model's tokenizer, or for a
 * model without one, deterministic pseudo-random ids (lengths 8 to 128). */
static sinter_status_t make_samples(const sinter_model_t *model, const char *file, int report,
                                    int64_t max_len, samples_t *s, sinter_error_t *err) {
  enum { MAX_SAMPLES = 4096 };
  memset(s, 0, sizeof *s);
  const char *texts[MAX_SAMPLES];
  size_t sizes[MAX_SAMPLES], count = 0;
  if (file) {
    size_t bytes = 0;
    SN_TRY(sn_file_read_all(file, 16u << 20, &s->file, &bytes, err));
    count = split_lines(s->file, bytes, texts, sizes, MAX_SAMPLES);
    if (count == 0) {
      samples_free(s);
      return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                          "%s: no sample texts (one per line) to calibrate int8 with", file);
    }
  } else {
    const char *const *builtin = sn_api_sample_texts(report, &count);
    for (size_t i = 0; i < count; i++) texts[i] = builtin[i], sizes[i] = strlen(builtin[i]);
  }
  s->count = count;
  s->ids = calloc(count, sizeof *s->ids);
  s->lengths = calloc(count, sizeof *s->lengths);
  s->enc = calloc(count, sizeof *s->enc);
  if (!s->ids || !s->lengths || !s->enc) {
    samples_free(s);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "calibration samples");
  }
  sinter_tokenize_options_t topts = {.max_length = (int32_t)max_len};
  sinter_error_t terr;
  if (sinter_model_tokenize_batch(model, count, texts, sizes, NULL, NULL, &topts, s->enc, &terr) ==
      SINTER_OK) {
    for (size_t i = 0; i < count; i++) s->ids[i] = s->enc[i].ids, s->lengths[i] = s->enc[i].length;
    return SINTER_OK;
  }
  if (file) { /* texts were given: a tokenizer problem is the caller's to know */
    sinter_status_t st = sn_error_set(err, terr.status, "%s: %s", file, terr.message);
    samples_free(s);
    return st;
  }
  free(s->enc);
  s->enc = NULL;
  sinter_model_info_t info;
  sinter_model_get_info(model, &info);
  uint64_t state = 0x9E3779B97F4A7C15ull;
  for (size_t i = 0; i < count; i++) {
    size_t len = 8 + i * 120 / (count > 1 ? count - 1 : 1);
    if ((int64_t)len > max_len) len = (size_t)max_len;
    s->ids[i] = malloc(len * sizeof(int32_t));
    if (!s->ids[i]) {
      samples_free(s);
      return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "calibration samples");
    }
    for (size_t t = 0; t < len; t++) {
      state ^= state << 13, state ^= state >> 7, state ^= state << 17;
      s->ids[i][t] = (int32_t)((state >> 33) % (uint64_t)info.vocab_size);
    }
    s->lengths[i] = len;
  }
  return SINTER_OK;
}

/* ------------------------------------------------------------ statistics */

struct sn_api_calibration {
  sn_int8_calibration_t view;
  int32_t cap;
  char **names;
  int64_t *k;
  float **channel_max;
};

static void observe(void *ctx, const char *weight, const float *x, int64_t rows, int64_t k) {
  sn_api_calibration_t *c = ctx;
  int32_t j = 0;
  while (j < c->view.linears && strcmp(c->names[j], weight)) j++;
  if (j == c->view.linears) {
    if (j == c->cap) return; /* sized for every linear of the plan up front */
    c->names[j] = strdup(weight);
    c->k[j] = k;
    c->channel_max[j] = calloc((size_t)k, sizeof(float));
    if (!c->names[j] || !c->channel_max[j]) {
      free(c->names[j]), free(c->channel_max[j]);
      return; /* an entry missing only costs accuracy: the linear gets no outliers */
    }
    c->view.linears++;
  }
  if (c->k[j] != k) return;
  float *mx = c->channel_max[j];
  for (int64_t r = 0; r < rows; r++)
    for (int64_t i = 0; i < k; i++) mx[i] = fmaxf(mx[i], fabsf(x[r * k + i]));
}

void sn_api_calibration_free(sn_api_calibration_t *c) {
  if (!c) return;
  for (int32_t j = 0; j < c->view.linears; j++) free(c->names[j]), free(c->channel_max[j]);
  free(c->names), free(c->k), free(c->channel_max);
  free(c);
}

const sn_int8_calibration_t *sn_api_calibration_view(const sn_api_calibration_t *c) {
  return &c->view;
}

/* Runs samples through a compiled session in batches of at most 8; with emb,
 * keeps each one's logits (classifiers) or sentence embedding, dim wide. */
static sinter_status_t run_samples(sinter_session_t *session, const samples_t *s, float *emb,
                                   size_t dim, sinter_error_t *err) {
  for (size_t i = 0; i < s->count; i += 8) {
    size_t n = s->count - i < 8 ? s->count - i : 8;
    sinter_batch_t batch = {n, (const int32_t *const *)s->ids + i, NULL, s->lengths + i};
    sinter_outputs_t out;
    SN_TRY(sinter_session_run(session, &batch, NULL, &out, err));
    if (emb) {
      const float *src = out.logits ? out.logits : out.embeddings;
      for (size_t b = 0; b < n; b++)
        memcpy(emb + (i + b) * dim, src + b * dim, dim * sizeof(float));
    }
  }
  return SINTER_OK;
}

sinter_status_t sn_api_calibrate(const sinter_model_t *model, const sn_compile_options_t *opts,
                                 sn_api_calibration_t **out, sinter_error_t *err) {
  *out = NULL;
  sn_compile_options_t f32 = *opts;
  f32.dtype = SINTER_DTYPE_F32;
  f32.calibration = NULL;
  samples_t s;
  SN_TRY(make_samples(model, opts->calibration_file, 0, opts->max_seq, &s, err));
  sinter_program_t *program = NULL;
  sinter_session_t *session = NULL;
  sn_api_calibration_t *c = calloc(1, sizeof *c);
  sinter_status_t st = c ? SINTER_OK : sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "calibration");
  if (!st) st = sn_api_compile(model, &f32, &program, err);
  if (!st) st = sinter_session_create_compiled(program, 0, &session, err);
  if (!st) {
    sinter_program_info_t info;
    sinter_program_get_info(program, &info);
    c->cap = info.num_ops;
    c->names = calloc((size_t)c->cap, sizeof *c->names);
    c->k = calloc((size_t)c->cap, sizeof *c->k);
    c->channel_max = calloc((size_t)c->cap, sizeof *c->channel_max);
    if (!c->names || !c->k || !c->channel_max)
      st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "calibration");
  }
  if (!st) {
    c->view.names = (const char *const *)c->names;
    c->view.k = c->k;
    c->view.channel_max = (const float *const *)c->channel_max;
    sn_plan_exec_observe(sn_session_plan_exec(session), observe, c);
    st = run_samples(session, &s, NULL, 0, err);
    if (st) sn_error_prefix(err, "int8 calibration");
  }
  sinter_session_destroy(session);
  sinter_program_release(program);
  samples_free(&s);
  if (st) {
    sn_api_calibration_free(c);
    return st;
  }
  *out = c;
  return SINTER_OK;
}

/* ---------------------------------------------------------------- report */

static double cosine(const float *a, const float *b, size_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < n; i++)
    ab += (double)a[i] * b[i], aa += (double)a[i] * a[i], bb += (double)b[i] * b[i];
  return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : (aa == bb ? 1.0 : 0.0);
}

static size_t argmax(const float *v, size_t n) {
  size_t best = 0;
  for (size_t i = 1; i < n; i++)
    if (v[i] > v[best]) best = i;
  return best;
}

sinter_status_t sn_api_int8_report(const sinter_model_t *model, const sinter_program_t *int8,
                                   const char *texts_file, sn_api_int8_report_t *out,
                                   sinter_error_t *err) {
  memset(out, 0, sizeof *out);
  sinter_program_info_t info;
  sinter_program_get_info(int8, &info);
  sn_compile_options_t f32 = {
      .dtype = SINTER_DTYPE_F32, .max_tokens = info.max_tokens, .max_seq = info.max_seq};
  samples_t s;
  SN_TRY(make_samples(model, texts_file, 1, info.max_seq, &s, err));
  sinter_model_info_t minfo;
  sinter_model_get_info(model, &minfo);
  size_t dim = minfo.num_labels > 0 ? (size_t)minfo.num_labels : (size_t)minfo.embedding_dim;
  float *e[2] = {malloc(s.count * dim * sizeof(float)), malloc(s.count * dim * sizeof(float))};
  sinter_program_t *program = NULL;
  sinter_session_t *session[2] = {NULL, NULL};
  sinter_status_t st =
      e[0] && e[1] ? SINTER_OK : sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "int8 report");
  if (!st) st = sn_api_compile(model, &f32, &program, err);
  if (!st) st = sinter_session_create_compiled(program, 0, &session[0], err);
  if (!st) st = sinter_session_create_compiled(int8, 0, &session[1], err);
  for (int v = 0; v < 2 && !st; v++) st = run_samples(session[v], &s, e[v], dim, err);
  if (!st) {
    out->samples = s.count;
    out->synthetic = s.enc == NULL;
    out->worst_cosine = 1.0;
    out->classifier = minfo.num_labels > 0;
    for (size_t i = 0; i < s.count; i++) {
      double c = cosine(e[0] + i * dim, e[1] + i * dim, dim);
      out->worst_cosine = fmin(out->worst_cosine, c);
      out->mean_cosine += c / (double)s.count;
      if (out->classifier)
        out->labels_changed += argmax(e[0] + i * dim, dim) != argmax(e[1] + i * dim, dim);
    }
  }
  sinter_session_destroy(session[0]);
  sinter_session_destroy(session[1]);
  sinter_program_release(program);
  free(e[0]), free(e[1]);
  samples_free(&s);
  return st;
}
