{
  "targets": [
    {
      "target_name": "sonde",
      "sources": ["<!@(find native -name '*.cc' -not -path 'native/tests/*' -not -path 'native/fuzz/*' | sort)"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native", "bpf"],
      "defines": ["NAPI_VERSION=9", "NAPI_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-O2"],
      "libraries": ["-lbpf", "-lelf", "-lz", "-lpthread"]
    }
  ]
}
