/* time.c — the monotonic clock. */
#include "base/time.h"

#include <time.h>

double sn_time_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}
