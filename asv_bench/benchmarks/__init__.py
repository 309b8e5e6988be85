"""asv benchmarks of fastembed-static (see ../asv.conf.json)."""
