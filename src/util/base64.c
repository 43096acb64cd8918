/* base64.c — see base64.h. Decoding is a table-driven 4-symbol state machine. */
#include "util/base64.h"

#include <stdint.h>

static const char enc_table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Symbol value + 1 (0 = not a base64 symbol); both alphabets. */
static const uint8_t dec_table[256] = {
#define S(c, v) [c] = (v) + 1
    S('A', 0),  S('B', 1),  S('C', 2),  S('D', 3),  S('E', 4),  S('F', 5),  S('G', 6),  S('H', 7),
    S('I', 8),  S('J', 9),  S('K', 10), S('L', 11), S('M', 12), S('N', 13), S('O', 14), S('P', 15),
    S('Q', 16), S('R', 17), S('S', 18), S('T', 19), S('U', 20), S('V', 21), S('W', 22), S('X', 23),
    S('Y', 24), S('Z', 25), S('a', 26), S('b', 27), S('c', 28), S('d', 29), S('e', 30), S('f', 31),
    S('g', 32), S('h', 33), S('i', 34), S('j', 35), S('k', 36), S('l', 37), S('m', 38), S('n', 39),
    S('o', 40), S('p', 41), S('q', 42), S('r', 43), S('s', 44), S('t', 45), S('u', 46), S('v', 47),
    S('w', 48), S('x', 49), S('y', 50), S('z', 51), S('0', 52), S('1', 53), S('2', 54), S('3', 55),
    S('4', 56), S('5', 57), S('6', 58), S('7', 59), S('8', 60), S('9', 61), S('+', 62), S('/', 63),
    S('-', 62), S('_', 63),
#undef S
};

static int is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

size_t td_base64_encoded_len(size_t n) { return (n + 2) / 3 * 4; }

void td_base64_encode(const void *data, size_t n, td_buf *out) {
  const unsigned char *s = data;
  td_buf_reserve(out, td_base64_encoded_len(n));
  char quad[4];
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
    quad[0] = enc_table[v >> 18];
    quad[1] = enc_table[v >> 12 & 63];
    quad[2] = enc_table[v >> 6 & 63];
    quad[3] = enc_table[v & 63];
    td_buf_append(out, quad, 4);
  }
  if (i < n) {
    uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
    quad[0] = enc_table[v >> 18];
    quad[1] = enc_table[v >> 12 & 63];
    quad[2] = i + 1 < n ? enc_table[v >> 6 & 63] : '=';
    quad[3] = '=';
    td_buf_append(out, quad, 4);
  }
}

int td_base64_decode(const char *src, size_t len, td_buf *out) {
  td_buf_reserve(out, len / 4 * 3 + 3);
  uint32_t acc = 0;
  int nsym = 0; /* symbols in the current quantum */
  size_t i = 0;
  for (; i < len; i++) {
    unsigned char c = (unsigned char)src[i];
    uint8_t d = dec_table[c];
    if (d) {
      acc = acc << 6 | (uint32_t)(d - 1);
      if (++nsym == 4) {
        char b[3] = {(char)(acc >> 16), (char)(acc >> 8), (char)acc};
        td_buf_append(out, b, 3);
        acc = 0;
        nsym = 0;
      }
    } else if (c == '=') {
      break;
    } else if (!is_space(c)) {
      return -1;
    }
  }
  /* Padding: only '=' and whitespace may follow, and the '=' count must complete the quantum. */
  int pads = 0;
  for (; i < len; i++) {
    unsigned char c = (unsigned char)src[i];
    if (c == '=') pads++;
    else if (!is_space(c)) return -1;
  }
  if (nsym == 1) return -1;
  if (pads && (nsym == 0 || nsym + pads != 4)) return -1;
  if (nsym == 2) td_buf_putc(out, (char)(acc >> 4));
  if (nsym == 3) {
    char b[2] = {(char)(acc >> 10), (char)(acc >> 2)};
    td_buf_append(out, b, 2);
  }
  return 0;
}
