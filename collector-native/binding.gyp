{
  "targets": [
    {
      "target_name": "nettopo_native",
      "sources": [
        "src/addon.c",
        "src/napi-util.c",
        "src/loader.c",
        "src/ringbuf.c",
        "src/flows.c",
        "src/snapshot.c"
      ],
      "include_dirs": ["../bpf"],
      "cflags": ["-O2", "-Wall", "-Wno-unused-parameter", "-fvisibility=hidden"],
      "libraries": ["-lbpf", "-lelf", "-lz", "-lpthread"]
    }
  ]
}
