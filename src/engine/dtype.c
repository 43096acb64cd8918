/* dtype.c — the dtype trait table (from dtype.def) and half/bfloat16 conversions. */
#include "engine/dtype.h"

#include <string.h>

typedef struct dtype_info {
  td_dtype dt;
  size_t size;
  const char *name;      /* "float" */
  const char *enum_name; /* "DT_FLOAT" */
  const char *ref_name;  /* "float_ref" */
  const char *ref_enum;  /* "DT_FLOAT_REF" */
} dtype_info;

static const dtype_info dtype_table[] = {
#define TD_DTYPE(NAME, value, size, tfname) \
  {TD_DT_##NAME, size, tfname, "DT_" #NAME, tfname "_ref", "DT_" #NAME "_REF"},
#include "engine/dtype.def"
#undef TD_DTYPE
};

static const dtype_info *info(td_dtype dt) {
  td_dtype base = td_dtype_base(dt);
  for (size_t i = 0; i < sizeof dtype_table / sizeof dtype_table[0]; i++)
    if (dtype_table[i].dt == base) return &dtype_table[i];
  return NULL;
}

size_t td_dtype_size(td_dtype dt) {
  const dtype_info *d = info(dt);
  if (!d) return 0;
  return td_dtype_is_ref(dt) ? sizeof(void *) : d->size;
}

const char *td_dtype_name(td_dtype dt) {
  const dtype_info *d = info(dt);
  if (!d) return "invalid";
  return td_dtype_is_ref(dt) ? d->ref_name : d->name;
}

const char *td_dtype_enum_name(td_dtype dt) {
  const dtype_info *d = info(dt);
  if (!d) return "DT_INVALID";
  return td_dtype_is_ref(dt) ? d->ref_enum : d->enum_name;
}

int td_dtype_valid(td_dtype dt) { return !td_dtype_is_ref(dt) && info(dt) != NULL; }

float td_half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else { /* subnormal: renormalize */
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) { mant <<= 1; exp--; }
      bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t td_float_to_half(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000, exp = (x >> 23) & 0xff, mant = x & 0x7fffff;
  if (exp == 0xff) return (uint16_t)(sign | 0x7c00 | (mant ? 0x200 : 0));
  int e = (int)exp - 127 + 15;
  if (e >= 31) return (uint16_t)(sign | 0x7c00);
  if (e <= 0) {
    if (e < -10) return (uint16_t)sign;
    mant |= 0x800000;
    uint32_t shift = (uint32_t)(14 - e), half = mant >> shift, rem = mant & ((1u << shift) - 1);
    uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) half++;
    return (uint16_t)(sign | half);
  }
  uint32_t half = sign | ((uint32_t)e << 10) | (mant >> 13), rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++; /* may carry into exp: correct */
  return (uint16_t)half;
}

float td_bf16_to_float(uint16_t h) {
  uint32_t bits = (uint32_t)h << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t td_float_to_bf16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)((x >> 16) | 0x40); /* quiet NaN */
  x += 0x7fff + ((x >> 16) & 1); /* round to nearest even */
  return (uint16_t)(x >> 16);
}
