/*
 * api.h — the wire formats the server speaks, one file each: Hugging Face
 * text-embeddings-inference (api_tei.c), OpenAI embeddings (api_openai.c),
 * Cohere v2 / Jina rerank (api_cohere.c), KServe v2 / Open Inference Protocol
 * (api_kserve.c) and TorchServe (api_torchserve.c). Each route has a parser
 * (body bytes to an sn_request_t, pure), a writer (an sn_result_t to the
 * response body) and its API's error shape. server.c routes to them.
 *
 * Writers return a new NUL-terminated body (free()), or NULL when out of
 * memory.
 */
#ifndef SN_SERVER_API_H
#define SN_SERVER_API_H

#include "server/engine.h"
#include "server/out.h"
#include "server/request.h"

/* What a parser gets besides the body: the model named by the route
 * (KServe, TorchServe), the Content-Type, the limits, and KServe's
 * Inference-Header-Content-Length header. */
typedef struct sn_parse_input {
  const char *body;
  size_t size;
  const char *content_type; /* or NULL */
  const char *route_model;  /* or NULL */
  sn_request_limits_t limits;
  const char *inference_header_length; /* the header's value as sent, or NULL */
} sn_parse_input_t;

typedef int (*sn_parse_fn)(const sn_parse_input_t *in, sn_request_t *req, sn_parse_error_t *e);
typedef char *(*sn_write_fn)(const sn_request_t *req, const sn_served_t *m, const sn_result_t *res);
typedef char *(*sn_error_fn)(const sn_parse_error_t *e);

/* A response body that may hold bytes beyond its JSON: with json_size > 0,
 * the first json_size bytes are JSON and binary data follows (KServe's binary
 * tensor data: the Inference-Header-Content-Length header). */
typedef struct sn_body {
  char *data; /* owned (free()) */
  size_t size;
  size_t json_size; /* 0: the whole body is JSON */
} sn_body_t;

/* A writer of such a body: returns 0, or -1 when out of memory. */
typedef int (*sn_write_body_fn)(const sn_request_t *req, const sn_served_t *m,
                                const sn_result_t *res, sn_body_t *out);

/* A writer for answers too large to hold as text: each call appends the next
 * piece of the body to *o; pos[] (zeroed before the first call) is where it
 * stands. Returns 1 while pieces remain, 0 after the last. The server calls
 * it as the client reads, so one piece is held at a time. */
typedef int (*sn_stream_fn)(const sn_request_t *req, const sn_served_t *m, const sn_result_t *res,
                            size_t pos[2], sn_out_t *o);

/* ---- text-embeddings-inference: POST /embed, /embed_all, /predict, /rerank,
 * /similarity, /tokenize, /decode, and / (routed by the model's kind: the
 * server takes /predict's or /rerank's parser for a classifier or a
 * re-ranker, sn_tei_parse_root for an encoder); GET /info. Errors {"error",
 * "error_type"}. */
int sn_tei_parse_embed(const sn_parse_input_t *in, sn_request_t *req, sn_parse_error_t *e);
/* {"inputs": {"source_sentence", "sentences"}, "parameters"}: an EMBED
 * request with `similarity` set, the source its first text. */
int sn_tei_parse_similarity(const sn_parse_input_t *in, sn_request_t *req, sn_parse_error_t *e);
/* POST / on an encoder: /similarity's body when `inputs` is an object, else
 * /embed's. */
int sn_tei_parse_root(const sn_parse_input_t *in, sn_request_t *req, sn_parse_error_t *e);
int sn_tei_parse_embed_all(const sn_parse_input_t *in, sn_request_t *req, sn_parse_error_t *e);
/* /embed_sparse: /embed_all's fields (inputs, truncate, truncation_direction,
 * prompt_name); the answer, per input, its SPLADE vector's nonzero entries
 * [{"index", "value"}] in index order. */
int sn_tei_parse_embed_sparse(const sn_parse_input_t *in, sn_request_t *req, sn_parse_error_t *e);
char *sn_tei_write_embed_sparse(const sn_request_t *req, const sn_served_t *m,
                                const sn_result_t *res);
int sn_tei_parse_predict(const sn_parse_input_t *in, sn_request_t *req, sn_parse_error_t *e);
int sn_tei_parse_rerank(const sn_parse_input_t *in, sn_request_t *req, sn_parse_error_t *e);
int sn_tei_parse_tokenize(const sn_parse_input_t *in, sn_request_t *req, sn_parse_error_t *e);
int sn_tei_parse_decode(const sn_parse_input_t *in, sn_request_t *req, sn_parse_error_t *e);
char *sn_tei_write_embed(const sn_request_t *req, const sn_served_t *m, const sn_result_t *res);
/* [cosine, ...]: each sentence with the source. */
char *sn_tei_write_similarity(const sn_request_t *req, const sn_served_t *m,
                              const sn_result_t *res);
/* What sn_tei_parse_root parsed: similarity's answer or embed's. */
char *sn_tei_write_root(const sn_request_t *req, const sn_served_t *m, const sn_result_t *res);
/* /embed_all streams: one token's hidden state per piece. */
int sn_tei_stream_embed_all(const sn_request_t *req, const sn_served_t *m, const sn_result_t *res,
                            size_t pos[2], sn_out_t *o);
char *sn_tei_write_predict(const sn_request_t *req, const sn_served_t *m, const sn_result_t *res);
char *sn_tei_write_rerank(const sn_request_t *req, const sn_served_t *m, const sn_result_t *res);
char *sn_tei_write_tokenize(const sn_request_t *req, const sn_served_t *m, const sn_result_t *res);
char *sn_tei_write_decode(const sn_request_t *req, const sn_served_t *m, const sn_result_t *res);
char *sn_tei_error(const sn_parse_error_t *e);

/* GET /info of model m. */
typedef struct sn_info_limits {
  int64_t max_batch_tokens, max_client_batch, tokenization_workers;
} sn_info_limits_t;
char *sn_tei_write_info(const sn_served_t *m, const sn_info_limits_t *lim);

/* ---- OpenAI: POST /v1/embeddings, GET /v1/models. Errors {"error": {...}}. */
int sn_openai_parse_embeddings(const sn_parse_input_t *in, sn_request_t *req, sn_parse_error_t *e);
char *sn_openai_write_embeddings(const sn_request_t *req, const sn_served_t *m,
                                 const sn_result_t *res);
char *sn_openai_write_models(const sn_served_t *models, size_t count);
char *sn_openai_error(const sn_parse_error_t *e);

/* ---- Cohere v2 / Jina: POST /v1/rerank, /v2/rerank. Errors {"message"}. */
int sn_cohere_parse_rerank(const sn_parse_input_t *in, sn_request_t *req, sn_parse_error_t *e);
char *sn_cohere_write_rerank(const sn_request_t *req, const sn_served_t *m, const sn_result_t *res);
char *sn_cohere_error(const sn_parse_error_t *e);

/* ---- KServe v2: POST /v2/models/{m}/infer; GET /v2, /v2/models/{m}.
 * Errors {"error"}. Triton's binary tensor data extension on both sides: a
 * body whose first Inference-Header-Content-Length bytes are JSON, followed
 * by each input's `binary_data_size` bytes in the order of `inputs` (BYTES:
 * elements of a 4-byte little-endian length and the bytes); outputs as
 * binary data when the request asks (`binary_data_output`, or an output's
 * `binary_data`). */
int sn_kserve_parse_infer(const sn_parse_input_t *in, sn_request_t *req, sn_parse_error_t *e);
/* After the model is known (req->op resolved): 400 when the request asked
 * for an output the model does not have. Returns 0 or -1 with *e. */
int sn_kserve_check_outputs(const sn_request_t *req, const sn_served_t *m, sn_parse_error_t *e);
/* The JSON answer. */
char *sn_kserve_write_infer(const sn_request_t *req, const sn_served_t *m, const sn_result_t *res);
/* The answer as the request asked: JSON, or a JSON header and the output as
 * little-endian FP32 binary data. */
int sn_kserve_write_infer_body(const sn_request_t *req, const sn_served_t *m,
                               const sn_result_t *res, sn_body_t *out);
char *sn_kserve_write_server(void);
char *sn_kserve_write_model(const sn_served_t *m);
char *sn_kserve_error(const sn_parse_error_t *e);

/* ---- TorchServe: POST /predictions/{m}; GET /ping. Errors {"code", "type",
 * "message"}. */
int sn_torchserve_parse_predictions(const sn_parse_input_t *in, sn_request_t *req,
                                    sn_parse_error_t *e);
char *sn_torchserve_write_predictions(const sn_request_t *req, const sn_served_t *m,
                                      const sn_result_t *res);
char *sn_torchserve_error(const sn_parse_error_t *e);

#endif
