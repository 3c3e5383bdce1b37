/*
 * time.h — the one clock sinter measures durations with.
 */
#ifndef SN_BASE_TIME_H
#define SN_BASE_TIME_H

/* Seconds on the monotonic clock (CLOCK_MONOTONIC): only differences mean
 * anything. Thread-safe; no allocation. */
double sn_time_now(void);

#endif
