/* The model reaching down to the tokenizer and base: builds. */
#include "base/types.h"
#include "tokenizer/tokenizer.h"
int sn_layer_probe_down(void) {
  return SINTER_POOL_CLS;
}
