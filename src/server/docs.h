/*
 * docs.h — Swagger UI at GET /docs over GET /openapi.json, from the files a
 * Debian package installs (sinter ships none of them). The files are looked
 * for at each request, so installing the package needs no restart:
 * $SINTER_SWAGGER_UI_DIR, then /usr/share/javascript/swagger-ui, then
 * python3-flasgger's copy (/usr/lib/python3/dist-packages/flasgger/ui3/static,
 * Swagger UI 3.28 in Debian 12). A folder counts when it holds
 * swagger-ui-bundle.js and swagger-ui.css.
 */
#ifndef SN_SERVER_DOCS_H
#define SN_SERVER_DOCS_H

#include <stddef.h>

/* Copies the folder that holds Swagger UI's files into dir[cap]. Returns 0,
 * or -1 when no candidate holds them. Thread-safe. */
int sn_docs_locate(char *dir, size_t cap);

/* The HTML page of /docs (static; loads /docs/swagger-ui-bundle.js and
 * /docs/swagger-ui.css, and the document at /openapi.json). */
extern const char sn_docs_page[];

/* Opens /docs/NAME in folder `dir` for reading: NAME must be one of the
 * files the page loads (nothing else is served, so no path can be named).
 * Returns 0 with *fd (the caller closes it), *size and *type (its
 * Content-Type, static); -1 when NAME is not one of them or cannot be
 * opened. */
int sn_docs_open(const char *dir, const char *name, int *fd, size_t *size, const char **type);

/* What a 404 says when the files are not installed. */
extern const char sn_docs_missing[];

#endif
