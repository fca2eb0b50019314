# fuzz.ub_is_fatal: runs ub_probe_fuzzer once (on the empty input, which
# overflows a signed int) and requires that UBSan both reported the overflow
# and stopped the run. Usage: cmake -DPROBE=<path> -P check_ub_fatal.cmake
execute_process(COMMAND ${PROBE} -runs=1
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT err MATCHES "signed integer overflow")
  message(FATAL_ERROR "ub_probe: no UBSan report; is -fsanitize=undefined on?\n${err}")
endif()
if(rc EQUAL 0)
  message(FATAL_ERROR "ub_probe: UBSan reported undefined behaviour and the run went on "
                      "(exit 0): the fuzz build needs -fno-sanitize-recover\n${err}")
endif()
message(STATUS "ub_probe: undefined behaviour halted the run (exit ${rc})")
