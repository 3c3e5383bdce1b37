/*
 * test_batch.h — a sinter_batch_t from the golden files' JSON arrays of id
 * arrays (and optional type ids), for the unit tests that read them.
 */
#ifndef SN_TEST_BATCH_H
#define SN_TEST_BATCH_H

#include <stdlib.h>

#include "base/json.h"
#include "sinter.h"

/* A batch built from a JSON array of id arrays (and optional type ids). */
typedef struct json_batch {
  sinter_batch_t batch;
  int32_t **ids, **types;
  size_t *lengths;
} json_batch_t;

static int32_t *ints_of(const cJSON *arr, size_t *n) {
  *n = (size_t)cJSON_GetArraySize(arr);
  int32_t *v = malloc((*n ? *n : 1) * sizeof *v);
  size_t i = 0;
  const cJSON *x;
  cJSON_ArrayForEach(x, arr) v[i++] = (int32_t)x->valuedouble;
  return v;
}

static void batch_from_json(json_batch_t *jb, const cJSON *ids, const cJSON *types) {
  size_t count = (size_t)cJSON_GetArraySize(ids);
  jb->ids = calloc(count, sizeof *jb->ids);
  jb->types = calloc(count, sizeof *jb->types);
  jb->lengths = calloc(count, sizeof *jb->lengths);
  for (size_t i = 0; i < count; i++) {
    size_t n;
    jb->ids[i] = ints_of(cJSON_GetArrayItem(ids, (int)i), &jb->lengths[i]);
    if (types && cJSON_IsArray(types))
      jb->types[i] = ints_of(cJSON_GetArrayItem(types, (int)i), &n);
  }
  jb->batch = (sinter_batch_t){count, (const int32_t *const *)jb->ids,
                               (const int32_t *const *)jb->types, jb->lengths};
}

static void batch_free(json_batch_t *jb) {
  for (size_t i = 0; i < jb->batch.count; i++) free(jb->ids[i]), free(jb->types[i]);
  free(jb->ids), free(jb->types), free(jb->lengths);
}

#endif
