/* tflite_ops.c — the TFLite operator table: builtin code (or custom code) → translator
 * (tflite_ops_nn.c, tflite_ops_array.c), and tx_operator, which dispatches one operator and
 * collects the names of operators without a translation so the load error lists all of them.
 * Option tables are read with their schema field ids (../shared/reference/tflite-format.md §3). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tflite/tflite_ops.h"
#include "util/mem.h"

/* ---- the table ---- */

typedef struct op_row {
  int code;
  op_fn fn;
  const char *tf;
} op_row;

static const op_row rows[] = {
    {0, tfl_binary, "AddV2"},          {1, tfl_pool, "AvgPool"},          {2, tfl_concat, NULL},
    {3, tfl_conv2d, "Conv2D"},         {4, tfl_conv2d, "DepthwiseConv2dNative"},
    {5, tfl_block_op, "DepthToSpace"}, {6, tfl_requant, NULL},            {8, tfl_unary, "Floor"},
    {9, tfl_fully_connected, NULL},    {14, tfl_unary, "Sigmoid"},        {17, tfl_pool, "MaxPool"},
    {18, tfl_binary, "Mul"},           {19, tfl_unary, "Relu"},           {20, tfl_relu_n1, NULL},
    {21, tfl_unary, "Relu6"},          {22, tfl_reshape, NULL},           {23, tfl_resize, "ResizeBilinear"},
    {25, tfl_softmax, "Softmax"},      {26, tfl_block_op, "SpaceToDepth"}, {28, tfl_unary, "Tanh"},
    {34, tfl_pad, "Pad"},              {36, tfl_gather, "GatherV2"},      {37, tfl_space_batch, "BatchToSpaceND"},
    {38, tfl_space_batch, "SpaceToBatchND"}, {39, tfl_transpose, NULL},   {40, tfl_reduce, "Mean"},
    {41, tfl_binary, "Sub"},           {42, tfl_binary, "RealDiv"},       {43, tfl_squeeze, NULL},
    {45, tfl_strided_slice, NULL},     {47, tfl_unary, "Exp"},            {48, tfl_top_k, NULL},
    {49, tfl_split, "Split"},          {50, tfl_softmax, "LogSoftmax"},   {53, tfl_cast_op, NULL},
    {54, tfl_prelu, NULL},             {55, tfl_binary, "Maximum"},       {56, tfl_arg_minmax, "ArgMax"},
    {57, tfl_binary, "Minimum"},       {58, tfl_binary, "Less"},          {59, tfl_unary, "Neg"},
    {60, tfl_pad, "PadV2"},            {61, tfl_binary, "Greater"},       {62, tfl_binary, "GreaterEqual"},
    {63, tfl_binary, "LessEqual"},     {64, tfl_select_op, NULL},         {65, tfl_slice, NULL},
    {66, tfl_unary, "Sin"},            {67, tfl_transpose_conv, NULL},    {69, tfl_idx_op, "Tile"},
    {70, tfl_expand_dims, NULL},       {71, tfl_binary, "Equal"},         {72, tfl_binary, "NotEqual"},
    {73, tfl_unary, "Log"},            {74, tfl_reduce, "Sum"},           {75, tfl_unary, "Sqrt"},
    {76, tfl_unary, "Rsqrt"},          {77, tfl_shape_op, "Shape"},       {78, tfl_binary, "Pow"},
    {79, tfl_arg_minmax, "ArgMin"},    {81, tfl_reduce, "Prod"},          {82, tfl_reduce, "Max"},
    {83, tfl_pack, NULL},              {84, tfl_binary, "LogicalOr"},     {85, tfl_one_hot, NULL},
    {86, tfl_binary, "LogicalAnd"},    {87, tfl_unary, "LogicalNot"},     {88, tfl_unpack, NULL},
    {89, tfl_reduce, "Min"},           {90, tfl_binary, "FloorDiv"},      {91, tfl_reduce, "Any"},
    {92, tfl_unary, "Square"},         {93, tfl_unary, "ZerosLike"},      {94, tfl_fill, NULL},
    {95, tfl_binary, "FloorMod"},      {96, tfl_range, NULL},             {97, tfl_resize, "ResizeNearestNeighbor"},
    {98, tfl_leaky_relu, NULL},        {99, tfl_binary, "SquaredDifference"}, {100, tfl_pad, "MirrorPad"},
    {101, tfl_unary, "Abs"},           {102, tfl_split, "SplitV"},        {104, tfl_unary, "Ceil"},
    {105, tfl_idx_op, "ReverseV2"},    {106, tfl_add_n, NULL},            {107, tfl_gather_nd, "GatherNd"},
    {108, tfl_unary, "Cos"},           {110, tfl_shape_op, "Rank"},       {111, tfl_unary, "Elu"},
    {114, tfl_requant, NULL},          {116, tfl_unary, "Round"},         {117, tfl_hard_swish, NULL},
    {123, tfl_select_op, NULL},        {126, tfl_batch_matmul, NULL},     {128, tfl_idx_op, "Cumsum"},
    {130, tfl_idx_op, "BroadcastTo"},  {140, tfl_reduce, "All"},          {158, tfl_unary, "Sign"},
};

static const op_row custom_rows[] = {
    {32, tfl_parse_example, "ParseExampleV2"},
    {32, tfl_parse_example, "ParseExample"},
};

const int *td_tfl_supported_builtins(void) {
  static int codes[sizeof rows / sizeof *rows + 1];
  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) codes[i] = rows[i].code;
  codes[sizeof rows / sizeof *rows] = -1;
  return codes;
}

static void add_missing(td_tfl_tx *x, const char *name) {
  if (x->missing) {
    /* list each name once */
    size_t n = strlen(name);
    for (const char *p = x->missing; (p = strstr(p, name)); p += n)
      if ((p == x->missing || p[-1] == ' ') && (p[n] == ',' || p[n] == 0)) return;
    char *m = td_xasprintf("%s, %s", x->missing, name);
    free(x->missing);
    x->missing = m;
  } else {
    x->missing = td_xstrdup(name);
  }
}

td_code tx_operator(td_tfl_tx *x, int k, td_status *st) {
  const td_tfl_op *op = &x->sg->ops[k];
  x->op_index = k;
  const op_row *row = NULL;
  if (op->builtin == 32) {
    for (size_t i = 0; i < sizeof custom_rows / sizeof *custom_rows; i++)
      if (op->custom_code && !strcmp(op->custom_code, custom_rows[i].tf)) row = &custom_rows[i];
  } else {
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
      if (rows[i].code == op->builtin) row = &rows[i];
  }
  if (!row) {
    char buf[160];
    const char *bn = td_tfl_builtin_name(op->builtin);
    if (op->builtin == 32)
      snprintf(buf, sizeof buf, "%.120s (custom)", op->custom_code ? op->custom_code : "");
    else if (bn)
      snprintf(buf, sizeof buf, "%s", bn);
    else
      snprintf(buf, sizeof buf, "builtin %d", op->builtin);
    add_missing(x, buf);
    return TD_OK;
  }
  if (x->missing) return TD_OK; /* only listing from here on */
  td_code code = row->fn(x, op, row->tf, st);
  if (code == TD_OK && !td_fb_ok(FB(x)))
    code = td_status_set(st, TD_DATA_LOSS, "malformed options: %s", FB(x)->why);
  if (code != TD_OK) {
    const char *bn = op->builtin == 32 ? op->custom_code : td_tfl_builtin_name(op->builtin);
    td_status_prefix(st, "TFLite operator %d (%s)", k, bn ? bn : "?");
  }
  return code;
}
