/* test_farmhash.c — Fingerprint64 / FingerprintCat64 against known values.
 *
 * Known TF values: Fingerprint64("") = k2; "a".."d" from TF's string_to_hash_bucket_op_test
 * comments; "Hello"/"World" from TF's fingerprint_test; to_hash_bucket_fast docs example
 * (["Hello","TensorFlow","2.x"] mod 3 = [0,2,2]). The length table (every length 0..199,
 * covering all code paths and the 64-byte loop) was produced by tools/farmhash_ref.py, a
 * separate Python implementation (same author: it checks transcription, not the algorithm).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/farmhash.h"

static uint64_t fp(const char *s) { return td_fingerprint64(s, strlen(s)); }

static void test_known_tf_values(void **state) {
  (void)state;
  assert_true(fp("") == 0x9ae16a3b2f90404fULL);
  assert_true(fp("a") == 12917804110809363939ULL);
  assert_true(fp("b") == 11795596070477164822ULL);
  assert_true(fp("c") == 11430444447143000872ULL);
  assert_true(fp("d") == 4470636696479570465ULL);
  assert_true(fp("Hello") == 15404698994557526151ULL);
  assert_true(fp("World") == 18308117990299812472ULL);
  assert_int_equal(fp("Hello") % 3, 0);
  assert_int_equal(fp("TensorFlow") % 3, 2);
  assert_int_equal(fp("2.x") % 3, 2);
}

static const uint64_t kPatternTable[] = {
    0x9ae16a3b2f90404fULL, /* 0 */
    0x47a24c13b17e583eULL, /* 1 */
    0x37832e5b4c1d2204ULL, /* 2 */
    0xe635d6fc9e19ff6fULL, /* 3 */
    0xbed704a0a6272a2dULL, /* 4 */
    0x3d8d067095ffbcbdULL, /* 5 */
    0xfca5f004079e57ffULL, /* 6 */
    0x04dd505220c44e7eULL, /* 7 */
    0xfceaf8d01b1de515ULL, /* 8 */
    0x93776f0748a7475cULL, /* 9 */
    0xe3c1a16a86639bb2ULL, /* 10 */
    0x98e77a50148e7817ULL, /* 11 */
    0x3b4427c48d3f86aaULL, /* 12 */
    0x5d2312139b70d10eULL, /* 13 */
    0x83c753a97abcbf28ULL, /* 14 */
    0xc23476157e00f6d1ULL, /* 15 */
    0x0906313cf923a25cULL, /* 16 */
    0x65b124e20258da5bULL, /* 17 */
    0x467dd795f683d605ULL, /* 18 */
    0xa433eb5eb6526802ULL, /* 19 */
    0x5d841fd18e2a7a4dULL, /* 20 */
    0x03b768e395b64029ULL, /* 21 */
    0x148a1796b10c5e39ULL, /* 22 */
    0x8e32eaafacb6d1c0ULL, /* 23 */
    0x7df2835eca61b923ULL, /* 24 */
    0xdceeea969b0b6a44ULL, /* 25 */
    0x3a7f17fdc9fd4743ULL, /* 26 */
    0x5806b5de854d874fULL, /* 27 */
    0x0737f0a6203b3c24ULL, /* 28 */
    0xb2291998476cd6f6ULL, /* 29 */
    0x1ffe1eee13592b4fULL, /* 30 */
    0xefcd22a44d60da07ULL, /* 31 */
    0x7665d923b0991d67ULL, /* 32 */
    0x9ad5defe8499a0f3ULL, /* 33 */
    0xa6d2493bc2f7f922ULL, /* 34 */
    0x35a7416da3be0eb5ULL, /* 35 */
    0xc8bc67412a2cb616ULL, /* 36 */
    0x5cd94157fe512f33ULL, /* 37 */
    0xcad4f1950bcdcb93ULL, /* 38 */
    0xdeabb09c66de9157ULL, /* 39 */
    0x8fee445bc1bea4fcULL, /* 40 */
    0xabfaa78c4fdbfa77ULL, /* 41 */
    0xf5d3fcd6289666feULL, /* 42 */
    0x760e05fcfc001a18ULL, /* 43 */
    0x04c75a2530fdbe79ULL, /* 44 */
    0xbae53b78c330b09bULL, /* 45 */
    0x0f474e2c345e6967ULL, /* 46 */
    0x91cca6654115bd04ULL, /* 47 */
    0x4386757762215a16ULL, /* 48 */
    0x169e41b7d5d83988ULL, /* 49 */
    0xe47bbc77dba8eab7ULL, /* 50 */
    0x2948c227f9625ee8ULL, /* 51 */
    0x27c56c4e53c202baULL, /* 52 */
    0x7be4cca333209fdaULL, /* 53 */
    0x18a6428a32649365ULL, /* 54 */
    0xb3e2b55fd65ed115ULL, /* 55 */
    0x6aff876ba43ed5a5ULL, /* 56 */
    0x050b260770b2b975ULL, /* 57 */
    0xf959acc9fa89f0d0ULL, /* 58 */
    0x6a9e8d1661b45949ULL, /* 59 */
    0xd21c6cf564cb29ceULL, /* 60 */
    0xd1b9179918492739ULL, /* 61 */
    0x3c756d9423e4595cULL, /* 62 */
    0x546dde1e258788c0ULL, /* 63 */
    0xaba3d0c251880c11ULL, /* 64 */
    0xc6a1fc1fde2e6884ULL, /* 65 */
    0xb232b083688f1880ULL, /* 66 */
    0x4b1796e26fa0d8b4ULL, /* 67 */
    0x4c154d2ae747a04aULL, /* 68 */
    0x387f755c344dc5fcULL, /* 69 */
    0x1a71422118b4fa15ULL, /* 70 */
    0xd05cc033da2a0f58ULL, /* 71 */
    0x79c18a616affca00ULL, /* 72 */
    0x827ce3060cd92592ULL, /* 73 */
    0xca741cafc165336fULL, /* 74 */
    0x7c890e699a5d017bULL, /* 75 */
    0xa2cef63707ed6e39ULL, /* 76 */
    0x6eb05021bddd2907ULL, /* 77 */
    0x9a8b2fc2ffc7bc71ULL, /* 78 */
    0x2b93c2595e9f57acULL, /* 79 */
    0x8a373a4a9769e363ULL, /* 80 */
    0xdf05163ac30856c1ULL, /* 81 */
    0x620206744372d2e3ULL, /* 82 */
    0x64295e91e2f3917fULL, /* 83 */
    0xd76b6cb1ee8eaa1dULL, /* 84 */
    0x6f6767018c899c39ULL, /* 85 */
    0xd5f253eb61b51724ULL, /* 86 */
    0xa12321ef0b0190eeULL, /* 87 */
    0x2c522a9eecbc7f36ULL, /* 88 */
    0xf898ae774d533b8bULL, /* 89 */
    0x54aed723d29e1236ULL, /* 90 */
    0xc239c3ec783cb942ULL, /* 91 */
    0xb9bbe79678611692ULL, /* 92 */
    0xb312134dc391cad3ULL, /* 93 */
    0x30b84e33a17085f1ULL, /* 94 */
    0x005473e8ab1379c9ULL, /* 95 */
    0x26c784c86c44cfb3ULL, /* 96 */
    0x8fb2a531f3a3d507ULL, /* 97 */
    0xb2099d76ba659d9dULL, /* 98 */
    0x58401d4a20f62c14ULL, /* 99 */
    0xa30c672ce116dc3fULL, /* 100 */
    0x826c50b00f8b11eeULL, /* 101 */
    0xe775bf3d8f773cf8ULL, /* 102 */
    0x49250df48a76da27ULL, /* 103 */
    0x35df6f01bb04275dULL, /* 104 */
    0xfb88778304789968ULL, /* 105 */
    0x1112a207eb099ed3ULL, /* 106 */
    0xd999a03ced0f3e8fULL, /* 107 */
    0xf192b265a6b10121ULL, /* 108 */
    0x50bc4b4abc998a49ULL, /* 109 */
    0x194c596f4bd4cb51ULL, /* 110 */
    0xcbfaceeb15ac186dULL, /* 111 */
    0xc924a0f1e270d384ULL, /* 112 */
    0x0ae7f4b1fc17bebbULL, /* 113 */
    0x4b919feb35bddaeeULL, /* 114 */
    0xff5c22c9fe0010c1ULL, /* 115 */
    0x824a981a542b17deULL, /* 116 */
    0x0ec53dbe0ea4c232ULL, /* 117 */
    0x4b3f548a800479a2ULL, /* 118 */
    0x3f37c630eca25447ULL, /* 119 */
    0x5e804ae87047c57dULL, /* 120 */
    0x1408facb909f1b89ULL, /* 121 */
    0x4bcd1c848d117fceULL, /* 122 */
    0xaa9f7854bae7ec47ULL, /* 123 */
    0xb0ce79d01a86f2d1ULL, /* 124 */
    0xd1879dd48bbf0429ULL, /* 125 */
    0x2e96d96daa271ef3ULL, /* 126 */
    0x19e7308540b9c6f0ULL, /* 127 */
    0xd83a03d8a5e02db2ULL, /* 128 */
    0xf1312e3f8b81c7d0ULL, /* 129 */
    0x973e0cca2ec2d857ULL, /* 130 */
    0x1cdfdb5d0627cd6dULL, /* 131 */
    0x9fd0e3fdf657371bULL, /* 132 */
    0x421c6a223571fb6aULL, /* 133 */
    0x5ea969550458d9daULL, /* 134 */
    0xe026b752fe227943ULL, /* 135 */
    0xccddc51335c04f7fULL, /* 136 */
    0x21f85466d93b5bb2ULL, /* 137 */
    0x2655ffab57138607ULL, /* 138 */
    0x79897f198df1803eULL, /* 139 */
    0xe6bc3e5778b14526ULL, /* 140 */
    0x5e4611d424eb443fULL, /* 141 */
    0x18c2c8843ea83670ULL, /* 142 */
    0x114e4d098393da7cULL, /* 143 */
    0x6a7f6926869045feULL, /* 144 */
    0xf091e411e5dac2f0ULL, /* 145 */
    0xd5e61ec1d0d7d729ULL, /* 146 */
    0x3ce67fe24fabe44eULL, /* 147 */
    0xf942a79ce0b89e96ULL, /* 148 */
    0xb505670feb4e3b6bULL, /* 149 */
    0x9f735709f2ce9286ULL, /* 150 */
    0xad629cbbd5432d7bULL, /* 151 */
    0x319df693f5cef3e6ULL, /* 152 */
    0xbb24b348af7826a9ULL, /* 153 */
    0xfc586139f56bcdf7ULL, /* 154 */
    0x18ca2aa36b398f0eULL, /* 155 */
    0x69578a7a9aaed692ULL, /* 156 */
    0x93374cdef6bc3006ULL, /* 157 */
    0xb1997ad9130a2f22ULL, /* 158 */
    0xfe9e1e56fb9b73afULL, /* 159 */
    0xa25a23545c1f75ccULL, /* 160 */
    0x75f377365ab301d3ULL, /* 161 */
    0x2e17627798945eccULL, /* 162 */
    0x027f390998ddbb21ULL, /* 163 */
    0xfa37c85db7215d0cULL, /* 164 */
    0xe20952644405addaULL, /* 165 */
    0x45b31c3f91a8bb10ULL, /* 166 */
    0xd043c0fac452c9dcULL, /* 167 */
    0x1ae4b1c51c44a0c6ULL, /* 168 */
    0x8eae5eaaa8f3f569ULL, /* 169 */
    0xdcaf2b027d50a8f2ULL, /* 170 */
    0x68ac5c0cd5c81a68ULL, /* 171 */
    0x4a2a505b9ee68150ULL, /* 172 */
    0xba7736d7bcf6efdfULL, /* 173 */
    0x4b86590c892d19fcULL, /* 174 */
    0x26c086162a3832c9ULL, /* 175 */
    0xb63851aa7416d33fULL, /* 176 */
    0xe77bf04d2ff0ecdcULL, /* 177 */
    0xb9064b28c041e9b1ULL, /* 178 */
    0x92eeded4a61ca394ULL, /* 179 */
    0x9538852f4d9767f1ULL, /* 180 */
    0x3e01972144f0ead3ULL, /* 181 */
    0x45dc20f9d10e771dULL, /* 182 */
    0x6a8220c8a61548a8ULL, /* 183 */
    0xbd1e281e5198ca8fULL, /* 184 */
    0x147f613febcbb38eULL, /* 185 */
    0x0d83c68425787138ULL, /* 186 */
    0x2b398cffe58869f0ULL, /* 187 */
    0xef93665212303480ULL, /* 188 */
    0x734251d661384dc2ULL, /* 189 */
    0x145acdc6e5d92793ULL, /* 190 */
    0x09b267490d4a08b3ULL, /* 191 */
    0x51742d54e109ed6dULL, /* 192 */
    0xd6e167ae69de1abeULL, /* 193 */
    0x60300d2f6e8f4183ULL, /* 194 */
    0x4fccd3c28f537dcfULL, /* 195 */
    0xc8a6b4bd0719be7bULL, /* 196 */
    0x378770698f1f9f3fULL, /* 197 */
    0x6501b6f9c26ff3cfULL, /* 198 */
    0xf0e96d497ee8e425ULL, /* 199 */
};

static void test_every_length_matches_reference(void **state) {
  (void)state;
  char buf[256];
  for (size_t n = 0; n < sizeof kPatternTable / sizeof kPatternTable[0]; n++) {
    for (size_t i = 0; i < n; i++) buf[i] = (char)((i * 131 + n) & 0xff);
    if (td_fingerprint64(buf, n) != kPatternTable[n]) fail_msg("length %zu differs", n);
  }
}

static void test_unaligned_input(void **state) {
  (void)state;
  char buf[300];
  for (size_t off = 1; off < 8; off++) {
    for (size_t n = 0; n < 200; n++) {
      for (size_t i = 0; i < n; i++) buf[off + i] = (char)((i * 131 + n) & 0xff);
      if (td_fingerprint64(buf + off, n) != kPatternTable[n]) fail_msg("off %zu len %zu", off, n);
    }
  }
}

static void test_fingerprint_cat64(void **state) {
  (void)state;
  /* Deterministic and order-sensitive. */
  uint64_t a = td_fingerprint_cat64(fp("x"), fp("y"));
  assert_true(a == td_fingerprint_cat64(fp("x"), fp("y")));
  assert_true(a != td_fingerprint_cat64(fp("y"), fp("x")));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_tf_values),
      cmocka_unit_test(test_every_length_matches_reference),
      cmocka_unit_test(test_unaligned_input),
      cmocka_unit_test(test_fingerprint_cat64),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
