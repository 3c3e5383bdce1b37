/*
 * types.h — the enums every layer shares: one activation, one pooling and one
 * dtype type for the whole code base.
 *
 * Pooling and dtype are the public sinter_pooling_t and sinter_dtype_t of
 * sinter.h, used as they are inside too; the activation is internal (model
 * configs, graph nodes and kernel epilogues all speak it). Values are stored
 * in artifacts, so enums only ever grow at the end.
 */
#ifndef SN_BASE_TYPES_H
#define SN_BASE_TYPES_H

#include "sinter.h"

/* An activation: what config.json's hidden_act names, what a graph node
 * computes and what a linear's epilogue applies. */
typedef enum sn_activation {
  SN_ACT_NONE = 0,
  SN_ACT_GELU = 1,      /* exact: x/2 (1 + erf(x/sqrt 2)) */
  SN_ACT_GELU_TANH = 2, /* gelu_new, gelu_pytorch_tanh */
  SN_ACT_RELU = 3,
  SN_ACT_TANH = 4,
  SN_ACT_SILU = 5, /* x sigmoid(x) ("silu", "swish"): in gated feed-forwards, or as its own
                      op (a head's classifier_activation); no linear epilogue has it */
} sn_activation_t;

/* Name of a pooling mode ("cls", "mean", "max", "mean_sqrt_len"; "default"
 * for SINTER_POOL_DEFAULT, "?" outside the enum). Never NULL. */
const char *sn_pooling_name(sinter_pooling_t mode);

/* Parses a pooling name other than "default"; returns 0 and sets *out, or -1
 * when unknown. */
int sn_pooling_parse(const char *name, sinter_pooling_t *out);

/* Name of a dtype ("f32", "bf16", "int8"; "?" outside the enum). Never NULL. */
const char *sn_dtype_name(sinter_dtype_t dtype);

#endif
