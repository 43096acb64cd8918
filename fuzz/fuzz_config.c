/* fuzz_config.c — text-format protobuf files a user hands the server: ModelServerConfig
 * (--model_config_file), BatchingParameters (--batching_parameters_file) and a SavedModel in
 * its .pbtxt form. Parsing must end in TD_OK or an INVALID_ARGUMENT text, never a crash.
 *
 * The first input byte picks the file kind; the rest is the text. */
#include <stdint.h>
#include <stdlib.h>

#include "batching/batching.h"
#include "core/model_config.h"
#include "proto/textformat.h"
#include "proto/tf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const char *text = (const char *)data + 1;
  size_t len = size - 1;
  td_status st;
  switch (data[0] % 3) {
    case 0: {
      td_model_config_list l;
      if (td_model_config_parse_text(text, len, &l, &st) == TD_OK) td_model_config_list_free(&l);
      break;
    }
    case 1: {
      td_batching_params p;
      td_batching_params_default(&p);
      if (td_batching_params_parse(text, len, &p, &st) != TD_OK) st.code = TD_OK; /* errors are fine */
      break;
    }
    default: {
      ProtobufCMessage *m = NULL;
      if (td_textformat_parse(&tensorflow__saved_model__descriptor, text, len, &m, &st) == TD_OK)
        protobuf_c_message_free_unpacked(m, NULL);
    }
  }
  return 0;
}
