/* serving.h — one include for the generated TensorFlow Serving API and config messages. */
#ifndef TD_PROTO_SERVING_H
#define TD_PROTO_SERVING_H

#include "proto/tf.h"
#include "tensorflow_serving/classification.pb-c.h"
#include "tensorflow_serving/get_model_metadata.pb-c.h"
#include "tensorflow_serving/get_model_status.pb-c.h"
#include "tensorflow_serving/inference.pb-c.h"
#include "tensorflow_serving/model.pb-c.h"
#include "tensorflow_serving/model_management.pb-c.h"
#include "tensorflow_serving/model_server_config.pb-c.h"
#include "tensorflow_serving/monitoring_config.pb-c.h"
#include "tensorflow_serving/predict.pb-c.h"
#include "tensorflow_serving/prediction_log.pb-c.h"
#include "tensorflow_serving/regression.pb-c.h"

#endif
