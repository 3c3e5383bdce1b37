/* test_cpus.c — the CPUs a process may use (base/cpus.h): quota parsing, and
 * the count against the affinity mask. */
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cpus.h"
#include "sinter.h"
#include "test.h"

static void test_quota_parsing(void) {
  SN_CHECK(sn_cpus_parse_cpu_max("max 100000\n") == 0);
  SN_CHECK(sn_cpus_parse_cpu_max("200000 100000\n") == 2);
  SN_CHECK(sn_cpus_parse_cpu_max("150000 100000") == 1); /* 1.5 CPUs: round down */
  SN_CHECK(sn_cpus_parse_cpu_max("250000 100000") == 2);
  SN_CHECK(sn_cpus_parse_cpu_max("50000 100000") == 1);
  SN_CHECK(sn_cpus_parse_cpu_max("") == 0);
  SN_CHECK(sn_cpus_parse_cpu_max("garbage") == 0);
  SN_CHECK(sn_cpus_parse_cpu_max("12x 100000") == 0);
  SN_CHECK(sn_cpus_parse_cpu_max(NULL) == 0);
  SN_CHECK(sn_cpus_from_quota(-1, 100000) == 0); /* cgroup v1: no limit */
  SN_CHECK(sn_cpus_from_quota(400000, 100000) == 4);
  SN_CHECK(sn_cpus_from_quota(100000, 0) == 0);
}

static void test_count_within_affinity(void) {
  cpu_set_t set;
  SN_CHECK(sched_getaffinity(0, sizeof set, &set) == 0);
  int affinity = CPU_COUNT(&set), n = sn_cpus_available();
  SN_CHECK(n >= 1 && n <= affinity);
  SN_CHECK(sinter_cpu_count() == n);
  printf("cpus: %d available (affinity %d, online %ld)\n", n, affinity,
         sysconf(_SC_NPROCESSORS_ONLN));
}

/* Under `taskset -c 0` (an affinity mask of one CPU) one thread is
 * available, whatever the host has (in a child, whose mask is its own). */
static void test_one_cpu_under_taskset(void) {
  pid_t pid = fork();
  SN_CHECK(pid >= 0);
  if (pid == 0) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0) _exit(100);
    _exit(sn_cpus_probe());
  }
  int status = 0;
  SN_CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
  SN_CHECK_MSG(WEXITSTATUS(status) == 1, "under an affinity of one CPU: %d CPUs available",
               WEXITSTATUS(status));
}

int main(void) {
  SN_RUN(test_quota_parsing);
  SN_RUN(test_count_within_affinity);
  SN_RUN(test_one_cpu_under_taskset);
  return SN_TEST_REPORT();
}
