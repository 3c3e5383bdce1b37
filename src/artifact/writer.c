/* writer.c — writing a program as a .sinter file. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "artifact/container.h"
#include "kernels/matmul.h"
#include "kernels/target.h"

static sinter_status_t write_tensors(int fd, const sn_ir_graph_t *g, const char *path,
                                     sinter_error_t *err);

/* The CONFIG section: the config.json text as the model read it, plus what
 * the model took from the sentence-transformers files. */
static char *config_json(const sinter_model_t *m, sinter_error_t *err) {
  size_t size = 0;
  const char *text = sn_model_config_json(m, &size);
  const sn_st_modules_t *mod = sn_model_modules(m);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "config.json", text ? text : "");
  cJSON_AddBoolToObject(o, "sentence_transformers", mod->present);
  cJSON_AddStringToObject(o, "pooling", sn_pooling_name(mod->pooling));
  cJSON_AddBoolToObject(o, "normalize", mod->normalize);
  cJSON_AddNumberToObject(o, "max_seq_length", mod->max_seq_length);
  cJSON_AddBoolToObject(o, "do_lower_case", mod->do_lower_case);
  if (mod->dense_count > 0) { /* their weights are the plan's; these say what it computes */
    cJSON *dense = cJSON_AddArrayToObject(o, "dense");
    for (int32_t i = 0; i < mod->dense_count; i++) {
      cJSON *d = cJSON_CreateObject();
      cJSON_AddStringToObject(d, "path", mod->dense[i].path);
      cJSON_AddNumberToObject(d, "in_features", mod->dense[i].in_features);
      cJSON_AddNumberToObject(d, "out_features", mod->dense[i].out_features);
      cJSON_AddBoolToObject(d, "bias", mod->dense[i].bias);
      cJSON_AddStringToObject(d, "activation",
                              sn_st_dense_activation_name(mod->dense[i].activation));
      cJSON_AddItemToArray(dense, d);
    }
  }
  cJSON_AddBoolToObject(o, "has_pooler", sn_model_has_pooler(m));
  cJSON_AddNumberToObject(o, "parameter_count", (double)sn_model_parameter_count(m));
  cJSON_AddStringToObject(o, "source", sn_model_source(m));
  const sn_rerank_template_t *rt = sn_model_rerank(m);
  if (rt) { /* the plan holds the folded head; the texts format the pairs */
    cJSON *r = cJSON_AddObjectToObject(o, "reranker");
    cJSON_AddStringToObject(r, "prefix", rt->prefix);
    cJSON_AddStringToObject(r, "body", rt->body);
    cJSON_AddStringToObject(r, "suffix", rt->suffix);
    cJSON_AddStringToObject(r, "instruction", rt->instruction);
    cJSON_AddNumberToObject(r, "true_id", rt->true_id);
    cJSON_AddNumberToObject(r, "false_id", rt->false_id);
  }
  char *out = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  if (!out) sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "config");
  return out;
}

/* The TOKENIZER section: the files the model's tokenizer was parsed from. */
static void write_tokenizer_files(const sinter_model_t *m, sn_wbuf_t *w) {
  size_t count = 0;
  const sn_tokenizer_file_t *files = sn_model_tokenizer_files(m, &count);
  sn_wbuf_u32(w, (uint32_t)count);
  for (size_t i = 0; i < count; i++) {
    sn_wbuf_str(w, files[i].name);
    sn_wbuf_u64(w, files[i].size);
    sn_wbuf_bytes(w, files[i].data, files[i].size);
  }
}

sinter_status_t sn_artifact_write(const sinter_program_t *program, const char *path,
                                  sinter_error_t *err) {
  const sinter_model_t *model = sn_program_model(program);
  const sn_ir_graph_t *plan = sn_program_plan(program);
  const sn_compile_options_t *opts = sn_program_options(program);
  const sn_compile_report_t *report = sn_program_report(program);
  const uint8_t *key = sn_program_key(program);
  sn_wbuf_t sec[5] = {{0}};
  static const uint32_t kinds[5] = {SN_SECTION_CONFIG, SN_SECTION_PLAN, SN_SECTION_TENSORS,
                                    SN_SECTION_TOKENIZER, SN_SECTION_METADATA};
  sinter_status_t st = SINTER_OK;
  char *cfg = config_json(model, err);
  if (!cfg) return err->status;
  sn_wbuf_bytes(&sec[0], cfg, strlen(cfg));
  free(cfg);
  uint64_t tensors_size = 0, tensors_checksum = 0;
  sn_plan_encode(plan, &sec[1], &tensors_size, &tensors_checksum);
  write_tokenizer_files(model, &sec[3]);
  {
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "source", sn_model_source(model));
    cJSON_AddNumberToObject(meta, "created_unix", (double)time(NULL));
    cJSON_AddStringToObject(meta, "compiler", "sinter " SN_COMPILER_VERSION);
    cJSON_AddStringToObject(meta, "onednn", sn_dnnl_version());
    cJSON_AddNumberToObject(meta, "arena_bytes", (double)plan->arena_bytes);
    if (report) {
      cJSON *passes = cJSON_AddArrayToObject(meta, "passes");
      for (int i = 0; i < report->num_passes; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "name", report->passes[i].name);
        cJSON_AddNumberToObject(p, "ops_in", report->passes[i].nodes_before);
        cJSON_AddNumberToObject(p, "ops_out", report->passes[i].nodes_after);
        cJSON_AddNumberToObject(p, "rewrites", report->passes[i].rewrites);
        cJSON_AddNumberToObject(p, "bytes_folded", (double)report->passes[i].bytes_folded);
        cJSON_AddItemToArray(passes, p);
      }
    }
    char *text = cJSON_PrintUnformatted(meta);
    cJSON_Delete(meta);
    if (text) sn_wbuf_bytes(&sec[4], text, strlen(text));
    free(text);
  }
  for (int i = 0; i < 5; i++)
    if (sec[i].oom) {
      st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "artifact: serialising");
      goto done;
    }
  /* Header and table, then the sections at 64-byte aligned offsets. */
  sn_section_t table[5];
  uint64_t at = SN_HEADER_BYTES +
                SN_SECTION_ALIGN * ((5 * SN_ENTRY_BYTES + SN_SECTION_ALIGN - 1) / SN_SECTION_ALIGN);
  for (int i = 0; i < 5; i++) {
    if (kinds[i] == SN_SECTION_TENSORS) {
      table[i] = (sn_section_t){kinds[i], at, tensors_size, tensors_checksum};
    } else {
      table[i] = (sn_section_t){kinds[i], at, sec[i].n, XXH3_64bits(sec[i].p, sec[i].n)};
    }
    at = (at + table[i].size + SN_SECTION_ALIGN - 1) / SN_SECTION_ALIGN * SN_SECTION_ALIGN;
  }
  uint64_t file_size = table[4].offset + table[4].size;
  sn_wbuf_t head = {0}, tab = {0};
  for (int i = 0; i < 5; i++) {
    sn_wbuf_u32(&tab, table[i].kind);
    sn_wbuf_u32(&tab, 0);
    sn_wbuf_u64(&tab, table[i].offset);
    sn_wbuf_u64(&tab, table[i].size);
    sn_wbuf_u64(&tab, table[i].checksum);
  }
  char version[16] = {0}, dnnl[16] = {0};
  snprintf(version, sizeof version, "%s", SN_COMPILER_VERSION);
  snprintf(dnnl, sizeof dnnl, "%s", sn_dnnl_version());
  static const uint8_t no_key[32];
  sn_wbuf_bytes(&head, sn_artifact_magic, 8);
  sn_wbuf_u32(&head, SN_ARTIFACT_FORMAT_VERSION);
  sn_wbuf_u32(&head, SN_HEADER_BYTES);
  sn_wbuf_bytes(&head, version, 16);
  sn_wbuf_bytes(&head, dnnl, 16);
  sn_wbuf_u64(&head, sn_target_isa_features(opts->target_features));
  sn_wbuf_u32(&head, (uint32_t)opts->dtype);
  sn_wbuf_u32(&head, 5);
  sn_wbuf_u64(&head, (uint64_t)opts->max_tokens);
  sn_wbuf_u64(&head, (uint64_t)opts->max_seq);
  sn_wbuf_bytes(&head, key ? key : no_key, 32);
  sn_wbuf_u64(&head, file_size);
  sn_wbuf_u64(&head, XXH3_64bits(tab.p, tab.n));
  while (head.n < SN_HEADER_CHECKED) sn_wbuf_bytes(&head, "", 1);
  sn_wbuf_u64(&head, XXH3_64bits(head.p, SN_HEADER_CHECKED));
  while (head.n < SN_HEADER_BYTES) sn_wbuf_bytes(&head, "", 1);
  while (tab.n < table[0].offset - SN_HEADER_BYTES) sn_wbuf_bytes(&tab, "", 1);

  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    st = sn_error_set(err, SINTER_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    goto done_head;
  }
  static const unsigned char zeros[SN_SECTION_ALIGN];
  st = sn_write_all(fd, head.p, head.n, tmp, err);
  if (!st) st = sn_write_all(fd, tab.p, tab.n, tmp, err);
  for (int i = 0; i < 5 && !st; i++) {
    st = kinds[i] == SN_SECTION_TENSORS ? write_tensors(fd, plan, tmp, err)
                                        : sn_write_all(fd, sec[i].p, sec[i].n, tmp, err);
    size_t pad = i < 4 ? (size_t)(table[i + 1].offset - table[i].offset - table[i].size) : 0;
    if (!st && pad) st = sn_write_all(fd, zeros, pad, tmp, err);
  }
  if (!st && fsync(fd) != 0)
    st = sn_error_set(err, SINTER_ERR_IO, "%s: fsync: %s", tmp, strerror(errno));
  close(fd);
  if (!st && rename(tmp, path) != 0)
    st =
        sn_error_set(err, SINTER_ERR_IO, "%s: cannot rename into place: %s", path, strerror(errno));
  if (st) unlink(tmp);
done_head:
  free(head.p), free(tab.p);
done:
  for (int i = 0; i < 5; i++) free(sec[i].p);
  return st;
}

static sinter_status_t write_tensors(int fd, const sn_ir_graph_t *g, const char *path,
                                     sinter_error_t *err) {
  static const unsigned char zeros[SN_SECTION_ALIGN];
  uint64_t at = 0;
  for (int32_t i = 0; i < g->count; i++) {
    const sn_ir_node_t *n = &g->nodes[i];
    if (n->op != SN_OP_WEIGHT) continue;
    size_t pad = (size_t)((SN_SECTION_ALIGN - at % SN_SECTION_ALIGN) % SN_SECTION_ALIGN);
    if (pad) SN_TRY(sn_write_all(fd, zeros, pad, path, err));
    SN_TRY(sn_write_all(fd, n->data, sn_plan_weight_bytes(n), path, err));
    at += pad + sn_plan_weight_bytes(n);
  }
  return SINTER_OK;
}
