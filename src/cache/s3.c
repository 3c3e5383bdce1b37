/*
 * s3.c — S3 HEAD / GET-to-file / PUT-from-file over libcurl with SigV4.
 *
 * Signing is libcurl's (CURLOPT_AWS_SIGV4 "aws:amz:REGION:s3"). For a PUT we
 * set x-amz-content-sha256 to the file's hex SHA-256 ourselves: libcurl (since
 * 7.87) signs with the value of that header when the caller provides it, and
 * would otherwise sign an upload as UNSIGNED-PAYLOAD. GETs and HEADs carry no
 * payload; libcurl adds the empty-payload hash itself.
 *
 * Every request runs through perform(), which owns the retry loop and turns
 * curl results and HTTP statuses into one error message.
 */
#include "cache/s3.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/str.h"

#define S3_MAX_PUT_BYTES (5ull << 30) /* S3's limit for one PUT */
#define S3_ERROR_BODY_MAX 16384       /* error bodies kept for parsing */
#define S3_SLOW_BYTES 1024L           /* a trickle: slower than this per second ... */
#define S3_SLOW_SECONDS 30L           /* ... for this long fails the transfer */
#define S3_IO_CHUNK (1u << 20)

struct sn_s3_client {
  char *bucket;
  char *prefix; /* "" or "a/b" */
  char *region;
  char *origin;     /* scheme://host[:port][/path] requests go to, for messages */
  char *base_url;   /* origin, plus "/bucket" when path-style */
  char *display;    /* s3://bucket[/prefix] */
  char *sigv4;      /* "aws:amz:REGION:s3" */
  char *access_key; /* NULL when unsigned */
  char *secret_key;
  char *token_header; /* "x-amz-security-token: ..." or NULL */
  char *ca_bundle;    /* AWS_CA_BUNDLE or NULL */
  sn_s3_options_t options;
  long last_http_status; /* of the latest attempt; 0 when no response came */
  CURL *curl;
};

/* ---------------------------------------------------------------- helpers */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_status = CURLE_FAILED_INIT;

static void global_init(void) {
  global_status = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static const char *env_nonempty(const char *name) {
  const char *v = getenv(name);
  return v && v[0] ? v : NULL;
}

static long env_positive(const char *name, long fallback) {
  const char *v = env_nonempty(name);
  if (!v) return fallback;
  char *end = NULL;
  errno = 0;
  long x = strtol(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0' || x <= 0) return fallback;
  return x;
}

void sn_s3_options_default(sn_s3_options_t *out) {
  out->connect_timeout_ms = env_positive("SINTER_S3_CONNECT_TIMEOUT_MS", 3000);
  out->stall_timeout_s = env_positive("SINTER_S3_STALL_TIMEOUT_S", 5);
  long attempts = env_positive("SINTER_S3_ATTEMPTS", 3);
  out->max_attempts = attempts > 20 ? 20 : (int)attempts;
  out->backoff_ms = 200;
  out->deadline_s = env_positive("SINTER_S3_DEADLINE_S", 30);
  out->max_get_bytes = 0;
  out->notice_after_s = 2;
}

void sn_s3_client_set_max_get_bytes(sn_s3_client_t *client, uint64_t max_bytes) {
  client->options.max_get_bytes = max_bytes;
}

static int64_t ms_between(const struct timespec *a, const struct timespec *b) {
  return (int64_t)(b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

static int has_control_chars(const char *s) {
  for (; *s; s++) {
    if ((unsigned char)*s < 0x20 || *s == 0x7f) return 1;
  }
  return 0;
}

static int bucket_char_ok(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         ch == '-' || ch == '.' || ch == '_';
}

sinter_status_t sn_s3_parse_url(const char *url, char **out_bucket, char **out_prefix,
                                sinter_error_t *err) {
  *out_bucket = NULL;
  *out_prefix = NULL;
  static const char scheme[] = "s3://";
  if (!url || strncmp(url, scheme, sizeof scheme - 1) != 0) {
    return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                        "cache URL \"%s\": expected s3://BUCKET[/PREFIX]", url ? url : "(null)");
  }
  if (has_control_chars(url)) {
    return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                        "cache URL: control characters are not allowed");
  }
  const char *b = url + sizeof scheme - 1;
  size_t blen = strcspn(b, "/");
  if (blen == 0 || blen > 255) {
    return sn_error_set(
        err, SINTER_ERR_INVALID_ARGUMENT,
        "cache URL \"%s\": expected a bucket name (1 to 255 characters) after s3://", url);
  }
  for (size_t i = 0; i < blen; i++) {
    if (!bucket_char_ok(b[i])) {
      return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                          "cache URL \"%s\": bucket name character '%c' at offset %zu is not "
                          "one of a-z A-Z 0-9 . - _",
                          url, b[i], (size_t)(b - url) + i);
    }
  }
  const char *p = b + blen;
  while (*p == '/') p++;
  size_t plen = strlen(p);
  while (plen > 0 && p[plen - 1] == '/') plen--;
  for (size_t i = 0; i + 1 < plen; i++) {
    if (p[i] == '/' && p[i + 1] == '/') {
      return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                          "cache URL \"%s\": empty path segment (\"//\") in the prefix", url);
    }
  }
  /* "." and ".." segments: the HTTP client resolves them in the request
   * path, so s3://b/../other/x would talk to bucket "other". */
  for (size_t i = 0; i < plen;) {
    size_t seg = strcspn(p + i, "/");
    if (seg > plen - i) seg = plen - i;
    if ((seg == 1 && p[i] == '.') || (seg == 2 && p[i] == '.' && p[i + 1] == '.')) {
      return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                          "cache URL \"%s\": \".\" and \"..\" are not allowed as prefix "
                          "segments",
                          url);
    }
    i += seg + 1;
  }
  char *bucket = malloc(blen + 1);
  char *prefix = malloc(plen + 1);
  if (!bucket || !prefix) {
    free(bucket);
    free(prefix);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "cache URL: out of memory");
  }
  memcpy(bucket, b, blen);
  bucket[blen] = '\0';
  memcpy(prefix, p, plen);
  prefix[plen] = '\0';
  *out_bucket = bucket;
  *out_prefix = prefix;
  return SINTER_OK;
}

/* Percent-encodes everything outside RFC 3986's unreserved set, keeping '/',
 * which is also S3's canonical-URI form (so the path signs as sent). */
static char *encode_path(const char *s) {
  size_t n = strlen(s);
  char *out = malloc(3 * n + 1);
  if (!out) return NULL;
  static const char hex[] = "0123456789ABCDEF";
  char *o = out;
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
        *c == '-' || *c == '.' || *c == '_' || *c == '~' || *c == '/') {
      *o++ = (char)*c;
    } else {
      *o++ = '%';
      *o++ = hex[*c >> 4];
      *o++ = hex[*c & 15];
    }
  }
  *o = '\0';
  return out;
}

/* ---------------------------------------------------------------- client */

void sn_s3_client_destroy(sn_s3_client_t *c) {
  if (!c) return;
  if (c->curl) curl_easy_cleanup(c->curl);
  free(c->bucket);
  free(c->prefix);
  free(c->region);
  free(c->origin);
  free(c->base_url);
  free(c->display);
  free(c->sigv4);
  free(c->access_key);
  if (c->secret_key) {
    /* Wipe the secret before handing the memory back. */
    volatile char *v = c->secret_key;
    while (*v) *v++ = '\0';
    free(c->secret_key);
  }
  free(c->token_header);
  free(c->ca_bundle);
  free(c);
}

const char *sn_s3_client_url(const sn_s3_client_t *c) {
  return c->display;
}

long sn_s3_client_last_http_status(const sn_s3_client_t *c) {
  return c->last_http_status;
}

static sinter_status_t parse_endpoint(const char *ep, char **out_origin, sinter_error_t *err) {
  *out_origin = NULL;
  const char *rest = NULL;
  if (strncasecmp(ep, "http://", 7) == 0) rest = ep + 7;
  if (strncasecmp(ep, "https://", 8) == 0) rest = ep + 8;
  if (!rest || !rest[0] || rest[0] == '/' || has_control_chars(ep) || strchr(ep, '?') ||
      strchr(ep, '#') || strchr(rest, '@')) {
    return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                        "AWS_ENDPOINT_URL \"%s\": expected http[s]://HOST[:PORT][/PATH]", ep);
  }
  size_t n = strlen(ep);
  while (n > 0 && ep[n - 1] == '/') n--;
  char *o = malloc(n + 1);
  if (!o) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "S3 client: out of memory");
  memcpy(o, ep, n);
  o[n] = '\0';
  *out_origin = o;
  return SINTER_OK;
}

sinter_status_t sn_s3_client_create(const char *url, const sn_s3_options_t *options,
                                    sn_s3_client_t **out_client, sinter_error_t *err) {
  *out_client = NULL;
  pthread_once(&global_once, global_init);
  if (global_status != CURLE_OK) {
    return sn_error_set(err, SINTER_ERR_INTERNAL, "S3 client: curl_global_init failed: %s",
                        curl_easy_strerror(global_status));
  }
  const char *access = env_nonempty("AWS_ACCESS_KEY_ID");
  const char *secret = env_nonempty("AWS_SECRET_ACCESS_KEY");
  if ((access == NULL) != (secret == NULL)) {
    return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                        "S3 credentials: %s is set but %s is not; set both, or neither for "
                        "unsigned requests",
                        access ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                        access ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
  }
  sn_s3_client_t *c = calloc(1, sizeof *c);
  if (!c) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "S3 client: out of memory");
  sinter_status_t st = sn_s3_parse_url(url, &c->bucket, &c->prefix, err);
  if (st != SINTER_OK) goto fail;
  if (options) {
    c->options = *options;
  } else {
    sn_s3_options_default(&c->options);
  }
  if (c->options.max_attempts < 1) c->options.max_attempts = 1;

  const char *region = env_nonempty("AWS_REGION");
  if (!region) region = env_nonempty("AWS_DEFAULT_REGION");
  if (!region) region = "us-east-1";
  if (has_control_chars(region) || strchr(region, ':') || strchr(region, '/')) {
    st = sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                      "AWS_REGION \"%s\": expected a region name such as us-east-1", region);
    goto fail;
  }
  const char *endpoint = env_nonempty("AWS_ENDPOINT_URL_S3");
  if (!endpoint) endpoint = env_nonempty("AWS_ENDPOINT_URL");

  c->region = strdup(region);
  c->sigv4 = sn_format("aws:amz:%s:s3", region);
  c->display = c->prefix[0] ? sn_format("s3://%s/%s", c->bucket, c->prefix)
                            : sn_format("s3://%s", c->bucket);
  if (!c->region || !c->sigv4 || !c->display) goto oom;
  if (endpoint) {
    st = parse_endpoint(endpoint, &c->origin, err);
    if (st != SINTER_OK) goto fail;
    c->base_url = sn_format("%s/%s", c->origin, c->bucket);
  } else if (strchr(c->bucket, '.')) {
    /* A dotted bucket name breaks the TLS wildcard of virtual-hosted names. */
    c->origin = sn_format("https://s3.%s.amazonaws.com", region);
    c->base_url = c->origin ? sn_format("%s/%s", c->origin, c->bucket) : NULL;
  } else {
    c->origin = sn_format("https://%s.s3.%s.amazonaws.com", c->bucket, region);
    c->base_url = c->origin ? strdup(c->origin) : NULL;
  }
  if (!c->origin || !c->base_url) goto oom;
  if (access) {
    c->access_key = strdup(access);
    c->secret_key = strdup(secret);
    if (!c->access_key || !c->secret_key) goto oom;
    const char *token = env_nonempty("AWS_SESSION_TOKEN");
    if (token) {
      if (has_control_chars(token)) {
        st = sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                          "AWS_SESSION_TOKEN contains control characters");
        goto fail;
      }
      c->token_header = sn_format("x-amz-security-token: %s", token);
      if (!c->token_header) goto oom;
    }
  }
  const char *ca = env_nonempty("AWS_CA_BUNDLE");
  if (ca && !(c->ca_bundle = strdup(ca))) goto oom;
  c->curl = curl_easy_init();
  if (!c->curl) {
    st = sn_error_set(err, SINTER_ERR_INTERNAL, "S3 client: curl_easy_init failed");
    goto fail;
  }
  *out_client = c;
  return SINTER_OK;
oom:
  st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "S3 client: out of memory");
fail:
  sn_s3_client_destroy(c);
  return st;
}

/* ---------------------------------------------------------------- requests */

typedef enum { REQ_HEAD, REQ_GET, REQ_PUT } req_kind_t;

/* State of one request across attempts. */
typedef struct transfer {
  CURL *curl;
  req_kind_t kind;
  const char *local_path; /* file read (PUT) or written (GET), for messages */
  int fd;                 /* that file, or -1 */
  uint64_t put_size;
  /* per attempt */
  uint64_t bytes;              /* body bytes written to fd (GET) or read from it (PUT) */
  int64_t content_length;      /* of the last response, -1 when unknown */
  uint64_t progress_seen;      /* bytes moved either way, as last seen by on_progress */
  struct timespec progress_at; /* when progress_seen last grew */
  int stalled;                 /* on_progress aborted the attempt */
  int64_t stall_timeout_ms;
  /* per request */
  struct timespec started; /* the first attempt's start */
  int64_t deadline_ms;     /* since started; every attempt and wait included */
  int past_deadline;       /* on_progress aborted: the request ran out of time */
  uint64_t max_bytes;      /* GET body cap, 0: none */
  int too_big;             /* on_body or on_header aborted: the object is over the cap */
  int notice_after_ms;     /* 0: never */
  int noticed;             /* the waiting notice was printed */
  const char *shown;       /* s3://bucket/key, for the notice */
  int local_errno;         /* a local read/write failure, which is not retried */
  EVP_MD_CTX *sha;         /* GET: digest of the received body */
  int sha_failed;
  char status_text[128]; /* "403 Forbidden" from the status line */
  char checksum[64];     /* x-amz-checksum-sha256 response header */
  char *errbody;         /* non-2xx response body, capped */
  size_t errbody_len;
  int errbody_oom;
} transfer_t;

static void transfer_reset(transfer_t *t) {
  t->bytes = 0;
  t->progress_seen = 0;
  clock_gettime(CLOCK_MONOTONIC, &t->progress_at);
  t->stalled = 0;
  t->local_errno = 0;
  t->sha_failed = 0;
  t->status_text[0] = '\0';
  t->checksum[0] = '\0';
  t->errbody_len = 0;
  if (t->errbody) t->errbody[0] = '\0';
  if (t->sha && EVP_DigestInit_ex(t->sha, EVP_sha256(), NULL) != 1) t->sha_failed = 1;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *userdata) {
  transfer_t *t = userdata;
  size_t n = size * nitems;
  if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
    /* A new response (e.g. after 100 Continue): forget the previous one's headers. */
    t->checksum[0] = '\0';
    const char *sp = memchr(buf, ' ', n);
    size_t len = 0;
    if (sp) {
      sp++;
      len = n - (size_t)(sp - buf);
      while (len > 0 && (sp[len - 1] == '\r' || sp[len - 1] == '\n')) len--;
      if (len >= sizeof t->status_text) len = sizeof t->status_text - 1;
      memcpy(t->status_text, sp, len);
    }
    t->status_text[len] = '\0';
    return n;
  }
  static const char name[] = "x-amz-checksum-sha256:";
  if (n > sizeof name - 1 && strncasecmp(buf, name, sizeof name - 1) == 0) {
    const char *v = buf + sizeof name - 1;
    size_t len = n - (sizeof name - 1);
    while (len > 0 && (*v == ' ' || *v == '\t')) v++, len--;
    while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' ')) len--;
    if (len < sizeof t->checksum) {
      memcpy(t->checksum, v, len);
      t->checksum[len] = '\0';
    }
  }
  return n;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
  transfer_t *t = userdata;
  size_t n = size * nmemb;
  long code = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
  if (t->kind == REQ_GET && code >= 200 && code < 300 && t->max_bytes) {
    curl_off_t length = -1;
    curl_easy_getinfo(t->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    /* Never write more than an artifact can be: a huge Content-Length, or a
     * body that keeps coming, stops here rather than filling the disk. */
    if ((length >= 0 && (uint64_t)length > t->max_bytes) || t->bytes + n > t->max_bytes) {
      t->too_big = 1;
      return 0;
    }
  }
  if (t->kind != REQ_GET || code < 200 || code >= 300) {
    /* Keep the start of an error body for its <Code> and <Message>. */
    if (!t->errbody && !t->errbody_oom) {
      t->errbody = malloc(S3_ERROR_BODY_MAX + 1);
      if (!t->errbody) t->errbody_oom = 1;
    }
    if (t->errbody) {
      size_t room = S3_ERROR_BODY_MAX - t->errbody_len;
      size_t take = n < room ? n : room;
      memcpy(t->errbody + t->errbody_len, ptr, take);
      t->errbody_len += take;
      t->errbody[t->errbody_len] = '\0';
    }
    return n;
  }
  size_t done = 0;
  while (done < n) {
    ssize_t w = write(t->fd, ptr + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      t->local_errno = w < 0 ? errno : EIO;
      return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    }
    done += (size_t)w;
  }
  if (t->sha && !t->sha_failed && EVP_DigestUpdate(t->sha, ptr, n) != 1) t->sha_failed = 1;
  t->bytes += n;
  return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *userdata) {
  transfer_t *t = userdata;
  size_t want = size * nitems;
  for (;;) {
    ssize_t r = read(t->fd, buf, want);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      t->local_errno = errno;
      return CURL_READFUNC_ABORT;
    }
    t->bytes += (uint64_t)r;
    return (size_t)r;
  }
}

/* Aborts an attempt that has moved no byte, in either direction, for the
 * stall timeout. (libcurl's own low-speed check averages over a window, which
 * makes a stop after a fast burst take several extra seconds to notice.) */
static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
  (void)dltotal;
  (void)ultotal;
  transfer_t *t = userdata;
  uint64_t seen = (uint64_t)dlnow + (uint64_t)ulnow;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  int64_t waited_ms = ms_between(&t->started, &now);
  if (waited_ms >= t->deadline_ms) {
    t->past_deadline = 1;
    return 1;
  }
  if (t->notice_after_ms && !t->noticed && waited_ms >= t->notice_after_ms) {
    t->noticed = 1;
    fprintf(stderr,
            "sinter: waiting for %s (giving up %lld s from the start; "
            "SINTER_S3_DEADLINE_S)\n",
            t->shown ? t->shown : "S3", (long long)(t->deadline_ms / 1000));
  }
  if (seen != t->progress_seen) {
    t->progress_seen = seen;
    t->progress_at = now;
    return 0;
  }
  int64_t idle_ms = ms_between(&t->progress_at, &now);
  if (idle_ms >= t->stall_timeout_ms) {
    t->stalled = 1;
    return 1;
  }
  return 0;
}

static int on_seek(void *userdata, curl_off_t offset, int origin) {
  transfer_t *t = userdata;
  if (origin != SEEK_SET) return CURL_SEEKFUNC_CANTSEEK;
  if (lseek(t->fd, (off_t)offset, SEEK_SET) < 0) return CURL_SEEKFUNC_FAIL;
  t->bytes = (uint64_t)offset;
  return CURL_SEEKFUNC_OK;
}

/* Copies the text between <tag> and </tag> of xml into out (XML entities for
 * the five predefined characters decoded, control characters blanked). Returns
 * 1 when found. */
static int xml_text(const char *xml, const char *tag, char *out, size_t out_size) {
  char open[32], close[32];
  snprintf(open, sizeof open, "<%s>", tag);
  snprintf(close, sizeof close, "</%s>", tag);
  const char *a = strstr(xml, open);
  if (!a) return 0;
  a += strlen(open);
  const char *b = strstr(a, close);
  if (!b) return 0;
  static const struct {
    const char *entity;
    char ch;
  } entities[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
  size_t o = 0;
  while (a < b && o + 1 < out_size) {
    char ch = *a++;
    if (ch == '&') {
      for (size_t i = 0; i < sizeof entities / sizeof entities[0]; i++) {
        size_t len = strlen(entities[i].entity);
        if ((size_t)(b - (a - 1)) >= len && memcmp(a - 1, entities[i].entity, len) == 0) {
          ch = entities[i].ch;
          a += len - 1;
          break;
        }
      }
    }
    out[o++] = ((unsigned char)ch < 0x20 || ch == 0x7f) ? ' ' : ch;
  }
  out[o] = '\0';
  return 1;
}

static const char *method_name(req_kind_t kind) {
  return kind == REQ_HEAD ? "HEAD" : kind == REQ_GET ? "GET" : "PUT";
}

static void hex_encode(const unsigned char *in, size_t n, char *out) {
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = hex[in[i] >> 4];
    out[2 * i + 1] = hex[in[i] & 15];
  }
  out[2 * n] = '\0';
}

typedef enum { OUTCOME_OK, OUTCOME_NOT_FOUND, OUTCOME_RETRY, OUTCOME_FAIL } outcome_t;

/* Classifies one finished attempt and, unless it succeeded, writes why into
 * msg (without the "S3 METHOD url: " prefix). */
static outcome_t classify(sn_s3_client_t *c, transfer_t *t, CURLcode rc, const char *errbuf,
                          char *msg, size_t msg_size) {
  long code = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
  curl_off_t length = -1;
  curl_easy_getinfo(t->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  t->content_length = length;
  if (rc == CURLE_OK) {
    if (code >= 200 && code < 300) {
      if (t->kind != REQ_GET) return OUTCOME_OK;
      if (length >= 0 && (uint64_t)length != t->bytes) {
        snprintf(msg, msg_size, "received %" PRIu64 " bytes, Content-Length said %" PRId64,
                 t->bytes, (int64_t)length);
        return OUTCOME_RETRY;
      }
      if (t->sha_failed) {
        snprintf(msg, msg_size, "SHA-256 computation failed (OpenSSL)");
        return OUTCOME_FAIL;
      }
      /* A multipart object's composite checksum ("...-N") is not a file digest. */
      if (t->checksum[0] && !strchr(t->checksum, '-') && t->sha) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int md_len = 0;
        unsigned char b64[64];
        if (EVP_DigestFinal_ex(t->sha, md, &md_len) != 1) {
          snprintf(msg, msg_size, "SHA-256 computation failed (OpenSSL)");
          return OUTCOME_FAIL;
        }
        EVP_EncodeBlock(b64, md, (int)md_len);
        if (strcmp((const char *)b64, t->checksum) != 0) {
          snprintf(msg, msg_size,
                   "downloaded %" PRIu64
                   " bytes have SHA-256 %s (base64), the object's "
                   "x-amz-checksum-sha256 is %s",
                   t->bytes, (const char *)b64, t->checksum);
          return OUTCOME_RETRY;
        }
      }
      return OUTCOME_OK;
    }
    if (code == 404) {
      snprintf(msg, msg_size, "404 not found");
      return OUTCOME_NOT_FOUND;
    }
    char s3code[128] = "", s3msg[512] = "";
    if (t->errbody) {
      xml_text(t->errbody, "Code", s3code, sizeof s3code);
      xml_text(t->errbody, "Message", s3msg, sizeof s3msg);
    }
    if (s3code[0] && s3msg[0]) {
      snprintf(msg, msg_size, "%ld %s: %s", code, s3code, s3msg);
    } else if (s3code[0]) {
      snprintf(msg, msg_size, "%ld %s", code, s3code);
    } else if (t->status_text[0]) {
      snprintf(msg, msg_size, "%s", t->status_text);
    } else {
      snprintf(msg, msg_size, "HTTP status %ld", code);
    }
    return code >= 500 ? OUTCOME_RETRY : OUTCOME_FAIL;
  }

  if (t->too_big) {
    snprintf(msg, msg_size,
             "the object is larger than %" PRIu64
             " bytes, the most an artifact of this model "
             "can be; not downloaded",
             t->max_bytes);
    return OUTCOME_FAIL;
  }
  if (t->past_deadline) {
    snprintf(msg, msg_size, "gave up on %s after %lld s (SINTER_S3_DEADLINE_S)", c->origin,
             (long long)(t->deadline_ms / 1000));
    return OUTCOME_FAIL;
  }
  if (t->local_errno) {
    snprintf(msg, msg_size, "cannot %s %s: %s", t->kind == REQ_PUT ? "read" : "write",
             t->local_path ? t->local_path : "the local file", strerror(t->local_errno));
    return OUTCOME_FAIL;
  }
  long os_errno = 0;
  curl_easy_getinfo(t->curl, CURLINFO_OS_ERRNO, &os_errno);
  curl_off_t connect_us = 0;
  curl_easy_getinfo(t->curl, CURLINFO_CONNECT_TIME_T, &connect_us);
  const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
  char progress[160];
  if (t->kind == REQ_PUT) {
    snprintf(progress, sizeof progress, "sent %" PRIu64 " of %" PRIu64 " bytes", t->bytes,
             t->put_size);
  } else {
    if (length >= 0) {
      snprintf(progress, sizeof progress, "received %" PRIu64 " of %" PRId64 " bytes", t->bytes,
               (int64_t)length);
    } else {
      snprintf(progress, sizeof progress, "received %" PRIu64 " bytes", t->bytes);
    }
  }
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
      snprintf(msg, msg_size, "could not connect to %s (%s)", c->origin,
               os_errno ? strerror((int)os_errno) : detail);
      return OUTCOME_RETRY;
    case CURLE_COULDNT_RESOLVE_HOST:
      snprintf(msg, msg_size, "could not resolve the host of %s (%s)", c->origin, detail);
      return OUTCOME_RETRY;
    case CURLE_ABORTED_BY_CALLBACK:
      if (!t->stalled) break;
      if (connect_us == 0) {
        snprintf(msg, msg_size, "timed out connecting to %s after %ld s", c->origin,
                 c->options.stall_timeout_s);
      } else {
        snprintf(msg, msg_size, "transfer %s %s stalled: no data for %ld s (%s, HTTP status %ld)",
                 t->kind == REQ_PUT ? "to" : "from", c->origin, c->options.stall_timeout_s,
                 progress, code);
      }
      return OUTCOME_RETRY;
    case CURLE_OPERATION_TIMEDOUT:
      if (connect_us == 0) {
        snprintf(msg, msg_size, "timed out connecting to %s after %ld ms", c->origin,
                 c->options.connect_timeout_ms);
      } else {
        snprintf(msg, msg_size, "transfer %s %s too slow: under %ld bytes/s for %ld s (%s)",
                 t->kind == REQ_PUT ? "to" : "from", c->origin, S3_SLOW_BYTES, S3_SLOW_SECONDS,
                 progress);
      }
      return OUTCOME_RETRY;
    case CURLE_PARTIAL_FILE:
      snprintf(msg, msg_size, "%s closed the connection early (%s)", c->origin, progress);
      return OUTCOME_RETRY;
    case CURLE_GOT_NOTHING:
      snprintf(msg, msg_size, "%s closed the connection without a response", c->origin);
      return OUTCOME_RETRY;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      snprintf(msg, msg_size, "network error with %s: %s (%s)", c->origin, detail, progress);
      return OUTCOME_RETRY;
    default: break;
  }
  snprintf(msg, msg_size, "request to %s failed: %s (curl error %d)", c->origin, detail, (int)rc);
  return OUTCOME_FAIL;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Runs one request with retries. `headers` are extra request headers (may be
 * NULL). Returns OK, NOT_FOUND or IO with the message in err. */
static sinter_status_t perform(sn_s3_client_t *c, transfer_t *t, const char *name,
                               struct curl_slist *headers, sinter_error_t *err) {
  char *object = c->prefix[0] ? sn_format("%s/%s", c->prefix, name) : strdup(name);
  char *encoded = object ? encode_path(object) : NULL;
  char *url = encoded ? sn_format("%s/%s", c->base_url, encoded) : NULL;
  char *shown = object ? sn_format("s3://%s/%s", c->bucket, object) : NULL;
  sinter_status_t st = SINTER_OK;
  if (!url || !shown) {
    st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "S3 %s %s: out of memory",
                      method_name(t->kind), name);
    goto done;
  }
  t->curl = c->curl;
  t->stall_timeout_ms = (int64_t)c->options.stall_timeout_s * 1000;
  clock_gettime(CLOCK_MONOTONIC, &t->started);
  t->deadline_ms = (int64_t)c->options.deadline_s * 1000;
  t->past_deadline = 0;
  t->max_bytes = t->kind == REQ_GET ? c->options.max_get_bytes : 0;
  t->too_big = 0;
  t->notice_after_ms = c->options.notice_after_s * 1000;
  t->noticed = 0;
  t->shown = shown;
  c->last_http_status = 0;
  char msg[768] = "";
  char errbuf[CURL_ERROR_SIZE];
  long backoff = c->options.backoff_ms;
  int attempt = 0;
  outcome_t outcome = OUTCOME_FAIL;
  for (;;) {
    attempt++;
    transfer_reset(t);
    if (t->fd >= 0) {
      if (lseek(t->fd, 0, SEEK_SET) < 0 || (t->kind == REQ_GET && ftruncate(t->fd, 0) != 0)) {
        snprintf(msg, sizeof msg, "cannot rewind %s: %s", t->local_path, strerror(errno));
        outcome = OUTCOME_FAIL;
        break;
      }
    }
    errbuf[0] = '\0';
    CURL *h = c->curl;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "sinter/" SINTER_VERSION_STRING);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->options.connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, S3_SLOW_BYTES);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, S3_SLOW_SECONDS);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, t);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    if (c->ca_bundle) curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_bundle);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
    if (headers) curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    if (c->access_key) {
      curl_easy_setopt(h, CURLOPT_AWS_SIGV4, c->sigv4);
      curl_easy_setopt(h, CURLOPT_USERNAME, c->access_key);
      curl_easy_setopt(h, CURLOPT_PASSWORD, c->secret_key);
    }
    if (t->kind == REQ_HEAD) {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (t->kind == REQ_GET) {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt(h, CURLOPT_READDATA, t);
      curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
      curl_easy_setopt(h, CURLOPT_SEEKDATA, t);
      curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)t->put_size);
      curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024L);
    }
    CURLcode rc = curl_easy_perform(h);
    c->last_http_status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->last_http_status);
    outcome = classify(c, t, rc, errbuf, msg, sizeof msg);
    if (outcome != OUTCOME_RETRY || attempt >= c->options.max_attempts) break;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (ms_between(&t->started, &now) + backoff >= t->deadline_ms) {
      /* No time left for another try: say so with the last failure. */
      size_t used = strlen(msg);
      snprintf(msg + used, sizeof msg - used, "; no retry within the %lld s deadline",
               (long long)(t->deadline_ms / 1000));
      break;
    }
    sleep_ms(backoff);
    backoff *= 2;
  }
  /* The handle keeps pointers to our stack buffer and header list: drop them. */
  curl_easy_reset(c->curl);
  switch (outcome) {
    case OUTCOME_OK: st = SINTER_OK; break;
    case OUTCOME_NOT_FOUND:
      st =
          sn_error_set(err, SINTER_ERR_NOT_FOUND, "S3 %s %s: %s", method_name(t->kind), shown, msg);
      break;
    default:
      if (attempt > 1) {
        st = sn_error_set(err, SINTER_ERR_IO, "S3 %s %s: %s (after %d attempts)",
                          method_name(t->kind), shown, msg, attempt);
      } else {
        st = sn_error_set(err, SINTER_ERR_IO, "S3 %s %s: %s", method_name(t->kind), shown, msg);
      }
      break;
  }
done:
  free(object);
  free(encoded);
  free(url);
  free(shown);
  return st;
}

/* SHA-256 of the empty payload, which S3 wants declared on GET and HEAD. */
#define S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* Appends `line` to *list; 0 on allocation failure (*list is kept). */
static int add_header(struct curl_slist **list, const char *line) {
  struct curl_slist *n = curl_slist_append(*list, line);
  if (!n) return 0;
  *list = n;
  return 1;
}

/* The headers every request carries: the payload hash (which libcurl then
 * signs with, and S3 requires), the session token when there is one, plus
 * `extra` lines (NULL-terminated, may be NULL). NULL on allocation failure. */
static struct curl_slist *request_headers(sn_s3_client_t *c, const char *payload_hex,
                                          const char *const *extra) {
  char line[128];
  snprintf(line, sizeof line, "x-amz-content-sha256: %s", payload_hex);
  struct curl_slist *list = NULL;
  int ok = add_header(&list, line);
  if (ok && c->token_header) ok = add_header(&list, c->token_header);
  for (size_t i = 0; ok && extra && extra[i]; i++) ok = add_header(&list, extra[i]);
  if (!ok) {
    curl_slist_free_all(list);
    return NULL;
  }
  return list;
}

static sinter_status_t check_name(const char *op, const char *name, sinter_error_t *err) {
  if (!name || !name[0] || name[0] == '/' || has_control_chars(name)) {
    return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                        "S3 %s: object name \"%s\" must be non-empty, relative and printable", op,
                        name ? name : "(null)");
  }
  return SINTER_OK;
}

sinter_status_t sn_s3_head(sn_s3_client_t *c, const char *name, uint64_t *out_size,
                           sinter_error_t *err) {
  if (out_size) *out_size = 0;
  SN_TRY(check_name("HEAD", name, err));
  struct curl_slist *headers = request_headers(c, S3_EMPTY_SHA256, NULL);
  if (!headers) {
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "S3 HEAD %s: out of memory", name);
  }
  transfer_t t = {.kind = REQ_HEAD, .fd = -1};
  sinter_status_t st = perform(c, &t, name, headers, err);
  if (st == SINTER_OK && out_size)
    *out_size = t.content_length > 0 ? (uint64_t)t.content_length : 0;
  curl_slist_free_all(headers);
  free(t.errbody);
  return st;
}

sinter_status_t sn_s3_get_file(sn_s3_client_t *c, const char *name, const char *dest_path,
                               uint64_t *out_size, sinter_error_t *err) {
  if (out_size) *out_size = 0;
  SN_TRY(check_name("GET", name, err));
  int fd = open(dest_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return sn_error_set(err, SINTER_ERR_IO, "S3 GET %s: cannot create %s: %s", name, dest_path,
                        strerror(errno));
  }
  static const char *const extra[] = {"x-amz-checksum-mode: ENABLED", NULL};
  struct curl_slist *headers = request_headers(c, S3_EMPTY_SHA256, extra);
  EVP_MD_CTX *sha = EVP_MD_CTX_new();
  sinter_status_t st;
  if (!headers || !sha) {
    st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "S3 GET %s: out of memory", name);
    goto done;
  }
  transfer_t t = {.kind = REQ_GET, .fd = fd, .local_path = dest_path, .sha = sha};
  st = perform(c, &t, name, headers, err);
  free(t.errbody);
  if (st == SINTER_OK && fsync(fd) != 0) {
    st = sn_error_set(err, SINTER_ERR_IO, "S3 GET %s: cannot fsync %s: %s", name, dest_path,
                      strerror(errno));
  }
  if (st == SINTER_OK && out_size) *out_size = t.bytes;
done:
  EVP_MD_CTX_free(sha);
  curl_slist_free_all(headers);
  if (close(fd) != 0 && st == SINTER_OK) {
    st = sn_error_set(err, SINTER_ERR_IO, "S3 GET %s: cannot close %s: %s", name, dest_path,
                      strerror(errno));
  }
  return st;
}

/* Hex and base64 SHA-256 of the whole of fd (read with pread, so the offset
 * stays where it was). */
static sinter_status_t file_sha256(int fd, const char *path, char hex[65], char b64[45],
                                   sinter_error_t *err) {
  unsigned char *buf = malloc(S3_IO_CHUNK);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  sinter_status_t st = SINTER_OK;
  if (!buf || !ctx) {
    st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "hashing %s: out of memory", path);
    goto done;
  }
  if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) goto ssl_fail;
  off_t off = 0;
  for (;;) {
    ssize_t r = pread(fd, buf, S3_IO_CHUNK, off);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      st = sn_error_set(err, SINTER_ERR_IO, "hashing %s: read failed at byte %lld: %s", path,
                        (long long)off, strerror(errno));
      goto done;
    }
    if (r == 0) break;
    if (EVP_DigestUpdate(ctx, buf, (size_t)r) != 1) goto ssl_fail;
    off += r;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_DigestFinal_ex(ctx, md, &md_len) != 1 || md_len != 32) goto ssl_fail;
  hex_encode(md, 32, hex);
  EVP_EncodeBlock((unsigned char *)b64, md, 32);
  goto done;
ssl_fail:
  st = sn_error_set(err, SINTER_ERR_INTERNAL, "hashing %s: OpenSSL SHA-256 failed", path);
done:
  EVP_MD_CTX_free(ctx);
  free(buf);
  return st;
}

sinter_status_t sn_s3_put_file(sn_s3_client_t *c, const char *name, const char *src_path,
                               sinter_error_t *err) {
  SN_TRY(check_name("PUT", name, err));
  int fd = open(src_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return sn_error_set(err, SINTER_ERR_IO, "S3 PUT %s: cannot open %s: %s", name, src_path,
                        strerror(errno));
  }
  struct curl_slist *headers = NULL;
  sinter_status_t st = SINTER_OK;
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    st = sn_error_set(err, SINTER_ERR_IO, "S3 PUT %s: %s is not a readable regular file", name,
                      src_path);
    goto done;
  }
  if ((uint64_t)sb.st_size > S3_MAX_PUT_BYTES) {
    st = sn_error_set(err, SINTER_ERR_LIMIT,
                      "S3 PUT %s: %s is %lld bytes; one PUT takes at most %llu bytes", name,
                      src_path, (long long)sb.st_size, (unsigned long long)S3_MAX_PUT_BYTES);
    goto done;
  }
  char hex[65], b64[45];
  st = file_sha256(fd, src_path, hex, b64, err);
  if (st != SINTER_OK) goto done;
  char h_checksum[128];
  snprintf(h_checksum, sizeof h_checksum, "x-amz-checksum-sha256: %s", b64);
  const char *const extra[] = {h_checksum, "x-amz-sdk-checksum-algorithm: SHA256", NULL};
  headers = request_headers(c, hex, extra);
  if (!headers) goto oom;
  transfer_t t = {
      .kind = REQ_PUT, .fd = fd, .local_path = src_path, .put_size = (uint64_t)sb.st_size};
  st = perform(c, &t, name, headers, err);
  free(t.errbody);
  goto done;
oom:
  st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "S3 PUT %s: out of memory", name);
done:
  curl_slist_free_all(headers);
  close(fd);
  return st;
}
