/* npy.h — NumPy .npy / .npz files <-> td_tensor (for `tensord run`).
 *
 * Reads .npy format versions 1.0, 2.0 and 3.0 with C order (fortran_order False) and
 * little-endian / byte-sized descrs: <f2 <f4 <f8 |i1 <i2 <i4 <i8 |u1 <u2 <u4 <u8 |b1, plus
 * |S<n> (bytes, trailing NULs stripped as numpy does) and <U<n> (UTF-32 → UTF-8) as STRING.
 * .npz = a zip of .npy members; only stored (uncompressed) members are supported, as written
 * by np.savez (zip64 extras included); np.savez_compressed members give UNIMPLEMENTED.
 * Writes version 1.0 headers (64-byte aligned, like numpy); STRING tensors are written as
 * |S<maxlen>.
 *
 * All tensors returned are owned (caller releases with td_tensor_release). Bad input never
 * crashes: every malformed file maps to INVALID_ARGUMENT / DATA_LOSS with a message.
 * Thread-safe (no globals).
 */
#ifndef TD_CLI_NPY_H
#define TD_CLI_NPY_H

#include <stddef.h>

#include "engine/tensor.h"
#include "util/status.h"

/* Parses .npy bytes. */
td_code td_npy_parse(const void *data, size_t len, td_tensor *out, td_status *st) TD_MUST_CHECK;
/* Serializes a tensor to new heap .npy bytes. UNIMPLEMENTED for dtypes numpy has no descr for. */
td_code td_npy_encode(const td_tensor *t, char **data, size_t *len, td_status *st) TD_MUST_CHECK;

/* Reads a .npy file, or one array of a .npz file. For .npz, `member` is the array name
 * (without ".npy"); NULL picks the first member, like saved_model_cli. A .npy file ignores
 * `member`. Files are recognised by content (zip magic), not extension. */
td_code td_npy_read_file(const char *path, const char *member, td_tensor *out, td_status *st) TD_MUST_CHECK;
/* Writes a .npy file; ALREADY_EXISTS if it exists and !overwrite. */
td_code td_npy_write_file(const char *path, const td_tensor *t, int overwrite, td_status *st) TD_MUST_CHECK;

/* Zip access used for .npz: finds member `name` (exact zip entry name) or the first entry if
 * name is NULL; *data points into zip (no copy). *entry_name (optional) gets the entry name. */
td_code td_zip_find_stored(const unsigned char *zip, size_t len, const char *name,
                           const unsigned char **data, size_t *size, char **entry_name,
                           td_status *st) TD_MUST_CHECK;

#endif
