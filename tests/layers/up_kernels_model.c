/* A kernel reaching up to the model: must not build. */
#include "model/config.h"
