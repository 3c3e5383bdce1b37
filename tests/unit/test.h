/*
 * test.h — a minimal unit-test harness. A test file defines functions
 * `static void test_xxx(void)` and a main that calls SN_RUN(test_xxx) for each
 * and returns SN_TEST_REPORT(). Failed checks print file:line and the message
 * and mark the current test failed; the run continues with the next test.
 */
#ifndef SN_TEST_H
#define SN_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int sn_test_failed_checks;

/* The thread count the golden and compiler tests give their sessions:
 * SN_TEST_THREADS (CMake registers them again with 1 and 3), else 0, the
 * machine's count. */
static inline int sn_test_threads(void) {
  const char *t = getenv("SN_TEST_THREADS");
  return t && *t ? atoi(t) : 0;
}
static int sn_test_passed, sn_test_failed;

#define SN_CHECK(cond)                                                         \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      sn_test_failed_checks++;                                                 \
    }                                                                          \
  } while (0)

#define SN_CHECK_MSG(cond, ...)                                                \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
      sn_test_failed_checks++;                                                 \
    }                                                                          \
  } while (0)

/* Checks that a status is OK, printing the error context when it is not. */
#define SN_CHECK_OK(expr, errp)                                                              \
  do {                                                                                       \
    sinter_status_t st_ = (expr);                                                            \
    if (st_ != SINTER_OK) {                                                                  \
      fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr, (errp)->message); \
      sn_test_failed_checks++;                                                               \
    }                                                                                        \
  } while (0)

/* Checks that a status equals `code` and that the message contains `needle`. */
#define SN_CHECK_ERR(expr, code, errp, needle)                                                   \
  do {                                                                                           \
    sinter_status_t st_ = (expr);                                                                \
    if (st_ != (code) || !strstr((errp)->message, (needle))) {                                   \
      fprintf(stderr, "%s:%d: %s: want status %d with \"%s\", got %d: %s\n", __FILE__, __LINE__, \
              #expr, (int)(code), (needle), (int)st_, (errp)->message);                          \
      sn_test_failed_checks++;                                                                   \
    }                                                                                            \
  } while (0)

#define SN_RUN(fn)                          \
  do {                                      \
    int before_ = sn_test_failed_checks;    \
    fn();                                   \
    if (sn_test_failed_checks == before_) { \
      sn_test_passed++;                     \
    } else {                                \
      sn_test_failed++;                     \
      fprintf(stderr, "FAIL %s\n", #fn);    \
    }                                       \
  } while (0)

#define SN_TEST_REPORT() \
  (printf("%d passed, %d failed\n", sn_test_passed, sn_test_failed), sn_test_failed ? 1 : 0)

#endif
