/* cmd_compile.c — `sinter compile` and `sinter inspect`. Both are about
 * internals (the pass report, the target's features, the artifact's
 * sections), so they use the internal headers as well as sinter.h. */
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "artifact/artifact.h"
#include "cli.h"
#include "compiler/compiler.h"
#include "kernels/target.h"
#include "measure.h"

static const char compile_usage[] =
    "usage: sinter compile --model DIR [--dtype f32|bf16|int8] [--max-tokens N]\n"
    "                      [--max-seq N] [--target native|avx2|avx512] [-o FILE]\n"
    "                      [--explain] [--cache URL] [--calibrate FILE] [--report]\n"
    "                      [--sparse]\n\n"
    "Compiles a model folder ahead of time into a .sinter artifact: drops dropout,\n"
    "folds the attention scale, merges Q/K/V, fuses attention, embeddings, GEMM\n"
    "epilogues and LayerNorm, packs batches, plans memory and pre-packs weights.\n"
    "With -o the artifact is written to FILE; otherwise it goes into the compile\n"
    "cache (and the remote cache, if any) and its path is printed.\n"
    "--explain prints what each pass did and the compiled plan.\n"
    "--sparse adds SPLADE sparse output from a *ForMaskedLM folder's masked-LM head\n"
    "(what `embed --sparse` and `serve --pooling splade` compile).\n\n"
    "int8 (--dtype int8): every encoder linear and the pooler run in int8 (exact\n"
    "s32 sums; per-channel weight and per-token activation scales), each keeping\n"
    "its 8 largest input channels in fp32, found by running the fp32 model on\n"
    "sample texts first: built-in English sentences, or --calibrate FILE (one\n"
    "text per line; part of the cache key). --report then compares the int8\n"
    "program with fp32 on built-in sentences it was not calibrated on and prints\n"
    "the worst and mean cosine of the sentence embeddings (logits and changed\n"
    "labels for a classifier).\n\n"
    "options:\n" CLI_COMMON_USAGE;

static const char inspect_usage[] =
    "usage: sinter inspect FILE\n\n"
    "Prints an artifact's header, sections (with checksum status), config,\n"
    "metadata and plan, and validates it.\n";

/* --target: limits oneDNN's instruction set before any primitive exists and
 * records the features the artifact needs. */
static int apply_target(const char *target, sn_compile_options_t *c, sinter_error_t *err) {
  uint64_t have = sn_target_cpu_features(), want;
  dnnl_cpu_isa_t isa;
  if (!strcmp(target, "native")) return 0;
  if (!strcmp(target, "avx2")) {
    want = SN_FEATURE_AVX2 | SN_FEATURE_FMA;
    isa = dnnl_cpu_isa_avx2;
  } else if (!strcmp(target, "avx512")) {
    want = SN_FEATURE_ISA_MASK;
    isa = dnnl_cpu_isa_avx512_core;
  } else {
    sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT, "unknown target \"%s\" (native, avx2, avx512)",
                 target);
    return -1;
  }
  if (want & ~have) {
    char names[128];
    sn_target_features_format(want & ~have, names, sizeof names);
    sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                 "target %s needs %s, which this CPU lacks (oneDNN generates its kernels for the "
                 "machine it runs on)",
                 target, names);
    return -1;
  }
  dnnl_set_max_cpu_isa(isa);
  c->target_features = want;
  return 0;
}

/* --report: int8 against fp32 on the built-in report sentences. */
static void print_program_warnings(const sinter_program_t *program) {
  for (size_t i = 0; i < sinter_program_warning_count(program); i++)
    fprintf(stderr, "sinter: warning: %s\n", sinter_program_warning(program, i));
}

static int print_int8_report(const sinter_model_t *model, const sinter_program_t *program) {
  sn_api_int8_report_t r;
  sinter_error_t err;
  if (sn_api_int8_report(model, program, NULL, &r, &err)) return cli_fail(&err);
  printf("int8 against fp32 on %zu %s not used for calibration: worst cosine %.5f, mean %.5f (%s)",
         r.samples,
         r.synthetic ? "pseudo-random id sequences (the model has no tokenizer)" : "sentences",
         r.worst_cosine, r.mean_cosine, r.classifier ? "logits" : "sentence embeddings");
  if (r.classifier) printf(", top label changed on %zu", r.labels_changed);
  printf("\n");
  return SN_EXIT_OK;
}

int sn_cmd_compile(int argc, char **argv) {
  cli_common_t opts = {0};
  const char *out_path = NULL, *target = "native";
  int explain = 0, max_seq = 0, report = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) return printf("%s", compile_usage), 0;
    int r = cli_parse_common(&opts, argc, argv, &i);
    if (r < 0) return SN_EXIT_USAGE;
    if (r > 0) continue;
    int has = i + 1 < argc;
    if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && has) {
      out_path = argv[++i];
    } else if (!strcmp(a, "--target") && has) {
      target = argv[++i];
    } else if (!strcmp(a, "--max-seq") && has) {
      if (cli_parse_int(argv[++i], 1, 1 << 20, &max_seq) != 0)
        return cli_usage_error(compile_usage, "--max-seq needs a number from 1 to 1048576");
    } else if (!strcmp(a, "--explain")) {
      explain = 1;
    } else if (!strcmp(a, "--report")) {
      report = 1;
    } else if (!strcmp(a, "--sparse")) {
      opts.sparse = 1;
    } else {
      return cli_usage_error(compile_usage, "unexpected argument \"%s\"", a);
    }
  }
  if (!opts.model_dir) return cli_usage_error(compile_usage, "--model is required");
  const char *calibrate = opts.calibration;
  if ((calibrate || report) && opts.dtype != SINTER_DTYPE_INT8)
    return cli_usage_error(compile_usage, "--calibrate and --report go with --dtype int8");
  sn_compile_options_t c = {.dtype = opts.dtype,
                            .max_tokens = opts.max_tokens,
                            .max_seq = max_seq,
                            .calibration_file = calibrate,
                            .sparse = opts.sparse};
  sinter_error_t err;
  if (apply_target(target, &c, &err) != 0) return cli_fail(&err);
  cli_model_t opened = {0};
  if (cli_open_as_is(&opts, &opened, &err)) return cli_fail(&err);
  if (opened.program) {
    cli_model_close(&opened);
    sn_error_set(&err, SINTER_ERR_INVALID_ARGUMENT,
                 "%s is already a compiled artifact; compile takes a model folder", opts.model_dir);
    return cli_fail(&err);
  }
  c = sn_api_compile_options(opened.model, &c);
  int rc = SN_EXIT_OK;
  double t0 = measure_now();
  sinter_program_t *program = NULL;
  if (out_path) {
    uint8_t key[32];
    if (sn_artifact_key(opened.model, &c, key, &err) ||
        sn_api_compile(opened.model, &c, &program, &err)) {
      rc = cli_fail(&err);
      goto done;
    }
    sn_program_set_key(program, key);
    if (sinter_program_save(program, out_path, &err)) {
      rc = cli_fail(&err);
      goto done;
    }
    print_program_warnings(program);
    fprintf(stderr, "sinter: compiled %s in %.2f s -> %s\n", opts.model_dir, measure_now() - t0,
            out_path);
    if (explain) {
      sn_compile_report_print(sn_program_report(program), stdout);
      sn_ir_print(sn_program_plan(program), stdout);
    }
  } else {
    if (sn_api_open_program(opts.model_dir, &c, NULL, opts.cache_url, &program, &err)) {
      rc = cli_fail(&err);
      goto done;
    }
    print_program_warnings(program);
    sinter_program_info_t info;
    sinter_program_get_info(program, &info);
    fprintf(stderr, "sinter: %s in %.2f s\n",
            info.origin == SINTER_PROGRAM_COMPILED            ? "compiled"
            : info.origin == SINTER_PROGRAM_FROM_REMOTE_CACHE ? "found in the remote cache"
                                                              : "found in the local cache",
            measure_now() - t0);
    printf("%s\n", info.path);
    if (explain) {
      /* The cached artifact holds the pass report in its metadata. */
      sinter_error_t ierr;
      sn_artifact_inspect(info.path, stdout, &ierr);
    }
  }
  if (report) rc = print_int8_report(opened.model, program);
done:
  sinter_program_release(program);
  cli_model_close(&opened);
  return rc;
}

int sn_cmd_inspect(int argc, char **argv) {
  const char *path = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return printf("%s", inspect_usage), 0;
    if (path) return cli_usage_error(inspect_usage, "unexpected argument \"%s\"", argv[i]);
    path = argv[i];
  }
  if (!path) return cli_usage_error(inspect_usage, "an artifact FILE is required");
  sinter_error_t err;
  if (sn_artifact_inspect(path, stdout, &err)) return cli_fail(&err);
  return SN_EXIT_OK;
}
