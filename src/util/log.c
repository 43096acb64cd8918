/* log.c — stderr logging (see log.h). TD_LOG_QUIET=1 in the environment silences INFO. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

void td_log(char level, const char *file, int line, const char *fmt, ...) {
  static int quiet = -1;
  if (quiet < 0) quiet = getenv("TD_LOG_QUIET") && !strcmp(getenv("TD_LOG_QUIET"), "1");
  if (quiet && level == 'I') return;
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  localtime_r(&tv.tv_sec, &tm);
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const char *base = strrchr(file, '/');
  fprintf(stderr, "%04d-%02d-%02d %02d:%02d:%02d.%06ld: %c %s:%d] %s\n", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
          tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec, level, base ? base + 1 : file, line, msg);
}
