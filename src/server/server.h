/* server.h — the model server process (tensorflow_model_server's main): flags → serving map +
 * manager + protocol-neutral API + HTTP/REST front end, then serve until SIGINT/SIGTERM.
 *
 * Startup follows TF Serving: the server loads every configured model before it listens; a
 * version that fails to load aborts startup ("Failed to start server. Error: ..."); a base
 * path with no version yet keeps the server polling without listening. gRPC (--port) is not
 * served yet: the flag is accepted and a log line says so.
 *
 * Exit codes: 0 after a clean shutdown or --version/--help; 255 (TF's -1) for bad flags or a
 * startup failure. Thread affinity: call from the main thread, once per process (it installs
 * process-wide SIGINT/SIGTERM handlers).
 */
#ifndef TD_SERVER_SERVER_H
#define TD_SERVER_SERVER_H

#define TD_SERVER_VERSION "tensord-0.1.0"

/* argv[0] is the program name; argv[1..] are flags. Returns the process exit code. */
int td_server_main(int argc, char **argv);

#endif
