/*
 * graph.h — the unfused graph: what a tracer would capture from the PyTorch
 * module, one primitive op per node.
 *
 * Nodes are SSA values in topological order (a node's inputs always precede
 * it). Shapes are symbolic in two dimensions, the batch size B and the
 * sequence length S, so one graph serves every batch; executors bind B and S
 * per run. Weights are nodes that borrow their data from the model.
 */
#ifndef SN_IR_GRAPH_H
#define SN_IR_GRAPH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/status.h"
#include "base/types.h"

#define SN_IR_MAX_RANK 4
#define SN_IR_MAX_INPUTS 7
#define SN_DIM_B (-1) /* symbolic batch size */
#define SN_DIM_S (-2) /* symbolic sequence length */
#define SN_DIM_T (-3) /* symbolic total tokens of a packed batch */
/* Largest head size with rotary positions. */
#define SN_IR_MAX_ROTARY_DIM 1024
/* Largest distance D of a relative-bias table [h, 2D + 1]. */
#define SN_IR_MAX_REL_DISTANCE 65536

typedef enum sn_ir_dtype { SN_IR_F32 = 0, SN_IR_I32 = 1 } sn_ir_dtype_t;

typedef struct sn_ir_shape {
  int rank;
  int64_t dims[SN_IR_MAX_RANK]; /* >= 0 constant, or SN_DIM_B / SN_DIM_S */
} sn_ir_shape_t;

typedef enum sn_ir_op {
  SN_OP_INPUT,          /* a run input; attr.input names which */
  SN_OP_WEIGHT,         /* a model tensor; name and data */
  SN_OP_ARANGE,         /* i32 [S]: 0, 1, ..., S-1 (position ids) */
  SN_OP_GATHER,         /* (table [R, H], ids i32 [...]) -> [..., H] */
  SN_OP_ADD,            /* (a, b), b's dims equal a's trailing dims (broadcast) */
  SN_OP_MUL_SCALAR,     /* x * attr.scale */
  SN_OP_MATMUL,         /* (a [..., M, K], b [K, N] or [..., K, N]); trans_b: b is [.., N, K] */
  SN_OP_RESHAPE,        /* same elements, attr shape (a view) */
  SN_OP_TRANSPOSE,      /* permute dims by attr.perm */
  SN_OP_MASKED_SOFTMAX, /* (scores [B, h, S, S], mask f32 [B, S]): softmax over the last dim of
                           scores * scale with masked keys at the float minimum, and those
                           outside the window / after the query (attributes) excluded */
  SN_OP_LAYERNORM,      /* (x, gamma, beta) over the last dim with attr.eps */
  SN_OP_GELU,           /* erf form */
  SN_OP_GELU_TANH,      /* tanh approximation */
  SN_OP_RELU,
  SN_OP_TANH,
  SN_OP_SLICE_FIRST,  /* [B, S, H] -> [B, H]: the first token of each sequence */
  SN_OP_POOL,         /* (x [B, S, H], mask f32 [B, S]) -> [B, H] by attr.pool */
  SN_OP_L2_NORMALIZE, /* rows of the last dim to unit length (eps 1e-12, as torch) */
  SN_OP_SOFTMAX,      /* over the last dim */
  SN_OP_DROPOUT,      /* identity at inference (captured as the tracer sees it) */
  /* Ops made by the compiler's passes. */
  SN_OP_SLICE_COLS,    /* columns [begin, end) of the last dim */
  SN_OP_LINEAR,        /* (x, w [N, K], bias [N], residual?) -> act(x w^T + bias) + residual;
                          with attr.pool SPLADE (packed graphs only; no act or residual):
                          x [T, K] -> [B, N], per sequence the max over its rows of
                          x w^T + bias, then log(1 + ReLU()): SPLADE without the
                          [T, N] logits */
  SN_OP_ATTENTION,     /* (qkv [.., (h + 2 kv) d], mask when unpacked, bias table?) ->
                          [.., h d] (kv = kv_heads or h): fused
                          multi-head attention with heads, head_dim, scale, window and causal;
                          the optional table [h, 2D + 1] is added to the scaled scores as
                          REL_BIAS does */
  SN_OP_ADD_LAYERNORM, /* (x, gamma, beta, residual?) -> LayerNorm(x + residual) */
  SN_OP_EMBED_LN,      /* (ids, word, pos, gamma, beta, type_ids?, type table?) -> LayerNorm of
                          the summed embeddings; positions restart at 0 in each sequence */
  /* Unfused ops added later: numbered last, so that artifacts' op numbers
   * stay as they were. */
  SN_OP_REL_BIAS, /* (scores [B, h, S, S], table f32 [h, 2D + 1]) -> scores * scale +
                     table[head, D + clamp(i - j, -D, D)] for query i and key j: a relative
                     position bias (MPNet), constant beyond distance D */
  SN_OP_ROTARY,   /* (x [B, h, S, d], table f32 [P, d]) -> x with each pair of features
                     (c, c + d/2) rotated by the angle of its position s: cos = table[s, c],
                     sin = table[s, d/2 + c] (rotate_half RoPE; P >= every S) */
  SN_OP_MUL,      /* (a, b) of one shape -> a * b elementwise */
  /* Packed ops added later. */
  SN_OP_ROTARY_QK,    /* (qkv [.., (h + 2 kv) d], table [P, d], q gamma?, k gamma?) -> qkv with
                         the q and k heads (RMS-normalised first with the gammas, eps, when
                         given) rotated as ROTARY does, each token by its position in its
                         sequence; v unchanged */
  SN_OP_GLU,          /* (x [.., 2I]) -> act(x[.., :I]) * x[.., I:] (GeGLU, SwiGLU) */
  SN_OP_SILU,         /* x * sigmoid(x) */
  SN_OP_RMSNORM,      /* (x, gamma [d]) -> x / sqrt(mean(x^2) + eps) * gamma over the last dim
                         (also packed) */
  SN_OP_REPEAT_HEADS, /* (x [B, kv, S, d]) -> [B, heads, S, d], head h = x's h / (heads / kv)
                         (grouped-query attention's repeat_kv) */
  /* (scores [B, h, S, S], q [B, h, S, d], k [B, h, S, d], index f32 [2D + 1], pos f32
   * [4 span, h d]) -> (scores + q_i . pos_key[r] + k_j . pos_query[r]) * scale for query i
   * and key j, r = index[D + clamp(i - j, -D, D)] in [0, 2 span), pos_key the rows
   * [0, 2 span) of pos and pos_query the rest, head h at columns h d: DeBERTa-v2's
   * content->position and position->content terms */
  SN_OP_DISENTANGLED_BIAS,
  SN_OP_COUNT_
} sn_ir_op_t;

/* Which run input an INPUT node reads. */
typedef enum sn_ir_input {
  SN_INPUT_IDS = 0,      /* i32 [B, S] token ids */
  SN_INPUT_TYPE_IDS = 1, /* i32 [B, S] token type ids */
  SN_INPUT_MASK = 2,     /* f32 [B, S]: 1 for real tokens, 0 for padding */
} sn_ir_input_t;

typedef struct sn_ir_node {
  sn_ir_op_t op;
  int32_t inputs[SN_IR_MAX_INPUTS];
  int num_inputs;
  sn_ir_dtype_t dtype;
  sn_ir_shape_t shape;
  /* Attributes; which ones apply depends on op. */
  float eps;
  float scale;
  int trans_b;
  int perm[SN_IR_MAX_RANK];
  sn_ir_input_t input;
  sinter_pooling_t pool; /* POOL; LINEAR: SINTER_POOL_SPLADE pools its rows (above), else 0 */
  int64_t begin, end;    /* SLICE_COLS */
  sn_activation_t act;   /* LINEAR, GLU */
  int32_t int8;          /* LINEAR: s8 weights, dynamic per-token s8 activations */
  int32_t heads;         /* ATTENTION, ROTARY_QK */
  int32_t head_dim;      /* ATTENTION, ROTARY_QK */
  int32_t window;        /* ATTENTION, MASKED_SOFTMAX: 0, or only keys j with |i - j| <= window
                            for query i (sliding-window layers) */
  int32_t causal;        /* ATTENTION, MASKED_SOFTMAX: 1: only keys j <= i */
  int32_t kv_heads;      /* ATTENTION, ROTARY_QK, REPEAT_HEADS: key/value heads (grouped-query
                            attention); 0: as many as heads */
  const float *data;     /* WEIGHT: borrowed from the model, or `owned` */
  char *name;            /* WEIGHT: canonical tensor name (owned) */
  void *owned;           /* WEIGHT: data made by a compiler pass (owned) */
  size_t nbytes;         /* WEIGHT with a packed layout: size of `data` */
  void *layout;          /* WEIGHT: the matmul backend's packed layout descriptor, or NULL
                            for plain row-major (owned) */
  size_t layout_size;
  int64_t arena_offset; /* planned graphs: byte offset of the output in the arena, -1 if none */
} sn_ir_node_t;

typedef struct sn_ir_output {
  char name[32]; /* "last_hidden_state", "pooler_output", "embeddings", "logits", "scores" */
  int32_t node;
} sn_ir_output_t;

#define SN_IR_MAX_OUTPUTS 8

typedef struct sn_ir_graph {
  sn_ir_node_t *nodes;
  int32_t count, cap;
  sn_ir_output_t outputs[SN_IR_MAX_OUTPUTS];
  int num_outputs;
  /* 1 once the compiler has packed the batch: token tensors are [T, ...] and
   * sequences are delimited by offsets instead of padding and a mask. */
  int packed;
  /* Set by memory planning: the arena holds every intermediate for up to
   * max_tokens tokens. */
  int64_t max_tokens;
  int64_t max_seqs; /* ... and up to max_seqs sequences ([B, ..] buffers) */
  int64_t arena_bytes;
  /* Set by the first failed add: later adds return -1 and sn_ir_finish reports it. */
  sinter_status_t build_status;
  char build_error[512];
} sn_ir_graph_t;

/* Initialises an empty graph (caller storage). */
void sn_ir_graph_init(sn_ir_graph_t *g);

/* Frees nodes and names; the graph may be re-initialised afterwards. */
void sn_ir_graph_deinit(sn_ir_graph_t *g);

/* Builder calls: each appends a node, infers its shape and returns its id, or
 * -1 after the first failure (bad shapes, out of memory), which sticks and is
 * reported by sn_ir_graph_finish. Inputs of -1 propagate the failure. */
int32_t sn_ir_input(sn_ir_graph_t *g, sn_ir_input_t which);
int32_t sn_ir_weight(sn_ir_graph_t *g, const char *name, const float *data, int rank,
                     const int64_t *dims);
int32_t sn_ir_unary(sn_ir_graph_t *g, sn_ir_op_t op, int32_t x);
int32_t sn_ir_binary(sn_ir_graph_t *g, sn_ir_op_t op, int32_t a, int32_t b);
int32_t sn_ir_arange(sn_ir_graph_t *g);
int32_t sn_ir_mul_scalar(sn_ir_graph_t *g, int32_t x, float scale);
int32_t sn_ir_matmul(sn_ir_graph_t *g, int32_t a, int32_t b, int trans_b);
int32_t sn_ir_reshape(sn_ir_graph_t *g, int32_t x, int rank, const int64_t *dims);
int32_t sn_ir_transpose(sn_ir_graph_t *g, int32_t x, const int *perm);
int32_t sn_ir_masked_softmax(sn_ir_graph_t *g, int32_t scores, int32_t mask, float scale);
/* The same with a sliding window (0: none) and a causal limit. */
int32_t sn_ir_masked_softmax_windowed(sn_ir_graph_t *g, int32_t scores, int32_t mask, float scale,
                                      int32_t window, int32_t causal);
int32_t sn_ir_rotary(sn_ir_graph_t *g, int32_t x, int32_t table);
int32_t sn_ir_slice_cols(sn_ir_graph_t *g, int32_t x, int64_t begin, int64_t end);
int32_t sn_ir_rmsnorm(sn_ir_graph_t *g, int32_t x, int32_t gamma, float eps);
int32_t sn_ir_repeat_heads(sn_ir_graph_t *g, int32_t x, int32_t heads);
int32_t sn_ir_rel_bias(sn_ir_graph_t *g, int32_t scores, int32_t table, float scale);
int32_t sn_ir_disentangled_bias(sn_ir_graph_t *g, int32_t scores, int32_t q, int32_t k,
                                int32_t index, int32_t pos, float scale);
int32_t sn_ir_layernorm(sn_ir_graph_t *g, int32_t x, int32_t gamma, int32_t beta, float eps);
int32_t sn_ir_pool(sn_ir_graph_t *g, int32_t x, int32_t mask, sinter_pooling_t mode);

/* Appends a copy of `node` (inputs, attributes; a WEIGHT's owned buffers
 * move into the graph) after inferring its shape. Used by compiler passes.
 * Returns its id, or -1 (sticky failure as above). */
int32_t sn_ir_append(sn_ir_graph_t *g, const sn_ir_node_t *node);

/* Infers the dtype and shape of node `n` of g from its inputs. Returns 0, or
 * -1 with the reason in msg. */
int sn_ir_infer(const sn_ir_graph_t *g, const sn_ir_node_t *n, sn_ir_dtype_t *dtype,
                sn_ir_shape_t *shape, char *msg, size_t cap);

/* Marks node `id` as the named graph output. */
void sn_ir_mark_output(sn_ir_graph_t *g, const char *name, int32_t id);

/* Reports the first builder failure, if any, then runs the verifier. */
sinter_status_t sn_ir_graph_finish(sn_ir_graph_t *g, sinter_error_t *err);

/* Checks every node: inputs defined earlier, dtypes, and that re-inferring its
 * shape gives the recorded one. Errors: INTERNAL naming node and problem. */
sinter_status_t sn_ir_verify(const sn_ir_graph_t *g, sinter_error_t *err);

/* Finds an output's node id, or -1. */
int32_t sn_ir_find_output(const sn_ir_graph_t *g, const char *name);

/* Writes the graph as text, one node a line. */
void sn_ir_print(const sn_ir_graph_t *g, FILE *out);

/* 1 when the compiled (packed) executor has a kernel for op: the ops a
 * packed plan may hold. */
int sn_ir_op_is_packed(sn_ir_op_t op);

/* The input whose buffer node `n` may overwrite when that input dies with it
 * (a linear's residual, LayerNorm's input, an activation), or -1. The memory
 * planner reuses such slots; the program verifier allows exactly these. */
int sn_ir_inplace_input(const sn_ir_node_t *n);

/* The op's name as printed ("matmul", ...). */
const char *sn_ir_op_name(sn_ir_op_t op);

/* Resolves a symbolic shape for batch b and length s into concrete dims and
 * returns the element count. */
int64_t sn_ir_shape_bind(const sn_ir_shape_t *shape, int64_t b, int64_t s, int64_t *dims);

#endif
