/*
 * s3.h — a small S3 client for the compile cache: HEAD, streamed GET to a
 * file and streamed PUT from a file, over libcurl with AWS Signature V4.
 *
 * Configuration comes from the environment, as the AWS tools read it:
 *   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY  credentials; when both are unset
 *                                             requests go out unsigned
 *                                             (public buckets)
 *   AWS_SESSION_TOKEN                         sent as x-amz-security-token
 *   AWS_REGION, then AWS_DEFAULT_REGION       signing region (us-east-1)
 *   AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL
 *                                             an S3-compatible endpoint
 *                                             (http[s]://host[:port]); objects
 *                                             are addressed path-style,
 *                                             ENDPOINT/bucket/key. Without it:
 *                                             https://bucket.s3.REGION.amazonaws.com/key
 *                                             (path-style for dotted buckets)
 *   AWS_CA_BUNDLE                             CA certificates for https
 * and three tuning knobs (sn_s3_options_t): SINTER_S3_CONNECT_TIMEOUT_MS,
 * SINTER_S3_STALL_TIMEOUT_S, SINTER_S3_ATTEMPTS. Shared-credentials files
 * (~/.aws/credentials) and instance roles are not read.
 *
 * Objects are named relative to the client's prefix: the name "K.sinter" of a
 * client for s3://bucket/a/b is the object "a/b/K.sinter" in "bucket".
 *
 * Failures: a 404 is SINTER_ERR_NOT_FOUND; every other failure (connection,
 * timeout, stalled or truncated transfer, any other HTTP status, local file
 * errors) is SINTER_ERR_IO with a message that starts with the operation and
 * the object ("S3 PUT s3://bucket/a/b/K.sinter: ") and then says why:
 *   "403 SignatureDoesNotMatch: <the server's message>"
 *   "could not connect to http://127.0.0.1:9 (Connection refused)"
 *   "transfer from http://... stalled: no data for 5 s (received 4096 of ... bytes)"
 * Transient failures (5xx, connection failures, timeouts, truncated
 * transfers) are retried with exponential backoff; 3xx and 4xx are not.
 * Credentials never appear in messages.
 *
 * Thread-safety: a client is used by one thread at a time (it holds one curl
 * handle, which keeps the connection alive between requests); distinct
 * clients may run on different threads at once.
 */
#ifndef SN_CACHE_S3_H
#define SN_CACHE_S3_H

#include <stdint.h>

#include "base/status.h"

/* Transfer limits. */
typedef struct sn_s3_options {
  long connect_timeout_ms; /* TCP/TLS connect limit per attempt; default 3000 */
  long stall_timeout_s;    /* an attempt that moves no byte for this many seconds
                              (including waiting for the response) fails; default 5.
                              Independently, a trickle under 1 KiB/s for 30 s fails */
  int max_attempts;        /* tries per request for transient failures; default 3 */
  long backoff_ms;         /* wait before the 2nd try, doubled for each next; default 200 */
  long deadline_s;         /* one request, every attempt and wait included, gives up
                              after this many seconds; default 30 */
  uint64_t max_get_bytes;  /* a GET whose object is larger fails at once; 0: no cap */
  int notice_after_s;      /* once a request has waited this long, one line on stderr
                              says what it waits for and until when; 0: never */
} sn_s3_options_t;

/* An S3 client bound to one bucket and key prefix. Opaque. */
typedef struct sn_s3_client sn_s3_client_t;

/* Fills *out with the defaults above, overridden by the environment variables
 * SINTER_S3_CONNECT_TIMEOUT_MS, SINTER_S3_STALL_TIMEOUT_S, SINTER_S3_ATTEMPTS
 * and SINTER_S3_DEADLINE_S when they hold positive integers (other values are
 * ignored). notice_after_s defaults to 2, max_get_bytes to 0. */
void sn_s3_options_default(sn_s3_options_t *out);

/* Splits "s3://bucket[/prefix[/]]" into a new bucket string and a new prefix
 * string without leading or trailing '/' ("" when none); both are owned by the
 * caller (free()). Errors: INVALID_ARGUMENT naming the URL and what was
 * expected (scheme, bucket characters, no empty path segments or control
 * characters); OUT_OF_MEMORY. Thread-safe. */
sinter_status_t sn_s3_parse_url(const char *url, char **out_bucket, char **out_prefix,
                                sinter_error_t *err);

/* Creates a client for `url` (an s3:// URL as above) with credentials,
 * region and endpoint from the environment and `options` (NULL: from
 * sn_s3_options_default). Makes no network request. On success *out_client is
 * owned by the caller (sn_s3_client_destroy). Errors: INVALID_ARGUMENT for a
 * malformed URL, a malformed AWS_ENDPOINT_URL, or only one of
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY set; INTERNAL when libcurl cannot
 * be initialised; OUT_OF_MEMORY. Thread-safe (libcurl's global init runs once). */
sinter_status_t sn_s3_client_create(const char *url, const sn_s3_options_t *options,
                                    sn_s3_client_t **out_client, sinter_error_t *err);

/* Releases a client. NULL is allowed. */
void sn_s3_client_destroy(sn_s3_client_t *client);

/* The client's location, "s3://bucket" or "s3://bucket/prefix" (borrowed,
 * valid while the client lives). */
const char *sn_s3_client_url(const sn_s3_client_t *client);

/* The HTTP status of the last response the client's latest request got
 * (e.g. 200, 403, 404), or 0 when no response arrived (connection failure,
 * timeout). Lets a caller tell a refusing server from an unreachable one. */
long sn_s3_client_last_http_status(const sn_s3_client_t *client);

/* Sets the size cap of later GETs (0: none): the cache derives it from the
 * size the artifact it expects can have. */
void sn_s3_client_set_max_get_bytes(sn_s3_client_t *client, uint64_t max_bytes);

/* HEAD of object `name`. On OK, *out_size (may be NULL) is its size in bytes.
 * Errors: NOT_FOUND when the object does not exist; IO otherwise (HEAD
 * responses carry no error body, so a refusal reads e.g. "403 Forbidden"). */
sinter_status_t sn_s3_head(sn_s3_client_t *client, const char *name, uint64_t *out_size,
                           sinter_error_t *err);

/* Downloads object `name` into `dest_path`, which is created or truncated
 * (mode 0644 before umask) and streamed to: the object is never held in memory.
 * The file is fsync'd before success. The received size is checked against
 * Content-Length, and the SHA-256 against the object's stored checksum when
 * the server returns one (x-amz-checksum-sha256 with x-amz-checksum-mode).
 * On OK, *out_size (may be NULL) is the size. On failure dest_path is left
 * truncated or partial: the caller removes it. Errors: NOT_FOUND when the object
 * does not exist; IO otherwise (including size or checksum mismatches and
 * local write errors). */
sinter_status_t sn_s3_get_file(sn_s3_client_t *client, const char *name, const char *dest_path,
                               uint64_t *out_size, sinter_error_t *err);

/* Uploads the regular file `src_path` as object `name` with one streamed PUT
 * (so at most 5 GiB). The payload is signed: x-amz-content-sha256 carries the
 * file's hex SHA-256, and x-amz-checksum-sha256 its base64 digest, which S3
 * verifies and stores. Errors: IO (unreadable file, or the upload failed),
 * LIMIT (over 5 GiB), OUT_OF_MEMORY. */
sinter_status_t sn_s3_put_file(sn_s3_client_t *client, const char *name, const char *src_path,
                               sinter_error_t *err);

#endif
