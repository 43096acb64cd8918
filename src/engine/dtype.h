/* dtype.h — element types (values = TensorFlow DataType numbers) and their traits.
 *
 * A "_REF" dtype (value + 100) marks a reference to a TF1 variable: such a tensor's
 * single element is a td_resource* of a variable, and the executor dereferences it
 * for every consumer that does not take refs. Thread-safe (read-only tables).
 */
#ifndef TD_ENGINE_DTYPE_H
#define TD_ENGINE_DTYPE_H

#include <stddef.h>
#include <stdint.h>

typedef enum td_dtype {
  TD_DT_INVALID = 0,
#define TD_DTYPE(name, value, size, tfname) TD_DT_##name = value,
#include "engine/dtype.def"
#undef TD_DTYPE
  TD_DT_REF_OFFSET = 100,
} td_dtype;

/* Element size in bytes; 0 for INVALID / unknown values. Refs have the size of a pointer. */
size_t td_dtype_size(td_dtype dt);
/* TF's DataTypeString: "float", "int64", "string", "float_ref", ...; "invalid" otherwise. */
const char *td_dtype_name(td_dtype dt);
/* Enum name as in protos: "DT_FLOAT", "DT_FLOAT_REF", ... */
const char *td_dtype_enum_name(td_dtype dt);
/* 1 if dt is one of the table's values (not a ref). */
int td_dtype_valid(td_dtype dt);
static inline int td_dtype_is_ref(td_dtype dt) { return dt > TD_DT_REF_OFFSET; }
static inline td_dtype td_dtype_base(td_dtype dt) {
  return td_dtype_is_ref(dt) ? (td_dtype)(dt - TD_DT_REF_OFFSET) : dt;
}

/* IEEE half <-> float and bfloat16 <-> float conversions. */
float td_half_to_float(uint16_t h);
uint16_t td_float_to_half(float f);
float td_bf16_to_float(uint16_t h);
uint16_t td_float_to_bf16(float f);

#endif
