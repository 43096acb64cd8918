#!/usr/bin/env python3
"""farmhash_ref.py — a pure-Python farmhashna::Hash64 (FarmHash Fingerprint64), written
independently of src/util/farmhash.c, used to cross-check it.

Usage: farmhash_ref.py STRING...      prints Fingerprint64 of each argument (UTF-8)
       farmhash_ref.py --table N      prints a C table of fingerprints of pattern(len) for
                                      len in 0..N-1 (pattern: byte i = (i * 131 + len) & 0xff)
"""
import struct
import sys

M = (1 << 64) - 1
K0 = 0xC3A5C85C97CB3127
K1 = 0xB492B66FBE98F273
K2 = 0x9AE16A3B2F90404F


def u64(b, i):
    return struct.unpack_from("<Q", b, i)[0]


def u32(b, i):
    return struct.unpack_from("<I", b, i)[0]


def rot(v, s):
    return v if s == 0 else ((v >> s) | (v << (64 - s))) & M


def smix(v):
    return v ^ (v >> 47)


def h16(u, v, mul):
    a = ((u ^ v) * mul) & M
    a ^= a >> 47
    b = ((v ^ a) * mul) & M
    b ^= b >> 47
    return (b * mul) & M


def weak32(b, i, a, c):
    w, x, y, z = u64(b, i), u64(b, i + 8), u64(b, i + 16), u64(b, i + 24)
    a = (a + w) & M
    c = rot((c + a + z) & M, 21)
    t = a
    a = (a + x + y) & M
    c = (c + rot(a, 44)) & M
    return (a + z) & M, (c + t) & M


def fingerprint64(s: bytes) -> int:
    n = len(s)
    if n <= 16:
        if n >= 8:
            mul = (K2 + n * 2) & M
            a = (u64(s, 0) + K2) & M
            b = u64(s, n - 8)
            c = (rot(b, 37) * mul + a) & M
            d = ((rot(a, 25) + b) * mul) & M
            return h16(c, d, mul)
        if n >= 4:
            mul = (K2 + n * 2) & M
            return h16((n + (u32(s, 0) << 3)) & M, u32(s, n - 4), mul)
        if n > 0:
            y = s[0] + (s[n >> 1] << 8)
            z = n + (s[n - 1] << 2)
            return (smix(((y * K2) ^ (z * K0)) & M) * K2) & M
        return K2
    if n <= 32:
        mul = (K2 + n * 2) & M
        a = (u64(s, 0) * K1) & M
        b = u64(s, 8)
        c = (u64(s, n - 8) * mul) & M
        d = (u64(s, n - 16) * K2) & M
        return h16((rot((a + b) & M, 43) + rot(c, 30) + d) & M,
                   (a + rot((b + K2) & M, 18) + c) & M, mul)
    if n <= 64:
        mul = (K2 + n * 2) & M
        a = (u64(s, 0) * K2) & M
        b = u64(s, 8)
        c = (u64(s, n - 8) * mul) & M
        d = (u64(s, n - 16) * K2) & M
        y = (rot((a + b) & M, 43) + rot(c, 30) + d) & M
        z = h16(y, (a + rot((b + K2) & M, 18) + c) & M, mul)
        e = (u64(s, 16) * mul) & M
        f = u64(s, 24)
        g = ((y + u64(s, n - 32)) * mul) & M
        h = ((z + u64(s, n - 24)) * mul) & M
        return h16((rot((e + f) & M, 43) + rot(g, 30) + h) & M,
                   (e + rot((f + a) & M, 18) + g) & M, mul)
    seed = 81
    x = seed
    y = (seed * K1 + 113) & M
    z = (smix((y * K2 + 113) & M) * K2) & M
    v = (0, 0)
    w = (0, 0)
    x = (x * K2 + u64(s, 0)) & M
    pos = 0
    end = ((n - 1) // 64) * 64
    while True:
        x = (rot((x + y + v[0] + u64(s, pos + 8)) & M, 37) * K1) & M
        y = (rot((y + v[1] + u64(s, pos + 48)) & M, 42) * K1) & M
        x ^= w[1]
        y = (y + v[0] + u64(s, pos + 40)) & M
        z = (rot((z + w[0]) & M, 33) * K1) & M
        v = weak32(s, pos, (v[1] * K1) & M, (x + w[0]) & M)
        w = weak32(s, pos + 32, (z + w[1]) & M, (y + u64(s, pos + 16)) & M)
        z, x = x, z
        pos += 64
        if pos == end:
            break
    mul = (K1 + ((z & 0xFF) << 1)) & M
    pos = n - 64
    w = ((w[0] + ((n - 1) & 63)) & M, w[1])
    v = ((v[0] + w[0]) & M, v[1])
    w = ((w[0] + v[0]) & M, w[1])
    x = (rot((x + y + v[0] + u64(s, pos + 8)) & M, 37) * mul) & M
    y = (rot((y + v[1] + u64(s, pos + 48)) & M, 42) * mul) & M
    x ^= (w[1] * 9) & M
    y = (y + v[0] * 9 + u64(s, pos + 40)) & M
    z = (rot((z + w[0]) & M, 33) * mul) & M
    v = weak32(s, pos, (v[1] * mul) & M, (x + w[0]) & M)
    w = weak32(s, pos + 32, (z + w[1]) & M, (y + u64(s, pos + 16)) & M)
    z, x = x, z
    return h16((h16(v[0], w[0], mul) + smix(y) * K0 + z) & M,
               (h16(v[1], w[1], mul) + x) & M, mul)


def pattern(n):
    return bytes(((i * 131 + n) & 0xFF) for i in range(n))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--table":
        count = int(sys.argv[2])
        for n in range(count):
            print("    0x%016xULL, /* %d */" % (fingerprint64(pattern(n)), n))
    else:
        for arg in sys.argv[1:]:
            print(fingerprint64(arg.encode()))
