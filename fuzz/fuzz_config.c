/* fuzz_config.c — libFuzzer target for config.json parsing (and the JSON
 * reader under it): any bytes must give OK or a clean error. */
#include <stddef.h>
#include <stdint.h>

#include "model/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sn_config_t config;
  sinter_error_t err;
  if (sn_config_parse((const char *)data, size, "fuzz/config.json", &config, &err) == SINTER_OK)
    sn_config_deinit(&config);
  return 0;
}
