/* log.h — one-line log records on stderr: "2026-11-25 18:00:00.123: I file.c:42] message".
 * Thread-safe (each record is one fprintf). */
#ifndef TD_UTIL_LOG_H
#define TD_UTIL_LOG_H

void td_log(char level, const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#define TD_LOG_INFO(...) td_log('I', __FILE__, __LINE__, __VA_ARGS__)
#define TD_LOG_WARN(...) td_log('W', __FILE__, __LINE__, __VA_ARGS__)
#define TD_LOG_ERROR(...) td_log('E', __FILE__, __LINE__, __VA_ARGS__)

#endif
