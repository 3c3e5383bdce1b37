/* loadgen.c — an open-loop HTTP load generator for `sinter serve`.
 *
 * Requests arrive as a Poisson process at a given rate (exponential gaps from a
 * seeded RNG, so a run is reproducible) and are sent at their scheduled time
 * whatever the server does: a closed loop of N clients would slow down with the
 * server and hide its queueing (coordinated omission). Latency is measured from
 * the scheduled time, so a request that waited for a free connection carries
 * that wait in its latency.
 *
 * One thread, epoll, a timerfd for the next arrival, plain non-blocking
 * sockets, HTTP/1.1 keep-alive over a pool of up to --connections connections
 * opened on demand. Responses are parsed only as far as needed to reuse the
 * connection: the status line, Content-Length or chunked framing, and
 * "Connection: close". Only libc: the generator must cost little CPU next to
 * the server it measures on the same cores.
 *
 * Each rate prints one JSON line; --find-max bisects for the highest rate that
 * keeps p99 under a bound with under 1 % errors. See --help. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: loadgen --url http://HOST:PORT [--path /embed] [--body-template T]\n"
    "               (--rate R | --rates R1,R2,... | --find-max P99_MS [--rate-min R]\n"
    "                [--rate-max R] [--steps N]) [--duration S] [--pause S]\n"
    "               [--connections N] [--seed N] [--timeout-ms MS] [--max-words N]\n"
    "       loadgen --url URL --sequential N [...]\n\n"
    "Open-loop load: POST requests arrive as a Poisson process at each rate for\n"
    "--duration seconds (default 10), over up to --connections (default 64)\n"
    "keep-alive connections. The body is {\"inputs\": \"<text>\"} (or --body-template\n"
    "with {text} where the text goes); texts have log-normal word counts like\n"
    "`sinter bench --lengths lognormal` (median 22, 95th percentile 80), clamped to\n"
    "1..--max-words (default 254: with [CLS] and [SEP] a MiniLM's 256 tokens).\n"
    "Latency runs from each request's scheduled time; a request not answered\n"
    "within --timeout-ms (default 10000) of it counts as a timeout.\n"
    "Prints one JSON line per rate. --find-max bisects between --rate-min\n"
    "(default 1) and --rate-max (default 1000) for the highest rate with p99 at\n"
    "most P99_MS and under 1 % errors, --steps (default 7) rates after the ends,\n"
    "one JSON line each, then a summary line. --pause (default 2 s) separates\n"
    "rates so the server's queue drains. --sequential N sends N requests one\n"
    "after another on one connection (the unloaded latency).\n";

/* ------------------------------------------------------------------ time */

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
         (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

/* ------------------------------------------------------------------- RNG */

/* splitmix64: seeds independent streams, so the arrival times and each
 * request's text do not depend on each other or on timing. */
static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* A uniform double in (0, 1]: never 0, so log() is finite. */
static double uniform(uint64_t *s) {
  return ((double)(splitmix64(s) >> 11) + 1.0) / 9007199254740992.0;
}

static double exponential(uint64_t *s, double rate) {
  return -log(uniform(s)) / rate;
}

/* ------------------------------------------------------------------ text */

/* Common English words that BERT's uncased WordPiece vocabulary holds whole,
 * so a text of W words is about W + 2 tokens. */
static const char *const words[] = {
    "the",     "of",     "and",   "to",    "in",     "is",    "was",    "for",   "that",  "with",
    "as",      "on",     "by",    "at",    "from",   "his",   "it",     "an",    "were",  "are",
    "which",   "this",   "be",    "or",    "has",    "had",   "first",  "one",   "their", "its",
    "new",     "after",  "who",   "they",  "two",    "her",   "she",    "been",  "other", "when",
    "time",    "during", "there", "into",  "school", "more",  "may",    "years", "over",  "only",
    "year",    "most",   "would", "world", "city",   "some",  "where",  "state", "later", "up",
    "between", "many",   "used",  "known", "system", "water", "people", "music", "team",  "model",
    "search",  "house",  "small", "large", "river",  "light", "night",  "green", "happy", "quick"};
#define N_WORDS (sizeof words / sizeof words[0])

typedef struct {
  const char *prefix, *suffix; /* the template around {text} */
  size_t prefix_len, suffix_len;
  int max_words;
  uint64_t seed;
} body_spec_t;

/* A text's word count: log-normal with `sinter bench --lengths lognormal`'s
 * parameters (tools/sinter/cmd_bench.c: median 22, 95th percentile 80), so
 * the server sees the token lengths the engine's benchmarks use. */
static int word_count(uint64_t *rng, int max_words) {
  double z = sqrt(-2 * log(uniform(rng))) * cos(2 * M_PI * uniform(rng));
  long n = lround(exp(log(22.0) + z * log(80.0 / 22.0) / 1.645));
  return n < 1 ? 1 : n > max_words ? max_words : (int)n;
}

/* Writes request `index`'s body into out (room for body_max bytes); returns
 * its length. The text depends only on the seed and the index. */
static size_t make_body(const body_spec_t *b, uint64_t index, char *out) {
  uint64_t rng = b->seed ^ (index * 0xD1B54A32D192ED03ull);
  splitmix64(&rng);
  int n = word_count(&rng, b->max_words);
  char *p = out;
  memcpy(p, b->prefix, b->prefix_len), p += b->prefix_len;
  for (int i = 0; i < n; i++) {
    const char *w = words[splitmix64(&rng) % N_WORDS];
    size_t len = strlen(w);
    if (i) *p++ = ' ';
    memcpy(p, w, len), p += len;
  }
  memcpy(p, b->suffix, b->suffix_len), p += b->suffix_len;
  return (size_t)(p - out);
}

static size_t body_max(const body_spec_t *b) {
  size_t longest = 0;
  for (size_t i = 0; i < N_WORDS; i++)
    if (strlen(words[i]) > longest) longest = strlen(words[i]);
  return b->prefix_len + b->suffix_len + (size_t)b->max_words * (longest + 1);
}

/* ------------------------------------------------------------ statistics */

typedef struct {
  double *lat_ms; /* latency of every response, from its scheduled time */
  size_t n_lat, cap_lat;
  long sent, late, ok, s429, s5xx, other, errors, timeouts, retries, opened;
  long done_in_window;     /* responses that arrived before the phase's end */
  double max_sched_lag_ms; /* how late the loop itself noticed an arrival */
} stats_t;

static void stats_add_latency(stats_t *s, double ms) {
  if (s->n_lat == s->cap_lat) {
    s->cap_lat = s->cap_lat ? 2 * s->cap_lat : 4096;
    double *p = realloc(s->lat_ms, s->cap_lat * sizeof *p);
    if (!p) {
      fprintf(stderr, "loadgen: out of memory\n");
      exit(1);
    }
    s->lat_ms = p;
  }
  s->lat_ms[s->n_lat++] = ms;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values. */
static double percentile(const double *v, size_t n, double p) {
  if (!n) return 0;
  size_t k = (size_t)ceil(p / 100.0 * (double)n);
  return v[k ? k - 1 : 0];
}

/* ----------------------------------------------------------- connections */

/* C_FREE: connected, between a response and its next request or the pool. */
enum { C_CLOSED, C_IDLE, C_FREE, C_CONNECTING, C_BUSY };
enum { R_HEAD, R_BODY, R_CHUNK_SIZE, R_CHUNK_DATA, R_CHUNK_CRLF, R_TRAILER, R_UNTIL_CLOSE };

typedef struct {
  int64_t sched; /* scheduled time, ns */
  uint64_t index;
  int retried;
} req_t;

typedef struct {
  int fd, state, idle_pos, reused, want_out;
  req_t req;
  char *out; /* the request's bytes */
  size_t out_len, out_off;
  char head[8192]; /* response head, or a chunk-size line */
  size_t head_len;
  int rstate, status, close_after;
  long long remaining; /* body or chunk bytes still to come */
  size_t got;          /* response bytes received, to tell a stale keep-alive */
} conn_t;

typedef struct {
  int ep, tfd;
  struct addrinfo *addr;
  char host_header[300];
  const char *path;
  body_spec_t body;
  size_t out_cap;
  conn_t *conns;
  int n_conns, max_conns, n_open;
  conn_t **idle; /* a stack of idle connections */
  int n_idle;
  req_t *pending; /* due requests waiting for a connection: a ring, in time order */
  size_t pend_head, pend_len, pend_cap;
  int64_t timeout_ns;
  long inflight;
  int64_t window_end;
  stats_t *st;
} lg_t;

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void ep_set(lg_t *g, conn_t *c, int op, int want_out) {
  struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (want_out ? EPOLLOUT : 0u),
                           .data.ptr = c};
  if (epoll_ctl(g->ep, op, c->fd, &ev) != 0) die("epoll_ctl");
  c->want_out = want_out;
}

static void idle_push(lg_t *g, conn_t *c) {
  c->state = C_IDLE;
  c->idle_pos = g->n_idle;
  g->idle[g->n_idle++] = c;
}

static void idle_remove(lg_t *g, conn_t *c) {
  conn_t *last = g->idle[--g->n_idle];
  g->idle[c->idle_pos] = last;
  last->idle_pos = c->idle_pos;
}

static void pending_push(lg_t *g, req_t r) {
  if (g->pend_len == g->pend_cap) {
    size_t cap = g->pend_cap ? 2 * g->pend_cap : 1024;
    req_t *p = malloc(cap * sizeof *p);
    if (!p) die("malloc");
    for (size_t i = 0; i < g->pend_len; i++) p[i] = g->pending[(g->pend_head + i) % g->pend_cap];
    free(g->pending);
    g->pending = p, g->pend_cap = cap, g->pend_head = 0;
  }
  g->pending[(g->pend_head + g->pend_len++) % g->pend_cap] = r;
}

static req_t pending_pop(lg_t *g) {
  req_t r = g->pending[g->pend_head];
  g->pend_head = (g->pend_head + 1) % g->pend_cap;
  g->pend_len--;
  return r;
}

/* Bytes kept for the request line and headers (parse_url bounds the host
 * and path so they fit). */
#define HEAD_ROOM 1024

/* Builds the request's bytes into c->out. */
static void build_request(lg_t *g, conn_t *c) {
  char *body = c->out + HEAD_ROOM;
  size_t blen = make_body(&g->body, c->req.index, body);
  int h = snprintf(c->out, HEAD_ROOM,
                   "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                   "Content-Length: %zu\r\n\r\n",
                   g->path, g->host_header, blen);
  /* Move the body up against the head: one write, one buffer. */
  memmove(c->out + h, body, blen);
  c->out_len = (size_t)h + blen, c->out_off = 0;
}

static void reset_response(conn_t *c) {
  c->head_len = 0, c->rstate = R_HEAD, c->status = 0, c->close_after = 0;
  c->remaining = 0, c->got = 0;
}

static void start_write(lg_t *g, conn_t *c);
static void dispatch(lg_t *g, req_t r);

/* Opens a non-blocking connection for request r; 0 on success. */
static int open_conn(lg_t *g, req_t r) {
  conn_t *c = NULL;
  for (int i = 0; i < g->n_conns && !c; i++)
    if (g->conns[i].state == C_CLOSED) c = &g->conns[i];
  if (!c) return -1;
  c->fd = socket(g->addr->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) return -1;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  g->st->opened++, g->n_open++;
  c->req = r, c->reused = 0;
  reset_response(c);
  build_request(g, c);
  if (connect(c->fd, g->addr->ai_addr, g->addr->ai_addrlen) == 0) {
    c->state = C_BUSY;
    ep_set(g, c, EPOLL_CTL_ADD, 1);
  } else if (errno == EINPROGRESS) {
    c->state = C_CONNECTING;
    ep_set(g, c, EPOLL_CTL_ADD, 1);
  } else {
    close(c->fd);
    c->state = C_CLOSED, g->n_open--;
    return -1;
  }
  return 0;
}

static void record_response(lg_t *g, const req_t *r, int status, int64_t t) {
  stats_t *s = g->st;
  stats_add_latency(s, (double)(t - r->sched) / 1e6);
  if (t <= g->window_end) s->done_in_window++;
  if (status >= 200 && status < 300)
    s->ok++;
  else if (status == 429)
    s->s429++;
  else if (status >= 500 && status < 600)
    s->s5xx++;
  else
    s->other++;
}

/* Hands a connection that just finished a request the next due request, if
 * any is still within its deadline, or puts it back in the idle pool. */
static void conn_next(lg_t *g, conn_t *c) {
  int64_t t = now_ns();
  while (g->pend_len) {
    req_t r = pending_pop(g);
    if (t - r.sched > g->timeout_ns) {
      g->st->timeouts++, g->inflight--;
      continue;
    }
    c->req = r, c->reused = 1, c->state = C_BUSY;
    start_write(g, c);
    return;
  }
  idle_push(g, c);
}

/* Closes c. Its request, if any, fails, except when a reused keep-alive
 * connection died before any of the response came (the server closed it
 * while idle): that one goes out again once, like an HTTP client would. */
static void conn_close(lg_t *g, conn_t *c, int fail_request) {
  if (c->state == C_IDLE) idle_remove(g, c);
  int had_req = c->state == C_BUSY || c->state == C_CONNECTING;
  epoll_ctl(g->ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = -1, c->state = C_CLOSED, g->n_open--;
  if (had_req && fail_request) {
    g->inflight--;
    if (c->reused && c->got == 0 && !c->req.retried) {
      c->req.retried = 1;
      g->st->retries++;
      dispatch(g, c->req);
    } else {
      g->st->errors++;
    }
  }
  /* A waiting request may now open a connection in this one's place. */
  while (g->pend_len && g->n_open < g->max_conns) {
    req_t r = pending_pop(g);
    if (open_conn(g, r) != 0) g->st->errors++, g->inflight--;
  }
}

static void start_write(lg_t *g, conn_t *c) {
  reset_response(c);
  build_request(g, c);
  ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
  if (n < 0 && errno != EAGAIN) {
    conn_close(g, c, 1);
    return;
  }
  c->out_off = n > 0 ? (size_t)n : 0;
  int rest = c->out_off < c->out_len;
  if (rest != c->want_out) ep_set(g, c, EPOLL_CTL_MOD, rest);
}

/* Sends a due request now if a connection is free or may be opened, else
 * queues it (it is then late, and its wait counts in its latency). */
static void dispatch(lg_t *g, req_t r) {
  g->inflight++;
  if (g->n_idle) {
    conn_t *c = g->idle[g->n_idle - 1];
    g->n_idle--;
    c->req = r, c->reused = 1, c->state = C_BUSY;
    start_write(g, c);
  } else if (g->n_open < g->max_conns) {
    if (open_conn(g, r) != 0) g->st->errors++, g->inflight--;
  } else {
    if (!r.retried) g->st->late++;
    pending_push(g, r);
  }
}

/* ------------------------------------------------------- response parsing */

/* Parses the response head in c->head; 0 when it is usable. */
static int parse_head(conn_t *c) {
  c->head[c->head_len] = 0;
  if (strncmp(c->head, "HTTP/1.", 7) || c->head_len < 12) return -1;
  c->status = atoi(c->head + 9);
  c->close_after = c->head[7] == '0'; /* HTTP/1.0 closes unless told otherwise */
  long long length = -1;
  int chunked = 0;
  for (char *line = strstr(c->head, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
    char *h = line + 2;
    if (!strncasecmp(h, "Content-Length:", 15))
      length = atoll(h + 15);
    else if (!strncasecmp(h, "Transfer-Encoding:", 18) && strcasestr(h, "chunked"))
      chunked = 1;
    else if (!strncasecmp(h, "Connection:", 11)) {
      char *end = strstr(h, "\r\n");
      if (end) *end = 0;
      if (strcasestr(h, "close")) c->close_after = 1;
      if (strcasestr(h, "keep-alive")) c->close_after = 0;
      if (end) *end = '\r';
    }
  }
  if (chunked)
    c->rstate = R_CHUNK_SIZE;
  else if (length >= 0)
    c->rstate = R_BODY, c->remaining = length;
  else if (c->status == 204 || c->status == 304)
    c->rstate = R_BODY, c->remaining = 0;
  else
    c->rstate = R_UNTIL_CLOSE, c->close_after = 1;
  c->head_len = 0;
  return 0;
}

/* Appends bytes up to and including a CRLF to c->head; returns how many of
 * `n` it took, and sets *line when a whole line (or head) is there. */
static size_t take_line(conn_t *c, const char *p, size_t n, const char *end_mark, int *line) {
  size_t mark = strlen(end_mark), i = 0;
  *line = 0;
  while (i < n) {
    if (c->head_len + 1 >= sizeof c->head) return (size_t)-1;
    c->head[c->head_len++] = p[i++];
    if (c->head_len >= mark && !memcmp(c->head + c->head_len - mark, end_mark, mark)) {
      *line = 1;
      break;
    }
  }
  return i;
}

/* Feeds received bytes to c's response parser. Returns 1 when the response
 * is complete, 0 when more is needed, -1 on a malformed response. */
static int feed(conn_t *c, const char *p, size_t n) {
  while (n || (c->rstate == R_BODY && c->remaining == 0)) {
    int line = 0;
    size_t k;
    switch (c->rstate) {
      case R_HEAD:
        k = take_line(c, p, n, "\r\n\r\n", &line);
        if (k == (size_t)-1) return -1;
        p += k, n -= k;
        if (line && parse_head(c) != 0) return -1;
        break;
      case R_BODY:
        k = (size_t)c->remaining < n ? (size_t)c->remaining : n;
        p += k, n -= k, c->remaining -= (long long)k;
        if (c->remaining == 0) return 1;
        break;
      case R_CHUNK_SIZE:
        k = take_line(c, p, n, "\r\n", &line);
        if (k == (size_t)-1) return -1;
        p += k, n -= k;
        if (line) {
          c->head[c->head_len] = 0;
          c->remaining = strtoll(c->head, NULL, 16);
          c->head_len = 0;
          c->rstate = c->remaining > 0 ? R_CHUNK_DATA : R_TRAILER;
        }
        break;
      case R_CHUNK_DATA:
        k = (size_t)c->remaining < n ? (size_t)c->remaining : n;
        p += k, n -= k, c->remaining -= (long long)k;
        if (c->remaining == 0) c->rstate = R_CHUNK_CRLF, c->remaining = 2;
        break;
      case R_CHUNK_CRLF:
        k = (size_t)c->remaining < n ? (size_t)c->remaining : n;
        p += k, n -= k, c->remaining -= (long long)k;
        if (c->remaining == 0) c->rstate = R_CHUNK_SIZE;
        break;
      case R_TRAILER: /* trailers end with an empty line */
        k = take_line(c, p, n, "\r\n", &line);
        if (k == (size_t)-1) return -1;
        p += k, n -= k;
        if (line) {
          int empty = c->head_len == 2;
          c->head_len = 0;
          if (empty) return 1;
        }
        break;
      case R_UNTIL_CLOSE: return 0;
    }
  }
  return 0;
}

/* ---------------------------------------------------------------- events */

static void on_response_done(lg_t *g, conn_t *c) {
  record_response(g, &c->req, c->status, now_ns());
  g->inflight--;
  c->state = C_FREE;
  if (c->close_after)
    conn_close(g, c, 0);
  else
    conn_next(g, c);
}

static void on_readable(lg_t *g, conn_t *c) {
  char buf[16384];
  for (;;) {
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    if (n > 0) {
      if (c->state != C_BUSY) { /* bytes nobody asked for: drop the connection */
        conn_close(g, c, 0);
        return;
      }
      c->got += (size_t)n;
      int r = feed(c, buf, (size_t)n);
      if (r < 0) {
        conn_close(g, c, 1);
        return;
      }
      if (r > 0) {
        on_response_done(g, c);
        return; /* no pipelining: nothing else can follow */
      }
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    /* EOF or error: ends a read-until-close body, fails anything else. */
    if (n == 0 && c->state == C_BUSY && c->rstate == R_UNTIL_CLOSE) {
      c->close_after = 1;
      on_response_done(g, c);
      return;
    }
    conn_close(g, c, 1);
    return;
  }
}

static void on_writable(lg_t *g, conn_t *c) {
  if (c->state == C_CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
      conn_close(g, c, 1);
      return;
    }
    c->state = C_BUSY;
  }
  if (c->state != C_BUSY) return;
  ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
  if (n < 0) {
    if (errno != EAGAIN) conn_close(g, c, 1);
    return;
  }
  c->out_off += (size_t)n;
  if (c->out_off == c->out_len) ep_set(g, c, EPOLL_CTL_MOD, 0);
}

static void on_event(lg_t *g, conn_t *c, uint32_t ev) {
  if (c->state == C_CLOSED) return; /* closed earlier in this batch */
  if (ev & EPOLLOUT) on_writable(g, c);
  if (c->state == C_CLOSED) return;
  if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(g, c);
}

/* Fails requests that passed their deadline: in flight (the connection goes,
 * since its response would arrive out of turn) or still waiting. */
static int64_t expire(lg_t *g, int64_t t) {
  /* Waiting ones first: a connection closed below hands its place to the
   * oldest waiting request, which must still be live. */
  while (g->pend_len && g->pending[g->pend_head].sched + g->timeout_ns <= t) {
    pending_pop(g);
    g->st->timeouts++, g->inflight--;
  }
  for (int i = 0; i < g->n_conns; i++) {
    conn_t *c = &g->conns[i];
    if ((c->state == C_BUSY || c->state == C_CONNECTING) && c->req.sched + g->timeout_ns <= t) {
      conn_close(g, c, 0);
      g->st->timeouts++, g->inflight--;
    }
  }
  /* The next deadline, over what the closes above may have started too. */
  int64_t next = g->pend_len ? g->pending[g->pend_head].sched + g->timeout_ns : INT64_MAX;
  for (int i = 0; i < g->n_conns; i++) {
    conn_t *c = &g->conns[i];
    int64_t d = c->req.sched + g->timeout_ns;
    if ((c->state == C_BUSY || c->state == C_CONNECTING) && d < next) next = d;
  }
  return next;
}

static void arm_timer(lg_t *g, int64_t at) {
  struct itimerspec its = {{0, 0}, {at / 1000000000, at % 1000000000}};
  if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;
  if (timerfd_settime(g->tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0) die("timerfd_settime");
}

/* ------------------------------------------------------------------ runs */

typedef struct {
  double rate, duration, throughput, p50, p90, p99, max, cpu_s, err_share;
} result_t;

/* Offers `rate` requests/s for `duration` s, waits for the stragglers (up to
 * the timeout), and prints the JSON line. */
/* Sleeps until `wake` (ns) or socket events, and handles them. */
static void wait_events(lg_t *g, int64_t wake) {
  struct epoll_event evs[256];
  arm_timer(g, wake);
  int n = epoll_wait(g->ep, evs, 256, -1);
  if (n < 0 && errno != EINTR) die("epoll_wait");
  for (int i = 0; i < n; i++) {
    if (evs[i].data.ptr == NULL) {
      uint64_t ticks;
      if (read(g->tfd, &ticks, sizeof ticks) < 0 && errno != EAGAIN) die("read timerfd");
    } else {
      on_event(g, evs[i].data.ptr, evs[i].events);
    }
  }
}

/* Summarises a phase of `wall` seconds and prints its JSON line; `head` is
 * what the line starts with (the mode and its parameters). */
static result_t report(stats_t *st, const char *head, double wall, double cpu0) {
  result_t r = {.duration = wall};
  r.cpu_s = cpu_seconds() - cpu0;
  r.throughput = (double)st->done_in_window / wall;
  qsort(st->lat_ms, st->n_lat, sizeof *st->lat_ms, cmp_double);
  r.p50 = percentile(st->lat_ms, st->n_lat, 50);
  r.p90 = percentile(st->lat_ms, st->n_lat, 90);
  r.p99 = percentile(st->lat_ms, st->n_lat, 99);
  r.max = st->n_lat ? st->lat_ms[st->n_lat - 1] : 0;
  long failed = st->s429 + st->s5xx + st->other + st->errors + st->timeouts;
  r.err_share = st->sent ? (double)failed / (double)st->sent : 0;
  printf(
      "{%s, \"duration_s\": %.2f, \"sent\": %ld, \"sent_rate\": %.2f, \"late\": %ld, "
      "\"throughput\": %.2f, \"ok_2xx\": %ld, \"status_429\": %ld, \"status_5xx\": %ld, "
      "\"other_status\": %ld, \"errors\": %ld, \"timeouts\": %ld, \"p50_ms\": %.2f, "
      "\"p90_ms\": %.2f, \"p99_ms\": %.2f, \"max_ms\": %.2f, \"connections_opened\": %ld, "
      "\"retries\": %ld, \"max_sched_lag_ms\": %.2f, \"client_cpu_s\": %.3f}\n",
      head, wall, st->sent, (double)st->sent / wall, st->late, r.throughput, st->ok, st->s429,
      st->s5xx, st->other, st->errors, st->timeouts, r.p50, r.p90, r.p99, r.max, st->opened,
      st->retries, st->max_sched_lag_ms, r.cpu_s);
  fflush(stdout);
  free(st->lat_ms);
  return r;
}

/* Offers `rate` requests/s for `duration` s, waits for the stragglers (up to
 * the timeout), and prints the JSON line. Every rate replays the seed's
 * arrival pattern, scaled: rates compare on the same burstiness. */
static result_t run_rate(lg_t *g, double rate, double duration, uint64_t seed, uint64_t *index,
                         const char *tag) {
  stats_t st = {0};
  g->st = &st;
  uint64_t arrivals = seed ^ 0xA0761D6478BD642Full;
  splitmix64(&arrivals);
  double cpu0 = cpu_seconds();
  int64_t t0 = now_ns(), end = t0 + (int64_t)(duration * 1e9);
  g->window_end = end;
  int64_t next = t0 + (int64_t)(exponential(&arrivals, rate) * 1e9);
  for (;;) {
    int64_t t = now_ns();
    while (next < end && next <= t) {
      double lag = (double)(t - next) / 1e6;
      if (lag > st.max_sched_lag_ms) st.max_sched_lag_ms = lag;
      st.sent++;
      dispatch(g, (req_t){next, (*index)++, 0});
      next += (int64_t)(exponential(&arrivals, rate) * 1e9);
    }
    int64_t deadline = expire(g, t);
    if (next >= end && g->inflight == 0) break;
    wait_events(g, next < end && next < deadline ? next : deadline);
  }
  char head[160];
  snprintf(head, sizeof head, "%s\"offered_rate\": %.2f", tag ? tag : "", rate);
  result_t r = report(&st, head, duration, cpu0);
  r.rate = rate;
  g->st = NULL;
  return r;
}

/* A closed loop of one: each request goes when the previous one is answered,
 * the latency of a lone request on a warm keep-alive connection. */
static void run_sequential(lg_t *g, long count, uint64_t *index) {
  stats_t st = {0};
  g->st = &st;
  double cpu0 = cpu_seconds();
  int64_t t0 = now_ns();
  g->window_end = INT64_MAX;
  for (;;) {
    int64_t t = now_ns();
    if (g->inflight == 0 && st.sent == count) break;
    if (g->inflight == 0) st.sent++, dispatch(g, (req_t){t, (*index)++, 0});
    int64_t deadline = expire(g, t);
    if (g->inflight) wait_events(g, deadline);
  }
  char head[64];
  snprintf(head, sizeof head, "\"sequential\": %ld", count);
  report(&st, head, (double)(now_ns() - t0) / 1e9, cpu0);
  g->st = NULL;
}

static void pause_s(double s) {
  if (s <= 0) return;
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

/* While the generator sleeps, the server may close idle keep-alives; those
 * are noticed at once instead of on the next request. */
static void reap_idle(lg_t *g) {
  struct epoll_event evs[64];
  stats_t scratch = {0};
  g->st = &scratch;
  /* A bounded number of rounds: after an overloaded rate the server is still
   * answering the backlog, and a level-triggered event the handler leaves
   * pending would otherwise keep this loop spinning (it did: 12 minutes at
   * 96% of a core after a 400 req/s step of --find-max). */
  int n;
  for (int round = 0; round < 64 && (n = epoll_wait(g->ep, evs, 64, 0)) > 0; round++)
    for (int i = 0; i < n; i++)
      if (evs[i].data.ptr) on_event(g, evs[i].data.ptr, evs[i].events);
  free(scratch.lat_ms);
  g->st = NULL;
}

static int passes(const result_t *r, double p99_ms) {
  return r->p99 <= p99_ms && r->err_share < 0.01;
}

/* Bisects (geometrically: capacity is a scale) for the highest passing rate. */
static void find_max(lg_t *g, double p99_ms, double lo, double hi, int steps, double duration,
                     double pause, uint64_t seed, uint64_t *index) {
  char tag[128];
  int step = 0;
  snprintf(tag, sizeof tag, "\"find_max_step\": %d, ", step++);
  result_t r = run_rate(g, lo, duration, seed, index, tag);
  double best = passes(&r, p99_ms) ? lo : 0;
  if (best > 0) {
    pause_s(pause), reap_idle(g);
    snprintf(tag, sizeof tag, "\"find_max_step\": %d, ", step++);
    r = run_rate(g, hi, duration, seed, index, tag);
    if (passes(&r, p99_ms)) best = hi;
  }
  for (int i = 0; best > 0 && best < hi && i < steps; i++) {
    double mid = sqrt(lo * hi);
    pause_s(pause), reap_idle(g);
    snprintf(tag, sizeof tag, "\"find_max_step\": %d, ", step++);
    r = run_rate(g, mid, duration, seed, index, tag);
    if (passes(&r, p99_ms))
      lo = best = mid;
    else
      hi = mid;
  }
  printf(
      "{\"find_max_p99_ms\": %.2f, \"max_rate\": %.2f, \"bracket\": [%.2f, %.2f], "
      "\"client_cpu_s_total\": %.3f}\n",
      p99_ms, best, best > 0 ? lo : 0.0, best > 0 ? hi : lo, cpu_seconds());
}

/* --------------------------------------------------------------- options */

typedef struct {
  const char *url, *path, *template, *rates;
  long sequential;
  double duration, pause, find_max, rate_min, rate_max;
  int connections, steps, timeout_ms, max_words;
  uint64_t seed;
} opts_t;

/* One option: its flag, how to read its value, and where it goes. */
typedef struct {
  const char *flag;
  char kind; /* s: string, d: double, i: int, l: long, u: uint64 */
  void *dst;
} opt_def_t;

static int set_opt(const opt_def_t *d, const char *v) {
  char *end = NULL;
  errno = 0;
  switch (d->kind) {
    case 's': *(const char **)d->dst = v; return 0;
    case 'd': *(double *)d->dst = strtod(v, &end); break;
    case 'i': *(int *)d->dst = (int)strtol(v, &end, 10); break;
    case 'l': *(long *)d->dst = strtol(v, &end, 10); break;
    case 'u': *(uint64_t *)d->dst = strtoull(v, &end, 0); break;
  }
  return errno || end == v || *end ? -1 : 0;
}

/* Why the options cannot run, or NULL. */
static const char *check_opts(const opts_t *o) {
  if (!o->url) return "--url is required";
  if (!o->rates && !(o->find_max > 0) && o->sequential <= 0)
    return "give --rate, --rates, --find-max or --sequential";
  if (!(o->duration > 0)) return "--duration must be more than 0";
  if (o->connections < 1 || o->connections > 65536) return "--connections: 1 to 65536";
  if (o->timeout_ms < 1) return "--timeout-ms must be at least 1";
  if (o->max_words < 1 || o->max_words > 4096) return "--max-words: 1 to 4096";
  if (!(o->rate_min > 0 && o->rate_max > o->rate_min)) return "need 0 < --rate-min < --rate-max";
  if (!strstr(o->template, "{text}")) return "--body-template needs {text}";
  return NULL;
}

/* 0 to run, 1 after --help, -1 on a usage error. */
static int parse_args(int argc, char **argv, opts_t *o) {
  *o = (opts_t){.path = "/embed",
                .template = "{\"inputs\": \"{text}\"}",
                .duration = 10,
                .pause = 2,
                .rate_min = 1,
                .rate_max = 1000,
                .connections = 64,
                .steps = 7,
                .timeout_ms = 10000,
                .max_words = 254,
                .seed = 1};
  const opt_def_t defs[] = {{"--url", 's', &o->url},
                            {"--path", 's', &o->path},
                            {"--body-template", 's', &o->template},
                            {"--rate", 's', &o->rates},
                            {"--rates", 's', &o->rates},
                            {"--duration", 'd', &o->duration},
                            {"--pause", 'd', &o->pause},
                            {"--find-max", 'd', &o->find_max},
                            {"--rate-min", 'd', &o->rate_min},
                            {"--rate-max", 'd', &o->rate_max},
                            {"--connections", 'i', &o->connections},
                            {"--steps", 'i', &o->steps},
                            {"--timeout-ms", 'i', &o->timeout_ms},
                            {"--max-words", 'i', &o->max_words},
                            {"--sequential", 'l', &o->sequential},
                            {"--seed", 'u', &o->seed}};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) return printf("%s", usage), 1;
    const opt_def_t *d = NULL;
    for (size_t k = 0; k < sizeof defs / sizeof defs[0] && !d; k++)
      if (!strcmp(a, defs[k].flag)) d = &defs[k];
    if (!d) return fprintf(stderr, "loadgen: unknown option %s\n%s", a, usage), -1;
    if (i + 1 >= argc || set_opt(d, argv[++i]) != 0)
      return fprintf(stderr, "loadgen: %s needs a valid value\n", a), -1;
  }
  const char *bad = check_opts(o);
  if (bad) return fprintf(stderr, "loadgen: %s\n%s", bad, usage), -1;
  return 0;
}

/* Resolves http://HOST[:PORT][/...]; a path in the URL wins over --path. */
static int parse_url(const char *url, lg_t *g, const char **path) {
  if (strncmp(url, "http://", 7)) return fprintf(stderr, "loadgen: only http:// URLs\n"), -1;
  const char *h = url + 7, *slash = strchr(h, '/');
  size_t hlen = slash ? (size_t)(slash - h) : strlen(h);
  if (slash && slash[1]) *path = slash;
  if (strlen(*path) > 512 || (*path)[0] != '/')
    return fprintf(stderr, "loadgen: the path must start with / and be at most 512 bytes\n"), -1;
  if (hlen == 0 || hlen >= sizeof g->host_header) return fprintf(stderr, "loadgen: bad URL\n"), -1;
  memcpy(g->host_header, h, hlen);
  g->host_header[hlen] = 0;
  char host[300], *colon;
  strcpy(host, g->host_header);
  const char *port = "80";
  if ((colon = strrchr(host, ':'))) *colon = 0, port = colon + 1;
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  int rc = getaddrinfo(host, port, &hints, &g->addr);
  if (rc) return fprintf(stderr, "loadgen: %s: %s\n", host, gai_strerror(rc)), -1;
  return 0;
}

static void setup(lg_t *g, const opts_t *o) {
  const char *mark = strstr(o->template, "{text}");
  g->body = (body_spec_t){o->template,      mark + 6,     (size_t)(mark - o->template),
                          strlen(mark + 6), o->max_words, o->seed};
  g->out_cap = HEAD_ROOM + body_max(&g->body);
  g->max_conns = g->n_conns = o->connections;
  g->conns = calloc((size_t)g->n_conns, sizeof *g->conns);
  g->idle = calloc((size_t)g->n_conns, sizeof *g->idle);
  if (!g->conns || !g->idle) die("calloc");
  for (int i = 0; i < g->n_conns; i++) {
    g->conns[i].fd = -1;
    if (!(g->conns[i].out = malloc(g->out_cap))) die("malloc");
  }
  g->timeout_ns = (int64_t)o->timeout_ms * 1000000;
  /* Each connection is a descriptor: raise the soft limit to the hard one. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if ((g->ep = epoll_create1(EPOLL_CLOEXEC)) < 0) die("epoll_create1");
  if ((g->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0)
    die("timerfd_create");
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  if (epoll_ctl(g->ep, EPOLL_CTL_ADD, g->tfd, &ev) != 0) die("epoll_ctl timerfd");
}

/* Reads "R1,R2,..." into rates (at most max); returns the count, -1 if bad. */
static int parse_rates(const char *list, double *rates, int max) {
  int n = 0;
  for (const char *p = list; *p;) {
    char *end;
    double r = strtod(p, &end);
    if (end == p || !(r > 0) || n == max || (*end && *end != ',')) return -1;
    rates[n++] = r;
    p = *end ? end + 1 : end;
  }
  return n;
}

int main(int argc, char **argv) {
  opts_t o;
  int rc = parse_args(argc, argv, &o);
  if (rc) return rc > 0 ? 0 : 2;
  double rates[64];
  int n_rates = o.rates ? parse_rates(o.rates, rates, 64) : 0;
  if (n_rates < 0) return fprintf(stderr, "loadgen: bad --rates \"%s\"\n", o.rates), 2;
  signal(SIGPIPE, SIG_IGN);
  lg_t g = {0};
  g.path = o.path;
  if (parse_url(o.url, &g, &g.path) != 0) return 2;
  setup(&g, &o);
  uint64_t index = 0; /* request numbers run on across rates: new texts each time */
  if (o.sequential > 0) {
    run_sequential(&g, o.sequential, &index);
  } else if (o.find_max > 0) {
    find_max(&g, o.find_max, o.rate_min, o.rate_max, o.steps, o.duration, o.pause, o.seed, &index);
  } else {
    for (int i = 0; i < n_rates; i++) {
      if (i) pause_s(o.pause), reap_idle(&g);
      run_rate(&g, rates[i], o.duration, o.seed, &index, NULL);
    }
  }
  return 0;
}
