"""One module per command or group of sibling commands; each registers on `vcrdt.cli.base.app`."""
