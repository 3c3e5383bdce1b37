/* types.c — names of the shared enums. */
#include "base/types.h"

#include <stddef.h>
#include <string.h>

const char *sn_pooling_name(sinter_pooling_t mode) {
  switch (mode) {
    case SINTER_POOL_DEFAULT: return "default";
    case SINTER_POOL_CLS: return "cls";
    case SINTER_POOL_MEAN: return "mean";
    case SINTER_POOL_MAX: return "max";
    case SINTER_POOL_MEAN_SQRT_LEN: return "mean_sqrt_len";
    case SINTER_POOL_LAST_TOKEN: return "lasttoken";
    case SINTER_POOL_WEIGHTED_MEAN: return "weightedmean";
    case SINTER_POOL_SPLADE: return "splade";
  }
  return "?";
}

int sn_pooling_parse(const char *name, sinter_pooling_t *out) {
  static const sinter_pooling_t modes[] = {SINTER_POOL_CLS,        SINTER_POOL_MEAN,
                                           SINTER_POOL_MAX,        SINTER_POOL_MEAN_SQRT_LEN,
                                           SINTER_POOL_LAST_TOKEN, SINTER_POOL_WEIGHTED_MEAN};
  for (size_t i = 0; name && i < sizeof modes / sizeof modes[0]; i++) {
    if (!strcmp(name, sn_pooling_name(modes[i]))) {
      *out = modes[i];
      return 0;
    }
  }
  return -1;
}

const char *sn_dtype_name(sinter_dtype_t dtype) {
  switch (dtype) {
    case SINTER_DTYPE_F32: return "f32";
    case SINTER_DTYPE_BF16: return "bf16";
    case SINTER_DTYPE_INT8: return "int8";
  }
  return "?";
}
