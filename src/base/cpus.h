/*
 * cpus.h — how many CPUs this process may use: its affinity mask, capped by
 * the CPU quota of its cgroup (a container's --cpus), not the host's count.
 * A thread pool sized to the host in a 2-CPU container is throttled by the
 * quota and runs several times slower (TEI #170: 1.8 against 11 req/s).
 */
#ifndef SN_BASE_CPUS_H
#define SN_BASE_CPUS_H

/* The CPUs available: the affinity count, capped by the cgroup quota (v2
 * cpu.max, or v1 cpu.cfs_quota_us / cpu.cfs_period_us) rounded down; at
 * least 1.
 * Read once and remembered; thread-safe. */
int sn_cpus_available(void);

/* The same, read now (not remembered): the affinity and quota of this moment. */
int sn_cpus_probe(void);

/* The CPUs a quota of `quota` µs per `period` µs allows, rounded down (a
 * fractional quota's last part is not a thread's worth: 1.5 CPUs give 1), at
 * least 1; 0 when there is no limit (quota <= 0, or period <= 0). */
int sn_cpus_from_quota(long long quota, long long period);

/* The CPUs a cgroup v2 cpu.max text allows ("max 100000": 0 for no limit;
 * "150000 100000": 1); 0 when the text does not parse. */
int sn_cpus_parse_cpu_max(const char *text);

#endif
