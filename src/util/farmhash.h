/* farmhash.h — FarmHash fingerprints, bit-exact with TensorFlow's Fingerprint64.
 *
 * td_fingerprint64 is farmhash::Fingerprint64 (= farmhashna::Hash64), which TF uses for
 * StringToHashBucketFast and tf.Example feature hashing; td_fingerprint_cat64 is TF's
 * FingerprintCat64 (used by SparseCross hashing). Results are frozen forever by FarmHash's
 * contract, so they are safe to persist. Input bytes are read little-endian regardless of the
 * host. Pure functions: thread-safe.
 */
#ifndef TD_UTIL_FARMHASH_H
#define TD_UTIL_FARMHASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t td_fingerprint64(const char *s, size_t len);
uint64_t td_fingerprint_cat64(uint64_t fp1, uint64_t fp2);

#endif
