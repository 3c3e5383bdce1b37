/*
 * _sinter.c — the CPython extension under the `sinter` package: a thin layer
 * over include/sinter.h. A Program object opens a folder or artifact (through
 * the compile cache) and runs texts, text pairs or token ids through a pool
 * of compiled sessions, with the GIL released while it tokenizes and
 * computes, so Python threads overlap. Outputs are float32 bytearrays that
 * sinter/__init__.py views as numpy arrays without copying them again.
 * Errors raise sinter.Error carrying sinter's message (file, field, limit).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sinter.h"

/* Sessions kept for reuse; a call takes one (or makes one) and gives it back. */
#define POOL_MAX 16

static PyObject *SinterError;

typedef struct {
  PyObject_HEAD sinter_program_t *program;
  const sinter_model_t *model;
  sinter_model_info_t info;
  sinter_program_info_t pinfo;
  int threads;
  pthread_mutex_t lock;
  sinter_session_t *pool[POOL_MAX];
  int pooled;
} ProgramObject;

static PyObject *raise_error(const sinter_error_t *err) {
  PyObject *e = Py_BuildValue("(ss)", err->message, sinter_status_name(err->status));
  if (e) PyErr_SetObject(SinterError, e);
  Py_XDECREF(e);
  return NULL;
}

/* --------------------------------------------------------------- sessions */

static sinter_session_t *take_session(ProgramObject *p, sinter_error_t *err) {
  sinter_session_t *s = NULL;
  pthread_mutex_lock(&p->lock);
  if (p->pooled) s = p->pool[--p->pooled];
  pthread_mutex_unlock(&p->lock);
  if (s) return s;
  if (sinter_session_create_compiled(p->program, p->threads, &s, err)) return NULL;
  return s;
}

static void give_session(ProgramObject *p, sinter_session_t *s) {
  pthread_mutex_lock(&p->lock);
  if (p->pooled < POOL_MAX) {
    p->pool[p->pooled++] = s;
    s = NULL;
  }
  pthread_mutex_unlock(&p->lock);
  sinter_session_destroy(s);
}

/* --------------------------------------------------------------- object */

static void Program_dealloc(ProgramObject *p) {
  for (int i = 0; i < p->pooled; i++) sinter_session_destroy(p->pool[i]);
  sinter_program_release(p->program);
  pthread_mutex_destroy(&p->lock);
  Py_TYPE(p)->tp_free((PyObject *)p);
}

static int Program_init(ProgramObject *p, PyObject *args, PyObject *kw) {
  static char *names[] = {"path",       "cache_dir", "cache_url",   "dtype",  "threads",
                          "max_tokens", "max_seq",   "calibration", "sparse", NULL};
  const char *path, *cache_dir = NULL, *cache_url = NULL, *calibration = NULL;
  int dtype = 0, threads = 0, max_tokens = 0, max_seq = 0, sparse = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "s|zziiiizp", names, &path, &cache_dir, &cache_url,
                                   &dtype, &threads, &max_tokens, &max_seq, &calibration, &sparse))
    return -1;
  pthread_mutex_init(&p->lock, NULL);
  sinter_open_options_t o;
  memset(&o, 0, sizeof o);
  o.compile.dtype = (sinter_dtype_t)dtype;
  o.compile.max_tokens = max_tokens;
  o.compile.max_seq = max_seq;
  o.compile.int8_calibration_file = calibration;
  o.compile.sparse = sparse; /* SPLADE output from the masked-LM head */
  o.cache_dir = cache_dir;
  o.cache_url = cache_url;
  sinter_error_t err;
  sinter_status_t st;
  Py_BEGIN_ALLOW_THREADS st = sinter_program_open(path, &o, &p->program, &err);
  Py_END_ALLOW_THREADS if (st) {
    raise_error(&err);
    return -1;
  }
  p->model = sinter_program_model(p->program);
  sinter_model_get_info(p->model, &p->info);
  sinter_program_get_info(p->program, &p->pinfo);
  p->threads = threads;
  return 0;
}

static PyObject *Program_info(ProgramObject *p, PyObject *unused) {
  (void)unused;
  const sinter_model_info_t *i = &p->info;
  PyObject *labels = PyList_New(i->num_labels);
  if (!labels) return NULL;
  for (int k = 0; k < i->num_labels; k++)
    PyList_SET_ITEM(labels, k, PyUnicode_FromString(i->labels[k]));
  /* config_sentence_transformers.json's prompts: {name: text}. */
  PyObject *prompts = PyDict_New();
  if (!prompts) {
    Py_DECREF(labels);
    return NULL;
  }
  for (size_t k = 0; k < sinter_model_prompt_count(p->model); k++) {
    const char *name = sinter_model_prompt_name(p->model, k);
    PyObject *text = PyUnicode_FromString(sinter_model_prompt(p->model, name));
    if (!text || PyDict_SetItemString(prompts, name, text) < 0) {
      Py_XDECREF(text);
      Py_DECREF(labels);
      Py_DECREF(prompts);
      return NULL;
    }
    Py_DECREF(text);
  }
  /* What loading said (unexpected tensors, a cache that failed, int8 not
   * measured for the family): the module issues them as Python warnings. */
  PyObject *warnings = PyList_New(0);
  if (!warnings) {
    Py_DECREF(labels);
    Py_DECREF(prompts);
    return NULL;
  }
  for (size_t k = 0; k < sinter_program_warning_count(p->program); k++) {
    PyObject *w = PyUnicode_FromString(sinter_program_warning(p->program, k));
    if (!w || PyList_Append(warnings, w) < 0) {
      Py_XDECREF(w);
      Py_DECREF(labels);
      Py_DECREF(prompts);
      Py_DECREF(warnings);
      return NULL;
    }
    Py_DECREF(w);
  }
  const char *def = sinter_model_default_prompt_name(p->model);
  static const char *const origins[] = {"file", "local_cache", "remote_cache", "compiled"};
  unsigned origin = (unsigned)p->pinfo.origin;
  return Py_BuildValue(
      "{s:s,s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:N,s:i,s:s,s:i,s:i,s:s,s:d,s:N,s:z,s:i,s:i,s:z,"
      "s:i,s:N}",
      "model_type", i->model_type, "architecture", i->architecture, "hidden_size",
      (int)i->hidden_size, "num_layers", (int)i->num_layers, "vocab_size", (int)i->vocab_size,
      "max_seq_length", (int)i->max_seq_length, "pooling", (int)i->pooling, "normalize",
      (int)i->normalize, "num_labels", (int)i->num_labels, "has_pooler", (int)i->has_pooler,
      "labels", labels, "dtype", (int)p->pinfo.dtype, "origin",
      origin < 4 ? origins[origin] : "unknown", "max_tokens", (int)p->pinfo.max_tokens, "max_seq",
      (int)p->pinfo.max_seq, "content_key", p->pinfo.content_key, "compile_seconds",
      p->pinfo.compile_seconds, "prompts", prompts, "default_prompt_name", def, "embedding_dim",
      (int)i->embedding_dim, "dense_modules", (int)i->dense_modules, "rerank_template",
      sinter_model_rerank_template(p->model), "sparse", (int)p->pinfo.sparse, "warnings", warnings);
}

/* --------------------------------------------------------------- inputs */

/* UTF-8 views of a list of str. The list is copied into a tuple first (one
 * reference to each str, taken under the GIL), and the views are the strs'
 * own UTF-8 buffers, which live as long as the strs: another thread may change
 * the caller's list while a run works without the GIL, and the run still reads
 * the strings it was given. */
typedef struct texts {
  Py_ssize_t n;
  PyObject *held; /* the tuple copy (owned), or NULL */
  const char **p;
  size_t *len;
} texts_t;

static int read_texts(PyObject *list, texts_t *t, const char *what) {
  memset(t, 0, sizeof *t);
  if (list == Py_None) return 0;
  if (!PyList_Check(list)) {
    PyErr_Format(PyExc_TypeError, "%s must be a list of str", what);
    return -1;
  }
  t->held = PyList_AsTuple(list);
  if (!t->held) return -1;
  t->n = PyTuple_GET_SIZE(t->held);
  t->p = calloc((size_t)t->n + 1, sizeof *t->p);
  t->len = calloc((size_t)t->n + 1, sizeof *t->len);
  if (!t->p || !t->len) {
    PyErr_NoMemory();
    return -1;
  }
  for (Py_ssize_t i = 0; i < t->n; i++) {
    PyObject *s = PyTuple_GET_ITEM(t->held, i);
    if (s == Py_None && !strcmp(what, "pairs")) continue; /* no pair for this one */
    if (!PyUnicode_Check(s)) {
      PyErr_Format(PyExc_TypeError, "%s[%zd] must be a str, not %s", what, i, Py_TYPE(s)->tp_name);
      return -1;
    }
    Py_ssize_t len;
    t->p[i] = PyUnicode_AsUTF8AndSize(s, &len);
    if (!t->p[i]) return -1;
    t->len[i] = (size_t)len;
  }
  return 0;
}

/* With the GIL held. */
static void free_texts(texts_t *t) {
  free(t->p);
  free(t->len);
  Py_CLEAR(t->held);
}

/* Token-id inputs: a list of buffers of int32 (numpy arrays or array('i')),
 * copied under the GIL into memory of the call's own: another thread may
 * change the list, or write into an array, while a run works without the GIL
 * (the run checks ids against the vocabulary, then reads them again). The
 * list is read through a tuple copy, since getting a buffer may run Python
 * code that changes it. */
typedef struct ids {
  Py_ssize_t n;
  PyObject *held; /* the tuple copy (owned), or NULL */
  Py_buffer *buf; /* released once copied */
  int32_t *copy;  /* every input's ids, one after another (owned) */
  const int32_t **p, **types;
  size_t *len;
} ids_t;

/* With the GIL held. */
static void free_ids(ids_t *t) {
  for (Py_ssize_t i = 0; t->buf && i < t->n; i++)
    if (t->buf[i].obj) PyBuffer_Release(&t->buf[i]);
  free(t->buf);
  free(t->copy);
  free(t->p);
  free(t->types);
  free(t->len);
  Py_CLEAR(t->held);
}

static int read_ids(PyObject *list, ids_t *t) {
  memset(t, 0, sizeof *t);
  if (!PyList_Check(list)) {
    PyErr_SetString(PyExc_TypeError, "ids must be a list of int32 buffers");
    return -1;
  }
  t->held = PyList_AsTuple(list);
  if (!t->held) return -1;
  t->n = PyTuple_GET_SIZE(t->held);
  t->buf = calloc((size_t)t->n + 1, sizeof *t->buf);
  t->p = calloc((size_t)t->n + 1, sizeof *t->p);
  t->types = calloc((size_t)t->n + 1, sizeof *t->types);
  t->len = calloc((size_t)t->n + 1, sizeof *t->len);
  if (!t->buf || !t->p || !t->types || !t->len) {
    PyErr_NoMemory();
    return -1;
  }
  size_t total = 0;
  for (Py_ssize_t i = 0; i < t->n; i++) {
    if (PyObject_GetBuffer(PyTuple_GET_ITEM(t->held, i), &t->buf[i],
                           PyBUF_C_CONTIGUOUS | PyBUF_FORMAT))
      return -1;
    Py_buffer *b = &t->buf[i];
    if (b->itemsize != 4 || (b->format && strcmp(b->format, "i") && strcmp(b->format, "=i") &&
                             strcmp(b->format, "<i") && strcmp(b->format, "l"))) {
      PyErr_Format(PyExc_TypeError, "ids[%zd] must hold int32 values", i);
      return -1;
    }
    t->len[i] = (size_t)(b->len / 4);
    total += t->len[i];
  }
  t->copy = malloc((total ? total : 1) * sizeof *t->copy);
  if (!t->copy) {
    PyErr_NoMemory();
    return -1;
  }
  for (Py_ssize_t i = 0, at = 0; i < t->n; at += (Py_ssize_t)t->len[i], i++) {
    memcpy(t->copy + at, t->buf[i].buf, t->len[i] * sizeof *t->copy);
    t->p[i] = t->copy + at;
    PyBuffer_Release(&t->buf[i]);
  }
  return 0;
}

/* --------------------------------------------------------------- running */

enum { WANT_EMBEDDINGS = 0, WANT_LOGITS = 1, WANT_TOKENS = 2, WANT_SPARSE = 3 };

/* What one call computes, filled without the GIL. */
typedef struct job {
  size_t n, batch, width;
  int want, normalize, pooling;
  sinter_truncation_t truncation;
  const char *rerank_template, *rerank_instruction; /* borrowed from the call's str */
  const texts_t *texts, *pairs;
  const ids_t *ids;
  float *out;     /* [n * width], or the token rows for WANT_TOKENS */
  size_t out_cap; /* floats */
  size_t *tokens; /* [n] tokens of each input */
} job_t;

/* Runs batches of `batch` inputs: tokenize, run, copy out. */
static sinter_status_t run_job(ProgramObject *p, job_t *j, sinter_error_t *err) {
  sinter_session_t *s = take_session(p, err);
  if (!s) return err->status;
  sinter_status_t st = SINTER_OK;
  sinter_encoding_t *enc = j->texts ? calloc(j->batch, sizeof *enc) : NULL;
  const int32_t **ids = calloc(j->batch, sizeof *ids), **types = calloc(j->batch, sizeof *types);
  size_t *lens = calloc(j->batch, sizeof *lens), rows = 0;
  if ((j->texts && !enc) || !ids || !types || !lens) {
    st = err->status = SINTER_ERR_OUT_OF_MEMORY;
    snprintf(err->message, sizeof err->message, "out of memory");
  }
  sinter_tokenize_options_t topts = {.truncation = j->truncation,
                                     .rerank_template = j->rerank_template,
                                     .rerank_instruction = j->rerank_instruction};
  for (size_t at = 0; !st && at < j->n; at += j->batch) {
    size_t m = j->n - at < j->batch ? j->n - at : j->batch;
    if (j->texts) {
      st = sinter_model_tokenize_batch(p->model, m, j->texts->p + at, j->texts->len + at,
                                       j->pairs ? j->pairs->p + at : NULL,
                                       j->pairs ? j->pairs->len + at : NULL, &topts, enc, err);
      if (st) break;
      for (size_t i = 0; i < m; i++) {
        ids[i] = enc[i].ids;
        types[i] = enc[i].type_ids;
        lens[i] = enc[i].length;
      }
    } else {
      for (size_t i = 0; i < m; i++) {
        ids[i] = j->ids->p[at + i];
        types[i] = NULL;
        lens[i] = j->ids->len[at + i];
      }
    }
    sinter_batch_t batch = {m, ids, types, lens};
    sinter_run_options_t ro = {.pooling = (sinter_pooling_t)j->pooling,
                               .normalize = j->normalize,
                               .sparse = j->want == WANT_SPARSE};
    sinter_outputs_t out;
    st = sinter_session_run(s, &batch, &ro, &out, err);
    if (!st) {
      for (size_t i = 0; i < m; i++) j->tokens[at + i] = lens[i];
      if (j->want == WANT_EMBEDDINGS) {
        memcpy(j->out + at * j->width, out.embeddings, m * j->width * sizeof(float));
      } else if (j->want == WANT_LOGITS) {
        memcpy(j->out + at * j->width, out.logits, m * j->width * sizeof(float));
      } else if (j->want == WANT_SPARSE) {
        memcpy(j->out + at * j->width, out.sparse, m * j->width * sizeof(float));
      } else {
        size_t need = (rows + out.total_tokens) * j->width;
        if (need > j->out_cap) {
          size_t cap = j->out_cap ? j->out_cap : 4096;
          while (cap < need) cap *= 2;
          float *grown = realloc(j->out, cap * sizeof(float));
          if (!grown) {
            st = err->status = SINTER_ERR_OUT_OF_MEMORY;
            snprintf(err->message, sizeof err->message, "out of memory");
          } else {
            j->out = grown, j->out_cap = cap;
          }
        }
        if (!st) {
          memcpy(j->out + rows * j->width, out.last_hidden_state,
                 out.total_tokens * j->width * sizeof(float));
          rows += out.total_tokens;
        }
      }
    }
    if (j->texts) sinter_encodings_free(enc, m);
  }
  free(enc), free(ids), free(types), free(lens);
  give_session(p, s);
  return st;
}

/* run(texts=None, pairs=None, ids=None, want=0, batch_size=32, normalize=0,
 *     pooling=0, truncation=0, rerank_template=None, rerank_instruction=None)
 *     -> (bytearray of float32, width, [tokens per input]) */
static PyObject *Program_run(ProgramObject *p, PyObject *args, PyObject *kw) {
  static char *names[] = {"texts",
                          "pairs",
                          "ids",
                          "want",
                          "batch_size",
                          "normalize",
                          "pooling",
                          "truncation",
                          "rerank_template",
                          "rerank_instruction",
                          NULL};
  PyObject *texts_o = Py_None, *pairs_o = Py_None, *ids_o = Py_None;
  int want = 0, batch = 32, normalize = 0, pooling = 0, truncation = 0;
  const char *rerank_template = NULL, *rerank_instruction = NULL;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "|OOOiiiiizz", names, &texts_o, &pairs_o, &ids_o,
                                   &want, &batch, &normalize, &pooling, &truncation,
                                   &rerank_template, &rerank_instruction))
    return NULL;
  if (batch < 1) return PyErr_Format(PyExc_ValueError, "batch_size must be at least 1");
  if (want < 0 || want > 3) return PyErr_Format(PyExc_ValueError, "unknown output %d", want);
  if (want == WANT_SPARSE && !p->pinfo.sparse)
    return PyErr_Format(SinterError,
                        "%s: the program was compiled without sparse (SPLADE) output; open it "
                        "with sparse=True",
                        p->pinfo.source);
  if ((texts_o == Py_None) == (ids_o == Py_None))
    return PyErr_Format(PyExc_ValueError, "give texts or ids");
  if (want == WANT_LOGITS && p->info.num_labels <= 0)
    return PyErr_Format(SinterError, "%s (%s) has no classification head", p->pinfo.source,
                        p->info.architecture);
  texts_t texts, pairs;
  ids_t ids;
  memset(&ids, 0, sizeof ids);
  memset(&texts, 0, sizeof texts);
  memset(&pairs, 0, sizeof pairs);
  PyObject *result = NULL;
  if (texts_o != Py_None ? read_texts(texts_o, &texts, "texts") : read_ids(ids_o, &ids)) goto done;
  if (read_texts(pairs_o, &pairs, "pairs")) goto done;
  size_t n = (size_t)(texts_o != Py_None ? texts.n : ids.n);
  if (pairs_o != Py_None && (size_t)pairs.n != n) {
    PyErr_Format(PyExc_ValueError, "%zd pairs for %zu texts", pairs.n, n);
    goto done;
  }
  job_t j;
  memset(&j, 0, sizeof j);
  j.n = n;
  j.batch = (size_t)batch;
  j.want = want;
  j.normalize = normalize;
  j.pooling = pooling;
  j.truncation = (sinter_truncation_t)truncation;
  j.rerank_template = rerank_template;
  j.rerank_instruction = rerank_instruction;
  j.texts = texts_o != Py_None ? &texts : NULL;
  j.pairs = pairs_o != Py_None ? &pairs : NULL;
  j.ids = ids_o != Py_None ? &ids : NULL;
  j.width = want == WANT_LOGITS       ? (size_t)p->info.num_labels
            : want == WANT_EMBEDDINGS ? (size_t)p->info.embedding_dim
            : want == WANT_SPARSE     ? (size_t)p->info.vocab_size
                                      : (size_t)p->info.hidden_size;
  j.tokens = calloc(n + 1, sizeof *j.tokens);
  if (want != WANT_TOKENS) {
    j.out_cap = n * j.width;
    j.out = malloc((j.out_cap ? j.out_cap : 1) * sizeof(float));
  }
  if (!j.tokens || (want != WANT_TOKENS && !j.out)) {
    free(j.tokens), free(j.out);
    PyErr_NoMemory();
    goto done;
  }
  sinter_error_t err;
  sinter_status_t st;
  Py_BEGIN_ALLOW_THREADS st = n ? run_job(p, &j, &err) : SINTER_OK;
  Py_END_ALLOW_THREADS if (st) {
    raise_error(&err);
  }
  else {
    size_t floats = 0;
    for (size_t i = 0; i < n; i++) floats += want == WANT_TOKENS ? j.tokens[i] * j.width : j.width;
    PyObject *data = PyByteArray_FromStringAndSize(j.out ? (const char *)j.out : "",
                                                   (Py_ssize_t)(floats * sizeof(float)));
    PyObject *counts = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; counts && i < n; i++)
      PyList_SET_ITEM(counts, (Py_ssize_t)i, PyLong_FromSize_t(j.tokens[i]));
    if (data && counts)
      result = Py_BuildValue("(NnN)", data, (Py_ssize_t)j.width, counts);
    else
      Py_XDECREF(data), Py_XDECREF(counts);
  }
  free(j.out), free(j.tokens);
done:
  free_texts(&texts);
  free_texts(&pairs);
  free_ids(&ids);
  return result;
}

/* forward(ids, types=None) -> (hidden bytearray [tokens*H], pooler bytearray
 * [n*H] or None, logits bytearray [n*labels] or None, embeddings bytearray
 * [n*H], pooled and normalised as the folder says): every output of one pass
 * over the inputs (the session splits runs above its token budget). */
static PyObject *Program_forward(ProgramObject *p, PyObject *args, PyObject *kw) {
  static char *names[] = {"ids", "types", NULL};
  PyObject *ids_o, *types_o = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O", names, &ids_o, &types_o)) return NULL;
  ids_t ids, types;
  memset(&types, 0, sizeof types);
  PyObject *result = NULL;
  if (read_ids(ids_o, &ids) || (types_o != Py_None && read_ids(types_o, &types))) goto done;
  if (types_o != Py_None && types.n != ids.n) {
    PyErr_Format(PyExc_ValueError, "%zd type-id lists for %zd inputs", types.n, ids.n);
    goto done;
  }
  for (Py_ssize_t i = 0; types_o != Py_None && i < ids.n; i++) {
    if (types.len[i] != ids.len[i]) {
      PyErr_Format(PyExc_ValueError, "input %zd: %zu ids but %zu type ids", i, ids.len[i],
                   types.len[i]);
      goto done;
    }
    ids.types[i] = types.p[i];
  }
  size_t n = (size_t)ids.n, h = (size_t)p->info.hidden_size, total = 0;
  size_t e = (size_t)p->info.embedding_dim;
  for (size_t i = 0; i < n; i++) total += ids.len[i];
  size_t labels = p->info.num_labels > 0 ? (size_t)p->info.num_labels : 0;
  PyObject *hidden = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)(total * h * 4));
  PyObject *pooler =
      p->info.has_pooler ? PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)(n * h * 4)) : NULL;
  PyObject *logits =
      labels ? PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)(n * labels * 4)) : NULL;
  PyObject *emb = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)(n * e * 4));
  if (!hidden || (p->info.has_pooler && !pooler) || (labels && !logits) || !emb) {
    Py_XDECREF(hidden), Py_XDECREF(pooler), Py_XDECREF(logits), Py_XDECREF(emb);
    goto done;
  }
  float *ed = (float *)PyByteArray_AS_STRING(emb);
  float *hd = (float *)PyByteArray_AS_STRING(hidden);
  float *pd = pooler ? (float *)PyByteArray_AS_STRING(pooler) : NULL;
  float *ld = logits ? (float *)PyByteArray_AS_STRING(logits) : NULL;
  sinter_error_t err;
  sinter_status_t st = SINTER_OK;
  Py_BEGIN_ALLOW_THREADS sinter_session_t *s = n ? take_session(p, &err) : NULL;
  if (n && !s) st = err.status;
  if (s) {
    sinter_batch_t batch = {n, ids.p, types_o != Py_None ? ids.types : NULL, ids.len};
    sinter_run_options_t ro = {.pooling = SINTER_POOL_DEFAULT};
    sinter_outputs_t out;
    st = sinter_session_run(s, &batch, &ro, &out, &err);
    if (!st) {
      memcpy(hd, out.last_hidden_state, total * h * sizeof(float));
      if (pd && out.pooler_output) memcpy(pd, out.pooler_output, n * h * sizeof(float));
      if (ld && out.logits) memcpy(ld, out.logits, n * labels * sizeof(float));
      memcpy(ed, out.embeddings, n * e * sizeof(float));
    }
    give_session(p, s);
  }
  Py_END_ALLOW_THREADS if (st) {
    Py_DECREF(hidden), Py_XDECREF(pooler), Py_XDECREF(logits), Py_DECREF(emb);
    raise_error(&err);
    goto done;
  }
  result = Py_BuildValue("(NNNN)", hidden, pooler ? pooler : Py_NewRef(Py_None),
                         logits ? logits : Py_NewRef(Py_None), emb);
done:
  free_ids(&ids);
  free_ids(&types);
  return result;
}

/* tokenize(texts, pairs=None, max_length=0, truncation=0, add_special=True)
 * -> [(ids, type_ids, byte offsets, special, in_pair, truncated)] */
static PyObject *Program_tokenize(ProgramObject *p, PyObject *args, PyObject *kw) {
  static char *names[] = {"texts", "pairs", "max_length", "truncation", "add_special", NULL};
  PyObject *texts_o, *pairs_o = Py_None;
  int max_length = 0, truncation = 0, add_special = 1;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "O|Oiip", names, &texts_o, &pairs_o, &max_length,
                                   &truncation, &add_special))
    return NULL;
  texts_t texts, pairs;
  memset(&pairs, 0, sizeof pairs);
  PyObject *result = NULL;
  if (read_texts(texts_o, &texts, "texts") || read_texts(pairs_o, &pairs, "pairs")) goto done;
  if (pairs_o != Py_None && pairs.n != texts.n) {
    PyErr_Format(PyExc_ValueError, "%zd pairs for %zd texts", pairs.n, texts.n);
    goto done;
  }
  size_t n = (size_t)texts.n;
  sinter_encoding_t *enc = calloc(n + 1, sizeof *enc);
  if (!enc) {
    PyErr_NoMemory();
    goto done;
  }
  sinter_tokenize_options_t o = {.max_length = max_length,
                                 .truncation = (sinter_truncation_t)truncation,
                                 .without_special_tokens = !add_special};
  sinter_error_t err;
  sinter_status_t st;
  Py_BEGIN_ALLOW_THREADS st = sinter_model_tokenize_batch(
      p->model, n, texts.p, texts.len, pairs_o != Py_None ? pairs.p : NULL,
      pairs_o != Py_None ? pairs.len : NULL, &o, enc, &err);
  Py_END_ALLOW_THREADS if (st) {
    free(enc);
    raise_error(&err);
    goto done;
  }
  result = PyList_New((Py_ssize_t)n);
  for (size_t i = 0; result && i < n; i++) {
    const sinter_encoding_t *e = &enc[i];
    PyObject *ids = PyList_New((Py_ssize_t)e->length), *types = PyList_New((Py_ssize_t)e->length);
    PyObject *offs = PyList_New((Py_ssize_t)e->length),
             *special = PyList_New((Py_ssize_t)e->length);
    PyObject *in_pair = PyList_New((Py_ssize_t)e->length);
    for (size_t k = 0; ids && types && offs && special && in_pair && k < e->length; k++) {
      PyList_SET_ITEM(in_pair, (Py_ssize_t)k, PyBool_FromLong(e->in_pair[k]));
      PyList_SET_ITEM(ids, (Py_ssize_t)k, PyLong_FromLong(e->ids[k]));
      PyList_SET_ITEM(types, (Py_ssize_t)k, PyLong_FromLong(e->type_ids[k]));
      PyList_SET_ITEM(offs, (Py_ssize_t)k,
                      Py_BuildValue("(II)", e->offsets[2 * k], e->offsets[2 * k + 1]));
      PyList_SET_ITEM(special, (Py_ssize_t)k, PyBool_FromLong(e->special[k]));
    }
    PyObject *row = ids && types && offs && special && in_pair
                        ? Py_BuildValue("(NNNNNO)", ids, types, offs, special, in_pair,
                                        e->truncated ? Py_True : Py_False)
                        : NULL;
    if (!row) {
      Py_CLEAR(result);
      break;
    }
    PyList_SET_ITEM(result, (Py_ssize_t)i, row);
  }
  sinter_encodings_free(enc, n);
  free(enc);
done:
  free_texts(&texts);
  free_texts(&pairs);
  return result;
}

/* decode(ids, skip_special=True) -> str: the model's tokenizer decoder. */
static PyObject *Program_decode(ProgramObject *p, PyObject *args, PyObject *kw) {
  static char *names[] = {"ids", "skip_special", NULL};
  PyObject *ids_o;
  int skip = 1;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "O|p", names, &ids_o, &skip)) return NULL;
  PyObject *seq = PySequence_Fast(ids_o, "ids must be a sequence of ints");
  if (!seq) return NULL;
  Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
  int32_t *ids = malloc((size_t)(n ? n : 1) * sizeof *ids);
  if (!ids) {
    Py_DECREF(seq);
    return PyErr_NoMemory();
  }
  for (Py_ssize_t i = 0; i < n; i++) {
    long v = PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, i));
    if (v == -1 && PyErr_Occurred()) {
      free(ids);
      Py_DECREF(seq);
      return NULL;
    }
    /* Outside int32: no token has that id, and decode skips unknown ids. */
    ids[i] = v < INT32_MIN || v > INT32_MAX ? -1 : (int32_t)v;
  }
  Py_DECREF(seq);
  char *text = NULL;
  sinter_error_t err;
  sinter_status_t st;
  Py_BEGIN_ALLOW_THREADS st = sinter_model_decode(p->model, ids, (size_t)n, skip, &text, &err);
  Py_END_ALLOW_THREADS free(ids);
  if (st) return raise_error(&err);
  PyObject *out = PyUnicode_DecodeUTF8(text, (Py_ssize_t)strlen(text), "replace");
  sinter_free(text);
  return out;
}

/* save(path): writes the program as an artifact. */
static PyObject *Program_save(ProgramObject *p, PyObject *args) {
  const char *path;
  if (!PyArg_ParseTuple(args, "s", &path)) return NULL;
  sinter_error_t err;
  sinter_status_t st;
  Py_BEGIN_ALLOW_THREADS st = sinter_program_save(p->program, path, &err);
  Py_END_ALLOW_THREADS if (st) return raise_error(&err);
  Py_RETURN_NONE;
}

static PyMethodDef Program_methods[] = {
    {"info", (PyCFunction)Program_info, METH_NOARGS, "The model's and program's facts as a dict."},
    {"run", (PyCFunction)(void (*)(void))Program_run, METH_VARARGS | METH_KEYWORDS,
     "Runs texts, pairs or token ids; returns (float32 bytearray, width, tokens per input)."},
    {"forward", (PyCFunction)(void (*)(void))Program_forward, METH_VARARGS | METH_KEYWORDS,
     "Every output of one pass over token-id inputs: (hidden, pooler, logits, embeddings)."},
    {"tokenize", (PyCFunction)(void (*)(void))Program_tokenize, METH_VARARGS | METH_KEYWORDS,
     "Tokenizes texts (and pairs)."},
    {"decode", (PyCFunction)(void (*)(void))Program_decode, METH_VARARGS | METH_KEYWORDS,
     "Turns token ids back into text with the tokenizer's decoder."},
    {"save", (PyCFunction)Program_save, METH_VARARGS, "Writes the program as a .sinter artifact."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ProgramType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sinter._sinter.Program",
    .tp_basicsize = sizeof(ProgramObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A compiled program over a model folder or .sinter artifact.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Program_init,
    .tp_dealloc = (destructor)Program_dealloc,
    .tp_methods = Program_methods,
};

static PyObject *cpu_count(PyObject *self, PyObject *unused) {
  (void)self, (void)unused;
  return PyLong_FromLong(sinter_cpu_count());
}

static PyMethodDef module_methods[] = {
    {"cpu_count", cpu_count, METH_NOARGS, "The CPUs this process may use (affinity and cgroup)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_sinter",
    .m_doc = "sinter's C library, for the sinter package.",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__sinter(void) {
  if (PyType_Ready(&ProgramType) < 0) return NULL;
  PyObject *m = PyModule_Create(&module);
  if (!m) return NULL;
  SinterError = PyErr_NewExceptionWithDoc("sinter.Error",
                                          "An error from sinter: args are (message, status name).",
                                          PyExc_RuntimeError, NULL);
  Py_INCREF(&ProgramType);
  if (!SinterError || PyModule_AddObject(m, "Error", SinterError) ||
      PyModule_AddObject(m, "Program", (PyObject *)&ProgramType)) {
    Py_DECREF(m);
    return NULL;
  }
  PyModule_AddStringConstant(m, "version", SINTER_VERSION_STRING);
  return m;
}
