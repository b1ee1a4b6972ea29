{
  "targets": [
    {
      "target_name": "watchdog",
      "sources": ["watchdog.cc"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-cast-function-type"],
      "cflags_cc!": ["-fno-exceptions"]
    }
  ]
}
