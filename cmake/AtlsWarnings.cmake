function(atls_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
    -Wno-sign-conversion -Wnon-virtual-dtor -Wcast-align -Wunused -Woverloaded-virtual)
  if(ATLS_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
