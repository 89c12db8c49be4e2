// The ONNX form of max_pool1d: its 2-D twin's nodes over the sequence as an image of height 1.
#include "onnx/layer_exporters.hpp"

NNTUNE_REGISTER_COMPONENTS(onnx_max_pool1d) {
  nntune::onnx_export::layer_exporter_registry().add({.name = "max_pool1d"}, nntune::onnx_export::lifted1d_nodes);
}
