/* program.c — the compiled program object and its public accessors. */
#include "program/program.h"

#include "base/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sinter_program {
  sn_ir_graph_t plan;
  sn_compile_options_t options;
  const sinter_model_t *model;
  sinter_model_t *owned_model; /* == model when the program owns it */
  sn_mapped_file_t map;        /* the artifact the weights live in; empty otherwise */
  int has_map;
  char *path; /* the artifact file, when there is one */
  uint8_t key[32];
  int has_key;
  sn_compile_report_t report;
  int has_report;
  sn_program_origin_t origin;
  double compile_seconds;
  sn_strlist_t warnings;
};

sinter_status_t sn_program_create(const sinter_model_t *model, sn_ir_graph_t *plan,
                                  const sn_compile_options_t *options, sinter_program_t **out,
                                  sinter_error_t *err) {
  *out = NULL;
  sinter_program_t *p = calloc(1, sizeof *p);
  if (!p) {
    sn_ir_graph_deinit(plan);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "program");
  }
  p->plan = *plan;
  memset(plan, 0, sizeof *plan);
  p->options = *options;
  /* Used while compiling only; the caller's memory, gone after. */
  p->options.calibration_file = NULL;
  p->options.calibration = NULL;
  p->model = model;
  p->origin = SN_PROGRAM_COMPILED;
  *out = p;
  return SINTER_OK;
}

void sn_program_own_model(sinter_program_t *p, sinter_model_t *model) {
  p->model = p->owned_model = model;
}

void sn_program_own_mapping(sinter_program_t *p, sn_mapped_file_t *map, const char *path) {
  p->map = *map;
  p->has_map = 1;
  memset(map, 0, sizeof *map);
  free(p->path);
  p->path = strdup(path); /* informational: NULL after a failed copy is fine */
}

void sn_program_set_key(sinter_program_t *p, const uint8_t key[32]) {
  memcpy(p->key, key, 32);
  p->has_key = 1;
}

void sn_program_set_report(sinter_program_t *p, const sn_compile_report_t *report) {
  p->report = *report;
  p->has_report = 1;
}

void sn_program_set_origin(sinter_program_t *p, sn_program_origin_t origin,
                           double compile_seconds) {
  p->origin = origin;
  p->compile_seconds = compile_seconds;
}

void sn_program_add_warning(sinter_program_t *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  sn_strlist_vaddf(&p->warnings, 0, fmt, ap);
  va_end(ap);
}

const sn_ir_graph_t *sn_program_plan(const sinter_program_t *p) {
  return &p->plan;
}

const sinter_model_t *sn_program_model(const sinter_program_t *p) {
  return p->model;
}

const sn_compile_options_t *sn_program_options(const sinter_program_t *p) {
  return &p->options;
}

const uint8_t *sn_program_key(const sinter_program_t *p) {
  return p->has_key ? p->key : NULL;
}

const sn_compile_report_t *sn_program_report(const sinter_program_t *p) {
  return p->has_report ? &p->report : NULL;
}

/* ---------------------------------------------------------------- public */

void sinter_program_release(sinter_program_t *p) {
  if (!p) return;
  sn_ir_graph_deinit(&p->plan);
  sinter_model_close(p->owned_model);
  if (p->has_map) sn_file_unmap(&p->map);
  free(p->path);
  sn_strlist_clear(&p->warnings);
  free(p);
}

sinter_model_t *sn_program_owned_model(sinter_program_t *p) {
  return p->owned_model;
}

const sinter_model_t *sinter_program_model(const sinter_program_t *p) {
  return p->model;
}

void sinter_program_get_info(const sinter_program_t *p, sinter_program_info_t *out) {
  memset(out, 0, sizeof *out);
  out->dtype = p->options.dtype;
  out->max_tokens = (int32_t)p->options.max_tokens;
  out->max_seq = (int32_t)p->options.max_seq;
  out->origin = (sinter_program_origin_t)p->origin;
  out->compile_seconds = p->compile_seconds;
  out->source = sn_model_source(p->model);
  out->path = p->path;
  if (p->has_key)
    for (int i = 0; i < 32; i++) snprintf(out->content_key + 2 * i, 3, "%02x", p->key[i]);
  out->arena_bytes = p->plan.arena_bytes;
  out->num_ops = p->plan.count;
  out->sparse = sn_ir_find_output(&p->plan, "sparse") >= 0;
}

size_t sinter_program_warning_count(const sinter_program_t *p) {
  return p->warnings.count;
}

const char *sinter_program_warning(const sinter_program_t *p, size_t index) {
  return sn_strlist_at(&p->warnings, index);
}
