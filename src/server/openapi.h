/*
 * openapi.h — the OpenAPI 3 document of every route (src/server/openapi.json,
 * embedded at build time), served at GET /openapi.json. A test checks that
 * it lists exactly the routes the server answers.
 */
#ifndef SN_SERVER_OPENAPI_H
#define SN_SERVER_OPENAPI_H

extern const char sn_openapi_json[]; /* NUL-terminated */

#endif
