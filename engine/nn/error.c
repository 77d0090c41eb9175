/* The engine's GError domain. */
#include "nn/error.h"

G_DEFINE_QUARK(agf-error-quark, agf_error)
