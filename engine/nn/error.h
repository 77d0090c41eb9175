/* Error domain of the engine: every function that can fail takes a GError **
 * and returns FALSE/NULL; the message says what was wrong and what to do. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

#define AGF_ERROR (agf_error_quark())

typedef enum {
  AGF_ERROR_NO_DEVICE,        /* no usable compute device of the asked kind */
  AGF_ERROR_DEVICE,           /* the device (driver) failed or was lost */
  AGF_ERROR_OUT_OF_MEMORY,    /* host or device memory exhausted */
  AGF_ERROR_SHAPE,            /* tensor shapes do not fit the op */
  AGF_ERROR_DTYPE,            /* element type not accepted by the op */
  AGF_ERROR_UNSUPPORTED,      /* op or feature not available on this device */
  AGF_ERROR_INVALID_ARGUMENT, /* a parameter is out of range */
  AGF_ERROR_IO,               /* reading or writing a file failed */
  AGF_ERROR_FORMAT,           /* a file is not in the expected format */
} AgfError;

GQuark agf_error_quark(void);

G_END_DECLS
