/* json_internal.h — what the JSON reader's files share (json_read.c: structure, strings,
 * skipping; json_number.c: numbers): rapidjson's error texts and the number scanners. */
#ifndef TD_JSON_JSON_INTERNAL_H
#define TD_JSON_JSON_INTERNAL_H

#include "json/json.h"

#define E_EMPTY "The document is empty."
#define E_VALUE "Invalid value."
#define E_MISS_NAME "Missing a name for object member."
#define E_MISS_COLON "Missing a colon after a name of object member."
#define E_OBJ_COMMA "Missing a comma or '}' after an object member."
#define E_ARR_COMMA "Missing a comma or ']' after an array element."
#define E_HEX "Incorrect hex digit after \\u escape in string."
#define E_SURROGATE "The surrogate pair in string is invalid."
#define E_ESCAPE "Invalid escape character in string."
#define E_QUOTE "Missing a closing quotation mark in string."
#define E_ENCODING "Invalid encoding in string."
#define E_TOO_BIG "Number too big to be stored in double."
#define E_FRACTION "Miss fraction part in number."
#define E_EXPONENT "Miss exponent in number."

static inline int is_digit(int c) { return c >= '0' && c <= '9'; }

/* Scans the number at r->p (and converts it when out != NULL); records rapidjson's error. */
int td_json_scan_number(td_json_reader *r, td_json_number *out);
/* Skipping's fast path: the end of a plain number at p, or NULL (see json_number.c). */
const char *td_json_skip_plain_number(const char *p, const char *end);

#endif
