# The library's layers, lowest first. A layer may include only its own headers and those of
# the layers it names (and theirs); vgrow_check_layers() refuses any other include at
# configure time, naming the file and the include, so the layering cannot drift.
#   support  mixed precision, device transfer, optimisers
#   io       files: atomic writes, PNG, plots, progress, run folders
#   data     real and 2-D sources
#   dist     c10d process group, sharding
#   models   ResNet/DCGAN/MLP nets, spectral norm
#   core     the paper's algorithm: divergences, density ratio, flow step, projection, trainer
#   metrics  FID, KID, IS, precision/recall, feature extractors
#   run      config schema, experiment assembly, the training run and its outputs
set(VGROW_LAYERS support io data dist models core metrics run)
set(VGROW_LAYER_DEPS_support "")
set(VGROW_LAYER_DEPS_io "")
set(VGROW_LAYER_DEPS_data io)
set(VGROW_LAYER_DEPS_dist "")
set(VGROW_LAYER_DEPS_models support)
set(VGROW_LAYER_DEPS_core support data dist)
set(VGROW_LAYER_DEPS_metrics support io data)
set(VGROW_LAYER_DEPS_run support io data dist models core metrics)

# The layer itself and every layer below it that it depends on.
function(vgrow_layer_closure layer out)
  set(result ${layer})
  foreach(dep IN LISTS VGROW_LAYER_DEPS_${layer})
    vgrow_layer_closure(${dep} sub)
    list(APPEND result ${sub})
  endforeach()
  list(REMOVE_DUPLICATES result)
  set(${out} ${result} PARENT_SCOPE)
endfunction()

function(vgrow_check_layers root)
  set(problems "")
  foreach(layer IN LISTS VGROW_LAYERS)
    vgrow_layer_closure(${layer} allowed)
    file(GLOB files ${root}/include/vgrow/${layer}/*.h ${root}/src/${layer}/*.h
                    ${root}/src/${layer}/*.cpp)
    foreach(file IN LISTS files)
      file(STRINGS ${file} includes REGEX "^#include \"vgrow/")
      foreach(line IN LISTS includes)
        string(REGEX REPLACE "^#include \"vgrow/([^/\"]+)/?.*" "\\1" target "${line}")
        if(NOT target IN_LIST allowed)
          file(RELATIVE_PATH rel ${root} ${file})
          string(APPEND problems "\n  ${rel}: ${line} (layer '${layer}' may include: ${allowed})")
        endif()
      endforeach()
    endforeach()
  endforeach()
  # Public headers stay installable: no private dependency leaks into them, and the umbrella
  # header vgrow/vgrow.h lists every one.
  file(READ ${root}/include/vgrow/vgrow.h umbrella)
  file(GLOB public RELATIVE ${root}/include ${root}/include/vgrow/*/*.h)
  foreach(header IN LISTS public)
    file(STRINGS ${root}/include/${header} private_includes
         REGEX "^#include [<\"](toml\\+\\+|stb|CLI/|nlohmann/|run/)")
    foreach(line IN LISTS private_includes)
      string(APPEND problems "\n  include/${header}: ${line} (a private dependency)")
    endforeach()
    string(FIND "${umbrella}" "#include \"${header}\"" found)
    if(found EQUAL -1)
      string(APPEND problems "\n  include/vgrow/vgrow.h does not include ${header}")
    endif()
  endforeach()
  if(problems)
    message(FATAL_ERROR "vgrow: the layering is broken:${problems}")
  endif()
endfunction()
