/* inspect.c — `sinter inspect`: an artifact's header, sections, config,
 * metadata and plan, in words. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "artifact/container.h"
#include "kernels/gemm_int8.h"
#include "kernels/matmul.h"
#include "kernels/target.h"
#include "model/family.h"

sinter_status_t sn_artifact_inspect(const char *path, FILE *out, sinter_error_t *err) {
  sn_mapped_file_t map = {0};
  SN_TRY(sn_file_map(path, &map, err));
  sn_artifact_contents_t c;
  memset(&c, 0, sizeof c);
  sn_image_t im;
  sn_config_t cfg;
  memset(&cfg, 0, sizeof cfg);
  /* The header as far as it reads, for a file that fails later checks too. */
  sn_image_check(map.data, map.size, path, &im, 0, NULL);
  sinter_status_t st = sn_artifact_decode(map.data, map.size, path, 0, &c, err);
  if (!st) st = sn_config_parse(c.model.config_json, c.model.config_json_size, path, &cfg, err);
  const sn_st_modules_t *mod = &c.model.modules;
  const sn_ir_graph_t *plan = &c.plan;
  if (im.version) {
    char features[128], key[65];
    sn_target_features_format(im.features, features, sizeof features);
    for (int i = 0; i < 32; i++) snprintf(key + 2 * i, 3, "%02x", im.key[i]);
    fprintf(out, "artifact:        %s (%zu bytes)\n", path, map.size);
    fprintf(out, "format version:  %u\n", im.version);
    fprintf(out, "compiler:        sinter %s, oneDNN %s\n", im.compiler, im.dnnl);
    fprintf(out, "target features: %s\n", features);
    fprintf(out, "options:         dtype %s, max tokens %lld, max seq %lld\n",
            sn_dtype_name((sinter_dtype_t)im.dtype), (long long)im.max_tokens,
            (long long)im.max_seq);
    fprintf(out, "content key:     %s\n", key);
    fprintf(out, "sections:\n");
    for (uint32_t i = 0; i < im.n_sections && i < SN_MAX_SECTIONS; i++) {
      const sn_section_t *s = &im.sections[i];
      int ok = s->offset <= map.size && s->size <= map.size - s->offset &&
               XXH3_64bits(map.data + s->offset, (size_t)s->size) == s->checksum;
      fprintf(out, "  %-10s offset %10llu  size %11llu  xxh3 %016llx %s\n",
              sn_section_name(s->kind), (unsigned long long)s->offset, (unsigned long long)s->size,
              (unsigned long long)s->checksum, ok ? "ok" : "MISMATCH");
    }
    const sn_section_t *meta = sn_image_section(&im, SN_SECTION_METADATA);
    if (meta && meta->offset <= map.size && meta->size <= map.size - meta->offset)
      fprintf(out, "metadata:        %.*s\n", (int)meta->size, map.data + meta->offset);
  }
  if (!st) {
    fprintf(out, "model:           %s %s, %d layers, hidden %d, %d heads, %lld parameters\n",
            cfg.family->name, cfg.architecture, (int)cfg.num_layers, (int)cfg.hidden_size,
            (int)cfg.num_heads, (long long)c.model.parameter_count);
    fprintf(out, "pooling:         %s", sn_pooling_name(mod->pooling));
    for (int32_t i = 0; i < mod->dense_count; i++) /* sentence-transformers Dense modules */
      fprintf(out, " + %s (%d -> %d%s, %s)", mod->dense[i].path, (int)mod->dense[i].in_features,
              (int)mod->dense[i].out_features, mod->dense[i].bias ? ", bias" : "",
              sn_st_dense_activation_name(mod->dense[i].activation));
    fprintf(out, "%s\n", mod->normalize ? " + L2 normalize" : "");
    if (cfg.head == SN_HEAD_SEQUENCE) {
      fprintf(out, "labels:         ");
      for (int i = 0; i < cfg.num_labels; i++) fprintf(out, " %d=%s", i, cfg.labels[i]);
      fprintf(out, "\n");
    }
    fprintf(out, "plan:            %d ops, arena %lld bytes for %lld tokens in %lld sequences\n",
            (int)plan->count, (long long)plan->arena_bytes, (long long)plan->max_tokens,
            (long long)plan->max_seqs);
    int kinds[4] = {0, 0, 0, 0}; /* sinter f32, sinter bf16, sinter int8, oneDNN f32 */
    for (int32_t i = 0; i < plan->count; i++) {
      const sn_ir_node_t *n = &plan->nodes[i];
      if (n->op != SN_OP_LINEAR) continue;
      const sn_ir_node_t *w = &plan->nodes[n->inputs[1]];
      const char *kind = sn_linear_layout_kind(w->layout, w->layout_size);
      kinds[!strcmp(kind, "f32") ? 0 : !strcmp(kind, "bf16") ? 1 : !strcmp(kind, "int8") ? 2 : 3]++;
    }
    fprintf(out,
            "linear kernels:  %d sinter-gemm f32, %d sinter-gemm bf16 weights, %d sinter-gemm "
            "int8, %d oneDNN f32\n",
            kinds[0], kinds[1], kinds[2], kinds[3]);
    /* Each linear's precision; int8 ones with the input channels kept in fp32. */
    for (int32_t i = 0; i < plan->count; i++) {
      const sn_ir_node_t *n = &plan->nodes[i];
      if (n->op != SN_OP_LINEAR) continue;
      const sn_ir_node_t *w = &plan->nodes[n->inputs[1]];
      int64_t rows = w->shape.dims[0], cols = w->shape.dims[1];
      const char *kind = sn_linear_layout_kind(w->layout, w->layout_size);
      fprintf(out, "  linear %-52s %5lld x %-5lld %s", w->name, (long long)rows, (long long)cols,
              !strcmp(kind, "onednn") ? "f32 (oneDNN)" : kind);
      if (n->int8 && w->data && w->nbytes == sn_gemm_i8_packed_bytes(cols, rows)) {
        const int32_t *slots;
        sn_gemm_i8_parts(cols, rows, w->data, NULL, NULL, NULL, NULL, &slots);
        int used = 0;
        for (int o = 0; o < SN_GEMM_I8_OUTLIERS; o++) used += slots[o] >= 0 && slots[o] < cols;
        fprintf(out, ", %d input channels in fp32", used);
        for (int o = 0, first = 1; o < SN_GEMM_I8_OUTLIERS; o++)
          if (slots[o] >= 0 && slots[o] < cols)
            fprintf(out, "%s%d", first ? ": " : " ", slots[o]), first = 0;
      }
      fprintf(out, "\n");
    }
    sn_ir_print(plan, out);
  }
  sn_ir_graph_deinit(&c.plan);
  free(c.config_json);
  sn_rerank_template_free(c.rerank);
  sn_config_deinit(&cfg);
  sn_file_unmap(&map);
  return st;
}
