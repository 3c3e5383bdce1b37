/* cpus.c — CPUs available to the process (see cpus.h). */
#include "base/cpus.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int sn_cpus_from_quota(long long quota, long long period) {
  if (quota <= 0 || period <= 0) return 0;
  /* Rounded down: threads that together may use more than the quota are
   * throttled for the rest of each period once they have spent it (with
   * 2 threads under 1.5 CPUs, 25 ms of every 100), and a request caught
   * there waits it out: p99 7.7x the quiet one (bench/RESULTS.md). As Go's
   * automaxprocs, at least 1. */
  long long n = quota / period;
  if (n < 1) n = 1;
  return n > 4096 ? 4096 : (int)n;
}

int sn_cpus_parse_cpu_max(const char *text) {
  char q[32];
  long long period = 0;
  if (!text || sscanf(text, "%31s %lld", q, &period) != 2) return 0;
  if (!strcmp(q, "max")) return 0;
  char *end = NULL;
  long long quota = strtoll(q, &end, 10);
  if (!end || *end) return 0;
  return sn_cpus_from_quota(quota, period);
}

static int read_text(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, cap - 1, f);
  fclose(f);
  buf[n] = '\0';
  return 0;
}

/* The cgroup paths of this process: v2's "0::/path" and v1's cpu controller. */
static void cgroup_paths(char *v2, char *v1, size_t cap) {
  v2[0] = v1[0] = '\0';
  FILE *f = fopen("/proc/self/cgroup", "r");
  if (!f) return;
  char line[1024];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) continue;
    *c2 = '\0';
    const char *controllers = c1 + 1, *path = c2 + 1;
    if (!strcmp(line, "0") && !*controllers) snprintf(v2, cap, "%s", path);
    for (const char *p = controllers; *p;) {
      size_t len = strcspn(p, ",");
      if (len == 3 && !strncmp(p, "cpu", 3)) snprintf(v1, cap, "%s", path);
      p += len + (p[len] == ',');
    }
  }
  fclose(f);
}

static int quota_cpus(void) {
  char v2[512], v1[512], path[1200], text[128];
  cgroup_paths(v2, v1, sizeof v2);
  snprintf(path, sizeof path, "/sys/fs/cgroup%s/cpu.max", v2);
  if (read_text(path, text, sizeof text) == 0 ||
      read_text("/sys/fs/cgroup/cpu.max", text, sizeof text) == 0)
    return sn_cpus_parse_cpu_max(text);
  static const char *const roots[] = {"/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpu"};
  for (size_t r = 0; r < 2; r++) {
    char qt[64], pt[64];
    snprintf(path, sizeof path, "%s%s/cpu.cfs_quota_us", roots[r], v1);
    if (read_text(path, qt, sizeof qt) != 0) continue;
    snprintf(path, sizeof path, "%s%s/cpu.cfs_period_us", roots[r], v1);
    if (read_text(path, pt, sizeof pt) != 0) continue;
    return sn_cpus_from_quota(atoll(qt), atoll(pt));
  }
  return 0;
}

int sn_cpus_probe(void) {
  cpu_set_t set;
  int n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
  if (n <= 0) n = (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (n <= 0) n = 1;
  int quota = quota_cpus();
  return quota > 0 && quota < n ? quota : n;
}

static atomic_int available = 0;

int sn_cpus_available(void) {
  int n = atomic_load_explicit(&available, memory_order_relaxed);
  if (n > 0) return n;
  n = sn_cpus_probe();
  atomic_store_explicit(&available, n, memory_order_relaxed);
  return n;
}
