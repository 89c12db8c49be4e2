# Included by CMakeLists.txt after the nntune library target is defined.
# ONNX export (src/onnx/): C++ classes generated at build time from the onnx.proto schema of
# Debian's libonnx-dev, serialised with protobuf-lite (the schema asks for the lite runtime).
find_package(Protobuf REQUIRED)
find_file(NNTUNE_ONNX_PROTO onnx.proto PATHS /usr/include/onnx /usr/local/include/onnx NO_DEFAULT_PATH)
if(NOT NNTUNE_ONNX_PROTO)
  message(FATAL_ERROR "onnx.proto not found: run scripts/deps.sh (Debian: libonnx-dev), or set NNTUNE_ONNX_PROTO")
endif()
set(NNTUNE_ONNX_GENERATED ${CMAKE_BINARY_DIR}/generated/onnx)
get_filename_component(NNTUNE_ONNX_PROTO_DIR ${NNTUNE_ONNX_PROTO} DIRECTORY)
add_custom_command(
  OUTPUT ${NNTUNE_ONNX_GENERATED}/onnx.pb.cc ${NNTUNE_ONNX_GENERATED}/onnx.pb.h
  COMMAND ${CMAKE_COMMAND} -E make_directory ${NNTUNE_ONNX_GENERATED}
  COMMAND protobuf::protoc --cpp_out=${NNTUNE_ONNX_GENERATED} -I ${NNTUNE_ONNX_PROTO_DIR} ${NNTUNE_ONNX_PROTO}
  DEPENDS ${NNTUNE_ONNX_PROTO} VERBATIM)
set_source_files_properties(${NNTUNE_ONNX_GENERATED}/onnx.pb.cc PROPERTIES COMPILE_OPTIONS "-w")
target_sources(nntune PRIVATE ${NNTUNE_ONNX_GENERATED}/onnx.pb.cc)
target_include_directories(nntune PRIVATE ${NNTUNE_ONNX_GENERATED})
target_link_libraries(nntune PRIVATE protobuf::libprotobuf-lite)
