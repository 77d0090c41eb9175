/* Colour-map lookup tables shared by the CPU and Vulkan colormap ops. */
#include "nn/nn_internal.h"

static const char *const cmap_names[AGF_CMAP_COUNT] = {
  [AGF_CMAP_VIRIDIS] = "viridis",
  [AGF_CMAP_INFERNO] = "inferno",
  [AGF_CMAP_TURBO] = "turbo",
  [AGF_CMAP_GREY] = "grey",
};

/* An unknown map gets grey rather than NULL: callers index the table. */
const uint8_t *
agf_colormap_lut(AgfColormap cmap)
{
  return agf_colormap_tables[(unsigned) cmap < AGF_CMAP_COUNT ? cmap
                                                              : AGF_CMAP_GREY];
}

const char *
agf_colormap_name(AgfColormap cmap)
{
  return (unsigned) cmap < AGF_CMAP_COUNT ? cmap_names[cmap] : "unknown";
}
