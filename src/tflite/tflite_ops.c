/* tflite_ops.c — the TFLite operator table: builtin code (or custom code) → a translator
 * (tflite_ops_nn.c, tflite_ops_array.c) or, for a builtin that is one TF node, a tx_simple spec
 * run by tx_simple_op; and tx_operator, which dispatches one operator and
 * collects the names of operators without a translation so the load error lists all of them.
 * Option tables are read with their schema field ids (../shared/reference/tflite-format.md §3). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tflite/tflite_ops.h"
#include "util/mem.h"

/* ---- builtins that are data ---- */

td_code tx_simple_op(td_tfl_tx *x, const td_tfl_op *op, const char *tf, const tx_simple *spec, td_status *st) {
  TD_TRY(need(op, spec->nin, 1, st));
  td_tfl_val in[4];
  for (int i = 0; i < spec->nin; i++) TD_TRY(IN(x, op, i, &in[i], st));
  Tensorflow__NodeDef *nd = tx_node(x, tf, NULL);
  for (int i = 0; i < spec->nin; i++) {
    int c = spec->cast[i];
    tx_in(nd, c == TX_KEEP ? in[i].name : cast(x, in[i], c == TX_TO_I32 ? TD_DT_INT32 : in[c - TX_LIKE0].dt).name);
  }
  td_dtype declared = tx_dtype(T(x, op->out[0])->type);
  for (const tx_attr *a = spec->attrs; a < spec->attrs + 5 && a->name; a++) {
    switch (a->kind) {
    case 't': td_node_attr_type(nd, a->name, in[a->src].dt); break;
    case 'o': td_node_attr_type(nd, a->name, declared); break;
    case 'i': td_node_attr_int(nd, a->name, opt_i32(x, op, a->src, (int)a->def)); break;
    case 'b': td_node_attr_bool(nd, a->name, opt_bool(x, op, a->src)); break;
    case 'f': td_node_attr_float(nd, a->name, opt_f32(x, op, a->src, a->def)); break;
    }
  }
  td_dtype out = spec->out == TX_OUT_I32 ? TD_DT_INT32 : spec->out == TX_OUT_DECLARED ? declared : in[spec->out].dt;
  tx_set(x, op->out[0], tx_out(x, nd, 0, out));
  return TD_OK;
}

/* Specs shared by rows: `in[k]` is the operator's input k; option field ids are the schema's. */
static const tx_simple REDUCE = {2, {0}, {{"T", 't', 0}, {"Tidx", 't', 1}, {"keep_dims", 'b', 0}}, TX_OUT_IN0},
    LOGICAL_REDUCE = {2, {0}, {{"Tidx", 't', 1}, {"keep_dims", 'b', 0}}, TX_OUT_IN0},
    TRANSPOSE = {2, {0}, {{"T", 't', 0}, {"Tperm", 't', 1}}, TX_OUT_IN0},
    EXPAND_DIMS = {2, {0}, {{"T", 't', 0}, {"Tdim", 't', 1}}, TX_OUT_IN0},
    TILE = {2, {0}, {{"T", 't', 0}, {"Tmultiples", 't', 1}}, TX_OUT_IN0},
    WITH_TIDX = {2, {0}, {{"T", 't', 0}, {"Tidx", 't', 1}}, TX_OUT_IN0},
    CUMSUM = {2, {0}, {{"T", 't', 0}, {"Tidx", 't', 1}, {"exclusive", 'b', 0}, {"reverse", 'b', 1}}, TX_OUT_IN0},
    GATHER_ND = {2, {0}, {{"Tparams", 't', 0}, {"Tindices", 't', 1}}, TX_OUT_IN0},
    SLICE = {3, {TX_KEEP, TX_KEEP, TX_LIKE1}, {{"T", 't', 0}, {"Index", 't', 1}}, TX_OUT_IN0},
    ARG_MINMAX = {2, {0}, {{"T", 't', 0}, {"Tidx", 't', 1}, {"output_type", 'o', 0}}, TX_OUT_DECLARED},
    BLOCK = {1, {0}, {{"T", 't', 0}, {"block_size", 'i', 0, 2}}, TX_OUT_IN0},
    BATCH_TO_SPACE = {3, {0}, {{"T", 't', 0}, {"Tblock_shape", 't', 1}, {"Tcrops", 't', 2}}, TX_OUT_IN0},
    SPACE_TO_BATCH = {3, {0}, {{"T", 't', 0}, {"Tblock_shape", 't', 1}, {"Tpaddings", 't', 2}}, TX_OUT_IN0},
    SELECT = {3, {TX_KEEP, TX_KEEP, TX_LIKE1}, {{"T", 't', 1}}, TX_OUT_IN1},
    FILL = {2, {0}, {{"T", 't', 1}, {"index_type", 't', 0}}, TX_OUT_IN1},
    RANGE = {3, {TX_KEEP, TX_LIKE0, TX_LIKE0}, {{"Tidx", 't', 0}}, TX_OUT_IN0},
    ONE_HOT = {4, {TX_KEEP, TX_TO_I32, TX_KEEP, TX_LIKE2}, {{"T", 't', 2}, {"TI", 't', 0}, {"axis", 'i', 0, -1}},
               TX_OUT_IN2},
    SHAPE = {1, {0}, {{"T", 't', 0}, {"out_type", 'o', 0}}, TX_OUT_DECLARED},
    RANK = {1, {0}, {{"T", 't', 0}}, TX_OUT_I32},
    BATCH_MATMUL = {2, {TX_KEEP, TX_LIKE0}, {{"T", 't', 0}, {"adj_x", 'b', 0}, {"adj_y", 'b', 1}}, TX_OUT_IN0},
    LEAKY_RELU = {1, {0}, {{"T", 't', 0}, {"alpha", 'f', 0, 0.2f}}, TX_OUT_IN0};

/* ---- the table ---- */

typedef struct op_row {
  int code;
  op_fn fn;                 /* a translator, or NULL: */
  const char *tf;
  const tx_simple *simple; /* one node described by data */
} op_row;

#define S(code, tf, spec) {code, NULL, tf, &spec}

static const op_row rows[] = {
    {0, tfl_binary, "AddV2"},          {1, tfl_pool, "AvgPool"},          {2, tfl_concat, NULL},
    {3, tfl_conv2d, "Conv2D"},         {4, tfl_conv2d, "DepthwiseConv2dNative"},
    S(5, "DepthToSpace", BLOCK),       {6, tfl_cast_op, NULL},            {8, tfl_unary, "Floor"},
    {9, tfl_fully_connected, NULL},    {14, tfl_unary, "Sigmoid"},        {17, tfl_pool, "MaxPool"},
    {18, tfl_binary, "Mul"},           {19, tfl_unary, "Relu"},           {20, tfl_relu_n1, NULL},
    {21, tfl_unary, "Relu6"},          {22, tfl_reshape, NULL},           {23, tfl_resize, "ResizeBilinear"},
    {25, tfl_softmax, "Softmax"},      S(26, "SpaceToDepth", BLOCK),      {28, tfl_unary, "Tanh"},
    {34, tfl_pad, "Pad"},              {36, tfl_gather, "GatherV2"},      S(37, "BatchToSpaceND", BATCH_TO_SPACE),
    S(38, "SpaceToBatchND", SPACE_TO_BATCH), S(39, "Transpose", TRANSPOSE), S(40, "Mean", REDUCE),
    {41, tfl_binary, "Sub"},           {42, tfl_binary, "RealDiv"},       {43, tfl_squeeze, NULL},
    {45, tfl_strided_slice, NULL},     {47, tfl_unary, "Exp"},            {48, tfl_top_k, NULL},
    {49, tfl_split, "Split"},          {50, tfl_softmax, "LogSoftmax"},   {53, tfl_cast_op, NULL},
    {54, tfl_prelu, NULL},             {55, tfl_binary, "Maximum"},       S(56, "ArgMax", ARG_MINMAX),
    {57, tfl_binary, "Minimum"},       {58, tfl_binary, "Less"},          {59, tfl_unary, "Neg"},
    {60, tfl_pad, "PadV2"},            {61, tfl_binary, "Greater"},       {62, tfl_binary, "GreaterEqual"},
    {63, tfl_binary, "LessEqual"},     S(64, "SelectV2", SELECT),         S(65, "Slice", SLICE),
    {66, tfl_unary, "Sin"},            {67, tfl_transpose_conv, NULL},    S(69, "Tile", TILE),
    S(70, "ExpandDims", EXPAND_DIMS),  {71, tfl_binary, "Equal"},         {72, tfl_binary, "NotEqual"},
    {73, tfl_unary, "Log"},            S(74, "Sum", REDUCE),              {75, tfl_unary, "Sqrt"},
    {76, tfl_unary, "Rsqrt"},          S(77, "Shape", SHAPE),             {78, tfl_binary, "Pow"},
    S(79, "ArgMin", ARG_MINMAX),       S(81, "Prod", REDUCE),             S(82, "Max", REDUCE),
    {83, tfl_pack, NULL},              {84, tfl_binary, "LogicalOr"},     S(85, "OneHot", ONE_HOT),
    {86, tfl_binary, "LogicalAnd"},    {87, tfl_unary, "LogicalNot"},     {88, tfl_unpack, NULL},
    S(89, "Min", REDUCE),              {90, tfl_binary, "FloorDiv"},      S(91, "Any", LOGICAL_REDUCE),
    {92, tfl_unary, "Square"},         {93, tfl_unary, "ZerosLike"},      S(94, "Fill", FILL),
    {95, tfl_binary, "FloorMod"},      S(96, "Range", RANGE),             {97, tfl_resize, "ResizeNearestNeighbor"},
    S(98, "LeakyRelu", LEAKY_RELU),    {99, tfl_binary, "SquaredDifference"}, {100, tfl_pad, "MirrorPad"},
    {101, tfl_unary, "Abs"},           {102, tfl_split, "SplitV"},        {104, tfl_unary, "Ceil"},
    S(105, "ReverseV2", WITH_TIDX),    {106, tfl_add_n, NULL},            S(107, "GatherNd", GATHER_ND),
    {108, tfl_unary, "Cos"},           S(110, "Rank", RANK),              {111, tfl_unary, "Elu"},
    {114, tfl_cast_op, NULL},          {116, tfl_unary, "Round"},         {117, tfl_hard_swish, NULL},
    S(123, "SelectV2", SELECT),        S(126, "BatchMatMulV2", BATCH_MATMUL), S(128, "Cumsum", CUMSUM),
    S(130, "BroadcastTo", WITH_TIDX),  S(140, "All", LOGICAL_REDUCE),     {158, tfl_unary, "Sign"},
};

#undef S

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
  td_code code = row->simple ? tx_simple_op(x, op, row->tf, row->simple, st) : row->fn(x, op, row->tf, st);
  if (code == TD_OK && !td_fb_ok(FB(x)))
    code = td_status_set(st, TD_DATA_LOSS, "malformed options: %s", FB(x)->why);
  if (code != TD_OK) {
    const char *bn = op->builtin == 32 ? op->custom_code : td_tfl_builtin_name(op->builtin);
    td_status_prefix(st, "TFLite operator %d (%s)", k, bn ? bn : "?");
  }
  return code;
}
