"""GoClassify's HTTP proxy: ``POST /classify`` onto TorchServe's predictions endpoint."""
