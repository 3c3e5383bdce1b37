/* families.c — the model families sinter runs (family.h). A new family is a
 * family_<name>.c file and a line here. */
#include <stdio.h>
#include <string.h>

#include "model/family.h"

extern const sn_family_t sn_family_bert, sn_family_distilbert, sn_family_roberta, sn_family_mpnet,
    sn_family_modernbert, sn_family_qwen3, sn_family_gemma3;
extern const sn_family_t sn_family_deberta;

static const sn_family_t *const families[] = {
    &sn_family_bert,       &sn_family_distilbert, &sn_family_roberta, &sn_family_mpnet,
    &sn_family_modernbert, &sn_family_qwen3,      &sn_family_gemma3,  &sn_family_deberta,
};

const sn_family_t *sn_family_find(const char *model_type) {
  for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
    for (const char *const *t = families[f]->model_types; *t; t++)
      if (!strcmp(*t, model_type)) return families[f];
  return NULL;
}

void sn_family_list(char *buf, size_t cap) {
  size_t n = 0;
  if (cap) buf[0] = '\0';
  for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
    for (const char *const *t = families[f]->model_types; *t; t++)
      if (n < cap) n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", *t);
}
