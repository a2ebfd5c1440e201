# cmake -DROOT=<source dir> -P cmake/CheckLayers.cmake: the layering check alone (a ctest).
cmake_minimum_required(VERSION 3.18)
include(${CMAKE_CURRENT_LIST_DIR}/Layers.cmake)
vgrow_check_layers(${ROOT})
message(STATUS "vgrow: every include stays in its layer")
