/* guard.c — per-connection deadlines and their watchdog (see guard.h). */
#include "server/guard.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server/batcher.h"

struct sn_guarded {
  int fd; /* our duplicate of the connection's socket */
  double deadline;
  sn_guarded_t *prev, *next;
};

struct sn_guard {
  pthread_mutex_t lock;
  pthread_cond_t wake;
  pthread_t thread;
  sn_guarded_t *head;
  double sleeping_until; /* the watchdog's next wake-up; 0: until signalled */
  int stop;
  uint64_t closed;
};

/* The earliest deadline set, or 0. Under the lock. */
static double earliest(const sn_guard_t *g) {
  double first = 0;
  for (const sn_guarded_t *c = g->head; c; c = c->next)
    if (c->deadline > 0 && (first == 0 || c->deadline < first)) first = c->deadline;
  return first;
}

static void *watchdog(void *arg) {
  sn_guard_t *g = arg;
  pthread_mutex_lock(&g->lock);
  while (!g->stop) {
    double now = sn_batcher_now();
    for (sn_guarded_t *c = g->head; c; c = c->next) {
      if (c->deadline > 0 && c->deadline <= now) {
        /* The socket, not the descriptor, is shut down: libmicrohttpd's
         * next read or write on it fails and it closes the connection. */
        shutdown(c->fd, SHUT_RDWR);
        c->deadline = 0;
        g->closed++;
      }
    }
    g->sleeping_until = earliest(g);
    if (g->sleeping_until == 0) {
      pthread_cond_wait(&g->wake, &g->lock);
    } else {
      /* Deadlines are seconds apart: a wake-up a few milliseconds late
       * costs nothing, and batching the wake-ups keeps the thread idle. */
      double at = g->sleeping_until + 0.005;
      struct timespec ts = {(time_t)at, (long)((at - (double)(time_t)at) * 1e9)};
      pthread_cond_timedwait(&g->wake, &g->lock, &ts);
    }
  }
  pthread_mutex_unlock(&g->lock);
  return NULL;
}

sinter_status_t sn_guard_create(sn_guard_t **out, sinter_error_t *err) {
  *out = NULL;
  sn_guard_t *g = calloc(1, sizeof *g);
  if (!g) return err->status = SINTER_ERR_OUT_OF_MEMORY;
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* sn_batcher_now's clock */
  pthread_mutex_init(&g->lock, NULL);
  pthread_cond_init(&g->wake, &attr);
  pthread_condattr_destroy(&attr);
  int rc = pthread_create(&g->thread, NULL, watchdog, g);
  if (rc != 0) {
    pthread_cond_destroy(&g->wake);
    pthread_mutex_destroy(&g->lock);
    free(g);
    err->status = SINTER_ERR_IO;
    snprintf(err->message, sizeof err->message, "cannot start the connection watchdog: %s",
             strerror(rc));
    return err->status;
  }
  *out = g;
  return SINTER_OK;
}

void sn_guard_destroy(sn_guard_t *g) {
  if (!g) return;
  pthread_mutex_lock(&g->lock);
  g->stop = 1;
  pthread_cond_signal(&g->wake);
  pthread_mutex_unlock(&g->lock);
  pthread_join(g->thread, NULL);
  while (g->head) sn_guard_remove(g, g->head);
  pthread_cond_destroy(&g->wake);
  pthread_mutex_destroy(&g->lock);
  free(g);
}

/* Sets c's deadline and wakes the watchdog when it must wake sooner. Under
 * the lock. */
static void set_locked(sn_guard_t *g, sn_guarded_t *c, double deadline) {
  c->deadline = deadline;
  if (deadline > 0 && (g->sleeping_until == 0 || deadline < g->sleeping_until)) {
    g->sleeping_until = deadline;
    pthread_cond_signal(&g->wake);
  }
}

sn_guarded_t *sn_guard_add(sn_guard_t *g, int fd, double deadline) {
  sn_guarded_t *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (c->fd < 0) {
    free(c);
    return NULL;
  }
  pthread_mutex_lock(&g->lock);
  c->next = g->head;
  if (g->head) g->head->prev = c;
  g->head = c;
  set_locked(g, c, deadline);
  pthread_mutex_unlock(&g->lock);
  return c;
}

void sn_guard_set(sn_guard_t *g, sn_guarded_t *c, double deadline) {
  if (!c) return;
  pthread_mutex_lock(&g->lock);
  set_locked(g, c, deadline);
  pthread_mutex_unlock(&g->lock);
}

void sn_guard_tighten(sn_guard_t *g, sn_guarded_t *c, double deadline) {
  if (!c) return;
  pthread_mutex_lock(&g->lock);
  if (c->deadline == 0 || deadline < c->deadline) set_locked(g, c, deadline);
  pthread_mutex_unlock(&g->lock);
}

void sn_guard_remove(sn_guard_t *g, sn_guarded_t *c) {
  if (!c) return;
  pthread_mutex_lock(&g->lock);
  if (c->prev) c->prev->next = c->next;
  if (c->next) c->next->prev = c->prev;
  if (g->head == c) g->head = c->next;
  pthread_mutex_unlock(&g->lock);
  close(c->fd);
  free(c);
}

uint64_t sn_guard_closed_count(sn_guard_t *g) {
  pthread_mutex_lock(&g->lock);
  uint64_t n = g->closed;
  pthread_mutex_unlock(&g->lock);
  return n;
}
