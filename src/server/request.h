/*
 * request.h — what a client asks, apart from the API it spoke. Each API's
 * parser (api_*.h) turns a request body into an sn_request_t; the engine
 * (engine.h) computes it into an sn_result_t; the same API's writer turns that
 * into its response. Parsers are pure (no model, no I/O): they check shapes,
 * types, UTF-8 and the request limits, and name the field that is wrong.
 * The fuzz targets in fuzz/fuzz_request_*.c run them on arbitrary bytes.
 */
#ifndef SN_SERVER_REQUEST_H
#define SN_SERVER_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

typedef enum sn_op {
  SN_OP_EMBED,     /* pooled sentence embeddings */
  SN_OP_EMBED_ALL, /* every token's hidden state */
  SN_OP_CLASSIFY,  /* labels and scores of texts or text pairs */
  SN_OP_RERANK,    /* a query against documents through a cross-encoder */
  SN_OP_TOKENIZE,
  SN_OP_DECODE,
  SN_OP_BY_MODEL,     /* KServe, TorchServe: classify on a classifier, else embed */
  SN_OP_EMBED_SPARSE, /* SPLADE vectors (TEI's /embed_sparse) of a program compiled with them */
} sn_op_t;

/* Limits every parser checks (from the server's options). */
typedef struct sn_request_limits {
  size_t max_inputs;      /* inputs (texts, pairs, documents) per request */
  size_t max_input_chars; /* Unicode characters per text; 0: no limit */
} sn_request_limits_t;

/* One request. Strings are borrowed from `json` (the parsed body, owned);
 * arrays are owned. Release with sn_request_free. */
typedef struct sn_request {
  sn_op_t op;
  cJSON *json;                /* the parsed body, or NULL (a raw text body) */
  char *raw_text;             /* an owned copy of a raw text body, or NULL */
  const char *model;          /* the model asked for (a field or the route), or NULL */
  size_t count;               /* inputs */
  const char **texts;         /* [count] texts; NULL when the inputs are token ids */
  const char **pairs;         /* [count] second texts of pairs (entries may be NULL), or NULL */
  int32_t **ids;              /* [count] token-id inputs (SN_OP_DECODE too), or NULL */
  size_t *id_lengths;         /* [count] */
  const char *query;          /* SN_OP_RERANK */
  int is_list;                /* 1: the inputs came as a list (the response is one too) */
  int normalize;              /* embeddings L2-normalised (default 1) */
  int truncate;               /* cut inputs longer than the model takes (default 1) */
  int truncate_left;          /* cut the start instead of the end */
  int32_t dimensions;         /* keep the first N dimensions, renormalised; 0: all */
  int base64;                 /* OpenAI: little-endian float32 in base64 */
  int raw_scores;             /* logits instead of probabilities */
  int return_text;            /* echo the documents in rerank results */
  int32_t top_n;              /* rerank: best N; 0: all */
  int32_t max_tokens_per_doc; /* rerank: cut documents to N tokens; 0: the model's limit */
  int add_special;            /* tokenize: add [CLS]/[SEP] (default 1) */
  int skip_special;           /* decode: drop special tokens (default 1) */
  const char *id;             /* a request id to echo (KServe), or NULL */
  const char *input_field;    /* the field token-id inputs came in ("inputs", "input"), for
                                 messages; static, or NULL */
  int similarity;             /* SN_OP_EMBED: answer the cosine of each input after the first
                                 with the first (TEI's /similarity) */
  const char *output;         /* KServe: the one output tensor asked for by name, or NULL */
  int binary_output;          /* KServe: the output goes as binary tensor data */
  const char *prompt_name;    /* TEI: the model's prompt to put before each text, or NULL */
} sn_request_t;

/* A parse failure: the HTTP status (400, 413 or 422), the offending field
 * ("inputs[3]") when there is one, and a message naming it. */
typedef struct sn_parse_error {
  unsigned status;
  const char *kind; /* TEI's error_type: "Validation", "Tokenizer", "Overloaded",
                       "Backend", "Unhealthy" or "Empty" (static) */
  char param[64];
  char message[320];
} sn_parse_error_t;

/* Sets the defaults (normalize, truncate, add_special, skip_special = 1). */
void sn_request_init(sn_request_t *r, sn_op_t op);
void sn_request_free(sn_request_t *r);

/* Parses `size` bytes as JSON into r->json. A string holding the escape
 * \u0000 is refused (422 naming its field): cJSON's strings end at a NUL, so
 * the text would arrive cut. Returns 0, or -1 with *e filled (`status`, 400
 * or 422, when the body is not JSON). */
int sn_request_parse_json(sn_request_t *r, const char *body, size_t size, unsigned status,
                          sn_parse_error_t *e);

/* sn_request_parse_json, and the body must be a JSON object. */
int sn_request_parse_object(sn_request_t *r, const char *body, size_t size, unsigned status,
                            sn_parse_error_t *e);

/* Reads a text input field: a string, or a list of strings. `name` names the
 * field in messages. Returns 0 or -1 with *e. */
int sn_request_read_texts(sn_request_t *r, const cJSON *v, const char *name,
                          const sn_request_limits_t *lim, sn_parse_error_t *e);

/* Reads an embedding input: a string, a list of strings, a list of token
 * ids, or a list of token-id lists (TEI and OpenAI accept all four). */
int sn_request_read_inputs(sn_request_t *r, const cJSON *v, const char *name,
                           const sn_request_limits_t *lim, sn_parse_error_t *e);

/* Reads an optional boolean field into *out (untouched when absent or null). */
int sn_request_bool(const cJSON *obj, const char *field, int *out, sn_parse_error_t *e);

/* Reads an optional integer field within [lo, hi] into *out. */
int sn_request_int(const cJSON *obj, const char *field, int32_t lo, int32_t hi, int32_t *out,
                   sn_parse_error_t *e);

/* Reads an optional string field into *out (borrowed). */
int sn_request_string(const cJSON *obj, const char *field, const char **out, sn_parse_error_t *e);

/* Fills *e (returns -1); the kind follows the status (429 Overloaded, 503
 * Unhealthy, 424 and 5xx Backend, else Validation). */
int sn_request_fail(sn_parse_error_t *e, unsigned status, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
