// Element type of a kernel's float tensors: fp32 by default, fp16 storage
// (arithmetic in fp32) when compiled with -DAGF_F16. Declare buffers as
// `elem_t data[]` and convert with LOAD()/STORE_VAL().
#extension GL_EXT_shader_16bit_storage : enable
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : enable
#ifdef AGF_F16
#define elem_t float16_t
#define elem4_t f16vec4
#else
#define elem_t float
#define elem4_t vec4
#endif
#define LOAD(x) float(x)
#define STORE_VAL(x) elem_t(x)
