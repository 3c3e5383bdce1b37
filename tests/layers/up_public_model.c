/* A public-API front end reaching into a module: must not build. */
#include "model/model.h"
