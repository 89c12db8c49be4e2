# Included at the end of CMakeLists.txt.
# ---- Install: cmake --install build [--prefix DIR] -> library, headers, CLI, CMake package
# (find_package(nntune CONFIG): nntune::nntune) and pkg-config file (nntune.pc). The library is
# installable on any x86-64 only when built with -DNNTUNE_NATIVE=OFF (README: "nntune as a C++
# dependency").
include(CMakePackageConfigHelpers)
set(NNTUNE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/nntune)
install(TARGETS nntune EXPORT nntuneTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS nntune_cli EXPORT nntuneTargets RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY include/nntune DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT nntuneTargets NAMESPACE nntune:: DESTINATION ${NNTUNE_CMAKE_DIR})
set_target_properties(nntune_cli PROPERTIES EXPORT_NAME cli)
configure_package_config_file(cmake/nntuneConfig.cmake.in ${CMAKE_BINARY_DIR}/nntuneConfig.cmake
                              INSTALL_DESTINATION ${NNTUNE_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/nntuneConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/nntuneConfig.cmake ${CMAKE_BINARY_DIR}/nntuneConfigVersion.cmake
        DESTINATION ${NNTUNE_CMAKE_DIR})
set(NNTUNE_PC_BLAS "$<$<BOOL:${NNTUNE_BLAS}>:openblas>")
# The prefix relative to the .pc file, so that cmake --install --prefix anywhere stays right.
file(RELATIVE_PATH NNTUNE_PC_PREFIX /base/${CMAKE_INSTALL_LIBDIR}/pkgconfig /base)
string(REGEX REPLACE "/$" "" NNTUNE_PC_PREFIX "${NNTUNE_PC_PREFIX}")
configure_file(cmake/nntune.pc.in ${CMAKE_BINARY_DIR}/nntune.pc.in @ONLY)
file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/nntune.pc INPUT ${CMAKE_BINARY_DIR}/nntune.pc.in)
install(FILES ${CMAKE_BINARY_DIR}/nntune.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
