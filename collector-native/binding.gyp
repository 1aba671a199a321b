{
  "targets": [
    {
      "target_name": "nettopo_native",
      "sources": ["src/addon.c"],
      "include_dirs": ["../bpf"],
      "cflags": ["-O2", "-Wall", "-Wno-unused-parameter"],
      "libraries": ["-lbpf", "-lelf", "-lz", "-lpthread"]
    }
  ]
}
