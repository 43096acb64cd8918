/* tf.h — one include for the protobuf-c messages generated from proto/ (TensorFlow core,
 * TensorFlow Serving API and config). The .proto files are tensord's own, written from the
 * published field tables; generated code lives in the build tree. */
#ifndef TD_PROTO_TF_H
#define TD_PROTO_TF_H

#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/wrappers.pb-c.h"
#include "tensorflow/attr_value.pb-c.h"
#include "tensorflow/error_codes.pb-c.h"
#include "tensorflow/example.pb-c.h"
#include "tensorflow/function.pb-c.h"
#include "tensorflow/graph.pb-c.h"
#include "tensorflow/meta_graph.pb-c.h"
#include "tensorflow/named_tensor.pb-c.h"
#include "tensorflow/node_def.pb-c.h"
#include "tensorflow/op_def.pb-c.h"
#include "tensorflow/saved_model.pb-c.h"
#include "tensorflow/saver.pb-c.h"
#include "tensorflow/tensor.pb-c.h"
#include "tensorflow/tensor_bundle.pb-c.h"
#include "tensorflow/tensor_shape.pb-c.h"
#include "tensorflow/types.pb-c.h"

#endif
