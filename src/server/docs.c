/* docs.c — Swagger UI's files, located at run time (see docs.h). */
#include "server/docs.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char sn_docs_page[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<title>sinter serve: API</title>\n"
    "<link rel=\"stylesheet\" href=\"/docs/swagger-ui.css\">\n"
    "</head>\n"
    "<body>\n"
    "<div id=\"swagger-ui\"></div>\n"
    "<script src=\"/docs/swagger-ui-bundle.js\"></script>\n"
    "<script>\n"
    "window.ui = SwaggerUIBundle({url: \"/openapi.json\", dom_id: \"#swagger-ui\",\n"
    "  deepLinking: true, validatorUrl: null, presets: [SwaggerUIBundle.presets.apis],\n"
    "  layout: \"BaseLayout\"});\n"
    "</script>\n"
    "</body>\n"
    "</html>\n";

const char sn_docs_missing[] =
    "Swagger UI's files are not installed on this machine: /docs serves those of a Debian "
    "package (apt-get install python3-flasgger) or of the folder in SINTER_SWAGGER_UI_DIR; "
    "the API's document is at /openapi.json";

/* The files the page loads, and their types. */
static const struct {
  const char *name, *type;
} FILES[] = {
    {"swagger-ui-bundle.js", "application/javascript; charset=utf-8"},
    {"swagger-ui.css", "text/css; charset=utf-8"},
};

static int is_file(const char *dir, const char *name) {
  char path[4096];
  struct stat st;
  int n = snprintf(path, sizeof path, "%s/%s", dir, name);
  return n > 0 && (size_t)n < sizeof path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int sn_docs_locate(char *dir, size_t cap) {
  const char *candidates[] = {getenv("SINTER_SWAGGER_UI_DIR"), "/usr/share/javascript/swagger-ui",
                              "/usr/lib/python3/dist-packages/flasgger/ui3/static"};
  for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
    const char *d = candidates[i];
    if (!d || !d[0] || strlen(d) >= cap) continue;
    int all = 1;
    for (size_t k = 0; k < sizeof FILES / sizeof FILES[0]; k++) all &= is_file(d, FILES[k].name);
    if (all) {
      snprintf(dir, cap, "%s", d);
      return 0;
    }
  }
  return -1;
}

int sn_docs_open(const char *dir, const char *name, int *fd, size_t *size, const char **type) {
  for (size_t k = 0; k < sizeof FILES / sizeof FILES[0]; k++) {
    if (strcmp(name, FILES[k].name)) continue;
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n <= 0 || (size_t)n >= sizeof path) return -1;
    int f = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (f < 0) return -1;
    if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
      close(f);
      return -1;
    }
    *fd = f;
    *size = (size_t)st.st_size;
    *type = FILES[k].type;
    return 0;
  }
  return -1;
}
