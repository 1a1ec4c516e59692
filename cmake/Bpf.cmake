# Compiles a BPF C source with clang -target bpf and generates its libbpf skeleton with bpftool.
# Every header under bpf/include is a dependency, so editing the ABI rebuilds the object
# (stale objects after a header change are a classic pitfall).
find_program(XCAP_CLANG NAMES clang clang-14)
find_program(XCAP_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin)
if(NOT XCAP_CLANG)
  message(FATAL_ERROR "xcap: clang not found; it compiles the XDP program (install: apt-get install clang, or run tools/setup)")
endif()
if(NOT XCAP_BPFTOOL)
  message(FATAL_ERROR "xcap: bpftool not found; it generates the BPF skeleton (install: apt-get install bpftool, or run tools/setup)")
endif()

file(GLOB XCAP_BPF_HEADERS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/bpf/include/*.h)
set(XCAP_BPF_OUT ${PROJECT_BINARY_DIR}/bpf)
file(MAKE_DIRECTORY ${XCAP_BPF_OUT})

# xcap_bpf_skeleton(<name> <source>) -> ${XCAP_BPF_OUT}/<name>.bpf.o and <name>.skel.h,
# and an INTERFACE target bpf_<name> whose include path holds the skeleton.
# The skeleton's C names get a _bpf suffix (struct xcap_bpf, xcap_bpf__open()): a bare
# `struct xcap` would collide with the C++ namespace xcap.
function(xcap_bpf_skeleton name src)
  set(obj ${XCAP_BPF_OUT}/${name}.bpf.o)
  set(skel ${XCAP_BPF_OUT}/${name}.skel.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${XCAP_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror
            -I${PROJECT_SOURCE_DIR}/bpf/include -I/usr/include/${CMAKE_LIBRARY_ARCHITECTURE}
            -c ${src} -o ${obj}
    DEPENDS ${src} ${XCAP_BPF_HEADERS}
    COMMENT "BPF ${name}"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND sh -c "${XCAP_BPFTOOL} gen skeleton ${obj} name ${name}_bpf > ${skel}.tmp && mv ${skel}.tmp ${skel}"
    DEPENDS ${obj}
    COMMENT "skeleton ${name}"
    VERBATIM)
  add_custom_target(${name}_skeleton DEPENDS ${skel})
  add_library(bpf_${name} INTERFACE)
  add_dependencies(bpf_${name} ${name}_skeleton)
  target_include_directories(bpf_${name} INTERFACE ${XCAP_BPF_OUT} ${PROJECT_SOURCE_DIR}/bpf/include)
endfunction()
